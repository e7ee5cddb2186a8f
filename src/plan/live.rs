//! Reading the live state of one secret version, as the plan needs it and as apply's stale check
//! needs it again just before a write.
//!
//! `GetSecretValue` answers most cases. When it cannot (the version or the secret is missing, the
//! secret is Disabled or scheduled for deletion), `DescribeSecret` and `ListSecretVersionIds` tell
//! which of those it is, so that the plan can choose between `UpdateSecret`, `PutSecretValue` and
//! `CreateSecret`, or explain why nothing can be done.

use crate::secret::SecretContent;
use crate::ssm::retry::{CallError, Pacer};
use crate::ssm::{
    Client, DescribeSecretRequest, GetSecretValueRequest, ListSecretVersionIdsRequest, SecretStatus,
};

/// What exists at (secret name, version id).
#[derive(Debug)]
pub enum LiveState {
    /// The version exists and was read.
    Present(SecretContent),
    /// The secret is Disabled: its content cannot be read. `version_exists` says whether the
    /// version is there (listing versions works on a Disabled secret).
    Disabled {
        version_exists: bool,
        versions: usize,
    },
    /// The secret exists (Enabled) but not this version; it has `versions` versions.
    VersionMissing { versions: usize },
    /// No secret of that name.
    SecretMissing,
    /// The secret is scheduled for deletion.
    PendingDelete,
}

impl LiveState {
    pub fn content(&self) -> Option<&SecretContent> {
        match self {
            LiveState::Present(c) => Some(c),
            _ => None,
        }
    }
}

fn is_not_found(e: &CallError) -> bool {
    e.error
        .code()
        .is_some_and(|c| c == "ResourceNotFound" || c.starts_with("ResourceNotFound."))
}

/// Read what is live at `name`/`version`, through the pacer (rate limits and retries).
pub async fn read_live(
    client: &Client,
    pacer: &Pacer,
    name: &str,
    version: &str,
) -> Result<LiveState, CallError> {
    let get = GetSecretValueRequest {
        secret_name: name.to_string(),
        version_id: version.to_string(),
    };
    let error = match pacer
        .call("GetSecretValue", || client.get_secret_value(&get))
        .await
    {
        Ok(r) => return Ok(LiveState::Present(r.content)),
        Err(e) => e,
    };
    match error.error.code() {
        Some("ResourceUnavailable.ResourcePendingDeleted") => Ok(LiveState::PendingDelete),
        Some("ResourceUnavailable.ResourceDisabled") => {
            let versions = list_versions(client, pacer, name).await?;
            Ok(LiveState::Disabled {
                version_exists: versions.iter().any(|v| v == version),
                versions: versions.len(),
            })
        }
        _ if is_not_found(&error) => {
            let describe = DescribeSecretRequest {
                secret_name: name.to_string(),
            };
            match pacer
                .call("DescribeSecret", || client.describe_secret(&describe))
                .await
            {
                Err(e) if is_not_found(&e) => Ok(LiveState::SecretMissing),
                Err(e) => Err(e),
                Ok(d) if d.status == SecretStatus::PendingDelete => Ok(LiveState::PendingDelete),
                Ok(d) => {
                    let versions = list_versions(client, pacer, name).await?;
                    if d.status == SecretStatus::Disabled {
                        return Ok(LiveState::Disabled {
                            version_exists: versions.iter().any(|v| v == version),
                            versions: versions.len(),
                        });
                    }
                    if versions.iter().any(|v| v == version) {
                        // Listed but not readable: report the original answer rather than guess.
                        return Err(error);
                    }
                    Ok(LiveState::VersionMissing {
                        versions: versions.len(),
                    })
                }
            }
        }
        _ => Err(error),
    }
}

async fn list_versions(
    client: &Client,
    pacer: &Pacer,
    name: &str,
) -> Result<Vec<String>, CallError> {
    let req = ListSecretVersionIdsRequest {
        secret_name: name.to_string(),
    };
    let r = pacer
        .call("ListSecretVersionIds", || {
            client.list_secret_version_ids(&req)
        })
        .await?;
    Ok(r.versions.into_iter().map(|v| v.version_id).collect())
}
