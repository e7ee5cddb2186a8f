//! Secret contents and keyed fingerprints.
//!
//! Everything that can hold a secret's plaintext in this crate holds it as a [`SecretValue`]: the
//! bytes are zeroized when the value is dropped, there is no `Display`, and `Debug` prints only the
//! length. Code that needs the bytes calls [`SecretValue::expose`], which makes every use greppable.
//!
//! Plans, journals and terminal output identify a value by its [`Fingerprint`]: HMAC-SHA256 under a
//! [`PlanKey`] over the secret's name, version, kind and content. Because the hash is keyed, a reader of
//! a CI log or a plan file cannot test guesses against a fingerprint without also holding the key.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::{Zeroize, Zeroizing};

type HmacSha256 = Hmac<Sha256>;

/// Bytes that must never be printed, logged or written to disk in clear.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue(Zeroizing<Vec<u8>>);

impl SecretValue {
    pub fn new(bytes: Vec<u8>) -> Self {
        SecretValue(Zeroizing::new(bytes))
    }

    pub fn from_string(s: String) -> Self {
        SecretValue(Zeroizing::new(s.into_bytes()))
    }

    /// The plaintext. Every caller is a place where a secret leaves its wrapper: keep them few.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// The plaintext as text, when it is valid UTF-8.
    pub fn expose_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretValue({} bytes)", self.0.len())
    }
}

impl From<String> for SecretValue {
    fn from(s: String) -> Self {
        SecretValue::from_string(s)
    }
}

impl From<Vec<u8>> for SecretValue {
    fn from(v: Vec<u8>) -> Self {
        SecretValue::new(v)
    }
}

/// The content of one secret version: SSM stores either a string or binary data, never both.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum SecretContent {
    /// `SecretString`: text, held as its UTF-8 bytes.
    String(SecretValue),
    /// `SecretBinary`: the decoded bytes (the API carries them as base64 text).
    Binary(SecretValue),
}

/// Which of the two content fields a version uses.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContentKind {
    String,
    Binary,
}

impl ContentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ContentKind::String => "string",
            ContentKind::Binary => "binary",
        }
    }
}

impl fmt::Display for ContentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl SecretContent {
    pub fn kind(&self) -> ContentKind {
        match self {
            SecretContent::String(_) => ContentKind::String,
            SecretContent::Binary(_) => ContentKind::Binary,
        }
    }

    pub fn value(&self) -> &SecretValue {
        match self {
            SecretContent::String(v) | SecretContent::Binary(v) => v,
        }
    }

    /// Size of the content in bytes (decoded bytes for binary content).
    pub fn len(&self) -> usize {
        self.value().len()
    }

    pub fn is_empty(&self) -> bool {
        self.value().is_empty()
    }
}

/// The key under which fingerprints are computed.
///
/// Taken from `SSMFORM_PLAN_KEY` when set (any non-empty string; CI pipelines keep it in their secret
/// store so that plan and apply jobs agree), otherwise derived from the API secret key, which every
/// party able to apply a plan already holds.
#[derive(Clone)]
pub struct PlanKey(Zeroizing<[u8; 32]>);

/// The environment variable that sets the plan key.
pub const PLAN_KEY_ENV: &str = "SSMFORM_PLAN_KEY";

impl PlanKey {
    /// A key from a passphrase (the value of `SSMFORM_PLAN_KEY`).
    pub fn from_passphrase(passphrase: &[u8]) -> Self {
        PlanKey(Zeroizing::new(hmac_sha256(
            b"ssmform plan key v1",
            passphrase,
        )))
    }

    /// A key derived from the API secret key, so that the key itself never appears anywhere.
    pub fn derive_from_api_secret_key(secret_key: &SecretValue) -> Self {
        PlanKey(Zeroizing::new(hmac_sha256(
            secret_key.expose(),
            b"ssmform plan key derived from the API secret key v1",
        )))
    }

    /// The key from `SSMFORM_PLAN_KEY`, if it is set and non-empty.
    pub fn from_env() -> Option<Self> {
        match std::env::var(PLAN_KEY_ENV) {
            Ok(mut v) if !v.is_empty() => {
                let key = PlanKey::from_passphrase(v.as_bytes());
                v.zeroize();
                Some(key)
            }
            Ok(mut v) => {
                v.zeroize();
                None
            }
            Err(_) => None,
        }
    }

    /// `SSMFORM_PLAN_KEY` if set and non-empty, else a key derived from `api_secret_key`.
    pub fn from_env_or_api_key(api_secret_key: &SecretValue) -> Self {
        PlanKey::from_env().unwrap_or_else(|| PlanKey::derive_from_api_secret_key(api_secret_key))
    }

    /// Whether `SSMFORM_PLAN_KEY` is set (for messages that explain where a key came from).
    pub fn env_is_set() -> bool {
        std::env::var_os(PLAN_KEY_ENV).is_some_and(|v| !v.is_empty())
    }

    /// HMAC-SHA256 of `message` under this key. Used for fingerprints and for the MAC of plan files
    /// (callers separate the two uses with distinct prefixes in `message`).
    pub fn mac(&self, message: &[u8]) -> [u8; 32] {
        hmac_sha256(&self.0[..], message)
    }
}

impl fmt::Debug for PlanKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PlanKey(..)")
    }
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// A keyed digest that identifies a secret version's content without revealing it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// The fingerprint of `content` stored as version `version_id` of secret `secret_name`.
    ///
    /// Name and version are part of the input so that two secrets holding the same value do not
    /// show the same fingerprint (which would tell a reader that they are equal).
    pub fn of(key: &PlanKey, secret_name: &str, version_id: &str, content: &SecretContent) -> Self {
        let mut msg = Zeroizing::new(Vec::with_capacity(64 + content.len()));
        msg.extend_from_slice(b"ssmform fingerprint v1\0");
        push_field(&mut msg, secret_name.as_bytes());
        push_field(&mut msg, version_id.as_bytes());
        push_field(&mut msg, content.kind().as_str().as_bytes());
        push_field(&mut msg, content.value().expose());
        Fingerprint(key.mac(&msg))
    }

    /// A fingerprint of an arbitrary labelled value (variable values in saved plans).
    pub fn of_labelled(key: &PlanKey, label: &str, value: &[u8]) -> Self {
        let mut msg = Zeroizing::new(Vec::with_capacity(64 + value.len()));
        msg.extend_from_slice(b"ssmform labelled fingerprint v1\0");
        push_field(&mut msg, label.as_bytes());
        push_field(&mut msg, value);
        Fingerprint(key.mac(&msg))
    }

    /// The 8 hex digits shown to people.
    pub fn short(&self) -> String {
        hex::encode(&self.0[..4])
    }

    /// All 64 hex digits, as written to plan files and journals.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    pub fn from_hex(s: &str) -> Option<Self> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).ok()?;
        Some(Fingerprint(out))
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

fn push_field(buf: &mut Vec<u8>, field: &[u8]) {
    buf.extend_from_slice(&(field.len() as u64).to_be_bytes());
    buf.extend_from_slice(field);
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.short())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({})", self.short())
    }
}

impl serde::Serialize for Fingerprint {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> serde::Deserialize<'de> for Fingerprint {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Fingerprint::from_hex(&s)
            .ok_or_else(|| serde::de::Error::custom("a fingerprint is 64 hexadecimal digits"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CANARY: &str = "canary-7f3e9d1c-do-not-print";

    #[test]
    fn debug_shows_length_only() {
        let v = SecretValue::from_string(CANARY.to_string());
        let shown = format!("{v:?} {:?}", SecretContent::String(v.clone()));
        assert!(!shown.contains(CANARY), "{shown}");
        assert!(
            shown.contains(&format!("{} bytes", CANARY.len())),
            "{shown}"
        );
    }

    #[test]
    fn fingerprint_depends_on_key_name_version_kind_and_content() {
        let k1 = PlanKey::from_passphrase(b"one");
        let k2 = PlanKey::from_passphrase(b"two");
        let s = SecretContent::String(SecretValue::from_string("x".into()));
        let b = SecretContent::Binary(SecretValue::new(b"x".to_vec()));
        let base = Fingerprint::of(&k1, "n", "v1", &s);
        assert_eq!(base, Fingerprint::of(&k1, "n", "v1", &s.clone()));
        assert_ne!(base, Fingerprint::of(&k2, "n", "v1", &s));
        assert_ne!(base, Fingerprint::of(&k1, "m", "v1", &s));
        assert_ne!(base, Fingerprint::of(&k1, "n", "v2", &s));
        assert_ne!(base, Fingerprint::of(&k1, "n", "v1", &b));
        let other = SecretContent::String(SecretValue::from_string("y".into()));
        assert_ne!(base, Fingerprint::of(&k1, "n", "v1", &other));
    }

    #[test]
    fn fields_are_length_prefixed_so_boundaries_cannot_shift() {
        let k = PlanKey::from_passphrase(b"k");
        let a = SecretContent::String(SecretValue::from_string("c".into()));
        assert_ne!(
            Fingerprint::of(&k, "ab", "c", &a),
            Fingerprint::of(&k, "a", "bc", &a)
        );
    }

    #[test]
    fn derived_key_differs_from_passphrase_key_and_never_shows() {
        let api = SecretValue::from_string(CANARY.into());
        let derived = PlanKey::derive_from_api_secret_key(&api);
        let pass = PlanKey::from_passphrase(CANARY.as_bytes());
        assert_ne!(derived.mac(b"m"), pass.mac(b"m"));
        assert_eq!(format!("{derived:?}"), "PlanKey(..)");
    }

    #[test]
    fn hex_round_trip_and_short_form() {
        let k = PlanKey::from_passphrase(b"k");
        let f = Fingerprint::of_labelled(&k, "var.x", b"1");
        assert_eq!(Fingerprint::from_hex(&f.to_hex()), Some(f));
        assert_eq!(f.short().len(), 8);
        assert!(f.to_hex().starts_with(&f.short()));
        let json = serde_json::to_string(&f).unwrap();
        assert_eq!(serde_json::from_str::<Fingerprint>(&json).unwrap(), f);
        assert!(Fingerprint::from_hex("zz").is_none());
    }
}
