//! Failure injection (`--faults`, `--seed`): one roll of the dice per API request decides whether
//! it fails and how. With a seed, the same sequence of requests meets the same sequence of faults.

use std::sync::Mutex;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use super::config::FaultSpec;

/// What happens to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// `RequestLimitExceeded`, whatever the real count.
    Throttle,
    /// `InternalError`.
    Internal,
    /// HTTP 502 with an HTML body.
    Http502,
    /// The connection is dropped without a response.
    Reset,
    /// The normal answer, held back this long.
    Slow(Duration),
}

pub struct Faults {
    spec: FaultSpec,
    rng: Mutex<StdRng>,
    seed: u64,
}

impl Faults {
    pub fn new(spec: FaultSpec, seed: Option<u64>) -> Self {
        let seed = seed.unwrap_or_else(|| rand::rng().random());
        Faults {
            spec,
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
            seed,
        }
    }

    /// The seed in use (printed at start so a run can be replayed).
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Roll for one request.
    pub fn roll(&self) -> Option<Fault> {
        if self.spec.is_none() {
            return None;
        }
        let x: f64 = self.rng.lock().unwrap_or_else(|e| e.into_inner()).random();
        let s = &self.spec;
        let mut edge = 0.0;
        for (rate, fault) in [
            (s.throttle, Fault::Throttle),
            (s.internal, Fault::Internal),
            (s.http502, Fault::Http502),
            (s.reset, Fault::Reset),
            (s.slow, Fault::Slow(s.slow_delay)),
        ] {
            edge += rate;
            if x < edge {
                return Some(fault);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_faults() {
        let spec =
            FaultSpec::parse("throttle=0.2,internal=0.2,http502=0.1,reset=0.1,slow=0.1").unwrap();
        let a = Faults::new(spec.clone(), Some(7));
        let b = Faults::new(spec, Some(7));
        let ra: Vec<_> = (0..200).map(|_| a.roll()).collect();
        let rb: Vec<_> = (0..200).map(|_| b.roll()).collect();
        assert_eq!(ra, rb);
        for f in [
            Fault::Throttle,
            Fault::Internal,
            Fault::Http502,
            Fault::Reset,
            Fault::Slow(Duration::from_secs(65)),
        ] {
            assert!(ra.contains(&Some(f)), "{f:?} never drawn in 200 rolls");
        }
        assert!(ra.contains(&None));
    }

    #[test]
    fn rate_one_always_fires_and_zero_never() {
        let always = Faults::new(FaultSpec::parse("internal=1").unwrap(), None);
        assert!((0..100).all(|_| always.roll() == Some(Fault::Internal)));
        let never = Faults::new(FaultSpec::default(), None);
        assert!((0..100).all(|_| never.roll().is_none()));
    }
}
