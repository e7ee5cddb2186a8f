//! Putting one request together: [`RequestSpec`] (everything but the body), the signed
//! [`SignedRequest`] that [`build_signed_request`] makes of it, and the values of the headers the
//! client sets ([`Language`], [`default_request_client`]).
//!
//! Every call is `POST /` with the action's JSON body and the common parameters in headers
//! (docs/ssm-api.md#wire-protocol): `Content-Type: application/json` exactly, `Host`,
//! `X-TC-Action`, `X-TC-Version: 2019-09-23`, `X-TC-Region` (omitted when empty, as the SDKs do),
//! `X-TC-Timestamp`, `X-TC-Token` for temporary credentials, `X-TC-Language` and
//! `X-TC-RequestClient`, signed with TC3-HMAC-SHA256 over `content-type;host;x-tc-action`.
//!
//! [`build_signed_request`] is the one place a request is put together; the typed methods of
//! [`Client`] use it and tests use it directly to send expired or tampered requests.

use std::fmt;

use zeroize::{Zeroize, Zeroizing};

use crate::ssm::SERVICE;
use crate::ssm::credentials::Credentials;
use crate::ssm::endpoint::Endpoint;
use crate::ssm::sign::RequestToSign;
#[cfg(doc)]
use crate::ssm::{API_VERSION, Client};

/// The signed headers (the SDKs sign `content-type;host`; newer documentation adds the action).
pub const SIGNED_HEADERS: &str = "content-type;host;x-tc-action";

/// `X-TC-RequestClient`: the API accepts only `[0-9a-zA-Z-_ ,;.]` there, so no `/`.
/// `User-Agent` carries the conventional `ssmform/<version>`.
pub fn default_request_client() -> String {
    format!("ssmform_{}", env!("CARGO_PKG_VERSION"))
}

/// Language of the API's messages (`X-TC-Language`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    EnUs,
    ZhCn,
}

impl Language {
    pub fn as_str(self) -> &'static str {
        match self {
            Language::EnUs => "en-US",
            Language::ZhCn => "zh-CN",
        }
    }
}

/// A request ready to send: method, URL, headers (in sending order, `Authorization` included) and
/// body. Tests may alter any part before sending it with [`Client::send`] or [`Client::send_json`].
///
/// `Debug` shows the body's length only and hides the signature and the token.
pub struct SignedRequest {
    /// Always `POST`.
    pub method: &'static str,
    pub url: String,
    /// (name, value) pairs; names in canonical capitalisation (`Content-Type`, `X-TC-Action`...).
    pub headers: Vec<(String, String)>,
    pub body: Zeroizing<Vec<u8>>,
    /// The action, for logs and errors.
    pub action: String,
    /// For logs and errors.
    pub secret_name: Option<String>,
    pub version_id: Option<String>,
}

impl SignedRequest {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Replace (or add) the header `name`.
    pub fn set_header(&mut self, name: &str, value: impl Into<String>) {
        let value = value.into();
        match self
            .headers
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some(slot) => slot.1 = value,
            None => self.headers.push((name.to_string(), value)),
        }
    }

    /// Remove every header named `name`.
    pub fn remove_header(&mut self, name: &str) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }
}

impl Drop for SignedRequest {
    /// The token is a credential and the signature a replayable proof: wipe both.
    fn drop(&mut self) {
        for (name, value) in &mut self.headers {
            if name.eq_ignore_ascii_case("x-tc-token") || name.eq_ignore_ascii_case("authorization")
            {
                value.zeroize();
            }
        }
    }
}

impl fmt::Debug for SignedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(n, v)| {
                let shown = if n.eq_ignore_ascii_case("x-tc-token") {
                    "<redacted>"
                } else if n.eq_ignore_ascii_case("authorization") {
                    // The credential scope and signed headers help debugging; the signature is a
                    // replayable proof for five minutes, so it is cut.
                    v.split(", Signature=").next().unwrap_or("")
                } else {
                    v.as_str()
                };
                (n.as_str(), shown)
            })
            .collect();
        f.debug_struct("SignedRequest")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("headers", &headers)
            .field("body", &format_args!("{} bytes", self.body.len()))
            .finish()
    }
}

/// Everything besides the body that goes into a signed request.
#[derive(Debug, Clone, Copy)]
pub struct RequestSpec<'a> {
    pub endpoint: &'a Endpoint,
    /// `""` omits `X-TC-Region`.
    pub region: &'a str,
    /// `X-TC-Action`.
    pub action: &'a str,
    /// `X-TC-Version`, normally [`API_VERSION`].
    pub version: &'a str,
    /// `X-TC-Timestamp` (Unix seconds); also picks the date of the credential scope.
    pub timestamp: i64,
    pub credentials: &'a Credentials,
    /// `X-TC-RequestClient`; omitted when empty.
    pub request_client: &'a str,
    /// `X-TC-Language`; omitted when `None`.
    pub language: Option<Language>,
}

/// Build the signed `POST /` request for `spec` with `body`: all the headers listed in the module
/// documentation and an `Authorization` header signing `content-type;host;x-tc-action` of this
/// exact body at `spec.timestamp`. The typed methods of [`Client`] use this function; tests use it
/// to produce requests with old timestamps, other versions, unknown actions or tampered bodies.
pub fn build_signed_request(spec: &RequestSpec<'_>, body: Zeroizing<Vec<u8>>) -> SignedRequest {
    const CONTENT_TYPE: &str = "application/json";
    let host = spec.endpoint.host();
    let signed = RequestToSign {
        method: "POST",
        query: "",
        signed_headers: &[
            ("content-type", CONTENT_TYPE),
            ("host", host),
            ("x-tc-action", spec.action),
        ],
        payload: &body,
        unsigned_payload: false,
        timestamp: spec.timestamp,
        service: SERVICE,
    }
    .sign(spec.credentials.secret_key.expose());
    debug_assert_eq!(signed.signed_headers, SIGNED_HEADERS);

    let mut headers = Vec::with_capacity(10);
    let mut push = |n: &str, v: &str| headers.push((n.to_string(), v.to_string()));
    push("Content-Type", CONTENT_TYPE);
    push("Host", host);
    push("X-TC-Action", spec.action);
    push("X-TC-Version", spec.version);
    if !spec.region.is_empty() {
        push("X-TC-Region", spec.region);
    }
    push("X-TC-Timestamp", &spec.timestamp.to_string());
    if let Some(token) = &spec.credentials.token {
        // A token is text (STS issues ASCII); anything else would not survive as a header anyway.
        push("X-TC-Token", &String::from_utf8_lossy(token.expose()));
    }
    if let Some(language) = spec.language {
        push("X-TC-Language", language.as_str());
    }
    if !spec.request_client.is_empty() {
        push("X-TC-RequestClient", spec.request_client);
    }
    push(
        "Authorization",
        &signed.authorization(&spec.credentials.secret_id),
    );
    SignedRequest {
        method: "POST",
        url: spec.endpoint.url().to_string(),
        headers,
        body,
        action: spec.action.to_string(),
        secret_name: None,
        version_id: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::SecretValue;
    use crate::ssm::API_VERSION;
    use crate::ssm::test_support::{KEY_CANARY, SECRET_ID, TOKEN_CANARY, creds, verify};

    #[test]
    fn signed_request_has_every_header_and_a_verifiable_signature() {
        let endpoint = Endpoint::parse("http://127.0.0.1:9000").unwrap();
        let credentials = creds();
        let spec = RequestSpec {
            endpoint: &endpoint,
            region: "ap-guangzhou",
            action: "UpdateSecret",
            version: API_VERSION,
            timestamp: 1_700_000_000,
            credentials: &credentials,
            request_client: "ssmform_0.1.0",
            language: Some(Language::EnUs),
        };
        let body = br#"{"SecretName":"a","VersionId":"v1","SecretString":"x"}"#;
        let req = build_signed_request(&spec, Zeroizing::new(body.to_vec()));
        assert_eq!(req.method, "POST");
        assert_eq!(req.url, "http://127.0.0.1:9000/");
        assert_eq!(req.body.as_slice(), body);
        for (name, value) in [
            ("Content-Type", "application/json"),
            ("Host", "127.0.0.1:9000"),
            ("X-TC-Action", "UpdateSecret"),
            ("X-TC-Version", "2019-09-23"),
            ("X-TC-Region", "ap-guangzhou"),
            ("X-TC-Timestamp", "1700000000"),
            ("X-TC-Token", TOKEN_CANARY),
            ("X-TC-Language", "en-US"),
            ("X-TC-RequestClient", "ssmform_0.1.0"),
        ] {
            assert_eq!(req.header(name), Some(value), "{name}");
        }
        let auth = verify(&req.headers, &req.body, KEY_CANARY);
        assert_eq!(auth.secret_id, SECRET_ID);
        assert_eq!(auth.date, "2023-11-14");
        assert_eq!(auth.service, "ssm");
        assert_eq!(auth.signed_headers.join(";"), SIGNED_HEADERS);

        let shown = format!("{req:?}");
        assert!(!shown.contains(TOKEN_CANARY), "{shown}");
        assert!(!shown.contains(&auth.signature), "{shown}");
        assert!(!shown.contains("SecretString"), "{shown}");
        assert!(shown.contains(&format!("{} bytes", body.len())), "{shown}");
    }

    #[test]
    fn empty_region_and_absent_token_omit_their_headers() {
        let endpoint = Endpoint::parse("https://ssm.tencentcloudapi.com").unwrap();
        let credentials = Credentials::new(SECRET_ID, SecretValue::from_string("k".into()));
        let spec = RequestSpec {
            endpoint: &endpoint,
            region: "",
            action: "ListSecrets",
            version: API_VERSION,
            timestamp: 1,
            credentials: &credentials,
            request_client: "",
            language: None,
        };
        let req = build_signed_request(&spec, Zeroizing::new(b"{}".to_vec()));
        for absent in [
            "X-TC-Region",
            "X-TC-Token",
            "X-TC-Language",
            "X-TC-RequestClient",
        ] {
            assert_eq!(req.header(absent), None, "{absent}");
        }
        assert_eq!(req.header("host"), Some("ssm.tencentcloudapi.com"));
        verify(&req.headers, &req.body, "k");
    }
}
