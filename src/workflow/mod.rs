//! The sessions behind the commands, without the command line: load a configuration, connect,
//! refresh and plan, check a saved plan against the configuration and the endpoint, run the
//! executor with its journal. `cli` parses arguments, prompts and prints around these; tests and a
//! future API call them directly.
//!
//! - [`connect`]: from a provider block to an open connection (endpoint, region, credentials,
//!   limiters, plan key; the embedded emulator for `endpoint = "local"`);
//! - [`local`]: `endpoint = "local"`'s random emulator credentials and its plan key file;
//! - [`plan`]: load and refresh into a [`crate::plan::Plan`];
//! - [`apply`]: open and verify a saved plan, execute a plan with its journal;
//! - [`lock`]: the run lock (a lock secret in the region, or `flock` on the local store);
//! - [`import`]: list and read a region's secrets, write them as configuration and a SOPS file.
//!
//! Failures come back as [`Error`]: configuration diagnostics (to be shown with their
//! file:line:col) or one error with its causes. No message holds a secret value.

pub mod apply;
pub mod connect;
pub mod import;
pub mod local;
pub mod lock;
pub mod plan;

use std::path::{Path, PathBuf};

use crate::config::{self, Config, DataValues, Diagnostics, LoadOptions, Mode, VarInputs};

pub use connect::{ConnectError, Connection};

/// Why a session failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Problems in the configuration or its evaluation, each with its place.
    #[error("{0}")]
    Diagnostics(Diagnostics),
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error(transparent)]
    PlanFile(#[from] crate::plan::file::PlanFileError),
    #[error(
        "{} was planned from the configuration directory {}, which does not exist here; \
         run apply from the directory the plan was made in",
        plan_file.display(),
        dir.display()
    )]
    PlanDirMissing { plan_file: PathBuf, dir: PathBuf },
    #[error(
        "{} was planned against {planned_endpoint} (region {planned_region}), but this \
         run would apply to {endpoint} (region {region}); refusing to apply it elsewhere",
        plan_file.display()
    )]
    OtherEndpoint {
        plan_file: PathBuf,
        planned_endpoint: String,
        planned_region: String,
        endpoint: String,
        region: String,
    },
    #[error(
        "cannot check {}: it was made from the configuration directory {}, which is not here, and \
         SSMFORM_PLAN_KEY is not set. Set SSMFORM_PLAN_KEY to the plan job's key, or run show from \
         the directory the plan was made in",
        plan_file.display(),
        dir.display()
    )]
    PlanKeyUnavailable { plan_file: PathBuf, dir: PathBuf },
    #[error(
        "configuration changed since the plan: {} no longer matches what was planned, so it is \
         not applied. Plan again and review the new plan.{}",
        plan_file.display(),
        problems.iter().map(|p| format!("\n  - {p}")).collect::<String>()
    )]
    ConfigChanged {
        plan_file: PathBuf,
        problems: Vec<String>,
    },
    // Causes are part of the messages (not `source`s), so they are printed once.
    #[error("cannot create the apply journal under {}: {error}", dir.display())]
    JournalCreate { dir: PathBuf, error: std::io::Error },
    #[error("cannot write the apply journal {}: {error}", path.display())]
    JournalWrite {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error(transparent)]
    Lock(#[from] lock::LockError),
    #[error(
        "the secret name `{}` (declared by {address}) is reserved for ssmform's run lock; \
         choose another name",
        lock::LOCK_SECRET
    )]
    ReservedName { address: String },
}

/// Take the run lock for `operation` (`apply` or `plan`) as run `run_id`, before anything is read:
/// `flock` on the local store for `endpoint = "local"`, else the lock secret in the region (see
/// [`lock`]).
pub async fn lock(
    conn: &Connection,
    options: lock::LockOptions,
    run_id: &str,
    operation: &str,
) -> Result<lock::RunLock, Error> {
    if !options.enabled {
        return Ok(lock::RunLock::None);
    }
    if let Some(store) = &conn.local_store {
        return Ok(lock::lock_local(store, options.timeout).await?);
    }
    let store = lock::ApiLock {
        client: &conn.client,
        pacer: &conn.pacer,
    };
    let info = lock::LockInfo::new(run_id, operation);
    lock::acquire(&store, &info, options.timeout).await?;
    tracing::debug!(id = run_id, "took the run lock");
    Ok(lock::RunLock::Remote {
        client: conn.client.clone(),
        pacer: conn.pacer.clone(),
        id: run_id.to_string(),
    })
}

/// `ssmform force-unlock ID`: remove the run lock `id` of the configuration's region.
pub async fn force_unlock(conn: &Connection, id: &str) -> Result<lock::LockInfo, Error> {
    if conn.local_store.is_some() {
        return Err(lock::LockError::LocalNoForce.into());
    }
    let store = lock::ApiLock {
        client: &conn.client,
        pacer: &conn.pacer,
    };
    Ok(lock::force_unlock(&store, id).await?)
}

impl From<Diagnostics> for Error {
    fn from(d: Diagnostics) -> Self {
        Error::Diagnostics(d)
    }
}

/// Load the configuration in `dir` with explicit variable values `vars` and the process's
/// `SSMFORM_VAR_*` variables.
pub fn load(dir: &Path, vars: &VarInputs, mode: Mode) -> Result<Config, Diagnostics> {
    config::load(&LoadOptions {
        dir,
        vars,
        env: config::env_vars(),
        mode,
    })
}

/// What `validate` found.
pub struct Validation {
    /// Load errors, or the configuration's warnings and every problem found while evaluating, in
    /// order.
    pub diagnostics: Diagnostics,
    /// `None` when the configuration could not be loaded.
    pub summary: Option<ValidationSummary>,
}

/// Counts of what validation could check.
pub struct ValidationSummary {
    pub secrets: usize,
    /// Secrets evaluated now.
    pub evaluated: usize,
    /// Secrets left for plan time (they wait on data sources or variables without values).
    pub deferred: usize,
    pub data_sources: usize,
}

/// Check a configuration offline: load it in [`Mode::Validate`] (a variable without a value is
/// unknown) and evaluate everything that does not wait for a data source or such a variable.
/// Reads only the configuration directory and files it names: no network, no credentials.
pub fn validate(dir: &Path, vars: &VarInputs) -> Validation {
    let cfg = match load(dir, vars, Mode::Validate) {
        Err(diagnostics) => {
            return Validation {
                diagnostics,
                summary: None,
            };
        }
        Ok(cfg) => cfg,
    };
    let mut ev = cfg.evaluate(&DataValues::default(), None);
    let mut diagnostics = cfg.warnings().clone();
    diagnostics.extend(std::mem::take(&mut ev.diagnostics));
    diagnostics.sort();
    let summary = ValidationSummary {
        secrets: cfg.secret_addresses().len(),
        evaluated: ev.secrets.len(),
        deferred: ev.deferred.len(),
        data_sources: ev.pending_data.len() + ev.unread_sops_files.len(),
    };
    // The process ends right after this: freeing every syntax tree one allocation at a time would
    // only add to the run time (a fifth of it at 10,000 secrets). The evaluation, which holds
    // secret contents, is still dropped and zeroized.
    drop(ev);
    std::mem::forget(cfg);
    Validation {
        diagnostics,
        summary: Some(summary),
    }
}
