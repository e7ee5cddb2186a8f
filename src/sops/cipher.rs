//! The value cipher: `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]` strings, AES-256-GCM with a
//! 32-byte IV and the value's key path (`a:b:c:`) as additional data, as sops' `aes/cipher.go`.
//!
//! Decryption returns the value with its recorded type, its text made canonical (what sops'
//! `ToBytes` hashes); empty strings are never encrypted, in either direction.

use aes_gcm::aead::consts::{U12, U32};
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::aes::Aes256;
use aes_gcm::{AesGcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::RngExt;
use zeroize::Zeroizing;

use crate::secret::SecretValue;

use super::tree::ScalarType;
use super::value;

type Gcm32 = AesGcm<Aes256, U32>;
type Gcm12 = AesGcm<Aes256, U12>;

/// A 256-bit data key. Zeroized on drop; `Debug` shows nothing.
#[derive(Clone)]
pub struct DataKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(..)")
    }
}

impl DataKey {
    /// A new random key (the thread CSPRNG, seeded from the operating system).
    pub fn generate() -> Self {
        DataKey(Zeroizing::new(rand::rng().random()))
    }

    /// A key from exactly 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let arr: [u8; 32] = bytes.try_into().ok()?;
        Some(DataKey(Zeroizing::new(arr)))
    }

    pub(crate) fn expose(&self) -> &[u8; 32] {
        &self.0
    }
}

/// What a decrypted `ENC[...]` string held.
#[derive(Debug)]
pub enum Plain {
    Value(ScalarType, SecretValue),
    Comment(SecretValue),
}

/// Why an `ENC[...]` string could not be decrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CipherError {
    /// Not of sops' format, or a part that does not decode; the reason names the part.
    Malformed(String),
    /// The GCM tag did not verify.
    Authentication,
}

fn enc_regex() -> &'static regex::Regex {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(r"^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]")
            .expect("the ENC pattern compiles")
    })
}

/// The four groups of sops' pattern (data, iv, tag, type) in `text`, as the regular expression
/// captures them. A value sops wrote has each separator once (base64 has no `,`), and then the
/// groups are found by splitting, which is several times faster than the regular expression (a
/// SOPS file of 10,000 values spent a third of its decryption time there); anything else goes to
/// the regular expression itself.
fn enc_fields(text: &str) -> Option<[&str; 4]> {
    // `.` does not match a line feed: the whole match lies on the first line.
    let line = text.split('\n').next().unwrap_or_default();
    if let Some(rest) = line.strip_prefix("ENC[AES256_GCM,data:")
        && rest.matches(",iv:").count() == 1
        && rest.matches(",tag:").count() == 1
        && rest.matches(",type:").count() == 1
    {
        let (data, rest) = rest.split_once(",iv:")?;
        let (iv, rest) = rest.split_once(",tag:")?;
        let (tag, rest) = rest.split_once(",type:")?;
        // Greedy: the type runs to the last `]`.
        let ty = &rest[..rest.rfind(']')?];
        return [data, iv, tag, ty]
            .iter()
            .all(|g| !g.is_empty())
            .then_some([data, iv, tag, ty]);
    }
    let caps = enc_regex().captures(text)?;
    let group = |i: usize| caps.get(i).map_or("", |m| m.as_str());
    Some([group(1), group(2), group(3), group(4)])
}

/// Whether `s` has the shape of an encrypted value (sops' pattern, anchored at the start).
pub fn looks_encrypted(s: &[u8]) -> bool {
    std::str::from_utf8(s).is_ok_and(|s| enc_regex().is_match(s))
}

/// Decrypt `ciphertext` under `key` with `additional_data`. An empty string decrypts to an empty
/// string, as in sops.
pub fn decrypt(
    ciphertext: &[u8],
    key: &DataKey,
    additional_data: &str,
) -> Result<Plain, CipherError> {
    if ciphertext.is_empty() {
        return Ok(Plain::Value(ScalarType::Str, SecretValue::new(Vec::new())));
    }
    let text = std::str::from_utf8(ciphertext)
        .map_err(|_| CipherError::Malformed("it is not UTF-8 text".into()))?;
    let caps = enc_fields(text).ok_or_else(|| {
        CipherError::Malformed(
            "it does not match ENC[AES256_GCM,data:...,iv:...,tag:...,type:...]".into(),
        )
    })?;
    let part = |i: usize, name: &str| {
        STANDARD
            .decode(caps[i])
            .map_err(|e| CipherError::Malformed(format!("its {name} is not base64 ({e})")))
    };
    let data = Zeroizing::new(part(0, "data")?);
    let iv = part(1, "iv")?;
    let tag = part(2, "tag")?;
    let ty = caps[3].to_string();
    if tag.len() != 16 {
        return Err(CipherError::Malformed(format!(
            "its tag is {} bytes, not 16",
            tag.len()
        )));
    }
    let mut sealed = Zeroizing::new(Vec::with_capacity(data.len() + 16));
    sealed.extend_from_slice(&data);
    sealed.extend_from_slice(&tag);
    let payload = Payload {
        msg: &sealed,
        aad: additional_data.as_bytes(),
    };
    let plain = match iv.len() {
        32 => Gcm32::new(key.expose().into()).decrypt(Nonce::<U32>::from_slice(&iv), payload),
        12 => Gcm12::new(key.expose().into()).decrypt(Nonce::<U12>::from_slice(&iv), payload),
        n => {
            return Err(CipherError::Malformed(format!(
                "its iv is {n} bytes (sops writes 32)"
            )));
        }
    }
    .map_err(|_| CipherError::Authentication)?;
    let plain = SecretValue::new(plain);
    let typed = |ty: ScalarType, text: Option<String>| match text {
        Some(t) => Ok(Plain::Value(ty, SecretValue::from_string(t))),
        None => Err(CipherError::Malformed(format!(
            "its plaintext is not a valid {}",
            ty.name()
        ))),
    };
    let as_str = || plain.expose_str();
    match ty.as_str() {
        "str" => Ok(Plain::Value(ScalarType::Str, plain)),
        "bytes" => Ok(Plain::Value(ScalarType::Bytes, plain)),
        "comment" => Ok(Plain::Comment(plain)),
        "int" => typed(
            ScalarType::Int,
            as_str()
                .and_then(value::parse_go_int)
                .map(|i| i.to_string()),
        ),
        "float" => typed(
            ScalarType::Float,
            as_str()
                .and_then(value::parse_go_float)
                .map(value::canonical_float),
        ),
        "bool" => typed(
            ScalarType::Bool,
            as_str()
                .and_then(value::parse_go_bool)
                .map(|b| b.to_string()),
        ),
        "time" => typed(
            ScalarType::Time,
            as_str()
                .and_then(value::parse_rfc3339)
                .map(|t| t.rfc3339_nano()),
        ),
        other => Err(CipherError::Malformed(format!(
            "unknown type `{}`",
            other.chars().take(16).collect::<String>()
        ))),
    }
}

/// The bytes sops encrypts for a value of type `ty` whose canonical text is `text`.
fn plaintext_bytes(ty: ScalarType, text: &SecretValue) -> Zeroizing<Vec<u8>> {
    match ty {
        ScalarType::Bool => Zeroizing::new(if text.expose() == b"true" {
            b"True".to_vec()
        } else {
            b"False".to_vec()
        }),
        _ => Zeroizing::new(text.expose().to_vec()),
    }
}

/// Encrypt a value (or, with `ty == None`, a comment). Empty strings and comments stay empty.
pub fn encrypt(
    ty: Option<ScalarType>,
    text: &SecretValue,
    key: &DataKey,
    additional_data: &str,
) -> String {
    let type_name = ty.map_or("comment", ScalarType::name);
    let empty =
        matches!(ty, None | Some(ScalarType::Str) | Some(ScalarType::Bytes)) && text.is_empty();
    if empty {
        return String::new();
    }
    let plain = match ty {
        Some(t) => plaintext_bytes(t, text),
        None => Zeroizing::new(text.expose().to_vec()),
    };
    let iv: [u8; 32] = rand::rng().random();
    let sealed = Gcm32::new(key.expose().into())
        .encrypt(
            Nonce::<U32>::from_slice(&iv),
            Payload {
                msg: &plain,
                aad: additional_data.as_bytes(),
            },
        )
        .expect("AES-GCM encryption of an in-memory buffer cannot fail");
    let (data, tag) = sealed.split_at(sealed.len() - 16);
    format!(
        "ENC[AES256_GCM,data:{},iv:{},tag:{},type:{type_name}]",
        STANDARD.encode(data),
        STANDARD.encode(iv),
        STANDARD.encode(tag)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> DataKey {
        DataKey::from_bytes(&[7u8; 32]).unwrap()
    }

    #[test]
    fn round_trip_every_type() {
        for (ty, text) in [
            (ScalarType::Str, "hello"),
            (ScalarType::Int, "-42"),
            (ScalarType::Float, "3.14"),
            (ScalarType::Bool, "true"),
            (ScalarType::Time, "2024-01-02T03:04:05Z"),
        ] {
            let v = SecretValue::from_string(text.into());
            let enc = encrypt(Some(ty), &v, &key(), "a:b:");
            assert!(enc.ends_with(&format!("type:{}]", ty.name())), "{enc}");
            match decrypt(enc.as_bytes(), &key(), "a:b:").unwrap() {
                Plain::Value(t, p) => {
                    assert_eq!(t, ty);
                    assert_eq!(p.expose_str().unwrap(), text);
                }
                Plain::Comment(_) => panic!("not a comment"),
            }
        }
    }

    #[test]
    fn bool_is_encrypted_as_python_spelling() {
        let enc = encrypt(
            Some(ScalarType::Bool),
            &SecretValue::from_string("false".into()),
            &key(),
            "k:",
        );
        let caps = enc_regex().captures(&enc).unwrap();
        let data = STANDARD.decode(&caps[1]).unwrap();
        assert_eq!(data.len(), "False".len());
    }

    #[test]
    fn additional_data_and_key_are_authenticated() {
        let enc = encrypt(
            Some(ScalarType::Str),
            &SecretValue::from_string("v".into()),
            &key(),
            "a:",
        );
        assert_eq!(
            decrypt(enc.as_bytes(), &key(), "b:").unwrap_err(),
            CipherError::Authentication
        );
        let other = DataKey::from_bytes(&[8u8; 32]).unwrap();
        assert_eq!(
            decrypt(enc.as_bytes(), &other, "a:").unwrap_err(),
            CipherError::Authentication
        );
    }

    #[test]
    fn empty_values_stay_empty_and_malformed_ones_are_named() {
        assert_eq!(
            encrypt(
                Some(ScalarType::Str),
                &SecretValue::new(vec![]),
                &key(),
                "a:"
            ),
            ""
        );
        assert!(matches!(
            decrypt(b"", &key(), "a:").unwrap(),
            Plain::Value(ScalarType::Str, v) if v.is_empty()
        ));
        let bad = decrypt(
            b"ENC[AES256_GCM,data:!!,iv:AA==,tag:AA==,type:str]",
            &key(),
            "",
        );
        assert!(matches!(bad, Err(CipherError::Malformed(m)) if m.contains("data")));
        assert!(matches!(
            decrypt(b"plain", &key(), ""),
            Err(CipherError::Malformed(_))
        ));
    }

    proptest::proptest! {
        #[test]
        fn splitting_finds_what_the_pattern_captures(
            prefixed in proptest::prelude::any::<bool>(),
            pieces in proptest::collection::vec(proptest::prop_oneof![
                proptest::strategy::Just("ENC[AES256_GCM,data:"),
                proptest::strategy::Just(",iv:"),
                proptest::strategy::Just(",tag:"),
                proptest::strategy::Just(",type:"),
                proptest::strategy::Just("]"),
                proptest::strategy::Just("\n"),
                proptest::strategy::Just("AA=="),
                proptest::strategy::Just("str"),
                proptest::strategy::Just(","),
            ], 0..14)
        ) {
            // (Half of the cases start like an encrypted value, so both paths are exercised.)
            let text = format!(
                "{}{}",
                if prefixed { "ENC[AES256_GCM,data:" } else { "" },
                pieces.concat()
            );
            let want = enc_regex().captures(&text).map(|c| {
                [c[1].to_string(), c[2].to_string(), c[3].to_string(), c[4].to_string()]
            });
            let got = enc_fields(&text).map(|g| g.map(str::to_string));
            proptest::prop_assert_eq!(got, want, "{:?}", text);
        }
    }

    #[test]
    fn debug_of_data_key_is_redacted() {
        assert_eq!(format!("{:?}", key()), "DataKey(..)");
    }
}
