//! `data "sops_file" "L" { source_file = "...", input_type = "..." }`: a SOPS file, read through
//! the configuration's file gate ([`super::files`]) and decrypted in memory ([`crate::sops`]).
//!
//! Its value is an object with the attributes of the carlpett/sops Terraform provider:
//!
//! - `data`: a map from flattened keys (`db.password`, `hosts.0`) to strings (numbers and
//!   booleans as their text);
//! - `raw`: the whole decrypted document, in its format;
//! - and the arguments, `source_file` and `input_type`.
//!
//! **Sensitivity.** Every value of `data`, and `raw`, is marked sensitive (origin: the data
//! source), whatever the file's encryption rules left in clear. The *keys* of `data` are not
//! marked when the file is inside the configuration directory: SOPS keeps key names in clear in
//! the committed file, so they are as public as the configuration itself, and a plan may name
//! them in a key-level diff (`jsonencode(data.sops_file.app.data)` shows which keys change). A file
//! read through `--allow-read`, outside the reviewed directory, is marked as a whole, keys
//! included, as every other file read there.
//!
//! **When.** The file is read whenever the configuration is evaluated (plan, apply, validate),
//! once per process: the decrypted object is kept for the next evaluation. Under `validate` a
//! file no available identity can decrypt is unknown (everything depending on it is left for
//! plan time); every other problem is an error, as under `plan`.
//!
//! **Errors** point at the data block (its file:line:col), say what is wrong with the file (with
//! the SOPS file's own line and column where there is one) and never quote a value.

use std::sync::{Arc, Mutex};

use super::Config;
use super::Mode;
use super::expr::Resolve;
use super::files::FileError;
use super::limits;
use super::source::Diag;
use super::value::{Origin, Value};
use crate::fasthash::FastMap;
use crate::sops::{self, Format, Identities, KeyEnv, SopsError};

/// The largest SOPS file read: as large as a configuration file (a SOPS file of 10,000 values
/// is about 1.5 MB; `file()`'s 1 MiB would refuse it).
pub(crate) const MAX_SOPS_FILE_BYTES: u64 = super::files::MAX_CONFIG_FILE_BYTES;

/// The identities' environment and the files decrypted so far in this process.
pub(crate) struct SopsFiles {
    keys: Arc<KeyEnv>,
    /// (declaration, path, format) → the data source's object.
    read: Mutex<FastMap<(usize, String, Format), Value>>,
}

impl Default for SopsFiles {
    fn default() -> Self {
        SopsFiles {
            keys: Arc::new(KeyEnv::process()),
            read: Mutex::new(FastMap::default()),
        }
    }
}

impl SopsFiles {
    pub(crate) fn with_keys(keys: KeyEnv) -> Self {
        SopsFiles {
            keys: Arc::new(keys),
            ..SopsFiles::default()
        }
    }
}

/// What evaluating a `sops_file` data source gave.
pub(super) enum SopsOutcome {
    /// Its object (possibly with unknown attributes).
    Value(Value),
    /// Its object with `data` and `raw` unknown: under `validate`, no available identity opens
    /// the file.
    NoKey(Value),
    Failed,
}

/// The `input_type` names.
const INPUT_TYPES: &str = "yaml, json, dotenv, ini or binary";

impl Config {
    /// Use `keys` (instead of the process environment) to find age identities for SOPS files.
    pub fn with_sops_keys(mut self, keys: KeyEnv) -> Self {
        self.sops = SopsFiles::with_keys(keys);
        self
    }

    /// The labels of the `data "sops_file"` blocks.
    pub fn sops_labels(&self) -> Vec<String> {
        self.decls
            .sops_files
            .iter()
            .map(|d| d.label.clone())
            .collect()
    }

    /// The labels of the `secret` blocks.
    pub fn secret_labels(&self) -> Vec<String> {
        self.decls.secrets.iter().map(|d| d.label.clone()).collect()
    }

    /// A `data "sops_file"` block: its object, read and decrypted (or taken from the files
    /// already read).
    pub(super) fn eval_sops(
        &self,
        i: usize,
        address: &str,
        resolver: &dyn Resolve,
        diags: &mut Vec<Diag>,
    ) -> SopsOutcome {
        use super::evaluation::Outcome;
        let d = &self.decls.sops_files[i];
        let path = self.string_attr(&d.source_file, resolver, diags);
        let input_type = match &d.input_type {
            None => Outcome::Known(None),
            Some(a) => match self.string_attr(a, resolver, diags) {
                Outcome::Known(t) => match Format::from_name(&t) {
                    Some(f) => Outcome::Known(Some(f)),
                    None => {
                        diags.push(
                            Diag::error(
                                a.span,
                                format!("`input_type` of {address} must be {INPUT_TYPES}"),
                            )
                            .help("leave it out to choose the format from the file name (.yaml/.yml, .json, .env, .ini, anything else binary), as sops does"),
                        );
                        Outcome::Failed
                    }
                },
                Outcome::Unknown => Outcome::Unknown,
                Outcome::Failed => Outcome::Failed,
            },
        };
        let (path, format) = match (path, input_type) {
            (Outcome::Failed, _) | (_, Outcome::Failed) => return SopsOutcome::Failed,
            (Outcome::Known(p), Outcome::Known(f)) => {
                let format = f.unwrap_or_else(|| Format::from_path(std::path::Path::new(&p)));
                (p, format)
            }
            (p, _) => {
                return SopsOutcome::Value(object(
                    match p {
                        Outcome::Known(p) => Value::String(p),
                        _ => Value::Unknown,
                    },
                    Value::Unknown,
                    Value::Unknown,
                    Value::Unknown,
                ));
            }
        };
        let key = (i, path.clone(), format);
        if let Some(v) = self
            .sops
            .read
            .lock()
            .ok()
            .and_then(|m| m.get(&key).cloned())
        {
            return SopsOutcome::Value(v);
        }
        let span = d.source_file.span;
        let file = match self.files.read_path(&path, MAX_SOPS_FILE_BYTES) {
            Ok(f) => f,
            Err(e) => {
                let shown = format!("`{path}`");
                let what = match &e {
                    FileError::TooLarge { limit } => format!(
                        "{shown} is larger than {}, the most read from one SOPS file",
                        limits::bytes(*limit)
                    ),
                    e => e.describe(&shown),
                };
                diags.push(
                    Diag::error(span, format!("{address}: {what}"))
                        .maybe_help(e.help().map(String::from)),
                );
                return SopsOutcome::Failed;
            }
        };
        let bytes = zeroize::Zeroizing::new(file.bytes);
        let timer = std::time::Instant::now();
        let decrypted =
            sops::decrypt_with(&bytes, format, &path, || Identities::load(&self.sops.keys));
        drop(bytes);
        let decrypted = match decrypted {
            Ok(d) => d,
            Err(SopsError::NoMatchingKey(_)) if self.mode == Mode::Validate => {
                // No key here (a CI validate job has none): known at plan time.
                tracing::debug!(
                    address,
                    "no age identity for the SOPS file: unknown until plan"
                );
                return SopsOutcome::NoKey(object(
                    Value::String(path),
                    Value::String(format.name().to_string()),
                    Value::Unknown,
                    Value::Unknown,
                ));
            }
            Err(e) => {
                diags.push(sops_error(d.header, address, e, file.outside));
                return SopsOutcome::Failed;
            }
        };
        let origin = Origin::Data(address.to_string());
        let flat = decrypted.data();
        if flat.len() > limits::MAX_COLLECTION_ITEMS {
            diags.push(Diag::error(
                d.header,
                format!(
                    "{address}: {}",
                    limits::too_many_items(&format!("the data of `{path}`"))
                ),
            ));
            return SopsOutcome::Failed;
        }
        let data: std::collections::BTreeMap<String, Value> = flat
            .into_iter()
            .map(|(k, v)| {
                let text = String::from_utf8_lossy(v.expose()).into_owned();
                (k, Value::String(text).mark(&origin))
            })
            .collect();
        let data = Value::Object(data);
        // Keys are public in a committed SOPS file; outside the reviewed directory, nothing is.
        let data = if file.outside {
            data.mark(&origin)
        } else {
            data
        };
        let raw = match decrypted.raw() {
            Ok(r) => Value::String(String::from_utf8_lossy(r.expose()).into_owned()).mark(&origin),
            Err(e) => {
                diags.push(sops_error(d.header, address, e, file.outside));
                return SopsOutcome::Failed;
            }
        };
        tracing::debug!(
            address,
            format = format.name(),
            elapsed_ms = timer.elapsed().as_secs_f64() * 1e3,
            "SOPS file decrypted"
        );
        let value = object(
            Value::String(path),
            Value::String(format.name().to_string()),
            data,
            raw,
        );
        if let Ok(mut m) = self.sops.read.lock() {
            m.insert(key, value.clone());
        }
        SopsOutcome::Value(value)
    }
}

fn object(source_file: Value, input_type: Value, data: Value, raw: Value) -> Value {
    Value::Object(
        [
            ("source_file", source_file),
            ("input_type", input_type),
            ("data", data),
            ("raw", raw),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect(),
    )
}

/// A SOPS error as a diagnostic at the data block: the first line of the message, the rest
/// (recipients, where identities were looked for) as notes, and what to do. For a file outside
/// the configuration directory (`outside`), whose key names are not public, a key path is not
/// repeated.
fn sops_error(header: super::source::Span, address: &str, e: SopsError, outside: bool) -> Diag {
    let e = match e {
        SopsError::MalformedValue { file, at, .. } if outside => SopsError::Encrypt {
            file: format!("{file}{at}"),
            message: "malformed encrypted value (its key is not shown: the file is outside the configuration directory)".into(),
        },
        SopsError::Syntax { file, at, .. } if outside => SopsError::Encrypt {
            file: format!("{file}{at}"),
            message: "cannot be parsed (the parser's message is not shown: the file is outside the configuration directory)".into(),
        },
        SopsError::Tampered { file, at, .. } if outside => SopsError::Encrypt {
            file: format!("{file}{at}"),
            message: "an encrypted value was tampered with: AES-GCM authentication failed under the file's data key (its key is not shown: the file is outside the configuration directory)".into(),
        },
        e => e,
    };
    let help = match &e {
        SopsError::NotSops { .. } => Some(
            "encrypt it first: `sops encrypt FILE` or `ssmform sops encrypt FILE --age RECIPIENT`"
                .to_string(),
        ),
        SopsError::NoMatchingKey(_) => Some(format!(
            "give ssmform an age identity for one of these recipients: {} (the identity itself), {} (a file of identities), {} (an SSH key), or {}",
            sops::age::SOPS_AGE_KEY,
            sops::age::SOPS_AGE_KEY_FILE,
            sops::age::SOPS_AGE_SSH_PRIVATE_KEY_FILE,
            "$XDG_CONFIG_HOME/sops/age/keys.txt"
        )),
        SopsError::Tampered { .. } | SopsError::MacMismatch { .. } | SopsError::MacTampered { .. } => {
            Some("the file was changed after it was encrypted; restore it from version control or re-encrypt it with sops".to_string())
        }
        SopsError::KeyFile { .. } | SopsError::BadIdentity { .. } => Some(
            "the age identities come from SOPS_AGE_KEY, SOPS_AGE_KEY_FILE, SOPS_AGE_SSH_PRIVATE_KEY_FILE and $XDG_CONFIG_HOME/sops/age/keys.txt, as sops looks for them".to_string(),
        ),
        _ => None,
    };
    let text = diagnostics_safe(&e.to_string());
    let mut lines = text.lines();
    let first = lines.next().unwrap_or_default().to_string();
    let mut d = Diag::error(header, format!("{address}: {first}")).maybe_help(help);
    // The rest of a multi-line message: headings ("the file is encrypted for:") with their items.
    let mut note: Option<String> = None;
    for line in lines {
        let line = line.trim();
        if line.ends_with(':') || line.starts_with("note:") {
            if let Some(n) = note.take() {
                d = d.note(n, None);
            }
            note = Some(line.trim_start_matches("note:").trim().to_string());
        } else {
            match &mut note {
                Some(n) if n.ends_with(':') => {
                    n.push(' ');
                    n.push_str(line);
                }
                Some(n) => {
                    n.push_str(", ");
                    n.push_str(line);
                }
                None => note = Some(line.to_string()),
            }
        }
    }
    if let Some(n) = note {
        d = d.note(n, None);
    }
    d
}

/// Control characters out of a message (a key path or a file name could hold them).
fn diagnostics_safe(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() && c != '\n' { '?' } else { c })
        .collect()
}
