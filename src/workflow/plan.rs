//! The plan session: connect, evaluate (reading data sources), read every managed secret, and
//! produce the [`Plan`] with the configuration's warnings attached.

use crate::config::Config;
use crate::plan::model::Note;
use crate::plan::refresh::{ReadProgress, RefreshContext, Refreshed, refresh};

use super::{Connection, Error};

/// How to plan.
pub struct PlanOptions<'a> {
    /// `--target` addresses (empty: everything).
    pub targets: &'a [String],
    /// API requests in flight at most.
    pub parallelism: usize,
    /// Told about the reads of live values.
    pub progress: &'a dyn ReadProgress,
}

/// Refresh and plan. The configuration's warnings travel with the plan as its first notes, so every
/// format shows them.
pub async fn plan(
    config: &Config,
    conn: &Connection,
    options: &PlanOptions<'_>,
) -> Result<Refreshed, Error> {
    // The lock secret is ssmform's own: no removed block deletes it.
    if let Some(r) = config
        .removed()
        .into_iter()
        .find(|r| r.secret_name == super::lock::LOCK_SECRET)
    {
        return Err(Error::ReservedName {
            address: format!("the removed block at {}", r.location),
        });
    }
    let ctx = context(conn, options);
    let mut refreshed = refresh(config, &ctx).await?;
    if let Some(c) = refreshed
        .desired
        .values()
        .find(|d| d.secret_name == super::lock::LOCK_SECRET)
    {
        return Err(Error::ReservedName {
            address: c.address.clone(),
        });
    }
    let warnings = config.warnings().iter().map(Note::from);
    refreshed.plan.notes.splice(0..0, warnings);
    Ok(refreshed)
}

/// The refresh context for `conn`.
pub(crate) fn context<'a>(conn: &'a Connection, options: &PlanOptions<'a>) -> RefreshContext<'a> {
    RefreshContext {
        client: &conn.client,
        pacer: &conn.pacer,
        key: &conn.key,
        parallelism: options.parallelism,
        targets: options.targets,
        endpoint: conn.endpoint.clone(),
        region: conn.region.clone(),
        progress: options.progress,
    }
}
