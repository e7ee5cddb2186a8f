//! Request authentication: TC3-HMAC-SHA256 (every SDK's default) and the legacy
//! `HmacSHA1`/`HmacSHA256` method, both verified with the crate's own signing code
//! ([`crate::ssm::sign`], [`crate::ssm::sign_legacy`]) so the client and the emulator cannot
//! drift apart.
//!
//! Which `AuthFailure.*` code for which failure — Tencent documents the codes but not every
//! mapping, so these are the choices, checked in this order:
//!
//! | failure | code |
//! |---|---|
//! | timestamp more than 300 s from the server clock | `AuthFailure.SignatureExpire` |
//! | `Authorization` unparseable: wrong algorithm, missing `Credential`/`SignedHeaders`/`Signature`, credential not `id/date/service/tc3_request` | `AuthFailure.InvalidAuthorization` |
//! | scope service not the one served (`ssm`, or `sts` for STS), terminator not `tc3_request`, date not `YYYY-MM-DD`, `SignedHeaders` without `content-type` and `host` | `AuthFailure.InvalidAuthorization` (the real API answers a wrong service with "`Service` in Credential not valid") |
//! | unknown SecretId (neither configured nor a temporary key still valid) | `AuthFailure.SecretIdNotFound` |
//! | scope date not the UTC date of `X-TC-Timestamp` | `AuthFailure.SignatureFailure` (the date is an input of the signature, so a wrong one is a wrong signature) |
//! | a declared signed header missing from the request, or any signature mismatch (wrong key, tampered body/headers/query) | `AuthFailure.SignatureFailure` |
//! | a temporary key without its session token (`X-TC-Token`, legacy `Token`), with another token, or past its expiry | `AuthFailure.TokenFailure` |
//!
//! The Host header is verified exactly as sent and, failing that, without its `:port` (the Node SDK
//! signs the host without the port but sends it with the port). `X-TC-Content-SHA256:
//! UNSIGNED-PAYLOAD` makes the payload hash that of the literal. Temporary keys issued by the
//! emulated STS ([`super::sts`]) are accepted only with their session token and before they expire;
//! a token sent with a configured (permanent) key is ignored.

use std::collections::HashMap;
use std::sync::Arc;

use hyper::HeaderMap;

use super::config::Credential;
use super::error::{ApiError, code};
use super::sts::{Sts, TempKey};
use crate::ssm::sign::{self, Authorization, RequestToSign};
use crate::ssm::sign_legacy::{self, LegacyMethod};

/// The service name every SSM request is signed for.
pub const SERVICE: &str = "ssm";
/// How far a request's timestamp may be from the server clock, in seconds.
pub const MAX_SKEW_SECS: i64 = 300;

/// The accepted credentials: the configured ones by SecretId, and the temporary keys the
/// emulated STS issued.
#[derive(Debug, Clone)]
pub struct Credentials {
    keys: HashMap<String, String>,
    sts: Option<Arc<Sts>>,
}

/// A SecretId's key, and the token and expiry it must come with when it is temporary.
enum Key<'a> {
    Permanent(&'a str),
    Temporary(TempKey),
}

impl Key<'_> {
    fn secret(&self) -> &str {
        match self {
            Key::Permanent(k) => k,
            Key::Temporary(t) => &t.secret_key,
        }
    }

    /// A temporary key must come with its token (constant-time compare) and before it expires.
    fn check_token(&self, token: Option<&str>, now_millis: i64) -> Result<(), ApiError> {
        let Key::Temporary(t) = self else {
            return Ok(());
        };
        let fail = |why: &str| {
            ApiError::new(
                code::AUTH_TOKEN_FAILURE,
                format!("The session token of the temporary credentials {why}."),
            )
        };
        match token {
            None | Some("") => Err(fail("is missing (send it in X-TC-Token)")),
            Some(tok) if !crate::ssm::sign::signatures_equal(tok, &t.token) => {
                Err(fail("does not match the SecretId"))
            }
            Some(_) if now_millis >= t.expires_at.saturating_mul(1000) => Err(fail("has expired")),
            Some(_) => Ok(()),
        }
    }
}

impl Credentials {
    pub fn new(list: &[Credential]) -> Self {
        Credentials {
            keys: list
                .iter()
                .map(|c| (c.secret_id.clone(), c.secret_key.clone()))
                .collect(),
            sts: None,
        }
    }

    /// Also accept the temporary keys `sts` issues.
    pub fn with_sts(mut self, sts: Arc<Sts>) -> Self {
        self.sts = Some(sts);
        self
    }

    fn key(&self, secret_id: &str) -> Result<Key<'_>, ApiError> {
        if let Some(k) = self.keys.get(secret_id) {
            return Ok(Key::Permanent(k));
        }
        if let Some(t) = self.sts.as_ref().and_then(|s| s.temporary(secret_id)) {
            return Ok(Key::Temporary(t));
        }
        Err(ApiError::new(
            code::AUTH_SECRET_ID_NOT_FOUND,
            "The SecretId is not found, please ensure that your SecretId is correct.",
        ))
    }
}

/// `AuthFailure.SignatureExpire` when `timestamp` is more than five minutes from `now`.
pub fn check_timestamp(timestamp: i64, now: i64) -> Result<(), ApiError> {
    if timestamp.abs_diff(now) > MAX_SKEW_SECS as u64 {
        return Err(ApiError::new(
            code::AUTH_SIGNATURE_EXPIRE,
            format!(
                "Signature expired. Timestamp `{timestamp}` and server time `{now}` cannot differ by more than five minutes."
            ),
        ));
    }
    Ok(())
}

/// What a TC3-signed request contributes to verification.
pub struct Tc3Request<'a> {
    pub authorization: &'a str,
    pub method: &'a str,
    /// The query string exactly as sent (GET); ignored for POST.
    pub query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
    pub timestamp: i64,
}

fn invalid_authorization(detail: &str) -> ApiError {
    ApiError::new(
        code::AUTH_INVALID_AUTHORIZATION,
        format!(
            "The request `Authorization` header does not conform to tencentcloud standards: {detail}."
        ),
    )
}

fn signature_failure(detail: &str) -> ApiError {
    ApiError::new(
        code::AUTH_SIGNATURE_FAILURE,
        format!(
            "The provided credentials could not be validated. Please check your signature is correct ({detail})."
        ),
    )
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

/// Verify a TC3-HMAC-SHA256 request for `service` (`ssm` or `sts`; the timestamp window is
/// checked by the caller first). Returns the SecretId that signed it.
pub fn verify_tc3(
    creds: &Credentials,
    req: &Tc3Request<'_>,
    service: &str,
) -> Result<String, ApiError> {
    let auth = Authorization::parse(req.authorization)
        .map_err(|e| invalid_authorization(&e.to_string()))?;
    if auth.service != service {
        return Err(invalid_authorization("`Service` in Credential not valid"));
    }
    if auth.terminator != sign::TERMINATOR {
        return Err(invalid_authorization(
            "the Credential does not end with `tc3_request`",
        ));
    }
    if !is_date(&auth.date) {
        return Err(invalid_authorization(
            "the date in Credential is not YYYY-MM-DD",
        ));
    }
    for required in ["content-type", "host"] {
        if !auth.signed_headers.iter().any(|h| h == required) {
            return Err(invalid_authorization(&format!(
                "`SignedHeaders` must include `{required}`"
            )));
        }
    }
    let key = creds.key(&auth.secret_id)?;
    if auth.date != crate::clock::utc_date(req.timestamp) {
        return Err(signature_failure(
            "the date in Credential is not the UTC date of X-TC-Timestamp",
        ));
    }

    let mut values: Vec<(&str, &str)> = Vec::with_capacity(auth.signed_headers.len());
    let mut host_index = None;
    for name in &auth.signed_headers {
        let Some(v) = req.headers.get(name.as_str()) else {
            return Err(signature_failure(&format!(
                "the signed header `{}` is not in the request",
                super::params::truncate(name, 64)
            )));
        };
        let v = v.to_str().map_err(|_| {
            signature_failure(&format!(
                "the signed header `{}` is not visible ASCII",
                super::params::truncate(name, 64)
            ))
        })?;
        if name == "host" {
            host_index = Some(values.len());
        }
        values.push((name.as_str(), v));
    }
    let unsigned_payload = req
        .headers
        .get("x-tc-content-sha256")
        .is_some_and(|v| v.as_bytes() == sign::UNSIGNED_PAYLOAD.as_bytes());
    let query = if req.method == "GET" { req.query } else { "" };

    let matches = |signed_headers: &[(&str, &str)]| {
        let to_sign = RequestToSign {
            method: req.method,
            query,
            signed_headers,
            payload: req.body,
            unsigned_payload,
            timestamp: req.timestamp,
            service,
        };
        let expected = to_sign.sign_with_date(key.secret().as_bytes(), &auth.date);
        sign::signatures_equal(&expected.signature, &auth.signature)
    };
    let mut verified = matches(&values);
    if !verified
        && let Some(i) = host_index
        && let Some(bare) = strip_port(values[i].1)
    {
        values[i].1 = bare;
        verified = matches(&values);
    }
    if !verified {
        return Err(signature_failure("the signature does not match"));
    }
    let token = req.headers.get("x-tc-token").and_then(|v| v.to_str().ok());
    key.check_token(token, crate::clock::unix_millis_now())?;
    Ok(auth.secret_id)
}

/// `host` without a trailing `:digits`, if it has one (`[::1]:80` → `[::1]`).
fn strip_port(host: &str) -> Option<&str> {
    let (h, port) = host.rsplit_once(':')?;
    (!port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) && !h.ends_with(':')).then_some(h)
}

/// What a legacy-signed request contributes to verification: every parameter as decoded, common
/// ones and `Signature` included.
pub struct LegacyRequest<'a> {
    pub method: &'a str,
    pub host: &'a str,
    pub path: &'a str,
    pub params: &'a [(String, String)],
}

/// Verify a legacy-signed request (the timestamp window is checked by the caller first).
pub fn verify_legacy(creds: &Credentials, req: &LegacyRequest<'_>) -> Result<(), ApiError> {
    let param = |name: &str| {
        req.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let secret_id = param("SecretId").ok_or_else(|| ApiError::missing("SecretId"))?;
    param("Nonce").ok_or_else(|| ApiError::missing("Nonce"))?;
    let given = param("Signature").ok_or_else(|| ApiError::missing("Signature"))?;
    let method = LegacyMethod::parse(param("SignatureMethod")).ok_or_else(|| {
        ApiError::invalid_value("SignatureMethod", "it must be HmacSHA1 or HmacSHA256")
    })?;
    let key = creds.key(secret_id)?;
    let mut hosts = vec![req.host];
    hosts.extend(strip_port(req.host));
    for host in hosts {
        let sts = sign_legacy::string_to_sign(req.method, host, req.path, req.params);
        let expected = sign_legacy::signature(key.secret().as_bytes(), &sts, method);
        if sign_legacy::signatures_equal(&expected, given) {
            return key.check_token(param("Token"), crate::clock::unix_millis_now());
        }
    }
    Err(signature_failure("the signature does not match"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Vector {
        name: String,
        secret_id: String,
        secret_key: String,
        service: String,
        host: String,
        timestamp: i64,
        method: String,
        query: String,
        content_type: String,
        payload: String,
        action: Option<String>,
        authorization: String,
    }

    fn ssm_vectors() -> Vec<Vector> {
        let all: Vec<Vector> =
            serde_json::from_str(include_str!("../../tests/data/tc3-test-vectors.json")).unwrap();
        all.into_iter().filter(|v| v.service == SERVICE).collect()
    }

    fn headers_of(v: &Vector) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("content-type", v.content_type.parse().unwrap());
        h.insert("host", v.host.parse().unwrap());
        if let Some(a) = &v.action {
            h.insert("x-tc-action", a.parse().unwrap());
        }
        h
    }

    #[test]
    fn the_ssm_test_vectors_verify_and_a_changed_byte_does_not() {
        let vectors = ssm_vectors();
        assert_eq!(vectors.len(), 2);
        for v in vectors {
            let creds = Credentials::new(&[Credential::new(&v.secret_id, &v.secret_key)]);
            let headers = headers_of(&v);
            let req = Tc3Request {
                authorization: &v.authorization,
                method: &v.method,
                query: &v.query,
                headers: &headers,
                body: v.payload.as_bytes(),
                timestamp: v.timestamp,
            };
            assert_eq!(
                verify_tc3(&creds, &req, SERVICE),
                Ok(v.secret_id.clone()),
                "{}",
                v.name
            );
            let mut body = v.payload.clone().into_bytes();
            body[0] ^= 1;
            let tampered = Tc3Request { body: &body, ..req };
            assert_eq!(
                verify_tc3(&creds, &tampered, SERVICE).unwrap_err().code,
                code::AUTH_SIGNATURE_FAILURE,
                "{}",
                v.name
            );
        }
    }

    #[test]
    fn ports_are_stripped_only_when_numeric() {
        assert_eq!(strip_port("127.0.0.1:9000"), Some("127.0.0.1"));
        assert_eq!(strip_port("[::1]:9000"), Some("[::1]"));
        assert_eq!(strip_port("host"), None);
        assert_eq!(strip_port("host:"), None);
        assert_eq!(strip_port("::1"), None);
    }

    #[test]
    fn the_window_is_five_minutes_either_way() {
        assert!(check_timestamp(1000, 1300).is_ok());
        assert!(check_timestamp(1300, 1000).is_ok());
        assert_eq!(
            check_timestamp(999, 1300).unwrap_err().code,
            code::AUTH_SIGNATURE_EXPIRE
        );
        assert!(check_timestamp(i64::MIN, 0).is_err());
        assert!(check_timestamp(i64::MAX, 0).is_err());
    }

    #[test]
    fn dates_must_look_like_dates() {
        assert!(is_date("2026-11-29"));
        assert!(!is_date("2026-1-29"));
        assert!(!is_date("20261129xx"));
    }
}
