//! The CVM metadata service's instance-role paths, served on the emulator's port
//! (docs/ssm-api.md#cvm-metadata):
//!
//! - `GET /latest/meta-data/cam/security-credentials/` → the bound role's name (`text/plain`), or
//!   HTTP 404 when no role is bound (`--no-instance-role`);
//! - `GET /latest/meta-data/cam/security-credentials/<role>` → `{"TmpSecretId", "TmpSecretKey",
//!   "ExpiredTime", "Expiration", "Token", "Code": "Success"}` (`application/json`), fresh
//!   temporary keys from the emulated STS's store; HTTP 404 for any other role.
//!
//! Every other path under `/latest/meta-data/` answers 404, and methods other than GET 405.

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Method, Response, StatusCode, header};

use super::sts::{METADATA, Sts};

/// Everything below this path is the metadata service.
pub const PREFIX: &str = "/latest/meta-data/";
/// The instance-role credentials.
pub const ROLE_PATH: &str = "/latest/meta-data/cam/security-credentials/";

fn text(status: StatusCode, content_type: &'static str, body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    r
}

fn not_found() -> Response<Full<Bytes>> {
    text(StatusCode::NOT_FOUND, "text/plain", b"Not found\n".to_vec())
}

/// Answer one metadata request.
pub fn handle(sts: &Sts, method: &Method, path: &str) -> Response<Full<Bytes>> {
    if method != Method::GET {
        return text(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain",
            b"Only GET is served\n".to_vec(),
        );
    }
    let Some(role) = path.strip_prefix(ROLE_PATH) else {
        return not_found();
    };
    if role.is_empty() {
        return match sts.instance_role() {
            Some(name) => text(StatusCode::OK, "text/plain", name.as_bytes().to_vec()),
            None => not_found(),
        };
    }
    match sts.instance_credentials(role, crate::clock::unix_now()) {
        Some(body) => {
            sts.record(METADATA, true);
            text(StatusCode::OK, "application/json", body)
        }
        None => {
            sts.record(METADATA, false);
            not_found()
        }
    }
}
