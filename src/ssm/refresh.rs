//! Credentials taken per request: fixed ones, or temporary ones that are fetched again before
//! they expire ([`CredentialsProvider`]).
//!
//! The client asks the provider for credentials just before it signs each request (and so before
//! each retry). A refreshing provider keeps the temporary credentials it fetched and their expiry,
//! and fetches new ones once less than the **refresh margin** remains:
//!
//! > margin = min(5 minutes, half the lifetime the credentials were issued with)
//!
//! - 5 minutes is the API's tolerance for clock skew (`X-TC-Timestamp` may be 300 s off) and the
//!   margin Tencent's SDKs use for instance-role credentials. A request is signed with at least
//!   that much validity left, so it reaches the API before the key expires even after waiting out
//!   its whole timeout (30 s), and even if this machine's clock runs a few minutes slow.
//! - Half the lifetime keeps short sessions useful: credentials issued for 20 s (an emulator in a
//!   test) are used for 10 s, not refreshed before every call.
//!
//! One task fetches at a time. While it does, the others keep signing with the current
//! credentials as long as those have not expired, so a refresh never stalls an apply. A failed
//! refresh is not fatal while the current credentials are still valid: it is logged (source and
//! reason, never a value) and tried again after a quarter of the remaining validity (at most
//! 10 s); only when they have expired does the failure reach the caller.
//!
//! Time is read from an injected Unix clock, so the logic is tested under Tokio's paused clock.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::ssm::credentials::{CredentialSource, Credentials};

/// The largest refresh margin (see the module documentation).
pub const MAX_REFRESH_MARGIN: Duration = Duration::from_secs(300);
/// The longest wait before retrying a failed refresh while the current credentials are valid.
const MAX_RETRY_WAIT_SECS: f64 = 10.0;

/// The refresh margin of credentials issued for `lifetime` seconds.
pub fn refresh_margin(lifetime_secs: f64) -> f64 {
    (lifetime_secs / 2.0).clamp(0.0, MAX_REFRESH_MARGIN.as_secs_f64())
}

/// Temporary credentials and when they expire.
#[derive(Clone)]
pub struct Temporary {
    pub credentials: Credentials,
    /// Unix seconds (the `ExpiredTime` STS and the metadata service return).
    pub expires_at: i64,
}

impl fmt::Debug for Temporary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Temporary")
            .field("credentials", &self.credentials)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Why temporary credentials could not be obtained: the source, and the reason in ssmform's own
/// words (never a server's message verbatim, never a token or key).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot obtain credentials from {from}: {reason}")]
pub struct FetchError {
    /// The source that failed.
    pub from: CredentialSource,
    pub reason: String,
}

/// The future a [`Fetch`] returns.
pub type FetchFuture<'a> = Pin<Box<dyn Future<Output = Result<Temporary, FetchError>> + Send + 'a>>;

/// A source of temporary credentials: STS AssumeRole, AssumeRoleWithWebIdentity, the metadata
/// service.
pub trait Fetch: Send + Sync {
    /// Fetch a new set (retrying transient failures on its own).
    fn fetch(&self) -> FetchFuture<'_>;
    /// Where the credentials come from, for messages.
    fn source(&self) -> CredentialSource;
}

/// Unix time in seconds, with a fraction.
pub type UnixClock = Arc<dyn Fn() -> f64 + Send + Sync>;

fn system_clock() -> UnixClock {
    Arc::new(|| crate::clock::unix_millis_now() as f64 / 1000.0)
}

/// Credentials for each request: fixed, or refreshed before they expire. Cheap to clone.
#[derive(Clone)]
pub struct CredentialsProvider {
    inner: Arc<Inner>,
}

enum Inner {
    Fixed(Credentials),
    Refreshing(Refreshing),
}

struct Refreshing {
    fetch: Box<dyn Fetch>,
    clock: UnixClock,
    current: Mutex<Option<Current>>,
    /// Held by the one task that fetches; holds when to try again after a failure.
    refresh: tokio::sync::Mutex<f64>,
}

#[derive(Clone)]
struct Current {
    credentials: Credentials,
    expires_at: f64,
    refresh_at: f64,
}

impl fmt::Debug for CredentialsProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.inner {
            Inner::Fixed(c) => f.debug_tuple("Fixed").field(c).finish(),
            Inner::Refreshing(r) => f
                .debug_struct("Refreshing")
                .field("source", &r.fetch.source())
                .finish_non_exhaustive(),
        }
    }
}

impl From<Credentials> for CredentialsProvider {
    fn from(c: Credentials) -> Self {
        CredentialsProvider::fixed(c)
    }
}

impl CredentialsProvider {
    /// Always the same credentials (static keys, or a token given by the environment).
    pub fn fixed(credentials: Credentials) -> Self {
        CredentialsProvider {
            inner: Arc::new(Inner::Fixed(credentials)),
        }
    }

    /// Temporary credentials from `fetch`, refreshed before they expire.
    pub fn refreshing(fetch: impl Fetch + 'static) -> Self {
        Self::refreshing_with_clock(fetch, system_clock())
    }

    /// [`CredentialsProvider::refreshing`] reading the time from `clock` (tests).
    pub fn refreshing_with_clock(fetch: impl Fetch + 'static, clock: UnixClock) -> Self {
        CredentialsProvider {
            inner: Arc::new(Inner::Refreshing(Refreshing {
                fetch: Box::new(fetch),
                clock,
                current: Mutex::new(None),
                refresh: tokio::sync::Mutex::new(f64::NEG_INFINITY),
            })),
        }
    }

    /// Where the credentials come from.
    pub fn source(&self) -> CredentialSource {
        match &*self.inner {
            Inner::Fixed(c) => c.source.clone(),
            Inner::Refreshing(r) => r.fetch.source(),
        }
    }

    /// Whether these credentials are fetched and refreshed by ssmform.
    pub fn is_refreshing(&self) -> bool {
        matches!(&*self.inner, Inner::Refreshing(_))
    }

    /// The credentials last handed out (or fetched), without fetching: for messages and for
    /// requests built ahead of time by tests.
    pub fn latest(&self) -> Option<Credentials> {
        match &*self.inner {
            Inner::Fixed(c) => Some(c.clone()),
            Inner::Refreshing(r) => r.current().map(|c| c.credentials),
        }
    }

    /// When the current temporary credentials expire (Unix seconds), if there are any.
    pub fn expires_at(&self) -> Option<f64> {
        match &*self.inner {
            Inner::Fixed(_) => None,
            Inner::Refreshing(r) => r.current().map(|c| c.expires_at),
        }
    }

    /// Credentials to sign a request with now: valid for at least the refresh margin unless a
    /// refresh failed (then the current ones, while they last).
    pub async fn get(&self) -> Result<Credentials, FetchError> {
        match &*self.inner {
            Inner::Fixed(c) => Ok(c.clone()),
            Inner::Refreshing(r) => r.get().await,
        }
    }
}

impl Refreshing {
    fn current(&self) -> Option<Current> {
        self.current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    async fn get(&self) -> Result<Credentials, FetchError> {
        let now = (self.clock)();
        let current = self.current();
        if let Some(c) = &current
            && now < c.refresh_at
        {
            return Ok(c.credentials.clone());
        }
        let mut retry_at = match self.refresh.try_lock() {
            Ok(guard) => guard,
            Err(_) => {
                // Another task is fetching: sign with the current credentials while they last.
                if let Some(c) = current
                    && now < c.expires_at
                {
                    return Ok(c.credentials);
                }
                self.refresh.lock().await
            }
        };
        // Someone may have refreshed while this task waited for the lock.
        let now = (self.clock)();
        let current = self.current();
        if let Some(c) = &current {
            if now < c.refresh_at {
                return Ok(c.credentials.clone());
            }
            if now < *retry_at && now < c.expires_at {
                return Ok(c.credentials.clone());
            }
        }
        match self.fetch.fetch().await {
            Ok(t) => {
                let now = (self.clock)();
                let expires_at = t.expires_at as f64;
                let refresh_at = expires_at - refresh_margin(expires_at - now);
                tracing::debug!(source = %self.fetch.source(), secret_id = %t.credentials.secret_id_hint(),
                    valid_for_secs = (expires_at - now).round() as i64,
                    refresh_in_secs = (refresh_at - now).round() as i64,
                    "temporary credentials obtained");
                let credentials = t.credentials.clone();
                *self.current.lock().unwrap_or_else(|e| e.into_inner()) = Some(Current {
                    credentials: t.credentials,
                    expires_at,
                    refresh_at,
                });
                *retry_at = f64::NEG_INFINITY;
                Ok(credentials)
            }
            Err(e) => {
                let now = (self.clock)();
                match current {
                    Some(c) if now < c.expires_at => {
                        let left = c.expires_at - now;
                        *retry_at = now + (left / 4.0).min(MAX_RETRY_WAIT_SECS);
                        tracing::warn!(source = %e.from, reason = %e.reason,
                            valid_for_secs = left.round() as i64,
                            "refreshing temporary credentials failed; the current ones are still \
                             valid and the refresh will be tried again");
                        Ok(c.credentials)
                    }
                    _ => Err(e),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::secret::SecretValue;

    /// A Unix clock that follows Tokio's (paused) clock from a fixed start.
    fn virtual_clock() -> UnixClock {
        let start = tokio::time::Instant::now();
        Arc::new(move || 1_700_000_000.0 + start.elapsed().as_secs_f64())
    }

    /// Issues `id-1`, `id-2`, ... valid for `lifetime` seconds, taking `latency` to answer, and
    /// failing while `failing` is set.
    struct Fake {
        clock: UnixClock,
        lifetime: i64,
        latency: Duration,
        issued: Arc<AtomicUsize>,
        failing: Arc<std::sync::atomic::AtomicBool>,
    }

    impl Fetch for Fake {
        fn fetch(&self) -> FetchFuture<'_> {
            Box::pin(async move {
                tokio::time::sleep(self.latency).await;
                if self.failing.load(Ordering::SeqCst) {
                    return Err(FetchError {
                        from: self.source(),
                        reason: "STS is down".into(),
                    });
                }
                let n = self.issued.fetch_add(1, Ordering::SeqCst) + 1;
                Ok(Temporary {
                    credentials: Credentials::new(
                        format!("id-{n}"),
                        SecretValue::from_string(format!("key-{n}")),
                    )
                    .with_token(SecretValue::from_string(format!("token-{n}")))
                    .with_source(self.source()),
                    expires_at: (self.clock)().floor() as i64 + self.lifetime,
                })
            })
        }

        fn source(&self) -> CredentialSource {
            CredentialSource::InstanceRole {
                role_name: "fake".into(),
                discovered: false,
            }
        }
    }

    struct Setup {
        provider: CredentialsProvider,
        issued: Arc<AtomicUsize>,
        failing: Arc<std::sync::atomic::AtomicBool>,
    }

    fn setup(lifetime: i64, latency: Duration) -> Setup {
        let clock = virtual_clock();
        let issued = Arc::new(AtomicUsize::new(0));
        let failing = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let fake = Fake {
            clock: clock.clone(),
            lifetime,
            latency,
            issued: issued.clone(),
            failing: failing.clone(),
        };
        Setup {
            provider: CredentialsProvider::refreshing_with_clock(fake, clock),
            issued,
            failing,
        }
    }

    async fn id(p: &CredentialsProvider) -> String {
        p.get().await.unwrap().secret_id
    }

    async fn advance(secs: f64) {
        tokio::time::advance(Duration::from_secs_f64(secs)).await;
    }

    #[test]
    fn the_margin_is_half_the_lifetime_up_to_five_minutes() {
        assert_eq!(refresh_margin(20.0), 10.0);
        assert_eq!(refresh_margin(600.0), 300.0);
        assert_eq!(refresh_margin(7200.0), 300.0);
        assert_eq!(refresh_margin(-5.0), 0.0);
    }

    #[tokio::test(start_paused = true)]
    async fn long_sessions_are_refreshed_five_minutes_before_they_expire() {
        let s = setup(7200, Duration::ZERO);
        assert_eq!(id(&s.provider).await, "id-1");
        advance(7200.0 - 300.0 - 1.0).await;
        assert_eq!(
            id(&s.provider).await,
            "id-1",
            "still more than the margin left"
        );
        advance(2.0).await;
        assert_eq!(
            id(&s.provider).await,
            "id-2",
            "inside the margin: refreshed"
        );
        assert_eq!(s.issued.load(Ordering::SeqCst), 2);
        let shown = format!("{:?}", s.provider);
        assert!(
            !shown.contains("key-") && !shown.contains("token-"),
            "{shown}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn short_sessions_are_used_for_half_their_lifetime() {
        let s = setup(20, Duration::ZERO);
        assert_eq!(id(&s.provider).await, "id-1");
        for _ in 0..9 {
            advance(1.0).await;
            assert_eq!(id(&s.provider).await, "id-1");
        }
        advance(1.5).await;
        assert_eq!(id(&s.provider).await, "id-2");
        assert_eq!(
            s.issued.load(Ordering::SeqCst),
            2,
            "one fetch per half-life"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn callers_never_get_credentials_past_their_expiry() {
        // A caller that comes back after a long pause (a suspended laptop) gets new credentials,
        // never the expired ones.
        let s = setup(20, Duration::ZERO);
        assert_eq!(id(&s.provider).await, "id-1");
        advance(25.0).await;
        assert_eq!(id(&s.provider).await, "id-2");
        let expires = s.provider.expires_at().unwrap();
        assert!(expires > 1_700_000_000.0 + 25.0, "{expires}");
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_callers_keep_signing_while_one_task_refreshes() {
        let s = setup(20, Duration::from_secs(2));
        assert_eq!(id(&s.provider).await, "id-1");
        advance(10.5).await; // 9.5 s of validity left, inside the 10 s margin
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let p = s.provider.clone();
                tokio::spawn(async move { id(&p).await })
            })
            .collect();
        let mut ids = Vec::new();
        for t in tasks {
            ids.push(t.await.unwrap());
        }
        assert_eq!(
            s.issued.load(Ordering::SeqCst),
            2,
            "one fetch for 20 callers"
        );
        assert_eq!(
            ids.iter().filter(|i| *i == "id-2").count(),
            1,
            "only the refreshing task waited for the new credentials: {ids:?}"
        );
        assert_eq!(id(&s.provider).await, "id-2");
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_refresh_keeps_the_valid_credentials_and_is_tried_again() {
        let s = setup(20, Duration::ZERO);
        assert_eq!(id(&s.provider).await, "id-1");
        s.failing.store(true, Ordering::SeqCst);
        advance(11.0).await; // 9 s left
        assert_eq!(id(&s.provider).await, "id-1", "the failure is absorbed");
        advance(1.0).await; // within the back-off: no new attempt
        assert_eq!(id(&s.provider).await, "id-1");
        s.failing.store(false, Ordering::SeqCst);
        advance(2.0).await; // past a quarter of the 9 s that were left
        assert_eq!(id(&s.provider).await, "id-2");
    }

    #[tokio::test(start_paused = true)]
    async fn a_failure_after_expiry_reaches_the_caller_with_its_source() {
        let s = setup(20, Duration::ZERO);
        s.failing.store(true, Ordering::SeqCst);
        let err = s.provider.get().await.unwrap_err();
        assert!(
            err.to_string()
                .contains("cannot obtain credentials from the CVM instance role `fake`"),
            "{err}"
        );
        s.failing.store(false, Ordering::SeqCst);
        assert_eq!(id(&s.provider).await, "id-1");
        s.failing.store(true, Ordering::SeqCst);
        advance(21.0).await;
        let err = s.provider.get().await.unwrap_err();
        assert!(err.to_string().contains("STS is down"), "{err}");
    }

    #[tokio::test]
    async fn fixed_credentials_are_always_the_same() {
        let c = Credentials::new("AKIDfixedfixedfixed", SecretValue::from_string("k".into()));
        let p = CredentialsProvider::fixed(c);
        assert!(!p.is_refreshing());
        assert_eq!(p.get().await.unwrap().secret_id, "AKIDfixedfixedfixed");
        assert_eq!(p.latest().unwrap().secret_id, "AKIDfixedfixedfixed");
        assert_eq!(p.expires_at(), None);
        assert_eq!(p.source(), CredentialSource::Explicit);
    }
}
