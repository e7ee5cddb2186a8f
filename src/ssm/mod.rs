//! The Tencent Cloud API client for SSM: TC3 signing, credentials, typed actions and the error
//! classification the executor's retry loop relies on.
//!
//! - [`sign`]: TC3-HMAC-SHA256, shared with the emulator's verifier.
//! - [`credentials`]: where the SecretId/SecretKey and the region come from.
//! - [`types`]: typed requests and responses, one [`Action`] per API action.
//! - [`error`]: one [`Error`] type, with [`ErrorClass`] for retry decisions.

pub mod credentials;
pub mod error;
pub mod sign;
pub mod types;

/// The public endpoint (nearest region).
pub const DEFAULT_ENDPOINT: &str = "https://ssm.tencentcloudapi.com";
/// `X-TC-Version` of the SSM API.
pub const API_VERSION: &str = "2019-09-23";
/// The service name in the TC3 credential scope.
pub const SERVICE: &str = "ssm";

pub use credentials::{
    CredentialSource, Credentials, CredentialsError, Lookup, Region, RegionError, RegionSource,
};
pub use error::{
    ApiError, CallContext, Error, ErrorClass, TimeoutPhase, TransportError, TransportKind,
};
pub use types::*;
