//! The secret-safe diff: what can be said about how a secret changes without saying what it holds.
//!
//! - different kinds (string ↔ binary): [`ContentDiff::KindChange`];
//! - `sensitive = false` text: a real line diff of the desired content (the configuration proved
//!   it derives from nothing sensitive); the live side is shown only when ssmform itself wrote it as
//!   non-sensitive content ([`Visibility::live_shown`], from the marker described in
//!   [`super::marker`]); otherwise the desired lines alone;
//! - JSON objects on both sides: which keys were added, removed or changed, and how many were not,
//!   with every value masked; a key is named only when its name derives from nothing sensitive
//!   ([`ShownKeys`]), and keys only the live side has are never named (the live content is
//!   sensitive): they are counted as `(sensitive key)`;
//! - anything else: sizes and keyed fingerprints only ([`ContentDiff::Opaque`]).
//!
//! Parsing a secret as JSON makes copies of its values in `serde_json::Value`s; they are zeroized
//! before being dropped.

use serde_json::Value;
use similar::{ChangeTag, TextDiff};
use zeroize::Zeroize;

use super::model::{ContentDiff, DiffLine, KeyDiff, LineDiff};
use crate::config::ShownKeys;
use crate::secret::SecretContent;

/// What a diff may show of one secret.
#[derive(Clone, Copy, Debug)]
pub struct Visibility<'a> {
    /// `sensitive` in the configuration (false: the desired content may be shown).
    pub sensitive: bool,
    /// Which desired key names may be shown.
    pub shown_keys: &'a ShownKeys,
    /// The live content may be shown (only ever for `sensitive = false` secrets whose live
    /// content ssmform wrote as such).
    pub live_shown: bool,
}

impl Visibility<'_> {
    /// Nothing but sizes and fingerprints, and key names only as counts.
    pub fn opaque() -> Visibility<'static> {
        static NONE: std::sync::OnceLock<ShownKeys> = std::sync::OnceLock::new();
        Visibility {
            sensitive: true,
            shown_keys: NONE.get_or_init(ShownKeys::none),
            live_shown: false,
        }
    }
}

/// Unchanged lines shown around each change in a line diff.
const CONTEXT_LINES: usize = 2;

/// The diff between the live and the desired content of one version.
pub fn content_diff(
    live: &SecretContent,
    desired: &SecretContent,
    seen: Visibility<'_>,
) -> ContentDiff {
    if live.kind() != desired.kind() {
        return ContentDiff::KindChange;
    }
    if live == desired {
        return ContentDiff::None;
    }
    let (SecretContent::String(old), SecretContent::String(new)) = (live, desired) else {
        return ContentDiff::Opaque;
    };
    if let (false, Some(new)) = (seen.sensitive, new.expose_str()) {
        let laid_out = |text: &str| match pretty_json(text) {
            // Compact JSON on one line would diff as one changed line: compare it laid out.
            Some(p) if text.lines().count() <= 1 => p,
            _ => text.to_string(),
        };
        match (seen.live_shown, old.expose_str()) {
            (true, Some(old)) => {
                return ContentDiff::Lines(match (pretty_json(old), pretty_json(new)) {
                    (Some(a), Some(b)) if old.lines().count() <= 1 || new.lines().count() <= 1 => {
                        line_diff(&a, &b)
                    }
                    _ => line_diff(old, new),
                });
            }
            _ => {
                let mut d = line_diff("", &laid_out(new));
                d.live_hidden = true;
                return ContentDiff::Lines(d);
            }
        }
    }
    match (json_object(old.expose()), json_object(new.expose())) {
        (Some(mut a), Some(mut b)) => {
            let mut keys = KeyDiff::default();
            diff_objects(&a, &b, &mut Vec::new(), seen.shown_keys, &mut keys);
            scrub(&mut a);
            scrub(&mut b);
            ContentDiff::JsonKeys(keys)
        }
        (a, b) => {
            for mut v in [a, b].into_iter().flatten() {
                scrub(&mut v);
            }
            ContentDiff::Opaque
        }
    }
}

/// The diff shown for content that is created: every line added when it may be shown, else nothing.
pub fn creation_diff(desired: &SecretContent, seen: Visibility<'_>) -> ContentDiff {
    match desired {
        SecretContent::String(v) if !seen.sensitive => match v.expose_str() {
            Some(text) => ContentDiff::Lines(line_diff("", text)),
            None => ContentDiff::None,
        },
        _ => ContentDiff::None,
    }
}

/// Non-sensitive JSON objects and arrays laid out one member per line.
fn pretty_json(text: &str) -> Option<String> {
    match serde_json::from_str::<Value>(text) {
        Ok(v @ (Value::Object(_) | Value::Array(_))) => serde_json::to_string_pretty(&v).ok(),
        _ => None,
    }
}

fn json_object(bytes: &[u8]) -> Option<Value> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(v @ Value::Object(_)) => Some(v),
        Ok(mut other) => {
            scrub(&mut other);
            None
        }
        Err(_) => None,
    }
}

/// Overwrite every string in a parsed secret before it is dropped.
fn scrub(v: &mut Value) {
    match v {
        Value::String(s) => s.zeroize(),
        Value::Array(items) => items.iter_mut().for_each(scrub),
        Value::Object(map) => map.values_mut().for_each(scrub),
        Value::Number(_) | Value::Bool(_) | Value::Null => {}
    }
}

/// Compares two objects at `path` (the keys from the top down). A key is named only if the
/// desired side may show it; keys only the live side has are never named.
fn diff_objects(
    old: &Value,
    new: &Value,
    path: &mut Vec<String>,
    shown: &ShownKeys,
    out: &mut KeyDiff,
) {
    let (Value::Object(a), Value::Object(b)) = (old, new) else {
        return;
    };
    for (k, va) in a {
        path.push(k.clone());
        let named = shown.shows(path);
        match b.get(k) {
            None => out.hidden.removed += 1,
            Some(vb) if vb == va => out.unchanged += 1,
            // Below a key whose name is secret, every name is secret too.
            Some(vb) if va.is_object() && vb.is_object() && named => {
                diff_objects(va, vb, path, shown, out)
            }
            Some(_) if named => out.changed.push(key_path(path)),
            Some(_) => out.hidden.changed += 1,
        }
        path.pop();
    }
    for k in b.keys() {
        if !a.contains_key(k) {
            path.push(k.clone());
            if shown.shows(path) {
                out.added.push(key_path(path));
            } else {
                out.hidden.added += 1;
            }
            path.pop();
        }
    }
}

/// `parent.key` for identifier-like keys, `parent["odd key"]` otherwise.
fn key_path(path: &[String]) -> String {
    let mut out = String::new();
    for key in path {
        out = key_segment(&out, key);
    }
    out
}

fn key_segment(prefix: &str, key: &str) -> String {
    let simple = key
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    match (prefix.is_empty(), simple) {
        (true, true) => key.to_string(),
        (false, true) => format!("{prefix}.{key}"),
        (_, false) => format!("{prefix}[{}]", Value::String(key.to_string())),
    }
}

/// A line diff with [`CONTEXT_LINES`] of context and the rest folded.
pub fn line_diff(old: &str, new: &str) -> LineDiff {
    let diff = TextDiff::from_lines(old, new);
    let mut lines = Vec::new();
    let groups = diff.grouped_ops(CONTEXT_LINES);
    let total_old = diff.old_len();
    let mut shown_until = 0usize; // old-side index up to which lines are accounted for
    for group in &groups {
        let first_old = group.first().map(|op| op.old_range().start).unwrap_or(0);
        if first_old > shown_until {
            lines.push(DiffLine::Hidden(first_old - shown_until));
        }
        for op in group {
            for change in diff.iter_changes(op) {
                let text = change.value().trim_end_matches(['\n', '\r']).to_string();
                lines.push(match change.tag() {
                    ChangeTag::Equal => DiffLine::Same(text),
                    ChangeTag::Insert => DiffLine::Added(text),
                    ChangeTag::Delete => DiffLine::Removed(text),
                });
            }
        }
        shown_until = group.last().map(|op| op.old_range().end).unwrap_or(0);
    }
    if !groups.is_empty() && total_old > shown_until {
        lines.push(DiffLine::Hidden(total_old - shown_until));
    }
    LineDiff {
        lines,
        live_hidden: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::SecretValue;

    fn s(text: &str) -> SecretContent {
        SecretContent::String(SecretValue::from_string(text.to_string()))
    }
    fn b(bytes: &[u8]) -> SecretContent {
        SecretContent::Binary(SecretValue::new(bytes.to_vec()))
    }

    static ALL: ShownKeys = ShownKeys::All;

    /// Sensitive, every desired key name public.
    fn sensitive() -> Visibility<'static> {
        Visibility {
            sensitive: true,
            shown_keys: &ALL,
            live_shown: false,
        }
    }

    /// `sensitive = false`, with or without the live side.
    fn public(live_shown: bool) -> Visibility<'static> {
        Visibility {
            sensitive: false,
            shown_keys: &ALL,
            live_shown,
        }
    }

    fn paths(list: &[&[&str]]) -> ShownKeys {
        ShownKeys::Only(
            list.iter()
                .map(|p| p.iter().map(|k| k.to_string()).collect())
                .collect(),
        )
    }

    #[test]
    fn equal_content_has_no_diff() {
        assert_eq!(
            content_diff(&s("a"), &s("a"), sensitive()),
            ContentDiff::None
        );
    }

    #[test]
    fn kind_change_is_detected_even_with_equal_bytes() {
        assert_eq!(
            content_diff(&s("a"), &b(b"a"), sensitive()),
            ContentDiff::KindChange
        );
        assert_eq!(
            content_diff(&b(b"a"), &s("a"), public(true)),
            ContentDiff::KindChange
        );
    }

    #[test]
    fn sensitive_text_is_opaque() {
        assert_eq!(
            content_diff(&s("old"), &s("new"), sensitive()),
            ContentDiff::Opaque
        );
        assert_eq!(
            content_diff(&b(b"1"), &b(b"2"), sensitive()),
            ContentDiff::Opaque
        );
        // a JSON array is not an object: no key diff
        assert_eq!(
            content_diff(&s("[1]"), &s("[2]"), sensitive()),
            ContentDiff::Opaque
        );
        assert_eq!(
            content_diff(&s("{\"a\":1}"), &s("[2]"), sensitive()),
            ContentDiff::Opaque
        );
    }

    #[test]
    fn json_objects_get_key_level_diff_including_nested_paths() {
        let old = r#"{"a":"x","b":"y","c":{"d":1,"e":2},"gone":true,"odd key":1}"#;
        let new = r#"{"a":"x","b":"z","c":{"d":1,"e":3,"f":4},"new":null,"odd key":2}"#;
        let ContentDiff::JsonKeys(k) = content_diff(&s(old), &s(new), sensitive()) else {
            panic!("expected a key diff");
        };
        assert_eq!(k.added, vec!["c.f", "new"]);
        assert_eq!(k.changed, vec!["b", "c.e", "[\"odd key\"]"]);
        assert_eq!(k.unchanged, 2); // a, c.d
        // A key only the live secret has is named by the live content: never shown.
        assert!(k.removed.is_empty());
        assert_eq!(k.hidden.removed, 1);
    }

    #[test]
    fn key_names_that_derive_from_sensitive_values_are_counted_not_named() {
        let old = r#"{"public":1,"nested":{"x":1},"shared":1}"#;
        let new = r#"{"public":2,"nested":{"x":2},"shared":2,"s3cr3t-key":1}"#;
        let shown = paths(&[&["public"], &["nested"]]);
        let seen = Visibility {
            sensitive: true,
            shown_keys: &shown,
            live_shown: false,
        };
        let ContentDiff::JsonKeys(k) = content_diff(&s(old), &s(new), seen) else {
            panic!("expected a key diff");
        };
        assert_eq!(k.changed, vec!["public"]);
        assert!(k.added.is_empty());
        // `shared` and `nested.x` are not in the shown set; the added key is not either.
        assert_eq!(k.hidden.changed, 2);
        assert_eq!(k.hidden.added, 1);
        let text = format!("{k:?}");
        assert!(
            !text.contains("s3cr3t") && !text.contains("shared"),
            "{text}"
        );
    }

    #[test]
    fn non_sensitive_text_gets_a_line_diff_with_folded_context() {
        let old: String = (1..=20).map(|i| format!("line {i}\n")).collect();
        let new = old.replace("line 10\n", "line ten\n");
        let ContentDiff::Lines(d) = content_diff(&s(&old), &s(&new), public(true)) else {
            panic!("expected a line diff");
        };
        assert!(!d.live_hidden);
        assert_eq!(
            d.lines,
            vec![
                DiffLine::Hidden(7),
                DiffLine::Same("line 8".into()),
                DiffLine::Same("line 9".into()),
                DiffLine::Removed("line 10".into()),
                DiffLine::Added("line ten".into()),
                DiffLine::Same("line 11".into()),
                DiffLine::Same("line 12".into()),
                DiffLine::Hidden(8),
            ]
        );
    }

    #[test]
    fn without_the_owner_s_marker_the_live_side_of_a_non_sensitive_diff_is_hidden() {
        let ContentDiff::Lines(d) =
            content_diff(&s("live-canary-value\nb"), &s("a\nb"), public(false))
        else {
            panic!("expected a line diff");
        };
        assert!(d.live_hidden);
        assert_eq!(
            d.lines,
            vec![DiffLine::Added("a".into()), DiffLine::Added("b".into())]
        );
    }

    #[test]
    fn non_sensitive_compact_json_is_compared_laid_out() {
        let old = r#"{"db_host":"a","log_level":"info","port":1}"#;
        let new = r#"{"db_host":"a","log_level":"debug","port":1}"#;
        let ContentDiff::Lines(d) = content_diff(&s(old), &s(new), public(true)) else {
            panic!("expected a line diff");
        };
        assert!(
            d.lines
                .contains(&DiffLine::Removed("  \"log_level\": \"info\",".into()))
        );
        assert!(
            d.lines
                .contains(&DiffLine::Added("  \"log_level\": \"debug\",".into()))
        );
        assert!(
            d.lines
                .contains(&DiffLine::Same("  \"db_host\": \"a\",".into()))
        );
    }

    #[test]
    fn creation_shows_lines_only_when_not_sensitive() {
        assert_eq!(creation_diff(&s("a\nb"), sensitive()), ContentDiff::None);
        let ContentDiff::Lines(d) = creation_diff(&s("a\nb"), public(false)) else {
            panic!("expected lines");
        };
        assert_eq!(
            d.lines,
            vec![DiffLine::Added("a".into()), DiffLine::Added("b".into())]
        );
        assert_eq!(creation_diff(&b(b"x"), public(false)), ContentDiff::None);
    }
}
