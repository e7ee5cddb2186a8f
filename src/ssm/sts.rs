//! Tencent Cloud STS (API version `2018-08-13`, service `sts`): the two actions that turn a role
//! into temporary credentials (docs/ssm-api.md#sts).
//!
//! - **AssumeRole** is signed (TC3, service `sts` in the credential scope) with the base
//!   credentials, their session token in `X-TC-Token` when they have one.
//! - **AssumeRoleWithWebIdentity** is not signed: the OIDC token is the credential. As the SDKs
//!   send it, the request carries `Authorization: SKIP` and no `X-TC-Token`.
//!
//! Both are `POST /` with a JSON body and the common parameters in headers, and both answer
//! `{"Response": {"Credentials": {"Token", "TmpSecretId", "TmpSecretKey"}, "ExpiredTime",
//! "Expiration", "RequestId"}}`.
//!
//! What this module guarantees about secrets: requests go only to a [`TrustedEndpoint`] (see
//! [`crate::ssm::trust`]) and never follow redirects; the credentials in an answer go straight into
//! [`SecretValue`]s and the body they were read from is zeroized; an error answer is described by
//! its code and ssmform's own wording ([`explain`]) because STS messages can quote the request's
//! parameters, the token among them.
//!
//! Transient failures (throttles, `InternalError`, HTTP 5xx, connection failures, timeouts) are
//! retried twice, after 0.5 s and 1 s.

use std::time::Duration;

use serde::Deserialize;
use zeroize::{Zeroize, Zeroizing};

use crate::secret::SecretValue;
use crate::ssm::credentials::{CredentialSource, Credentials};
use crate::ssm::refresh::Temporary;
use crate::ssm::sign::RequestToSign;
use crate::ssm::trust::TrustedEndpoint;

/// The public STS endpoint.
pub const DEFAULT_STS_ENDPOINT: &str = "https://sts.tencentcloudapi.com";
/// `X-TC-Version` of STS.
pub const STS_VERSION: &str = "2018-08-13";
/// The service name in the TC3 credential scope.
pub const STS_SERVICE: &str = "sts";
/// The session duration when none is configured (as the Terraform provider and the SDKs).
pub const DEFAULT_SESSION_DURATION: u32 = 7200;
/// The longest session STS grants.
pub const MAX_SESSION_DURATION: u32 = 43200;
/// The identity provider name when none is configured (as the Terraform provider).
pub const DEFAULT_PROVIDER_ID: &str = "OIDC";
/// The session name when none is configured.
pub const DEFAULT_SESSION_NAME: &str = "ssmform";
/// Largest STS answer read.
const MAX_RESPONSE_BYTES: usize = 1 << 20;
/// Attempts per call (the first and two retries).
const ATTEMPTS: u32 = 3;

/// The parameters of one AssumeRole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssumeRoleParams {
    pub role_arn: String,
    pub session_name: String,
    pub duration_secs: u32,
    /// A CAM policy (JSON) narrowing the session; sent URL-encoded, as STS requires.
    pub policy: Option<String>,
    pub external_id: Option<String>,
}

/// The parameters of one AssumeRoleWithWebIdentity (the token is passed separately).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebIdentityParams {
    pub role_arn: String,
    pub session_name: String,
    pub duration_secs: u32,
    pub provider_id: String,
}

/// Why an STS call failed, in ssmform's words. `code` is STS's error code when it answered one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StsFailure {
    pub action: &'static str,
    pub code: Option<String>,
    pub reason: String,
}

impl std::fmt::Display for StsFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "STS {} failed: {}", self.action, self.reason)?;
        if let Some(code) = &self.code {
            write!(f, " ({code})")?;
        }
        Ok(())
    }
}

/// An STS client for one endpoint and region.
#[derive(Debug, Clone)]
pub struct StsClient {
    http: reqwest::Client,
    endpoint: TrustedEndpoint,
    region: String,
}

impl StsClient {
    /// A client for `endpoint` (checked by [`crate::ssm::trust::check`]); `region` goes in
    /// `X-TC-Region`.
    pub fn new(endpoint: TrustedEndpoint, region: impl Into<String>) -> Result<Self, String> {
        let http = http_client(&endpoint, Duration::from_secs(5), Duration::from_secs(20))?;
        Ok(StsClient {
            http,
            endpoint,
            region: region.into(),
        })
    }

    pub fn endpoint(&self) -> &TrustedEndpoint {
        &self.endpoint
    }

    /// AssumeRole, signed with `base`.
    pub async fn assume_role(
        &self,
        base: &Credentials,
        params: &AssumeRoleParams,
        source: &CredentialSource,
    ) -> Result<Temporary, StsFailure> {
        let mut body = serde_json::json!({
            "RoleArn": params.role_arn,
            "RoleSessionName": params.session_name,
            "DurationSeconds": params.duration_secs,
        });
        if let Some(p) = &params.policy {
            body["Policy"] = serde_json::Value::String(url_encode(p));
        }
        if let Some(e) = &params.external_id {
            body["ExternalId"] = serde_json::Value::String(e.clone());
        }
        let body = Zeroizing::new(serde_json::to_vec(&body).unwrap_or_default());
        self.call("AssumeRole", Some(base), body, source).await
    }

    /// AssumeRoleWithWebIdentity with `token` (an OIDC JWT), unsigned.
    pub async fn assume_role_with_web_identity(
        &self,
        token: &SecretValue,
        params: &WebIdentityParams,
        source: &CredentialSource,
    ) -> Result<Temporary, StsFailure> {
        let Some(token_text) = token.expose_str() else {
            return Err(StsFailure {
                action: "AssumeRoleWithWebIdentity",
                code: None,
                reason: "the web-identity token is not text".into(),
            });
        };
        let mut value = serde_json::json!({
            "ProviderId": params.provider_id,
            "WebIdentityToken": token_text,
            "RoleArn": params.role_arn,
            "RoleSessionName": params.session_name,
            "DurationSeconds": params.duration_secs,
        });
        let body = Zeroizing::new(serde_json::to_vec(&value).unwrap_or_default());
        if let Some(serde_json::Value::String(s)) = value.get_mut("WebIdentityToken") {
            s.zeroize();
        }
        self.call("AssumeRoleWithWebIdentity", None, body, source)
            .await
    }

    async fn call(
        &self,
        action: &'static str,
        base: Option<&Credentials>,
        body: Zeroizing<Vec<u8>>,
        source: &CredentialSource,
    ) -> Result<Temporary, StsFailure> {
        let mut last = None;
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(500 << (attempt - 1))).await;
            }
            match self.once(action, base, &body, source).await {
                Ok(t) => return Ok(t),
                Err((failure, transient)) => {
                    tracing::debug!(action, attempt, code = ?failure.code, reason = %failure.reason,
                        transient, "sts call failed");
                    if !transient {
                        return Err(failure);
                    }
                    last = Some(failure);
                }
            }
        }
        let mut failure = last.expect("at least one attempt");
        failure.reason = format!("{} (tried {ATTEMPTS} times)", failure.reason);
        Err(failure)
    }

    /// One exchange; the error says whether it is worth retrying.
    async fn once(
        &self,
        action: &'static str,
        base: Option<&Credentials>,
        body: &[u8],
        source: &CredentialSource,
    ) -> Result<Temporary, (StsFailure, bool)> {
        let fail = |code: Option<String>, reason: String, transient: bool| {
            (
                StsFailure {
                    action,
                    code,
                    reason,
                },
                transient,
            )
        };
        const CONTENT_TYPE: &str = "application/json";
        let host = self.endpoint.host_header();
        let timestamp = crate::clock::unix_now();
        let mut builder = self
            .http
            .post(self.endpoint.url().as_str())
            .header("Content-Type", CONTENT_TYPE)
            .header("Host", &host)
            .header("X-TC-Action", action)
            .header("X-TC-Version", STS_VERSION)
            .header("X-TC-Timestamp", timestamp.to_string())
            .header("X-TC-Language", "en-US")
            .header(
                "X-TC-RequestClient",
                crate::ssm::request::default_request_client(),
            );
        if !self.region.is_empty() {
            builder = builder.header("X-TC-Region", &self.region);
        }
        match base {
            Some(creds) => {
                let signed = RequestToSign {
                    method: "POST",
                    query: "",
                    signed_headers: &[
                        ("content-type", CONTENT_TYPE),
                        ("host", &host),
                        ("x-tc-action", action),
                    ],
                    payload: body,
                    unsigned_payload: false,
                    timestamp,
                    service: STS_SERVICE,
                }
                .sign(creds.secret_key.expose());
                builder = builder.header("Authorization", signed.authorization(&creds.secret_id));
                if let Some(token) = &creds.token {
                    builder = builder.header(
                        "X-TC-Token",
                        String::from_utf8_lossy(token.expose()).into_owned(),
                    );
                }
            }
            None => builder = builder.header("Authorization", "SKIP"),
        }
        let response = builder.body(body.to_vec()).send().await.map_err(|e| {
            fail(
                None,
                format!(
                    "could not reach {}: {}",
                    self.endpoint.display(),
                    deepest_cause(&e)
                ),
                true,
            )
        })?;
        let status = response.status().as_u16();
        let body = read_limited(response).await.map_err(|e| {
            fail(
                None,
                format!(
                    "the answer from {} was cut short: {e}",
                    self.endpoint.display()
                ),
                true,
            )
        })?;
        if status != 200 {
            return Err(fail(
                None,
                format!(
                    "{} answered HTTP {status} ({} bytes) instead of an STS response",
                    self.endpoint.display(),
                    body.len()
                ),
                status >= 500 || status == 429,
            ));
        }
        decode(&body, action, source).map_err(|(code, reason)| {
            let transient = code.as_deref().is_some_and(is_transient_code);
            fail(code, reason, transient)
        })
    }
}

/// Whether retrying an STS error code can help.
fn is_transient_code(code: &str) -> bool {
    code == "InternalError"
        || code.starts_with("InternalError.")
        || code == "RequestLimitExceeded"
        || code.starts_with("RequestLimitExceeded.")
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "Response")]
    response: Option<Body>,
}

#[derive(Deserialize)]
struct Body {
    #[serde(rename = "Error")]
    error: Option<ErrorBody>,
    #[serde(rename = "Credentials")]
    credentials: Option<CredentialsBody>,
    #[serde(rename = "ExpiredTime")]
    expired_time: Option<i64>,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(rename = "Code")]
    code: Option<String>,
    #[serde(rename = "Message")]
    message: Option<String>,
}

#[derive(Deserialize)]
struct CredentialsBody {
    #[serde(rename = "Token")]
    token: Option<String>,
    #[serde(rename = "TmpSecretId")]
    tmp_secret_id: Option<String>,
    #[serde(rename = "TmpSecretKey")]
    tmp_secret_key: Option<String>,
}

/// Decode an STS answer. An error is (code, ssmform's wording); the server's message is only
/// read for keywords, never returned.
fn decode(
    body: &[u8],
    action: &'static str,
    source: &CredentialSource,
) -> Result<Temporary, (Option<String>, String)> {
    let envelope: Envelope = serde_json::from_slice(body).map_err(|e| {
        (
            None,
            format!(
                "the answer is not an STS response (invalid JSON at line {}, column {}, {} bytes)",
                e.line(),
                e.column(),
                body.len()
            ),
        )
    })?;
    let Some(response) = envelope.response else {
        return Err((None, "the answer has no `Response` object".into()));
    };
    if let Some(error) = response.error {
        let code = error.code.unwrap_or_default();
        let mut message = error.message.unwrap_or_default();
        let reason = explain(action, &code, &message);
        message.zeroize();
        return Err((Some(code), reason));
    }
    let Some(mut c) = response.credentials else {
        return Err((None, "the answer has no `Credentials`".into()));
    };
    let (Some(id), Some(key), Some(token)) = (
        c.tmp_secret_id.take(),
        c.tmp_secret_key.take(),
        c.token.take(),
    ) else {
        return Err((
            None,
            "the answer's `Credentials` lack TmpSecretId, TmpSecretKey or Token".into(),
        ));
    };
    let Some(expires_at) = response.expired_time else {
        return Err((None, "the answer has no `ExpiredTime`".into()));
    };
    Ok(Temporary {
        credentials: Credentials::new(id, SecretValue::from_string(key))
            .with_token(SecretValue::from_string(token))
            .with_source(source.clone()),
        expires_at,
    })
}

/// What an STS error code (and, for the web-identity token error, keywords of its message) means,
/// in words that quote nothing from the request or the answer.
pub fn explain(action: &str, code: &str, message: &str) -> String {
    let m = message.to_ascii_lowercase();
    match code {
        "ResourceNotFound.RoleNotFound"
        | "InternalError.GetRoleError"
        | "InternalError.IllegalRole" => {
            "the role does not exist: check `role_arn` (qcs::cam::uin/<account>:roleName/<name>)"
                .to_string()
        }
        "InvalidParameter.WebIdentityTokenError" => {
            if m.contains("audience") || m.contains("aud") {
                "wrong audience: the token's `aud` claim is not a client ID of the role's \
                 identity provider in CAM (request the token for that audience)"
                    .to_string()
            } else if m.contains("expire") {
                "the web-identity token has expired: it must be fresh when ssmform starts and \
                 when it refreshes (Kubernetes rotates projected tokens; a CI job asks for a new one)"
                    .to_string()
            } else if m.contains("issuer") || m.contains("iss") {
                "the token's issuer is not the role's identity provider".to_string()
            } else {
                "the web-identity token was not accepted: it is malformed, not signed by the \
                 identity provider, or its claims do not match the role's trust policy"
                    .to_string()
            }
        }
        "InvalidParameter.ParamError"
            if action == "AssumeRoleWithWebIdentity" && m.contains("provider") =>
        {
            "the identity provider (`provider_id`) does not exist in CAM".to_string()
        }
        "UnauthorizedOperation" | "AuthFailure.UnauthorizedOperation" => {
            "not allowed to assume the role: its trust policy does not name this identity, or \
             a CAM policy denies sts:AssumeRole"
                .to_string()
        }
        "AuthFailure.SecretIdNotFound" => {
            "the base credentials' SecretId does not exist or is disabled".to_string()
        }
        "AuthFailure.SignatureFailure" => {
            "the base credentials' SecretKey does not belong to their SecretId".to_string()
        }
        "AuthFailure.TokenFailure" => {
            "the base credentials' session token is invalid or has expired".to_string()
        }
        "AuthFailure.SignatureExpire" => {
            "the request's timestamp is more than 5 minutes from STS's clock: synchronise this \
             machine's clock"
                .to_string()
        }
        "AuthFailure.InvalidAuthorization" | "InvalidAction" | "NoSuchVersion" => {
            "the STS endpoint does not serve this action: check `sts_endpoint`".to_string()
        }
        "FailedOperation.TempKeyNotAllowed" => {
            "STS does not accept temporary credentials as the base of this call".to_string()
        }
        "InvalidParameter.PolicyTooLong"
        | "InvalidParameter.StrategyFormatError"
        | "InvalidParameter.StrategyInvalid"
        | "InvalidParameter.ExtendStrategyOverSize" => {
            "the session `policy` is not accepted (too long or not a valid CAM policy)".to_string()
        }
        "InvalidParameter.OverTimeError" => {
            "`session_duration` is longer than the role allows".to_string()
        }
        c if is_transient_code(c) => "STS is throttling or failing".to_string(),
        c if c.starts_with("InvalidParameter")
            || c == "MissingParameter"
            || c.starts_with("UnknownParameter") =>
        {
            "STS refused a parameter: check `role_arn`, `session_name` (2–128 characters of \
             letters, digits and +=,.@_-), `session_duration` (1–43200) and `provider_id`"
                .to_string()
        }
        _ => "STS refused the request".to_string(),
    }
}

/// `application/x-www-form-urlencoded`-style percent-encoding of every byte but the RFC 3986
/// unreserved ones (STS URL-decodes `Policy`).
fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// An HTTP client for credential traffic: no redirects, no proxy for loopback hosts.
pub(crate) fn http_client(
    endpoint: &TrustedEndpoint,
    connect_timeout: Duration,
    timeout: Duration,
) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder()
        .connect_timeout(connect_timeout)
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("ssmform/", env!("CARGO_PKG_VERSION")));
    if endpoint.is_loopback() {
        builder = builder.no_proxy();
    }
    builder.build().map_err(|e| deepest_cause(&e))
}

/// Read at most [`MAX_RESPONSE_BYTES`] into a zeroizing buffer.
pub(crate) async fn read_limited(
    mut response: reqwest::Response,
) -> Result<Zeroizing<Vec<u8>>, String> {
    let mut buf = Zeroizing::new(Vec::with_capacity(4096));
    while let Some(chunk) = response.chunk().await.map_err(|e| deepest_cause(&e))? {
        if buf.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(format!("the answer exceeds {MAX_RESPONSE_BYTES} bytes"));
        }
        if buf.len() + chunk.len() > buf.capacity() {
            let mut bigger = Zeroizing::new(Vec::with_capacity((buf.len() + chunk.len()) * 2));
            bigger.extend_from_slice(&buf);
            buf = bigger;
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf)
}

/// The innermost cause's message (OS or TLS reason; never a body).
pub(crate) fn deepest_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut last: &(dyn std::error::Error + 'static) = e;
    while let Some(next) = last.source() {
        last = next;
    }
    last.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN_CANARY: &str = "eyJhbGciOiJSUzI1NiJ9.eyJjYW5hcnkiOjF9.c2lnbmF0dXJlY2FuYXJ5";

    fn source() -> CredentialSource {
        CredentialSource::InstanceRole {
            role_name: "r".into(),
            discovered: false,
        }
    }

    #[test]
    fn a_success_answer_becomes_temporary_credentials() {
        let body = br#"{"Response":{"Credentials":{"Token":"tok","TmpSecretId":"AKIDtmp","TmpSecretKey":"key"},"ExpiredTime":1700007200,"Expiration":"2023-11-15T00:13:20Z","RequestId":"r"}}"#;
        let t = decode(body, "AssumeRole", &source()).unwrap();
        assert_eq!(t.credentials.secret_id, "AKIDtmp");
        assert_eq!(t.credentials.secret_key.expose(), b"key");
        assert_eq!(t.credentials.token.as_ref().unwrap().expose(), b"tok");
        assert_eq!(t.expires_at, 1_700_007_200);
        assert_eq!(t.credentials.source, source());
    }

    #[test]
    fn error_answers_are_explained_without_their_message() {
        let body = format!(
            r#"{{"Response":{{"Error":{{"Code":"InvalidParameter.WebIdentityTokenError","Message":"token {TOKEN_CANARY} has a wrong audience"}},"RequestId":"r"}}}}"#
        );
        let (code, reason) =
            decode(body.as_bytes(), "AssumeRoleWithWebIdentity", &source()).unwrap_err();
        assert_eq!(
            code.as_deref(),
            Some("InvalidParameter.WebIdentityTokenError")
        );
        assert!(reason.contains("wrong audience"), "{reason}");
        assert!(!reason.contains("eyJ"), "{reason}");
        for (code, message, expected) in [
            ("ResourceNotFound.RoleNotFound", "", "role does not exist"),
            (
                "InvalidParameter.WebIdentityTokenError",
                "Token expired",
                "has expired",
            ),
            (
                "InvalidParameter.WebIdentityTokenError",
                "bad signature",
                "not accepted",
            ),
            ("UnauthorizedOperation", "", "trust policy"),
            ("AuthFailure.TokenFailure", "", "session token"),
            ("InternalError", "", "throttling or failing"),
            (
                "InvalidParameter.ParamError",
                "RoleSessionName",
                "session_name",
            ),
            ("Something.New", "", "refused the request"),
        ] {
            let r = explain("AssumeRoleWithWebIdentity", code, message);
            assert!(r.contains(expected), "{code}: {r}");
        }
    }

    #[test]
    fn malformed_answers_are_described_by_shape() {
        for (body, expected) in [
            (&b"not json"[..], "not an STS response"),
            (br#"{"Other":1}"#, "no `Response`"),
            (br#"{"Response":{"RequestId":"r"}}"#, "no `Credentials`"),
            (
                br#"{"Response":{"Credentials":{"TmpSecretId":"a"},"ExpiredTime":1}}"#,
                "lack TmpSecretId",
            ),
            (
                br#"{"Response":{"Credentials":{"TmpSecretId":"a","TmpSecretKey":"b","Token":"c"}}}"#,
                "no `ExpiredTime`",
            ),
        ] {
            let (_, reason) = decode(body, "AssumeRole", &source()).unwrap_err();
            assert!(reason.contains(expected), "{reason}");
        }
    }

    #[test]
    fn policies_are_url_encoded() {
        assert_eq!(
            url_encode(r#"{"version":"2.0"}"#),
            "%7B%22version%22%3A%222.0%22%7D"
        );
        assert_eq!(url_encode("a b~"), "a%20b~");
    }
}
