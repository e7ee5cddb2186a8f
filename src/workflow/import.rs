//! `ssmform import`: adopt the secrets that already exist in a region.
//!
//! It lists the region's secrets (ListSecrets, every page, narrowed by tag filters), keeps those
//! whose name matches one of the `--match` globs, lists each one's versions
//! (ListSecretVersionIds) and reads every version (GetSecretValue), paced like a plan. Then it
//! writes two new files:
//!
//! - the values, as a SOPS file encrypted to the given age recipients (or those of the nearest
//!   `.sops.yaml` creation rule), one top-level entry per version, `SECRET_NAME.VERSION_ID: value`
//!   (binary content as its base64 text), created with mode 0600. Flat keys read the same through
//!   the data source (`data["app-db.v1"]`) as nested ones would, secret names have no `.` so the
//!   first one splits name and version, and no key is all digits (a version id `1` nested under
//!   its secret would be, and the `sops-age` implementation takes such keys for list indexes);
//! - the configuration: a `data "sops_file"` block reading that file, and one `secret` block per
//!   version with `secret_name`, `version_id`, `description` and its content taken from the data
//!   source (`secret_binary` for binary content), formatted as `ssmform fmt` formats.
//!
//! So a `plan` right after finds nothing to change. Plaintext exists only in memory: the values
//! go from the API answers into the SOPS tree and are encrypted there; nothing is printed or
//! logged but names and counts. Neither file may exist already (nothing is overwritten), and both
//! are checked before anything is read.
//!
//! Every value in the values file is encrypted, whatever a `.sops.yaml` rule's `encrypted_regex`
//! or `unencrypted_suffix` says (a secret name may end in `_unencrypted`): the file is written
//! with `encrypted_regex: ^`, which every key matches.
//!
//! Skipped, and named in the report: secrets scheduled for deletion or disabled (their values
//! cannot be read), cloud-product secrets (`SecretType` other than 0: SSM rotates them), ssmform's
//! own run lock, and versions the configuration in the directory already declares.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;

use crate::config::{Config, DataValues};
use crate::secret::SecretContent;
use crate::sops::{self, Branch, Document, EncryptOptions, Format, Node, Recipient, SopsError};
use crate::ssm::{
    GetSecretValueRequest, ListSecretVersionIdsRequest, ListSecretsRequest, SecretMetadata,
    SecretStatus, TagFilter,
};

use super::Connection;

/// What to import and where to write it.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// `--match`: glob patterns (`*`, `?`) on secret names; empty: every secret.
    pub matches: Vec<String>,
    /// `--tag KEY=VALUE`: a secret must carry every key given, with one of the values given
    /// for it.
    pub tags: Vec<(String, String)>,
    /// `--age`: recipients (each may be a comma-separated list); empty: the `.sops.yaml` rule.
    pub recipients: Vec<String>,
    /// The configuration file to write (must not exist).
    pub config_out: PathBuf,
    /// The SOPS file to write (must not exist; inside the configuration directory).
    pub values_out: PathBuf,
    /// Reads in flight at most.
    pub parallelism: usize,
}

/// Told how the listing and the reads progress (names and counts only).
pub trait ImportProgress: Send + Sync {
    /// The listing found `secrets` matching secrets.
    fn listed(&self, _secrets: usize) {}
    /// `versions` versions are to be read.
    fn reading(&self, _versions: usize) {}
    /// One more version read.
    fn read_one(&self) {}
}

/// No progress reports.
pub struct NoImportProgress;

impl ImportProgress for NoImportProgress {}

/// What was imported.
#[derive(Debug, Default)]
pub struct ImportReport {
    /// Secrets imported (at least one version).
    pub secrets: usize,
    /// Versions imported, and how many of them binary.
    pub versions: usize,
    pub binary: usize,
    pub config_out: PathBuf,
    pub values_out: PathBuf,
    /// The data source's label in the configuration written.
    pub data_source: String,
    /// What was not imported, and why (names only).
    pub skipped: Vec<String>,
}

/// Why an import failed. Messages hold names, paths and API errors (sanitised), never a value.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{}: already exists; import never overwrites a file (remove it, or choose another {flag})", path.display())]
    Exists { path: PathBuf, flag: &'static str },
    #[error(
        "--values-out {}: the values file must be inside the configuration directory {}, where data \"sops_file\" can read it",
        path.display(),
        dir.display()
    )]
    ValuesOutside { path: PathBuf, dir: PathBuf },
    #[error("--tag {0}: expected KEY=VALUE")]
    BadTag(String),
    #[error(
        "no age recipients: pass --age RECIPIENT, or add a .sops.yaml with a creation rule for {} (with `age`)",
        path.display()
    )]
    NoRecipients { path: PathBuf },
    #[error(transparent)]
    Sops(#[from] SopsError),
    #[error("{action}: {error}")]
    Api {
        action: String,
        error: crate::ssm::retry::CallError,
    },
    #[error("nothing to import: no readable secret version matches the filters")]
    Nothing,
    #[error("cannot write {}: {error}", path.display())]
    Write {
        path: PathBuf,
        error: std::io::Error,
    },
}

/// One version read.
struct Version {
    name: String,
    version: String,
    content: SecretContent,
}

/// Whether `name` matches the glob `pattern` (`*` any run of characters, `?` one character).
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ni));
            pi += 1;
        } else if let Some((sp, sn)) = star {
            pi = sp + 1;
            ni = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// `KEY=VALUE` tags as ListSecrets filters: one filter per key, with every value given for it.
pub fn tag_filters(tags: &[(String, String)]) -> Vec<TagFilter> {
    let mut out: Vec<TagFilter> = Vec::new();
    for (k, v) in tags {
        match out.iter_mut().find(|f| &f.key == k) {
            Some(f) => f.values.push(v.clone()),
            None => out.push(TagFilter {
                key: k.clone(),
                values: vec![v.clone()],
            }),
        }
    }
    out
}

/// Parse `KEY=VALUE`.
pub fn parse_tag(s: &str) -> Result<(String, String), ImportError> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(ImportError::BadTag(s.to_string())),
    }
}

/// The recipients: `--age`, else the creation rule of the nearest `.sops.yaml` above the values
/// file.
fn recipients(options: &ImportOptions) -> Result<Vec<Recipient>, ImportError> {
    let mut out = Vec::new();
    for r in &options.recipients {
        out.extend(Recipient::parse_list(r)?);
    }
    if out.is_empty()
        && let Some(rule) = sops::config::creation_rule_for(&options.values_out)?
    {
        out = rule.recipients;
    }
    if out.is_empty() {
        return Err(ImportError::NoRecipients {
            path: options.values_out.clone(),
        });
    }
    Ok(out)
}

/// The values file's path as the configuration names it: relative to the directory.
fn relative_to(dir: &Path, path: &Path) -> Option<String> {
    let dir = std::path::absolute(dir).ok()?;
    let path = std::path::absolute(path).ok()?;
    let rel = path.strip_prefix(&dir).ok()?;
    if rel
        .components()
        .any(|c| !matches!(c, std::path::Component::Normal(_)))
    {
        return None;
    }
    let s = rel.to_str()?.to_string();
    (!s.is_empty()).then_some(s)
}

/// Check the output paths before anything is read.
pub fn check_outputs(config: &Config, options: &ImportOptions) -> Result<String, ImportError> {
    for (path, flag) in [
        (&options.config_out, "--config-out"),
        (&options.values_out, "--values-out"),
    ] {
        if std::fs::symlink_metadata(path).is_ok() {
            return Err(ImportError::Exists {
                path: path.clone(),
                flag,
            });
        }
    }
    relative_to(config.dir(), &options.values_out).ok_or_else(|| ImportError::ValuesOutside {
        path: options.values_out.clone(),
        dir: config.dir().to_path_buf(),
    })
}

/// List, read, and write the two files.
pub async fn import(
    config: &Config,
    conn: &Connection,
    options: &ImportOptions,
    progress: &dyn ImportProgress,
) -> Result<ImportReport, ImportError> {
    let source_file = check_outputs(config, options)?;
    let recipients = recipients(options)?;
    let mut report = ImportReport {
        config_out: options.config_out.clone(),
        values_out: options.values_out.clone(),
        ..ImportReport::default()
    };

    // What the configuration already declares is not imported again.
    let declared: BTreeSet<(String, String)> = config
        .evaluate(&DataValues::default(), None)
        .declared_versions
        .into_iter()
        .collect();

    let secrets = list(conn, options, &mut report.skipped).await?;
    progress.listed(secrets.len());
    tracing::debug!(secrets = secrets.len(), "import: listed");

    let mut wanted = Vec::new();
    for s in &secrets {
        let request = ListSecretVersionIdsRequest {
            secret_name: s.secret_name.clone(),
        };
        let answer = conn
            .pacer
            .call("ListSecretVersionIds", || {
                conn.client.list_secret_version_ids(&request)
            })
            .await
            .map_err(|error| ImportError::Api {
                action: format!("ListSecretVersionIds for secret \"{}\"", s.secret_name),
                error,
            })?;
        let mut versions: Vec<String> = answer.versions.into_iter().map(|v| v.version_id).collect();
        versions.sort();
        for v in versions {
            if declared.contains(&(s.secret_name.clone(), v.clone())) {
                report.skipped.push(format!(
                    "secret \"{}\" version \"{v}\": already declared in the configuration",
                    s.secret_name
                ));
            } else {
                wanted.push((s.secret_name.clone(), v));
            }
        }
    }
    progress.reading(wanted.len());
    let read = read_all(conn, wanted, options.parallelism, progress).await?;
    if read.is_empty() {
        return Err(ImportError::Nothing);
    }

    let descriptions: std::collections::BTreeMap<&str, &str> = secrets
        .iter()
        .map(|s| (s.secret_name.as_str(), s.description.as_str()))
        .collect();
    let label = data_label(config);
    report.data_source = label.clone();
    let format = Format::from_path(&options.values_out);
    let taken = config.secret_labels().into_iter().collect();
    let (document, hcl) = build(&read, &descriptions, &label, &source_file, taken);
    report.versions = read.len();
    report.binary = read
        .iter()
        .filter(|v| matches!(v.content, SecretContent::Binary(_)))
        .count();
    report.secrets = read
        .iter()
        .map(|v| v.name.as_str())
        .collect::<BTreeSet<_>>()
        .len();
    drop(read);

    let encrypt_options = EncryptOptions {
        encrypted_regex: Some("^".to_string()),
        source_name: Some(options.values_out.display().to_string()),
        ..EncryptOptions::default()
    };
    let encrypted = sops::encrypt_document(document, format, &recipients, &encrypt_options)?;
    let hcl = crate::config::fmt::format_source(&options.config_out, &hcl).unwrap_or(hcl);

    write_new(&options.values_out, &encrypted, true)?;
    if let Err(e) = write_new(&options.config_out, hcl.as_bytes(), false) {
        // Leave nothing half done: the values file alone is of no use.
        let _ = std::fs::remove_file(&options.values_out);
        return Err(e);
    }
    Ok(report)
}

/// Every matching secret, every page.
async fn list(
    conn: &Connection,
    options: &ImportOptions,
    skipped: &mut Vec<String>,
) -> Result<Vec<SecretMetadata>, ImportError> {
    let mut request = ListSecretsRequest {
        limit: Some(crate::ssm::LIST_PAGE_SIZE),
        order: Some(crate::ssm::ListOrder::OldestFirst),
        tag_filters: tag_filters(&options.tags),
        ..ListSecretsRequest::default()
    };
    let mut offset = 0u64;
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    loop {
        request.offset = Some(offset);
        let page = conn
            .pacer
            .call("ListSecrets", || conn.client.list_secrets(&request))
            .await
            .map_err(|error| ImportError::Api {
                action: "ListSecrets".to_string(),
                error,
            })?;
        let received = page.secret_metadatas.len() as u64;
        for s in page.secret_metadatas {
            if !seen.insert(s.secret_name.clone()) {
                continue;
            }
            if !options.matches.is_empty()
                && !options
                    .matches
                    .iter()
                    .any(|g| glob_match(g, &s.secret_name))
            {
                continue;
            }
            let why = if s.secret_name == super::lock::LOCK_SECRET {
                Some("ssmform's run lock")
            } else if s.status == SecretStatus::PendingDelete {
                Some("scheduled for deletion")
            } else if s.status == SecretStatus::Disabled {
                Some("disabled (its values cannot be read)")
            } else if s.secret_type != 0 {
                Some("a cloud-product secret, which SSM rotates")
            } else {
                None
            };
            match why {
                Some(why) => skipped.push(format!("secret \"{}\": {why}", s.secret_name)),
                None => out.push(s),
            }
        }
        offset += received;
        if received == 0 || offset >= page.total_count {
            break;
        }
    }
    out.sort_by(|a, b| a.secret_name.cmp(&b.secret_name));
    Ok(out)
}

/// Read every version, `parallelism` at a time, in name and version order.
async fn read_all(
    conn: &Connection,
    wanted: Vec<(String, String)>,
    parallelism: usize,
    progress: &dyn ImportProgress,
) -> Result<Vec<Version>, ImportError> {
    let mut set = tokio::task::JoinSet::new();
    let mut queue = wanted.into_iter().enumerate();
    let mut out: Vec<Option<Version>> = Vec::new();
    let spawn = |set: &mut tokio::task::JoinSet<_>, i: usize, name: String, version: String| {
        let client = conn.client.clone();
        let pacer: Arc<crate::ssm::retry::Pacer> = conn.pacer.clone();
        set.spawn(async move {
            let request = GetSecretValueRequest {
                secret_name: name.clone(),
                version_id: version.clone(),
            };
            let result = pacer
                .call("GetSecretValue", || client.get_secret_value(&request))
                .await;
            (i, name, version, result)
        });
    };
    for (i, (name, version)) in queue.by_ref().take(parallelism.max(1)) {
        out.push(None);
        spawn(&mut set, i, name, version);
    }
    while let Some(joined) = set.join_next().await {
        let (i, name, version, result) = joined.expect("API reads do not panic");
        let answer = result.map_err(|error| ImportError::Api {
            action: format!("GetSecretValue for secret \"{name}\" version \"{version}\""),
            error,
        })?;
        progress.read_one();
        if out.len() <= i {
            out.resize_with(i + 1, || None);
        }
        out[i] = Some(Version {
            name,
            version,
            content: answer.content,
        });
        if let Some((i, (name, version))) = queue.next() {
            spawn(&mut set, i, name, version);
        }
    }
    Ok(out.into_iter().flatten().collect())
}

/// A label for the data source that no `data "sops_file"` of the configuration uses.
fn data_label(config: &Config) -> String {
    let taken: BTreeSet<String> = config.sops_labels().into_iter().collect();
    let mut label = "imported".to_string();
    let mut n = 2;
    while taken.contains(&label) {
        label = format!("imported_{n}");
        n += 1;
    }
    label
}

/// A `secret` block label from a name and a version: letters, digits and `_` (what SSM allows
/// besides: `-` and `.` become `_`), starting with a letter.
fn block_label(name: &str, version: &str) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect()
    };
    let mut label = format!("{}__{}", clean(name), clean(version));
    if !label.starts_with(|c: char| c.is_ascii_alphabetic()) {
        label.insert_str(0, "s_");
    }
    label
}

/// An HCL quoted string: `"`, `\` and control characters escaped, and `${` / `%{` doubled so
/// they are not templates.
pub fn hcl_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '$' | '%' if chars.peek() == Some(&'{') => {
                out.push(c);
                out.push(c);
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The SOPS tree (plaintext, in memory) and the configuration text.
fn build(
    read: &[Version],
    descriptions: &std::collections::BTreeMap<&str, &str>,
    label: &str,
    source_file: &str,
    // The labels of the configuration's own `secret` blocks, which new blocks must not reuse.
    mut labels: BTreeSet<String>,
) -> (Document, String) {
    let mut root = Branch::new();
    let mut hcl = String::new();
    hcl.push_str(
        "# Written by `ssmform import`: the secrets that existed when it ran. Their values are in\n",
    );
    hcl.push_str(&format!(
        "# {source_file}, encrypted with SOPS (edit it with `sops {source_file}`).\n\n"
    ));
    hcl.push_str(&format!(
        "data \"sops_file\" {} {{\n  source_file = {}\n}}\n",
        hcl_string(label),
        hcl_string(source_file)
    ));
    for v in read {
        let name = &v.name;
        let (text, attr) = match &v.content {
            SecretContent::String(s) => (
                zeroize::Zeroizing::new(s.expose().to_vec()),
                "secret_string",
            ),
            SecretContent::Binary(b) => (
                zeroize::Zeroizing::new(
                    base64::engine::general_purpose::STANDARD
                        .encode(b.expose())
                        .into_bytes(),
                ),
                "secret_binary",
            ),
        };
        let key = format!("{name}.{}", v.version);
        root.push(key.clone(), Node::string(text.to_vec()));
        let mut block = block_label(name, &v.version);
        let base = block.clone();
        let mut n = 2;
        while !labels.insert(block.clone()) {
            block = format!("{base}_{n}");
            n += 1;
        }
        hcl.push_str(&format!("\nsecret {} {{\n", hcl_string(&block)));
        hcl.push_str(&format!("  secret_name = {}\n", hcl_string(name)));
        hcl.push_str(&format!("  version_id = {}\n", hcl_string(&v.version)));
        if let Some(d) = descriptions.get(name.as_str()).filter(|d| !d.is_empty()) {
            hcl.push_str(&format!("  description = {}\n", hcl_string(d)));
        }
        hcl.push_str(&format!(
            "  {attr} = data.sops_file.{label}.data[{}]\n}}\n",
            hcl_string(&key)
        ));
    }
    (Document::single(root), hcl)
}

/// Create `path` (it must not exist) and write `bytes`: mode 0600 for the values file.
fn write_new(path: &Path, bytes: &[u8], private: bool) -> Result<(), ImportError> {
    let fail = |error: std::io::Error| ImportError::Write {
        path: path.to_path_buf(),
        error,
    };
    let file = if private {
        crate::privfile::create_new(path)
    } else {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
    };
    let mut file = file.map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            ImportError::Exists {
                path: path.to_path_buf(),
                flag: if private {
                    "--values-out"
                } else {
                    "--config-out"
                },
            }
        } else {
            fail(e)
        }
    })?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_names() {
        assert!(glob_match("*", "anything"));
        assert!(glob_match("app-*", "app-db"));
        assert!(!glob_match("app-*", "web-db"));
        assert!(glob_match("a?c", "abc"));
        assert!(glob_match("*-db-*", "prod-db-password"));
        assert!(!glob_match("a?c", "ac"));
        assert!(glob_match("exact", "exact"));
    }

    #[test]
    fn hcl_strings_are_escaped_and_not_templates() {
        assert_eq!(
            hcl_string("a\"b\\c\n${x}%{y}$z"),
            r#""a\"b\\c\n$${x}%%{y}$z""#
        );
    }

    #[test]
    fn block_labels_are_identifiers() {
        assert_eq!(block_label("db-password", "v1.2"), "db_password__v1_2");
        assert_eq!(block_label("1st", "v1"), "s_1st__v1");
    }

    #[test]
    fn new_blocks_do_not_reuse_the_configuration_s_labels() {
        let read = [Version {
            name: "db-password".into(),
            version: "v1".into(),
            content: SecretContent::String(crate::secret::SecretValue::from_string("x".into())),
        }];
        let taken = ["db_password__v1".to_string()].into_iter().collect();
        let (_, hcl) = build(
            &read,
            &Default::default(),
            "imported",
            "imported.sops.yaml",
            taken,
        );
        assert!(hcl.contains("secret \"db_password__v1_2\" {"), "{hcl}");
        assert!(!hcl.contains("secret \"db_password__v1\" {"), "{hcl}");
    }

    #[test]
    fn tags_group_by_key() {
        let f = tag_filters(&[
            ("env".into(), "prod".into()),
            ("team".into(), "a".into()),
            ("env".into(), "stage".into()),
        ]);
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].values, ["prod", "stage"]);
    }
}
