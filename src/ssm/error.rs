//! The one error type of the SSM client, and the classification the executor's retry loop acts on.
//!
//! An [`Error`] is either the API's own answer ([`ApiError`]: action, `Code`, `Message`,
//! `RequestId`), a failure to get a usable answer at all ([`TransportError`]: timeout, connect
//! failure, connection reset, an HTTP status other than 200, a response that is not an API
//! response), or a request that could not be built ([`InvalidRequest`]). Keeping them apart matters:
//! only the first carries a RequestId that Tencent support can look up, and only transport failures
//! leave it unknown whether a write took effect ([`Error::may_have_taken_effect`]).
//!
//! [`Error::class`] sorts every failure into what a caller should do about it:
//!
//! | class | codes and failures | what to do |
//! |---|---|---|
//! | [`ErrorClass::Throttle`] | `RequestLimitExceeded`, `RequestLimitExceeded.*`, `LimitExceeded.RateLimitExceeded`, HTTP 429 | slow down, retry |
//! | [`ErrorClass::Transient`] | `InternalError`, `InternalError.*`, HTTP 5xx, timeouts, connect failures, resets | back off, retry |
//! | [`ErrorClass::SignatureExpired`] | `AuthFailure.SignatureExpire` | re-sign once (a fresh timestamp) |
//! | [`ErrorClass::Permanent`] | everything else, including plain `LimitExceeded` (10 versions / 1000 secrets) | fail the change |
//!
//! Messages are written for the person who has to act: an authentication failure names the
//! credential source and the SecretId's last four characters, a missing secret names the region, and
//! so on ([`ApiError::hint`]). No message ever contains a request body or a response body: a response
//! that cannot be decoded is described by its status, content type and length, never its text.
//! Everything the server wrote (code, message, RequestId, content type) is untrusted: before an
//! error is kept, [`sanitise_error`] removes from it anything that matches one of the request's
//! values in any form, and every control character (see [`crate::ssm::sanitise`]).

use std::fmt;
use std::time::Duration;

use crate::ssm::credentials::CredentialSource;
use crate::ssm::sanitise::{self, RequestValues};

/// What a caller should do about a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// Over the rate limit: wait, lower the rate, retry.
    Throttle,
    /// Worth retrying after a backoff: the service or the network failed, not the request.
    Transient,
    /// The request's timestamp was outside the 5-minute window: sign again with a fresh one.
    SignatureExpired,
    /// Retrying the same request cannot help.
    Permanent,
}

/// The class of an API error code.
pub fn classify_code(code: &str) -> ErrorClass {
    if is_throttle_code(code) {
        ErrorClass::Throttle
    } else if code == "InternalError" || code.starts_with("InternalError.") {
        ErrorClass::Transient
    } else if code == "AuthFailure.SignatureExpire" {
        ErrorClass::SignatureExpired
    } else {
        ErrorClass::Permanent
    }
}

/// `RequestLimitExceeded` and its variants (`.UinLimitExceeded`, `.GlobalRegionUinLimitExceeded`,
/// `.IPLimitExceeded`, ...), and `LimitExceeded.RateLimitExceeded` which some services use. Plain
/// `LimitExceeded` is SSM's quota error (10 versions per secret, 1000 secrets) and is not a throttle.
pub fn is_throttle_code(code: &str) -> bool {
    code == "RequestLimitExceeded"
        || code.starts_with("RequestLimitExceeded.")
        || code == "LimitExceeded.RateLimitExceeded"
}

/// The frequency limit stated in a throttle message.
///
/// Tencent writes "Your current request times equals to `11` in a second, which exceeds the
/// frequency limit `10`"; variants drop the backticks or say "limit is 10" / "limit: 10". The
/// number after the last "limit" wins, so the current count ("equals to `11`") is never taken
/// for the limit.
pub fn parse_throttle_limit(message: &str) -> Option<u32> {
    let lower = message.to_ascii_lowercase();
    let at = lower.rfind("limit")?;
    let rest = &message[at + "limit".len()..];
    let rest = rest.trim_start_matches(|c: char| {
        c.is_whitespace() || matches!(c, '`' | '\'' | '"' | ':' | '=' | '(')
    });
    let rest = rest
        .strip_prefix("is ")
        .or_else(|| rest.strip_prefix("of "))
        .unwrap_or(rest);
    let rest =
        rest.trim_start_matches(|c: char| c.is_whitespace() || matches!(c, '`' | '\'' | '"'));
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok().filter(|&n| n > 0)
}

/// The call an error belongs to: enough to say what failed, where, and with which credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallContext {
    /// `UpdateSecret`, `GetSecretValue`, ...
    pub action: String,
    pub secret_name: Option<String>,
    pub version_id: Option<String>,
    /// The endpoint URL, e.g. `https://ssm.tencentcloudapi.com`.
    pub endpoint: String,
    /// `""` when no region header was sent.
    pub region: String,
    pub credential_source: CredentialSource,
    /// The SecretId's last four characters (`…MPLE`).
    pub secret_id_hint: String,
}

impl CallContext {
    /// `UpdateSecret (secret `a`, version `v1`)`.
    fn what(&self) -> String {
        match (&self.secret_name, &self.version_id) {
            (Some(n), Some(v)) => format!("{} (secret `{n}`, version `{v}`)", self.action),
            (Some(n), None) => format!("{} (secret `{n}`)", self.action),
            _ => self.action.clone(),
        }
    }

    fn region_text(&self) -> String {
        if self.region.is_empty() {
            "the endpoint's default region".to_string()
        } else {
            format!("region `{}`", self.region)
        }
    }

    fn secret_text(&self) -> String {
        match (&self.secret_name, &self.version_id) {
            (Some(n), Some(v)) => format!("secret `{n}` version `{v}`"),
            (Some(n), None) => format!("secret `{n}`"),
            _ => "the secret".to_string(),
        }
    }
}

/// An error answered by the API: `{"Response": {"Error": {"Code", "Message"}, "RequestId"}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The error code, e.g. `ResourceNotFound`; stable, unlike the message.
    pub code: String,
    /// The API's message, sanitised (see [`sanitise_error`]).
    pub message: String,
    pub request_id: String,
    pub call: CallContext,
}

impl ApiError {
    pub fn class(&self) -> ErrorClass {
        classify_code(&self.code)
    }

    /// What the person reading the error can do about it, when the code says enough to tell.
    pub fn hint(&self) -> Option<String> {
        let c = &self.call;
        let id = &c.secret_id_hint;
        let source = &c.credential_source;
        let action = &c.action;
        let hint = match self.code.as_str() {
            "AuthFailure.SecretIdNotFound" => format!(
                "The SecretId {id} (from {source}) does not exist or is disabled: check the API key \
                 in the CAM console and that it was copied whole."
            ),
            "AuthFailure.SignatureFailure" => format!(
                "The SecretKey (from {source}) does not belong to SecretId {id}: check that the pair \
                 was copied whole and belongs together."
            ),
            "AuthFailure.SignatureExpire" => "The request's timestamp is more than 5 minutes away \
                 from the server's clock: synchronise this machine's clock (NTP)."
                .to_string(),
            "AuthFailure.TokenFailure" => format!(
                "The session token (from {source}) is invalid or has expired: obtain fresh \
                 temporary credentials."
            ),
            "AuthFailure.InvalidAuthorization" => format!(
                "{} rejected the request's Authorization header: check that it is a Tencent Cloud \
                 API endpoint.",
                c.endpoint
            ),
            "AuthFailure.UnauthorizedOperation" | "UnauthorizedOperation" => format!(
                "The CAM identity of SecretId {id} (from {source}) may not call ssm:{action}: grant \
                 it in the CAM console (for example the QcloudSSMFullAccess policy)."
            ),
            "UnauthorizedOperation.AccessKmsError" | "FailedOperation.AccessKmsError" => format!(
                "SSM could not use the KMS key that encrypts {}: check that the key is enabled and \
                 that SecretId {id} may use it.",
                c.secret_text()
            ),
            "InvalidAction" | "NoSuchVersion" => format!(
                "{} does not serve {action} of SSM API version {}: check the endpoint.",
                c.endpoint,
                crate::ssm::API_VERSION
            ),
            "UnsupportedRegion" => format!(
                "SSM is not available in {}: check the provider's `region` or {}.",
                c.region_text(),
                crate::ssm::credentials::ENV_REGION
            ),
            "ResourceUnavailable.NotPurchased" => "Secrets Manager is not activated for this \
                 account: activate it in the Tencent Cloud console first."
                .to_string(),
            "ResourceNotFound" | "ResourceNotFound.SecretNotExist" => format!(
                "{} does not exist in {}.",
                capitalise(&c.secret_text()),
                c.region_text()
            ),
            "ResourceInUse.SecretExists" => format!(
                "A secret with this name already exists in {}.",
                c.region_text()
            ),
            "ResourceInUse.VersionIdExists" => {
                format!("{} already exists.", capitalise(&c.secret_text()))
            }
            "LimitExceeded" => "An SSM quota was reached: at most 10 versions per secret and 1000 \
                 secrets per region. Delete unused versions (DeleteSecretVersion) or secrets."
                .to_string(),
            "ResourceUnavailable.ResourceDisabled" => format!(
                "{} is Disabled: enable it (EnableSecret or the console) to read it.",
                capitalise(&c.secret_text())
            ),
            "ResourceUnavailable.ResourcePendingDeleted" => format!(
                "{} is scheduled for deletion: restore it (RestoreSecret), then enable it.",
                capitalise(&c.secret_text())
            ),
            "OperationDenied.AutoRotatedResource" => format!(
                "{} is rotated automatically by Tencent Cloud (a cloud-product secret); its content \
                 cannot be set by hand.",
                capitalise(&c.secret_text())
            ),
            "OperationDenied.RoleNotExist" => "SSM's service role does not exist: authorise it in \
                 the CAM console (Roles)."
                .to_string(),
            "RequestSizeLimitExceeded" => "The request is larger than the API accepts; secret \
                 content is limited to 32 KB."
                .to_string(),
            code if is_throttle_code(code) => match parse_throttle_limit(&self.message) {
                Some(n) => format!(
                    "Throttled by Tencent Cloud: {action} is limited to {n} requests per second."
                ),
                None => {
                    format!("Throttled by Tencent Cloud: too many {action} requests per second.")
                }
            },
            code if classify_code(code) == ErrorClass::Transient => {
                "Tencent Cloud reported an internal error; retrying usually helps.".to_string()
            }
            _ => return None,
        };
        Some(hint)
    }
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} failed: {}: {} (RequestId {})",
            self.call.what(),
            self.code,
            self.message.trim_end(),
            if self.request_id.is_empty() {
                "none"
            } else {
                &self.request_id
            }
        )?;
        if let Some(hint) = self.hint() {
            write!(f, "\n{hint}")?;
        }
        Ok(())
    }
}

/// Which timeout expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutPhase {
    /// Establishing the connection (TCP and TLS).
    Connect,
    /// The whole call (`ClientConfig::request_timeout`): the answer did not arrive in time,
    /// though bytes may have trickled in.
    Response,
    /// Waiting for the answer's first byte (`ClientConfig::read_timeout`).
    FirstByte,
    /// Waiting for the next bytes of the answer's body (`ClientConfig::read_timeout`).
    Stalled,
}

/// How a request failed to produce an API answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportKind {
    /// A timeout expired; `limit` is the configured timeout.
    Timeout {
        phase: TimeoutPhase,
        limit: Duration,
    },
    /// No connection could be made (refused, DNS, TLS handshake, proxy).
    Connect,
    /// The connection closed or was reset before the whole response arrived.
    ConnectionReset,
    /// An HTTP status other than 200. The API answers every processed request with 200, so this
    /// comes from a gateway, a proxy or something that is not the API.
    HttpStatus {
        status: u16,
        content_type: Option<String>,
        body_len: usize,
    },
    /// HTTP 200 whose body is not an API response. `reason` never quotes the body.
    Undecodable {
        status: u16,
        content_type: Option<String>,
        body_len: usize,
        reason: String,
    },
    /// HTTP 200 and JSON, but not what the API answers: no `RequestId`, a documented field
    /// missing, or a write that does not echo the secret name and version it wrote. `reason` names
    /// the field, never a value.
    NotTheApi {
        status: u16,
        body_len: usize,
        reason: String,
    },
    /// Any other failure of the HTTP client.
    Other,
}

/// A request that did not produce an API answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportError {
    pub kind: TransportKind,
    /// The underlying cause in words (from the HTTP/TLS/OS layers; never a body).
    pub detail: String,
    pub call: CallContext,
}

impl TransportError {
    pub fn class(&self) -> ErrorClass {
        match &self.kind {
            TransportKind::Timeout { .. }
            | TransportKind::Connect
            | TransportKind::ConnectionReset
            | TransportKind::Other => ErrorClass::Transient,
            TransportKind::HttpStatus { status: 429, .. } => ErrorClass::Throttle,
            TransportKind::HttpStatus { status, .. } if *status >= 500 => ErrorClass::Transient,
            TransportKind::HttpStatus { .. }
            | TransportKind::Undecodable { .. }
            | TransportKind::NotTheApi { .. } => ErrorClass::Permanent,
        }
    }
}

fn content_type_text(ct: &Option<String>) -> &str {
    ct.as_deref().unwrap_or("no content type")
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = self.call.what();
        let ep = &self.call.endpoint;
        let detail = if self.detail.is_empty() {
            String::new()
        } else {
            format!(" ({})", self.detail)
        };
        match &self.kind {
            TransportKind::Timeout {
                phase: TimeoutPhase::Connect,
                limit,
            } => write!(
                f,
                "{what} failed: could not connect to {ep} within {} (the connect timeout, \
                 SSMFORM_CONNECT_TIMEOUT){detail}. Check the endpoint and the network (proxy, \
                 firewall).",
                secs(*limit)
            ),
            TransportKind::Timeout {
                phase: TimeoutPhase::Response,
                limit,
            } => write!(
                f,
                "{what} failed: no complete response from {ep} within {} (the per-call timeout, \
                 SSMFORM_CALL_TIMEOUT){detail}; the request may still have taken effect.",
                secs(*limit)
            ),
            TransportKind::Timeout {
                phase: TimeoutPhase::FirstByte,
                limit,
            } => write!(
                f,
                "{what} failed: {ep} accepted the connection but did not answer within {} \
                 (the first-byte timeout, SSMFORM_READ_TIMEOUT){detail}; the request may still \
                 have taken effect.",
                secs(*limit)
            ),
            TransportKind::Timeout {
                phase: TimeoutPhase::Stalled,
                limit,
            } => write!(
                f,
                "{what} failed: the response from {ep} stalled for {} (the read timeout, \
                 SSMFORM_READ_TIMEOUT){detail}; the request may still have taken effect.",
                secs(*limit)
            ),
            TransportKind::Connect => write!(
                f,
                "{what} failed: could not connect to {ep}{detail}. Check the endpoint and the \
                 network (proxy, firewall, TLS)."
            ),
            TransportKind::ConnectionReset => write!(
                f,
                "{what} failed: the connection to {ep} closed before a complete response \
                 arrived{detail}; the request may still have taken effect."
            ),
            TransportKind::HttpStatus {
                status,
                content_type,
                body_len,
            } => {
                write!(
                    f,
                    "{what} failed: {ep} answered HTTP {status} ({}, {body_len} bytes) instead of \
                     an API response.",
                    content_type_text(content_type)
                )?;
                match status {
                    300..=399 => write!(
                        f,
                        " The endpoint redirects: configure the URL it redirects to (https://...)."
                    ),
                    407 => write!(f, " The HTTP proxy requires authentication."),
                    429 => write!(f, " Too many requests: throttled by a gateway."),
                    500..=599 => write!(f, " A server or gateway error; retrying usually helps."),
                    _ => write!(
                        f,
                        " Check that the endpoint is a Tencent Cloud API endpoint."
                    ),
                }
            }
            TransportKind::Undecodable {
                status,
                content_type,
                body_len,
                reason,
            } => write!(
                f,
                "{what} failed: the response from {ep} is not an API response: {reason} (HTTP \
                 {status}, {}, {body_len} bytes). Check that the endpoint is a Tencent Cloud API \
                 endpoint.",
                content_type_text(content_type)
            ),
            TransportKind::NotTheApi {
                status,
                body_len,
                reason,
            } => write!(
                f,
                "{what} failed: protocol error: the answer from {ep} is not a valid API response, \
                 {reason} (HTTP {status}, {body_len} bytes); this does not look like the Tencent \
                 Cloud API. Check the endpoint."
            ),
            TransportKind::Other => write!(f, "{what} failed: request to {ep} failed{detail}."),
        }
    }
}

fn secs(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

/// A request that could not be built, e.g. a `SecretString` that is not UTF-8.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidRequest {
    pub reason: String,
    pub call: CallContext,
}

impl fmt::Display for InvalidRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} not sent: {}", self.call.what(), self.reason)
    }
}

/// Every failure of an SSM call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The API answered with an error code.
    Api(Box<ApiError>),
    /// No API answer: timeout, connection failure, bad HTTP status, undecodable response.
    Transport(Box<TransportError>),
    /// The request could not be built; nothing was sent.
    InvalidRequest(Box<InvalidRequest>),
}

impl std::error::Error for Error {}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Api(e) => e.fmt(f),
            Error::Transport(e) => e.fmt(f),
            Error::InvalidRequest(e) => e.fmt(f),
        }
    }
}

impl Error {
    pub fn class(&self) -> ErrorClass {
        match self {
            Error::Api(e) => e.class(),
            Error::Transport(e) => e.class(),
            Error::InvalidRequest(_) => ErrorClass::Permanent,
        }
    }

    /// The API error code, for API errors.
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Api(e) => Some(&e.code),
            _ => None,
        }
    }

    /// The RequestId, for API errors that carry one.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Error::Api(e) if !e.request_id.is_empty() => Some(&e.request_id),
            _ => None,
        }
    }

    /// The per-second limit a throttle error states, when it states one.
    pub fn throttle_limit(&self) -> Option<u32> {
        match self {
            Error::Api(e) if e.class() == ErrorClass::Throttle => parse_throttle_limit(&e.message),
            _ => None,
        }
    }

    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(e),
            _ => None,
        }
    }

    pub fn transport(&self) -> Option<&TransportError> {
        match self {
            Error::Transport(e) => Some(e),
            _ => None,
        }
    }

    /// The HTTP status of a non-200 answer.
    pub fn http_status(&self) -> Option<u16> {
        match self.transport().map(|t| &t.kind) {
            Some(TransportKind::HttpStatus { status, .. }) => Some(*status),
            _ => None,
        }
    }

    pub fn call(&self) -> &CallContext {
        match self {
            Error::Api(e) => &e.call,
            Error::Transport(e) => &e.call,
            Error::InvalidRequest(e) => &e.call,
        }
    }

    pub fn action(&self) -> &str {
        &self.call().action
    }

    /// Whether a write may have been applied although it failed: the request may have reached the
    /// service (a response timeout, a reset, a gateway error, an `InternalError`). False when it
    /// certainly was not processed (no connection, a rejection with an error code).
    pub fn may_have_taken_effect(&self) -> bool {
        match self {
            Error::Api(e) => e.class() == ErrorClass::Transient,
            Error::Transport(t) => match &t.kind {
                TransportKind::Timeout {
                    phase: TimeoutPhase::Connect,
                    ..
                }
                | TransportKind::Connect => false,
                TransportKind::HttpStatus { status, .. } => *status >= 500,
                _ => true,
            },
            Error::InvalidRequest(_) => false,
        }
    }
}

/// The documented codes (docs/ssm-api.md#error-codes and #rate-limits): a known code is kept as it
/// is; any other code is the server's text like any other, and is sanitised.
pub const KNOWN_CODES: &[&str] = &[
    "FailedOperation",
    "FailedOperation.AccessKmsError",
    "InternalError",
    "InvalidParameterValue",
    "OperationDenied.AutoRotatedResource",
    "ResourceNotFound",
    "ResourceUnavailable.NotPurchased",
    "UnauthorizedOperation",
    "ResourceNotFound.SecretNotExist",
    "ResourceInUse.SecretExists",
    "ResourceInUse.VersionIdExists",
    "LimitExceeded",
    "ResourceUnavailable.ResourceDisabled",
    "ResourceUnavailable.ResourcePendingDeleted",
    "ResourceUnavailable.ResourceUninitialized",
    "OperationDenied.RoleNotExist",
    "UnauthorizedOperation.AccessKmsError",
    "InvalidParameter",
    "MissingParameter",
    "UnknownParameter",
    "UnsupportedOperation",
    "AuthFailure.SignatureFailure",
    "AuthFailure.SignatureExpire",
    "AuthFailure.SecretIdNotFound",
    "AuthFailure.InvalidAuthorization",
    "AuthFailure.TokenFailure",
    "AuthFailure.UnauthorizedOperation",
    "InvalidAction",
    "NoSuchVersion",
    "RequestSizeLimitExceeded",
    "UnsupportedRegion",
    "RequestLimitExceeded",
    "RequestLimitExceeded.UinLimitExceeded",
    "RequestLimitExceeded.GlobalRegionUinLimitExceeded",
    "RequestLimitExceeded.IPLimitExceeded",
    "LimitExceeded.RateLimitExceeded",
    "UnsupportedProtocol",
];

/// How long a server's message may be once shown (characters).
pub const MAX_MESSAGE_CHARS: usize = 400;

/// Whether an error code is one whose message typically quotes a parameter's value
/// (`InvalidParameterValue`, `InvalidParameter.*`, `UnknownParameter`, `MissingParameter`): for
/// those the service's message is replaced by our own wording.
pub fn code_quotes_parameters(code: &str) -> bool {
    ["InvalidParameter", "UnknownParameter", "MissingParameter"]
        .iter()
        .any(|p| code.starts_with(p))
}

/// The wording shown instead of the service's message for codes that quote parameters.
pub const PARAMETER_MESSAGE: &str = "the service rejected a parameter of the request (its own \
     message is not shown: messages of this kind quote the values sent)";

/// Makes everything the server wrote in `err` safe to show, log and keep (see
/// [`crate::ssm::sanitise`]): a code that is not one of [`KNOWN_CODES`] keeps only `[A-Za-z0-9._]`
/// and loses what matches a value, the RequestId keeps only
/// `[A-Za-z0-9-]`; messages, content types and causes lose anything that matches one of the
/// request's `values` in any form, and every control character and escape sequence. A code that
/// quotes parameters gets our own wording instead of its message.
pub fn sanitise_error(err: &mut Error, values: &RequestValues) {
    let text = |s: &mut String, max: usize| {
        let clean = values.sanitise(s, max);
        zeroize::Zeroize::zeroize(s);
        *s = clean;
    };
    match err {
        Error::Api(api) => {
            let code = sanitise::only(
                &api.code,
                |c| c.is_ascii_alphanumeric() || c == '.' || c == '_',
                96,
            );
            api.code = values.sanitise(&code, 96);
            let id = sanitise::only(
                &api.request_id,
                |c| c.is_ascii_alphanumeric() || c == '-',
                64,
            );
            api.request_id = values.sanitise(&id, 64);
            if code_quotes_parameters(&api.code) {
                zeroize::Zeroize::zeroize(&mut api.message);
                api.message = PARAMETER_MESSAGE.to_string();
            } else {
                text(&mut api.message, MAX_MESSAGE_CHARS);
            }
        }
        Error::Transport(t) => {
            text(&mut t.detail, MAX_MESSAGE_CHARS);
            match &mut t.kind {
                TransportKind::HttpStatus {
                    content_type: Some(ct),
                    ..
                } => text(ct, 100),
                TransportKind::Undecodable {
                    content_type,
                    reason,
                    ..
                } => {
                    if let Some(ct) = content_type {
                        text(ct, 100);
                    }
                    text(reason, MAX_MESSAGE_CHARS);
                }
                _ => {}
            }
        }
        Error::InvalidRequest(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call() -> CallContext {
        CallContext {
            action: "UpdateSecret".into(),
            secret_name: Some("app-db".into()),
            version_id: Some("v1".into()),
            endpoint: "https://ssm.tencentcloudapi.com".into(),
            region: "ap-guangzhou".into(),
            credential_source: CredentialSource::Environment { token_var: None },
            secret_id_hint: "…MPLE".into(),
        }
    }

    fn api(code: &str, message: &str) -> Error {
        Error::Api(Box::new(ApiError {
            code: code.into(),
            message: message.into(),
            request_id: "6ea5d8b9-0f3a-4c0e-9a47-2b1f4c5e7d10".into(),
            call: call(),
        }))
    }

    fn transport(kind: TransportKind) -> Error {
        Error::Transport(Box::new(TransportError {
            kind,
            detail: "os error 111".into(),
            call: call(),
        }))
    }

    /// Every code in docs/ssm-api.md#error-codes and docs/ssm-api.md#rate-limits, with its class.
    const CODES: &[(&str, ErrorClass)] = &[
        // UpdateSecret's documented codes
        ("FailedOperation", ErrorClass::Permanent),
        ("FailedOperation.AccessKmsError", ErrorClass::Permanent),
        ("InternalError", ErrorClass::Transient),
        ("InvalidParameterValue", ErrorClass::Permanent),
        ("OperationDenied.AutoRotatedResource", ErrorClass::Permanent),
        ("ResourceNotFound", ErrorClass::Permanent),
        ("ResourceUnavailable.NotPurchased", ErrorClass::Permanent),
        ("UnauthorizedOperation", ErrorClass::Permanent),
        // other SSM codes
        ("ResourceNotFound.SecretNotExist", ErrorClass::Permanent),
        ("ResourceInUse.SecretExists", ErrorClass::Permanent),
        ("ResourceInUse.VersionIdExists", ErrorClass::Permanent),
        ("LimitExceeded", ErrorClass::Permanent),
        (
            "ResourceUnavailable.ResourceDisabled",
            ErrorClass::Permanent,
        ),
        (
            "ResourceUnavailable.ResourcePendingDeleted",
            ErrorClass::Permanent,
        ),
        (
            "ResourceUnavailable.ResourceUninitialized",
            ErrorClass::Permanent,
        ),
        ("OperationDenied.RoleNotExist", ErrorClass::Permanent),
        (
            "UnauthorizedOperation.AccessKmsError",
            ErrorClass::Permanent,
        ),
        ("InvalidParameter", ErrorClass::Permanent),
        ("MissingParameter", ErrorClass::Permanent),
        ("UnknownParameter", ErrorClass::Permanent),
        ("UnsupportedOperation", ErrorClass::Permanent),
        // common codes
        ("AuthFailure.SignatureFailure", ErrorClass::Permanent),
        ("AuthFailure.SignatureExpire", ErrorClass::SignatureExpired),
        ("AuthFailure.SecretIdNotFound", ErrorClass::Permanent),
        ("AuthFailure.InvalidAuthorization", ErrorClass::Permanent),
        ("AuthFailure.TokenFailure", ErrorClass::Permanent),
        ("AuthFailure.UnauthorizedOperation", ErrorClass::Permanent),
        ("InvalidAction", ErrorClass::Permanent),
        ("NoSuchVersion", ErrorClass::Permanent),
        ("RequestSizeLimitExceeded", ErrorClass::Permanent),
        ("UnsupportedRegion", ErrorClass::Permanent),
        // rate limits (docs/ssm-api.md#rate-limits)
        ("RequestLimitExceeded", ErrorClass::Throttle),
        (
            "RequestLimitExceeded.UinLimitExceeded",
            ErrorClass::Throttle,
        ),
        (
            "RequestLimitExceeded.GlobalRegionUinLimitExceeded",
            ErrorClass::Throttle,
        ),
        ("RequestLimitExceeded.IPLimitExceeded", ErrorClass::Throttle),
        ("LimitExceeded.RateLimitExceeded", ErrorClass::Throttle),
    ];

    #[test]
    fn every_documented_code_is_classified() {
        for (code, class) in CODES {
            assert!(KNOWN_CODES.contains(code), "{code}");
            assert_eq!(classify_code(code), *class, "{code}");
            assert_eq!(api(code, "m").class(), *class, "{code}");
            assert_eq!(api(code, "m").code(), Some(*code));
        }
    }

    #[test]
    fn plain_limit_exceeded_is_a_quota_not_a_throttle() {
        assert_eq!(classify_code("LimitExceeded"), ErrorClass::Permanent);
        assert!(!is_throttle_code("LimitExceeded"));
        assert!(!is_throttle_code("RequestLimitExceededX"));
        assert!(!is_throttle_code("RequestSizeLimitExceeded"));
        assert_eq!(
            classify_code("InternalError.DbError"),
            ErrorClass::Transient
        );
        assert_eq!(classify_code("InternalErrorX"), ErrorClass::Permanent);
        assert_eq!(
            classify_code("AuthFailure.SignatureExpired"),
            ErrorClass::Permanent
        );
    }

    #[test]
    fn transport_failures_are_classified() {
        let ct = Some("text/html".to_string());
        let cases = [
            (
                TransportKind::Timeout {
                    phase: TimeoutPhase::Connect,
                    limit: Duration::from_secs(10),
                },
                ErrorClass::Transient,
                false,
            ),
            (
                TransportKind::Timeout {
                    phase: TimeoutPhase::Response,
                    limit: Duration::from_secs(30),
                },
                ErrorClass::Transient,
                true,
            ),
            (TransportKind::Connect, ErrorClass::Transient, false),
            (TransportKind::ConnectionReset, ErrorClass::Transient, true),
            (TransportKind::Other, ErrorClass::Transient, true),
            (
                TransportKind::HttpStatus {
                    status: 502,
                    content_type: ct.clone(),
                    body_len: 3,
                },
                ErrorClass::Transient,
                true,
            ),
            (
                TransportKind::HttpStatus {
                    status: 503,
                    content_type: None,
                    body_len: 0,
                },
                ErrorClass::Transient,
                true,
            ),
            (
                TransportKind::HttpStatus {
                    status: 429,
                    content_type: None,
                    body_len: 0,
                },
                ErrorClass::Throttle,
                false,
            ),
            (
                TransportKind::HttpStatus {
                    status: 404,
                    content_type: ct.clone(),
                    body_len: 9,
                },
                ErrorClass::Permanent,
                false,
            ),
            (
                TransportKind::HttpStatus {
                    status: 301,
                    content_type: None,
                    body_len: 0,
                },
                ErrorClass::Permanent,
                false,
            ),
            (
                TransportKind::Undecodable {
                    status: 200,
                    content_type: ct,
                    body_len: 10,
                    reason: "not JSON".into(),
                },
                ErrorClass::Permanent,
                true,
            ),
        ];
        for (kind, class, ambiguous) in cases {
            let e = transport(kind.clone());
            assert_eq!(e.class(), class, "{kind:?}");
            assert_eq!(e.may_have_taken_effect(), ambiguous, "{kind:?}");
            assert_eq!(e.code(), None);
            assert_eq!(e.request_id(), None);
            assert_eq!(e.throttle_limit(), None);
        }
        assert_eq!(
            transport(TransportKind::HttpStatus {
                status: 502,
                content_type: None,
                body_len: 0
            })
            .http_status(),
            Some(502)
        );
    }

    #[test]
    fn api_errors_that_may_have_taken_effect() {
        assert!(api("InternalError", "m").may_have_taken_effect());
        assert!(!api("ResourceNotFound", "m").may_have_taken_effect());
        assert!(!api("RequestLimitExceeded", "m").may_have_taken_effect());
    }

    #[test]
    fn throttle_limits_are_parsed_from_tencent_messages() {
        let cases: &[(&str, Option<u32>)] = &[
            (
                "Your current request times equals to `11` in a second, which exceeds the frequency limit `10` for a second. Please reduce the frequency of calls.",
                Some(10),
            ),
            (
                "Your current request times equals to 51 in a second, which exceeds the frequency limit 50 for a second.",
                Some(50),
            ),
            ("The request frequency limit is 300 per second.", Some(300)),
            ("exceeds the frequency limit: 20", Some(20)),
            ("Request limit (40) exceeded", Some(40)),
            ("Request rate too high, please retry later.", None),
            ("", None),
            ("exceeds the frequency limit `0`", None),
            ("limit `abc`", None),
        ];
        for (message, expected) in cases {
            assert_eq!(parse_throttle_limit(message), *expected, "{message}");
        }
        assert_eq!(
            api("RequestLimitExceeded", "exceeds the frequency limit `50`").throttle_limit(),
            Some(50)
        );
        assert_eq!(
            api(
                "RequestLimitExceeded.UinLimitExceeded",
                "frequency limit `20`"
            )
            .throttle_limit(),
            Some(20)
        );
        assert_eq!(
            api("LimitExceeded", "the limit `10` of versions").throttle_limit(),
            None,
            "a quota error is not a throttle"
        );
    }

    #[test]
    fn accessors() {
        let e = api("ResourceNotFound", "m");
        assert_eq!(e.request_id(), Some("6ea5d8b9-0f3a-4c0e-9a47-2b1f4c5e7d10"));
        assert_eq!(e.action(), "UpdateSecret");
        assert!(e.api().is_some() && e.transport().is_none());
        assert_eq!(e.http_status(), None);
    }

    #[test]
    fn messages_are_actionable() {
        let cases: &[(&str, &[&str])] = &[
            (
                "AuthFailure.SecretIdNotFound",
                &[
                    "…MPLE",
                    "environment variables TENCENTCLOUD_SECRET_ID/TENCENTCLOUD_SECRET_KEY",
                    "CAM",
                ],
            ),
            (
                "AuthFailure.SignatureFailure",
                &["…MPLE", "SecretKey", "environment variables"],
            ),
            ("AuthFailure.SignatureExpire", &["clock", "5 minutes"]),
            (
                "AuthFailure.TokenFailure",
                &["session token", "environment variables"],
            ),
            (
                "AuthFailure.UnauthorizedOperation",
                &["ssm:UpdateSecret", "…MPLE"],
            ),
            ("UnauthorizedOperation", &["ssm:UpdateSecret"]),
            (
                "InvalidAction",
                &["https://ssm.tencentcloudapi.com", "2019-09-23"],
            ),
            ("UnsupportedRegion", &["`ap-guangzhou`"]),
            (
                "ResourceNotFound",
                &["Secret `app-db` version `v1` does not exist in region `ap-guangzhou`"],
            ),
            (
                "ResourceUnavailable.ResourceDisabled",
                &["Disabled", "EnableSecret"],
            ),
            (
                "ResourceUnavailable.ResourcePendingDeleted",
                &["RestoreSecret"],
            ),
            ("LimitExceeded", &["10 versions", "1000"]),
            ("ResourceUnavailable.NotPurchased", &["activate"]),
            (
                "RequestLimitExceeded",
                &["limited to 50 requests per second"],
            ),
            ("InternalError", &["retrying"]),
        ];
        for (code, needles) in cases {
            let text = api(code, "exceeds the frequency limit `50`").to_string();
            assert!(
                text.starts_with("UpdateSecret (secret `app-db`, version `v1`) failed: "),
                "{text}"
            );
            assert!(text.contains(code), "{text}");
            assert!(text.contains("RequestId 6ea5d8b9-"), "{text}");
            for n in *needles {
                assert!(text.contains(n), "{code}: missing {n:?} in {text}");
            }
        }
    }

    #[test]
    fn transport_messages_describe_without_bodies() {
        let e = transport(TransportKind::HttpStatus {
            status: 502,
            content_type: Some("text/html".into()),
            body_len: 1234,
        });
        let text = e.to_string();
        assert!(text.contains("HTTP 502 (text/html, 1234 bytes)"), "{text}");
        let e = transport(TransportKind::Undecodable {
            status: 200,
            content_type: None,
            body_len: 7,
            reason: "the content type is not JSON".into(),
        });
        let text = e.to_string();
        assert!(text.contains("no content type, 7 bytes"), "{text}");
        let e = transport(TransportKind::Timeout {
            phase: TimeoutPhase::Response,
            limit: Duration::from_millis(1500),
        });
        assert!(e.to_string().contains("within 1500ms"), "{e}");
        assert!(e.to_string().contains("may still have taken effect"), "{e}");
    }

    #[test]
    fn server_text_loses_the_request_values_and_control_characters() {
        use crate::secret::{SecretContent, SecretValue};
        const CANARY: &str = "canary-value-3e8b1d7a";
        let mut values = RequestValues::from_json_body(
            br#"{"SecretName":"app-db","SecretString":"canary-value-3e8b1d7a"}"#,
        );
        values.add_content(&SecretContent::String(SecretValue::from_string(
            CANARY.into(),
        )));
        let mut e = api(
            "FailedOperation",
            "SecretString `CANARY_VALUE_3E8B` of app-db\u{1b}[2J is bad\nApply complete!",
        );
        sanitise_error(&mut e, &values);
        let a = e.api().unwrap();
        assert_eq!(
            a.message,
            "SecretString `[redacted]` of [redacted] is bad Apply complete!"
        );

        let mut e = api(
            "InvalidParameterValue.SecretNameInvalid",
            "name `canary-value-3e8b1d7a`",
        );
        sanitise_error(&mut e, &values);
        assert_eq!(e.api().unwrap().message, PARAMETER_MESSAGE);
        assert_eq!(e.code(), Some("InvalidParameterValue.SecretNameInvalid"));

        let mut e = api("Failed\u{1b}[31mOperation.canary-value-3e8b1d7a", "m");
        if let Error::Api(a) = &mut e {
            a.request_id = "id\n\u{1b}]0;x\u{7}-1".into();
        }
        sanitise_error(&mut e, &values);
        assert_eq!(e.code(), Some("Failed31mOperation.[redacted]"));
        assert_eq!(e.request_id(), Some("id0x-1"));

        let bin = SecretContent::Binary(SecretValue::new(vec![0xde, 0xad, 0xbe, 0xef, 0x01]));
        let mut values = RequestValues::new();
        values.add_content(&bin);
        assert_eq!(
            values.sanitise("bad SecretBinary 3q2+7wE=", 100),
            "bad SecretBinary [redacted]="
        );

        let mut values = RequestValues::new();
        values.add_content(&SecretContent::String(SecretValue::from_string("x".into())));
        assert_eq!(
            values.sanitise("exceeds the frequency limit `50`", 100),
            "exceeds the frequency limit `50`",
        );
        assert_eq!(
            values.sanitise("value `x` is invalid", 100),
            "value `[redacted]` is invalid"
        );

        let mut e = transport(TransportKind::HttpStatus {
            status: 502,
            content_type: Some("text/html; x=canary-value-3e8b1d7a\r\nX: y".into()),
            body_len: 3,
        });
        sanitise_error(&mut e, &values_of(CANARY));
        let text = e.to_string();
        assert!(!text.contains("canary") && !text.contains('\r'), "{text}");
    }

    fn values_of(v: &str) -> RequestValues {
        let mut r = RequestValues::new();
        r.add(v);
        r
    }
}
