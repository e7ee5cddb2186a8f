//! The lifecycle of whole secrets, planned after the versions are classified: restoring a secret
//! pending deletion, its description and status, tags and KMS key, `removed` blocks, versions no
//! block declares, orphan secrets, and SSM's limit of versions per secret.
//!
//! Every read here is asked only when the configuration uses what needs it, so that a
//! configuration without these settings costs exactly the calls it cost before:
//!
//! | configuration | reads |
//! |---|---|
//! | `description` or `kms_key_id` on an existing secret | one DescribeSecret per secret, none when the plan lists the region ([`Catalog`]) |
//! | `tags` / `default_tags` on an existing secret | one ListSecrets (name and tag filters) per secret |
//! | `exclusive_versions`, or `default_tags` / `manage_prefix` (ownership) | one ListSecretVersionIds per existing secret (shared with the version reads) |
//! | `removed` | one DescribeSecret (whole secret) or ListSecretVersionIds (one version) each |
//! | `default_tags` / `manage_prefix` | ListSecrets by tags / by name, every page |
//! | a new version beyond SSM's limit | ListSecretVersionIds, to name the versions in the error |
//!
//! Secret names are not secret in ssmform's model (plans show them); live descriptions and tag
//! values are never shown — only the declared ones.

use std::collections::{BTreeMap, BTreeSet};

use super::live::{Catalog, LiveState, list_versions};
use super::model::{Action, Change, Drift, NoteLocation, OpKind, Phase, SecretOp};
use super::refresh::{MAX_VERSIONS, RefreshContext};
use crate::config::{Config, DesiredSecret, Diagnostics, Location, Severity};
use crate::ssm::retry::CallError;
use crate::ssm::{DescribeSecretRequest, ListSecretsRequest, SecretStatus, TagFilter};

/// The run lock's secret (see `workflow::lock`): never an orphan.
const LOCK_SECRET: &str = "ssmform-lock";

/// What the secret-level pass found.
pub(super) struct Lifecycle {
    pub ops: Vec<SecretOp>,
}

fn location(l: &Location) -> NoteLocation {
    NoteLocation {
        file: l.file.display().to_string(),
        line: l.line,
        column: l.column,
    }
}

fn is_not_found(e: &CallError) -> bool {
    e.error
        .code()
        .is_some_and(|c| c == "ResourceNotFound" || c.starts_with("ResourceNotFound."))
}

/// The declared facts of one secret, from all its blocks.
struct Declared<'a> {
    name: &'a str,
    /// The first block (configuration order).
    first: &'a DesiredSecret,
    blocks: Vec<(&'a DesiredSecret, &'a LiveState)>,
    description: Option<&'a str>,
    enabled: Option<bool>,
    kms_key_id: Option<&'a str>,
    tags: BTreeMap<String, String>,
    /// Whether a block sets tags of its own (beside the provider's `default_tags`).
    own_tags: bool,
    exclusive: bool,
}

impl Declared<'_> {
    fn op(&self, op: OpKind, drift: Drift, phase: Phase) -> SecretOp {
        SecretOp {
            location: Some(location(&self.first.location)),
            ..SecretOp::new(&self.first.address, self.name, op, drift, phase)
        }
    }
}

/// Plan the operations on whole secrets. `pending` names the declared secrets found pending
/// deletion (their states were read as Disabled ones).
pub(super) async fn plan(
    config: &Config,
    ctx: &RefreshContext<'_>,
    catalog: &Catalog,
    entries: &[(DesiredSecret, LiveState)],
    changes: &[Change],
    pending: &BTreeSet<String>,
) -> Result<Lifecycle, Diagnostics> {
    let provider = config.provider();
    let whole = ctx.targets.is_empty();
    let ownership =
        whole && (!provider.default_tags.is_empty() || provider.manage_prefix.is_some());
    let removed = if whole { config.removed() } else { Vec::new() };
    let order: BTreeMap<String, usize> = config
        .secret_addresses()
        .into_iter()
        .enumerate()
        .map(|(i, a)| (a, i))
        .collect();
    let mut sorted: Vec<&(DesiredSecret, LiveState)> = entries.iter().collect();
    sorted.sort_by_key(|(s, _)| order.get(&s.address).copied().unwrap_or(usize::MAX));
    let mut secrets: Vec<Declared> = Vec::new();
    let mut index: BTreeMap<&str, usize> = BTreeMap::new();
    for (s, state) in sorted {
        match index.get(s.secret_name.as_str()).map(|&i| &mut secrets[i]) {
            Some(d) => {
                d.blocks.push((s, state));
                d.description = d.description.or(s.description.as_deref());
                d.enabled = d.enabled.or(s.enabled);
                d.kms_key_id = d.kms_key_id.or(s.kms_key_id.as_deref());
                d.tags.extend(s.tags.clone());
                d.own_tags |= !s.tags.is_empty();
                d.exclusive |= s.exclusive_versions;
            }
            None => {
                index.insert(&s.secret_name, secrets.len());
                let mut tags = provider.default_tags.clone();
                tags.extend(s.tags.clone());
                secrets.push(Declared {
                    name: &s.secret_name,
                    first: s,
                    blocks: vec![(s, state)],
                    description: s.description.as_deref(),
                    enabled: s.enabled,
                    kms_key_id: s.kms_key_id.as_deref(),
                    tags,
                    own_tags: !s.tags.is_empty(),
                    exclusive: s.exclusive_versions,
                })
            }
        }
    }
    let created: BTreeSet<&str> = changes
        .iter()
        .filter(|c| c.action == Action::CreateSecret)
        .map(|c| c.secret_name.as_str())
        .collect();

    let mut ops = Vec::new();
    let mut diagnostics = Diagnostics::new();
    // What the configuration owns, listed once: it also tells which declared secrets carry the
    // default tags, so that only secrets with tags of their own need a listing each.
    let owned = if ownership {
        match owned(ctx, config).await {
            Ok(o) => Some(o),
            Err(e) => {
                diagnostics.push(config.diagnostic(
                    Severity::Error,
                    &config.provider().location,
                    format!("cannot list the secrets this configuration owns (default_tags, manage_prefix): {e}"),
                ));
                None
            }
        }
    } else {
        None
    };
    let fail = |diagnostics: &mut Diagnostics, d: &Declared, e: &CallError, what: &str| {
        diagnostics.push(config.diagnostic(
            Severity::Error,
            &d.first.location,
            format!(
                "cannot read the {what} of secret \"{}\" ({}): {e}",
                d.name, d.first.address
            ),
        ));
    };
    for d in &secrets {
        let is_pending = pending.contains(d.name);
        if created.contains(d.name) {
            if d.enabled == Some(false) {
                ops.push(d.op(OpKind::Disable, Drift::SecretMissing, Phase::After));
            }
            continue;
        }
        // Everything below is about a secret that exists.
        let status = if is_pending {
            SecretStatus::PendingDelete
        } else if d
            .blocks
            .iter()
            .any(|(_, s)| matches!(s, LiveState::Disabled { .. }))
        {
            SecretStatus::Disabled
        } else {
            SecretStatus::Enabled
        };
        if is_pending {
            ops.push(d.op(OpKind::Restore, Drift::PendingDeletion, Phase::Before));
        }
        match (status, d.enabled) {
            // RestoreSecret leaves the secret Disabled.
            (SecretStatus::PendingDelete, Some(true) | None) => {
                ops.push(d.op(OpKind::Enable, Drift::PendingDeletion, Phase::After))
            }
            (SecretStatus::Disabled, Some(true)) => {
                ops.push(d.op(OpKind::Enable, Drift::Disabled, Phase::After))
            }
            (SecretStatus::Enabled, Some(false)) => {
                ops.push(d.op(OpKind::Disable, Drift::Enabled, Phase::After))
            }
            _ => {}
        }
        if d.description.is_some() || d.kms_key_id.is_some() {
            // A listing of the region made for this plan already says them.
            let described = match catalog.metadata(d.name) {
                Some(l) => Ok((l.description.clone(), l.kms_key_id.clone())),
                None => {
                    let request = DescribeSecretRequest {
                        secret_name: d.name.to_string(),
                    };
                    ctx.pacer
                        .call("DescribeSecret", || ctx.client.describe_secret(&request))
                        .await
                        .map(|r| (r.description, r.kms_key_id))
                }
            };
            match described {
                Err(e) => fail(&mut diagnostics, d, &e, "description"),
                Ok((live_description, live_kms)) => {
                    if let Some(want) = d.description
                        && super::marker::user_description(&live_description) != want
                    {
                        let mut op = d.op(
                            OpKind::UpdateDescription,
                            Drift::DescriptionDiffers,
                            Phase::After,
                        );
                        op.description = Some(want.to_string());
                        ops.push(op);
                    }
                    if let Some(want) = d.kms_key_id
                        && live_kms != want
                    {
                        diagnostics.push(
                            config
                                .diagnostic(
                                    Severity::Error,
                                    &d.first.location,
                                    format!(
                                        "{}: secret \"{}\" is encrypted with another KMS key than kms_key_id \"{want}\", and a secret's KMS key cannot change",
                                        d.first.address, d.name
                                    ),
                                )
                                .with_help(
                                    "SSM sets the KMS key only when it creates a secret: remove kms_key_id (or set it to the key the secret has), or declare a new secret with that key and remove this one",
                                )
                                .with_kind(Drift::KmsKeyDiffers.as_str()),
                        );
                    }
                }
            }
        }
        let tagged = match (&owned, d.own_tags) {
            (Some(o), false) if !provider.default_tags.is_empty() => {
                Some(Ok(o.tagged.contains(d.name)))
            }
            _ if d.tags.is_empty() || is_pending => None,
            _ => Some(has_tags(ctx, d.name, &d.tags).await),
        };
        if let Some(tagged) = tagged {
            match tagged {
                Err(e) => fail(&mut diagnostics, d, &e, "tags"),
                Ok(true) => {}
                Ok(false) => {
                    let mut op = d.op(OpKind::Report, Drift::TagsDiffer, Phase::After);
                    op.detail = Some(format!(
                        "the secret lacks a declared tag (declared: {}); ssmform sets tags only when it creates a secret",
                        d.tags
                            .iter()
                            .map(|(k, v)| format!("{k} = \"{v}\""))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                    ops.push(op);
                }
            }
        }
        // Versions: listed when the configuration owns them, or for the limit.
        let declared: BTreeSet<&str> = d
            .blocks
            .iter()
            .map(|(s, _)| s.version_id.as_str())
            .collect();
        let new_versions: Vec<&str> = changes
            .iter()
            .filter(|c| c.secret_name == d.name && c.action == Action::CreateVersion)
            .map(|c| c.version_id.as_str())
            .collect();
        let existing_count =
            d.blocks
                .iter()
                .find_map(|(_, s)| match s {
                    LiveState::Disabled { versions, .. }
                    | LiveState::VersionMissing { versions } => Some(*versions),
                    _ => None,
                })
                .unwrap_or(0);
        let over_limit =
            !new_versions.is_empty() && existing_count + new_versions.len() > MAX_VERSIONS;
        if !(ownership || over_limit || d.exclusive && whole) {
            continue;
        }
        let live_versions = match catalog.versions(ctx.client, ctx.pacer, d.name).await {
            Ok(v) => v,
            Err(e) => {
                fail(&mut diagnostics, d, &e, "versions");
                continue;
            }
        };
        let removed_here: BTreeSet<&str> = removed
            .iter()
            .filter(|r| r.secret_name == d.name)
            .filter_map(|r| r.version_id.as_deref())
            .filter(|v| live_versions.iter().any(|l| l == v))
            .collect();
        let undeclared: Vec<&String> = live_versions
            .iter()
            .filter(|v| !declared.contains(v.as_str()) && !removed_here.contains(v.as_str()))
            .collect();
        let deleting = removed_here.len()
            + if d.exclusive && whole {
                undeclared.len()
            } else {
                0
            };
        let after_writes = live_versions.len() + new_versions.len();
        let room_first = after_writes > MAX_VERSIONS;
        if room_first && after_writes - deleting > MAX_VERSIONS {
            let first_new = changes
                .iter()
                .find(|c| c.secret_name == d.name && c.action == Action::CreateVersion)
                .map(|c| c.address.as_str())
                .unwrap_or(&d.first.address);
            diagnostics.push(
                config
                    .diagnostic(
                        Severity::Error,
                        &d.first.location,
                        format!(
                            "secret \"{}\" has {} versions ({}); adding {} would pass SSM's limit of {MAX_VERSIONS} versions per secret ({first_new})",
                            d.name,
                            live_versions.len(),
                            live_versions.join(", "),
                            new_versions.join(", ")
                        ),
                    )
                    .with_help(format!(
                        "delete versions no longer used: set exclusive_versions = true on the secret's block to delete the versions no block declares, or add removed {{ secret_name = \"{}\"  version_id = \"...\" }}",
                        d.name
                    ))
                    .with_kind(Drift::VersionMissing.as_str()),
            );
            continue;
        }
        // Only as many deletions as make room run before the writes (removed versions first, then
        // the oldest undeclared ones); the others after them, as usual.
        let mut room = after_writes.saturating_sub(MAX_VERSIONS);
        let mut take_room = || {
            if room > 0 {
                room -= 1;
                Phase::Before
            } else {
                Phase::After
            }
        };
        for v in live_versions
            .iter()
            .filter(|v| removed_here.contains(v.as_str()))
        {
            if room_first && take_room() == Phase::Before {
                let r = removed
                    .iter()
                    .find(|r| r.secret_name == d.name && r.version_id.as_deref() == Some(v))
                    .expect("found above");
                ops.push(removed_version_op(r, Phase::Before));
            }
        }
        for v in undeclared {
            let mut o = if d.exclusive && whole {
                d.op(OpKind::DeleteVersion, Drift::UndeclaredVersion, take_room())
            } else {
                d.op(OpKind::Report, Drift::UndeclaredVersion, Phase::After)
            };
            o.version_id = Some(v.clone());
            ops.push(o);
        }
    }

    // `removed` blocks (the versions of declared secrets that make room are planned above).
    let declared_names: BTreeSet<&str> = secrets.iter().map(|d| d.name).collect();
    for r in &removed {
        if ops.iter().any(|o| {
            o.address == format!("removed.{}", r.secret_name) && o.version_id == r.version_id
        }) {
            continue;
        }
        match &r.version_id {
            Some(v) => match list_versions(ctx.client, ctx.pacer, &r.secret_name).await {
                Err(e) if is_not_found(&e) => {}
                Err(e) => diagnostics.push(config.diagnostic(
                    Severity::Error,
                    &r.location,
                    format!(
                        "cannot read the versions of secret \"{}\": {e}",
                        r.secret_name
                    ),
                )),
                Ok(versions) if versions.contains(v) => {
                    ops.push(removed_version_op(r, Phase::After));
                }
                Ok(_) => {}
            },
            None => {
                let request = DescribeSecretRequest {
                    secret_name: r.secret_name.clone(),
                };
                match ctx
                    .pacer
                    .call("DescribeSecret", || ctx.client.describe_secret(&request))
                    .await
                {
                    Err(e) if is_not_found(&e) => {}
                    Err(e) => diagnostics.push(config.diagnostic(
                        Severity::Error,
                        &r.location,
                        format!("cannot read secret \"{}\": {e}", r.secret_name),
                    )),
                    Ok(live) if live.status == SecretStatus::PendingDelete => {}
                    Ok(live) => ops.push(SecretOp {
                        recovery_window_days: Some(r.recovery_window_days),
                        enabled: live.status == SecretStatus::Enabled,
                        location: Some(location(&r.location)),
                        ..SecretOp::new(
                            format!("removed.{}", r.secret_name),
                            &r.secret_name,
                            OpKind::DeleteSecret,
                            Drift::Removed,
                            Phase::Last,
                        )
                    }),
                }
            }
        }
    }

    if let Some(owned) = owned {
        for name in owned.orphan_candidates {
            if declared_names.contains(name.as_str())
                || removed.iter().any(|r| r.secret_name == name)
                || name == LOCK_SECRET
            {
                continue;
            }
            ops.push(SecretOp::new(
                format!("orphan.{name}"),
                name,
                OpKind::Report,
                Drift::OrphanSecret,
                Phase::After,
            ));
        }
    }
    if diagnostics.has_errors() {
        diagnostics.sort();
        return Err(diagnostics);
    }
    Ok(Lifecycle { ops })
}

fn removed_version_op(r: &crate::config::Removed, phase: Phase) -> SecretOp {
    SecretOp {
        version_id: r.version_id.clone(),
        location: Some(location(&r.location)),
        ..SecretOp::new(
            format!("removed.{}", r.secret_name),
            &r.secret_name,
            OpKind::DeleteVersion,
            Drift::Removed,
            phase,
        )
    }
}

/// Whether the secret `name` carries every tag of `tags` (a listing by name and tags).
async fn has_tags(
    ctx: &RefreshContext<'_>,
    name: &str,
    tags: &BTreeMap<String, String>,
) -> Result<bool, CallError> {
    let request = ListSecretsRequest {
        search_secret_name: Some(name.to_string()),
        tag_filters: tags
            .iter()
            .map(|(k, v)| TagFilter {
                key: k.clone(),
                values: vec![v.clone()],
            })
            .collect(),
        ..Default::default()
    };
    let found = list_every_page(ctx, request).await?;
    Ok(found.iter().any(|(n, _)| n == name))
}

/// The live secrets a configuration owns.
struct Owned {
    /// Those carrying every one of the provider's `default_tags`, and those whose name starts with
    /// its `manage_prefix`; secrets pending deletion are left out (they are on their way out).
    orphan_candidates: Vec<String>,
    /// Every secret carrying the `default_tags`, whatever its status.
    tagged: BTreeSet<String>,
}

async fn owned(ctx: &RefreshContext<'_>, config: &Config) -> Result<Owned, CallError> {
    let provider = config.provider();
    let mut names = BTreeSet::new();
    let mut tagged = BTreeSet::new();
    if !provider.default_tags.is_empty() {
        let request = ListSecretsRequest {
            tag_filters: provider
                .default_tags
                .iter()
                .map(|(k, v)| TagFilter {
                    key: k.clone(),
                    values: vec![v.clone()],
                })
                .collect(),
            ..Default::default()
        };
        for (n, status) in list_every_page(ctx, request).await? {
            if status != SecretStatus::PendingDelete {
                names.insert(n.clone());
            }
            tagged.insert(n);
        }
    }
    if let Some(prefix) = &provider.manage_prefix {
        let request = ListSecretsRequest {
            search_secret_name: Some(prefix.clone()),
            ..Default::default()
        };
        for (n, status) in list_every_page(ctx, request).await? {
            if n.starts_with(prefix.as_str()) && status != SecretStatus::PendingDelete {
                names.insert(n);
            }
        }
    }
    Ok(Owned {
        orphan_candidates: names.into_iter().collect(),
        tagged,
    })
}

/// Every page of a listing, through the pacer (rate limit, retries): names and statuses.
async fn list_every_page(
    ctx: &RefreshContext<'_>,
    mut request: ListSecretsRequest,
) -> Result<Vec<(String, SecretStatus)>, CallError> {
    request.limit = Some(crate::ssm::LIST_PAGE_SIZE);
    request.order = Some(crate::ssm::ListOrder::OldestFirst);
    let mut offset = 0u64;
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    loop {
        request.offset = Some(offset);
        let page = ctx
            .pacer
            .call("ListSecrets", || ctx.client.list_secrets(&request))
            .await?;
        let received = page.secret_metadatas.len() as u64;
        for m in page.secret_metadatas {
            if seen.insert(m.secret_name.clone()) {
                out.push((m.secret_name, m.status));
            }
        }
        offset += received;
        if received == 0 || offset >= page.total_count {
            return Ok(out);
        }
    }
}
