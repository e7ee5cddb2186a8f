//! The run lock: one `apply` (or `plan --out`) at a time per account and region, so that two runs
//! on the same secrets cannot interleave their writes.
//!
//! ssmform keeps no state of its own, so the lock lives where every run can see it:
//!
//! - **Against the API** (Tencent Cloud or an emulator): a secret named [`LOCK_SECRET`] in the
//!   region. Taking the lock is one `CreateSecret`, which is atomic: a second creator gets
//!   `ResourceInUse.SecretExists`. Its description holds [`LockInfo`] as JSON (run id, holder,
//!   operation, when it was taken and when it is considered abandoned); its content is the run id,
//!   nothing secret. Releasing is `DisableSecret` then `DeleteSecret` with no recovery window, after
//!   checking that the lock is still this run's.
//! - **`endpoint = "local"`**: an exclusive `flock` on `<store>.lock` beside the emulator's SQLite
//!   file. The kernel releases it when the process ends, however it ends.
//!
//! A run that finds the lock taken waits for it (`-lock-timeout`, polling with backoff) or fails at
//! once (the default, as Terraform's), in either case before it has read or written anything. An
//! expired lock is not broken automatically: breaking it is a delete then a create, which two
//! waiters could interleave; the message names its holder and the `ssmform force-unlock ID` that
//! removes it. What a lock cannot do: SSM has no compare-and-set, so a person or tool that takes no
//! lock can still write between a run's stale check and its write (README, "Run lock").

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::secret::{SecretContent, SecretValue};
use crate::ssm::retry::{CallError, Pacer};
use crate::ssm::{
    Client, CreateSecretRequest, DeleteSecretRequest, DescribeSecretRequest, DisableSecretRequest,
};

/// The secret that is the run lock, in every region ssmform applies to. No configuration may
/// declare it, and plans never show it.
pub const LOCK_SECRET: &str = "ssmform-lock";
/// The lock's version id.
pub const LOCK_VERSION: &str = "lock";
/// How long after it was taken a lock is reported as abandoned (its holder is presumably gone).
pub const LOCK_TTL: Duration = Duration::from_secs(3600);
/// The longest pause between two attempts while waiting for a lock.
pub const MAX_POLL: Duration = Duration::from_secs(5);

/// What the lock's description records.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    /// The run id of the holder (the `ID` of `ssmform force-unlock ID`).
    pub id: String,
    /// `user@host (pid N)`.
    pub holder: String,
    /// `apply` or `plan`.
    pub operation: String,
    /// Unix seconds.
    pub created: i64,
    /// Unix seconds: after this the lock is reported as abandoned.
    pub expires: i64,
}

impl LockInfo {
    /// A lock for `operation` by this process, taken now.
    pub fn new(id: &str, operation: &str) -> LockInfo {
        let now = crate::clock::unix_now();
        LockInfo {
            id: id.to_string(),
            holder: holder(),
            operation: operation.to_string(),
            created: now,
            expires: now + LOCK_TTL.as_secs() as i64,
        }
    }

    fn describe(&self) -> String {
        let when = |t: i64| {
            let (y, m, d) = crate::clock::civil_date(t);
            let s = t.rem_euclid(86_400);
            format!(
                "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
                s / 3600,
                s % 3600 / 60,
                s % 60
            )
        };
        let expired = if crate::clock::unix_now() > self.expires {
            format!(
                "; it expired at {}, so its holder is probably gone",
                when(self.expires)
            )
        } else {
            String::new()
        };
        format!(
            "ID {}, held by {} for {} since {}{expired}",
            self.id,
            self.holder,
            self.operation,
            when(self.created)
        )
    }
}

/// `user@host (pid N)`.
fn holder() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".to_string());
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates within it or
    // truncates, and the last byte is kept zero.
    let host = unsafe {
        if libc::gethostname(buf.as_mut_ptr().cast(), buf.len() - 1) == 0 {
            let end = buf.iter().position(|&b| b == 0).unwrap_or(0);
            String::from_utf8_lossy(&buf[..end]).into_owned()
        } else {
            "unknown".to_string()
        }
    };
    let clean = |s: &str| -> String {
        s.chars()
            .filter(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c))
            .take(64)
            .collect()
    };
    format!(
        "{}@{} (pid {})",
        clean(&user),
        clean(&host),
        std::process::id()
    )
}

/// How a run takes the lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LockOptions {
    /// `-lock=false` turns locking off.
    pub enabled: bool,
    /// How long to wait for a lock someone else holds (`-lock-timeout`); zero fails at once.
    pub timeout: Duration,
}

impl Default for LockOptions {
    fn default() -> Self {
        LockOptions {
            enabled: true,
            timeout: Duration::ZERO,
        }
    }
}

/// Why the lock could not be taken or released.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "the run lock is taken: {}{}. Nothing was read or written. Wait for that run to finish, \
         pass -lock-timeout=DURATION to wait for it, or, if it is gone for good, remove the lock \
         with: ssmform force-unlock {}",
        info.as_ref().map(|i| i.describe()).unwrap_or_else(|| format!("the secret `{LOCK_SECRET}` exists but does not describe its holder")),
        waited_text(*waited),
        info.as_ref().map(|i| i.id.as_str()).unwrap_or("ID")
    )]
    Held {
        info: Option<LockInfo>,
        waited: Duration,
    },
    #[error(
        "the local store {} is locked by another ssmform process{}. Nothing was read or written. \
         Wait for it to finish, or pass -lock-timeout=DURATION to wait for it",
        store.display(),
        waited_text(*waited)
    )]
    LocalHeld { store: PathBuf, waited: Duration },
    #[error("cannot lock {}: {error}", path.display())]
    LocalIo {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("cannot take the run lock (secret `{LOCK_SECRET}`): {0}")]
    Api(CallError),
    #[error(
        "the run lock is held by ID {held}, not {asked}; nothing was unlocked. Check the ID \
         (the message that named the lock shows it)"
    )]
    OtherId { held: String, asked: String },
    #[error("there is no run lock (secret `{LOCK_SECRET}`) to remove")]
    NotLocked,
    #[error(
        "endpoint = \"local\" locks its store with flock, which the kernel releases when its holder \
         exits: there is nothing to force-unlock. Another ssmform process still running holds it"
    )]
    LocalNoForce,
}

fn waited_text(waited: Duration) -> String {
    if waited.is_zero() {
        String::new()
    } else {
        format!(" (waited {:.0}s)", waited.as_secs_f64())
    }
}

/// The lock a run holds; release it with [`RunLock::release`] (dropping it releases only a local
/// lock).
#[derive(Debug)]
pub enum RunLock {
    /// Locking is off (`-lock=false`).
    None,
    /// The lock secret, created by this run.
    Remote {
        client: Client,
        pacer: std::sync::Arc<Pacer>,
        id: String,
    },
    /// The `flock` on the local store's lock file, held while the file is open.
    Local(std::fs::File),
}

/// The lock file beside a local store.
pub fn local_lock_path(store: &Path) -> PathBuf {
    let mut name = store.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    store.with_file_name(name)
}

/// Take the local store's lock, waiting up to `timeout`.
pub async fn lock_local(store: &Path, timeout: Duration) -> Result<RunLock, LockError> {
    let path = local_lock_path(store);
    let io = |error| LockError::LocalIo {
        path: path.clone(),
        error,
    };
    let file = match crate::privfile::create_new(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(io)?,
        Err(e) => return Err(io(e)),
    };
    let started = tokio::time::Instant::now();
    let mut pause = Duration::from_millis(50);
    loop {
        if try_flock(&file).map_err(io)? {
            return Ok(RunLock::Local(file));
        }
        let waited = started.elapsed();
        if waited >= timeout {
            return Err(LockError::LocalHeld {
                store: store.to_path_buf(),
                waited,
            });
        }
        tokio::time::sleep(pause.min(timeout - waited)).await;
        pause = (pause * 2).min(MAX_POLL);
    }
}

/// An exclusive, non-blocking `flock`: `Ok(false)` when another open file description holds it.
fn try_flock(file: &std::fs::File) -> std::io::Result<bool> {
    use std::os::fd::AsRawFd;
    // SAFETY: a valid open descriptor; flock has no memory effects.
    let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if r == 0 {
        return Ok(true);
    }
    let e = std::io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Ok(false)
    } else {
        Err(e)
    }
}

/// What taking the lock secret needs from the API; [`ApiLock`] is the real one, tests have fakes.
pub trait LockStore {
    /// CreateSecret of the lock with `info`: `Ok(true)` created, `Ok(false)` it exists.
    fn create(&self, info: &LockInfo) -> impl Future<Output = Result<bool, CallError>> + Send;
    /// The lock's description, if the lock exists (`Some(None)`: it exists, unreadable).
    fn read(&self) -> impl Future<Output = Result<Option<Option<LockInfo>>, CallError>> + Send;
    /// Delete the lock.
    fn delete(&self) -> impl Future<Output = Result<(), CallError>> + Send;
}

/// The lock secret through the API.
pub struct ApiLock<'a> {
    pub client: &'a Client,
    pub pacer: &'a Pacer,
}

fn is_code(e: &CallError, code: &str) -> bool {
    e.error.code() == Some(code)
}

fn not_found(e: &CallError) -> bool {
    e.error
        .code()
        .is_some_and(|c| c == "ResourceNotFound" || c.starts_with("ResourceNotFound."))
}

impl LockStore for ApiLock<'_> {
    async fn create(&self, info: &LockInfo) -> Result<bool, CallError> {
        let request = CreateSecretRequest {
            secret_name: LOCK_SECRET.to_string(),
            version_id: Some(LOCK_VERSION.to_string()),
            description: Some(serde_json::to_string(info).expect("plain data")),
            content: Some(SecretContent::String(SecretValue::from_string(
                info.id.clone(),
            ))),
            ..Default::default()
        };
        match self
            .pacer
            .call("CreateSecret", || self.client.create_secret(&request))
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if is_code(&e, "ResourceInUse.SecretExists") => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn read(&self) -> Result<Option<Option<LockInfo>>, CallError> {
        let request = DescribeSecretRequest {
            secret_name: LOCK_SECRET.to_string(),
        };
        match self
            .pacer
            .call("DescribeSecret", || self.client.describe_secret(&request))
            .await
        {
            Ok(d) => Ok(Some(serde_json::from_str(&d.description).ok())),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn delete(&self) -> Result<(), CallError> {
        let disable = DisableSecretRequest {
            secret_name: LOCK_SECRET.to_string(),
        };
        match self
            .pacer
            .call("DisableSecret", || self.client.disable_secret(&disable))
            .await
        {
            Ok(_) => {}
            Err(e) if not_found(&e) => return Ok(()),
            Err(e) => return Err(e),
        }
        let delete = DeleteSecretRequest {
            secret_name: LOCK_SECRET.to_string(),
            recovery_window_in_days: Some(0),
        };
        match self
            .pacer
            .call("DeleteSecret", || self.client.delete_secret(&delete))
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if not_found(&e) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// Take the lock in `store` as `info` describes, waiting up to `timeout` for a holder to let go.
pub async fn acquire<S: LockStore>(
    store: &S,
    info: &LockInfo,
    timeout: Duration,
) -> Result<(), LockError> {
    let started = tokio::time::Instant::now();
    let mut pause = Duration::from_millis(500);
    loop {
        let holder = match store.create(info).await {
            Ok(true) => return Ok(()),
            Ok(false) => store.read().await.map_err(LockError::Api)?,
            Err(e) if e.may_have_taken_effect => {
                // The create may have landed: the description tells whose lock is there.
                store.read().await.map_err(|_| LockError::Api(e))?
            }
            Err(e) => return Err(LockError::Api(e)),
        };
        match holder {
            // A retried create of ours that had landed, or an answer lost on the way back.
            Some(Some(held)) if held.id == info.id => return Ok(()),
            // Released between the create and the read: try again at once.
            None => continue,
            Some(held) => {
                let waited = started.elapsed();
                if waited >= timeout {
                    return Err(LockError::Held { info: held, waited });
                }
                tracing::info!(waited = ?waited, "the run lock is taken: waiting");
                tokio::time::sleep(pause.min(timeout - waited)).await;
                pause = (pause * 2).min(MAX_POLL);
            }
        }
    }
}

/// Remove the lock if it is still `id`'s.
pub async fn release_remote<S: LockStore>(store: &S, id: &str) -> Result<(), LockError> {
    match store.read().await.map_err(LockError::Api)? {
        None => Ok(()),
        Some(Some(held)) if held.id != id => Err(LockError::OtherId {
            held: held.id,
            asked: id.to_string(),
        }),
        Some(_) => store.delete().await.map_err(LockError::Api),
    }
}

/// Remove the lock `id` whoever holds it (`ssmform force-unlock ID`).
pub async fn force_unlock<S: LockStore>(store: &S, id: &str) -> Result<LockInfo, LockError> {
    match store.read().await.map_err(LockError::Api)? {
        None => Err(LockError::NotLocked),
        Some(Some(held)) if held.id == id => {
            store.delete().await.map_err(LockError::Api)?;
            Ok(held)
        }
        Some(Some(held)) => Err(LockError::OtherId {
            held: held.id,
            asked: id.to_string(),
        }),
        // A lock secret whose description is not ours: only the literal name unlocks it.
        Some(None) if id == LOCK_SECRET => {
            store.delete().await.map_err(LockError::Api)?;
            Ok(LockInfo {
                id: id.to_string(),
                holder: "unknown".to_string(),
                operation: "unknown".to_string(),
                created: 0,
                expires: 0,
            })
        }
        Some(None) => Err(LockError::OtherId {
            held: LOCK_SECRET.to_string(),
            asked: id.to_string(),
        }),
    }
}

impl RunLock {
    /// Let go of the lock. A remote lock is deleted if it is still this run's; a local one is
    /// unlocked by closing its file.
    pub async fn release(self) -> Result<(), LockError> {
        match self {
            RunLock::None | RunLock::Local(_) => Ok(()),
            RunLock::Remote { client, pacer, id } => {
                let store = ApiLock {
                    client: &client,
                    pacer: &pacer,
                };
                release_remote(&store, &id).await
            }
        }
    }

    /// Whether a lock is held.
    pub fn is_held(&self) -> bool {
        !matches!(self, RunLock::None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A lock store in memory: `Some(info)` is the lock secret's description.
    #[derive(Default)]
    struct Fake {
        held: Mutex<Option<LockInfo>>,
        creates: Mutex<u32>,
    }

    impl LockStore for Fake {
        async fn create(&self, info: &LockInfo) -> Result<bool, CallError> {
            *self.creates.lock().unwrap() += 1;
            let mut held = self.held.lock().unwrap();
            if held.is_some() {
                return Ok(false);
            }
            *held = Some(info.clone());
            Ok(true)
        }
        async fn read(&self) -> Result<Option<Option<LockInfo>>, CallError> {
            Ok(self.held.lock().unwrap().clone().map(Some))
        }
        async fn delete(&self) -> Result<(), CallError> {
            *self.held.lock().unwrap() = None;
            Ok(())
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_second_run_fails_at_once_without_a_timeout() {
        let store = Fake::default();
        acquire(&store, &LockInfo::new("run-a", "apply"), Duration::ZERO)
            .await
            .unwrap();
        let t0 = tokio::time::Instant::now();
        let err = acquire(&store, &LockInfo::new("run-b", "apply"), Duration::ZERO)
            .await
            .unwrap_err();
        assert_eq!(t0.elapsed(), Duration::ZERO);
        let text = err.to_string();
        assert!(text.contains("ID run-a"), "{text}");
        assert!(text.contains("ssmform force-unlock run-a"), "{text}");
        assert!(text.contains("Nothing was read or written"), "{text}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_second_run_waits_up_to_its_timeout() {
        let store = std::sync::Arc::new(Fake::default());
        acquire(&*store, &LockInfo::new("run-a", "apply"), Duration::ZERO)
            .await
            .unwrap();
        // Released after 7 s: a waiter with 10 s gets it.
        let s = store.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(7)).await;
            release_remote(&*s, "run-a").await.unwrap();
        });
        let t0 = tokio::time::Instant::now();
        acquire(
            &*store,
            &LockInfo::new("run-b", "apply"),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
        let waited = t0.elapsed();
        assert!(waited >= Duration::from_secs(7), "{waited:?}");
        assert!(waited <= Duration::from_secs(7) + MAX_POLL, "{waited:?}");
        assert_eq!(store.held.lock().unwrap().as_ref().unwrap().id, "run-b");

        // Not released: a waiter with 3 s gives up after 3 s.
        let t0 = tokio::time::Instant::now();
        let err = acquire(
            &*store,
            &LockInfo::new("run-c", "apply"),
            Duration::from_secs(3),
        )
        .await
        .unwrap_err();
        assert_eq!(t0.elapsed(), Duration::from_secs(3));
        assert!(err.to_string().contains("waited 3s"), "{err}");
        assert!(*store.creates.lock().unwrap() < 20, "polls with backoff");
    }

    #[tokio::test]
    async fn only_the_holder_releases_and_force_unlock_needs_the_id() {
        let store = Fake::default();
        acquire(&store, &LockInfo::new("run-a", "apply"), Duration::ZERO)
            .await
            .unwrap();
        assert!(matches!(
            release_remote(&store, "run-b").await,
            Err(LockError::OtherId { .. })
        ));
        assert!(matches!(
            force_unlock(&store, "run-x").await,
            Err(LockError::OtherId { .. })
        ));
        assert_eq!(force_unlock(&store, "run-a").await.unwrap().id, "run-a");
        assert!(matches!(
            force_unlock(&store, "run-a").await,
            Err(LockError::NotLocked)
        ));
    }

    #[test]
    fn the_holder_names_user_host_and_pid() {
        let h = holder();
        assert!(
            h.contains('@') && h.contains(&format!("pid {}", std::process::id())),
            "{h}"
        );
    }

    #[tokio::test]
    async fn the_local_lock_excludes_a_second_holder_until_released() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("local.sqlite");
        let first = lock_local(&store, Duration::ZERO).await.unwrap();
        let err = lock_local(&store, Duration::from_millis(200))
            .await
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("locked by another ssmform process"),
            "{err}"
        );
        drop(first);
        let again = lock_local(&store, Duration::ZERO).await.unwrap();
        assert!(again.is_held());
    }
}
