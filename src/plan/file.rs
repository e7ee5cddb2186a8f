//! Saved plan files (`ssmform plan --out FILE`), safe to keep as CI artifacts.
//!
//! A plan file is two lines of JSON:
//!
//! ```text
//! {"format":"ssmform-plan","format_version":1,"key_source":"SSMFORM_PLAN_KEY","plan":{...}}
//! {"mac":"<64 hex digits>"}
//! ```
//!
//! The MAC is HMAC-SHA256 under the plan key over the exact bytes of the first line, so any change to
//! the file, a truncation, or a file written under another key is refused. The plan inside holds
//! addresses, names, versions, actions, waves, sizes, JSON key names and keyed fingerprints; never
//! plaintext, never an unkeyed hash of a value (which would let anyone test guesses), and never the
//! line diffs of `sensitive = false` secrets. Files are created with mode 0600, written to a
//! temporary file first and renamed, so a crash never leaves half a plan under the final name.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::model::{ContentDiff, Plan};
use crate::secret::PlanKey;

/// The value of the `format` field that identifies a plan file.
pub const FORMAT: &str = "ssmform-plan";
/// The version of the file format this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// Domain separation for the MAC, so a plan-file MAC can never be confused with a fingerprint.
const MAC_CONTEXT: &[u8] = b"ssmform plan file v1\0";

/// Where the plan key came from, recorded (unauthenticated) to explain a MAC mismatch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeySource {
    /// `SSMFORM_PLAN_KEY`.
    #[serde(rename = "SSMFORM_PLAN_KEY")]
    PlanKeyEnv,
    /// Derived from the API secret key (or, for `endpoint = "local"`, the random key in
    /// `.ssmform/plan.key`: the name is kept for compatibility with existing plan files).
    #[serde(rename = "api-secret-key")]
    ApiSecretKey,
}

impl KeySource {
    /// The source in effect in this process.
    pub fn current() -> Self {
        if PlanKey::env_is_set() {
            KeySource::PlanKeyEnv
        } else {
            KeySource::ApiSecretKey
        }
    }

    fn describe(self) -> &'static str {
        match self {
            KeySource::PlanKeyEnv => "the SSMFORM_PLAN_KEY environment variable",
            KeySource::ApiSecretKey => {
                "a key derived from the API secret key or, for endpoint = \"local\", the key in .ssmform/plan.key"
            }
        }
    }
}

#[derive(Serialize)]
struct BodyOut<'a> {
    format: &'static str,
    format_version: u32,
    key_source: KeySource,
    plan: &'a Plan,
}

#[derive(Deserialize)]
struct Header {
    format: Option<String>,
    format_version: Option<u32>,
    key_source: Option<KeySource>,
}

#[derive(Deserialize)]
struct BodyIn {
    plan: Plan,
}

#[derive(Serialize, Deserialize)]
struct Trailer {
    mac: String,
}

/// Why a plan file was refused.
#[derive(Debug, thiserror::Error)]
pub enum PlanFileError {
    // The I/O error is part of the message and deliberately not the `source`: reported with its
    // chain of causes, it would be printed twice.
    #[error("cannot read plan file {path}: {error}")]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("cannot write plan file {path}: {error}")]
    Write {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{path} is not an ssmform plan file (it does not start with an ssmform-plan header)")]
    Foreign { path: PathBuf },
    #[error(
        "{path} is truncated: its integrity line is missing or damaged; write the plan again with `ssmform plan --out`"
    )]
    Truncated { path: PathBuf },
    #[error(
        "{path} uses plan file format {found}, but this ssmform ({tool}) reads format {FORMAT_VERSION}; \
         apply it with the ssmform version that wrote it, or plan again"
    )]
    Version {
        path: PathBuf,
        found: u32,
        tool: &'static str,
    },
    #[error(
        "{path} failed its integrity check: {}. Plan again, or run with the same \
         SSMFORM_PLAN_KEY / credentials as the plan job",
        mac_cause(written_with, used_now)
    )]
    Mac {
        path: PathBuf,
        written_with: &'static str,
        used_now: &'static str,
    },
    #[error("{path} passed its integrity check but its content is not a valid plan: {message}")]
    Invalid { path: PathBuf, message: String },
}

/// The likely causes of a MAC mismatch, given where the writer's key and ours came from.
fn mac_cause(written_with: &str, used_now: &str) -> String {
    if written_with == used_now {
        format!(
            "it was modified after it was written, or it was written with another plan key \
             (it was written with {written_with}, as this run uses, but with another value)"
        )
    } else {
        format!(
            "it was modified after it was written, or it was written with another plan key \
             (it was written with {written_with}; this run uses {used_now})"
        )
    }
}

/// The bytes of a plan file for `plan`. Line diffs are dropped: they may hold plaintext of
/// `sensitive = false` secrets, and a plan file holds none.
pub fn encode(plan: &Plan, key: &PlanKey, key_source: KeySource) -> Vec<u8> {
    let mut stripped = plan.clone();
    for change in &mut stripped.changes {
        if matches!(change.diff, ContentDiff::Lines(_)) {
            change.diff = if change.action.is_create() {
                ContentDiff::None
            } else {
                ContentDiff::Opaque
            };
        }
    }
    let body = serde_json::to_vec(&BodyOut {
        format: FORMAT,
        format_version: FORMAT_VERSION,
        key_source,
        plan: &stripped,
    })
    .expect("a plan always serializes");
    let mac = mac(key, &body);
    let mut out = body;
    out.push(b'\n');
    out.extend_from_slice(
        &serde_json::to_vec(&Trailer {
            mac: hex::encode(mac),
        })
        .expect("a trailer always serializes"),
    );
    out.push(b'\n');
    out
}

fn mac(key: &PlanKey, body: &[u8]) -> [u8; 32] {
    let mut msg = Vec::with_capacity(MAC_CONTEXT.len() + body.len());
    msg.extend_from_slice(MAC_CONTEXT);
    msg.extend_from_slice(body);
    key.mac(&msg)
}

/// Check and parse the bytes of a plan file. `path` is used in messages only.
pub fn decode(bytes: &[u8], key: &PlanKey, path: &Path) -> Result<Plan, PlanFileError> {
    let path = path.to_path_buf();
    let (body, rest) = match bytes.iter().position(|&b| b == b'\n') {
        Some(i) => (&bytes[..i], &bytes[i + 1..]),
        None => (bytes, &[][..]),
    };
    let header: Header = match serde_json::from_slice(body) {
        Ok(h) => h,
        // A first line that is JSON but cut short is a truncated plan; anything else is foreign.
        Err(e) if e.is_eof() && bytes.starts_with(b"{\"format\":\"ssmform-plan\"") => {
            return Err(PlanFileError::Truncated { path });
        }
        Err(_) => return Err(PlanFileError::Foreign { path }),
    };
    if header.format.as_deref() != Some(FORMAT) {
        return Err(PlanFileError::Foreign { path });
    }
    match header.format_version {
        Some(FORMAT_VERSION) => {}
        Some(found) => {
            return Err(PlanFileError::Version {
                path,
                found,
                tool: env!("CARGO_PKG_VERSION"),
            });
        }
        None => return Err(PlanFileError::Foreign { path }),
    }
    let trailer_line = rest.strip_suffix(b"\n").unwrap_or(rest);
    let trailer: Trailer = serde_json::from_slice(trailer_line)
        .map_err(|_| PlanFileError::Truncated { path: path.clone() })?;
    let expected = mac(key, body);
    let given =
        hex::decode(&trailer.mac).map_err(|_| PlanFileError::Truncated { path: path.clone() })?;
    if !crate::ssm::sign::signatures_equal(&hex::encode(expected), &hex::encode(&given)) {
        return Err(PlanFileError::Mac {
            path,
            written_with: header
                .key_source
                .map(KeySource::describe)
                .unwrap_or("an unknown key"),
            used_now: KeySource::current().describe(),
        });
    }
    let parsed: BodyIn = serde_json::from_slice(body).map_err(|e| PlanFileError::Invalid {
        path: path.clone(),
        message: e.to_string(),
    })?;
    Ok(parsed.plan)
}

/// What can be read from a plan file before its MAC is checked (which needs the key, which needs
/// the configuration's provider block): where the configuration is and which variables the plan
/// was made with. Untrusted until [`read`] verifies the file; used only to find the configuration
/// and to explain errors.
#[derive(Debug, Clone)]
pub struct Peek {
    /// The configuration directory as given to `plan`.
    pub config_dir: String,
    /// The same, absolute, when the plan recorded it.
    pub config_dir_absolute: Option<String>,
    /// Names of the variables the plan was made with.
    pub variables: Vec<String>,
}

impl Peek {
    /// The configuration directory to use: the absolute path the plan was made in when it exists
    /// here (so the working directory does not matter), else the path as given (a CI job that
    /// checks the repository out elsewhere, running from the same relative place).
    pub fn resolve_dir(&self) -> PathBuf {
        match &self.config_dir_absolute {
            Some(abs) if Path::new(abs).is_dir() => PathBuf::from(abs),
            _ => PathBuf::from(&self.config_dir),
        }
    }
}

/// Read the (unverified) configuration directory of a plan file.
pub fn peek(path: &Path) -> Result<Peek, PlanFileError> {
    #[derive(Deserialize)]
    struct MetaOnly {
        config_dir: String,
        #[serde(default)]
        config_dir_absolute: Option<String>,
        #[serde(default)]
        variables: std::collections::BTreeMap<String, serde::de::IgnoredAny>,
    }
    #[derive(Deserialize)]
    struct PlanOnly {
        meta: MetaOnly,
    }
    #[derive(Deserialize)]
    struct BodyOnly {
        format: Option<String>,
        plan: PlanOnly,
    }
    let bytes = std::fs::read(path).map_err(|error| PlanFileError::Read {
        path: path.to_path_buf(),
        error,
    })?;
    let first = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    match serde_json::from_slice::<BodyOnly>(first) {
        Ok(b) if b.format.as_deref() == Some(FORMAT) => Ok(Peek {
            config_dir: b.plan.meta.config_dir,
            config_dir_absolute: b.plan.meta.config_dir_absolute,
            variables: b.plan.meta.variables.into_keys().collect(),
        }),
        // Let the full check produce the precise error.
        _ => Err(decode(&bytes, &PlanKey::from_passphrase(b""), path)
            .err()
            .unwrap_or(PlanFileError::Foreign {
                path: path.to_path_buf(),
            })),
    }
}

/// Write `plan` to `path` with mode 0600 from the first byte, atomically (a new temporary file
/// beside it, renamed over it).
pub fn write(path: &Path, plan: &Plan, key: &PlanKey) -> Result<(), PlanFileError> {
    let bytes = encode(plan, key, KeySource::current());
    crate::privfile::replace(path, &bytes, None).map_err(|error| PlanFileError::Write {
        path: path.to_path_buf(),
        error,
    })
}

/// Read and check the plan file at `path`.
pub fn read(path: &Path, key: &PlanKey) -> Result<Plan, PlanFileError> {
    let bytes = std::fs::read(path).map_err(|error| PlanFileError::Read {
        path: path.to_path_buf(),
        error,
    })?;
    decode(&bytes, key, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::model::*;
    use crate::secret::{ContentKind, Fingerprint};
    use std::collections::BTreeMap;

    fn sample(key: &PlanKey) -> Plan {
        let fp = |s: &str| Fingerprint::of_labelled(key, "t", s.as_bytes());
        Plan {
            meta: PlanMeta {
                tool_version: "0.1.0".into(),
                created_at_ms: 1,
                config_dir: "cfg".into(),
                config_dir_absolute: None,
                config_digest: "00".repeat(32),
                variables: BTreeMap::from([("env".to_string(), fp("prod"))]),
                endpoint: "http://127.0.0.1:9000".into(),
                region: "ap-guangzhou".into(),
                targets: vec![],
            },
            changes: vec![Change {
                address: "secret.a".into(),
                secret_name: "a".into(),
                version_id: "v1".into(),
                action: Action::Update,
                wave: 1,
                live: Some(ContentSummary {
                    kind: ContentKind::String,
                    size: 3,
                    fingerprint: fp("old"),
                }),
                desired: ContentSummary {
                    kind: ContentKind::String,
                    size: 3,
                    fingerprint: fp("new"),
                },
                diff: ContentDiff::Lines(LineDiff {
                    lines: vec![
                        DiffLine::Removed("plain-old".into()),
                        DiffLine::Added("plain-new".into()),
                    ],
                    live_hidden: false,
                }),
                unverified: false,
                sensitive: false,
                description: None,
                depends_on: vec![],
                tags: BTreeMap::new(),
                kms_key_id: None,
                secret_created_here: false,
            }],
            secret_ops: vec![],
            notes: vec![],
        }
    }

    #[test]
    fn round_trip_drops_line_diffs() {
        let key = PlanKey::from_passphrase(b"k");
        let plan = sample(&key);
        let bytes = encode(&plan, &key, KeySource::PlanKeyEnv);
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(!text.contains("plain-old") && !text.contains("plain-new"));
        let back = decode(&bytes, &key, Path::new("p")).unwrap();
        assert_eq!(back.changes[0].diff, ContentDiff::Opaque);
        assert_eq!(back.meta, plan.meta);
        assert_eq!(back.changes[0].desired, plan.changes[0].desired);
    }

    #[test]
    fn any_flipped_byte_is_refused() {
        let key = PlanKey::from_passphrase(b"k");
        let bytes = encode(&sample(&key), &key, KeySource::PlanKeyEnv);
        let first_line = bytes.iter().position(|&b| b == b'\n').unwrap();
        for i in (0..first_line).step_by(7) {
            let mut t = bytes.clone();
            t[i] ^= 0x01;
            assert!(decode(&t, &key, Path::new("p")).is_err(), "byte {i}");
        }
    }

    #[test]
    fn wrong_key_truncation_and_foreign_files_have_distinct_errors() {
        let key = PlanKey::from_passphrase(b"k");
        let bytes = encode(&sample(&key), &key, KeySource::PlanKeyEnv);
        let other = PlanKey::from_passphrase(b"other");
        assert!(matches!(
            decode(&bytes, &other, Path::new("p")),
            Err(PlanFileError::Mac { .. })
        ));
        for cut in [bytes.len() - 5, bytes.len() / 2, 30] {
            assert!(
                matches!(
                    decode(&bytes[..cut], &key, Path::new("p")),
                    Err(PlanFileError::Truncated { .. })
                ),
                "cut at {cut}"
            );
        }
        assert!(matches!(
            decode(b"terraform plan", &key, Path::new("p")),
            Err(PlanFileError::Foreign { .. })
        ));
        assert!(matches!(
            decode(b"{\"format\":\"other\"}\n", &key, Path::new("p")),
            Err(PlanFileError::Foreign { .. })
        ));
        let future = String::from_utf8(bytes.clone())
            .unwrap()
            .replace("\"format_version\":1", "\"format_version\":9");
        assert!(matches!(
            decode(future.as_bytes(), &key, Path::new("p")),
            Err(PlanFileError::Version { found: 9, .. })
        ));
    }

    #[cfg(unix)]
    #[test]
    fn written_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.ssmplan");
        std::fs::write(&path, b"old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let key = PlanKey::from_passphrase(b"k");
        write(&path, &sample(&key), &key).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(read(&path, &key).unwrap().changes.len(), 1);
    }
}
