//! The legacy signature method of Tencent Cloud API 3.0 (`SignatureMethod=HmacSHA256` or
//! `HmacSHA1`): one implementation, used by tests to sign and by the emulator to verify.
//!
//! ssmform itself always signs with TC3-HMAC-SHA256 ([`super::sign`]). The legacy method matters
//! because Tencent's own documentation writes its UpdateSecret example in this form and the official
//! SDKs still offer it (`ClientProfile(signMethod="HmacSHA256")`), so an emulator that official clients
//! cannot tell from the real API has to accept it.
//!
//! Every parameter travels in the query string (GET) or in an `application/x-www-form-urlencoded`
//! body (POST), common ones included (`Action`, `Version`, `Region`, `Timestamp`, `Nonce`, `SecretId`,
//! `SignatureMethod`, `Token`, ...). Nested values are flattened (`Tags.0.TagKey`). The string to sign
//! is
//!
//! ```text
//! METHOD + host + path + "?" + k1=v1&k2=v2&...      (sorted by name, raw values, no `Signature`)
//! ```
//!
//! and `Signature = base64(HMAC(secret_key, string_to_sign))`. Two quirks copied from the Python
//! SDK (`AbstractClient._format_sign_string`), which is what real clients send: values are *not*
//! URL-encoded in the string to sign, and `_` in a parameter name is written as `.` there.

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};

/// The two HMACs the legacy method knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegacyMethod {
    HmacSha1,
    HmacSha256,
}

impl LegacyMethod {
    /// `SignatureMethod` as sent; an absent parameter means HmacSHA1 (the API's default).
    pub fn parse(s: Option<&str>) -> Option<Self> {
        match s {
            None | Some("HmacSHA1") => Some(LegacyMethod::HmacSha1),
            Some("HmacSHA256") => Some(LegacyMethod::HmacSha256),
            Some(_) => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            LegacyMethod::HmacSha1 => "HmacSHA1",
            LegacyMethod::HmacSha256 => "HmacSHA256",
        }
    }
}

/// The string to sign: `METHOD host path ? sorted k=v pairs`, `Signature` left out.
pub fn string_to_sign<K: AsRef<str>, V: AsRef<str>>(
    method: &str,
    host: &str,
    path: &str,
    params: &[(K, V)],
) -> String {
    let mut pairs: Vec<(String, &str)> = params
        .iter()
        .filter(|(k, _)| k.as_ref() != "Signature")
        .map(|(k, v)| (k.as_ref().replace('_', "."), v.as_ref()))
        .collect();
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = String::with_capacity(64 + pairs.len() * 24);
    out.push_str(method);
    out.push_str(host);
    out.push_str(path);
    out.push('?');
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

/// `base64(HMAC(secret_key, string_to_sign))`.
pub fn signature(secret_key: &[u8], string_to_sign: &str, method: LegacyMethod) -> String {
    let mac = match method {
        LegacyMethod::HmacSha1 => {
            let mut m = Hmac::<sha1::Sha1>::new_from_slice(secret_key)
                .expect("HMAC accepts keys of any length");
            m.update(string_to_sign.as_bytes());
            m.finalize().into_bytes().to_vec()
        }
        LegacyMethod::HmacSha256 => {
            let mut m = Hmac::<sha2::Sha256>::new_from_slice(secret_key)
                .expect("HMAC accepts keys of any length");
            m.update(string_to_sign.as_bytes());
            m.finalize().into_bytes().to_vec()
        }
    };
    base64::engine::general_purpose::STANDARD.encode(mac)
}

/// Constant-time comparison of two base64 signatures.
pub fn signatures_equal(a: &str, b: &str) -> bool {
    super::sign::signatures_equal(a, b)
}

/// `application/x-www-form-urlencoded` as Python's `urlencode` writes it: `A-Za-z0-9_.-~` kept,
/// space as `+`, every other byte as upper-case `%XX`.
pub fn form_encode<K: AsRef<str>, V: AsRef<str>>(params: &[(K, V)]) -> String {
    let mut out = String::new();
    for (i, (k, v)) in params.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        encode_component(k.as_ref(), &mut out);
        out.push('=');
        encode_component(v.as_ref(), &mut out);
    }
    out
}

fn encode_component(s: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in s.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => {
                out.push('%');
                out.push(HEX[(b >> 4) as usize] as char);
                out.push(HEX[(b & 15) as usize] as char);
            }
        }
    }
}

/// Why a form-encoded string could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormError {
    #[error("`{0}` is not a valid percent-encoding")]
    Escape(String),
    #[error("the decoded text is not UTF-8")]
    Utf8,
}

/// Decode `a=1&b=x+y` into pairs, in order. `+` is a space; `%XX` a byte; the result must be UTF-8.
/// Empty segments (`a=1&&b=2`) are skipped; a segment without `=` is a name with an empty value.
pub fn form_decode(s: &str) -> Result<Vec<(String, String)>, FormError> {
    let mut out = Vec::new();
    for seg in s.split('&').filter(|seg| !seg.is_empty()) {
        let (k, v) = seg.split_once('=').unwrap_or((seg, ""));
        out.push((decode_component(k)?, decode_component(v)?));
    }
    Ok(out)
}

fn decode_component(s: &str) -> Result<String, FormError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => out.push(b),
                    None => {
                        let end = (i + 3).min(bytes.len());
                        let shown = String::from_utf8_lossy(&bytes[i..end]).into_owned();
                        return Err(FormError::Escape(shown));
                    }
                }
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| FormError::Utf8)
}

/// A request signed with the legacy method, ready to send: the parameters (common ones and
/// `Signature` included) form-encoded, for the query string (GET) or the body (POST).
#[derive(Debug, Clone)]
pub struct LegacySigned {
    pub string_to_sign: String,
    pub signature: String,
    /// All parameters, `Signature` last, form-encoded.
    pub encoded: String,
}

/// Sign `params` (which must already hold every common parameter, `SecretId` and `Timestamp`
/// included) for `METHOD host path`.
pub fn sign(
    http_method: &str,
    host: &str,
    path: &str,
    params: &[(String, String)],
    secret_key: &[u8],
    method: LegacyMethod,
) -> LegacySigned {
    let string_to_sign = string_to_sign(http_method, host, path, params);
    let signature = signature(secret_key, &string_to_sign, method);
    let mut all: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    all.push(("Signature", &signature));
    let encoded = form_encode(&all);
    LegacySigned {
        string_to_sign,
        signature,
        encoded,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example_params() -> Vec<(String, String)> {
        [
            ("Action", "UpdateSecret"),
            ("Nonce", "11886"),
            ("Region", "ap-guangzhou"),
            ("SecretId", "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE"),
            ("SecretName", "test"),
            ("SecretString", "hello world+/="),
            ("SignatureMethod", "HmacSHA256"),
            ("Timestamp", "1465185768"),
            ("Version", "2019-09-23"),
            ("VersionId", "v1.0"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    // Both signatures below were computed with tencentcloud-sdk-python-common 3.1.195's own
    // `Sign.sign(secret_key, string_to_sign, method)` over the string to sign asserted here.
    #[test]
    fn reproduces_the_python_sdk_signatures() {
        let params = example_params();
        let sts = string_to_sign("GET", "ssm.tencentcloudapi.com", "/", &params);
        assert_eq!(
            sts,
            "GETssm.tencentcloudapi.com/?Action=UpdateSecret&Nonce=11886&Region=ap-guangzhou\
             &SecretId=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE&SecretName=test\
             &SecretString=hello world+/=&SignatureMethod=HmacSHA256&Timestamp=1465185768\
             &Version=2019-09-23&VersionId=v1.0"
        );
        let key = b"Gu5t9xGARNpq86cd98joQYCN3EXAMPLE";
        assert_eq!(signature(key, &sts, LegacyMethod::HmacSha256), PY_SHA256);
        assert_eq!(signature(key, &sts, LegacyMethod::HmacSha1), PY_SHA1);
    }

    const PY_SHA256: &str = "6FngPkGc3i2x+UO4ToS61S23POpxJSWUVrdBd8uXg/w=";
    const PY_SHA1: &str = "gUJD1GTUW6q5Hptam269VI68qzc=";

    #[test]
    fn underscores_in_names_are_signed_as_dots() {
        let p = [("A_B", "1"), ("C", "2")];
        assert_eq!(string_to_sign("POST", "h", "/", &p), "POSTh/?A.B=1&C=2");
    }

    #[test]
    fn form_encoding_round_trips_and_matches_python_urlencode() {
        let p = [("SecretString", "a b&c=d/é~_.-"), ("Tags.0.TagKey", "k")];
        let enc = form_encode(&p);
        assert_eq!(enc, "SecretString=a+b%26c%3Dd%2F%C3%A9~_.-&Tags.0.TagKey=k");
        let dec = form_decode(&enc).unwrap();
        assert_eq!(dec[0], ("SecretString".into(), "a b&c=d/é~_.-".into()));
        assert_eq!(dec[1], ("Tags.0.TagKey".into(), "k".into()));
    }

    #[test]
    fn malformed_form_input_is_an_error_not_a_panic() {
        assert!(matches!(form_decode("a=%4"), Err(FormError::Escape(_))));
        assert!(matches!(form_decode("a=%zz"), Err(FormError::Escape(_))));
        assert_eq!(form_decode("a=%ff"), Err(FormError::Utf8));
        assert_eq!(
            form_decode("a&&b=").unwrap(),
            vec![("a".into(), "".into()), ("b".into(), "".into())]
        );
    }

    #[test]
    fn signed_request_carries_every_parameter_and_the_signature() {
        let params = example_params();
        let s = sign(
            "POST",
            "127.0.0.1:9000",
            "/",
            &params,
            b"key",
            LegacyMethod::HmacSha1,
        );
        let dec = form_decode(&s.encoded).unwrap();
        assert_eq!(dec.len(), params.len() + 1);
        assert_eq!(dec.last().unwrap(), &("Signature".to_string(), s.signature));
        assert!(s.string_to_sign.starts_with("POST127.0.0.1:9000/?Action="));
    }

    #[test]
    fn signature_method_names() {
        assert_eq!(LegacyMethod::parse(None), Some(LegacyMethod::HmacSha1));
        assert_eq!(
            LegacyMethod::parse(Some("HmacSHA256")),
            Some(LegacyMethod::HmacSha256)
        );
        assert_eq!(LegacyMethod::parse(Some("hmacsha256")), None);
    }
}
