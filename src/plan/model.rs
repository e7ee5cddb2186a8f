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

/// What kind of difference between the configuration and the account a change or a note is
/// about. The JSON names (`content_differs`, ...) are a stable interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Drift {
    /// The version holds other content.
    ContentDiffers,
    /// The secret is Disabled, so whether its content differs cannot be read.
    ContentUnreadable,
    /// The secret exists without this version.
    VersionMissing,
    /// The secret does not exist.
    SecretMissing,
    /// The secret is scheduled for deletion (PendingDelete).
    PendingDeletion,
    /// The secret is Disabled against the configuration's `enabled = true`.
    Disabled,
    /// The secret is Enabled against the configuration's `enabled = false`.
    Enabled,
    /// The live description is not the declared one.
    DescriptionDiffers,
    /// The secret lacks a declared tag (tags are set only at creation).
    TagsDiffer,
    /// The secret is encrypted with another KMS key than the declared one.
    KmsKeyDiffers,
    /// A secret that carries the configuration's `default_tags` or matches its `manage_prefix`,
    /// which no block declares.
    OrphanSecret,
    /// A version of a declared secret that no block declares.
    UndeclaredVersion,
    /// A `removed` block names a secret or version that still exists.
    Removed,
}

impl Drift {
    /// Every kind, in the order summaries list them.
    pub const ALL: [Drift; 13] = [
        Drift::ContentDiffers,
        Drift::ContentUnreadable,
        Drift::VersionMissing,
        Drift::SecretMissing,
        Drift::PendingDeletion,
        Drift::Disabled,
        Drift::Enabled,
        Drift::DescriptionDiffers,
        Drift::TagsDiffer,
        Drift::KmsKeyDiffers,
        Drift::OrphanSecret,
        Drift::UndeclaredVersion,
        Drift::Removed,
    ];

    /// The stable name (as in JSON).
    pub fn as_str(self) -> &'static str {
        match self {
            Drift::ContentDiffers => "content_differs",
            Drift::ContentUnreadable => "content_unreadable",
            Drift::VersionMissing => "version_missing",
            Drift::SecretMissing => "secret_missing",
            Drift::PendingDeletion => "pending_deletion",
            Drift::Disabled => "disabled",
            Drift::Enabled => "enabled",
            Drift::DescriptionDiffers => "description_differs",
            Drift::TagsDiffer => "tags_differ",
            Drift::KmsKeyDiffers => "kms_key_differs",
            Drift::OrphanSecret => "orphan_secret",
            Drift::UndeclaredVersion => "undeclared_version",
            Drift::Removed => "removed",
        }
    }
}

impl std::fmt::Display for Drift {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
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
    /// A new version of a secret another change of this plan creates.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub secret_created_here: bool,
    /// The description a created secret gets (not secret).
    pub description: Option<String>,
    /// Changed secrets this one waits for (directly or through anything unchanged).
    pub depends_on: Vec<String>,
    /// `tags` (with the provider's `default_tags`) a created secret gets.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// `kms_key_id` a created secret gets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
}

impl Change {
    /// The kind of difference, for changes that do something.
    pub fn drift(&self) -> Option<Drift> {
        match self.action {
            Action::NoOp => None,
            Action::Update if self.unverified => Some(Drift::ContentUnreadable),
            Action::Update => Some(Drift::ContentDiffers),
            Action::CreateVersion if self.secret_created_here => Some(Drift::SecretMissing),
            Action::CreateVersion => Some(Drift::VersionMissing),
            Action::CreateSecret => Some(Drift::SecretMissing),
        }
    }

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

/// What apply does to a whole secret, or to a version it deletes, beside writing content.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum OpKind {
    /// RestoreSecret: a secret pending deletion is declared again. Runs before any write.
    Restore,
    /// UpdateDescription, after the writes (keeping ssmform's own record line, if any).
    UpdateDescription,
    /// EnableSecret, after the writes.
    Enable,
    /// DisableSecret, after the writes (a Disabled secret can still be written).
    Disable,
    /// DeleteSecretVersion, after the writes (before them when the secret would otherwise pass
    /// SSM's limit of versions).
    DeleteVersion,
    /// DisableSecret (when Enabled) then DeleteSecret with the recovery window, after every
    /// other step.
    DeleteSecret,
    /// Nothing: drift ssmform reports and cannot or may not change.
    Report,
}

impl OpKind {
    /// The stable name (as in JSON and the journal).
    pub fn as_str(self) -> &'static str {
        match self {
            OpKind::Restore => "restore",
            OpKind::UpdateDescription => "update_description",
            OpKind::Enable => "enable",
            OpKind::Disable => "disable",
            OpKind::DeleteVersion => "delete_version",
            OpKind::DeleteSecret => "delete_secret",
            OpKind::Report => "report",
        }
    }

    /// The API actions that perform it, in order.
    pub fn api_actions(self) -> &'static [&'static str] {
        match self {
            OpKind::Restore => &["RestoreSecret"],
            OpKind::UpdateDescription => &["UpdateDescription"],
            OpKind::Enable => &["EnableSecret"],
            OpKind::Disable => &["DisableSecret"],
            OpKind::DeleteVersion => &["DeleteSecretVersion"],
            OpKind::DeleteSecret => &["DisableSecret", "DeleteSecret"],
            OpKind::Report => &[],
        }
    }

    /// Terraform's word in machine-readable output.
    pub fn terraform_action(self) -> &'static str {
        match self {
            OpKind::DeleteVersion | OpKind::DeleteSecret => "delete",
            OpKind::Report => "no-op",
            _ => "update",
        }
    }

    pub fn is_delete(self) -> bool {
        matches!(self, OpKind::DeleteVersion | OpKind::DeleteSecret)
    }
}

/// When, relative to the content writes, a secret operation runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Before every wave of writes (restores; version deletions that make room).
    Before,
    /// After every wave of writes (descriptions, status, version deletions).
    After,
    /// Last of all (secret deletions).
    Last,
}

/// One operation on a whole secret (or one version deletion), or drift reported without one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretOp {
    /// The first block declaring the secret (`secret.db`), `removed.<name>` for a removed block,
    /// `orphan.<name>` for a secret no block declares.
    pub address: String,
    pub secret_name: String,
    /// The version deleted or reported, for version operations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    pub op: OpKind,
    pub drift: Drift,
    pub phase: Phase,
    /// For UpdateDescription: the declared description (configuration data, not secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// For DeleteSecret: the recovery window in days (0: at once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_window_days: Option<u32>,
    /// For DeleteSecret: the secret was Enabled at plan time (DisableSecret first).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub enabled: bool,
    /// What differs, in words, for reports (declared data only: never a live description, tag
    /// value or content).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<NoteLocation>,
}

impl SecretOp {
    /// An operation with nothing but its subject, kind, drift and phase set; the optional fields
    /// are filled in with struct update syntax where an operation needs them.
    pub fn new(
        address: impl Into<String>,
        secret_name: impl Into<String>,
        op: OpKind,
        drift: Drift,
        phase: Phase,
    ) -> SecretOp {
        SecretOp {
            address: address.into(),
            secret_name: secret_name.into(),
            version_id: None,
            op,
            drift,
            phase,
            description: None,
            recovery_window_days: None,
            enabled: false,
            detail: None,
            location: None,
        }
    }

    /// A key unique within a plan: `secret.db#enable`, `secret.db#delete_version:v3`.
    pub fn id(&self) -> String {
        match &self.version_id {
            Some(v) => format!("{}#{}:{v}", self.address, self.op.as_str()),
            None => format!("{}#{}", self.address, self.op.as_str()),
        }
    }

    pub fn is_action(&self) -> bool {
        self.op != OpKind::Report
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
    /// The kind of drift the note is about, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift: Option<Drift>,
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
            drift: d
                .kind
                .as_deref()
                .and_then(|k| Drift::ALL.into_iter().find(|d| d.as_str() == k)),
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
    /// Operations on whole secrets and version deletions, and drift reported without an
    /// operation, in configuration order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secret_ops: Vec<SecretOp>,
    pub notes: Vec<Note>,
}

/// Counts for the summary line.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub create: usize,
    /// Versions updated, and secrets whose description or status changes or that are restored
    /// (one each, however many of those).
    pub update: usize,
    /// Secrets and versions deleted.
    pub delete: usize,
    pub unchanged: usize,
    pub waves: u32,
    /// Changes, operations and reports by kind of drift.
    pub drift: BTreeMap<Drift, usize>,
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
            if let Some(d) = c.drift() {
                *s.drift.entry(d).or_default() += 1;
            }
        }
        // A secret this plan creates counts once, as a creation, whatever follows it.
        let mut updated: std::collections::BTreeSet<&str> = self
            .changes
            .iter()
            .filter(|c| c.action == Action::CreateSecret)
            .map(|c| c.secret_name.as_str())
            .collect();
        for o in &self.secret_ops {
            *s.drift.entry(o.drift).or_default() += 1;
            match o.op {
                OpKind::Report => {}
                OpKind::DeleteSecret | OpKind::DeleteVersion => s.delete += 1,
                _ => {
                    if updated.insert(o.secret_name.as_str()) {
                        s.update += 1;
                    }
                }
            }
        }
        s
    }

    /// The secret operations that do something, in the order apply runs them within a phase.
    pub fn ops_in(&self, phase: Phase) -> Vec<&SecretOp> {
        let mut v: Vec<&SecretOp> = self
            .secret_ops
            .iter()
            .filter(|o| o.is_action() && o.phase == phase)
            .collect();
        v.sort_by_key(|o| o.op);
        v
    }

    /// Whether the live secrets differ from the configuration in any way, reports included
    /// (what `--detailed-exitcode` tells).
    pub fn has_drift(&self) -> bool {
        self.has_changes() || !self.secret_ops.is_empty()
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

    /// Whether apply would do anything.
    pub fn has_changes(&self) -> bool {
        self.changes.iter().any(|c| c.action.is_change())
            || self.secret_ops.iter().any(SecretOp::is_action)
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
    /// The summary line, a stable interface:
    /// `Plan: X to create, Y to update, Z to delete, W unchanged.`
    pub fn line(&self) -> String {
        format!(
            "Plan: {} to create, {} to update, {} to delete, {} unchanged.",
            self.create, self.update, self.delete, self.unchanged
        )
    }

    pub fn changes(&self) -> usize {
        self.create + self.update + self.delete
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(name: &str, op: OpKind, drift: Drift, phase: Phase) -> SecretOp {
        SecretOp::new(format!("secret.{name}"), name, op, drift, phase)
    }

    fn plan(ops: Vec<SecretOp>) -> Plan {
        Plan {
            meta: PlanMeta {
                tool_version: "0".into(),
                created_at_ms: 0,
                config_dir: ".".into(),
                config_dir_absolute: None,
                config_digest: String::new(),
                variables: BTreeMap::new(),
                endpoint: "local".into(),
                region: "ap-guangzhou".into(),
                targets: vec![],
            },
            changes: vec![],
            secret_ops: ops,
            notes: vec![],
        }
    }

    #[test]
    fn drift_kinds_have_stable_names_in_json_and_text() {
        for d in Drift::ALL {
            assert_eq!(
                serde_json::to_value(d).unwrap(),
                serde_json::json!(d.as_str())
            );
            assert_eq!(d.to_string(), d.as_str());
        }
        let names: Vec<&str> = Drift::ALL.iter().map(|d| d.as_str()).collect();
        assert_eq!(
            names,
            [
                "content_differs",
                "content_unreadable",
                "version_missing",
                "secret_missing",
                "pending_deletion",
                "disabled",
                "enabled",
                "description_differs",
                "tags_differ",
                "kms_key_differs",
                "orphan_secret",
                "undeclared_version",
                "removed"
            ]
        );
    }

    #[test]
    fn a_secret_counts_once_as_updated_and_reports_count_only_as_drift() {
        let p = plan(vec![
            op("a", OpKind::Restore, Drift::PendingDeletion, Phase::Before),
            op("a", OpKind::Enable, Drift::PendingDeletion, Phase::After),
            op(
                "b",
                OpKind::UpdateDescription,
                Drift::DescriptionDiffers,
                Phase::After,
            ),
            op("c", OpKind::DeleteSecret, Drift::Removed, Phase::Last),
            op("d", OpKind::Report, Drift::OrphanSecret, Phase::After),
        ]);
        let s = p.summary();
        assert_eq!((s.create, s.update, s.delete, s.unchanged), (0, 2, 1, 0));
        assert_eq!(
            s.line(),
            "Plan: 0 to create, 2 to update, 1 to delete, 0 unchanged."
        );
        assert_eq!(s.drift[&Drift::PendingDeletion], 2);
        assert_eq!(s.drift[&Drift::OrphanSecret], 1);
        assert!(p.has_changes());
        let only_reports = plan(vec![op(
            "d",
            OpKind::Report,
            Drift::OrphanSecret,
            Phase::After,
        )]);
        assert!(!only_reports.has_changes() && only_reports.has_drift());
    }

    #[test]
    fn within_a_phase_operations_run_in_kind_order() {
        let p = plan(vec![
            op(
                "a",
                OpKind::DeleteVersion,
                Drift::UndeclaredVersion,
                Phase::After,
            ),
            op("a", OpKind::Disable, Drift::Enabled, Phase::After),
            op(
                "a",
                OpKind::UpdateDescription,
                Drift::DescriptionDiffers,
                Phase::After,
            ),
            op("b", OpKind::Restore, Drift::PendingDeletion, Phase::Before),
            op("c", OpKind::Report, Drift::TagsDiffer, Phase::After),
        ]);
        let after: Vec<OpKind> = p.ops_in(Phase::After).iter().map(|o| o.op).collect();
        assert_eq!(
            after,
            [
                OpKind::UpdateDescription,
                OpKind::Disable,
                OpKind::DeleteVersion
            ]
        );
        assert_eq!(p.ops_in(Phase::Before).len(), 1);
        assert!(p.ops_in(Phase::Last).is_empty());
    }
}
