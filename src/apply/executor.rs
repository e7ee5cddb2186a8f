//! The executor: carries out a plan's changes wave by wave.
//!
//! For each change, in its wave, with at most `parallelism` changes in progress, and of those only
//! as many as the write's pace needs (Little's law on the rate of the slowest action in the change's
//! chain of requests and the chain's observed latency, journal syncs included,
//! [`Pacer::work_in_flight`]) so that each stale check happens just before its write, not seconds
//! ahead of it:
//!
//! 1. if a change it depends on did not succeed, skip it (and say which and why);
//! 2. if Ctrl-C was pressed, do not start it;
//! 3. stale check: re-read the live value and compare its keyed fingerprint with the plan's; if it
//!    moved, refuse the change ("changed outside ssmform since the plan"). If it already holds the
//!    desired content (a previous, interrupted run wrote it), count it as done without writing;
//! 4. journal the intent, write (UpdateSecret / PutSecretValue / CreateSecret) through the pacer
//!    (rate limit, retries), journal the outcome.
//!
//! A write that failed ambiguously (any attempt timed out after the request was sent, was reset, or
//! met a 5xx or `InternalError`; or a create that finds its version already there on a retry) stays
//! "may have taken effect" whatever later retries report (a refused connection after a timeout says
//! nothing about the first request). It is verified by reading the value back before it is
//! reported: the desired content is live → `applied`; something else is live → `not applied`; the
//! read fails → `unknown`. UpdateSecret is idempotent, so the only question is whether the desired
//! content is now live. The journal records the same verdict, and any `unknown` fails the run.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::ssm::limiter::Gate;

use super::journal::{Entry, Journal, OutcomeKind, Verdict};
use super::ops::{OpResult, OpRunner};
use crate::config::DesiredSecret;
use crate::plan::live::{LiveState, read_live};
use crate::plan::marker;
use crate::plan::{Action, Change, Phase, Plan, SecretOp};
use crate::secret::{Fingerprint, PlanKey, SecretContent};
use crate::ssm::retry::{CallError, Pacer};
use crate::ssm::{
    Client, CreateSecretRequest, DescribeSecretRequest, PutSecretValueRequest,
    UpdateDescriptionRequest, UpdateSecretRequest,
};

/// How a change ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Written; the API's RequestId (empty when a write that failed ambiguously was found live by
    /// reading it back).
    Applied { request_id: String },
    /// The live value already held the desired content; nothing written.
    AlreadyApplied,
    /// The write failed.
    Failed {
        code: Option<String>,
        message: String,
        request_id: Option<String>,
    },
    /// The live value moved since the plan; nothing written.
    Stale { reason: String },
    /// Not attempted: a change it depends on did not succeed.
    Skipped { because: String, reason: String },
    /// Not attempted: the run was interrupted.
    NotStarted,
    /// The write may have reached the service, and reading the value back failed: whether it took
    /// effect is not known.
    Unknown {
        message: String,
        request_id: Option<String>,
    },
}

impl Outcome {
    pub fn succeeded(&self) -> bool {
        matches!(self, Outcome::Applied { .. } | Outcome::AlreadyApplied)
    }

    fn journal_kind(&self) -> Option<OutcomeKind> {
        match self {
            Outcome::Applied { .. } | Outcome::AlreadyApplied => Some(OutcomeKind::Applied),
            Outcome::Failed { .. } => Some(OutcomeKind::Failed),
            Outcome::Stale { .. } => Some(OutcomeKind::Stale),
            Outcome::Skipped { .. } => Some(OutcomeKind::Skipped),
            Outcome::Unknown { .. } => Some(OutcomeKind::Unknown),
            Outcome::NotStarted => None,
        }
    }

    /// `applied`, `not applied` or `unknown`.
    pub fn verdict(&self) -> Verdict {
        match self {
            Outcome::Applied { .. } | Outcome::AlreadyApplied => Verdict::Applied,
            Outcome::Unknown { .. } => Verdict::Unknown,
            Outcome::Failed { .. }
            | Outcome::Stale { .. }
            | Outcome::Skipped { .. }
            | Outcome::NotStarted => Verdict::NotApplied,
        }
    }

    /// A short phrase for summaries and dependents' skip reasons.
    pub fn describe(&self) -> String {
        match self {
            Outcome::Applied { .. } => "applied".into(),
            Outcome::AlreadyApplied => "already up to date".into(),
            Outcome::Failed { code, .. } => match code {
                Some(c) => format!("failed ({c})"),
                None => "failed".into(),
            },
            Outcome::Stale { .. } => "refused as stale".into(),
            Outcome::Skipped { .. } => "skipped".into(),
            Outcome::NotStarted => "not started (interrupted)".into(),
            Outcome::Unknown { .. } => "outcome unknown".into(),
        }
    }
}

/// One change and how it ended.
#[derive(Clone, Debug)]
pub struct ChangeResult {
    pub change: Change,
    pub outcome: Outcome,
    pub elapsed: Duration,
}

/// Everything about a finished run.
#[derive(Clone, Debug)]
pub struct ApplyReport {
    /// In plan order; no-ops are not included.
    pub results: Vec<ChangeResult>,
    /// The operations on whole secrets, in the order they ran.
    pub op_results: Vec<OpResult>,
    /// Secrets the plan left unchanged.
    pub unchanged: usize,
    pub interrupted: bool,
    /// Writes sent successfully and the span from the first write's start to the last's end.
    pub writes: usize,
    pub write_span: Duration,
    pub throttled: u64,
    pub retries: u64,
    pub elapsed: Duration,
}

/// Counts for the summary line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ApplyCounts {
    pub created: usize,
    pub updated: usize,
    /// Secrets and versions deleted (or scheduled for deletion).
    pub deleted: usize,
    pub unchanged: usize,
    pub failed: usize,
    pub skipped: usize,
    pub not_started: usize,
    /// Writes that may or may not have taken effect.
    pub unknown: usize,
}

impl ApplyReport {
    /// The report of a run with nothing to do: `unchanged` secrets, no writes.
    pub fn nothing_to_do(unchanged: usize) -> Self {
        ApplyReport {
            results: Vec::new(),
            op_results: Vec::new(),
            unchanged,
            interrupted: false,
            writes: 0,
            write_span: Duration::ZERO,
            throttled: 0,
            retries: 0,
            elapsed: Duration::ZERO,
        }
    }

    pub fn counts(&self) -> ApplyCounts {
        let mut c = ApplyCounts {
            unchanged: self.unchanged,
            ..Default::default()
        };
        for r in &self.results {
            match (&r.outcome, r.change.action.is_create()) {
                (Outcome::Applied { .. }, true) => c.created += 1,
                (Outcome::Applied { .. }, false) => c.updated += 1,
                (Outcome::AlreadyApplied, _) => c.unchanged += 1,
                (Outcome::Failed { .. } | Outcome::Stale { .. }, _) => c.failed += 1,
                (Outcome::Skipped { .. }, _) => c.skipped += 1,
                (Outcome::NotStarted, _) => c.not_started += 1,
                (Outcome::Unknown { .. }, _) => c.unknown += 1,
            }
        }
        // As the plan counts them: operations on a secret other than deletions count once, as one
        // update (a restore and its EnableSecret are one), and none for a secret this run created.
        let mut updated: std::collections::BTreeSet<&str> = self
            .results
            .iter()
            .filter(|r| r.change.action == Action::CreateSecret)
            .map(|r| r.change.secret_name.as_str())
            .collect();
        for r in &self.op_results {
            match (&r.outcome, r.op.op.is_delete()) {
                (Outcome::Applied { .. }, true) => c.deleted += 1,
                (Outcome::Applied { .. }, false) => {
                    if updated.insert(r.op.secret_name.as_str()) {
                        c.updated += 1;
                    }
                }
                (Outcome::AlreadyApplied, _) => {}
                (Outcome::Failed { .. } | Outcome::Stale { .. }, _) => c.failed += 1,
                (Outcome::Skipped { .. }, _) => c.skipped += 1,
                (Outcome::NotStarted, _) => c.not_started += 1,
                (Outcome::Unknown { .. }, _) => c.unknown += 1,
            }
        }
        c
    }

    pub fn success(&self) -> bool {
        !self.interrupted
            && self.results.iter().all(|r| r.outcome.succeeded())
            && self.op_results.iter().all(|r| r.outcome.succeeded())
    }

    /// Successful writes per second over the write phase.
    pub fn write_rate(&self) -> f64 {
        if self.write_span.is_zero() {
            0.0
        } else {
            self.writes as f64 / self.write_span.as_secs_f64()
        }
    }
}

/// What the executor tells the user interface as it goes.
pub trait ApplyObserver: Send + Sync {
    fn wave_started(&self, wave: u32, waves: u32, changes: usize);
    fn change_started(&self, change: &Change);
    fn change_finished(&self, result: &ChangeResult);
    /// An operation on a whole secret finished (or was not attempted).
    fn op_finished(&self, _result: &OpResult) {}
}

/// How to run.
#[derive(Clone, Copy, Debug)]
pub struct ExecOptions {
    /// Changes in progress at most.
    pub parallelism: usize,
    /// Re-read each live value before writing it.
    pub stale_check: bool,
}

/// Everything the executor works with.
pub struct Executor {
    pub client: Client,
    pub pacer: Arc<Pacer>,
    pub key: PlanKey,
    pub journal: Journal,
    pub options: ExecOptions,
}

struct Shared {
    client: Client,
    pacer: Arc<Pacer>,
    key: PlanKey,
    journal: Journal,
    stale_check: bool,
    interrupted: Arc<AtomicBool>,
    first_write: Mutex<Option<Instant>>,
    last_write: Mutex<Option<Instant>>,
    /// Smoothed time a change spends appending to the journal (two synced lines), in seconds.
    journal_time: Mutex<f64>,
}

impl Executor {
    /// Apply `plan`'s changes; `desired` holds the content of each (by address).
    pub async fn run(
        self,
        plan: &Plan,
        desired: &BTreeMap<String, DesiredSecret>,
        observer: Arc<dyn ApplyObserver>,
    ) -> ApplyReport {
        let started = Instant::now();
        let shared = Arc::new(Shared {
            client: self.client,
            interrupted: self.pacer.interrupt_flag(),
            pacer: self.pacer,
            key: self.key,
            journal: self.journal,
            stale_check: self.options.stale_check,
            first_write: Mutex::new(None),
            last_write: Mutex::new(None),
            journal_time: Mutex::new(0.0),
        });
        let parallelism = self.options.parallelism.max(1);
        let semaphore = Arc::new(Semaphore::new(parallelism));
        // One gate per kind of change: its size follows that chain's pace.
        let gates: BTreeMap<&'static str, Arc<Gate>> =
            [Action::Update, Action::CreateVersion, Action::CreateSecret]
                .into_iter()
                .map(|a| {
                    let chain = chain(a, shared.stale_check);
                    (
                        write_action(a),
                        Gate::new(shared.work_in_flight(chain, parallelism)),
                    )
                })
                .collect();
        let waves = plan.summary().waves;
        let mut results: BTreeMap<String, ChangeResult> = BTreeMap::new();
        let mut op_results: Vec<OpResult> = Vec::new();
        // Secrets whose restore (or room-making deletion) did not succeed: nothing else is done
        // to them.
        let mut blocked_secrets: BTreeMap<String, String> = BTreeMap::new();
        shared
            .run_ops(
                plan.ops_in(Phase::Before),
                &mut blocked_secrets,
                &mut op_results,
                &observer,
                parallelism,
            )
            .await;

        for wave in 1..=waves {
            let in_wave: Vec<&Change> = plan
                .actions()
                .into_iter()
                .filter(|c| c.wave == wave)
                .collect();
            if in_wave.is_empty() {
                continue;
            }
            observer.wave_started(wave, waves, in_wave.len());
            let mut set = JoinSet::new();
            for change in in_wave {
                let blocked =
                    blocked_secrets
                        .get(&change.secret_name)
                        .map(|because| Outcome::Skipped {
                            because: because.clone(),
                            reason: format!("{because} did not succeed"),
                        });
                if let Some(outcome) = blocked.or_else(|| blocked_by(change, &results)) {
                    let result = ChangeResult {
                        change: change.clone(),
                        outcome,
                        elapsed: Duration::ZERO,
                    };
                    if let Some(kind) = result.outcome.journal_kind() {
                        let _ = shared
                            .journal
                            .append(outcome_entry(change, &result.outcome, kind, None, None))
                            .await;
                    }
                    observer.change_finished(&result);
                    results.insert(change.address.clone(), result);
                    continue;
                }
                let content = desired
                    .get(&change.address)
                    .map(|d| d.content.clone())
                    .expect("every change has its desired content");
                let (shared, semaphore, observer, change) = (
                    shared.clone(),
                    semaphore.clone(),
                    observer.clone(),
                    change.clone(),
                );
                let gate = gates[write_action(change.action)].clone();
                let chain = chain(change.action, shared.stale_check);
                set.spawn(async move {
                    let _permit = semaphore.acquire_owned().await.expect("semaphore open");
                    gate.set_limit(shared.work_in_flight(chain, parallelism));
                    let _slot = gate.acquire().await;
                    let t0 = Instant::now();
                    if shared.interrupted.load(Ordering::SeqCst) {
                        return ChangeResult {
                            change,
                            outcome: Outcome::NotStarted,
                            elapsed: Duration::ZERO,
                        };
                    }
                    observer.change_started(&change);
                    let outcome = shared.execute(&change, &content).await;
                    gate.set_limit(shared.work_in_flight(chain, parallelism));
                    let result = ChangeResult {
                        change,
                        outcome,
                        elapsed: t0.elapsed(),
                    };
                    observer.change_finished(&result);
                    result
                });
            }
            while let Some(joined) = set.join_next().await {
                let result = joined.expect("apply tasks do not panic");
                results.insert(result.change.address.clone(), result);
            }
        }

        shared
            .run_ops(
                plan.ops_in(Phase::After),
                &mut blocked_secrets,
                &mut op_results,
                &observer,
                parallelism,
            )
            .await;
        shared
            .run_ops(
                plan.ops_in(Phase::Last),
                &mut blocked_secrets,
                &mut op_results,
                &observer,
                parallelism,
            )
            .await;

        let interrupted = shared.interrupted.load(Ordering::SeqCst);
        let order: Vec<&Change> = plan.actions();
        let results: Vec<ChangeResult> = order
            .iter()
            .filter_map(|c| results.remove(&c.address))
            .collect();
        let writes = results
            .iter()
            .filter(|r| matches!(r.outcome, Outcome::Applied { .. }))
            .count();
        let write_span = match (
            *shared.first_write.lock().expect("lock"),
            *shared.last_write.lock().expect("lock"),
        ) {
            (Some(a), Some(b)) => b.saturating_duration_since(a),
            _ => Duration::ZERO,
        };
        let stats = &shared.pacer.stats;
        ApplyReport {
            results,
            op_results,
            unchanged: plan.summary().unchanged,
            interrupted,
            writes,
            write_span,
            throttled: stats.throttled.load(Ordering::Relaxed),
            retries: stats.retries.load(Ordering::Relaxed),
            elapsed: started.elapsed(),
        }
    }
}

/// The API action that writes a change.
fn write_action(action: Action) -> &'static str {
    match action {
        Action::Update => "UpdateSecret",
        Action::CreateVersion => "PutSecretValue",
        Action::CreateSecret | Action::NoOp => "CreateSecret",
    }
}

/// The requests a change makes in turn: the stale check's reads (what `read_live` asks for the
/// live state the change expects), then the write.
fn chain(action: Action, stale_check: bool) -> &'static [&'static str] {
    match (action, stale_check) {
        (Action::Update, true) => &["GetSecretValue", "UpdateSecret"],
        (Action::CreateVersion, true) => &[
            "GetSecretValue",
            "DescribeSecret",
            "ListSecretVersionIds",
            "PutSecretValue",
        ],
        (Action::CreateSecret | Action::NoOp, true) => {
            &["GetSecretValue", "DescribeSecret", "CreateSecret"]
        }
        (Action::Update, false) => &["UpdateSecret"],
        (Action::CreateVersion, false) => &["PutSecretValue"],
        (Action::CreateSecret | Action::NoOp, false) => &["CreateSecret"],
    }
}

/// The outcome of a change whose dependencies did not all succeed, if any.
fn blocked_by(change: &Change, results: &BTreeMap<String, ChangeResult>) -> Option<Outcome> {
    for dep in &change.depends_on {
        if let Some(r) = results.get(dep).filter(|r| !r.outcome.succeeded()) {
            return Some(match &r.outcome {
                Outcome::NotStarted => Outcome::NotStarted,
                other => Outcome::Skipped {
                    because: dep.clone(),
                    reason: format!("{dep} {}", other.describe()),
                },
            });
        }
    }
    None
}

fn now() -> String {
    crate::clock::rfc3339_millis(crate::clock::unix_millis_now())
}

fn outcome_entry(
    change: &Change,
    outcome: &Outcome,
    result: OutcomeKind,
    request_id: Option<String>,
    error_code: Option<String>,
) -> Entry {
    Entry::Outcome {
        address: change.address.clone(),
        action: change.action,
        wave: change.wave,
        result,
        verdict: Some(outcome.verdict()),
        request_id,
        error_code,
        desired_fingerprint: change.desired.fingerprint,
        time: now(),
    }
}

fn failed(e: &CallError) -> Outcome {
    Outcome::Failed {
        code: e.error.code().map(str::to_string),
        message: e.to_string(),
        request_id: e.error.request_id().map(str::to_string),
    }
}

/// What reading a value back after an ambiguous write found.
enum ReadBack {
    /// The desired content is live.
    Desired,
    /// Something else is live (or nothing).
    Other,
    /// The read failed: the error's text.
    Failed(String),
}

/// What the stale check concluded.
enum Check {
    Proceed,
    Done,
    Refuse(Outcome),
}

impl Shared {
    /// Run operations on whole secrets: those of one secret one after another, in order, and
    /// different secrets concurrently (at most `parallelism` at once). A secret named in `blocked`
    /// is left alone, and one whose operation does not succeed is added to it (its later
    /// operations are skipped). Results come back in `ops` order.
    async fn run_ops(
        self: &Arc<Self>,
        ops: Vec<&SecretOp>,
        blocked: &mut BTreeMap<String, String>,
        out: &mut Vec<OpResult>,
        observer: &Arc<dyn ApplyObserver>,
        parallelism: usize,
    ) {
        let mut groups: Vec<(String, Vec<(usize, SecretOp)>)> = Vec::new();
        let mut index: BTreeMap<String, usize> = BTreeMap::new();
        for (i, op) in ops.into_iter().enumerate() {
            match index.get(&op.secret_name) {
                Some(&g) => groups[g].1.push((i, op.clone())),
                None => {
                    index.insert(op.secret_name.clone(), groups.len());
                    groups.push((op.secret_name.clone(), vec![(i, op.clone())]));
                }
            }
        }
        let semaphore = Arc::new(Semaphore::new(parallelism.max(1)));
        let mut set = JoinSet::new();
        for (name, group) in groups {
            let (shared, observer, semaphore) = (self.clone(), observer.clone(), semaphore.clone());
            let mut blocker = blocked.get(&name).cloned();
            set.spawn(async move {
                let _permit = semaphore.acquire_owned().await.expect("semaphore open");
                let runner = OpRunner {
                    client: &shared.client,
                    pacer: &shared.pacer,
                    journal: &shared.journal,
                };
                let mut results = Vec::new();
                for (i, op) in group {
                    let result = if shared.interrupted.load(Ordering::SeqCst) {
                        runner.skip(&op, Outcome::NotStarted).await
                    } else if let Some(because) = &blocker {
                        runner
                            .skip(
                                &op,
                                Outcome::Skipped {
                                    because: because.clone(),
                                    reason: format!("{because} did not succeed"),
                                },
                            )
                            .await
                    } else {
                        {
                            let mut first = shared.first_write.lock().expect("lock");
                            first.get_or_insert_with(Instant::now);
                        }
                        let r = runner.run(&op).await;
                        *shared.last_write.lock().expect("lock") = Some(Instant::now());
                        r
                    };
                    if !result.outcome.succeeded() && blocker.is_none() {
                        blocker = Some(op.id());
                    }
                    observer.op_finished(&result);
                    results.push((i, result));
                }
                (name, blocker, results)
            });
        }
        let mut all = Vec::new();
        while let Some(joined) = set.join_next().await {
            let (name, blocker, results) = joined.expect("operation tasks do not panic");
            if let Some(b) = blocker {
                blocked.entry(name).or_insert(b);
            }
            all.extend(results);
        }
        all.sort_by_key(|(i, _)| *i);
        out.extend(all.into_iter().map(|(_, r)| r));
    }

    /// Changes of `chain` to keep in progress (see [`Pacer::work_in_flight`]).
    fn work_in_flight(&self, chain: &[&'static str], cap: usize) -> usize {
        let journal = Duration::from_secs_f64(*self.journal_time.lock().expect("lock"));
        self.pacer.work_in_flight(chain, journal, cap)
    }

    /// Append to the journal, timing it for [`Shared::work_in_flight`].
    async fn record(&self, entry: Entry) -> std::io::Result<()> {
        let t0 = Instant::now();
        let result = self.journal.append(entry).await;
        // Two appends per change: count each twice in the smoothed per-change time.
        let sample = 2.0 * t0.elapsed().as_secs_f64();
        let mut smoothed = self.journal_time.lock().expect("lock");
        *smoothed = if *smoothed == 0.0 {
            sample
        } else {
            0.875 * *smoothed + 0.125 * sample
        };
        result
    }

    fn fingerprint(&self, change: &Change, content: &SecretContent) -> Fingerprint {
        Fingerprint::of(&self.key, &change.secret_name, &change.version_id, content)
    }

    async fn execute(&self, change: &Change, content: &SecretContent) -> Outcome {
        if self.stale_check {
            match self.check(change).await {
                Check::Proceed => {}
                Check::Done => {
                    let outcome = Outcome::AlreadyApplied;
                    let _ = self
                        .journal
                        .append(outcome_entry(
                            change,
                            &outcome,
                            OutcomeKind::Applied,
                            None,
                            None,
                        ))
                        .await;
                    return outcome;
                }
                Check::Refuse(outcome) => {
                    let kind = outcome.journal_kind().expect("refusals are journalled");
                    let _ = self
                        .journal
                        .append(outcome_entry(change, &outcome, kind, None, None))
                        .await;
                    return outcome;
                }
            }
            // Ctrl-C during the check: do not write.
            if self.interrupted.load(Ordering::SeqCst) {
                return Outcome::NotStarted;
            }
        }
        let intent = Entry::Intent {
            address: change.address.clone(),
            secret_name: change.secret_name.clone(),
            version_id: change.version_id.clone(),
            action: change.action,
            wave: change.wave,
            live_fingerprint: change.live.map(|l| l.fingerprint),
            desired_fingerprint: change.desired.fingerprint,
            time: now(),
        };
        if let Err(e) = self.record(intent).await {
            // Writing without a journal line would break the promise the journal makes.
            return Outcome::Failed {
                code: None,
                message: format!(
                    "not written: cannot append to the journal {}: {e}",
                    self.journal.path().display()
                ),
                request_id: None,
            };
        }
        {
            let mut first = self.first_write.lock().expect("lock");
            first.get_or_insert_with(Instant::now);
        }
        let result = self.write(change, content).await;
        *self.last_write.lock().expect("lock") = Some(Instant::now());
        let outcome = match result {
            Ok(request_id) => Outcome::Applied { request_id },
            Err(e) if self.maybe_applied(&e) => match self.read_back(change, content).await {
                ReadBack::Desired => Outcome::Applied {
                    request_id: String::new(),
                },
                ReadBack::Other => Outcome::Failed {
                    code: e.error.code().map(str::to_string),
                    message: format!(
                        "{e}; reading the value back shows the planned content is not live, so \
                         it was not applied"
                    ),
                    request_id: e.error.request_id().map(str::to_string),
                },
                ReadBack::Failed(read) => Outcome::Unknown {
                    message: format!(
                        "{e}; the write may have taken effect, and reading it back failed too: \
                         {read}. Run `ssmform plan` to see the live state"
                    ),
                    request_id: e.error.request_id().map(str::to_string),
                },
            },
            Err(e) => failed(&e),
        };
        let (kind, rid, code) = match &outcome {
            Outcome::Applied { request_id } => (
                OutcomeKind::Applied,
                Some(request_id.clone()).filter(|r| !r.is_empty()),
                None,
            ),
            Outcome::Failed {
                code, request_id, ..
            } => (OutcomeKind::Failed, request_id.clone(), code.clone()),
            Outcome::Unknown { request_id, .. } => (OutcomeKind::Unknown, request_id.clone(), None),
            _ => unreachable!("a write ends applied, failed or unknown"),
        };
        let _ = self
            .record(outcome_entry(change, &outcome, kind, rid, code))
            .await;
        if matches!(outcome, Outcome::Applied { .. })
            && !change.sensitive
            && change.action != Action::CreateSecret
        {
            self.record_shown(change, content).await;
        }
        outcome
    }

    /// After writing a `sensitive = false` version: record in the secret's description that its
    /// content may be shown by later plans (see [`crate::plan::marker`]). Best effort: without
    /// the record, later plans hide the live side, which is safe.
    async fn record_shown(&self, change: &Change, content: &SecretContent) {
        let describe = DescribeSecretRequest {
            secret_name: change.secret_name.clone(),
        };
        let Ok(d) = self
            .pacer
            .call("DescribeSecret", || self.client.describe_secret(&describe))
            .await
        else {
            tracing::warn!(address = %change.address, "could not read the description to record the non-sensitive content");
            return;
        };
        let Some(description) = marker::with_entry(&d.description, &change.version_id, content)
        else {
            return;
        };
        if description == d.description {
            return;
        }
        let update = UpdateDescriptionRequest {
            secret_name: change.secret_name.clone(),
            description,
        };
        if self
            .pacer
            .call("UpdateDescription", || {
                self.client.update_description(&update)
            })
            .await
            .is_err()
        {
            tracing::warn!(address = %change.address, "could not record the non-sensitive content in the description");
        }
    }

    /// Compare the live state with what the plan saw.
    async fn check(&self, change: &Change) -> Check {
        let state = match read_live(
            &self.client,
            &self.pacer,
            &change.secret_name,
            &change.version_id,
        )
        .await
        {
            Ok(s) => s,
            Err(e) => return Check::Refuse(failed(&e)),
        };
        let desired = change.desired.fingerprint;
        let moved = |what: &str| {
            Check::Refuse(Outcome::Stale {
                reason: format!(
                    "changed outside ssmform since the plan: {what}; nothing was written. Plan again \
                     to see the current difference"
                ),
            })
        };
        match (&state, change.action) {
            (LiveState::Present(c), _) if self.fingerprint(change, c) == desired => Check::Done,
            (LiveState::PendingDelete, _) => Check::Refuse(Outcome::Failed {
                code: Some("ResourceUnavailable.ResourcePendingDeleted".into()),
                message: format!(
                    "the secret \"{}\" is scheduled for deletion (PendingDelete); restore it \
                     (RestoreSecret, then EnableSecret) and plan again",
                    change.secret_name
                ),
                request_id: None,
            }),
            (LiveState::Present(c), Action::Update) if !change.unverified => {
                let live = self.fingerprint(change, c);
                match change.live {
                    Some(planned) if planned.fingerprint == live => Check::Proceed,
                    Some(planned) => moved(&format!(
                        "its fingerprint was {} at plan time and is {} now",
                        planned.fingerprint, live
                    )),
                    None => moved("it could not be read at plan time"),
                }
            }
            (
                LiveState::Disabled {
                    version_exists: true,
                    ..
                },
                Action::Update,
            ) if change.unverified => Check::Proceed,
            (
                LiveState::VersionMissing { .. }
                | LiveState::Disabled {
                    version_exists: false,
                    ..
                },
                Action::CreateVersion,
            ) => Check::Proceed,
            (LiveState::SecretMissing, Action::CreateSecret) => Check::Proceed,
            (LiveState::Present(_), _) => moved("the version now exists with other content"),
            (LiveState::Disabled { .. }, _) => moved("the secret is now Disabled"),
            (LiveState::VersionMissing { .. }, _) => moved("the version no longer exists"),
            (LiveState::SecretMissing, _) => moved("the secret no longer exists"),
        }
    }

    async fn write(&self, change: &Change, content: &SecretContent) -> Result<String, CallError> {
        let (name, version) = (change.secret_name.clone(), change.version_id.clone());
        match change.action {
            Action::Update => {
                let req = UpdateSecretRequest {
                    secret_name: name,
                    version_id: version,
                    content: content.clone(),
                };
                self.pacer
                    .call("UpdateSecret", || self.client.update_secret(&req))
                    .await
                    .map(|r| r.request_id)
            }
            Action::CreateVersion => {
                let req = PutSecretValueRequest {
                    secret_name: name,
                    version_id: version,
                    content: content.clone(),
                };
                self.pacer
                    .call("PutSecretValue", || self.client.put_secret_value(&req))
                    .await
                    .map(|r| r.request_id)
            }
            Action::CreateSecret => {
                // A `sensitive = false` secret is created with the record that its content may
                // be shown by later plans.
                let description = if change.sensitive {
                    change.description.clone()
                } else {
                    marker::with_entry(
                        change.description.as_deref().unwrap_or_default(),
                        &version,
                        content,
                    )
                    .or_else(|| change.description.clone())
                };
                let req = CreateSecretRequest {
                    secret_name: name,
                    version_id: Some(version),
                    description,
                    content: Some(content.clone()),
                    kms_key_id: change.kms_key_id.clone(),
                    tags: change
                        .tags
                        .iter()
                        .map(|(k, v)| crate::ssm::Tag {
                            key: k.clone(),
                            value: v.clone(),
                        })
                        .collect(),
                    ..Default::default()
                };
                self.pacer
                    .call("CreateSecret", || self.client.create_secret(&req))
                    .await
                    .map(|r| r.request_id)
            }
            Action::NoOp => unreachable!("no-ops are not executed"),
        }
    }

    /// Whether a failed write may nevertheless have landed (so reading back can tell): any of its
    /// attempts may have reached the service, not only the last.
    fn maybe_applied(&self, e: &CallError) -> bool {
        let retried_create = e.attempts > 1
            && matches!(
                e.error.code(),
                Some("ResourceInUse.VersionIdExists" | "ResourceInUse.SecretExists")
            );
        retried_create || e.may_have_taken_effect
    }

    /// Read the value back and compare it with the desired one.
    async fn read_back(&self, change: &Change, content: &SecretContent) -> ReadBack {
        match read_live(
            &self.client,
            &self.pacer,
            &change.secret_name,
            &change.version_id,
        )
        .await
        {
            Ok(LiveState::Present(c)) if &c == content => ReadBack::Desired,
            Ok(_) => ReadBack::Other,
            Err(e) => ReadBack::Failed(e.to_string()),
        }
    }
}
