//! SOPS files, natively: reading (decrypting and verifying) and writing files in the format of
//! [getsops/sops](https://github.com/getsops/sops), with age keys, entirely in memory.
//!
//! A SOPS file keeps its structure in clear and each value encrypted on its own with
//! AES-256-GCM under a random data key; the data key is wrapped for every recipient, and a MAC
//! over all values (encrypted under the data key) detects any change. Every rule here follows
//! sops' own source (3.13): `sops.go`, `aes/cipher.go`, `age/keysource.go`, `stores/*`,
//! `config/config.go`.
//!
//! # Using it
//!
//! - The `sops_file` data source: [`decrypt_file`] (or [`decrypt`] on bytes), then
//!   [`Decrypted::data`] for the flattened map (`db.hosts.0` → value) and [`Decrypted::raw`] for
//!   the whole document as `sops decrypt` prints it. Plaintext only ever sits in
//!   [`SecretValue`]s and zeroizing buffers; the MAC is verified before anything is returned.
//! - Writing (the `sops encrypt` command, `import`): [`encrypt`] for plaintext bytes,
//!   [`encrypt_document`] for a tree built in memory ([`Branch::push`]), with recipients from
//!   `--age` ([`Recipient::parse_list`]) or the nearest `.sops.yaml`
//!   ([`config::creation_rule_for`]).
//!
//! # Supported
//!
//! - Formats: YAML (comments included, several documents), JSON, dotenv, INI, binary; the
//!   format from the file name as sops picks it ([`Format::from_path`]) or given.
//! - Values of every sops type: `str`, `int`, `float`, `bool`, `time`, `bytes`, and comments
//!   (encrypted with `type:comment`; comments are not part of the MAC, as in sops).
//! - The encryption rules `unencrypted_suffix` (default `_unencrypted`), `encrypted_suffix`,
//!   `unencrypted_regex`, `encrypted_regex`, `unencrypted_comment_regex`,
//!   `encrypted_comment_regex`, and `mac_only_encrypted`.
//! - age recipients and identities: X25519 (`age1…` / `AGE-SECRET-KEY-1…`) and SSH ed25519 and
//!   RSA keys, found where sops looks ([`age`]: `SOPS_AGE_KEY`, `SOPS_AGE_KEY_FILE`,
//!   `SOPS_AGE_SSH_PRIVATE_KEY_FILE`, `~/.ssh/id_ed25519`, `~/.ssh/id_rsa`,
//!   `$XDG_CONFIG_HOME/sops/age/keys.txt`), through an injectable [`KeyEnv`].
//! - One key group; a file may also list other recipient types (they are ignored if an age
//!   identity fits).
//!
//! # Not supported
//!
//! PGP, AWS/GCP/Azure/Huawei KMS and HashiCorp Vault recipients (a file wrapped only for those
//! is refused, naming them); several key groups (Shamir secret sharing); key commands
//! (`SOPS_AGE_KEY_CMD`, `SOPS_AGE_SSH_PRIVATE_KEY_CMD`); passphrase-protected identity files
//! and SSH keys; age plugins and post-quantum hybrid keys; YAML complex keys and non-string
//! keys (sops refuses those too); a decrypt command (plaintext is never printed).

pub mod age;
pub mod cipher;
pub mod config;
pub mod crypt;
pub mod error;
pub mod metadata;
pub mod stores;
pub mod tree;
pub mod value;

use std::collections::BTreeMap;
use std::path::Path;

pub use self::age::{Identities, KeyEnv, Recipient};
pub use self::error::SopsError;
pub use self::stores::Format;
pub use self::tree::{Branch, Comment, Document, Item, Node, Pos, Scalar, ScalarType};
pub use crate::secret::SecretValue;

use self::cipher::DataKey;
use self::crypt::{Pattern, Rules};
use self::error::NoMatchingKey;
use self::metadata::{AgeStanza, KeyGroup, Metadata};

/// A decrypted, verified SOPS file.
#[derive(Debug)]
pub struct Decrypted {
    format: Format,
    file: String,
    document: Document,
    recipients: Vec<String>,
}

impl Decrypted {
    /// The format the file was read as (and `raw` is written in).
    pub fn format(&self) -> Format {
        self.format
    }

    /// The plaintext tree (metadata removed).
    pub fn document(&self) -> &Document {
        &self.document
    }

    /// The `data` attribute: every value by its flattened key (`a.b`, `list.0`), numbers and
    /// booleans as text, nulls as `null`.
    pub fn data(&self) -> BTreeMap<String, SecretValue> {
        self.document.flatten()
    }

    /// The `raw` attribute: the document in its format, as `sops decrypt` prints it (the data
    /// itself for a binary file).
    pub fn raw(&self) -> Result<SecretValue, SopsError> {
        let bytes = stores::emit(self.format, &self.document, true, &self.file)?;
        Ok(SecretValue::new(bytes.to_vec()))
    }

    /// The file's age recipients (public keys).
    pub fn recipients(&self) -> &[String] {
        &self.recipients
    }
}

fn read_file(path: &Path) -> Result<zeroize::Zeroizing<Vec<u8>>, SopsError> {
    std::fs::read(path)
        .map(zeroize::Zeroizing::new)
        .map_err(|source| SopsError::Read {
            file: path.display().to_string(),
            source,
        })
}

/// Read, decrypt and verify the SOPS file at `path`. The format comes from the file name unless
/// given; identities are looked up in `env` (only once the file is known to need them).
pub fn decrypt_file(
    path: &Path,
    format: Option<Format>,
    env: &KeyEnv,
) -> Result<Decrypted, SopsError> {
    let bytes = read_file(path)?;
    let format = format.unwrap_or_else(|| Format::from_path(path));
    decrypt_with(&bytes, format, &path.display().to_string(), || {
        Identities::load(env)
    })
}

/// Decrypt and verify SOPS `bytes` of `format` with `identities`; `file` names it in messages.
pub fn decrypt(
    bytes: &[u8],
    format: Format,
    file: &str,
    identities: &Identities,
) -> Result<Decrypted, SopsError> {
    let parsed = parse_encrypted(bytes, format, file)?;
    let group = single_group(&parsed.metadata, file)?;
    let key = unwrap_key(identities, group, file)?;
    finish(parsed, &key, format, file)
}

struct Parsed {
    document: Document,
    metadata: Metadata,
}

fn parse_encrypted(bytes: &[u8], format: Format, file: &str) -> Result<Parsed, SopsError> {
    let mut document = stores::parse(format, bytes, file)?;
    let metadata = metadata::extract(&mut document, format.metadata_layout(), file)?;
    Ok(Parsed { document, metadata })
}

fn single_group<'a>(md: &'a Metadata, file: &str) -> Result<&'a KeyGroup, SopsError> {
    if md.groups.len() > 1 {
        return Err(SopsError::KeyGroups {
            file: file.to_string(),
            groups: md.groups.len(),
            threshold: if md.shamir_threshold > 0 {
                md.shamir_threshold
            } else {
                md.groups.len() as i64
            },
        });
    }
    let group = md
        .groups
        .first()
        .ok_or_else(|| SopsError::metadata(file, "no keys found in the file"))?;
    if group.age.is_empty() {
        let found = group
            .other
            .iter()
            .map(|(t, n)| {
                let name = match t.as_str() {
                    "pgp" => "PGP",
                    "kms" => "AWS KMS",
                    "gcp_kms" => "GCP KMS",
                    "azure_kv" => "Azure Key Vault",
                    "hc_vault" => "HashiCorp Vault",
                    "hckms" => "Huawei Cloud KMS",
                    other => other,
                };
                format!("{name} ({n})")
            })
            .collect::<Vec<_>>();
        if found.is_empty() {
            return Err(SopsError::metadata(file, "no keys found in the file"));
        }
        return Err(SopsError::UnsupportedRecipients {
            file: file.to_string(),
            found: found.join(", "),
        });
    }
    Ok(group)
}

fn finish(
    mut parsed: Parsed,
    key: &DataKey,
    format: Format,
    file: &str,
) -> Result<Decrypted, SopsError> {
    let md = &parsed.metadata;
    let computed = crypt::decrypt_document(&mut parsed.document, &md.rules, key, file)?;
    crypt::verify_mac(&md.mac, &computed, &md.mac_additional_data(), key, file)?;
    let recipients = md
        .groups
        .iter()
        .flat_map(|g| g.age.iter().map(|a| a.recipient.clone()))
        .collect();
    Ok(Decrypted {
        format,
        file: file.to_string(),
        document: parsed.document,
        recipients,
    })
}

/// Decrypt with identities obtained from `load` once the metadata says age keys are needed.
pub fn decrypt_with(
    bytes: &[u8],
    format: Format,
    file: &str,
    load: impl FnOnce() -> Result<Identities, SopsError>,
) -> Result<Decrypted, SopsError> {
    let parsed = parse_encrypted(bytes, format, file)?;
    let group = single_group(&parsed.metadata, file)?;
    let identities = load()?;
    let key = unwrap_key(&identities, group, file)?;
    finish(parsed, &key, format, file)
}

fn unwrap_key(ids: &Identities, group: &KeyGroup, file: &str) -> Result<DataKey, SopsError> {
    ids.unwrap_data_key(&group.age).ok_or_else(|| {
        SopsError::NoMatchingKey(Box::new(NoMatchingKey {
            file: file.to_string(),
            // Only what parses as a public age recipient is repeated: a file that merely looks
            // like a SOPS file could hold anything in that field.
            recipients: group
                .age
                .iter()
                .map(|a| match Recipient::parse(&a.recipient) {
                    Ok(r) => r.as_str().to_string(),
                    Err(_) => "(a field that is not a valid age recipient; not shown)".to_string(),
                })
                .collect(),
            other_types: group
                .other
                .iter()
                .map(|(t, n)| format!("{t} ({n})"))
                .collect(),
            identities: ids.len(),
            searched: ids.searched.clone(),
            notes: ids.notes.clone(),
        }))
    })
}

/// Decrypt with a data key obtained some other way (e.g. unwrapped by another tool). Used by the
/// tests that read sops' own PGP-wrapped fixtures after `gpg` unwrapped their key.
#[doc(hidden)]
pub fn decrypt_with_data_key(
    bytes: &[u8],
    format: Format,
    file: &str,
    data_key: &[u8],
) -> Result<Decrypted, SopsError> {
    let key = DataKey::from_bytes(data_key)
        .ok_or_else(|| SopsError::metadata(file, "a data key is 32 bytes"))?;
    let parsed = parse_encrypted(bytes, format, file)?;
    finish(parsed, &key, format, file)
}

/// What [`encrypt`] writes besides the recipients: the encryption rules (at most one selector;
/// none means `unencrypted_suffix: _unencrypted`), `mac_only_encrypted`, the `lastmodified` time
/// (Unix seconds; now when unset) and the input's name for messages.
#[derive(Debug, Clone, Default)]
pub struct EncryptOptions {
    pub unencrypted_suffix: Option<String>,
    pub encrypted_suffix: Option<String>,
    pub unencrypted_regex: Option<String>,
    pub encrypted_regex: Option<String>,
    pub unencrypted_comment_regex: Option<String>,
    pub encrypted_comment_regex: Option<String>,
    pub mac_only_encrypted: bool,
    pub lastmodified: Option<i64>,
    pub source_name: Option<String>,
}

impl EncryptOptions {
    pub(crate) fn rules(&self, file: &str) -> Result<Rules, SopsError> {
        let pattern = |p: &Option<String>| -> Result<Option<Pattern>, SopsError> {
            p.as_deref()
                .map(|s| Pattern::strict(s).map_err(|m| SopsError::encrypt(file, m)))
                .transpose()
        };
        let mut rules = Rules {
            unencrypted_suffix: self.unencrypted_suffix.clone(),
            encrypted_suffix: self.encrypted_suffix.clone(),
            unencrypted_regex: pattern(&self.unencrypted_regex)?,
            encrypted_regex: pattern(&self.encrypted_regex)?,
            unencrypted_comment_regex: pattern(&self.unencrypted_comment_regex)?,
            encrypted_comment_regex: pattern(&self.encrypted_comment_regex)?,
            mac_only_encrypted: self.mac_only_encrypted,
        };
        match rules.selector_count() {
            0 => rules.unencrypted_suffix = Some(crypt::DEFAULT_UNENCRYPTED_SUFFIX.into()),
            1 => {}
            _ => {
                return Err(SopsError::encrypt(
                    file,
                    "cannot use more than one of encrypted_suffix, unencrypted_suffix, \
                     encrypted_regex, unencrypted_regex, encrypted_comment_regex, or \
                     unencrypted_comment_regex",
                ));
            }
        }
        Ok(rules)
    }

    fn name(&self) -> String {
        self.source_name.clone().unwrap_or_else(|| "<input>".into())
    }
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Encrypt plaintext `bytes` of `format` for `recipients`: a new SOPS file, as bytes.
pub fn encrypt(
    plaintext: &[u8],
    format: Format,
    recipients: &[Recipient],
    options: &EncryptOptions,
) -> Result<Vec<u8>, SopsError> {
    let file = options.name();
    let doc = stores::parse_plain(format, plaintext, &file)?;
    encrypt_document(doc, format, recipients, options)
}

fn already_encrypted(doc: &Document, format: Format) -> bool {
    let Some(b) = doc.branches.first() else {
        return false;
    };
    match format {
        Format::Dotenv => b.entries().any(|(k, _)| k.starts_with("sops_")),
        Format::Binary => false,
        _ => b.get("sops").is_some(),
    }
}

/// Encrypt a document built in memory (for `import`) and write it in `format`.
pub fn encrypt_document(
    mut doc: Document,
    format: Format,
    recipients: &[Recipient],
    options: &EncryptOptions,
) -> Result<Vec<u8>, SopsError> {
    let file = options.name();
    if recipients.is_empty() {
        return Err(SopsError::NoRecipients { file });
    }
    if already_encrypted(&doc, format) {
        return Err(SopsError::encrypt(
            &file,
            "the file is already encrypted (it has sops metadata)",
        ));
    }
    if doc.branches.is_empty() {
        doc.branches.push(Branch::new());
    }
    let rules = options.rules(&file)?;
    let key = DataKey::generate();
    let mac = crypt::encrypt_document(&mut doc, &rules, &key, &file)?;
    let lastmodified = value::DateTime::from_unix(options.lastmodified.unwrap_or_else(now_unix));
    let mut md = Metadata {
        groups: vec![KeyGroup {
            age: Vec::new(),
            other: Vec::new(),
        }],
        shamir_threshold: 0,
        lastmodified,
        mac: String::new(),
        rules,
        version: metadata::SOPS_VERSION.to_string(),
    };
    md.mac = crypt::encrypt_mac(&mac, &md.mac_additional_data(), &key);
    for r in recipients {
        md.groups[0].age.push(AgeStanza {
            recipient: r.as_str().to_string(),
            enc: r.wrap(&key)?,
        });
    }
    metadata::attach(&mut doc, format.metadata_layout(), &md);
    let out = stores::emit(format, &doc, false, &file)?;
    Ok(out.to_vec())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const KEY: &str = "AGE-SECRET-KEY-1QXRVEJH9S4NQU0FPD6V79ESZQ8S6PXH3L8V40EVPTHFH6KNKD4DQ7SKC4P";
    const FORMATS: [Format; 5] = [
        Format::Yaml,
        Format::Json,
        Format::Dotenv,
        Format::Ini,
        Format::Binary,
    ];

    /// Text that looks like the formats, so the parsers get past their first byte.
    fn structured() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            Just("\n".to_string()),
            Just("  ".to_string()),
            Just("- ".to_string()),
            Just(": ".to_string()),
            Just("# c\n".to_string()),
            Just("[s]\n".to_string()),
            Just("k=v\n".to_string()),
            Just("\"q\\u00e9\"".to_string()),
            Just("'x''y'".to_string()),
            Just("|-\n".to_string()),
            Just(">\n".to_string()),
            Just("{a: [1, {b: c}]}".to_string()),
            Just("&a *a !!str ".to_string()),
            Just("---\n".to_string()),
            Just("ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==,type:str]".to_string()),
            Just("sops:\n    lastmodified: 2020-01-01T00:00:00Z\n".to_string()),
            "[a-z0-9_]{1,6}",
        ];
        proptest::collection::vec(piece, 0..40).prop_map(|v| v.concat().into_bytes())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

        #[test]
        fn parsers_and_decryption_never_panic_on_random_bytes(
            bytes in proptest::collection::vec(any::<u8>(), 0..512)
        ) {
            let ids = Identities::from_text(KEY.as_bytes(), "k").unwrap();
            for f in FORMATS {
                let _ = stores::parse(f, &bytes, "fuzz");
                let _ = decrypt(&bytes, f, "fuzz", &ids);
                let _ = decrypt_with_data_key(&bytes, f, "fuzz", &[0u8; 32]);
            }
            let _ = config::rule_from_text(&bytes, Path::new("/c/.sops.yaml"), Path::new("/c/f"));
            let _ = age::parse_identities(&bytes, "fuzz", true);
        }

        #[test]
        fn parsers_never_panic_on_structured_text(bytes in structured()) {
            let ids = Identities::from_text(KEY.as_bytes(), "k").unwrap();
            for f in FORMATS {
                if let Ok(doc) = stores::parse(f, &bytes, "fuzz") {
                    let _ = stores::emit(f, &doc, true, "fuzz");
                }
                let _ = decrypt(&bytes, f, "fuzz", &ids);
            }
        }

        #[test]
        fn yaml_that_parses_reads_back_the_same_after_emitting(bytes in structured()) {
            if let Ok(doc) = stores::yaml::parse(&bytes, "fuzz") {
                let out = stores::yaml::emit(&doc);
                let again = stores::yaml::parse(&out, "again");
                prop_assert!(again.is_ok(), "{:?}", String::from_utf8_lossy(&out));
                prop_assert_eq!(again.unwrap().flatten(), doc.flatten());
            }
        }
    }
}
