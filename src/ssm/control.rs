//! The rate controller of one API action: how many permits its sliding window holds, moved by
//! throttle answers, and how many requests may be in flight (Little's law on observed latency).
//!
//! Pure state driven with explicit times (durations since the limiter's origin), so tests run it
//! on a virtual clock. [`crate::ssm::limiter::RateLimiter`] wraps it for async callers;
//! docs/pacing.md tells the whole story.
//!
//! **Permits.** They start at the ceiling (the action's limit × `rate_share`, a hard cap) and stay
//! there until a throttle answer arrives. A throttle is a *congestion event* only when its request
//! was granted after the last decrease: answers to requests sent earlier were sent at the old rate
//! and say nothing new (TCP reacts once per window in the same way). On an event:
//!
//! - a limit stated in the message (Tencent's: "…exceeds the frequency limit `10`") lowers the
//!   ceiling for good;
//! - the controller counts how many of its own requests the server accepted in the one-second
//!   window before the throttled one (`accepted`: granted in that second and not answered with a
//!   throttle);
//! - when `accepted` is close to what the permits allowed ([`SATURATED`]), our own requests filled
//!   the window and the throttle is not explained by anyone else's usage (a stray answer, an
//!   arrival stall): the permits drop by [`STRAY_DECREASE`] only, and recovery returns to the
//!   level before the event (or to the level being recovered to, when the event interrupts a
//!   recovery), so a run of stray throttles costs a few percent instead of compounding;
//! - otherwise, if the server's window was full, the other clients used all but `accepted` of it:
//!   the share left to us. A stray throttle while our own window was filling (at the start of a
//!   run) looks the same, so the throttle is only *suspected* until the answers to requests sent
//!   just after it decide: another throttle confirms it (the window is full), and the permits drop
//!   to `accepted` less [`ESTIMATE_MARGIN`] (by [`MAX_DECREASE`] at most in one event), with
//!   `accepted` as the level to recover to (`w_max`, "the last rate that worked");
//!   [`CONFIRM_AFTER`] accepted answers refute it, and it counts as stray. Requests sent
//!   back to back are answered back to back, so deciding costs next to nothing.
//!
//! Between events the permits grow back CUBIC-style: concave, reaching `w_max` [`RECOVERY`] after
//! the event, then convex above it (probing for quota that others released) at
//! [`PROBE_GAIN`] × ceiling × t³, never above the ceiling.
//!
//! **In flight.** Little's law: a rate r at latency L keeps r × L requests in flight. The limit is
//! the current rate × (smoothed latency + 2 × its deviation, as TCP estimates a retransmission
//! timeout) × [`HEADROOM`] + [`SLACK`], capped at [`MAX_IN_FLIGHT`]; before any answer, the
//! latency is taken to be [`INITIAL_LATENCY`]. So a fixed number of tasks never caps the rate, and a
//! server that slows down gets fewer requests at once.

use std::collections::VecDeque;
use std::time::Duration;

const SECOND: Duration = Duration::from_secs(1);

/// How far below the measured share of the quota the permits drop on a congestion event.
pub const ESTIMATE_MARGIN: f64 = 0.05;
/// Answers to requests sent after a suspected throttle that refute it (the server accepted them,
/// so its window was not full): the throttle is then treated as stray.
pub const CONFIRM_AFTER: u32 = 3;
/// The largest decrease of one event: a throttle met while sending little (so that `accepted` is
/// small) may be a stray one too, and several events in a row still find a small share quickly.
pub const MAX_DECREASE: f64 = 0.5;
/// The depth of the transient dip after a stray throttle.
pub const STRAY_DECREASE: f64 = 0.1;
/// More throttles (of requests sent after the last decrease) that confirm a suspected one.
pub const CONFIRM_THROTTLES: u32 = 2;
/// A throttle is a congestion event at once when more than this fraction of our requests of the
/// second before it were throttled.
pub const CONGESTED_FRACTION: f64 = 0.1;
/// While probing above the last congestion level (`w_max`), a throttle with the permits more than
/// this fraction above it is a congestion event at once: the probe found the limit again.
pub const PROBE_FOUND: f64 = 0.05;
/// The fraction above counts at least this many requests, so that one throttle among the first
/// few requests of a run is not taken for 5%.
pub const FRACTION_SAMPLE: f64 = 50.0;
/// Time from an event back to `w_max` (concave growth).
pub const RECOVERY: Duration = Duration::from_millis(500);
/// Congestion events less than [`RECOVERY`] apart are one episode, for this long at most: within
/// it, recovery heads for the level before the episode.
pub const EPISODE: Duration = Duration::from_secs(1);
/// Convex growth above `w_max`: `PROBE_GAIN × ceiling × t³` permits after `t` seconds, so 10% of
/// the ceiling above `w_max` after about 3.7 s.
pub const PROBE_GAIN: f64 = 0.002;
/// Multiplies the Little's-law in-flight count: room for latency spread and bursts.
pub const HEADROOM: f64 = 1.5;
/// Added to the in-flight limit, so a low rate or latency still overlaps a few requests.
pub const SLACK: usize = 4;
/// Requests of one action in flight at most, whatever the estimate: each holds a connection.
pub const MAX_IN_FLIGHT: usize = 1024;
/// The default of `--parallelism`, the units of work (reads, changes) in progress at most: enough
/// for GetSecretValue's 300/s at 1 s of latency with the headroom above (ssmform keeps fewer in
/// flight whenever the rate needs fewer), few enough for the connections to stay well within an
/// ordinary limit of open files.
pub const DEFAULT_PARALLELISM: usize = 512;
/// The largest `--parallelism` accepted.
pub const MAX_PARALLELISM: usize = 4096;
/// The latency assumed before the first answer (a far cloud endpoint).
pub const INITIAL_LATENCY: Duration = Duration::from_millis(100);
/// How long the grant times of throttled requests are kept: the estimate looks one second back
/// from a grant whose answer may take up to a request timeout to come.
const THROTTLE_MEMORY: Duration = Duration::from_secs(62);

/// What an answer did to the controller.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Reaction {
    /// Nothing changed.
    None,
    /// The request was sent before the last decrease: part of the same event.
    SameEvent,
    /// A throttle waiting for the next answers to tell whether the window was full.
    Suspected,
    /// A congestion event: the base level went from `from` to `to`, recovering towards `w_max`.
    Congestion { from: f64, to: f64, w_max: f64 },
    /// A stray throttle: a transient dip of [`STRAY_DECREASE`] from `from`.
    Stray { from: f64 },
}

/// The growth of the base level after the last congestion event.
#[derive(Clone, Copy, Debug)]
struct Epoch {
    start: Duration,
    /// When the episode this event belongs to began (see [`EPISODE`]).
    episode: Duration,
    /// The level right after the event.
    from: f64,
    /// The level recovered to in [`RECOVERY`].
    w_max: f64,
}

/// A throttle waiting for confirmation.
#[derive(Clone, Copy, Debug)]
struct Suspect {
    /// The throttled request's grant number.
    seq: u64,
    /// Our requests the server accepted in the second before it.
    accepted: f64,
    /// Further throttles (of requests sent after the last decrease) since.
    throttled_since: u32,
    /// Answers other than throttles to requests sent after it.
    accepted_after: u32,
}

/// The controller of one action's permits (per window of the limiter).
#[derive(Debug)]
pub struct Controller {
    ceiling: f64,
    /// The base level's growth since the last congestion event (none yet: the ceiling).
    base: Option<Epoch>,
    /// When the last stray dip began.
    dip: Option<Duration>,
    /// Grants numbered from here on were made after the last decrease.
    decreased_at: u64,
    /// The number of the next grant.
    next_seq: u64,
    suspect: Option<Suspect>,
    /// Grant times of requests answered with a throttle (in answer order).
    throttled: VecDeque<Duration>,
}

impl Controller {
    /// A controller whose permits start at, and never exceed, `ceiling` (at least 1).
    pub fn new(ceiling: u32) -> Self {
        Controller {
            ceiling: f64::from(ceiling.max(1)),
            base: None,
            dip: None,
            decreased_at: 0,
            next_seq: 0,
            suspect: None,
            throttled: VecDeque::new(),
        }
    }

    /// The hard cap on the permits.
    pub fn ceiling(&self) -> f64 {
        self.ceiling
    }

    /// The level the base recovers to after the last congestion event, if any.
    pub fn w_max(&self) -> Option<f64> {
        self.base.map(|e| e.w_max)
    }

    /// The base level at `now`: CUBIC growth since the last congestion event.
    fn base(&self, now: Duration) -> f64 {
        let Some(e) = self.base else {
            return self.ceiling;
        };
        let t = now.saturating_sub(e.start).as_secs_f64();
        let k = RECOVERY.as_secs_f64();
        let p = if t < k {
            let left = 1.0 - t / k;
            e.w_max - (e.w_max - e.from) * left * left * left
        } else {
            let over = t - k;
            e.w_max + PROBE_GAIN * self.ceiling * over * over * over
        };
        p.clamp(1.0, self.ceiling)
    }

    /// The factor of a stray dip at `now` (1 when none is in progress).
    fn dip(&self, now: Duration) -> f64 {
        match self.dip {
            Some(start) if now.saturating_sub(start) < RECOVERY => {
                let left = 1.0 - now.saturating_sub(start).as_secs_f64() / RECOVERY.as_secs_f64();
                1.0 - STRAY_DECREASE * left * left * left
            }
            _ => 1.0,
        }
    }

    /// The permits in force at `now` (fractional; the window uses the whole part, at least 1).
    pub fn permits(&self, now: Duration) -> f64 {
        (self.base(now) * self.dip(now)).clamp(1.0, self.ceiling)
    }

    /// Whether the permits are still changing with time (recovering or probing below the ceiling).
    pub fn growing(&self, now: Duration) -> bool {
        (self.base.is_some() || self.dip.is_some()) && self.permits(now) < self.ceiling
    }

    /// Number a grant (grants made at the same instant still have an order).
    pub fn on_grant(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        seq
    }

    /// A throttle answer at `now` to the request granted at `grant` as number `seq`, when
    /// `recent` of our requests had been granted in the second before it; `stated` is the limit
    /// the message states.
    pub fn on_throttle(
        &mut self,
        now: Duration,
        (seq, grant): (u64, Duration),
        recent: u32,
        stated: Option<u32>,
    ) -> Reaction {
        // Throttled grants of the second before this one: not accepted by the server.
        let from = grant.saturating_sub(SECOND);
        let rejected = self
            .throttled
            .iter()
            .filter(|&&t| t >= from && t < grant)
            .count() as u32;
        self.throttled.push_back(grant);
        let horizon = now.saturating_sub(THROTTLE_MEMORY);
        while self.throttled.front().is_some_and(|&t| t < horizon) {
            self.throttled.pop_front();
        }
        if let Some(limit) = stated {
            self.ceiling = self.ceiling.min(f64::from(limit.max(1)));
            if let Some(e) = self.base.as_mut() {
                e.w_max = e.w_max.min(self.ceiling);
                e.from = e.from.min(self.ceiling);
            }
        }
        if seq < self.decreased_at {
            return Reaction::SameEvent;
        }
        if let Some(s) = self.suspect.as_mut() {
            s.throttled_since += 1;
            if s.throttled_since < CONFIRM_THROTTLES {
                return Reaction::Suspected;
            }
            // Throttles in a row: the window really is full.
            let accepted = s.accepted;
            self.suspect = None;
            return self.congestion(now, accepted);
        }
        let accepted = f64::from(recent.saturating_sub(rejected));
        let fraction = f64::from(rejected + 1) / f64::from(recent + 1).max(FRACTION_SAMPLE);
        let probing_above = self
            .base
            .is_some_and(|e| self.permits(now) > e.w_max * (1.0 + PROBE_FOUND));
        if fraction > CONGESTED_FRACTION || probing_above {
            return self.congestion(now, accepted);
        }
        self.suspect = Some(Suspect {
            seq,
            accepted,
            throttled_since: 0,
            accepted_after: 0,
        });
        Reaction::Suspected
    }

    /// An answer other than a throttle, at `now`, to the request granted as number `seq`: the
    /// server accepted it, which refutes a suspected throttle of a request sent before it.
    pub fn on_accepted(&mut self, now: Duration, seq: u64) -> Reaction {
        let Some(s) = self.suspect.as_mut() else {
            return Reaction::None;
        };
        if seq <= s.seq {
            return Reaction::None;
        }
        s.accepted_after += 1;
        if s.accepted_after < CONFIRM_AFTER {
            return Reaction::None;
        }
        self.suspect = None;
        let from = self.permits(now);
        self.dip = Some(now);
        self.decreased_at = self.next_seq;
        Reaction::Stray { from }
    }

    /// A congestion event at `now`: the server accepted `accepted` of ours in the second before
    /// the throttle, which is the share the other clients left.
    fn congestion(&mut self, now: Duration, accepted: f64) -> Reaction {
        let before = self.permits(now);
        let to = (accepted * (1.0 - ESTIMATE_MARGIN))
            .min(before)
            .max(before * (1.0 - MAX_DECREASE))
            .clamp(1.0, self.ceiling);
        // Events in quick succession are one episode (a burst of throttles): recover to the level
        // that worked before it began, not to what the burst itself left; but a burst that goes
        // on is a lower limit or a busier neighbour, not an outage.
        let ongoing = self.base.filter(|e| {
            now.saturating_sub(e.start) < RECOVERY && now.saturating_sub(e.episode) < EPISODE
        });
        let w_max = accepted
            .max(ongoing.map_or(0.0, |e| e.w_max))
            .clamp(to, self.ceiling);
        self.base = Some(Epoch {
            start: now,
            episode: ongoing.map_or(now, |e| e.episode),
            from: to,
            w_max,
        });
        self.dip = None;
        self.decreased_at = self.next_seq;
        Reaction::Congestion {
            from: before,
            to,
            w_max,
        }
    }
}

/// Smoothed latency of one action's answers (RFC 6298's estimator).
#[derive(Clone, Copy, Debug, Default)]
pub struct Latency {
    smoothed: Option<f64>,
    deviation: f64,
}

impl Latency {
    /// Add one answer's latency (from sending to the whole answer).
    pub fn sample(&mut self, d: Duration) {
        let x = d.as_secs_f64();
        match self.smoothed {
            None => {
                self.smoothed = Some(x);
                self.deviation = x / 2.0;
            }
            Some(s) => {
                self.deviation = 0.75 * self.deviation + 0.25 * (s - x).abs();
                self.smoothed = Some(0.875 * s + 0.125 * x);
            }
        }
    }

    /// The smoothed latency, if any answer was seen.
    pub fn smoothed(&self) -> Option<Duration> {
        self.smoothed.map(Duration::from_secs_f64)
    }

    /// The latency to plan concurrency for: smoothed + 2 × deviation, or [`INITIAL_LATENCY`].
    pub fn planning(&self) -> Duration {
        match self.smoothed {
            Some(s) => Duration::from_secs_f64(s + 2.0 * self.deviation),
            None => INITIAL_LATENCY,
        }
    }
}

/// Requests in flight that a rate of `rate` per second needs at `latency` (Little's law with
/// [`HEADROOM`] and [`SLACK`]), capped at `cap`.
pub fn in_flight_for(rate: f64, latency: Duration, cap: usize) -> usize {
    let needed = (rate * latency.as_secs_f64() * HEADROOM).ceil();
    let needed = if needed.is_finite() && needed > 0.0 {
        needed as usize
    } else {
        0
    };
    (needed + SLACK).clamp(1, cap.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// A controller that granted `n` requests (numbers 0..n).
    fn granted(ceiling: u32, n: u64) -> Controller {
        let mut c = Controller::new(ceiling);
        for _ in 0..n {
            c.on_grant();
        }
        c
    }

    #[test]
    fn permits_start_at_the_ceiling_and_stay_there_without_throttles() {
        let c = Controller::new(300);
        assert_eq!(c.permits(Duration::ZERO), 300.0);
        assert_eq!(c.permits(Duration::from_secs(3600)), 300.0);
        assert!(!c.growing(ms(10)));
        assert_eq!(Controller::new(0).ceiling(), 1.0, "never zero");
    }

    #[test]
    fn a_full_window_shared_with_others_drops_to_the_share_they_left() {
        // 200 of ours in the second before the throttled request (number 200): others use 100
        let mut c = granted(300, 210);
        let r = c.on_throttle(ms(1020), (200, ms(1000)), 200, Some(300));
        assert_eq!(r, Reaction::Suspected);
        assert_eq!(
            c.permits(ms(1020)),
            300.0,
            "nothing changes until confirmed"
        );
        // the next requests, sent just after, are throttled too: the window is full
        assert_eq!(
            c.on_throttle(ms(1021), (201, ms(1001)), 200, Some(300)),
            Reaction::Suspected
        );
        let r = c.on_throttle(ms(1021), (202, ms(1001)), 200, Some(300));
        let Reaction::Congestion { to, w_max, .. } = r else {
            panic!("{r:?}")
        };
        assert_eq!(w_max, 200.0);
        assert_eq!(to, 200.0 * (1.0 - ESTIMATE_MARGIN));
        // back at 200 after RECOVERY, and only slowly beyond
        assert!((c.permits(ms(1021) + RECOVERY) - 200.0).abs() < 1e-9);
        assert!(c.permits(ms(1021) + RECOVERY + ms(1000)) < 201.0);
    }

    #[test]
    fn throttles_of_requests_sent_before_the_decrease_do_not_decrease_again() {
        let mut c = granted(300, 210);
        for seq in 200..202 {
            c.on_throttle(ms(1020), (seq, ms(1000)), 200, None);
        }
        assert!(matches!(
            c.on_throttle(ms(1021), (202, ms(1001)), 200, None),
            Reaction::Congestion { .. }
        ));
        let after = c.permits(ms(1022));
        // granted before the decrease (numbers below 210), answered after it
        for seq in 203..210 {
            let r = c.on_throttle(ms(1022), (seq, ms(1002)), 200, None);
            assert_eq!(r, Reaction::SameEvent);
        }
        assert!(c.permits(ms(1022)) >= after);
        // a request granted after the decrease starts a new event
        c.on_grant();
        assert_eq!(
            c.on_throttle(ms(1050), (210, ms(1030)), 190, None),
            Reaction::Suspected
        );
    }

    #[test]
    fn a_suspected_throttle_refuted_by_the_next_answers_is_a_stray_dip() {
        // early in a run: 30 of ours in the window, then a throttle (stray, or others use 270?)
        let mut c = granted(300, 40);
        assert_eq!(
            c.on_throttle(ms(120), (30, ms(100)), 30, None),
            Reaction::Suspected
        );
        // answers to requests sent before it say nothing
        assert_eq!(c.on_accepted(ms(121), 29), Reaction::None);
        assert_eq!(c.on_accepted(ms(121), 31), Reaction::None);
        assert_eq!(c.on_accepted(ms(122), 32), Reaction::None);
        assert_eq!(c.on_accepted(ms(122), 33), Reaction::Stray { from: 300.0 });
        assert_eq!(c.permits(ms(122)), 300.0 * (1.0 - STRAY_DECREASE));
        assert_eq!(c.permits(ms(122) + RECOVERY), 300.0, "the dip is transient");
        assert_eq!(c.w_max(), None, "and leaves the base level alone");
    }

    /// A throttle at `now` for a fresh grant, refuted by the answers to the next three.
    fn stray(c: &mut Controller, now: Duration, recent: u32) -> Reaction {
        let seq = c.on_grant();
        for _ in 0..3 {
            c.on_grant();
        }
        let r = c.on_throttle(now, (seq, now), recent, None);
        if r != Reaction::Suspected {
            return r;
        }
        (1..=3)
            .map(|later| c.on_accepted(now, seq + later))
            .last()
            .unwrap()
    }

    #[test]
    fn stray_dips_do_not_compound() {
        // 3% of 300/s: a throttle every 100 ms, each refuted
        let mut c = granted(300, 0);
        let mut now = ms(1000);
        for round in 0..40 {
            let r = stray(&mut c, now, 290);
            assert!(matches!(r, Reaction::Stray { .. }), "{round}: {r:?}");
            now += ms(100);
        }
        let p = c.permits(now);
        assert!(p >= 300.0 * (1.0 - STRAY_DECREASE), "{p}");
        assert_eq!(c.permits(now + RECOVERY), 300.0);
        assert_eq!(c.w_max(), None);
    }

    #[test]
    fn many_throttles_in_the_second_are_congestion_at_once() {
        // throttles that each look stray, one every 10 ms among 70 requests of the second: once
        // more than 10% of them were throttled, the next one is congestion without waiting
        let mut c = granted(300, 0);
        let reactions: Vec<Reaction> = (0..12)
            .map(|i| stray(&mut c, ms(400 + 10 * i), 70))
            .collect();
        let first = reactions
            .iter()
            .position(|r| matches!(r, Reaction::Congestion { .. }))
            .expect("congestion");
        // the 8th throttle: 8 of 71 > 10%
        assert_eq!(first, 7, "{reactions:?}");
        assert!(
            reactions[..first]
                .iter()
                .all(|r| matches!(r, Reaction::Stray { .. }))
        );
    }

    #[test]
    fn one_event_at_most_halves_the_permits() {
        // a throttle while sending little, confirmed: others fill nearly the whole window
        let mut c = granted(300, 10);
        for seq in 0..2 {
            assert_eq!(
                c.on_throttle(ms(50), (seq, ms(30)), 2, None),
                Reaction::Suspected
            );
        }
        let r = c.on_throttle(ms(51), (2, ms(31)), 2, None);
        assert!(matches!(r, Reaction::Congestion { to: 150.0, .. }), "{r:?}");
    }

    #[test]
    fn within_an_episode_recovery_heads_for_the_level_before_it() {
        // an outage: events one round trip apart, each with less accepted
        let mut c = granted(300, 0);
        let event = |c: &mut Controller, now: Duration, accepted: u32| {
            let first = c.on_grant();
            c.on_grant();
            c.on_grant();
            (0..3)
                .map(|i| c.on_throttle(now, (first + i, now), accepted, None))
                .find(|r| matches!(r, Reaction::Congestion { .. }))
                .expect("three throttles in a row are congestion")
        };
        let first = event(&mut c, ms(2000), 280);
        assert!(
            matches!(first, Reaction::Congestion { w_max: 280.0, .. }),
            "{first:?}"
        );
        let mut last = first;
        for i in 1..10 {
            last = event(&mut c, ms(2000 + 30 * i), 280 - 10 * i as u32);
        }
        assert!(
            matches!(last, Reaction::Congestion { w_max: 280.0, .. }),
            "{last:?}"
        );
        // an episode lasts a second at most: a burst that goes on is a lower limit
        let mut t = 2300;
        while t < 3200 {
            event(&mut c, ms(t), 100);
            t += 100;
        }
        // (100 of ours in the second, less the test's own throttles of that second)
        let r = event(&mut c, ms(3200), 100);
        assert!(
            matches!(r, Reaction::Congestion { w_max, .. } if (80.0..=100.0).contains(&w_max)),
            "{r:?}"
        );
    }

    #[test]
    fn probing_above_the_last_congestion_level_is_slow_and_finds_it_again() {
        let mut c = granted(300, 10);
        for seq in 0..3 {
            c.on_throttle(Duration::ZERO, (seq, Duration::ZERO), 150, None);
        }
        assert_eq!(c.w_max(), Some(150.0));
        let t = Duration::from_secs_f64;
        assert!(c.permits(t(0.5)) <= 150.0 + 1e-9);
        assert!(c.permits(t(1.5)) < 151.0, "{}", c.permits(t(1.5)));
        assert!(c.permits(t(4.0)) > 170.0);
        assert_eq!(c.permits(t(10.0)), 300.0);
        assert!(!c.growing(t(10.0)));
        // a throttle while more than 5% above it: congestion at once, no suspicion
        let mut c = granted(300, 10);
        for seq in 0..3 {
            c.on_throttle(Duration::ZERO, (seq, Duration::ZERO), 150, None);
        }
        c.on_grant();
        let r = c.on_throttle(t(4.0), (10, t(4.0)), 150, None);
        assert!(
            matches!(r, Reaction::Congestion { w_max: 150.0, .. }),
            "{r:?}"
        );
    }

    #[test]
    fn a_stated_limit_lowers_the_ceiling_for_good() {
        let mut c = granted(50, 20);
        c.on_throttle(ms(100), (10, ms(90)), 10, Some(10));
        assert_eq!(c.ceiling(), 10.0);
        assert!(c.permits(ms(100)) <= 10.0);
        assert_eq!(c.permits(Duration::from_secs(600)), 10.0);
        // also from an answer that belongs to an event already reacted to
        let mut c = granted(50, 20);
        for seq in 0..3 {
            c.on_throttle(ms(100), (seq, ms(90)), 20, None);
        }
        assert_eq!(
            c.on_throttle(ms(101), (3, ms(89)), 20, Some(5)),
            Reaction::SameEvent
        );
        assert!(c.permits(Duration::from_secs(600)) <= 5.0);
    }

    #[test]
    fn latency_estimate_follows_samples() {
        let mut l = Latency::default();
        assert_eq!(l.planning(), INITIAL_LATENCY);
        l.sample(ms(150));
        assert_eq!(l.smoothed(), Some(ms(150)));
        for _ in 0..100 {
            l.sample(ms(5));
        }
        let s = l.smoothed().unwrap();
        assert!(s < ms(6), "{s:?}");
        assert!(l.planning() < ms(8));
    }

    #[test]
    fn in_flight_follows_little_s_law() {
        // 300/s at 150 ms: 45 in flight, × 1.5 headroom, + slack
        assert_eq!(in_flight_for(300.0, ms(150), 1024), 68 + SLACK);
        assert_eq!(in_flight_for(300.0, ms(1), 1024), 1 + SLACK);
        assert_eq!(in_flight_for(300.0, Duration::from_secs(10), 1024), 1024);
        assert_eq!(in_flight_for(0.0, ms(1), 1024), SLACK);
        assert_eq!(in_flight_for(50.0, ms(100), 3), 3);
    }
}
