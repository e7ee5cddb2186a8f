//! The retry policy: which failures are retried, how long to wait, and when to give up.
//!
//! Every call goes through its action's [`RateLimiter`](crate::ssm::limiter::RateLimiter) first, so
//! retries are paced like first attempts and can never push the request rate over the limit. The
//! answer goes back to the limiter (latency, and throttles to its
//! [`Controller`](crate::ssm::control::Controller)). Then, by [`ErrorClass`]:
//!
//! - throttle: the controller lowers that action's rate once per congestion event (and its ceiling
//!   to the limit the server states); retry, without spending the retry budget (a throttle is a
//!   healthy endpoint's answer, and retries are paced);
//! - transient (`InternalError`, HTTP 5xx, timeouts, connection failures): retry;
//! - signature expired: re-sign (every attempt signs afresh) and retry once, at once;
//! - anything else: fail at once, with code, message and RequestId.
//!
//! Waits are "full jitter" exponential backoff, `random(0, min(MAX_DELAY, BASE_DELAY · 2^n))`,
//! which spreads retries of many concurrent tasks so they do not return in lockstep. A per-run
//! [`RetryBudget`] (a token bucket refilled by successes, as the AWS SDKs do) makes a dead endpoint
//! fail fast instead of every change retrying for a minute.

use std::future::Future;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use rand::RngExt;

use super::control;
use super::error::{Error, ErrorClass};
use super::limiter::Answer;
use super::rates::Limiters;

/// First backoff ceiling. A quarter second is long enough for a throttled one-second window to
/// move on noticeably and short enough that a single transient failure costs little.
pub const BASE_DELAY: Duration = Duration::from_millis(250);
/// Largest backoff. Beyond ~8 s a retry no longer helps a transient fault and only delays the report.
pub const MAX_DELAY: Duration = Duration::from_secs(8);
/// Attempts per call, the first included. With full jitter the expected total wait before the last
/// attempt is about 15 s, enough to ride out a short incident at the server.
pub const MAX_ATTEMPTS: u32 = 8;
/// Retries a run may make before it has had any success: enough for a bad moment, few enough that
/// a dead or misconfigured endpoint fails within seconds.
pub const INITIAL_RETRY_TOKENS: f64 = 20.0;
/// How long a call may keep retrying transient failures (timeouts, resets, 5xx, `InternalError`),
/// counted from its first attempt: no new attempt starts after this. With the client's per-call
/// timeout (15 s) a call that meets nothing but failures ends within about 45 s, so a silent
/// endpoint fails a plan within a minute. Throttles are not bound by it: they are answers of a
/// healthy endpoint, paced by the limiter, and bounded by [`MAX_ATTEMPTS`].
pub const DEFAULT_RETRY_TIMEOUT: Duration = Duration::from_secs(30);
/// Retry tokens returned by each success, so a long run with a steady trickle of transient faults
/// (up to one retry per two calls) never exhausts its budget.
pub const SUCCESS_REFUND: f64 = 0.5;

/// A per-run budget of retries shared by every task.
#[derive(Debug)]
pub struct RetryBudget {
    tokens: Mutex<f64>,
    ceiling: f64,
}

impl RetryBudget {
    pub fn new(tokens: f64) -> Self {
        RetryBudget {
            tokens: Mutex::new(tokens),
            ceiling: tokens,
        }
    }

    /// Take one retry token, if any is left.
    pub fn try_spend(&self) -> bool {
        let mut t = self.tokens.lock().expect("budget lock");
        if *t >= 1.0 {
            *t -= 1.0;
            true
        } else {
            false
        }
    }

    pub fn on_success(&self) {
        let mut t = self.tokens.lock().expect("budget lock");
        *t = (*t + SUCCESS_REFUND).min(self.ceiling);
    }
}

impl Default for RetryBudget {
    fn default() -> Self {
        RetryBudget::new(INITIAL_RETRY_TOKENS)
    }
}

/// Counters for the run summary and benchmarks.
#[derive(Debug, Default)]
pub struct CallStats {
    pub calls: AtomicU64,
    pub retries: AtomicU64,
    pub throttled: AtomicU64,
}

/// Everything shared by the calls of one run: limiters, retry budget, counters, and the flag that
/// stops retrying after Ctrl-C.
#[derive(Debug)]
pub struct Pacer {
    pub limiters: Limiters,
    pub budget: RetryBudget,
    pub stats: CallStats,
    /// See [`DEFAULT_RETRY_TIMEOUT`].
    pub retry_timeout: Duration,
    interrupted: Arc<AtomicBool>,
}

impl Pacer {
    pub fn new(limiters: Limiters) -> Self {
        Pacer {
            limiters,
            budget: RetryBudget::default(),
            stats: CallStats::default(),
            retry_timeout: DEFAULT_RETRY_TIMEOUT,
            interrupted: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The same pacer with another retry deadline (see [`DEFAULT_RETRY_TIMEOUT`]).
    pub fn with_retry_timeout(mut self, timeout: Duration) -> Self {
        self.retry_timeout = timeout;
        self
    }

    /// The flag that, once set, makes calls give up instead of retrying.
    pub fn interrupt_flag(&self) -> Arc<AtomicBool> {
        self.interrupted.clone()
    }

    pub fn is_interrupted(&self) -> bool {
        self.interrupted.load(Ordering::SeqCst)
    }

    /// Run `call` (which must build and sign a fresh request each time) under the action's limiter,
    /// retrying as the module documentation says.
    pub async fn call<T, F, Fut>(&self, action: &'static str, mut call: F) -> Result<T, CallError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        let limiter = self.limiters.get(action);
        let mut attempts = 0u32;
        let mut resigned = false;
        let mut may_have_taken_effect = false;
        let mut first: Option<tokio::time::Instant> = None;
        loop {
            let ticket = limiter.acquire().await;
            let first = *first.get_or_insert_with(tokio::time::Instant::now);
            attempts += 1;
            self.stats.calls.fetch_add(1, Ordering::Relaxed);
            let sent = tokio::time::Instant::now();
            let result = call().await;
            let latency = sent.elapsed();
            let answer = match &result {
                Ok(_) => Answer::Answered { latency },
                Err(e) if e.class() == ErrorClass::Throttle => Answer::Throttled {
                    latency,
                    limit: e.throttle_limit(),
                },
                Err(Error::Api(_)) => Answer::Answered { latency },
                Err(_) => Answer::Lost,
            };
            limiter.answered(ticket, answer);
            let error = match result {
                Ok(v) => {
                    self.budget.on_success();
                    return Ok(v);
                }
                Err(e) => e,
            };
            // Once an attempt may have reached the service, the call stays "may have taken
            // effect" whatever later attempts answer (a refused connection after a timeout says
            // nothing about the first request).
            may_have_taken_effect |= error.may_have_taken_effect();
            let give_up = |error, reason| CallError {
                error,
                attempts,
                reason,
                may_have_taken_effect,
                elapsed: first.elapsed(),
            };
            match error.class() {
                ErrorClass::Permanent => {
                    // A definitive API answer (ResourceNotFound for a secret that does not exist
                    // yet, which every plan of a new secret meets) shows the endpoint is healthy,
                    // so it refills the budget as a success does. Without this, runs that create
                    // many secrets drained the budget on an endpoint failing a quarter of the
                    // time, although each of their calls eventually got its answer.
                    if matches!(error, Error::Api(_)) {
                        self.budget.on_success();
                    }
                    return Err(give_up(error, GiveUp::Permanent));
                }
                ErrorClass::SignatureExpired if resigned => {
                    return Err(give_up(error, GiveUp::Permanent));
                }
                ErrorClass::SignatureExpired => {
                    resigned = true;
                    tracing::info!(action, "signature expired: signing again");
                    continue;
                }
                ErrorClass::Throttle => {
                    self.stats.throttled.fetch_add(1, Ordering::Relaxed);
                }
                ErrorClass::Transient => {}
            }
            if self.is_interrupted() {
                return Err(give_up(error, GiveUp::Interrupted));
            }
            if attempts >= MAX_ATTEMPTS {
                return Err(give_up(error, GiveUp::Attempts));
            }
            // A throttle is a definitive answer from a healthy endpoint, and its retry is paced
            // by the lowered rate: a burst of them (beside another client, say) must not use up
            // the budget that protects against dead endpoints.
            if error.class() != ErrorClass::Throttle && !self.budget.try_spend() {
                return Err(give_up(error, GiveUp::Budget));
            }
            let delay = backoff(attempts);
            if error.class() != ErrorClass::Throttle
                && first.elapsed() + delay >= self.retry_timeout
            {
                return Err(give_up(error, GiveUp::Deadline));
            }
            self.stats.retries.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(action, attempts, ?delay, class = ?error.class(), "retrying");
            tokio::time::sleep(delay).await;
        }
    }
}

impl Pacer {
    /// Units of work that may be in flight at once when each makes one request of every action in
    /// `chain` in turn and spends `extra` on other things (apply's journal syncs): Little's law on
    /// the slowest action's rate in force and the chain's latencies plus `extra`, capped at `cap`.
    /// Apply uses it for changes (stale-check reads, then a write), so that the reads happen just
    /// before the write instead of far ahead of it.
    pub fn work_in_flight(&self, chain: &[&'static str], extra: Duration, cap: usize) -> usize {
        let rate = chain
            .iter()
            .map(|a| self.limiters.get(a).rate())
            .fold(f64::INFINITY, f64::min);
        let latency: Duration = chain.iter().map(|a| self.limiters.get(a).latency()).sum();
        control::in_flight_for(rate, latency + extra, cap)
    }
}

/// Full-jitter delay before retry number `n` (1-based).
pub fn backoff(n: u32) -> Duration {
    let ceiling = BASE_DELAY
        .saturating_mul(1u32.checked_shl(n.saturating_sub(1)).unwrap_or(u32::MAX))
        .min(MAX_DELAY);
    let millis = ceiling.as_millis() as u64;
    Duration::from_millis(rand::rng().random_range(0..=millis))
}

/// Why a call stopped retrying.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GiveUp {
    /// The error is not one that a retry can fix.
    Permanent,
    /// [`MAX_ATTEMPTS`] attempts failed.
    Attempts,
    /// The run's retry budget is spent: the endpoint is failing too often to go on.
    Budget,
    /// Ctrl-C: no more retries.
    Interrupted,
    /// The call's retry deadline ([`Pacer::retry_timeout`]) passed.
    Deadline,
}

/// A call that failed for good: the last error and how it came to that.
#[derive(Debug)]
pub struct CallError {
    pub error: Error,
    pub attempts: u32,
    pub reason: GiveUp,
    /// Whether any attempt may have reached the service (see [`Error::may_have_taken_effect`]):
    /// not only the last one, whose error is kept.
    pub may_have_taken_effect: bool,
    /// From the first attempt to giving up.
    pub elapsed: Duration,
}

impl CallError {
    /// A call that failed at its first attempt with `error`.
    pub fn once(error: Error) -> Self {
        CallError {
            may_have_taken_effect: error.may_have_taken_effect(),
            error,
            attempts: 1,
            reason: GiveUp::Permanent,
            elapsed: Duration::ZERO,
        }
    }
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.reason {
            GiveUp::Permanent if self.attempts == 1 => write!(f, "{}", self.error),
            GiveUp::Permanent => write!(f, "{} (after {} attempts)", self.error, self.attempts),
            GiveUp::Attempts => write!(
                f,
                "{} (gave up after {} attempts)",
                self.error, self.attempts
            ),
            GiveUp::Budget => write!(
                f,
                "{} (not retried: this run's retry budget is spent, the endpoint is failing too \
                 often; check that it is reachable and healthy)",
                self.error
            ),
            GiveUp::Interrupted => write!(f, "{} (not retried: interrupted)", self.error),
            GiveUp::Deadline => write!(
                f,
                "{} (gave up after {} attempts in {:.1}s: the retry deadline, \
                 SSMFORM_RETRY_TIMEOUT, leaves no time for another)",
                self.error,
                self.attempts,
                self.elapsed.as_secs_f64()
            ),
        }
    }
}

impl std::error::Error for CallError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::ssm::credentials::CredentialSource;
    use crate::ssm::error::{ApiError, CallContext};
    use crate::ssm::rates::{Limiters, RateSettings};
    use std::sync::atomic::AtomicU32;

    fn api_error(code: &str, message: &str) -> Error {
        Error::Api(Box::new(ApiError {
            code: code.into(),
            message: message.into(),
            request_id: "rid".into(),
            call: CallContext {
                action: "UpdateSecret".into(),
                secret_name: Some("s".into()),
                version_id: Some("v1".into()),
                endpoint: "http://127.0.0.1:1".into(),
                region: "ap-guangzhou".into(),
                credential_source: CredentialSource::Explicit,
                secret_id_hint: "…MPLE".into(),
            },
        }))
    }

    fn pacer() -> Pacer {
        Pacer::new(Limiters::new(RateSettings::default()))
    }

    /// Run a call whose first answers are `codes` (then success) and report attempts and result.
    async fn scripted(p: &Pacer, codes: &[&str]) -> (u32, Result<u32, CallError>) {
        let n = AtomicU32::new(0);
        let result = p
            .call("UpdateSecret", || {
                let i = n.fetch_add(1, Ordering::SeqCst) as usize;
                let answer = match codes.get(i) {
                    Some(code) => Err(api_error(
                        code,
                        "Your current request times equals to `11` in a second, which exceeds the frequency limit `10`",
                    )),
                    None => Ok(i as u32),
                };
                async move { answer }
            })
            .await;
        (n.load(Ordering::SeqCst), result)
    }

    #[tokio::test(start_paused = true)]
    async fn transient_and_throttle_errors_are_retried_until_success() {
        let p = pacer();
        let (attempts, r) = scripted(
            &p,
            &["InternalError", "RequestLimitExceeded", "InternalError"],
        )
        .await;
        assert_eq!(attempts, 4);
        assert_eq!(r.unwrap(), 3);
        assert_eq!(p.stats.throttled.load(Ordering::SeqCst), 1);
        assert_eq!(p.stats.retries.load(Ordering::SeqCst), 3);
        let limiter = p.limiters.get("UpdateSecret");
        assert_eq!(limiter.ceiling(), 10, "lowered to the stated limit");
        assert!(limiter.permits() <= 10);
    }

    #[tokio::test(start_paused = true)]
    async fn permanent_errors_fail_at_once() {
        let (attempts, r) = scripted(&pacer(), &["ResourceNotFound"]).await;
        assert_eq!(attempts, 1);
        let e = r.unwrap_err();
        assert_eq!(e.reason, GiveUp::Permanent);
        assert_eq!(e.error.code(), Some("ResourceNotFound"));
    }

    #[tokio::test(start_paused = true)]
    async fn an_expired_signature_is_signed_again_once() {
        let (attempts, r) = scripted(&pacer(), &["AuthFailure.SignatureExpire"]).await;
        assert_eq!((attempts, r.unwrap()), (2, 1));
        let (attempts, r) = scripted(
            &pacer(),
            &["AuthFailure.SignatureExpire", "AuthFailure.SignatureExpire"],
        )
        .await;
        assert_eq!(attempts, 2);
        assert_eq!(r.unwrap_err().reason, GiveUp::Permanent);
    }

    #[tokio::test(start_paused = true)]
    async fn attempts_are_capped() {
        let codes = ["InternalError"; 20];
        let (attempts, r) = scripted(&pacer(), &codes).await;
        assert_eq!(attempts, MAX_ATTEMPTS);
        assert_eq!(r.unwrap_err().reason, GiveUp::Attempts);
    }

    #[tokio::test(start_paused = true)]
    async fn a_dead_endpoint_spends_the_run_budget_and_then_fails_fast() {
        let p = pacer();
        let codes = ["InternalError"; 100];
        let mut total = 0;
        let mut budget_failures = 0;
        for _ in 0..10 {
            let (attempts, r) = scripted(&p, &codes).await;
            total += attempts;
            if r.unwrap_err().reason == GiveUp::Budget {
                budget_failures += 1;
            }
        }
        assert_eq!(
            total,
            INITIAL_RETRY_TOKENS as u32 + 10,
            "each call: 1 attempt + budgeted retries"
        );
        assert!(budget_failures >= 7, "{budget_failures}");
    }

    #[tokio::test(start_paused = true)]
    async fn no_retry_after_interrupt() {
        let p = pacer();
        p.interrupt_flag().store(true, Ordering::SeqCst);
        let (attempts, r) = scripted(&p, &["InternalError"]).await;
        assert_eq!(attempts, 1);
        assert_eq!(r.unwrap_err().reason, GiveUp::Interrupted);
    }

    #[tokio::test(start_paused = true)]
    async fn definitive_api_answers_refill_the_budget_like_successes() {
        // Planning new secrets meets ResourceNotFound on every read: those answers show the
        // endpoint is healthy and must not leave a flaky endpoint's retries unpaid for.
        let p = pacer();
        while p.budget.try_spend() {}
        for _ in 0..2 {
            let (_, r) = scripted(&p, &["ResourceNotFound"]).await;
            assert_eq!(r.unwrap_err().reason, GiveUp::Permanent);
        }
        let (attempts, r) = scripted(&p, &["InternalError", "InternalError"]).await;
        assert_eq!(
            attempts, 2,
            "two refunds of a half token paid for one retry"
        );
        assert_eq!(r.unwrap_err().reason, GiveUp::Budget);
    }

    fn transport(kind: crate::ssm::error::TransportKind) -> Error {
        let Error::Api(api) = api_error("x", "") else {
            unreachable!()
        };
        Error::Transport(Box::new(crate::ssm::error::TransportError {
            kind,
            detail: String::new(),
            call: api.call,
        }))
    }

    /// Issue 11, problem 2: a write timed out, the server went away, and the retries' "connection
    /// refused" replaced "may have taken effect".
    #[tokio::test(start_paused = true)]
    async fn a_call_that_may_have_reached_the_service_stays_so() {
        use crate::ssm::error::{TimeoutPhase, TransportKind};
        let p = pacer();
        let n = AtomicU32::new(0);
        let e = p
            .call::<(), _, _>("UpdateSecret", || {
                let i = n.fetch_add(1, Ordering::SeqCst);
                let err = if i == 0 {
                    transport(TransportKind::Timeout {
                        phase: TimeoutPhase::FirstByte,
                        limit: Duration::from_secs(5),
                    })
                } else {
                    transport(TransportKind::Connect)
                };
                async move { Err(err) }
            })
            .await
            .unwrap_err();
        assert!(
            !e.error.may_have_taken_effect(),
            "the last error alone says no"
        );
        assert!(
            e.may_have_taken_effect,
            "but the first attempt may have landed"
        );
        assert!(e.attempts > 1);
    }

    /// Issue 11, problem 5: eight attempts of 30 s each held a plan for over four minutes. Retries
    /// of transient failures stop at the retry deadline, whatever the attempts take.
    #[tokio::test(start_paused = true)]
    async fn retries_stop_at_the_deadline() {
        use crate::ssm::error::{TimeoutPhase, TransportKind};
        let p = pacer();
        let t0 = tokio::time::Instant::now();
        let e = p
            .call::<(), _, _>("GetSecretValue", || async {
                // Each attempt waits for the first-byte timeout.
                tokio::time::sleep(Duration::from_secs(5)).await;
                Err(transport(TransportKind::Timeout {
                    phase: TimeoutPhase::FirstByte,
                    limit: Duration::from_secs(5),
                }))
            })
            .await
            .unwrap_err();
        let took = t0.elapsed();
        assert_eq!(e.reason, GiveUp::Deadline, "{e}");
        assert!(
            took <= DEFAULT_RETRY_TIMEOUT + Duration::from_secs(5),
            "{took:?}"
        );
        assert!(took >= Duration::from_secs(20), "it did retry: {took:?}");
        assert!(e.to_string().contains("SSMFORM_RETRY_TIMEOUT"), "{e}");

        // A shorter deadline is kept too.
        let p = pacer().with_retry_timeout(Duration::from_secs(2));
        let t0 = tokio::time::Instant::now();
        let e = p
            .call::<(), _, _>("GetSecretValue", || async {
                tokio::time::sleep(Duration::from_secs(1)).await;
                Err(transport(TransportKind::ConnectionReset))
            })
            .await
            .unwrap_err();
        assert_eq!(e.reason, GiveUp::Deadline);
        assert!(t0.elapsed() <= Duration::from_secs(3), "{:?}", t0.elapsed());
    }

    #[test]
    fn backoff_is_bounded_and_grows() {
        for n in 1..40 {
            let d = backoff(n);
            assert!(d <= MAX_DELAY, "{n}: {d:?}");
        }
        // The ceiling of the first retry is BASE_DELAY.
        assert!((0..200).map(|_| backoff(1)).all(|d| d <= BASE_DELAY));
        // Later retries can wait longer than BASE_DELAY.
        assert!((0..200).map(|_| backoff(6)).any(|d| d > BASE_DELAY));
    }

    #[test]
    fn budget_drains_without_successes_and_refills_with_them() {
        let b = RetryBudget::new(3.0);
        assert!(b.try_spend() && b.try_spend() && b.try_spend());
        assert!(!b.try_spend());
        b.on_success();
        b.on_success();
        assert!(b.try_spend());
        assert!(!b.try_spend());
        for _ in 0..100 {
            b.on_success();
        }
        assert_eq!((0..10).filter(|_| b.try_spend()).count(), 3, "capped");
    }
}
