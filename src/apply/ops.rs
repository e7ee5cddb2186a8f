//! Operations on whole secrets (restore, status, description, deletion) and version deletions,
//! run by the executor before and after the waves of content writes (see
//! [`crate::plan::model::Phase`]).
//!
//! Each follows the same steps as a content write: read the live state (DescribeSecret, or
//! ListSecretVersionIds for a version); if the operation's result is already live (an
//! interrupted run got this far), count it done without a call; if the secret moved so that the
//! operation no longer makes sense, refuse it as stale; else journal the intent, call, journal
//! the outcome. A call that failed after an attempt that may have reached the service is judged
//! by reading the state back: `applied`, `not applied` or `unknown`, as for writes.

use std::time::{Duration, Instant};

use super::executor::Outcome;
use super::journal::{Entry, Journal, OutcomeKind};
use crate::plan::marker;
use crate::plan::{OpKind, SecretOp};
use crate::ssm::retry::{CallError, Pacer};
use crate::ssm::{
    Client, DeleteSecretRequest, DeleteSecretVersionRequest, DescribeSecretRequest,
    DisableSecretRequest, EnableSecretRequest, ListSecretVersionIdsRequest, RestoreSecretRequest,
    SecretStatus, UpdateDescriptionRequest,
};

/// One operation and how it ended.
#[derive(Clone, Debug)]
pub struct OpResult {
    pub op: SecretOp,
    pub outcome: Outcome,
    pub elapsed: Duration,
}

/// What the live state says about an operation's secret.
struct Observed {
    exists: bool,
    status: SecretStatus,
    description: String,
    /// For version deletions: whether the version is there.
    version_present: bool,
}

fn is_not_found(e: &CallError) -> bool {
    e.error
        .code()
        .is_some_and(|c| c == "ResourceNotFound" || c.starts_with("ResourceNotFound."))
}

fn now() -> String {
    crate::clock::rfc3339_millis(crate::clock::unix_millis_now())
}

/// Runs operations, one at a time.
pub(super) struct OpRunner<'a> {
    pub client: &'a Client,
    pub pacer: &'a Pacer,
    pub journal: &'a Journal,
}

impl OpRunner<'_> {
    async fn observe(&self, op: &SecretOp) -> Result<Observed, CallError> {
        let missing = Observed {
            exists: false,
            status: SecretStatus::Disabled,
            description: String::new(),
            version_present: false,
        };
        if op.op == OpKind::DeleteVersion {
            let request = ListSecretVersionIdsRequest {
                secret_name: op.secret_name.clone(),
            };
            return match self
                .pacer
                .call("ListSecretVersionIds", || {
                    self.client.list_secret_version_ids(&request)
                })
                .await
            {
                Err(e) if is_not_found(&e) => Ok(missing),
                Err(e) => Err(e),
                Ok(r) => Ok(Observed {
                    exists: true,
                    version_present: r
                        .versions
                        .iter()
                        .any(|v| Some(&v.version_id) == op.version_id.as_ref()),
                    ..missing
                }),
            };
        }
        let request = DescribeSecretRequest {
            secret_name: op.secret_name.clone(),
        };
        match self
            .pacer
            .call("DescribeSecret", || self.client.describe_secret(&request))
            .await
        {
            Err(e) if is_not_found(&e) => Ok(missing),
            Err(e) => Err(e),
            Ok(d) => Ok(Observed {
                exists: true,
                status: d.status,
                description: d.description,
                version_present: false,
            }),
        }
    }

    /// Whether the operation's result is live.
    fn reached(op: &SecretOp, o: &Observed) -> bool {
        match op.op {
            OpKind::Restore => o.exists && o.status != SecretStatus::PendingDelete,
            OpKind::Enable => o.exists && o.status == SecretStatus::Enabled,
            OpKind::Disable => o.exists && o.status == SecretStatus::Disabled,
            OpKind::UpdateDescription => {
                o.exists
                    && marker::user_description(&o.description)
                        == op.description.as_deref().unwrap_or_default()
            }
            OpKind::DeleteSecret => !o.exists || o.status == SecretStatus::PendingDelete,
            OpKind::DeleteVersion => !o.exists || !o.version_present,
            OpKind::Report => true,
        }
    }

    /// Why the operation cannot be made on what is live, if it cannot.
    fn moved(op: &SecretOp, o: &Observed) -> Option<String> {
        if !o.exists {
            return Some("the secret no longer exists".into());
        }
        match op.op {
            OpKind::Restore if o.status != SecretStatus::PendingDelete => {
                Some("the secret is no longer scheduled for deletion".into())
            }
            OpKind::Enable | OpKind::Disable | OpKind::UpdateDescription
                if o.status == SecretStatus::PendingDelete =>
            {
                Some("the secret is now scheduled for deletion".into())
            }
            _ => None,
        }
    }

    /// Run `op`, journalled.
    pub async fn run(&self, op: &SecretOp) -> OpResult {
        let t0 = Instant::now();
        let outcome = self.execute(op).await;
        let (kind, request_id, code) = match &outcome {
            Outcome::Applied { request_id } => (
                Some(OutcomeKind::Applied),
                Some(request_id.clone()).filter(|r| !r.is_empty()),
                None,
            ),
            Outcome::AlreadyApplied => (Some(OutcomeKind::Applied), None, None),
            Outcome::Failed {
                code, request_id, ..
            } => (Some(OutcomeKind::Failed), request_id.clone(), code.clone()),
            Outcome::Stale { .. } => (Some(OutcomeKind::Stale), None, None),
            Outcome::Skipped { .. } => (Some(OutcomeKind::Skipped), None, None),
            Outcome::Unknown { request_id, .. } => {
                (Some(OutcomeKind::Unknown), request_id.clone(), None)
            }
            Outcome::NotStarted => (None, None, None),
        };
        if let Some(result) = kind {
            let _ = self
                .journal
                .append(Entry::OpOutcome {
                    id: op.id(),
                    address: op.address.clone(),
                    op: op.op,
                    result,
                    verdict: outcome.verdict(),
                    request_id,
                    error_code: code,
                    time: now(),
                })
                .await;
        }
        OpResult {
            op: op.clone(),
            outcome,
            elapsed: t0.elapsed(),
        }
    }

    /// An operation that is not attempted, journalled.
    pub async fn skip(&self, op: &SecretOp, outcome: Outcome) -> OpResult {
        if let Outcome::Skipped { .. } = outcome {
            let _ = self
                .journal
                .append(Entry::OpOutcome {
                    id: op.id(),
                    address: op.address.clone(),
                    op: op.op,
                    result: OutcomeKind::Skipped,
                    verdict: outcome.verdict(),
                    request_id: None,
                    error_code: None,
                    time: now(),
                })
                .await;
        }
        OpResult {
            op: op.clone(),
            outcome,
            elapsed: Duration::ZERO,
        }
    }

    async fn execute(&self, op: &SecretOp) -> Outcome {
        let observed = match self.observe(op).await {
            Ok(o) => o,
            Err(e) => return failed(&e),
        };
        if Self::reached(op, &observed) {
            return Outcome::AlreadyApplied;
        }
        if let Some(why) = Self::moved(op, &observed) {
            return Outcome::Stale {
                reason: format!(
                    "changed outside ssmform since the plan: {why}; nothing was done. Plan again \
                     to see the current difference"
                ),
            };
        }
        let intent = Entry::OpIntent {
            id: op.id(),
            address: op.address.clone(),
            secret_name: op.secret_name.clone(),
            version_id: op.version_id.clone(),
            op: op.op,
            time: now(),
        };
        if let Err(e) = self.journal.append(intent).await {
            return Outcome::Failed {
                code: None,
                message: format!(
                    "not done: cannot append to the journal {}: {e}",
                    self.journal.path().display()
                ),
                request_id: None,
            };
        }
        match self.call(op, &observed).await {
            Ok(request_id) => Outcome::Applied { request_id },
            Err(e) if e.may_have_taken_effect || e.attempts > 1 => match self.observe(op).await {
                Ok(o) if Self::reached(op, &o) => Outcome::Applied {
                    request_id: String::new(),
                },
                Ok(_) => Outcome::Failed {
                    code: e.error.code().map(str::to_string),
                    message: format!(
                        "{e}; reading the secret back shows the operation did not take effect"
                    ),
                    request_id: e.error.request_id().map(str::to_string),
                },
                Err(read) => Outcome::Unknown {
                    message: format!(
                        "{e}; it may have taken effect, and reading the secret back failed too: \
                         {read}. Run `ssmform plan` to see the live state"
                    ),
                    request_id: e.error.request_id().map(str::to_string),
                },
            },
            Err(e) => failed(&e),
        }
    }

    /// The API call(s): the last one's RequestId.
    async fn call(&self, op: &SecretOp, observed: &Observed) -> Result<String, CallError> {
        let name = op.secret_name.clone();
        let (client, pacer) = (self.client, self.pacer);
        match op.op {
            OpKind::Restore => {
                let r = RestoreSecretRequest { secret_name: name };
                pacer
                    .call("RestoreSecret", || client.restore_secret(&r))
                    .await
                    .map(|r| r.request_id)
            }
            OpKind::Enable => {
                let r = EnableSecretRequest { secret_name: name };
                pacer
                    .call("EnableSecret", || client.enable_secret(&r))
                    .await
                    .map(|r| r.request_id)
            }
            OpKind::Disable => {
                let r = DisableSecretRequest { secret_name: name };
                pacer
                    .call("DisableSecret", || client.disable_secret(&r))
                    .await
                    .map(|r| r.request_id)
            }
            OpKind::UpdateDescription => {
                // Keep ssmform's own record line (see `plan::marker`) after the new text.
                let live = &observed.description;
                let record = &live[marker::user_description(live).len()..];
                let want = op.description.clone().unwrap_or_default();
                let description = if want.is_empty() {
                    record.trim_start_matches('\n').to_string()
                } else {
                    format!("{want}{record}")
                };
                let r = UpdateDescriptionRequest {
                    secret_name: name,
                    description,
                };
                pacer
                    .call("UpdateDescription", || client.update_description(&r))
                    .await
                    .map(|r| r.request_id)
            }
            OpKind::DeleteVersion => {
                let r = DeleteSecretVersionRequest {
                    secret_name: name,
                    version_id: op.version_id.clone().unwrap_or_default(),
                };
                pacer
                    .call("DeleteSecretVersion", || client.delete_secret_version(&r))
                    .await
                    .map(|r| r.request_id)
            }
            OpKind::DeleteSecret => {
                // DeleteSecret needs a Disabled secret.
                if observed.status == SecretStatus::Enabled {
                    let r = DisableSecretRequest {
                        secret_name: name.clone(),
                    };
                    pacer
                        .call("DisableSecret", || client.disable_secret(&r))
                        .await?;
                }
                let r = DeleteSecretRequest {
                    secret_name: name,
                    recovery_window_in_days: Some(op.recovery_window_days.unwrap_or(0)),
                };
                pacer
                    .call("DeleteSecret", || client.delete_secret(&r))
                    .await
                    .map(|r| r.request_id)
            }
            OpKind::Report => Ok(String::new()),
        }
    }
}

fn failed(e: &CallError) -> Outcome {
    Outcome::Failed {
        code: e.error.code().map(str::to_string),
        message: e.to_string(),
        request_id: e.error.request_id().map(str::to_string),
    }
}
