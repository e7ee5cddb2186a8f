//! The Tencent Cloud API client for SSM: TC3 signing, credentials, typed actions and the error
//! classification the executor's retry loop relies on.
//!
//! - [`sign`]: TC3-HMAC-SHA256, shared with the emulator's verifier.
//! - [`credentials`]: where the SecretId/SecretKey and the region come from.
//! - [`sources`]: the credential lookup order, temporary credentials included; [`sts`] (AssumeRole,
//!   AssumeRoleWithWebIdentity) and [`metadata`] (the CVM instance role) fetch those, and
//!   [`refresh`]'s [`CredentialsProvider`] renews them before they expire.
//! - [`trust`]: which hosts may receive credentials (`*.tencentcloudapi.com`, loopback, the
//!   metadata host, and what `SSMFORM_ALLOWED_ENDPOINTS` adds).
//! - [`types`]: typed requests and responses, one [`Action`] per API action.
//! - [`endpoint`]: where requests go ([`Endpoint`]).
//! - [`request`]: one signed request, put together by [`build_signed_request`].
//! - [`client`]: the async HTTP client ([`Client`]): sends requests, reads and classifies answers.
//! - [`error`]: one [`Error`] type, with [`ErrorClass`] for retry decisions.
//! - [`sanitise`]: text from the server made safe to show: request values removed in any form,
//!   no control characters or escape sequences.
//! - [`rates`], [`limiter`], [`control`], [`retry`]: pacing and retries: per-action limits, the
//!   sliding window and requests in flight, the controller that reads throttles, and the [`Pacer`]
//!   every call goes through (docs/pacing.md).
//!
//! [`Pacer`]: retry::Pacer
//!
//! A minimal call:
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use ssmform::ssm::{Client, ClientConfig, Credentials, GetSecretValueRequest};
//! let credentials = Credentials::from_environment(None)?;
//! let client = Client::new(ClientConfig::new("http://127.0.0.1:9000", "ap-guangzhou"), credentials)?;
//! let value = client
//!     .get_secret_value(&GetSecretValueRequest { secret_name: "app".into(), version_id: "v1".into() })
//!     .await?;
//! println!("{} bytes", value.content.len());
//! # Ok(()) }
//! ```

pub mod client;
pub mod control;
pub mod credentials;
pub mod endpoint;
pub mod error;
pub mod limiter;
pub mod metadata;
pub mod rates;
pub mod refresh;
pub mod request;
pub mod retry;
pub mod sanitise;
pub mod sign;
pub mod sign_legacy;
#[cfg(test)]
mod sim;
pub mod sources;
pub mod sts;
#[cfg(test)]
mod test_support;
pub mod trust;
pub mod types;

/// The public endpoint (nearest region).
pub const DEFAULT_ENDPOINT: &str = "https://ssm.tencentcloudapi.com";
/// `X-TC-Version` of the SSM API.
pub const API_VERSION: &str = "2019-09-23";
/// The service name in the TC3 credential scope.
pub const SERVICE: &str = "ssm";

pub use client::{
    Client, ClientConfig, ConfigError, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_READ_TIMEOUT, DEFAULT_REQUEST_TIMEOUT, LIST_PAGE_SIZE,
};
pub use credentials::{
    CredentialSource, Credentials, CredentialsError, Lookup, Region, RegionError, RegionSource,
};
pub use endpoint::Endpoint;
pub use error::{
    ApiError, CallContext, Error, ErrorClass, InvalidRequest, TimeoutPhase, TransportError,
    TransportKind, classify_code, parse_throttle_limit,
};
pub use refresh::{CredentialsProvider, FetchError};
pub use request::{
    Language, RequestSpec, SIGNED_HEADERS, SignedRequest, build_signed_request,
    default_request_client,
};
pub use sources::{CredentialSettings, ResolveError};
pub use types::*;
