//! Reading the live state of one secret version, as the plan needs it and as apply's stale check
//! needs it again just before a write.
//!
//! `GetSecretValue` answers most cases. When it cannot (the version or the secret is missing, the
//! secret is Disabled or scheduled for deletion), `DescribeSecret` and `ListSecretVersionIds` tell
//! which of those it is, so that the plan can choose between `UpdateSecret`, `PutSecretValue` and
//! `CreateSecret`, or explain why nothing can be done.
//!
//! A plan of many secrets first lists the region's secrets ([`Catalog`]: ListSecrets, 30/s, up to
//! [`LIST_PAGE_SIZE`] secrets a page) when that takes fewer calls than the secrets it may save a
//! DescribeSecret (40/s) for. A secret the listing does not know is missing without any call, a
//! Disabled or PendingDelete one needs no GetSecretValue, and a listed secret whose version is
//! missing needs no DescribeSecret; each secret's versions are listed once per plan. Reads do not
//! wait for the listing: those started before it arrives go the usual way and consult it instead
//! of DescribeSecret.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use tokio::sync::{Notify, OnceCell};

use crate::secret::SecretContent;
use crate::ssm::retry::{CallError, Pacer};
use crate::ssm::{
    Client, DescribeSecretRequest, GetSecretValueRequest, LIST_PAGE_SIZE, ListOrder,
    ListSecretVersionIdsRequest, ListSecretsRequest, SecretStatus,
};

/// Listing is worth it from this many distinct secret names on (below, a DescribeSecret or two
/// cost less than a page).
pub const LIST_FROM: usize = 20;

/// What a listing of the region's secrets said, and the versions of secrets listed so far.
#[derive(Debug, Default)]
pub struct Catalog {
    /// Set once the listing is done: `None` when it failed or was not worth it.
    statuses: OnceLock<Option<HashMap<String, SecretStatus>>>,
    /// Wakes the readers waiting for the listing.
    listed: Notify,
    /// Each listed secret's description and KMS key id, as the listing said them.
    metadata: OnceLock<HashMap<String, Listed>>,
    versions: Mutex<HashMap<String, Arc<OnceCell<Vec<String>>>>>,
}

/// What a listing says of one secret besides its status.
#[derive(Debug, Clone)]
pub struct Listed {
    pub description: String,
    pub kms_key_id: String,
}

impl Catalog {
    /// A catalog without a listing: every secret is looked up one by one.
    pub fn unlisted() -> Self {
        let c = Catalog::default();
        let _ = c.statuses.set(None);
        c
    }

    /// A catalog whose listing runs in the background, for `names` distinct secret names
    /// (listing only when there are [`LIST_FROM`] or more and it takes at most one page per
    /// name).
    pub fn start(client: &Client, pacer: &Arc<Pacer>, names: usize) -> Arc<Self> {
        if names < LIST_FROM {
            return Arc::new(Catalog::unlisted());
        }
        let catalog = Arc::new(Catalog::default());
        let (c, client, pacer) = (catalog.clone(), client.clone(), pacer.clone());
        tokio::spawn(async move {
            c.finish(list(client, pacer, names).await);
        });
        catalog
    }

    /// Record the listing's result and wake whoever waits for it.
    fn finish(&self, listed: Option<(HashMap<String, SecretStatus>, HashMap<String, Listed>)>) {
        match listed {
            Some((statuses, metadata)) => {
                let _ = self.metadata.set(metadata);
                let _ = self.statuses.set(Some(statuses));
            }
            None => {
                let _ = self.statuses.set(None);
            }
        }
        self.listed.notify_waiters();
    }

    /// The description and KMS key id of `name`, when a finished listing has it.
    pub fn metadata(&self, name: &str) -> Option<&Listed> {
        self.metadata.get().and_then(|m| m.get(name))
    }

    /// The listing, if it is done and succeeded.
    fn listed(&self) -> Option<&HashMap<String, SecretStatus>> {
        self.statuses.get().and_then(Option::as_ref)
    }

    /// The listing, waiting for it if it is still under way.
    async fn wait(&self) -> Option<&HashMap<String, SecretStatus>> {
        loop {
            // Register before looking, so that a listing finished in between still wakes us.
            let notified = self.listed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(done) = self.statuses.get() {
                return done.as_ref();
            }
            notified.await;
        }
    }
}

/// Every secret of the region with its status, or `None` when listing fails or would take more
/// pages than `names`. Pages after the first are fetched concurrently (their offsets are known
/// from the first page's total), oldest first so that a secret created meanwhile shifts nothing.
async fn list(
    client: Client,
    pacer: Arc<Pacer>,
    names: usize,
) -> Option<(HashMap<String, SecretStatus>, HashMap<String, Listed>)> {
    let page = |offset: u64| {
        let request = ListSecretsRequest {
            offset: Some(offset),
            limit: Some(LIST_PAGE_SIZE),
            order: Some(ListOrder::OldestFirst),
            ..Default::default()
        };
        let (client, pacer) = (client.clone(), pacer.clone());
        async move {
            pacer
                .call("ListSecrets", || client.list_secrets(&request))
                .await
        }
    };
    let skipped = |e: &CallError| {
        // The message may quote request parameters: the code is enough here.
        tracing::info!(
            code = e.error.code().unwrap_or("-"),
            "cannot list the region's secrets; looking them up one by one"
        );
    };
    let first = match page(0).await {
        Ok(p) => p,
        Err(e) => {
            skipped(&e);
            return None;
        }
    };
    // The server may return fewer than asked: step by what the first page held.
    let step = first.secret_metadatas.len() as u64;
    let pages = first.total_count.div_ceil(step.max(1));
    if pages > names as u64 {
        tracing::debug!(
            pages,
            names,
            "the region has too many secrets to list them for this plan"
        );
        return None;
    }
    let mut statuses: HashMap<String, SecretStatus> = HashMap::new();
    let mut metadata: HashMap<String, Listed> = HashMap::new();
    let mut keep = |ms: Vec<crate::ssm::SecretMetadata>| {
        for m in ms {
            statuses.insert(m.secret_name.clone(), m.status);
            metadata.insert(
                m.secret_name,
                Listed {
                    description: m.description,
                    kms_key_id: m.kms_key_id,
                },
            );
        }
    };
    keep(first.secret_metadatas);
    let mut set = tokio::task::JoinSet::new();
    let mut offset = step;
    while step > 0 && offset < first.total_count {
        set.spawn(page(offset));
        offset += step;
    }
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok(Ok(p)) => keep(p.secret_metadatas),
            Ok(Err(e)) => {
                skipped(&e);
                return None;
            }
            Err(_) => return None,
        }
    }
    tracing::debug!(secrets = statuses.len(), "listed the region's secrets");
    Some((statuses, metadata))
}

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
    read_live_in(client, pacer, &Catalog::unlisted(), name, version).await
}

/// [`read_live`], using what `catalog` knows to save calls.
pub async fn read_live_in(
    client: &Client,
    pacer: &Pacer,
    catalog: &Catalog,
    name: &str,
    version: &str,
) -> Result<LiveState, CallError> {
    if let Some(listed) = catalog.listed() {
        match listed.get(name) {
            None => return Ok(LiveState::SecretMissing),
            Some(SecretStatus::PendingDelete) => return Ok(LiveState::PendingDelete),
            Some(SecretStatus::Disabled) => {
                let versions = catalog.versions(client, pacer, name).await?;
                return Ok(LiveState::Disabled {
                    version_exists: versions.iter().any(|v| v == version),
                    versions: versions.len(),
                });
            }
            Some(_) => {}
        }
    }
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
            let versions = catalog.versions(client, pacer, name).await?;
            Ok(LiveState::Disabled {
                version_exists: versions.iter().any(|v| v == version),
                versions: versions.len(),
            })
        }
        _ if is_not_found(&error) => {
            if let Some(listed) = catalog.wait().await {
                // Listed when the listing ran: Enabled (or Disabled since), so the version is
                // what is missing.
                if listed.contains_key(name) {
                    let versions = catalog.versions(client, pacer, name).await?;
                    if versions.iter().any(|v| v == version) {
                        // Created between the two calls: read it again.
                        return read_again(client, pacer, &get).await;
                    }
                    return Ok(LiveState::VersionMissing {
                        versions: versions.len(),
                    });
                }
                return Ok(LiveState::SecretMissing);
            }
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
                    let versions = catalog.versions(client, pacer, name).await?;
                    if d.status == SecretStatus::Disabled {
                        return Ok(LiveState::Disabled {
                            version_exists: versions.iter().any(|v| v == version),
                            versions: versions.len(),
                        });
                    }
                    if versions.iter().any(|v| v == version) {
                        // The version exists although GetSecretValue said it did not: it was
                        // created meanwhile (a concurrent run's CreateSecret or PutSecretValue).
                        // Read it again rather than report the first answer.
                        return read_again(client, pacer, &get).await;
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

/// GetSecretValue once more, for a version that turned up after a first read missed it. Should it
/// still be unreadable, that answer is the error.
async fn read_again(
    client: &Client,
    pacer: &Pacer,
    get: &GetSecretValueRequest,
) -> Result<LiveState, CallError> {
    tracing::debug!(secret = %get.secret_name, version = %get.version_id,
        "the version appeared after GetSecretValue missed it: reading it again");
    pacer
        .call("GetSecretValue", || client.get_secret_value(get))
        .await
        .map(|r| LiveState::Present(r.content))
}

impl Catalog {
    /// The version ids of `name`, listed once per catalog (a failed listing is tried again by the
    /// next caller).
    pub(crate) async fn versions(
        &self,
        client: &Client,
        pacer: &Pacer,
        name: &str,
    ) -> Result<Vec<String>, CallError> {
        let cell = self
            .versions
            .lock()
            .expect("catalog lock")
            .entry(name.to_string())
            .or_default()
            .clone();
        cell.get_or_try_init(|| list_versions(client, pacer, name))
            .await
            .cloned()
    }
}

/// The version ids of secret `name` (ListSecretVersionIds, through the pacer).
pub(crate) async fn list_versions(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn readers_wait_for_a_listing_under_way() {
        let catalog = Arc::new(Catalog::default());
        assert!(catalog.listed().is_none());
        let waiter = {
            let c = catalog.clone();
            tokio::spawn(async move { c.wait().await.map(|m| m.len()) })
        };
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished(), "no answer before the listing");
        catalog.finish(Some((
            HashMap::from([("a".to_string(), SecretStatus::Enabled)]),
            HashMap::new(),
        )));
        assert_eq!(waiter.await.unwrap(), Some(1));
        // and later readers find it at once
        assert_eq!(catalog.wait().await.map(|m| m.len()), Some(1));
        assert!(Catalog::unlisted().wait().await.is_none());
    }
}
