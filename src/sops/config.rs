//! `.sops.yaml`: the nearest one above a file, and the first of its `creation_rules` whose
//! `path_regex` matches the file (relative to the directory of `.sops.yaml`), as sops' own
//! `config/config.go` chooses. A rule without `path_regex` matches every file.
//!
//! Used: `age` (a comma-separated string or a list), `key_groups` with a single group of `age`
//! keys, and the encryption rules (`unencrypted_suffix`, `encrypted_suffix`, `unencrypted_regex`,
//! `encrypted_regex`, the two comment regexes, `mac_only_encrypted`). A rule that names other key
//! types (PGP, cloud KMS, Vault) or several key groups is refused: a file written without those
//! recipients would not be what the team's rule asks for. `destination_rules` and `stores` are
//! ignored. sops' CLI starts its search in the working directory; this one starts beside the
//! file, so the rules that apply do not depend on where the command runs.

use std::path::{Path, PathBuf};

use super::EncryptOptions;
use super::age::Recipient;
use super::error::SopsError;
use super::stores::yaml;
use super::tree::{Branch, Node};

/// How many parent directories are searched (sops: 100).
const MAX_DEPTH: usize = 100;

/// What a creation rule asks for.
#[derive(Debug, Clone)]
pub struct CreationRule {
    /// The `.sops.yaml` it came from.
    pub config: PathBuf,
    pub recipients: Vec<Recipient>,
    pub options: EncryptOptions,
}

/// The nearest `.sops.yaml` in `dir` or a parent directory.
pub fn find_config(dir: &Path) -> Option<PathBuf> {
    let mut dir = std::path::absolute(dir).ok()?;
    for _ in 0..MAX_DEPTH {
        let candidate = dir.join(".sops.yaml");
        if candidate.is_file() {
            return Some(candidate);
        }
        if !dir.pop() {
            break;
        }
    }
    None
}

/// The creation rule for `file` from the nearest `.sops.yaml`, if there is such a file with
/// `creation_rules`.
pub fn creation_rule_for(file: &Path) -> Result<Option<CreationRule>, SopsError> {
    let abs = std::path::absolute(file).map_err(|e| SopsError::Config {
        path: file.display().to_string(),
        message: e.to_string(),
    })?;
    let dir = abs.parent().unwrap_or(Path::new("/"));
    let Some(config) = find_config(dir) else {
        return Ok(None);
    };
    let text = std::fs::read(&config).map_err(|e| SopsError::Config {
        path: config.display().to_string(),
        message: format!("cannot read: {e}"),
    })?;
    rule_from_text(&text, &config, &abs)
}

fn cfg_err(config: &Path, message: impl Into<String>) -> SopsError {
    SopsError::Config {
        path: config.display().to_string(),
        message: message.into(),
    }
}

/// The rule for `file` (absolute) from the text of `config`.
pub fn rule_from_text(
    text: &[u8],
    config: &Path,
    file: &Path,
) -> Result<Option<CreationRule>, SopsError> {
    let name = config.display().to_string();
    let doc = yaml::parse(text, &name)?;
    let Some(root) = doc.branches.first() else {
        return Ok(None);
    };
    let rules = match root.get("creation_rules") {
        None | Some(Node::Null) => return Ok(None),
        Some(Node::List(l)) => l,
        Some(_) => return Err(cfg_err(config, "`creation_rules` is not a list")),
    };
    let base = config.parent().unwrap_or(Path::new("/"));
    let relative = file.strip_prefix(base).unwrap_or(file);
    let relative = relative.to_string_lossy().replace('\\', "/");
    for (i, rule) in rules.iter().enumerate() {
        let Node::Map(rule) = rule else {
            if matches!(rule, Node::Comment(_)) {
                continue;
            }
            return Err(cfg_err(
                config,
                format!("creation rule {} is not a mapping", i + 1),
            ));
        };
        let matches = match text_field(rule, "path_regex") {
            None => true,
            Some(re) => regex::Regex::new(&re)
                .map_err(|e| cfg_err(config, format!("invalid path_regex `{re}`: {e}")))?
                .is_match(&relative),
        };
        if matches {
            return build_rule(rule, config, i + 1).map(Some);
        }
    }
    Err(cfg_err(
        config,
        format!("no creation rule matches {relative}"),
    ))
}

fn text_field(m: &Branch, key: &str) -> Option<String> {
    match m.get(key) {
        Some(Node::Scalar(s)) => {
            Some(String::from_utf8_lossy(s.text.expose()).into_owned()).filter(|s| !s.is_empty())
        }
        _ => None,
    }
}

/// A key field: a comma-separated string or a list of strings.
fn key_list(m: &Branch, key: &str) -> Vec<String> {
    match m.get(key) {
        Some(Node::Scalar(s)) => String::from_utf8_lossy(s.text.expose())
            .split(',')
            .map(|k| k.trim().to_string())
            .filter(|k| !k.is_empty())
            .collect(),
        Some(Node::List(l)) => l
            .iter()
            .filter_map(|n| n.as_scalar())
            .map(|s| String::from_utf8_lossy(s.text.expose()).trim().to_string())
            .filter(|k| !k.is_empty())
            .collect(),
        _ => Vec::new(),
    }
}

const OTHER_FIELDS: &[&str] = &[
    "pgp",
    "kms",
    "gcp_kms",
    "azure_keyvault",
    "hc_vault_transit_uri",
    "hckms",
];

fn build_rule(rule: &Branch, config: &Path, n: usize) -> Result<CreationRule, SopsError> {
    let mut age = Vec::new();
    let check_others = |m: &Branch| -> Result<(), SopsError> {
        let others: Vec<&str> = OTHER_FIELDS
            .iter()
            .copied()
            .filter(|f| !key_list(m, f).is_empty() || matches!(m.get(f), Some(Node::Map(_))))
            .collect();
        if others.is_empty() {
            Ok(())
        } else {
            Err(cfg_err(
                config,
                format!(
                    "creation rule {n} names {} keys; ssmform can only encrypt for age recipients",
                    others.join(", ")
                ),
            ))
        }
    };
    match rule.get("key_groups") {
        Some(Node::List(groups)) if !groups.is_empty() => {
            let groups: Vec<&Branch> = groups.iter().filter_map(Node::as_map).collect();
            if groups.len() > 1 {
                return Err(cfg_err(
                    config,
                    format!(
                        "creation rule {n} has {} key groups; ssmform supports a single key group \
                         (no Shamir secret sharing)",
                        groups.len()
                    ),
                ));
            }
            for g in groups {
                check_others(g)?;
                age.extend(key_list(g, "age"));
            }
        }
        _ => {
            check_others(rule)?;
            age.extend(key_list(rule, "age"));
        }
    }
    let recipients = age
        .iter()
        .map(|r| Recipient::parse(r))
        .collect::<Result<Vec<_>, _>>()?;
    let mac_only = match rule.get("mac_only_encrypted") {
        Some(Node::Scalar(s)) => s.text.expose() == b"true",
        _ => false,
    };
    let options = EncryptOptions {
        unencrypted_suffix: text_field(rule, "unencrypted_suffix"),
        encrypted_suffix: text_field(rule, "encrypted_suffix"),
        unencrypted_regex: text_field(rule, "unencrypted_regex"),
        encrypted_regex: text_field(rule, "encrypted_regex"),
        unencrypted_comment_regex: text_field(rule, "unencrypted_comment_regex"),
        encrypted_comment_regex: text_field(rule, "encrypted_comment_regex"),
        mac_only_encrypted: mac_only,
        ..EncryptOptions::default()
    };
    options.rules(&config.display().to_string())?;
    Ok(CreationRule {
        config: config.to_path_buf(),
        recipients,
        options,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "age1je6kjhzuhdjy3fqptpttxjh5k8q46vygzlgtpuq3030c947pc5tqz9dqvr";
    const B: &str = "age1l44xcng8dqj32nlv6d930qvvrny05hglzcv9qpc7kxjc6902ma4qufys29";

    fn rule(cfg: &str, file: &str) -> Result<Option<CreationRule>, SopsError> {
        rule_from_text(
            cfg.as_bytes(),
            Path::new("/repo/.sops.yaml"),
            Path::new(file),
        )
    }

    #[test]
    fn first_matching_rule_relative_to_the_config() {
        let cfg = format!(
            "creation_rules:\n  - path_regex: ^prod/.*\\.yaml$\n    age: {A}\n    encrypted_regex: ^(data|stringData)$\n  - age:\n      - {A}\n      - {B}\n"
        );
        let r = rule(&cfg, "/repo/prod/x.yaml").unwrap().unwrap();
        assert_eq!(r.recipients.len(), 1);
        assert_eq!(
            r.options.encrypted_regex.as_deref(),
            Some("^(data|stringData)$")
        );
        let r = rule(&cfg, "/repo/dev/x.yaml").unwrap().unwrap();
        assert_eq!(r.recipients.len(), 2);
    }

    #[test]
    fn key_groups_and_refusals() {
        let one = format!("creation_rules:\n  - key_groups:\n      - age:\n          - {A}\n");
        assert_eq!(
            rule(&one, "/repo/a.env").unwrap().unwrap().recipients.len(),
            1
        );
        let two =
            format!("creation_rules:\n  - key_groups:\n      - age: [{A}]\n      - age: [{B}]\n");
        let e = rule(&two, "/repo/a.env").unwrap_err().to_string();
        assert!(e.contains("2 key groups"), "{e}");
        let pgp = format!(
            "creation_rules:\n  - age: {A}\n    pgp: FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4\n"
        );
        let e = rule(&pgp, "/repo/a.env").unwrap_err().to_string();
        assert!(e.contains("names pgp keys"), "{e}");
        let none = "creation_rules:\n  - path_regex: \\.json$\n    age: x\n";
        let e = rule(none, "/repo/a.yaml").unwrap_err().to_string();
        assert!(e.contains("no creation rule matches a.yaml"), "{e}");
        assert!(
            rule("destination_rules: []\n", "/repo/a.yaml")
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn found_upwards_from_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let deep = dir.path().join("a/b/c");
        std::fs::create_dir_all(&deep).unwrap();
        std::fs::write(
            dir.path().join("a/.sops.yaml"),
            format!("creation_rules:\n  - age: {A}\n"),
        )
        .unwrap();
        let found = find_config(&deep).unwrap();
        assert_eq!(found, dir.path().join("a/.sops.yaml"));
        let r = creation_rule_for(&deep.join("s.yaml")).unwrap().unwrap();
        assert_eq!(r.recipients[0].as_str(), A);
    }
}
