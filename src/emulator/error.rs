//! The errors the emulator answers with: a Tencent Cloud error code and a message, turned into the
//! `{"Response": {"Error": {"Code", "Message"}, "RequestId"}}` envelope by [`super::response`].
//!
//! Codes are the API's stable interface (docs/ssm-api.md#wire-protocol: messages are not), so the
//! codes live here as constants and every rejection names one of them. Messages follow Tencent's
//! English style (back-quoted names, a full sentence) and never contain a secret value.

/// Error codes, exactly as the API spells them (docs/ssm-api.md#error-codes).
pub mod code {
    pub const AUTH_SIGNATURE_FAILURE: &str = "AuthFailure.SignatureFailure";
    pub const AUTH_SIGNATURE_EXPIRE: &str = "AuthFailure.SignatureExpire";
    pub const AUTH_SECRET_ID_NOT_FOUND: &str = "AuthFailure.SecretIdNotFound";
    pub const AUTH_INVALID_AUTHORIZATION: &str = "AuthFailure.InvalidAuthorization";
    pub const AUTH_TOKEN_FAILURE: &str = "AuthFailure.TokenFailure";
    pub const UNAUTHORIZED_OPERATION: &str = "UnauthorizedOperation";
    pub const ROLE_NOT_FOUND: &str = "ResourceNotFound.RoleNotFound";
    pub const WEB_IDENTITY_TOKEN_ERROR: &str = "InvalidParameter.WebIdentityTokenError";
    pub const PARAM_ERROR: &str = "InvalidParameter.ParamError";
    pub const INVALID_ACTION: &str = "InvalidAction";
    pub const NO_SUCH_VERSION: &str = "NoSuchVersion";
    pub const REQUEST_LIMIT_EXCEEDED: &str = "RequestLimitExceeded";
    pub const REQUEST_SIZE_LIMIT_EXCEEDED: &str = "RequestSizeLimitExceeded";
    pub const UNSUPPORTED_REGION: &str = "UnsupportedRegion";
    pub const UNSUPPORTED_PROTOCOL: &str = "UnsupportedProtocol";
    pub const UNSUPPORTED_OPERATION: &str = "UnsupportedOperation";
    pub const INTERNAL_ERROR: &str = "InternalError";
    pub const INVALID_PARAMETER: &str = "InvalidParameter";
    pub const INVALID_PARAMETER_VALUE: &str = "InvalidParameterValue";
    pub const MISSING_PARAMETER: &str = "MissingParameter";
    pub const UNKNOWN_PARAMETER: &str = "UnknownParameter";
    pub const FAILED_OPERATION: &str = "FailedOperation";
    pub const LIMIT_EXCEEDED: &str = "LimitExceeded";
    pub const RESOURCE_NOT_FOUND: &str = "ResourceNotFound";
    pub const RESOURCE_IN_USE_SECRET_EXISTS: &str = "ResourceInUse.SecretExists";
    pub const RESOURCE_IN_USE_VERSION_ID_EXISTS: &str = "ResourceInUse.VersionIdExists";
    pub const RESOURCE_DISABLED: &str = "ResourceUnavailable.ResourceDisabled";
    pub const RESOURCE_PENDING_DELETED: &str = "ResourceUnavailable.ResourcePendingDeleted";
}

/// A rejected request: the code and message the client will see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
        }
    }

    pub fn missing(param: &str) -> Self {
        Self::new(
            code::MISSING_PARAMETER,
            format!("The request is missing a required parameter `{param}`."),
        )
    }

    pub fn invalid_value(param: &str, why: impl std::fmt::Display) -> Self {
        Self::new(
            code::INVALID_PARAMETER_VALUE,
            format!("The value of parameter `{param}` is invalid: {why}."),
        )
    }

    pub fn invalid_type(param: &str, expected: &str) -> Self {
        Self::new(
            code::INVALID_PARAMETER,
            format!("The parameter `{param}` must be {expected}."),
        )
    }

    pub fn secret_not_found(name: &str) -> Self {
        Self::new(
            code::RESOURCE_NOT_FOUND,
            format!("The secret `{name}` does not exist."),
        )
    }

    pub fn internal(what: impl std::fmt::Display) -> Self {
        Self::new(
            code::INTERNAL_ERROR,
            format!("An internal error occurred in the emulator: {what}."),
        )
    }

    /// Tencent's throttle message: "Your current request times equals to `51` in a second, which
    /// exceeds the frequency limit `50`".
    pub fn throttled(current: u64, limit: u32) -> Self {
        Self::new(
            code::REQUEST_LIMIT_EXCEEDED,
            format!(
                "Your current request times equals to `{current}` in a second, which exceeds the frequency limit `{limit}`."
            ),
        )
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for ApiError {}
