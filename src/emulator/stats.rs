//! Per-action traffic accounting and the rate limiter, served as JSON at `GET /_emulator/stats` so
//! tests and benchmarks can check a client's pacing:
//!
//! ```json
//! {"actions": {"UpdateSecret": {"calls": 120, "throttled": 3, "errors": 1, "max_in_any_second": 50,
//!                               "background_calls": 0, "background_throttled": 0}, ...}}
//! ```
//!
//! - `calls`: every API request naming the action (authentication failures included);
//! - `throttled`: answered `RequestLimitExceeded` (the real limit or an injected throttle);
//! - `errors`: answered with any other error, an injected HTTP 502 or a dropped connection;
//! - `max_in_any_second`: the most calls *accepted* by the rate limiter in any one-second window
//!   (see [`super::limits`]), the simulated other clients' included;
//! - `background_calls`, `background_throttled`: the requests of the simulated other clients
//!   (`--background-load`), which share the action's window, and how many of them found it full.
//!
//! Every action appears, with zeros when it was never called, so consumers can rely on the keys.
//! Under `sts`, `AssumeRole`, `AssumeRoleWithWebIdentity` and `MetadataCredentials` (instance-role
//! credentials served) each have `calls` and `errors`.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::action::Action;
use super::config::RateLimits;
use super::limits::{Admission, Window};

/// One action's figures.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionStats {
    pub calls: u64,
    pub throttled: u64,
    pub errors: u64,
    pub max_in_any_second: u64,
    #[serde(default)]
    pub background_calls: u64,
    #[serde(default)]
    pub background_throttled: u64,
}

impl ActionStats {
    /// Throttled requests as a fraction of all requests, the simulated other clients' included.
    pub fn throttled_fraction(&self) -> f64 {
        let all = self.calls + self.background_calls;
        if all == 0 {
            0.0
        } else {
            (self.throttled + self.background_throttled) as f64 / all as f64
        }
    }
}

/// The `/_emulator/stats` document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatsSnapshot {
    pub actions: BTreeMap<String, ActionStats>,
    /// The emulated STS's actions and the metadata service's credential requests
    /// (`MetadataCredentials`): calls and refusals.
    #[serde(default)]
    pub sts: BTreeMap<String, super::sts::StsStats>,
}

impl StatsSnapshot {
    /// The figures of `action` (zeros if absent).
    pub fn action(&self, action: Action) -> ActionStats {
        self.actions.get(action.name()).copied().unwrap_or_default()
    }
}

#[derive(Default)]
struct Counters {
    stats: ActionStats,
    window: Window,
}

/// Live counters and windows, one lock per action.
pub struct Traffic {
    limits: RateLimits,
    per_action: Vec<Mutex<Counters>>,
}

impl Traffic {
    pub fn new(limits: RateLimits) -> Self {
        Traffic {
            limits,
            per_action: Action::ALL
                .iter()
                .map(|_| Mutex::new(Counters::default()))
                .collect(),
        }
    }

    fn with<T>(&self, action: Action, f: impl FnOnce(&mut Counters) -> T) -> T {
        let mut c = self.per_action[action.index()]
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        f(&mut c)
    }

    /// The limit in force for `action` (`None` with rate limits off).
    pub fn limit(&self, action: Action) -> Option<u32> {
        self.limits.limit(action)
    }

    pub fn record_call(&self, action: Action) {
        self.with(action, |c| c.stats.calls += 1);
    }

    pub fn record_error(&self, action: Action) {
        self.with(action, |c| c.stats.errors += 1);
    }

    pub fn record_throttled(&self, action: Action) {
        self.with(action, |c| c.stats.throttled += 1);
    }

    /// Offer a call to the action's limiter; a throttled call is counted here.
    pub fn admit(&self, action: Action, now: Instant) -> Admission {
        let limit = self.limits.limit(action);
        self.with(action, |c| {
            let a = c.window.admit(now, limit);
            if matches!(a, Admission::Throttled { .. }) {
                c.stats.throttled += 1;
            }
            a
        })
    }

    /// A simulated other client's request at `now`: it takes a place in the window like any
    /// request, and is counted apart.
    pub fn admit_background(&self, action: Action, now: Instant) -> Admission {
        let limit = self.limits.limit(action);
        self.with(action, |c| {
            c.stats.background_calls += 1;
            let a = c.window.admit(now, limit);
            if matches!(a, Admission::Throttled { .. }) {
                c.stats.background_throttled += 1;
            }
            a
        })
    }

    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            actions: Action::ALL
                .iter()
                .map(|&a| {
                    let s = self.with(a, |c| ActionStats {
                        max_in_any_second: c.window.max_in_any_second(),
                        ..c.stats
                    });
                    (a.name().to_string(), s)
                })
                .collect(),
            sts: BTreeMap::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_lists_every_action_and_counts() {
        let t = Traffic::new(RateLimits::default());
        let now = Instant::now();
        t.record_call(Action::UpdateSecret);
        assert_eq!(t.admit(Action::UpdateSecret, now), Admission::Accepted);
        t.record_error(Action::UpdateSecret);
        let s = t.snapshot();
        assert_eq!(s.actions.len(), Action::ALL.len());
        assert_eq!(
            s.action(Action::UpdateSecret),
            ActionStats {
                calls: 1,
                throttled: 0,
                errors: 1,
                max_in_any_second: 1,
                ..ActionStats::default()
            }
        );
        // a simulated other client shares the window
        assert_eq!(
            t.admit_background(Action::UpdateSecret, now),
            Admission::Accepted
        );
        let u = t.snapshot().action(Action::UpdateSecret);
        assert_eq!((u.background_calls, u.max_in_any_second), (1, 2));
        assert_eq!(u.throttled_fraction(), 0.0);
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["actions"]["GetSecretValue"]["calls"], 0);
    }
}
