//! The one error type of the SOPS module.
//!
//! Messages name the file and, where there is one, the line and column; they may name a key path,
//! because SOPS keeps key names in clear in the file. They never quote a value, a comment, a data
//! key or an identity: only public things (age recipient strings, file paths, environment
//! variable names) and counts.

use std::fmt;

use super::tree::Pos;

/// `:line:col` after a file name, or nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct At(pub Option<Pos>);

impl fmt::Display for At {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(p) => write!(f, ":{}:{}", p.line, p.col),
            None => Ok(()),
        }
    }
}

/// A key path from the file's structure (`db.password`), shown as ` of key `db.password``.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyPath(pub Vec<String>);

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("a value at the top level")
        } else {
            write!(f, "key `{}`", self.0.join("."))
        }
    }
}

/// Everything that can go wrong reading or writing a SOPS file.
#[derive(Debug, thiserror::Error)]
pub enum SopsError {
    #[error("{file}: cannot read: {source}")]
    Read {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}: not a SOPS file: it has no `sops` metadata{hint}")]
    NotSops { file: String, hint: String },
    #[error("{file}{at}: {message}")]
    Syntax {
        file: String,
        at: At,
        message: String,
    },
    #[error("{file}: invalid sops metadata: {message}")]
    Metadata { file: String, message: String },
    #[error("{file}{at}: malformed encrypted value of {key}: {reason}")]
    MalformedValue {
        file: String,
        at: At,
        key: KeyPath,
        reason: String,
    },
    #[error(
        "{file}{at}: the encrypted value of {key} was tampered with: AES-GCM authentication \
         failed under the file's data key"
    )]
    Tampered { file: String, at: At, key: KeyPath },
    #[error(
        "{file}: MAC mismatch: the file's values, their order or their types changed after it \
         was encrypted"
    )]
    MacMismatch { file: String },
    #[error(
        "{file}: the MAC cannot be decrypted: AES-GCM authentication failed (the `mac` or \
         `lastmodified` metadata was changed)"
    )]
    MacTampered { file: String },
    #[error("{0}")]
    NoMatchingKey(Box<NoMatchingKey>),
    #[error("cannot read the age key file {path}: {reason}")]
    KeyFile { path: String, reason: String },
    #[error("{location}: line {line}: {reason}")]
    BadIdentity {
        location: String,
        line: usize,
        reason: String,
    },
    #[error(
        "{file}: uses {groups} key groups with shamir_threshold {threshold}; ssmform supports a \
         single key group (Shamir secret sharing across groups is not supported)"
    )]
    KeyGroups {
        file: String,
        groups: usize,
        threshold: i64,
    },
    #[error(
        "{file}: its data key is wrapped only for {found}, which ssmform cannot use; supported: \
         age (X25519 `age1...` and SSH ed25519/RSA recipients)"
    )]
    UnsupportedRecipients { file: String, found: String },
    #[error("invalid age recipient `{recipient}`: {reason}")]
    BadRecipient { recipient: String, reason: String },
    #[error(
        "no age recipients for {file}: pass --age RECIPIENT, or add a creation rule with `age` \
         to a .sops.yaml in its directory or above"
    )]
    NoRecipients { file: String },
    #[error("{file}: {message}")]
    Encrypt { file: String, message: String },
    #[error("{path}: {message}")]
    Config { path: String, message: String },
}

/// No identity could unwrap the data key.
#[derive(Debug)]
pub struct NoMatchingKey {
    pub file: String,
    /// The file's age recipients (public).
    pub recipients: Vec<String>,
    /// Other recipient types the file also has (`pgp`, `kms`...), which ssmform cannot use.
    pub other_types: Vec<String>,
    /// How many identities were loaded and tried.
    pub identities: usize,
    /// Where identities were looked for, and what was found there.
    pub searched: Vec<String>,
    /// Key sources that were set but could not be used (a variable ssmform does not support).
    pub notes: Vec<String>,
}

impl fmt::Display for NoMatchingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: no age identity matches the file's recipients ({} tried)",
            self.file, self.identities
        )?;
        write!(f, "\n  the file is encrypted for:")?;
        for r in &self.recipients {
            write!(f, "\n    age {r}")?;
        }
        for t in &self.other_types {
            write!(f, "\n    {t} (not supported by ssmform)")?;
        }
        write!(f, "\n  identities were looked for in:")?;
        for s in &self.searched {
            write!(f, "\n    {s}")?;
        }
        for n in &self.notes {
            write!(f, "\n  note: {n}")?;
        }
        Ok(())
    }
}

impl SopsError {
    pub(crate) fn syntax(file: &str, pos: Option<Pos>, message: impl Into<String>) -> Self {
        SopsError::Syntax {
            file: file.to_string(),
            at: At(pos),
            message: message.into(),
        }
    }

    pub(crate) fn metadata(file: &str, message: impl Into<String>) -> Self {
        SopsError::Metadata {
            file: file.to_string(),
            message: message.into(),
        }
    }

    pub(crate) fn encrypt(file: &str, message: impl Into<String>) -> Self {
        SopsError::Encrypt {
            file: file.to_string(),
            message: message.into(),
        }
    }
}
