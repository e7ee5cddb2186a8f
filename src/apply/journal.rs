//! The apply journal: `.ssmform/journal/<run-id>.jsonl` under the configuration directory.
//!
//! Before each write an `intent` line, after it an `outcome` line, each written with one `write`
//! call and synced to disk before the executor takes its next step, so that a run killed at any
//! moment leaves a journal from which the last state of every change can be read: a change with an
//! intent and no outcome was in flight (it may or may not have been applied; a new `plan` tells).
//! A torn last line (the process died inside a write) is ignored by [`read`].
//!
//! The journal holds addresses, names, versions, actions, waves, keyed fingerprints, RequestIds and
//! error codes; never content and never API error messages (which can quote request parameters).
//! It is created with mode 0600.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::plan::{Action, OpKind};
use crate::secret::Fingerprint;

/// One line of the journal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Entry {
    RunStart {
        run_id: String,
        time: String,
        tool_version: String,
        config_dir: String,
        /// The plan file applied, when one was.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        plan_file: Option<String>,
        changes: usize,
    },
    Intent {
        address: String,
        secret_name: String,
        version_id: String,
        action: Action,
        wave: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        live_fingerprint: Option<Fingerprint>,
        desired_fingerprint: Fingerprint,
        time: String,
    },
    Outcome {
        address: String,
        action: Action,
        wave: u32,
        result: OutcomeKind,
        /// `applied`, `not_applied` or `unknown`: what the run reports for this change.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        verdict: Option<Verdict>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error_code: Option<String>,
        desired_fingerprint: Fingerprint,
        time: String,
    },
    /// Before an operation on a whole secret (or a version deletion).
    OpIntent {
        /// The operation's id in the plan (`secret.db#enable`).
        id: String,
        address: String,
        secret_name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        version_id: Option<String>,
        op: OpKind,
        time: String,
    },
    /// After it, or instead of it when it was not attempted.
    OpOutcome {
        id: String,
        address: String,
        op: OpKind,
        result: OutcomeKind,
        verdict: Verdict,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error_code: Option<String>,
        time: String,
    },
    RunEnd {
        time: String,
        applied: usize,
        failed: usize,
        skipped: usize,
        /// Changes whose write may or may not have taken effect.
        #[serde(default)]
        unknown: usize,
        interrupted: bool,
    },
}

/// What a run reports about a change, in three words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The desired content is live (written, or verified by reading it back).
    Applied,
    /// Nothing was written, or reading back showed the write did not land.
    NotApplied,
    /// A write may have reached the service and reading it back did not tell.
    Unknown,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Applied => "applied",
            Verdict::NotApplied => "not applied",
            Verdict::Unknown => "unknown",
        }
    }
}

/// How a change ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    /// The write succeeded.
    Applied,
    /// The write failed (see `error_code`).
    Failed,
    /// The live value moved since the plan; nothing was written.
    Stale,
    /// Not attempted because a change it depends on did not succeed.
    Skipped,
    /// The write may have reached the service, and reading the value back could not tell whether
    /// it took effect: a new `plan` shows the live state.
    Unknown,
}

/// An open journal, shared by the executor's tasks.
#[derive(Clone, Debug)]
pub struct Journal {
    inner: Arc<Mutex<std::fs::File>>,
    path: PathBuf,
}

impl Journal {
    /// Create `<config_dir>/.ssmform/journal/<run_id>.jsonl` (mode 0600), making the directories.
    pub fn create(config_dir: &Path, run_id: &str) -> std::io::Result<Journal> {
        crate::statedir::ensure(config_dir)?;
        let dir = crate::statedir::journal_dir(config_dir);
        crate::privfile::create_dir_all(&dir)?;
        let path = dir.join(format!("{run_id}.jsonl"));
        let mut options = std::fs::OpenOptions::new();
        options.append(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options
            .open(&path)
            .map_err(|e| crate::privfile::with_path(&path, e))?;
        Ok(Journal {
            inner: Arc::new(Mutex::new(file)),
            path,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Append one entry and sync it to disk. Blocking: call from a blocking context
    /// ([`Journal::append`] does that for async callers).
    pub fn append_blocking(&self, entry: &Entry) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(entry).map_err(std::io::Error::other)?;
        line.push(b'\n');
        let mut f = self.inner.lock().expect("journal lock");
        f.write_all(&line)?;
        f.sync_data()
    }

    /// Append one entry and sync it, off the async threads.
    pub async fn append(&self, entry: Entry) -> std::io::Result<()> {
        let journal = self.clone();
        tokio::task::spawn_blocking(move || journal.append_blocking(&entry))
            .await
            .map_err(std::io::Error::other)?
    }
}

/// A run id: UTC time to the second plus random bits, so journals sort by time and never collide.
pub fn new_run_id() -> String {
    use rand::RngExt;
    let now = crate::clock::unix_now();
    let (y, m, d) = crate::clock::civil_date(now);
    let sod = now.rem_euclid(86_400);
    let suffix: u32 = rand::rng().random();
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z-{suffix:08x}",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

/// Every complete entry of a journal file; a torn last line is ignored, damage elsewhere is an error.
pub fn read(path: &Path) -> std::io::Result<Vec<Entry>> {
    let text = std::fs::read_to_string(path)?;
    let mut out = Vec::new();
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    for (i, line) in lines.iter().enumerate() {
        let last = i + 1 == lines.len();
        match serde_json::from_str::<Entry>(line.trim_end()) {
            Ok(e) => out.push(e),
            Err(_) if last && !line.ends_with('\n') => break,
            Err(e) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{}: line {}: {e}", path.display(), i + 1),
                ));
            }
        }
    }
    Ok(out)
}

/// The last known state of each change in a journal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LastState {
    /// An intent without an outcome: the write was in flight when the run ended.
    InFlight,
    Done(OutcomeKind),
}

/// Address (or, for operations on whole secrets, the operation's id) → last state, from a
/// journal's entries.
pub fn last_states(entries: &[Entry]) -> BTreeMap<String, LastState> {
    let mut out = BTreeMap::new();
    for e in entries {
        match e {
            Entry::Intent { address, .. } => {
                out.insert(address.clone(), LastState::InFlight);
            }
            Entry::Outcome {
                address, result, ..
            } => {
                out.insert(address.clone(), LastState::Done(*result));
            }
            Entry::OpIntent { id, .. } => {
                out.insert(id.clone(), LastState::InFlight);
            }
            Entry::OpOutcome { id, result, .. } => {
                out.insert(id.clone(), LastState::Done(*result));
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::PlanKey;

    fn fp() -> Fingerprint {
        Fingerprint::of_labelled(&PlanKey::from_passphrase(b"k"), "x", b"y")
    }

    fn intent(addr: &str) -> Entry {
        Entry::Intent {
            address: addr.into(),
            secret_name: "n".into(),
            version_id: "v1".into(),
            action: Action::Update,
            wave: 1,
            live_fingerprint: Some(fp()),
            desired_fingerprint: fp(),
            time: "t".into(),
        }
    }

    #[test]
    fn entries_round_trip_and_torn_tail_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::create(dir.path(), "run1").unwrap();
        j.append_blocking(&intent("secret.a")).unwrap();
        j.append_blocking(&Entry::Outcome {
            address: "secret.a".into(),
            action: Action::Update,
            wave: 1,
            result: OutcomeKind::Applied,
            verdict: Some(Verdict::Applied),
            request_id: Some("rid".into()),
            error_code: None,
            desired_fingerprint: fp(),
            time: "t".into(),
        })
        .unwrap();
        j.append_blocking(&intent("secret.b")).unwrap();
        // a torn line, as a kill inside a write would leave
        std::fs::OpenOptions::new()
            .append(true)
            .open(j.path())
            .unwrap()
            .write_all(b"{\"type\":\"intent\",\"addr")
            .unwrap();
        let entries = read(j.path()).unwrap();
        assert_eq!(entries.len(), 3);
        let states = last_states(&entries);
        assert_eq!(states["secret.a"], LastState::Done(OutcomeKind::Applied));
        assert_eq!(states["secret.b"], LastState::InFlight);
    }

    #[test]
    fn damage_before_the_last_line_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("j.jsonl");
        std::fs::write(&p, "garbage\n{\"type\":\"run_end\"}\n").unwrap();
        assert!(read(&p).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn journal_is_private_and_never_reused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::create(dir.path(), "r").unwrap();
        let mode = std::fs::metadata(j.path()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(Journal::create(dir.path(), "r").is_err());
    }

    #[test]
    fn run_ids_sort_by_time_and_differ() {
        let a = new_run_id();
        let b = new_run_id();
        assert_ne!(a, b);
        assert_eq!(a.len(), "20261129T154346Z-0123abcd".len());
    }
}
