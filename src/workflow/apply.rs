//! The apply session: open a saved plan and verify it against the configuration and the
//! endpoint, then run the executor with its journal.
//!
//! A saved plan is applied only if it was made against the same endpoint and region, and every
//! planned change still has the desired content it had at plan time (compared by keyed
//! fingerprint). The configuration files may differ otherwise: a reviewed plan is applied as
//! reviewed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::apply::executor::{ApplyObserver, ApplyReport, ExecOptions, Executor};
use crate::apply::journal::{Entry, Journal, new_run_id};
use crate::config::{Config, DesiredSecret, Mode, VarInputs};
use crate::plan::file::Peek;
use crate::plan::refresh::{NoProgress, evaluate_desired};
use crate::plan::{OpKind, Plan};
use crate::secret::Fingerprint;

use super::plan::{PlanOptions, context};
use super::{Connection, Error};

/// A plan file whose header was read (its MAC is checked by [`verify_saved_plan`]).
#[derive(Debug)]
pub struct SavedPlan {
    pub path: PathBuf,
    pub peek: Peek,
    /// The configuration directory the plan was made from, resolved here.
    pub config_dir: PathBuf,
}

impl SavedPlan {
    /// Whether the configuration is found elsewhere than where the plan recorded it.
    pub fn moved(&self) -> bool {
        self.config_dir != Path::new(&self.peek.config_dir)
    }
}

/// Read a plan file's header and find its configuration directory.
pub fn open_saved_plan(path: &Path) -> Result<SavedPlan, Error> {
    let peek = crate::plan::file::peek(path)?;
    let config_dir = peek.resolve_dir();
    if !config_dir.is_dir() {
        return Err(Error::PlanDirMissing {
            plan_file: path.to_path_buf(),
            dir: config_dir,
        });
    }
    Ok(SavedPlan {
        path: path.to_path_buf(),
        peek,
        config_dir,
    })
}

/// Read a saved plan to show it, after checking its MAC. The key is `SSMFORM_PLAN_KEY` when set;
/// otherwise it is derived from the credentials of the provider block of the configuration the
/// plan names (nothing is sent to the API).
pub fn read_for_show(path: &Path) -> Result<Plan, Error> {
    let key = match crate::secret::PlanKey::from_env() {
        Some(key) => key,
        None => {
            let peek = crate::plan::file::peek(path)?;
            let dir = peek.resolve_dir();
            if !dir.is_dir() {
                return Err(Error::PlanKeyUnavailable {
                    plan_file: path.to_path_buf(),
                    dir,
                });
            }
            // Only the provider block matters here, so variables without values are fine.
            let config = super::load(&dir, &VarInputs::default(), Mode::Validate)?;
            super::connect::plan_key_for(&config)?
        }
    };
    Ok(crate::plan::file::read(path, &key)?)
}

/// A saved plan that may be applied.
pub struct Verified {
    pub plan: Plan,
    /// The desired content of every secret in the plan's scope, by address.
    pub desired: BTreeMap<String, DesiredSecret>,
    /// The configuration files differ from the plan's, though every planned value is unchanged.
    pub config_files_changed: bool,
}

/// Check a saved plan's MAC, that it was made against this connection's endpoint and region, and
/// that the configuration still declares exactly the planned content.
pub async fn verify_saved_plan(
    saved: &SavedPlan,
    config: &Config,
    conn: &Connection,
    parallelism: usize,
) -> Result<Verified, Error> {
    let plan = crate::plan::file::read(&saved.path, &conn.key)?;
    if plan.meta.endpoint != conn.endpoint || plan.meta.region != conn.region {
        return Err(Error::OtherEndpoint {
            plan_file: saved.path.clone(),
            planned_endpoint: plan.meta.endpoint.clone(),
            planned_region: plan.meta.region.clone(),
            endpoint: conn.endpoint.clone(),
            region: conn.region.clone(),
        });
    }
    let options = PlanOptions {
        targets: &plan.meta.targets,
        parallelism,
        progress: &NoProgress,
    };
    let desired = evaluate_desired(config, &context(conn, &options)).await?;
    let problems = changes_since_plan(config, conn, &plan, &desired);
    if !problems.is_empty() {
        return Err(Error::ConfigChanged {
            plan_file: saved.path.clone(),
            problems,
        });
    }
    let config_files_changed = hex::encode(config.digest()) != plan.meta.config_digest;
    Ok(Verified {
        plan,
        desired,
        config_files_changed,
    })
}

/// The ways the configuration now differs from the saved plan (empty if none).
fn changes_since_plan(
    config: &Config,
    conn: &Connection,
    plan: &Plan,
    desired: &BTreeMap<String, DesiredSecret>,
) -> Vec<String> {
    let mut problems = Vec::new();
    for c in plan.actions() {
        match desired.get(&c.address) {
            None => problems.push(format!("{} is no longer in the configuration", c.address)),
            Some(d) if d.secret_name != c.secret_name || d.version_id != c.version_id => problems
                .push(format!(
                    "{} now declares secret \"{}\" version \"{}\" (planned: \"{}\" version \"{}\")",
                    c.address, d.secret_name, d.version_id, c.secret_name, c.version_id
                )),
            Some(d) => {
                let now = Fingerprint::of(&conn.key, &d.secret_name, &d.version_id, &d.content);
                if now != c.desired.fingerprint {
                    problems.push(format!(
                        "{}: its declared content changed (fingerprint {} at plan time, {} now)",
                        c.address, c.desired.fingerprint, now
                    ));
                }
            }
        }
    }
    // An operation on a declared secret is applied only while the configuration still asks for
    // it: the same description, the same status (secret-level attributes agree across the blocks
    // of one secret: the first one set is the secret's).
    for o in plan
        .secret_ops
        .iter()
        .filter(|o| o.address.starts_with("secret."))
    {
        let blocks = || desired.values().filter(|d| d.secret_name == o.secret_name);
        let description = blocks().find_map(|d| d.description.as_ref());
        let enabled = blocks().find_map(|d| d.enabled);
        let (moved, what) = match o.op {
            OpKind::UpdateDescription => (
                description != o.description.as_ref(),
                "set the description of",
            ),
            OpKind::Enable => (enabled == Some(false), "enable"),
            OpKind::Disable => (enabled != Some(false), "disable"),
            OpKind::Restore => (blocks().next().is_none(), "restore"),
            // An undeclared version is deleted only while `exclusive_versions` is still set and
            // no block has declared that version since.
            OpKind::DeleteVersion => (
                !blocks().any(|d| d.exclusive_versions)
                    || blocks().any(|d| Some(&d.version_id) == o.version_id.as_ref()),
                "delete an undeclared version of",
            ),
            _ => (false, ""),
        };
        if moved {
            problems.push(format!(
                "{}: the configuration no longer asks to {what} secret \"{}\" as planned",
                o.address, o.secret_name
            ));
        }
    }
    // A deletion planned from a `removed` block is applied only while the block is there.
    let removed = config.removed();
    for o in plan.secret_ops.iter().filter(|o| o.op.is_delete()) {
        if o.address.starts_with("removed.")
            && !removed
                .iter()
                .any(|r| r.secret_name == o.secret_name && r.version_id == o.version_id)
        {
            problems.push(format!(
                "the removed block of secret \"{}\"{} is no longer in the configuration",
                o.secret_name,
                o.version_id
                    .as_ref()
                    .map(|v| format!(" version \"{v}\""))
                    .unwrap_or_default()
            ));
        }
    }
    if !problems.is_empty() {
        for (name, value) in config.variable_values() {
            let now = Fingerprint::of_labelled(&conn.key, &format!("var.{name}"), value.expose());
            if plan.meta.variables.get(&name).is_some_and(|f| *f != now) {
                problems.push(format!(
                    "var.{name} has another value than at plan time (pass the same --var, \
                     --var-file and SSMFORM_VAR_{name} as the plan job)"
                ));
            }
        }
    }
    problems
}

/// How to execute.
#[derive(Clone, Debug)]
pub struct ExecuteOptions {
    pub parallelism: usize,
    /// Re-read each live value before writing it.
    pub stale_check: bool,
    /// The plan file applied, when one was (recorded in the journal).
    pub plan_file: Option<String>,
    /// The run's id: its journal's name, and the run lock's ID ([`new_run_id`]).
    pub run_id: String,
}

/// A finished run.
pub struct Executed {
    pub report: ApplyReport,
    /// The run's journal.
    pub journal: PathBuf,
}

/// Apply `plan`'s changes with a journal (`.ssmform/journal/<run-id>.jsonl`) that records the
/// run's start, every intent and outcome, and its end. Interruption is the connection's pacer's
/// interrupt flag: set it to stop scheduling.
pub async fn execute(
    config: &Config,
    conn: &Connection,
    plan: &Plan,
    desired: &BTreeMap<String, DesiredSecret>,
    options: ExecuteOptions,
    observer: Arc<dyn ApplyObserver>,
) -> Result<Executed, Error> {
    let run_id = if options.run_id.is_empty() {
        new_run_id()
    } else {
        options.run_id.clone()
    };
    let journal = Journal::create(config.dir(), &run_id).map_err(|error| Error::JournalCreate {
        dir: crate::statedir::path(config.dir()),
        error,
    })?;
    journal
        .append(Entry::RunStart {
            run_id: run_id.clone(),
            time: crate::clock::rfc3339_millis(crate::clock::unix_millis_now()),
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            config_dir: config.dir().display().to_string(),
            plan_file: options.plan_file.clone(),
            changes: plan.summary().changes(),
        })
        .await
        .map_err(|error| Error::JournalWrite {
            path: journal.path().to_path_buf(),
            error,
        })?;
    let executor = Executor {
        client: conn.client.clone(),
        pacer: conn.pacer.clone(),
        key: conn.key.clone(),
        journal: journal.clone(),
        options: ExecOptions {
            parallelism: options.parallelism,
            stale_check: options.stale_check,
        },
    };
    let report = executor.run(plan, desired, observer).await;
    let counts = report.counts();
    // The run's end is informative: every write's outcome is already in the journal.
    let _ = journal
        .append(Entry::RunEnd {
            time: crate::clock::rfc3339_millis(crate::clock::unix_millis_now()),
            applied: counts.created + counts.updated + counts.deleted,
            failed: counts.failed,
            skipped: counts.skipped,
            unknown: counts.unknown,
            interrupted: report.interrupted,
        })
        .await;
    tracing::info!(journal = %journal.path().display(), "apply finished");
    Ok(Executed {
        report,
        journal: journal.path().to_path_buf(),
    })
}
