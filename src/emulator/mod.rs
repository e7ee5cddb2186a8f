//! A local emulator of the Tencent Cloud SSM API that official clients cannot tell from the real
//! service, for tests, benchmarks, first runs and `endpoint = "local"`.
//!
//! It serves the actions of docs/ssm-api.md#actions over HTTP/1.1 exactly as the real API does:
//! TC3-HMAC-SHA256 and legacy signatures verified with the crate's own signing code, the same
//! envelopes and `Content-Type`, the validation rules and error codes, the status machine, per-action
//! rate limits in a sliding one-second window, and a SQLite store. Failure injection (`--faults`,
//! `--latency` with `--latency-spread`) produces the throttles, internal errors, 502s, dropped
//! connections and slow answers that retry logic has to survive; `--background-load` simulates
//! other clients using part of an action's quota (production readers beside a drift job); and
//! `GET /_emulator/stats` reports each action's traffic.
//!
//! Reading order: [`service`] (the path of one request) → [`auth`] → [`handlers`] → [`store`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use ssmform::emulator::{Emulator, EmulatorConfig};
//! let emu = Emulator::start(EmulatorConfig::default()).await?;
//! println!("SSM at {}", emu.endpoint()); // http://127.0.0.1:PORT
//! emu.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! It also serves STS (AssumeRole, AssumeRoleWithWebIdentity, version `2018-08-13`) on the same port
//! and the CVM metadata service's instance-role paths ([`sts`](self) and the metadata module):
//! temporary keys with an expiry, accepted for SSM only with their session token and before they
//! expire. By default the emulator's credentials may assume any role and any well-formed
//! web-identity token is accepted; [`StsConfig`] (`--role`, `--oidc-audience`, `--oidc-provider`)
//! makes it strict, and `--credential-lifetime` makes keys short-lived.
//!
//! What the real API does that the emulator does not: KMS encryption (`KmsKeyId` is stored and
//! echoed, nothing is encrypted) and `EncryptionPublicKey` responses; cloud-product secrets
//! (`SecretType` ≠ 0), rotation and SSH-key secrets; tags beyond storing and filtering; CAM
//! permissions (every valid credential, temporary ones included, may call every SSM action; session
//! policies are checked for shape only); web-identity token signatures (no identity provider keys);
//! STS's other actions, faults and rate limits; HTTPS; and any action not in
//! docs/ssm-api.md#actions (answered `InvalidAction`).

mod action;
mod auth;
mod config;
mod error;
mod faults;
mod handlers;
mod limits;
mod metadata;
mod params;
mod response;
mod rules;
mod server;
mod service;
mod stats;
mod store;
mod sts;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use action::Action;
pub use auth::{MAX_SKEW_SECS, SERVICE};
pub use config::{
    Credential, DEFAULT_INSTANCE_ROLE, DEV_SECRET_ID, DEV_SECRET_KEY, DEV_UIN, EmulatorConfig,
    FaultSpec, Principal, RateLimits, RoleRule, StsConfig, parse_background,
};
pub use error::code;
pub use metadata::ROLE_PATH as METADATA_ROLE_PATH;
pub use rules::{
    DEFAULT_VERSION_ID, MAX_CONTENT_BYTES, MAX_DESCRIPTION_BYTES, MAX_SECRETS_PER_REGION,
    MAX_VERSIONS_PER_SECRET,
};
pub use service::{API_VERSION, MAX_BODY_BYTES, STATS_PATH};
pub use stats::{ActionStats, StatsSnapshot};
pub use store::StoreError;
pub use sts::{METADATA as METADATA_STATS_KEY, STS_VERSION, StsStats};

/// Why an emulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The task opening the store was cancelled (the runtime is shutting down).
    #[error("the emulator did not finish starting: {0}")]
    Interrupted(String),
}

/// Entry point: `Emulator::start(config)`.
pub struct Emulator;

impl Emulator {
    /// Open the store, bind the address and start serving on the current Tokio runtime.
    pub async fn start(config: EmulatorConfig) -> Result<RunningEmulator, StartError> {
        let credentials = config.effective_credentials();
        // Opening SQLite touches the disk (and may wait on another process's lock): keep it off
        // the async workers.
        let db = config.db.clone();
        let store = tokio::task::spawn_blocking(move || store::Store::open(db.as_deref()))
            .await
            .map_err(|e| StartError::Bind {
                addr: config.listen,
                source: std::io::Error::other(e.to_string()),
            })??;
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| StartError::Bind {
                    addr: config.listen,
                    source,
                })?;
        let addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: config.listen,
            source,
        })?;
        let (tx, rx) = watch::channel(false);
        let faults = faults::Faults::new(config.faults.clone(), config.seed);
        let seed = faults.seed();
        let sts = Arc::new(sts::Sts::new(config.sts.clone()));
        let state = Arc::new(service::State {
            store: Arc::new(store),
            credentials: auth::Credentials::new(&credentials).with_sts(Arc::clone(&sts)),
            traffic: Arc::new(stats::Traffic::new(config.rate_limits.clone())),
            sts,
            faults,
            latency: config.latency,
            latency_spread: config.latency_spread,
            shutdown: rx.clone(),
        });
        for (&action, &rate) in &config.background {
            tokio::spawn(background(
                Arc::clone(&state.traffic),
                action,
                rate,
                rx.clone(),
            ));
        }
        let task = tokio::spawn(server::serve(listener, Arc::clone(&state), rx));
        Ok(RunningEmulator {
            addr,
            credentials,
            seed,
            state,
            shutdown: tx,
            task: Some(task),
        })
    }
}

/// A simulated other client: `rate` requests of `action` per second, evenly spaced (a late tick
/// catches up, so the average holds), each taking a place in the action's window, until shutdown.
async fn background(
    traffic: Arc<stats::Traffic>,
    action: Action,
    rate: u32,
    mut shutdown: watch::Receiver<bool>,
) {
    let period = std::time::Duration::from_secs(1) / rate.max(1);
    let mut tick = tokio::time::interval(period);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                traffic.admit_background(action, std::time::Instant::now());
            }
            _ = server::shut_down(&mut shutdown) => return,
        }
    }
}

/// A serving emulator. Dropping it stops the server too (without waiting); call
/// [`RunningEmulator::shutdown`] to wait until every connection is closed.
pub struct RunningEmulator {
    addr: SocketAddr,
    credentials: Vec<Credential>,
    seed: u64,
    state: Arc<service::State>,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl RunningEmulator {
    /// The bound address (the real port when the config asked for port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, ready for a client's endpoint setting.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The credentials this emulator accepts (the first is the one to hand a client).
    pub fn credentials(&self) -> &[Credential] {
        &self.credentials
    }

    /// The seed of the fault dice.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The traffic figures, as `GET /_emulator/stats` serves them.
    pub fn stats(&self) -> StatsSnapshot {
        self.stats_handle().snapshot()
    }

    /// A handle that reads the traffic figures from anywhere (another thread, after shutdown).
    pub fn stats_handle(&self) -> StatsHandle {
        StatsHandle(Arc::clone(&self.state.traffic), Arc::clone(&self.state.sts))
    }

    /// Stop accepting, let requests in flight finish, close every connection, and return when the
    /// server is down (the SQLite file is closed once the last handle goes).
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

/// Reads an emulator's traffic figures; cheap to clone, independent of the server's lifetime.
#[derive(Clone)]
pub struct StatsHandle(Arc<stats::Traffic>, Arc<sts::Sts>);

impl StatsHandle {
    pub fn snapshot(&self) -> StatsSnapshot {
        let mut s = self.0.snapshot();
        s.sts = self.1.snapshot();
        s
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}
