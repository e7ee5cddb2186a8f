//! Response envelopes exactly as the real API writes them (docs/ssm-api.md#wire-protocol): HTTP 200
//! and `Content-Type: application/json` for every answer the service processed, errors included.
//!
//! The content type is byte-for-byte `application/json`: the Python SDK ignores an error body whose
//! content type carries `; charset=utf-8` and silently returns an empty result.

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, StatusCode, header};
use serde_json::{Map, Value};

use super::error::ApiError;

pub const JSON: &str = "application/json";

/// A fresh `RequestId`: a random (version 4) UUID, as the API returns.
pub fn request_id() -> String {
    use rand::RngExt;
    let mut b: [u8; 16] = rand::rng().random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// `{"Response": {<fields>, "RequestId": id}}`.
pub fn success_body(mut fields: Map<String, Value>, request_id: &str) -> Vec<u8> {
    fields.insert("RequestId".into(), Value::String(request_id.into()));
    let mut outer = Map::with_capacity(1);
    outer.insert("Response".into(), Value::Object(fields));
    serde_json::to_vec(&Value::Object(outer)).unwrap_or_default()
}

/// `{"Response": {"Error": {"Code", "Message"}, "RequestId": id}}`.
pub fn error_body(err: &ApiError, request_id: &str) -> Vec<u8> {
    let v = serde_json::json!({
        "Response": {
            "Error": {"Code": err.code, "Message": err.message},
            "RequestId": request_id,
        }
    });
    serde_json::to_vec(&v).unwrap_or_default()
}

/// HTTP 200 with `Content-Type: application/json`.
pub fn json_response(body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    r.headers_mut()
        .insert(header::CONTENT_TYPE, header::HeaderValue::from_static(JSON));
    r
}

/// What a gateway in front of the service answers when the service is unreachable: HTTP 502 with
/// an HTML body (failure injection).
pub fn bad_gateway() -> Response<Full<Bytes>> {
    const BODY: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n\
                        <center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n\
                        </body>\r\n</html>\r\n";
    let mut r = Response::new(Full::new(Bytes::from_static(BODY.as_bytes())));
    *r.status_mut() = StatusCode::BAD_GATEWAY;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/html"),
    );
    r
}

/// A plain-text answer for requests that are not API calls (unknown paths).
pub fn plain(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain"),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_v4_uuids() {
        let id = request_id();
        assert_eq!(id.len(), 36);
        let parts: Vec<&str> = id.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'));
        assert_ne!(id, request_id());
    }

    #[test]
    fn envelopes_have_the_api_shape() {
        let mut m = Map::new();
        m.insert("SecretName".into(), "a".into());
        let v: Value = serde_json::from_slice(&success_body(m, "id")).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"Response": {"SecretName": "a", "RequestId": "id"}})
        );
        let e = ApiError::missing("SecretName");
        let v: Value = serde_json::from_slice(&error_body(&e, "id")).unwrap();
        assert_eq!(v["Response"]["Error"]["Code"], "MissingParameter");
        assert_eq!(v["Response"]["RequestId"], "id");
        let r = json_response(vec![]);
        assert_eq!(r.headers()[header::CONTENT_TYPE], "application/json");
    }
}
