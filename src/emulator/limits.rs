//! The sliding one-second window behind both the rate limits and the `max_in_any_second` figure.
//!
//! A [`Window`] keeps the instants of the calls it accepted during the last second. A call is
//! admitted when fewer than `limit` calls were accepted in the second before it, so *no* one-second
//! window, wherever it starts, ever holds more than `limit` accepted calls (a fixed-bucket or token
//! bucket limiter lets up to twice the limit through across a bucket edge; the real API's windows
//! are not documented, so the emulator enforces the strictest reading). Because every one-second
//! window with the most calls can be slid until it ends at an accepted call, the largest length the
//! deque ever reaches is exactly the most calls accepted in any one-second window.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

const SECOND: Duration = Duration::from_secs(1);

/// The outcome of offering a call to a [`Window`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Accepted,
    /// Over the limit: `current` is the count this call would have made (Tencent's message says
    /// "Your current request times equals to `current`").
    Throttled {
        current: u64,
        limit: u32,
    },
}

/// Accepted calls of the last second, and the most ever seen in one second.
#[derive(Debug, Default)]
pub struct Window {
    accepted: VecDeque<Instant>,
    max_in_any_second: u64,
}

impl Window {
    /// Offer a call at `now` (instants must not go backwards) under `limit` (`None` = unlimited).
    pub fn admit(&mut self, now: Instant, limit: Option<u32>) -> Admission {
        while let Some(&front) = self.accepted.front() {
            if now.saturating_duration_since(front) >= SECOND {
                self.accepted.pop_front();
            } else {
                break;
            }
        }
        let in_window = self.accepted.len() as u64;
        if let Some(limit) = limit
            && in_window >= u64::from(limit)
        {
            return Admission::Throttled {
                current: in_window + 1,
                limit,
            };
        }
        self.accepted.push_back(now);
        self.max_in_any_second = self.max_in_any_second.max(in_window + 1);
        Admission::Accepted
    }

    pub fn max_in_any_second(&self) -> u64 {
        self.max_in_any_second
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(base: Instant, n: u64) -> Instant {
        base + Duration::from_millis(n)
    }

    #[test]
    fn no_one_second_window_exceeds_the_limit() {
        let t0 = Instant::now();
        let mut w = Window::default();
        // 3 calls at 900 ms, then 3 at 1100 ms: a fixed one-second bucket would take all six.
        let mut accepted = Vec::new();
        for at in [900, 900, 900, 1100, 1100, 1100, 1900, 1901] {
            if w.admit(ms(t0, at), Some(3)) == Admission::Accepted {
                accepted.push(at);
            }
        }
        // At 1900 ms the calls of 900 ms are exactly one second old and leave the window.
        assert_eq!(accepted, vec![900, 900, 900, 1900, 1901]);
        assert_eq!(w.max_in_any_second(), 3);
    }

    #[test]
    fn throttle_reports_the_count_and_limit() {
        let t0 = Instant::now();
        let mut w = Window::default();
        for _ in 0..50 {
            assert_eq!(w.admit(t0, Some(50)), Admission::Accepted);
        }
        assert_eq!(
            w.admit(t0, Some(50)),
            Admission::Throttled {
                current: 51,
                limit: 50
            }
        );
    }

    #[test]
    fn max_in_any_second_is_exact_without_a_limit() {
        let t0 = Instant::now();
        let mut w = Window::default();
        // 4 calls in [0, 999] ms, then a gap, then 6 calls within 999 ms of each other.
        for at in [0, 300, 600, 999, 5000, 5100, 5200, 5300, 5400, 5999] {
            w.admit(ms(t0, at), None);
        }
        assert_eq!(w.max_in_any_second(), 6);
        // Exactly one second apart: not in the same window.
        let mut w = Window::default();
        w.admit(ms(t0, 0), None);
        w.admit(ms(t0, 1000), None);
        assert_eq!(w.max_in_any_second(), 1);
    }
}
