//! Test helpers shared by the request and client tests: credentials whose key and token are
//! canaries to look for in output, and a server-side check of a request's TC3 signature.

use crate::secret::SecretValue;
use crate::ssm::credentials::{CredentialSource, Credentials};
use crate::ssm::sign::{self, Authorization, RequestToSign};

pub(super) const KEY_CANARY: &str = "canary-secret-key-0c4f2b";
pub(super) const TOKEN_CANARY: &str = "canary-token-77e1aa";
pub(super) const SECRET_ID: &str = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE";

pub(super) fn creds() -> Credentials {
    Credentials::new(SECRET_ID, SecretValue::from_string(KEY_CANARY.into()))
        .with_token(SecretValue::from_string(TOKEN_CANARY.into()))
        .with_source(CredentialSource::Environment {
            token_var: Some("TENCENTCLOUD_TOKEN"),
        })
}

/// Verify a request's TC3 signature the way a server does: parse the header, rebuild the
/// canonical request from the declared signed headers and the body, recompute.
pub(super) fn verify(headers: &[(String, String)], body: &[u8], key: &str) -> Authorization {
    let get = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no {name} header"))
    };
    let auth = Authorization::parse(get("authorization")).unwrap();
    let signed: Vec<(&str, &str)> = auth
        .signed_headers
        .iter()
        .map(|n| (n.as_str(), get(n)))
        .collect();
    let timestamp: i64 = get("x-tc-timestamp").parse().unwrap();
    let recomputed = RequestToSign {
        method: "POST",
        query: "",
        signed_headers: &signed,
        payload: body,
        unsigned_payload: false,
        timestamp,
        service: &auth.service,
    }
    .sign_with_date(key.as_bytes(), &auth.date);
    assert!(
        sign::signatures_equal(&recomputed.signature, &auth.signature),
        "signature does not verify"
    );
    assert!(
        recomputed
            .canonical_request
            .ends_with(&sign::sha256_hex(body)),
        "the payload hash is that of the body"
    );
    auth
}
