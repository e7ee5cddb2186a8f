//! The Terraform-style block that describes one change, as lines with a mark and an indentation,
//! shared by the text and Markdown renderers (which differ only in where the mark goes and in colour).

use std::collections::BTreeMap;

use crate::plan::model::{
    Action, Change, ContentDiff, ContentSummary, DiffLine, KeyDiff, OpKind, Plan, SecretOp,
};
use crate::secret::ContentKind;

/// The symbol column of a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mark {
    None,
    Add,
    Remove,
    Change,
    /// A `#` comment line (the mark column stays empty).
    Comment,
}

impl Mark {
    pub fn of(action: Action) -> Mark {
        match action {
            Action::NoOp => Mark::None,
            Action::Update => Mark::Change,
            Action::CreateVersion | Action::CreateSecret => Mark::Add,
        }
    }

    /// The symbol in text output.
    pub fn symbol(self) -> char {
        match self {
            Mark::None | Mark::Comment => ' ',
            Mark::Add => '+',
            Mark::Remove => '-',
            Mark::Change => '~',
        }
    }
}

/// One line of a change block: `indent` spaces, the mark, a space, the text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub indent: usize,
    pub mark: Mark,
    pub text: String,
}

fn line(indent: usize, mark: Mark, text: impl Into<String>) -> Line {
    Line {
        indent,
        mark,
        text: text.into(),
    }
}

/// The lines for every change that does something, blocks separated by an empty line.
pub fn plan_lines(plan: &Plan) -> Vec<Line> {
    let multi_wave = plan.summary().waves > 1;
    let by_address: BTreeMap<&str, &Change> = plan
        .changes
        .iter()
        .map(|c| (c.address.as_str(), c))
        .collect();
    let restored_names: std::collections::BTreeSet<&str> = plan
        .secret_ops
        .iter()
        .filter(|o| o.op == OpKind::Restore)
        .map(|o| o.secret_name.as_str())
        .collect();
    let mut out = Vec::new();
    for (i, change) in plan.actions().into_iter().enumerate() {
        if i > 0 {
            out.push(line(0, Mark::None, ""));
        }
        let after = nearest_dependencies(change, &by_address);
        let restored = restored_names.contains(change.secret_name.as_str());
        change_lines(change, multi_wave, &after, restored, &mut out);
    }
    // Operations on whole secrets: the attribute changes of one secret in one block, each
    // deletion in its own, then the drift apply leaves alone.
    let mut blocks: Vec<(&str, Vec<&SecretOp>)> = Vec::new();
    let mut index: BTreeMap<&str, usize> = BTreeMap::new();
    for op in plan.secret_ops.iter().filter(|o| o.is_action()) {
        if op.op.is_delete() {
            blocks.push(("", vec![op]));
            continue;
        }
        match index.get(op.address.as_str()) {
            Some(&i) => blocks[i].1.push(op),
            None => {
                index.insert(&op.address, blocks.len());
                blocks.push((&op.address, vec![op]));
            }
        }
    }
    for (_, ops) in blocks {
        if !out.is_empty() {
            out.push(line(0, Mark::None, ""));
        }
        secret_op_lines(&ops, &mut out);
    }
    let reports: Vec<&SecretOp> = plan.secret_ops.iter().filter(|o| !o.is_action()).collect();
    if !reports.is_empty() {
        if !out.is_empty() {
            out.push(line(0, Mark::None, ""));
        }
        out.push(line(
            0,
            Mark::Comment,
            "# Drift that apply does not change:",
        ));
        for r in reports {
            out.push(line(0, Mark::Comment, format!("# {}", report_text(r))));
        }
    }
    out
}

/// One line about drift that apply leaves alone.
fn report_text(r: &SecretOp) -> String {
    let text = match (r.drift, &r.version_id) {
        (crate::plan::Drift::OrphanSecret, _) => format!(
            "secret {} is this configuration's (default_tags or manage_prefix) but no block declares it: declare it, or add removed {{ secret_name = {} }}",
            quote(&r.secret_name),
            quote(&r.secret_name)
        ),
        (crate::plan::Drift::UndeclaredVersion, Some(v)) => format!(
            "version {} of secret {} is not declared: declare it, set exclusive_versions = true, or add a removed block for it",
            quote(v),
            quote(&r.secret_name)
        ),
        (crate::plan::Drift::TagsDiffer, _) => format!(
            "secret {}: {}",
            quote(&r.secret_name),
            printable(r.detail.as_deref().unwrap_or("its tags differ"))
        ),
        _ => format!(
            "secret {}: {}",
            quote(&r.secret_name),
            printable(r.detail.as_deref().unwrap_or("differs"))
        ),
    };
    format!("{} ({}): {text}", r.address, r.drift)
}

/// A block for the operations on one secret: restore, status and description as attribute
/// lines; a deletion of a secret or a version.
fn secret_op_lines(ops: &[&SecretOp], out: &mut Vec<Line>) {
    let first = ops[0];
    let label = first
        .address
        .split_once('.')
        .map_or(first.address.as_str(), |(_, l)| l);
    match first.op {
        OpKind::DeleteSecret => {
            let days = first.recovery_window_days.unwrap_or(0);
            let when = if days == 0 {
                "at once, with no recovery window".to_string()
            } else {
                format!(
                    "after a recovery window of {} (RestoreSecret brings it back until then)",
                    super::plural(days as usize, "day", "days")
                )
            };
            out.push(line(
                0,
                Mark::Comment,
                format!(
                    "# {} will be deleted {when} ({})",
                    first.address, first.drift
                ),
            ));
            out.push(line(2, Mark::Remove, format!("secret {} {{", quote(label))));
            out.push(line(
                6,
                Mark::Remove,
                format!("{:<20} = {}", "secret_name", quote(&first.secret_name)),
            ));
            out.push(line(
                6,
                Mark::Remove,
                format!("{:<20} = {days}", "recovery_window_days"),
            ));
            out.push(line(2, Mark::None, "}"));
        }
        OpKind::DeleteVersion => {
            let version = first.version_id.as_deref().unwrap_or_default();
            out.push(line(
                0,
                Mark::Comment,
                format!(
                    "# {}: version {} of secret {} will be deleted ({})",
                    first.address,
                    quote(version),
                    quote(&first.secret_name),
                    first.drift
                ),
            ));
            out.push(line(2, Mark::Remove, "secret_version {"));
            out.push(line(
                6,
                Mark::Remove,
                format!("{:<11} = {}", "secret_name", quote(&first.secret_name)),
            ));
            out.push(line(
                6,
                Mark::Remove,
                format!("{:<11} = {}", "version_id", quote(version)),
            ));
            out.push(line(2, Mark::None, "}"));
        }
        _ => {
            let mut kinds: Vec<String> = Vec::new();
            for o in ops {
                if !kinds.contains(&o.drift.to_string()) {
                    kinds.push(o.drift.to_string());
                }
            }
            out.push(line(
                0,
                Mark::Comment,
                format!(
                    "# {}: secret {} will be updated in place ({})",
                    first.address,
                    quote(&first.secret_name),
                    kinds.join(", ")
                ),
            ));
            out.push(line(2, Mark::Change, format!("secret {} {{", quote(label))));
            out.push(line(
                6,
                Mark::None,
                format!("{:<11} = {}", "secret_name", quote(&first.secret_name)),
            ));
            let restore = ops.iter().any(|o| o.op == OpKind::Restore);
            let status_to = ops.iter().find_map(|o| match o.op {
                OpKind::Enable => Some("Enabled"),
                OpKind::Disable => Some("Disabled"),
                _ => None,
            });
            let status_from = if restore {
                Some("PendingDelete")
            } else {
                ops.iter().find_map(|o| match o.op {
                    OpKind::Enable => Some("Disabled"),
                    OpKind::Disable if o.drift == crate::plan::Drift::SecretMissing => None,
                    OpKind::Disable => Some("Enabled"),
                    _ => None,
                })
            };
            let api: Vec<&str> = ops
                .iter()
                .flat_map(|o| o.op.api_actions())
                .copied()
                .collect();
            match (status_from, status_to, restore) {
                (Some(from), to, _) => out.push(line(
                    6,
                    Mark::Change,
                    format!(
                        "{:<11} = {} → {} # {}",
                        "status",
                        quote(from),
                        quote(to.unwrap_or("Disabled")),
                        api.iter()
                            .filter(|a| **a != "UpdateDescription")
                            .copied()
                            .collect::<Vec<_>>()
                            .join(", then ")
                    ),
                )),
                (None, Some(to), _) => out.push(line(
                    6,
                    Mark::Change,
                    format!(
                        "{:<11} = {} # DisableSecret once the secret is created",
                        "status",
                        quote(to)
                    ),
                )),
                (None, None, _) => {}
            }
            if let Some(d) = ops.iter().find(|o| o.op == OpKind::UpdateDescription) {
                out.push(line(
                    6,
                    Mark::Change,
                    format!(
                        "{:<11} = {} # the live description differs (not shown)",
                        "description",
                        quote(&printable(d.description.as_deref().unwrap_or_default()))
                    ),
                ));
            }
            out.push(line(2, Mark::None, "}"));
        }
    }
}

/// The changes `change` waits for that are not already waited for through another of them:
/// `depends_on` is transitive (the executor needs all of it), but a heading that listed every
/// change up a long chain would grow with the chain, so it names only the nearest ones.
fn nearest_dependencies<'a>(
    change: &'a Change,
    by_address: &BTreeMap<&str, &Change>,
) -> Vec<&'a str> {
    change
        .depends_on
        .iter()
        .filter(|d| {
            !change.depends_on.iter().any(|other| {
                by_address
                    .get(other.as_str())
                    .is_some_and(|o| o.depends_on.contains(d))
            })
        })
        .map(String::as_str)
        .collect()
}

fn heading(change: &Change, multi_wave: bool, after: &[&str], restored: bool) -> String {
    let mut h = format!("# {} will be {}", change.address, change.action.phrase());
    if change.action == Action::CreateVersion {
        h.push_str(&format!(" of secret \"{}\"", change.secret_name));
    }
    let mut notes = Vec::new();
    if multi_wave {
        if after.is_empty() {
            notes.push(format!("wave {}", change.wave));
        } else {
            notes.push(format!("wave {}, after {}", change.wave, after.join(", ")));
        }
    }
    if change.unverified && restored {
        notes.push(
            "unverified: the secret is pending deletion, so its live content cannot be read; it is restored first"
                .into(),
        );
    } else if change.unverified {
        notes.push("unverified: the secret is Disabled, so its live content cannot be read".into());
    }
    if !notes.is_empty() {
        h.push_str(&format!(" ({})", notes.join("; ")));
    }
    h
}

fn change_lines(
    change: &Change,
    multi_wave: bool,
    after: &[&str],
    restored: bool,
    out: &mut Vec<Line>,
) {
    let mark = Mark::of(change.action);
    out.push(line(
        0,
        Mark::Comment,
        heading(change, multi_wave, after, restored),
    ));
    out.push(line(2, mark, format!("secret \"{}\" {{", change.label())));

    let content_attr = change.content_attribute();
    let mut width = "secret_name".len().max(content_attr.len());
    let show_description = change.action == Action::CreateSecret && change.description.is_some();
    if show_description {
        width = width.max("description".len());
    }
    let show_created_with = change.action == Action::CreateSecret;
    if show_created_with && change.kms_key_id.is_some() {
        width = width.max("kms_key_id".len());
    }
    if change.diff == ContentDiff::KindChange {
        width = width.max("secret_string".len());
    }
    let attr = |name: &str| format!("{name:<width$} =");
    // Identifying attributes: new on create, unchanged (no mark) on update.
    let id_mark = if change.action.is_create() {
        Mark::Add
    } else {
        Mark::None
    };
    out.push(line(
        6,
        id_mark,
        format!("{} {}", attr("secret_name"), quote(&change.secret_name)),
    ));
    out.push(line(
        6,
        id_mark,
        format!("{} {}", attr("version_id"), quote(&change.version_id)),
    ));

    match &change.diff {
        ContentDiff::KindChange => {
            let live = change.live.expect("a kind change has a live side");
            let old_attr = match live.kind {
                ContentKind::String => "secret_string",
                ContentKind::Binary => "secret_binary",
            };
            out.push(line(
                6,
                Mark::Remove,
                format!("{} {}", attr(old_attr), one_side(&live, change.sensitive)),
            ));
            out.push(line(
                6,
                Mark::Add,
                format!(
                    "{} {}",
                    attr(content_attr),
                    one_side(&change.desired, change.sensitive)
                ),
            ));
        }
        ContentDiff::JsonKeys(keys) => {
            out.push(line(
                6,
                mark,
                format!("{} jsonencode({{", attr(content_attr)),
            ));
            key_lines(keys, out);
            out.push(line(6, Mark::None, format!("}}) # {}", sizes(change))));
        }
        ContentDiff::Lines(diff) => {
            out.push(line(6, mark, format!("{} <<-EOT", attr(content_attr))));
            if diff.live_hidden {
                out.push(line(
                    10,
                    Mark::Comment,
                    "# (the live content is hidden: ssmform did not write it from a sensitive = false block)",
                ));
            }
            for l in &diff.lines {
                match l {
                    DiffLine::Same(t) => out.push(line(10, Mark::None, printable(t))),
                    DiffLine::Added(t) => out.push(line(10, Mark::Add, printable(t))),
                    DiffLine::Removed(t) => out.push(line(10, Mark::Remove, printable(t))),
                    DiffLine::Hidden(n) => out.push(line(
                        10,
                        Mark::Comment,
                        format!(
                            "# ({} hidden)",
                            super::plural(*n, "unchanged line", "unchanged lines")
                        ),
                    )),
                }
            }
            out.push(line(6, Mark::None, format!("EOT # {}", sizes(change))));
        }
        ContentDiff::None | ContentDiff::Opaque => {
            out.push(line(
                6,
                mark,
                format!("{} {}", attr(content_attr), value_summary(change)),
            ));
        }
    }
    if show_description {
        out.push(line(
            6,
            Mark::Add,
            format!(
                "{} {}",
                attr("description"),
                quote(change.description.as_deref().unwrap_or_default())
            ),
        ));
    }
    if show_created_with {
        if let Some(k) = &change.kms_key_id {
            out.push(line(
                6,
                Mark::Add,
                format!("{} {}", attr("kms_key_id"), quote(&printable(k))),
            ));
        }
        if !change.tags.is_empty() {
            let tags: Vec<String> = change
                .tags
                .iter()
                .map(|(k, v)| format!("{} = {}", quote(&printable(k)), quote(&printable(v))))
                .collect();
            out.push(line(
                6,
                Mark::Add,
                format!("{} {{ {} }}", attr("tags"), tags.join(", ")),
            ));
        }
    }
    out.push(line(2, Mark::None, "}"));
}

/// What a key whose name derives from a sensitive value is shown as.
const SENSITIVE_KEY: &str = "(sensitive key)";

fn key_lines(keys: &KeyDiff, out: &mut Vec<Line>) {
    let mut entries: Vec<(String, Mark)> = keys
        .added
        .iter()
        .map(|k| (printable(k), Mark::Add))
        .chain(keys.removed.iter().map(|k| (printable(k), Mark::Remove)))
        .chain(keys.changed.iter().map(|k| (printable(k), Mark::Change)))
        .collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    // Keys whose names are secret come last, unnamed.
    for (n, mark) in [
        (keys.hidden.added, Mark::Add),
        (keys.hidden.removed, Mark::Remove),
        (keys.hidden.changed, Mark::Change),
    ] {
        entries.extend((0..n).map(|_| (SENSITIVE_KEY.to_string(), mark)));
    }
    let width = entries
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    for (k, mark) in entries {
        out.push(line(10, mark, format!("{k:<width$} = (sensitive)")));
    }
    if keys.unchanged > 0 {
        out.push(line(
            10,
            Mark::Comment,
            format!(
                "# ({} hidden)",
                super::plural(keys.unchanged, "unchanged key", "unchanged keys")
            ),
        ));
    }
}

/// `text` with every character that could change how the output looks escaped: control
/// characters but tab (`\r` would return to the start of the line and overwrite it, ESC starts a
/// terminal sequence) and the Unicode bidirectional controls (which reorder what is displayed).
/// Line diffs and JSON key names come from live values, which anyone who can write the secret
/// controls; a plan must not let them hide or fake a line.
fn printable(text: &str) -> String {
    let hidden = |c: char| {
        (c.is_control() && c != '\t')
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !text.chars().any(hidden) {
        return text.to_string();
    }
    text.chars()
        .map(|c| {
            if hidden(c) {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialize")
}

fn value_word(sensitive: bool) -> &'static str {
    if sensitive {
        "sensitive value"
    } else {
        "value"
    }
}

/// `(sensitive value, 24 bytes, fingerprint 3f2a91c0)`.
fn one_side(s: &ContentSummary, sensitive: bool) -> String {
    format!(
        "({}, {}, fingerprint {})",
        value_word(sensitive),
        super::plural(s.size, "byte", "bytes"),
        s.fingerprint
    )
}

/// `24 → 32 bytes, fingerprint 3f2a91c0 → 8c1d04e2` (or one side for creations).
fn sizes(change: &Change) -> String {
    let d = &change.desired;
    match (&change.live, change.action) {
        (Some(l), _) if l.size == d.size => format!(
            "{}, fingerprint {} → {}",
            super::plural(d.size, "byte", "bytes"),
            l.fingerprint,
            d.fingerprint
        ),
        (Some(l), _) => format!(
            "{} → {} bytes, fingerprint {} → {}",
            l.size, d.size, l.fingerprint, d.fingerprint
        ),
        (None, Action::Update) => format!(
            "unreadable → {}, fingerprint ???????? → {}",
            super::plural(d.size, "byte", "bytes"),
            d.fingerprint
        ),
        (None, _) => format!(
            "{}, fingerprint {}",
            super::plural(d.size, "byte", "bytes"),
            d.fingerprint
        ),
    }
}

fn value_summary(change: &Change) -> String {
    format!("({}, {})", value_word(change.sensitive), sizes(change))
}
