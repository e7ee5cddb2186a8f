//! TC3-HMAC-SHA256, Tencent Cloud API 3.0's request signature: one implementation, used by the
//! client to sign and by the emulator to verify.
//!
//! The steps are those of docs/ssm-api.md#signing:
//! canonical request → string to sign → signature (HMAC chain from the secret key over date, service
//! and `tc3_request`) → `Authorization` header. A verifier rebuilds the canonical request from
//! whatever headers the client *declares* in `SignedHeaders`, so both the SDKs' `content-type;host`
//! and the newer `content-type;host;x-tc-action` verify.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use crate::clock::utc_date;

/// The algorithm name that opens the string to sign and the `Authorization` header.
pub const ALGORITHM: &str = "TC3-HMAC-SHA256";
/// The last element of the credential scope.
pub const TERMINATOR: &str = "tc3_request";
/// The value of `X-TC-Content-SHA256` that makes the payload hash that of this literal string.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

type HmacSha256 = Hmac<Sha256>;

/// Lower-case hex SHA-256.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

fn hmac(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(msg);
    mac.finalize().into_bytes().into()
}

/// The canonical request.
///
/// `signed` holds the signed headers as (name, value) pairs in any order and any case; names are
/// lower-cased and sorted, values trimmed and lower-cased, as the algorithm requires.
/// `canonical_query` is the URL query for GET (exactly as sent) and `""` for POST.
pub fn canonical_request(
    method: &str,
    canonical_query: &str,
    signed: &[(&str, &str)],
    hashed_payload: &str,
) -> String {
    let mut headers: Vec<(String, String)> = signed
        .iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), v.trim().to_ascii_lowercase()))
        .collect();
    headers.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = String::with_capacity(256);
    out.push_str(method);
    out.push_str("\n/\n");
    out.push_str(canonical_query);
    out.push('\n');
    for (n, v) in &headers {
        out.push_str(n);
        out.push(':');
        out.push_str(v);
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&signed_headers_list(
        headers.iter().map(|(n, _)| n.as_str()),
    ));
    out.push('\n');
    out.push_str(hashed_payload);
    out
}

/// `a;b;c` from header names (lower-cased and sorted here).
pub fn signed_headers_list<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let mut names: Vec<String> = names.into_iter().map(str::to_ascii_lowercase).collect();
    names.sort();
    names.join(";")
}

/// `Date/service/tc3_request`.
pub fn credential_scope(date: &str, service: &str) -> String {
    format!("{date}/{service}/{TERMINATOR}")
}

/// The string to sign.
pub fn string_to_sign(timestamp: i64, scope: &str, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{timestamp}\n{scope}\n{}",
        sha256_hex(canonical_request.as_bytes())
    )
}

/// Hex signature of `string_to_sign` with the key derived from `secret_key`, date and service.
pub fn signature(secret_key: &[u8], date: &str, service: &str, string_to_sign: &str) -> String {
    let mut k = Vec::with_capacity(3 + secret_key.len());
    k.extend_from_slice(b"TC3");
    k.extend_from_slice(secret_key);
    let k_date = hmac(&k, date.as_bytes());
    zeroize::Zeroize::zeroize(&mut k);
    let k_service = hmac(&k_date, service.as_bytes());
    let k_signing = hmac(&k_service, TERMINATOR.as_bytes());
    hex::encode(hmac(&k_signing, string_to_sign.as_bytes()))
}

/// The `Authorization` header value.
pub fn authorization(
    secret_id: &str,
    scope: &str,
    signed_headers: &str,
    signature: &str,
) -> String {
    format!(
        "{ALGORITHM} Credential={secret_id}/{scope}, SignedHeaders={signed_headers}, Signature={signature}"
    )
}

/// Everything a request contributes to its signature.
#[derive(Debug, Clone)]
pub struct RequestToSign<'a> {
    pub method: &'a str,
    /// The query string exactly as sent (GET), or `""` (POST).
    pub query: &'a str,
    /// The signed headers as (name, value); must include `content-type` and `host`.
    pub signed_headers: &'a [(&'a str, &'a str)],
    pub payload: &'a [u8],
    /// True when the request carries `X-TC-Content-SHA256: UNSIGNED-PAYLOAD`.
    pub unsigned_payload: bool,
    pub timestamp: i64,
    pub service: &'a str,
}

/// The intermediate values and the result of signing, kept so tests and the emulator's error
/// messages can show where two sides disagree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    pub canonical_request: String,
    pub string_to_sign: String,
    pub signature: String,
    pub signed_headers: String,
    pub scope: String,
}

impl RequestToSign<'_> {
    pub fn hashed_payload(&self) -> String {
        if self.unsigned_payload {
            sha256_hex(UNSIGNED_PAYLOAD.as_bytes())
        } else {
            sha256_hex(self.payload)
        }
    }

    /// Sign with `secret_key`, using the UTC date of the request's timestamp.
    pub fn sign(&self, secret_key: &[u8]) -> Signed {
        self.sign_with_date(secret_key, &utc_date(self.timestamp))
    }

    /// Sign with an explicit date (a verifier uses the date the client put in its scope).
    pub fn sign_with_date(&self, secret_key: &[u8], date: &str) -> Signed {
        let canonical_request = canonical_request(
            self.method,
            self.query,
            self.signed_headers,
            &self.hashed_payload(),
        );
        let scope = credential_scope(date, self.service);
        let string_to_sign = string_to_sign(self.timestamp, &scope, &canonical_request);
        let signature = signature(secret_key, date, self.service, &string_to_sign);
        Signed {
            canonical_request,
            string_to_sign,
            signature,
            signed_headers: signed_headers_list(self.signed_headers.iter().map(|(n, _)| *n)),
            scope,
        }
    }
}

impl Signed {
    pub fn authorization(&self, secret_id: &str) -> String {
        authorization(
            secret_id,
            &self.scope,
            &self.signed_headers,
            &self.signature,
        )
    }
}

/// A parsed `Authorization: TC3-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub secret_id: String,
    pub date: String,
    pub service: String,
    pub terminator: String,
    /// Lower-case names in the order the client listed them.
    pub signed_headers: Vec<String>,
    pub signature: String,
}

/// Why an `Authorization` header could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthorizationError {
    #[error("the Authorization header does not start with {ALGORITHM}")]
    Algorithm,
    #[error("the Authorization header has no {0}= element")]
    Missing(&'static str),
    #[error("the Authorization header's Credential is not SecretId/Date/service/tc3_request")]
    Credential,
}

impl Authorization {
    pub fn parse(header: &str) -> Result<Self, AuthorizationError> {
        let rest = header
            .trim()
            .strip_prefix(ALGORITHM)
            .filter(|r| r.starts_with(' '))
            .ok_or(AuthorizationError::Algorithm)?;
        let (mut credential, mut signed, mut signature) = (None, None, None);
        for part in rest.split(',') {
            let part = part.trim();
            if let Some(v) = part.strip_prefix("Credential=") {
                credential = Some(v);
            } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
                signed = Some(v);
            } else if let Some(v) = part.strip_prefix("Signature=") {
                signature = Some(v);
            }
        }
        let credential = credential.ok_or(AuthorizationError::Missing("Credential"))?;
        let signed = signed.ok_or(AuthorizationError::Missing("SignedHeaders"))?;
        let signature = signature.ok_or(AuthorizationError::Missing("Signature"))?;
        // The SecretId itself cannot contain '/', so split from the right.
        let mut it = credential.rsplitn(4, '/');
        let (terminator, service, date, secret_id) =
            match (it.next(), it.next(), it.next(), it.next()) {
                (Some(t), Some(s), Some(d), Some(id)) if !id.is_empty() => (t, s, d, id),
                _ => return Err(AuthorizationError::Credential),
            };
        Ok(Authorization {
            secret_id: secret_id.to_string(),
            date: date.to_string(),
            service: service.to_string(),
            terminator: terminator.to_string(),
            signed_headers: signed
                .split(';')
                .filter(|s| !s.is_empty())
                .map(str::to_ascii_lowercase)
                .collect(),
            signature: signature.to_string(),
        })
    }
}

/// Constant-time comparison of two signatures (hex strings).
pub fn signatures_equal(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
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
        date: String,
        method: String,
        query: String,
        content_type: String,
        payload: String,
        signed_headers: String,
        action: Option<String>,
        hashed_payload: String,
        canonical_request: String,
        string_to_sign: String,
        signature: String,
        authorization: String,
    }

    fn vectors() -> Vec<Vector> {
        let text = include_str!("../../tests/data/tc3-test-vectors.json");
        serde_json::from_str(text).expect("test vectors parse")
    }

    #[test]
    fn every_official_vector_is_reproduced() {
        let vectors = vectors();
        assert_eq!(vectors.len(), 6, "all six vectors are exercised");
        for v in vectors {
            let mut headers = vec![
                ("Content-Type", v.content_type.as_str()),
                ("Host", v.host.as_str()),
            ];
            if let Some(action) = &v.action {
                headers.push(("X-TC-Action", action.as_str()));
            }
            let req = RequestToSign {
                method: &v.method,
                query: &v.query,
                signed_headers: &headers,
                payload: v.payload.as_bytes(),
                unsigned_payload: false,
                timestamp: v.timestamp,
                service: &v.service,
            };
            assert_eq!(req.hashed_payload(), v.hashed_payload, "{}", v.name);
            let signed = req.sign(v.secret_key.as_bytes());
            assert_eq!(utc_date(v.timestamp), v.date, "{}", v.name);
            assert_eq!(signed.canonical_request, v.canonical_request, "{}", v.name);
            assert_eq!(signed.string_to_sign, v.string_to_sign, "{}", v.name);
            assert_eq!(signed.signature, v.signature, "{}", v.name);
            assert_eq!(signed.signed_headers, v.signed_headers, "{}", v.name);
            assert_eq!(
                signed.authorization(&v.secret_id),
                v.authorization,
                "{}",
                v.name
            );

            let parsed = Authorization::parse(&v.authorization).unwrap();
            assert_eq!(parsed.secret_id, v.secret_id);
            assert_eq!(parsed.date, v.date);
            assert_eq!(parsed.service, v.service);
            assert_eq!(parsed.terminator, TERMINATOR);
            assert_eq!(parsed.signed_headers.join(";"), v.signed_headers);
            assert_eq!(parsed.signature, v.signature);
        }
    }

    #[test]
    fn header_order_and_case_do_not_change_the_signature() {
        let a = [("Host", "h"), ("content-type", "application/json")];
        let b = [("content-type", "APPLICATION/JSON"), ("HOST", " h ")];
        let req = |h: &'static [(&'static str, &'static str)]| RequestToSign {
            method: "POST",
            query: "",
            signed_headers: h,
            payload: b"{}",
            unsigned_payload: false,
            timestamp: 1,
            service: "ssm",
        };
        let a: &'static [(&str, &str)] = Box::leak(Box::new(a));
        let b: &'static [(&str, &str)] = Box::leak(Box::new(b));
        assert_eq!(req(a).sign(b"k"), req(b).sign(b"k"));
    }

    #[test]
    fn unsigned_payload_hashes_the_literal() {
        let req = RequestToSign {
            method: "POST",
            query: "",
            signed_headers: &[("content-type", "application/json"), ("host", "h")],
            payload: b"{\"a\":1}",
            unsigned_payload: true,
            timestamp: 1,
            service: "ssm",
        };
        assert_eq!(req.hashed_payload(), sha256_hex(b"UNSIGNED-PAYLOAD"));
    }

    #[test]
    fn malformed_authorization_headers_are_rejected() {
        assert_eq!(
            Authorization::parse("HMAC Credential=a/b/c/d"),
            Err(AuthorizationError::Algorithm)
        );
        assert_eq!(
            Authorization::parse("TC3-HMAC-SHA256 SignedHeaders=host, Signature=ab"),
            Err(AuthorizationError::Missing("Credential"))
        );
        assert_eq!(
            Authorization::parse(
                "TC3-HMAC-SHA256 Credential=a/b/c, SignedHeaders=host, Signature=ab"
            ),
            Err(AuthorizationError::Credential)
        );
        assert_eq!(
            Authorization::parse("TC3-HMAC-SHA256 Credential=id/d/ssm/tc3_request, Signature=ab"),
            Err(AuthorizationError::Missing("SignedHeaders"))
        );
        assert_eq!(
            Authorization::parse("TC3-HMAC-SHA256Credential=id/d/ssm/tc3_request"),
            Err(AuthorizationError::Algorithm)
        );
    }

    #[test]
    fn signature_comparison() {
        assert!(signatures_equal("abc", "abc"));
        assert!(!signatures_equal("abc", "abd"));
        assert!(!signatures_equal("abc", "ab"));
    }
}
