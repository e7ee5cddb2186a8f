//! SSM's naming rules (docs/ssm-api.md#naming-rules-and-limits), checked at validate time so that
//! a bad name fails before any API call.

/// Why a secret name is not acceptable to SSM, or `None` if it is.
///
/// SecretName: 1 to 128 bytes of `[A-Za-z0-9_-]`, the first a letter or digit.
pub(crate) fn secret_name_problem(name: &str) -> Option<String> {
    check(
        name,
        128,
        |c| c.is_ascii_alphanumeric() || c == '_' || c == '-',
        "letters, digits, `_` and `-`",
    )
}

/// VersionId: 1 to 64 bytes of `[A-Za-z0-9._-]`, the first a letter or digit.
pub(crate) fn version_id_problem(version: &str) -> Option<String> {
    check(
        version,
        64,
        |c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'),
        "letters, digits, `.`, `_` and `-`",
    )
}

fn check(
    s: &str,
    max: usize,
    allowed: impl Fn(char) -> bool,
    allowed_text: &str,
) -> Option<String> {
    if s.is_empty() {
        return Some("is empty".to_string());
    }
    if s.len() > max {
        return Some(format!("is {} bytes long; the maximum is {max}", s.len()));
    }
    if let Some((i, c)) = s.char_indices().find(|(_, c)| !allowed(*c)) {
        let shown = if c.is_ascii_graphic() || c == ' ' {
            format!("`{c}`")
        } else {
            format!("U+{:04X}", c as u32)
        };
        return Some(format!(
            "contains {shown} at position {}; only {allowed_text} are allowed",
            s[..i].chars().count() + 1
        ));
    }
    let first = s.chars().next().unwrap_or('a');
    if !first.is_ascii_alphanumeric() {
        return Some(format!(
            "starts with `{first}`; the first character must be a letter or digit"
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names_follow_ssm_rules() {
        assert_eq!(secret_name_problem("app-db_password1"), None);
        assert!(secret_name_problem("").is_some());
        assert!(secret_name_problem("-app").unwrap().contains("starts with"));
        assert!(
            secret_name_problem("app.db")
                .unwrap()
                .contains("`.` at position 4")
        );
        assert!(
            secret_name_problem(&"a".repeat(129))
                .unwrap()
                .contains("129 bytes")
        );
        assert_eq!(secret_name_problem(&"a".repeat(128)), None);
    }

    #[test]
    fn version_ids_allow_dots() {
        assert_eq!(version_id_problem("v1.2_3-x"), None);
        assert!(version_id_problem(".v1").is_some());
        assert!(
            version_id_problem("v 1")
                .unwrap()
                .contains("` ` at position 2")
        );
        assert!(version_id_problem(&"v".repeat(65)).is_some());
    }
}
