//! The Tencent Cloud API client for SSM: TC3 signing, credentials, typed actions and the error
//! classification the executor's retry loop relies on.

pub mod sign;
pub mod sign_legacy;
