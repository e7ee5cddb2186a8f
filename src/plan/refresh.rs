//! Refresh: evaluate the configuration, read the data sources and every managed secret's live value,
//! and turn the differences into a [`Plan`].
//!
//! Evaluation runs in rounds: evaluate what can be evaluated, read the data sources whose name and
//! version became known, evaluate again, until nothing is pending. Then every managed secret is read
//! concurrently (at most `parallelism` reads at once; the shared [`Pacer`] paces GetSecretValue at
//! its documented 300/s and keeps as many requests in flight as that rate needs at the observed
//! latency), with a listing of the region's secrets when that saves calls
//! ([`super::live::Catalog`]), and classified:
//!
//! | live state | action |
//! |---|---|
//! | same content | no-op |
//! | other content, or other kind | `~ update` (UpdateSecret) |
//! | Disabled secret, version exists | `~ update`, unverified, with a warning |
//! | secret exists, version missing | `+ create version` (PutSecretValue); past SSM's 10 versions, an error (`plan::lifecycle`) |
//! | secret missing | `+ create secret` (CreateSecret) for the first block of that name in dependency order, `+ create version` after it for the others |
//! | PendingDelete | as a Disabled secret (its versions listed), after a restore (`plan::lifecycle`) |
//!
//! Then `plan::lifecycle` plans the operations on whole secrets: restore, status, description,
//! `removed` blocks, orphans, undeclared versions.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use tokio::task::JoinSet;

use super::diff::{Visibility, content_diff, creation_diff};
use super::live::{Catalog, LiveState, read_live_in};
use super::model::{
    Action, Change, ContentDiff, ContentSummary, Drift, Note, NoteLocation, Plan, PlanMeta,
    Severity,
};
use crate::config::{Config, DataValues, DesiredSecret, Diagnostic, Diagnostics, Location};
use crate::secret::{Fingerprint, PlanKey, SecretContent};
use crate::ssm::retry::{CallError, Pacer};
use crate::ssm::{Client, GetSecretValueRequest};

/// SSM's limit on versions per secret.
pub const MAX_VERSIONS: usize = 10;

/// What refresh needs besides the configuration.
pub struct RefreshContext<'a> {
    pub client: &'a Client,
    pub pacer: &'a Arc<Pacer>,
    pub key: &'a PlanKey,
    /// Reads (each one request at a time) in progress at most.
    pub parallelism: usize,
    /// `--target` addresses (empty: everything).
    pub targets: &'a [String],
    /// Shown in the plan's metadata.
    pub endpoint: String,
    pub region: String,
    /// Told about the reads of managed secrets as they finish.
    pub progress: &'a dyn ReadProgress,
}

/// Follows the reads of live values, so that a front end can show progress. Every method does
/// nothing by default.
pub trait ReadProgress: Send + Sync {
    /// `total` reads are about to start.
    fn started(&self, _total: u64) {}
    /// One more read finished successfully.
    fn read_done(&self) {}
    /// One more read failed (it is not counted as read).
    fn read_failed(&self) {}
    /// No more reads.
    fn finished(&self) {}
}

/// No progress at all.
pub struct NoProgress;

impl ReadProgress for NoProgress {}

/// A plan together with the desired content of every change (for applying it right away).
pub struct Refreshed {
    pub plan: Plan,
    pub desired: BTreeMap<String, DesiredSecret>,
}

/// Refresh and plan. Failures come back as diagnostics pointing at the configuration.
pub async fn refresh(config: &Config, ctx: &RefreshContext<'_>) -> Result<Refreshed, Diagnostics> {
    let scope = scope(config, ctx.targets)?;
    let secrets = evaluate_with_data(config, ctx, scope.as_ref()).await?;

    ctx.progress.started(secrets.len() as u64);
    let (lives, catalog) = read_all(ctx, &secrets).await;
    ctx.progress.finished();

    let mut diagnostics = Diagnostics::new();
    let mut entries = Vec::with_capacity(secrets.len());
    let mut failed = Vec::new();
    for (secret, live) in secrets.into_iter().zip(lives) {
        match live {
            Ok(state) => entries.push((secret, state)),
            Err(e) => failed.push((secret, e)),
        }
    }
    for d in read_failures(config, &failed) {
        diagnostics.push(d);
    }
    if diagnostics.has_errors() {
        return Err(diagnostics);
    }
    // A secret pending deletion that is declared again is restored first (RestoreSecret leaves
    // it Disabled): its versions are planned as a Disabled secret's.
    let mut pending: BTreeSet<String> = BTreeSet::new();
    let mut pending_versions: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (secret, state) in &mut entries {
        if !matches!(state, LiveState::PendingDelete) {
            continue;
        }
        pending.insert(secret.secret_name.clone());
        if !pending_versions.contains_key(&secret.secret_name) {
            match super::live::list_versions(ctx.client, ctx.pacer, &secret.secret_name).await {
                Ok(v) => {
                    pending_versions.insert(secret.secret_name.clone(), v);
                }
                Err(e) => {
                    diagnostics.push(config.diagnostic(
                        crate::config::Severity::Error,
                        &secret.location,
                        format!(
                            "{}: cannot list the versions of secret \"{}\", which is scheduled for deletion: {e}",
                            secret.address, secret.secret_name
                        ),
                    ));
                    continue;
                }
            }
        }
        let versions = &pending_versions[&secret.secret_name];
        *state = LiveState::Disabled {
            version_exists: versions.contains(&secret.version_id),
            versions: versions.len(),
        };
    }
    if diagnostics.has_errors() {
        return Err(diagnostics);
    }
    let live_shown = live_shown(ctx, &entries).await;
    let mut refreshed = classify(config, ctx, &entries, &live_shown, &pending);
    let lifecycle = super::lifecycle::plan(
        config,
        ctx,
        &catalog,
        &entries,
        &refreshed.plan.changes,
        &pending,
    )
    .await?;
    refreshed.plan.secret_ops = lifecycle.ops;
    refreshed.desired = entries
        .into_iter()
        .map(|(s, _)| (s.address.clone(), s))
        .collect();
    Ok(refreshed)
}

/// The `sensitive = false` secrets whose live content may be shown: those whose live content
/// ssmform wrote as such, as the marker in their description records (see [`super::marker`]).
/// Only secrets whose content changes are asked (usually none, always few: one DescribeSecret
/// each).
async fn live_shown(
    ctx: &RefreshContext<'_>,
    entries: &[(DesiredSecret, LiveState)],
) -> BTreeSet<String> {
    let mut shown = BTreeSet::new();
    for (secret, state) in entries {
        let LiveState::Present(live) = state else {
            continue;
        };
        if secret.sensitive || live == &secret.content || live.kind() != secret.content.kind() {
            continue;
        }
        let request = crate::ssm::DescribeSecretRequest {
            secret_name: secret.secret_name.clone(),
        };
        let described = ctx
            .pacer
            .call("DescribeSecret", || ctx.client.describe_secret(&request))
            .await;
        // Without the description, the live side stays hidden: safe, and the plan still works.
        if let Ok(d) = described
            && super::marker::allows(&d.description, &secret.version_id, live)
        {
            shown.insert(secret.address.clone());
        }
    }
    shown
}

/// Addresses named in full after "N more secrets could not be read for the same reason".
const FAILURES_NAMED: usize = 5;

/// One diagnostic per cause of failed reads, at the first secret that failed that way, naming the
/// others. A dead endpoint or rejected credentials fail every read alike, and a thousand identical
/// errors would bury the one thing to fix.
fn read_failures(config: &Config, failed: &[(DesiredSecret, CallError)]) -> Vec<Diagnostic> {
    let mut groups: Vec<(String, Vec<&(DesiredSecret, CallError)>)> = Vec::new();
    for f in failed {
        let (secret, e) = f;
        let cause = match &e.error {
            crate::ssm::Error::Api(api) => format!("api:{}", api.code),
            crate::ssm::Error::Transport(t) => format!("transport:{:?}", t.kind),
            // A request that could not be built is about that secret alone.
            crate::ssm::Error::InvalidRequest(_) => format!("request:{}", secret.address),
        };
        match groups.iter_mut().find(|(c, _)| *c == cause) {
            Some((_, group)) => group.push(f),
            None => groups.push((cause, vec![f])),
        }
    }
    groups
        .into_iter()
        .map(|(_, group)| {
            let (secret, e) = group[0];
            let d = config.diagnostic(
                crate::config::Severity::Error,
                &secret.location,
                format!(
                    "cannot read the live value of {} (secret \"{}\", version \"{}\"): {e}",
                    secret.address, secret.secret_name, secret.version_id
                ),
            );
            let others: Vec<&str> = group[1..].iter().map(|(s, _)| s.address.as_str()).collect();
            if others.is_empty() {
                return d;
            }
            let mut named = others
                .iter()
                .take(FAILURES_NAMED)
                .copied()
                .collect::<Vec<_>>()
                .join(", ");
            if others.len() > FAILURES_NAMED {
                named.push_str(&format!(" and {} more", others.len() - FAILURES_NAMED));
            }
            d.with_note(format!(
                "{} could not be read for the same reason: {named}",
                if others.len() == 1 {
                    "1 more secret".to_string()
                } else {
                    format!("{} more secrets", others.len())
                }
            ))
        })
        .collect()
}

/// The addresses in scope for `--target`, or `None` for everything.
fn scope(config: &Config, targets: &[String]) -> Result<Option<BTreeSet<String>>, Diagnostics> {
    if targets.is_empty() {
        return Ok(None);
    }
    let mut diagnostics = Diagnostics::new();
    for t in targets {
        if !t.starts_with("secret.") {
            diagnostics.push(Diagnostic::without_location(
                crate::config::Severity::Error,
                "--target".to_string(),
                format!(
                    "--target {t}: a target must be a managed secret's address, like secret.db_url"
                ),
            ));
        }
    }
    if diagnostics.has_errors() {
        return Err(diagnostics);
    }
    config
        .graph()
        .dependency_closure(targets)
        .map(Some)
        .map_err(|unknown| {
            let mut d = Diagnostics::new();
            d.push(Diagnostic::without_location(
                crate::config::Severity::Error,
                "--target".to_string(),
                unknown.to_string(),
            ));
            d
        })
}

/// Evaluate in rounds, reading data sources as their names become known.
async fn evaluate_with_data(
    config: &Config,
    ctx: &RefreshContext<'_>,
    scope: Option<&BTreeSet<String>>,
) -> Result<Vec<DesiredSecret>, Diagnostics> {
    let mut data = DataValues::default();
    loop {
        let evaluation = config.evaluate(&data, scope);
        if evaluation.diagnostics.has_errors() {
            return Err(evaluation.diagnostics);
        }
        if evaluation.pending_data.is_empty() {
            if !evaluation.deferred.is_empty() {
                // Cannot happen once every data source is read; say so rather than drop secrets.
                let mut d = Diagnostics::new();
                d.push(Diagnostic::without_location(
                    crate::config::Severity::Error,
                    config.dir().display().to_string(),
                    format!(
                        "could not evaluate {}: they depend on values that are still unknown",
                        evaluation.deferred.join(", ")
                    ),
                ));
                return Err(d);
            }
            return Ok(evaluation.secrets);
        }
        let mut diagnostics = Diagnostics::new();
        let read = |request: crate::config::DataRequest| {
            let client = ctx.client.clone();
            let pacer = ctx.pacer.clone();
            async move {
                let get = GetSecretValueRequest {
                    secret_name: request.secret_name.clone(),
                    version_id: request.version_id.clone(),
                };
                let result = pacer
                    .call("GetSecretValue", || client.get_secret_value(&get))
                    .await
                    .map(|r| r.content);
                (request, result)
            }
        };
        for_each_bounded(
            evaluation.pending_data,
            ctx.parallelism,
            read,
            |(request, result)| match result {
                Ok(content) => {
                    data.0.insert(request.address.clone(), content);
                }
                Err(e) => {
                    diagnostics.push(data_source_error(config, &request.location, &request, &e))
                }
            },
        )
        .await;
        if diagnostics.has_errors() {
            diagnostics.sort();
            return Err(diagnostics);
        }
    }
}

fn data_source_error(
    config: &Config,
    location: &Location,
    request: &crate::config::DataRequest,
    e: &CallError,
) -> Diagnostic {
    let what = format!(
        "{}: cannot read secret \"{}\" version \"{}\"",
        request.address, request.secret_name, request.version_id
    );
    let d = config.diagnostic(
        crate::config::Severity::Error,
        location,
        format!("{what}: {e}"),
    );
    match e.error.code() {
        Some(c) if c.starts_with("ResourceNotFound") => d.with_help(
            "a data source reads a secret managed elsewhere: check its secret_name and version_id, \
             and the provider's region",
        ),
        Some("ResourceUnavailable.ResourceDisabled") => {
            d.with_help("the secret is Disabled; enable it (EnableSecret) to read it")
        }
        _ => d,
    }
}

/// Read every secret's live state, concurrently.
async fn read_all(
    ctx: &RefreshContext<'_>,
    secrets: &[DesiredSecret],
) -> (Vec<Result<LiveState, CallError>>, Arc<Catalog>) {
    let mut out: Vec<Option<Result<LiveState, CallError>>> =
        (0..secrets.len()).map(|_| None).collect();
    let names: BTreeSet<&str> = secrets.iter().map(|s| s.secret_name.as_str()).collect();
    let catalog = Catalog::start(ctx.client, ctx.pacer, names.len());
    let read = |(i, s): (usize, &DesiredSecret)| {
        let client = ctx.client.clone();
        let pacer = ctx.pacer.clone();
        let catalog = catalog.clone();
        let (name, version) = (s.secret_name.clone(), s.version_id.clone());
        async move {
            (
                i,
                read_live_in(&client, &pacer, &catalog, &name, &version).await,
            )
        }
    };
    for_each_bounded(
        secrets.iter().enumerate(),
        ctx.parallelism,
        read,
        |(i, r): (usize, Result<LiveState, CallError>)| {
            if r.is_ok() {
                ctx.progress.read_done();
            } else {
                ctx.progress.read_failed();
            }
            out[i] = Some(r);
        },
    )
    .await;
    let out = out
        .into_iter()
        .map(|r| r.expect("every read reports"))
        .collect();
    (out, catalog)
}

/// Run `task(item)` for every item, at most `limit` at a time, handing each result to `done` as
/// it finishes.
///
/// At most `limit` tasks exist at any moment, not merely run: a spawned task holds its whole
/// future (a few KiB for an API call with its retries), so spawning one per secret up front and
/// gating them with a semaphore cost ~23 MiB of waiting futures for 10,000 secrets.
async fn for_each_bounded<I, T, Fut>(
    items: impl IntoIterator<Item = I>,
    limit: usize,
    task: impl Fn(I) -> Fut,
    mut done: impl FnMut(T),
) where
    Fut: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let mut items = items.into_iter();
    let mut set = JoinSet::new();
    for item in items.by_ref().take(limit.max(1)) {
        set.spawn(task(item));
    }
    while let Some(joined) = set.join_next().await {
        done(joined.expect("API reads do not panic"));
        if let Some(item) = items.next() {
            set.spawn(task(item));
        }
    }
}

fn summary(key: &PlanKey, secret: &DesiredSecret, content: &SecretContent) -> ContentSummary {
    ContentSummary {
        kind: content.kind(),
        size: content.len(),
        fingerprint: Fingerprint::of(key, &secret.secret_name, &secret.version_id, content),
    }
}

fn note_location(l: &Location) -> NoteLocation {
    NoteLocation {
        file: l.file.display().to_string(),
        line: l.line,
        column: l.column,
    }
}

/// Turn live states into changes, waves and warnings.
fn classify(
    config: &Config,
    ctx: &RefreshContext<'_>,
    entries: &[(DesiredSecret, LiveState)],
    live_shown: &BTreeSet<String>,
    pending: &BTreeSet<String>,
) -> Refreshed {
    let managed_status: BTreeSet<&str> = entries
        .iter()
        .filter(|(s, _)| s.enabled.is_some())
        .map(|(s, _)| s.secret_name.as_str())
        .collect();
    let mut classifier = Classifier {
        key: ctx.key,
        default_tags: &config.provider().default_tags,
        pending,
        managed_status,
        live_shown,
        notes: targeting_note(ctx.targets).into_iter().collect(),
        creators: BTreeMap::new(),
        implicit: BTreeMap::new(),
    };
    let mut changes: Vec<Change> = entries
        .iter()
        .map(|(secret, state)| classifier.change(secret, state))
        .collect();
    assign_waves(config, &mut changes, &classifier.implicit);
    // Present changes in configuration order.
    let order: BTreeMap<String, usize> = config
        .secret_addresses()
        .into_iter()
        .enumerate()
        .map(|(i, a)| (a, i))
        .collect();
    changes.sort_by_key(|c| order.get(&c.address).copied().unwrap_or(usize::MAX));
    let desired = BTreeMap::new();
    Refreshed {
        plan: Plan {
            meta: plan_meta(config, ctx),
            changes,
            secret_ops: Vec::new(),
            notes: classifier.notes,
        },
        desired,
    }
}

/// As Terraform does: a reviewer of a partial plan must not take it for the whole.
fn targeting_note(targets: &[String]) -> Option<Note> {
    if targets.is_empty() {
        return None;
    }
    Some(Note {
        severity: Severity::Warning,
        summary: format!(
            "targeting is in effect: this plan covers only {} and what {} on",
            targets.join(", "),
            if targets.len() == 1 {
                "it depends"
            } else {
                "they depend"
            }
        ),
        detail: Some(
            "Changes to other secrets are neither shown nor applied. --target is for \
             exceptional cases; plan without it to see every change."
                .into(),
        ),
        address: None,
        location: None,
        drift: None,
    })
}

/// The plan's metadata: where and against what it was computed.
fn plan_meta(config: &Config, ctx: &RefreshContext<'_>) -> PlanMeta {
    let variables = config
        .variable_values()
        .into_iter()
        .map(|(name, value)| {
            let fp = Fingerprint::of_labelled(ctx.key, &format!("var.{name}"), value.expose());
            (name, fp)
        })
        .collect();
    PlanMeta {
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        created_at_ms: crate::clock::output_millis_now(),
        config_dir: config.dir().display().to_string(),
        config_dir_absolute: std::fs::canonicalize(config.dir())
            .ok()
            .map(|p| p.display().to_string()),
        config_digest: hex::encode(config.digest()),
        variables,
        endpoint: ctx.endpoint.clone(),
        region: ctx.region.clone(),
        targets: ctx.targets.to_vec(),
    }
}

/// Classifies secrets one by one, in dependency order, remembering what earlier ones decided.
struct Classifier<'a> {
    key: &'a PlanKey,
    /// The provider's `default_tags`, set on every secret created.
    default_tags: &'a BTreeMap<String, String>,
    /// Secrets pending deletion, restored before the writes (they read as Disabled).
    pending: &'a BTreeSet<String>,
    /// Secrets whose status the configuration sets (`enabled`).
    managed_status: BTreeSet<&'a str>,
    /// Secrets whose live content may be shown.
    live_shown: &'a BTreeSet<String>,
    notes: Vec<Note>,
    /// The first block (in dependency order) of each missing secret creates it; the others add
    /// versions after it.
    creators: BTreeMap<String, String>,
    /// Changes that must wait for the change creating their secret, by address.
    implicit: BTreeMap<String, String>,
}

impl Classifier<'_> {
    fn change(&mut self, secret: &DesiredSecret, state: &LiveState) -> Change {
        let mut change = Change {
            address: secret.address.clone(),
            secret_name: secret.secret_name.clone(),
            version_id: secret.version_id.clone(),
            action: Action::NoOp,
            wave: 0,
            live: None,
            desired: summary(self.key, secret, &secret.content),
            diff: ContentDiff::None,
            unverified: false,
            sensitive: secret.sensitive,
            description: None,
            depends_on: Vec::new(),
            tags: BTreeMap::new(),
            kms_key_id: None,
            secret_created_here: false,
        };
        let seen = Visibility {
            sensitive: secret.sensitive,
            shown_keys: &secret.shown_keys,
            live_shown: self.live_shown.contains(&secret.address),
        };
        match state {
            LiveState::Present(live) => {
                change.live = Some(summary(self.key, secret, live));
                if live != &secret.content {
                    change.action = Action::Update;
                    change.diff = content_diff(live, &secret.content, seen);
                }
            }
            LiveState::Disabled {
                version_exists: true,
                ..
            } => {
                change.action = Action::Update;
                change.unverified = true;
                if !self.pending.contains(&secret.secret_name)
                    && !self.managed_status.contains(secret.secret_name.as_str())
                {
                    self.notes.push(disabled_note(secret));
                }
            }
            LiveState::Disabled { versions, .. } | LiveState::VersionMissing { versions } => {
                change.action = Action::CreateVersion;
                change.diff = creation_diff(&secret.content, seen);
                let _ = versions;
            }
            LiveState::SecretMissing => {
                change.diff = creation_diff(&secret.content, seen);
                match self.creators.get(&secret.secret_name) {
                    None => {
                        self.creators
                            .insert(secret.secret_name.clone(), secret.address.clone());
                        change.action = Action::CreateSecret;
                        change.description = secret.description.clone();
                        change.kms_key_id = secret.kms_key_id.clone();
                        change.tags = self.default_tags.clone();
                        change.tags.extend(secret.tags.clone());
                    }
                    Some(creator) => {
                        change.action = Action::CreateVersion;
                        change.secret_created_here = true;
                        self.implicit
                            .insert(secret.address.clone(), creator.clone());
                    }
                }
            }
            LiveState::PendingDelete => unreachable!("PendingDelete is reported before classify"),
        }
        change
    }
}

fn disabled_note(secret: &DesiredSecret) -> Note {
    Note {
        severity: Severity::Warning,
        summary: format!(
            "the secret \"{}\" is Disabled: its live content cannot be read, so this update is \
             not verified (it is planned even if the content already matches)",
            secret.secret_name
        ),
        detail: Some(
            "Applications cannot read a Disabled secret either. Enable it (EnableSecret) if it \
             should be in use."
                .into(),
        ),
        address: Some(secret.address.clone()),
        location: Some(note_location(&secret.location)),
        drift: Some(Drift::ContentUnreadable),
    }
}

/// Waves over the changed secrets: one more than the largest wave of any changed secret a change
/// depends on (through anything), or on the change that creates its secret.
fn assign_waves(config: &Config, changes: &mut [Change], implicit: &BTreeMap<String, String>) {
    let changed: BTreeSet<String> = changes
        .iter()
        .filter(|c| c.action.is_change())
        .map(|c| c.address.clone())
        .collect();
    let graph = config.graph();
    let mut deps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for c in changes.iter().filter(|c| c.action.is_change()) {
        let mut d: BTreeSet<String> = graph
            .secret_dependencies(&c.address)
            .into_iter()
            .filter(|a| changed.contains(a))
            .collect();
        if let Some(creator) = implicit.get(&c.address) {
            d.insert(creator.clone());
        }
        deps.insert(c.address.clone(), d);
    }
    let mut waves: BTreeMap<String, u32> = BTreeMap::new();
    fn wave_of(
        a: &str,
        deps: &BTreeMap<String, BTreeSet<String>>,
        waves: &mut BTreeMap<String, u32>,
        depth: usize,
    ) -> u32 {
        if let Some(w) = waves.get(a) {
            return *w;
        }
        // The graph is acyclic and creators precede their versions in dependency order, so the
        // recursion ends; the depth guard only turns a broken invariant into a flat wave.
        let w = if depth > deps.len() {
            1
        } else {
            1 + deps
                .get(a)
                .map(|d| {
                    d.iter()
                        .map(|x| wave_of(x, deps, waves, depth + 1))
                        .max()
                        .unwrap_or(0)
                })
                .unwrap_or(0)
        };
        waves.insert(a.to_string(), w);
        w
    }
    for c in changes.iter_mut() {
        if c.action.is_change() {
            c.wave = wave_of(&c.address, &deps, &mut waves, 0);
            c.depends_on = deps[&c.address].iter().cloned().collect();
        }
    }
}

/// Evaluate the configuration again (reading data sources) for a saved plan's scope, without
/// reading managed secrets: what apply of a plan file needs to check that nothing moved.
pub async fn evaluate_desired(
    config: &Config,
    ctx: &RefreshContext<'_>,
) -> Result<BTreeMap<String, DesiredSecret>, Diagnostics> {
    let scope = scope(config, ctx.targets)?;
    let secrets = evaluate_with_data(config, ctx, scope.as_ref()).await?;
    Ok(secrets
        .into_iter()
        .map(|s| (s.address.clone(), s))
        .collect())
}
