//! From a configuration's provider block to a ready API connection: endpoint, region, credentials,
//! rate limits and the plan key. Shared by `plan`, `apply` and `show`.

use std::sync::Arc;

use crate::config::{Config, Endpoint};
use crate::secret::PlanKey;
use crate::ssm::rates::{Limiters, RateSettings};
use crate::ssm::retry::Pacer;
use crate::ssm::{Client, ClientConfig, Credentials, DEFAULT_ENDPOINT, Lookup};

/// Why a connection could not be opened. Messages name paths, endpoints and credential sources,
/// never a credential.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(transparent)]
    Credentials(#[from] crate::ssm::CredentialsError),
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

/// The plan key for `config` without connecting: `SSMFORM_PLAN_KEY` when set, else derived from
/// the credentials the provider block would use, or for `endpoint = "local"` the key in
/// `.ssmform/plan.key` (see [`super::local`]). `show` needs nothing more.
pub fn plan_key_for(config: &Config) -> Result<PlanKey, ConnectError> {
    if let Some(key) = PlanKey::from_env() {
        return Ok(key);
    }
    let secret_key = match &config.provider().endpoint {
        Endpoint::Local => return Ok(super::local::plan_key(config.dir(), false)?),
        _ => {
            Lookup::process()
                .credentials(config.provider().profile.as_deref())?
                .secret_key
        }
    };
    Ok(PlanKey::derive_from_api_secret_key(&secret_key))
}

impl Connection {
    /// Connect as the configuration's provider block says.
    pub async fn open(config: &Config) -> Result<Connection, ConnectError> {
        let provider = config.provider();
        let lookup = Lookup::process();
        let (endpoint_url, endpoint_shown, credentials, local) = match &provider.endpoint {
            Endpoint::Local => {
                let store = provider
                    .local_store
                    .clone()
                    .unwrap_or_else(|| crate::statedir::default_local_store(config.dir()));
                let running = start_local(config, &store).await?;
                let url = running.endpoint();
                let own = &running.credentials()[0];
                let creds = Credentials::new(
                    own.secret_id.clone(),
                    crate::secret::SecretValue::from_string(own.secret_key.clone()),
                );
                (url, "local".to_string(), creds, Some(running))
            }
            Endpoint::Url(u) => {
                let creds = lookup.credentials(provider.profile.as_deref())?;
                (u.clone(), u.clone(), creds, None)
            }
            Endpoint::Default => {
                let creds = lookup.credentials(provider.profile.as_deref())?;
                (
                    DEFAULT_ENDPOINT.to_string(),
                    DEFAULT_ENDPOINT.to_string(),
                    creds,
                    None,
                )
            }
        };
        let region = match lookup.region(provider.region.as_deref(), provider.profile.as_deref()) {
            Ok(r) => r.name,
            Err(_) if !matches!(provider.endpoint, Endpoint::Default) => {
                EMULATOR_DEFAULT_REGION.to_string()
            }
            Err(e) => return Err(e.into()),
        };
        let key = match &local {
            Some(_) => super::local::plan_key(config.dir(), true)?,
            None => PlanKey::from_env_or_api_key(&credentials.secret_key),
        };
        let client = Client::new(ClientConfig::new(endpoint_url, region.clone()), credentials)?;
        Ok(Connection {
            client,
            pacer: Arc::new(Pacer::new(Limiters::new(rate_settings(config)))),
            key,
            endpoint: endpoint_shown,
            region,
            _local: local,
        })
    }
}
