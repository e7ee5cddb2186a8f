//! The out-of-band permission to show a `sensitive = false` secret's live content in a plan.
//!
//! A configuration cannot grant itself the right to see live content: a merge request could
//! otherwise set `sensitive = false` on a block naming any secret the CI credentials can read,
//! and read it in the plan comment. The live side of a non-sensitive diff is therefore shown only
//! when the content in SSM is content ssmform itself wrote from a reviewed `sensitive = false`
//! block. `apply` records that in the secret's description, which only a writer can change:
//!
//! ```text
//! <the description, if any>
//! [ssmform:shown v1=4c0f8e0b6f3a9d2e17b5a0c4d9e8f7a6 v2=…]
//! ```
//!
//! one entry per version: a hash of (version, kind, content) as written. A plan shows the live
//! side of a version only when the live content hashes to its entry. Content changed by anyone
//! else (or made sensitive later) no longer matches, so it stays hidden. The hash is unkeyed; it is
//! only ever computed over content that was declared non-sensitive, and proved to derive from
//! nothing sensitive, in a reviewed configuration.

use sha2::{Digest, Sha256};

use crate::secret::SecretContent;

const OPEN: &str = "[ssmform:shown";

/// The hash recorded for `content` written as `version_id` (32 hex digits).
fn entry_hash(version_id: &str, content: &SecretContent) -> String {
    let mut h = Sha256::new();
    h.update(b"ssmform-shown\0");
    h.update(version_id.as_bytes());
    h.update([0, content.kind() as u8, 0]);
    h.update(content.value().expose());
    hex::encode(&h.finalize()[..16])
}

/// The description without the marker: what people wrote.
pub fn user_description(description: &str) -> &str {
    match marker_start(description) {
        Some(i) => description[..i].trim_end_matches('\n'),
        None => description,
    }
}

fn marker_start(description: &str) -> Option<usize> {
    description
        .rfind(OPEN)
        .filter(|&i| i == 0 || description[..i].ends_with('\n'))
        .filter(|&i| description[i..].trim_end().ends_with(']'))
}

/// The marker's entries: (version id, hash).
fn entries(description: &str) -> Vec<(String, String)> {
    let Some(i) = marker_start(description) else {
        return Vec::new();
    };
    description[i + OPEN.len()..]
        .trim_end()
        .trim_end_matches(']')
        .split_whitespace()
        .filter_map(|e| e.split_once('='))
        .map(|(v, h)| (v.to_string(), h.to_string()))
        .collect()
}

/// Whether `live`, read at `version_id` of a secret with `description`, is content ssmform wrote
/// as non-sensitive.
pub fn allows(description: &str, version_id: &str, live: &SecretContent) -> bool {
    let want = entry_hash(version_id, live);
    entries(description)
        .iter()
        .any(|(v, h)| v == version_id && *h == want)
}

/// The description to set after writing `content` as `version_id` from a `sensitive = false`
/// block: `description` with that version's entry added or replaced. `None` when it would not fit
/// SSM's limit on descriptions (the live side then stays hidden, which is safe).
pub fn with_entry(description: &str, version_id: &str, content: &SecretContent) -> Option<String> {
    let mut kept: Vec<(String, String)> = entries(description)
        .into_iter()
        .filter(|(v, _)| v != version_id)
        .collect();
    kept.push((version_id.to_string(), entry_hash(version_id, content)));
    let user = user_description(description);
    let marker = format!(
        "{OPEN} {}]",
        kept.iter()
            .map(|(v, h)| format!("{v}={h}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let out = if user.is_empty() {
        marker
    } else {
        format!("{user}\n{marker}")
    };
    (out.len() <= crate::config::MAX_DESCRIPTION_BYTES).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::SecretValue;

    fn s(t: &str) -> SecretContent {
        SecretContent::String(SecretValue::from_string(t.to_string()))
    }

    #[test]
    fn an_entry_allows_exactly_the_content_written() {
        let d = with_entry("settings for the app", "v1", &s("a=1")).expect("fits");
        assert!(
            d.starts_with("settings for the app\n[ssmform:shown v1="),
            "{d}"
        );
        assert!(allows(&d, "v1", &s("a=1")));
        assert!(
            !allows(&d, "v1", &s("a=2")),
            "changed since ssmform wrote it"
        );
        assert!(!allows(&d, "v2", &s("a=1")), "another version");
        assert!(
            !allows("settings for the app", "v1", &s("a=1")),
            "no marker"
        );
        assert_eq!(user_description(&d), "settings for the app");
    }

    #[test]
    fn entries_are_per_version_and_replaced() {
        let d = with_entry("", "v1", &s("one")).expect("fits");
        let d = with_entry(&d, "v2", &s("two")).expect("fits");
        let d = with_entry(&d, "v1", &s("uno")).expect("fits");
        assert!(allows(&d, "v1", &s("uno")));
        assert!(!allows(&d, "v1", &s("one")));
        assert!(allows(&d, "v2", &s("two")));
        assert_eq!(user_description(&d), "");
    }

    #[test]
    fn a_marker_in_the_middle_of_text_is_not_one() {
        let forged = format!("see [ssmform:shown v1={}] here", entry_hash("v1", &s("x")));
        assert!(!allows(&forged, "v1", &s("x")));
    }

    #[test]
    fn a_description_too_long_for_the_marker_gets_none() {
        let long = "d".repeat(crate::config::MAX_DESCRIPTION_BYTES - 10);
        assert_eq!(with_entry(&long, "v1", &s("x")), None);
    }
}
