//! From a configuration's provider block to a ready API connection: endpoint, region, credentials,
//! rate limits and the plan key. Shared by `plan`, `apply` and `show`.
//!
//! Credentials follow the lookup order of [`crate::ssm::sources`]; temporary ones are fetched
//! here once (so a missing role or an expired token fails before planning) and then refreshed by
//! the client as they near expiry. Every endpoint is checked again against
//! [`crate::ssm::trust`] before anything is sent. Temporary credentials change every session, so
//! with them the plan key must come from `SSMFORM_PLAN_KEY`.

use std::sync::Arc;

use crate::config::{Config, Endpoint};
use crate::secret::PlanKey;
use crate::ssm::rates::{Limiters, RateSettings};
use crate::ssm::retry::Pacer;
use crate::ssm::sources::{self, CredentialSettings};
use crate::ssm::trust::{self, AllowList, Purpose};
use crate::ssm::{
    Client, ClientConfig, Credentials, CredentialsProvider, DEFAULT_ENDPOINT, Lookup,
};

/// Why a connection could not be opened. Messages name paths, endpoints and credential sources,
/// never a credential.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(transparent)]
    Credentials(#[from] crate::ssm::CredentialsError),
    #[error(transparent)]
    CredentialSource(#[from] crate::ssm::ResolveError),
    #[error(transparent)]
    Untrusted(#[from] trust::Untrusted),
    #[error(
        "{var} is not set, and the plan key cannot be derived from temporary credentials: \
         {from} issues new keys every session, so fingerprints and plan files would not match \
         between runs. Set {var} to a long random value (e.g. `openssl rand -hex 32`), the same \
         for plan, apply and show.",
        var = crate::secret::PLAN_KEY_ENV
    )]
    PlanKeyNeeded { from: String },
    #[error(transparent)]
    Region(#[from] crate::ssm::RegionError),
    #[error(transparent)]
    Client(#[from] crate::ssm::ConfigError),
    // The cause is part of the message (not a `source`), so it is printed once.
    #[error("cannot create {} for the embedded emulator's store: {error}", path.display())]
    LocalStateDir {
        path: std::path::PathBuf,
        error: std::io::Error,
    },
    #[error("cannot start the embedded emulator (endpoint = \"local\") on {}: {error}", store.display())]
    LocalEmulator {
        store: std::path::PathBuf,
        error: crate::emulator::StartError,
    },
    #[error(transparent)]
    LocalKey(#[from] super::local::LocalKeyError),
    #[error("{var}: {reason}")]
    Timeout { var: &'static str, reason: String },
}

/// The environment variables that change the client's time limits (README, "Time limits").
pub const TIMEOUT_VARS: [&str; 4] = [
    "SSMFORM_CONNECT_TIMEOUT",
    "SSMFORM_READ_TIMEOUT",
    "SSMFORM_CALL_TIMEOUT",
    "SSMFORM_RETRY_TIMEOUT",
];

/// The time limits of a connection: the defaults, or what the `SSMFORM_*_TIMEOUT` environment
/// variables say (durations such as `500ms`, `5s`, `1m`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub connect: std::time::Duration,
    pub read: std::time::Duration,
    pub call: std::time::Duration,
    pub retry: std::time::Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: crate::ssm::DEFAULT_CONNECT_TIMEOUT,
            read: crate::ssm::DEFAULT_READ_TIMEOUT,
            call: crate::ssm::DEFAULT_REQUEST_TIMEOUT,
            retry: crate::ssm::retry::DEFAULT_RETRY_TIMEOUT,
        }
    }
}

impl Timeouts {
    /// The defaults overridden by `get(name)` for each of [`TIMEOUT_VARS`].
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Timeouts, ConnectError> {
        let mut t = Timeouts::default();
        for (var, slot) in
            TIMEOUT_VARS
                .into_iter()
                .zip([&mut t.connect, &mut t.read, &mut t.call, &mut t.retry])
        {
            if let Some(text) = get(var).filter(|v| !v.trim().is_empty()) {
                let d = crate::clock::parse_duration(&text)
                    .map_err(|reason| ConnectError::Timeout { var, reason })?;
                if d.is_zero() {
                    return Err(ConnectError::Timeout {
                        var,
                        reason: "a time limit must be more than zero".to_string(),
                    });
                }
                *slot = d;
            }
        }
        Ok(t)
    }

    /// From the process environment.
    pub fn from_env() -> Result<Timeouts, ConnectError> {
        Timeouts::from_lookup(|v| std::env::var(v).ok())
    }
}

/// The region used when none is configured anywhere and the endpoint is an emulator.
pub const EMULATOR_DEFAULT_REGION: &str = "ap-guangzhou";

/// An open connection to the SSM API (or an emulator).
pub struct Connection {
    pub client: Client,
    pub pacer: Arc<Pacer>,
    pub key: PlanKey,
    /// The endpoint as shown to people and stored in plans (`local` for the embedded emulator).
    pub endpoint: String,
    pub region: String,
    /// The embedded emulator's store (`endpoint = "local"`), which the run lock `flock`s.
    pub local_store: Option<std::path::PathBuf>,
    /// The embedded emulator, kept running for as long as the connection lives.
    _local: Option<crate::emulator::RunningEmulator>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

/// The rate settings of a configuration's provider block.
pub fn rate_settings(config: &Config) -> RateSettings {
    let p = config.provider();
    RateSettings {
        overrides: p.rate_limits.clone(),
        share: p.rate_share.unwrap_or(1.0),
    }
}

/// Start the embedded emulator on a loopback port, stored at `store` (WAL-mode SQLite, safe to
/// share between concurrent ssmform processes), accepting only credentials drawn at random for
/// this process.
async fn start_local(
    config: &Config,
    store: &std::path::Path,
) -> Result<crate::emulator::RunningEmulator, ConnectError> {
    crate::statedir::ensure(config.dir()).map_err(|error| ConnectError::LocalStateDir {
        path: crate::statedir::path(config.dir()),
        error,
    })?;
    if let Some(parent) = store.parent() {
        crate::privfile::create_dir_all(parent).map_err(|error| ConnectError::LocalStateDir {
            path: parent.to_path_buf(),
            error,
        })?;
    }
    let emulator_config = crate::emulator::EmulatorConfig {
        db: Some(store.to_path_buf()),
        credentials: vec![super::local::random_credential()],
        ..Default::default()
    };
    crate::emulator::Emulator::start(emulator_config)
        .await
        .map_err(|error| ConnectError::LocalEmulator {
            store: store.to_path_buf(),
            error,
        })
}

/// What the provider block says about credentials, for [`sources`]. `region` goes into STS
/// calls. The instance role is discovered from the metadata service only when the SSM endpoint is
/// Tencent Cloud's or `metadata_endpoint` is set.
pub fn credential_settings(config: &Config, region: &str) -> CredentialSettings {
    let p = config.provider();
    let tencent = match &p.endpoint {
        Endpoint::Default => true,
        Endpoint::Url(u) => reqwest::Url::parse(u)
            .ok()
            .and_then(|u| u.host_str().map(trust::is_tencent_api_host))
            .unwrap_or(false),
        Endpoint::Local => false,
    };
    CredentialSettings {
        profile: p.profile.clone(),
        cam_role_name: p.cam_role_name.clone(),
        assume_role: p.assume_role.clone(),
        web_identity: p.web_identity.clone(),
        sts_endpoint: p.sts_endpoint.clone(),
        metadata_endpoint: p.metadata_endpoint.clone(),
        region: region.to_string(),
        discover_instance_role: tencent || p.metadata_endpoint.is_some(),
    }
}

/// The plan key for `config` without connecting: `SSMFORM_PLAN_KEY` when set, else derived from
/// the static credentials the provider block would use, or for `endpoint = "local"` the key in
/// `.ssmform/plan.key` (see [`super::local`]); temporary credentials need `SSMFORM_PLAN_KEY`.
/// `show` needs nothing more.
pub fn plan_key_for(config: &Config) -> Result<PlanKey, ConnectError> {
    if let Some(key) = PlanKey::from_env() {
        return Ok(key);
    }
    let secret_key = match &config.provider().endpoint {
        Endpoint::Local => return Ok(super::local::plan_key(config.dir(), false)?),
        _ => {
            let choice = sources::choose(&credential_settings(config, ""), &Lookup::process())?;
            match choice.static_credentials() {
                Some(c) => c.secret_key.clone(),
                None => {
                    return Err(ConnectError::PlanKeyNeeded {
                        from: choice.describe(),
                    });
                }
            }
        }
    };
    Ok(PlanKey::derive_from_api_secret_key(&secret_key))
}

/// The credentials for a real (or emulated) API endpoint, and the plan key that goes with them.
async fn credentials_for(
    config: &Config,
    region: &str,
    lookup: &Lookup,
) -> Result<(CredentialsProvider, PlanKey), ConnectError> {
    let settings = credential_settings(config, region);
    let env_key = PlanKey::from_env();
    if env_key.is_none() {
        // Decide before any network traffic whether a plan key can be derived at all.
        let choice = sources::choose(&settings, lookup)?;
        if choice.is_refreshed() {
            return Err(ConnectError::PlanKeyNeeded {
                from: choice.describe(),
            });
        }
    }
    let provider = sources::resolve(&settings, lookup, AllowList::from_process_env).await?;
    tracing::debug!(source = %provider.source(), "credentials");
    let key = match env_key {
        Some(key) => key,
        None => {
            let latest = provider
                .latest()
                .expect("fixed credentials are always available");
            PlanKey::derive_from_api_secret_key(&latest.secret_key)
        }
    };
    Ok((provider, key))
}

impl Connection {
    /// Connect as the configuration's provider block says.
    pub async fn open(config: &Config) -> Result<Connection, ConnectError> {
        let timeouts = Timeouts::from_env()?;
        let provider = config.provider();
        let lookup = Lookup::process();
        let region = match lookup.region(provider.region.as_deref(), provider.profile.as_deref()) {
            Ok(r) => r.name,
            Err(_) if !matches!(provider.endpoint, Endpoint::Default) => {
                EMULATOR_DEFAULT_REGION.to_string()
            }
            Err(e) => return Err(e.into()),
        };
        let mut local_store = None;
        let (endpoint_url, endpoint_shown, credentials, key, local) = match &provider.endpoint {
            Endpoint::Local => {
                let store = provider
                    .local_store
                    .clone()
                    .unwrap_or_else(|| crate::statedir::default_local_store(config.dir()));
                let running = start_local(config, &store).await?;
                local_store = Some(store.clone());
                let url = running.endpoint();
                let own = &running.credentials()[0];
                let creds = Credentials::new(
                    own.secret_id.clone(),
                    crate::secret::SecretValue::from_string(own.secret_key.clone()),
                );
                let key = super::local::plan_key(config.dir(), true)?;
                (url, "local".to_string(), creds.into(), key, Some(running))
            }
            Endpoint::Url(u) => {
                // Checked when the configuration was loaded; checked again before credentials
                // are looked up for it.
                trust::check(u, Purpose::Api, AllowList::from_process_env)?;
                let (creds, key) = credentials_for(config, &region, &lookup).await?;
                (u.clone(), u.clone(), creds, key, None)
            }
            Endpoint::Default => {
                let (creds, key) = credentials_for(config, &region, &lookup).await?;
                (
                    DEFAULT_ENDPOINT.to_string(),
                    DEFAULT_ENDPOINT.to_string(),
                    creds,
                    key,
                    None,
                )
            }
        };
        let mut client_config = ClientConfig::new(endpoint_url, region.clone());
        client_config.connect_timeout = timeouts.connect;
        client_config.read_timeout = timeouts.read;
        client_config.request_timeout = timeouts.call;
        let client = Client::new(client_config, credentials)?;
        Ok(Connection {
            client,
            pacer: Arc::new(
                Pacer::new(Limiters::new(rate_settings(config))).with_retry_timeout(timeouts.retry),
            ),
            key,
            endpoint: endpoint_shown,
            region,
            local_store,
            _local: local,
        })
    }
}
