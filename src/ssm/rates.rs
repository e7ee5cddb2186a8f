//! The request rates ssmform allows itself, per API action.
//!
//! Start from Tencent's documented limits (docs/ssm-api.md#rate-limits; where the international and
//! Chinese documentation disagree, the lower figure), replace any the provider block names in
//! `rate_limits` (accounts can have their quota raised or may want to stay far below it), then take
//! `rate_share` of each (so a scheduled drift job can leave quota to the applications that read
//! secrets in production). Each result becomes one [`RateLimiter`].

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::limiter::{RateLimiter, WindowConfig};

/// Documented requests per second for each action, per API + region + sub-account.
pub const DOCUMENTED_LIMITS: &[(&str, u32)] = &[
    ("UpdateSecret", 50),
    ("GetSecretValue", 300),
    ("PutSecretValue", 100),
    ("CreateSecret", 100),
    ("DescribeSecret", 40),
    ("ListSecretVersionIds", 40),
    ("ListSecrets", 30),
    ("DeleteSecret", 50),
    ("DeleteSecretVersion", 50),
    ("EnableSecret", 50),
    ("DisableSecret", 50),
    ("RestoreSecret", 50),
    ("UpdateDescription", 20),
    ("GetServiceStatus", 50),
];

/// The documented limit of `action`, if it is one ssmform knows.
pub fn documented_limit(action: &str) -> Option<u32> {
    DOCUMENTED_LIMITS
        .iter()
        .find(|(a, _)| *a == action)
        .map(|(_, l)| *l)
}

/// The provider block's rate settings.
#[derive(Clone, Debug, PartialEq)]
pub struct RateSettings {
    /// Action → requests per second, replacing the documented figure.
    pub overrides: BTreeMap<String, u32>,
    /// The share of each limit to use, in (0, 1].
    pub share: f64,
}

impl Default for RateSettings {
    fn default() -> Self {
        RateSettings {
            overrides: BTreeMap::new(),
            share: 1.0,
        }
    }
}

impl RateSettings {
    /// Requests per second ssmform will allow itself for `action`.
    pub fn limit(&self, action: &str) -> u32 {
        let base = self
            .overrides
            .get(action)
            .copied()
            .or_else(|| documented_limit(action))
            .unwrap_or(20);
        ((f64::from(base) * self.share).floor() as u32).max(1)
    }
}

/// One limiter per action, created on first use.
#[derive(Debug)]
pub struct Limiters {
    settings: RateSettings,
    map: std::sync::Mutex<HashMap<&'static str, Arc<RateLimiter>>>,
}

impl Limiters {
    pub fn new(settings: RateSettings) -> Self {
        Limiters {
            settings,
            map: std::sync::Mutex::new(HashMap::new()),
        }
    }

    /// The limiter of `action`.
    pub fn get(&self, action: &'static str) -> Arc<RateLimiter> {
        let mut map = self.map.lock().expect("limiters lock");
        map.entry(action)
            .or_insert_with(|| {
                Arc::new(RateLimiter::new(
                    action,
                    WindowConfig::for_limit(self.settings.limit(action)),
                ))
            })
            .clone()
    }

    pub fn settings(&self) -> &RateSettings {
        &self.settings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_replace_and_share_scales() {
        let mut s = RateSettings::default();
        assert_eq!(s.limit("UpdateSecret"), 50);
        assert_eq!(s.limit("GetSecretValue"), 300);
        s.overrides.insert("UpdateSecret".into(), 20);
        assert_eq!(s.limit("UpdateSecret"), 20);
        s.share = 0.5;
        assert_eq!(s.limit("UpdateSecret"), 10);
        assert_eq!(s.limit("GetSecretValue"), 150);
        s.share = 0.001;
        assert_eq!(s.limit("UpdateSecret"), 1, "never zero");
    }

    #[test]
    fn one_limiter_per_action() {
        let l = Limiters::new(RateSettings::default());
        assert!(Arc::ptr_eq(&l.get("UpdateSecret"), &l.get("UpdateSecret")));
        assert!(!Arc::ptr_eq(
            &l.get("UpdateSecret"),
            &l.get("PutSecretValue")
        ));
        assert_eq!(l.get("UpdateSecret").permits(), 50);
    }
}
