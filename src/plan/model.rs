//! The plan model: plain data describing what apply would do.
//!
//! Nothing here does I/O or formatting. Renderers take a `&Plan`; the executor takes a `&Plan`; neither
//! knows the other. No field holds plaintext of a sensitive secret: content is described by kind, size and
//! keyed fingerprint, JSON objects by key names, and only `sensitive = false` secrets carry a line diff
//! (which is never written to a plan file).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::secret::{ContentKind, Fingerprint};

/// What apply will do to one secret version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// The version exists and holds the declared content.
    NoOp,
    /// The version exists with other content: `UpdateSecret` overwrites it in place.
    Update,
    /// The secret exists but not this version: `PutSecretValue` adds it.
    CreateVersion,
    /// The secret does not exist: `CreateSecret` creates it with this version.
    CreateSecret,
}

impl Action {
    /// The symbol shown in front of a change, as Terraform does.
    pub fn symbol(self) -> &'static str {
        match self {
            Action::NoOp => " ",
            Action::Update => "~",
            Action::CreateVersion | Action::CreateSecret => "+",
        }
    }

    /// The API action that performs it.
    pub fn api_action(self) -> Option<&'static str> {
        match self {
            Action::NoOp => None,
            Action::Update => Some("UpdateSecret"),
            Action::CreateVersion => Some("PutSecretValue"),
            Action::CreateSecret => Some("CreateSecret"),
        }
    }

    /// Terraform's word for the action in machine-readable output (`create`, `update`, `no-op`).
    pub fn terraform_action(self) -> &'static str {
        match self {
            Action::NoOp => "no-op",
            Action::Update => "update",
            Action::CreateVersion | Action::CreateSecret => "create",
        }
    }

    /// What happens, as a phrase completing "secret.x will be ...".
    pub fn phrase(self) -> &'static str {
        match self {
            Action::NoOp => "left unchanged",
            Action::Update => "updated in place",
            Action::CreateVersion => "created as a new version",
            Action::CreateSecret => "created as a new secret",
        }
    }

    pub fn is_create(self) -> bool {
        matches!(self, Action::CreateVersion | Action::CreateSecret)
    }

    pub fn is_change(self) -> bool {
        self != Action::NoOp
    }
}

/// Kind, size and fingerprint of one side of a change: everything shown about a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContentSummary {
    pub kind: ContentKind,
    /// Bytes of content (decoded bytes for binary content).
    pub size: usize,
    pub fingerprint: Fingerprint,
}

/// How the content changes, as far as it can be told without revealing it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentDiff {
    /// Nothing to compare: unchanged, created, or the live value could not be read.
    None,
    /// Sizes and fingerprints only (sensitive text that is not a JSON object on both sides, binary).
    Opaque,
    /// The content changes from string to binary or back.
    KindChange,
    /// Both sides are JSON objects: which keys were added, removed or changed; values never shown.
    JsonKeys(KeyDiff),
    /// `sensitive = false`: a real line diff. Never written to a plan file.
    Lines(LineDiff),
}

/// Key-level difference of two JSON objects. Nested objects are compared key by key; a nested key
/// is named by its path (`db.host`). Only key names that derive from nothing sensitive are named;
/// the others are counted in `hidden`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyDiff {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<String>,
    pub unchanged: usize,
    #[serde(default, skip_serializing_if = "HiddenKeys::is_empty")]
    pub hidden: HiddenKeys,
}

/// Keys whose names are secret: every key only the live side has (the live content is
/// sensitive), and desired keys built from sensitive values. Shown as `(sensitive key)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HiddenKeys {
    pub added: usize,
    pub removed: usize,
    pub changed: usize,
}

impl HiddenKeys {
    pub fn is_empty(&self) -> bool {
        self.added + self.removed + self.changed == 0
    }
}

/// A line diff of non-sensitive text: changed lines with a little context, long runs of unchanged
/// lines folded into a count.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineDiff {
    pub lines: Vec<DiffLine>,
    /// The live side is not shown (ssmform did not write it as non-sensitive content): `lines`
    /// are the desired content only, every one `Added`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub live_hidden: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiffLine {
    Same(String),
    Added(String),
    Removed(String),
    /// This many unchanged lines are not shown.
    Hidden(usize),
}

/// One managed secret version and what apply will do to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// `secret.<label>`.
    pub address: String,
    pub secret_name: String,
    pub version_id: String,
    pub action: Action,
    /// Apply wave (1-based) for changes; 0 for no-ops.
    pub wave: u32,
    /// The live content, when it exists and could be read.
    pub live: Option<ContentSummary>,
    pub desired: ContentSummary,
    pub diff: ContentDiff,
    /// The live content could not be read (the secret is Disabled): the update is not verified.
    pub unverified: bool,
    /// `sensitive = false` in the configuration.
    pub sensitive: bool,
    /// The description a created secret gets (not secret).
    pub description: Option<String>,
    /// Changed secrets this one waits for (directly or through anything unchanged).
    pub depends_on: Vec<String>,
}

impl Change {
    /// The label part of the address (`db_url` for `secret.db_url`).
    pub fn label(&self) -> &str {
        self.address
            .strip_prefix("secret.")
            .unwrap_or(&self.address)
    }

    /// The name of the content attribute for the desired kind.
    pub fn content_attribute(&self) -> &'static str {
        match self.desired.kind {
            ContentKind::String => "secret_string",
            ContentKind::Binary => "secret_binary",
        }
    }
}

/// Severity of a plan-level message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Warning,
    Error,
}

/// A warning or error attached to the plan, optionally about one address and one place in the
/// configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    pub severity: Severity,
    pub summary: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<NoteLocation>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoteLocation {
    pub file: String,
    pub line: usize,
    pub column: usize,
}

impl From<&crate::config::Diagnostic> for Note {
    /// A configuration diagnostic as a plan note: its notes and help become the free text of
    /// `detail` (a note with a place in the configuration starts with its `file:line:col`).
    fn from(d: &crate::config::Diagnostic) -> Note {
        let lines: Vec<String> = d
            .notes
            .iter()
            .map(|n| match &n.location {
                Some(l) => format!(
                    "{}:{}:{}: {}",
                    l.file.display(),
                    l.line,
                    l.column,
                    n.message
                ),
                None => n.message.clone(),
            })
            .chain(d.help.iter().cloned())
            .collect();
        Note {
            severity: if d.is_error() {
                Severity::Error
            } else {
                Severity::Warning
            },
            summary: d.message.clone(),
            detail: (!lines.is_empty()).then(|| lines.join("\n")),
            address: None,
            location: d.location.as_ref().map(|l| NoteLocation {
                file: l.file.display().to_string(),
                line: l.line,
                column: l.column,
            }),
        }
    }
}

/// Where a plan came from and what it was computed against.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanMeta {
    pub tool_version: String,
    /// Milliseconds since the Unix epoch.
    pub created_at_ms: i64,
    /// The configuration directory, as given on the command line.
    pub config_dir: String,
    /// The same directory as an absolute path, when it could be resolved: a plan applied from
    /// another working directory still finds its configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_dir_absolute: Option<String>,
    /// SHA-256 of the configuration files (hex).
    pub config_digest: String,
    /// Keyed fingerprints of every variable's value.
    pub variables: BTreeMap<String, Fingerprint>,
    pub endpoint: String,
    pub region: String,
    /// `--target` addresses, empty for a full plan.
    pub targets: Vec<String>,
}

/// The whole plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub meta: PlanMeta,
    /// Every managed secret in scope, no-ops included, in configuration order.
    pub changes: Vec<Change>,
    pub notes: Vec<Note>,
}

/// Counts for the summary line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub create: usize,
    pub update: usize,
    pub unchanged: usize,
    pub waves: u32,
}

impl Plan {
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.changes {
            match c.action {
                Action::NoOp => s.unchanged += 1,
                Action::Update => s.update += 1,
                Action::CreateVersion | Action::CreateSecret => s.create += 1,
            }
            s.waves = s.waves.max(c.wave);
        }
        s
    }

    /// The changes that do something, in wave order (stable within a wave).
    pub fn actions(&self) -> Vec<&Change> {
        let mut v: Vec<&Change> = self
            .changes
            .iter()
            .filter(|c| c.action.is_change())
            .collect();
        v.sort_by_key(|c| c.wave);
        v
    }

    pub fn has_changes(&self) -> bool {
        self.changes.iter().any(|c| c.action.is_change())
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Note> {
        self.notes
            .iter()
            .filter(|n| n.severity == Severity::Warning)
    }

    pub fn errors(&self) -> impl Iterator<Item = &Note> {
        self.notes.iter().filter(|n| n.severity == Severity::Error)
    }
}

impl Summary {
    /// The summary line, a stable interface: `Plan: X to create, Y to update, Z unchanged.`
    pub fn line(&self) -> String {
        format!(
            "Plan: {} to create, {} to update, {} unchanged.",
            self.create, self.update, self.unchanged
        )
    }

    pub fn changes(&self) -> usize {
        self.create + self.update
    }
}
