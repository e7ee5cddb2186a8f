//! The pacing of [`Pacer`] against a simulated SSM endpoint, on Tokio's virtual clock: a strict
//! sliding one-second window per action (as the emulator and the real API enforce), other clients
//! consuming part of the quota, random throttle answers, and a latency that may change over time.
//! Virtual time makes every run deterministic in its timing, so these tests can assert how long
//! convergence and recovery take, which end-to-end tests on a shared machine cannot.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use tokio::time::Instant;

use super::credentials::CredentialSource;
use super::error::{ApiError, CallContext, Error};
use super::rates::{Limiters, RateSettings};
use super::retry::Pacer;

const SECOND: Duration = Duration::from_secs(1);

/// The latency of an answer to a request arriving `t` after the server started.
pub type LatencyFn = Box<dyn Fn(Duration) -> Duration + Send + Sync>;

/// How a simulated endpoint behaves.
pub struct Behaviour {
    /// Requests accepted in any one-second window.
    pub limit: u32,
    /// Whether a throttle message states the limit.
    pub states_limit: bool,
    pub latency: LatencyFn,
    /// Each answer is delayed by up to this much more, at random.
    pub spread: Duration,
    /// The fraction of requests answered with a throttle at random.
    pub random_throttle: f64,
    /// Every request arriving in this span (since the start) is throttled.
    pub outage: Option<(Duration, Duration)>,
    pub seed: u64,
}

impl Behaviour {
    /// GetSecretValue's documented 300/s, stated in throttle messages, `ms` of latency.
    pub fn at(ms: u64) -> Self {
        Behaviour {
            limit: 300,
            states_limit: true,
            latency: Box::new(move |_| Duration::from_millis(ms)),
            spread: Duration::ZERO,
            random_throttle: 0.0,
            outage: None,
            seed: 7,
        }
    }
}

/// Accepted arrivals of the last second, and the most seen in any one second.
#[derive(Default)]
struct Window {
    accepted: VecDeque<Instant>,
    most: u64,
}

impl Window {
    fn admit(&mut self, now: Instant, limit: Option<u32>) -> Result<(), u64> {
        while self
            .accepted
            .front()
            .is_some_and(|&t| now.duration_since(t) >= SECOND)
        {
            self.accepted.pop_front();
        }
        if limit.is_some_and(|l| self.accepted.len() >= l as usize) {
            return Err(self.accepted.len() as u64 + 1);
        }
        self.accepted.push_back(now);
        self.most = self.most.max(self.accepted.len() as u64);
        Ok(())
    }
}

/// A simulated endpoint for one action.
pub struct Server {
    b: Behaviour,
    start: Instant,
    /// Everyone's accepted requests (the server's window).
    all: Mutex<Window>,
    /// Ours alone, for the busiest second we caused.
    ours: Mutex<Window>,
    rng: Mutex<StdRng>,
    pub calls: AtomicU64,
    pub throttled: AtomicU64,
    pub background_calls: AtomicU64,
    pub background_throttled: AtomicU64,
    in_flight: AtomicUsize,
    pub most_in_flight: AtomicUsize,
}

fn throttle_error(current: u64, limit: Option<u32>) -> Error {
    let message = match limit {
        Some(limit) => format!(
            "Your current request times equals to `{current}` in a second, which exceeds the \
             frequency limit `{limit}`"
        ),
        None => "Requests are too frequent.".to_string(),
    };
    Error::Api(Box::new(ApiError {
        code: "RequestLimitExceeded".into(),
        message,
        request_id: "sim".into(),
        call: CallContext {
            action: "GetSecretValue".into(),
            secret_name: None,
            version_id: None,
            endpoint: "sim".into(),
            region: "ap-guangzhou".into(),
            credential_source: CredentialSource::Explicit,
            secret_id_hint: "…SIM".into(),
        },
    }))
}

impl Server {
    pub fn new(b: Behaviour) -> Arc<Self> {
        let seed = b.seed;
        Arc::new(Server {
            b,
            start: Instant::now(),
            all: Mutex::default(),
            ours: Mutex::default(),
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
            calls: AtomicU64::new(0),
            throttled: AtomicU64::new(0),
            background_calls: AtomicU64::new(0),
            background_throttled: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            most_in_flight: AtomicUsize::new(0),
        })
    }

    /// The most requests the server accepted in any one second (everyone's).
    pub fn busiest_second(&self) -> u64 {
        self.all.lock().unwrap().most
    }

    /// The most requests of ours it accepted in any one second.
    pub fn our_busiest_second(&self) -> u64 {
        self.ours.lock().unwrap().most
    }

    /// One request of ours: arrives now, answered after the latency in force.
    pub async fn request(&self) -> Result<(), Error> {
        let now = Instant::now();
        let since = now.duration_since(self.start);
        self.calls.fetch_add(1, Ordering::SeqCst);
        let n = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_in_flight.fetch_max(n, Ordering::SeqCst);
        let (stray, extra) = {
            let mut rng = self.rng.lock().unwrap();
            let stray =
                self.b.random_throttle > 0.0 && rng.random::<f64>() < self.b.random_throttle;
            let extra = rng.random_range(0..=self.b.spread.as_micros() as u64);
            (stray, Duration::from_micros(extra))
        };
        let out = self
            .b
            .outage
            .is_some_and(|(from, to)| since >= from && since < to);
        let result = if stray || out {
            Err(u64::from(self.b.limit) + 1)
        } else {
            let admitted = self.all.lock().unwrap().admit(now, Some(self.b.limit));
            if admitted.is_ok() {
                let _ = self.ours.lock().unwrap().admit(now, None);
            }
            admitted
        };
        tokio::time::sleep((self.b.latency)(since) + extra).await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        result.map_err(|current| {
            self.throttled.fetch_add(1, Ordering::SeqCst);
            throttle_error(current, self.b.states_limit.then_some(self.b.limit))
        })
    }

    /// Another client making `rate` requests per second, evenly spaced, until the handle is
    /// aborted. Its throttled requests are counted and not retried.
    pub fn background(self: &Arc<Self>, rate: u32) -> tokio::task::JoinHandle<()> {
        let server = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(SECOND / rate);
            loop {
                tick.tick().await;
                server.background_calls.fetch_add(1, Ordering::SeqCst);
                let admitted = server
                    .all
                    .lock()
                    .unwrap()
                    .admit(Instant::now(), Some(server.b.limit));
                if admitted.is_err() {
                    server.background_throttled.fetch_add(1, Ordering::SeqCst);
                }
            }
        })
    }

    /// Throttled requests (ours and the other client's) as a fraction of all requests.
    pub fn throttled_fraction(&self) -> f64 {
        let t = self.throttled.load(Ordering::SeqCst)
            + self.background_throttled.load(Ordering::SeqCst);
        let c = self.calls.load(Ordering::SeqCst) + self.background_calls.load(Ordering::SeqCst);
        t as f64 / c.max(1) as f64
    }
}

/// `n` reads through `pacer` by `tasks` workers (each one request at a time); the virtual time
/// it took. Every read must succeed.
pub async fn reads(pacer: &Arc<Pacer>, server: &Arc<Server>, n: usize, tasks: usize) -> Duration {
    let started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..tasks {
        let (pacer, server, next) = (pacer.clone(), server.clone(), next.clone());
        set.spawn(async move {
            while next.fetch_add(1, Ordering::SeqCst) < n {
                pacer
                    .call("GetSecretValue", || server.request())
                    .await
                    .expect("every read succeeds in the end");
            }
        });
    }
    while let Some(r) = set.join_next().await {
        r.unwrap();
    }
    started.elapsed()
}

pub fn pacer(share: f64) -> Arc<Pacer> {
    Arc::new(Pacer::new(Limiters::new(RateSettings {
        share,
        ..RateSettings::default()
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tasks reading, as plan's default `--parallelism`.
    const TASKS: usize = 512;
    /// 1,000 reads at 300/s.
    const FLOOR: f64 = 1000.0 / 300.0;

    fn secs(d: Duration) -> f64 {
        d.as_secs_f64()
    }

    /// The figures of a run, as assertion messages show them (and printed with `SIM_REPORT=1`).
    fn figures(label: &str, t: Duration, server: &Server) -> String {
        let f = figures_of(label, t, server);
        if std::env::var_os("SIM_REPORT").is_some() {
            eprintln!("{f}");
        }
        f
    }

    fn figures_of(label: &str, t: Duration, server: &Server) -> String {
        format!(
            "{label}: {:.2}s, {} calls, {} throttled, background {}/{}, fraction {:.4}, busiest \
             {} (ours {}), most in flight {}",
            secs(t),
            server.calls.load(Ordering::SeqCst),
            server.throttled.load(Ordering::SeqCst),
            server.background_throttled.load(Ordering::SeqCst),
            server.background_calls.load(Ordering::SeqCst),
            server.throttled_fraction(),
            server.busiest_second(),
            server.our_busiest_second(),
            server.most_in_flight.load(Ordering::SeqCst),
        )
    }

    /// `n` reads against `b`, beside another client reading `background` per second (started a
    /// second earlier), with `rate_share = share`.
    async fn run(
        b: Behaviour,
        background: u32,
        share: f64,
        n: usize,
    ) -> (Duration, Arc<Server>, Arc<Pacer>) {
        let server = Server::new(b);
        let bg = (background > 0).then(|| server.background(background));
        if bg.is_some() {
            tokio::time::sleep(SECOND).await;
        }
        let p = pacer(share);
        let t = reads(&p, &server, n, TASKS).await;
        if let Some(h) = bg {
            h.abort();
        }
        (t, server, p)
    }

    /// (time since the start, permits) samples.
    type Samples = Arc<Mutex<Vec<(Duration, u32)>>>;

    /// Every `step`, the permits of GetSecretValue.
    fn watch_permits(p: &Arc<Pacer>, step: Duration) -> (Samples, tokio::task::JoinHandle<()>) {
        let samples = Arc::new(Mutex::new(Vec::new()));
        let (p, out) = (p.clone(), samples.clone());
        let start = Instant::now();
        let task = tokio::spawn(async move {
            loop {
                let permits = p.limiters.get("GetSecretValue").permits();
                out.lock().unwrap().push((start.elapsed(), permits));
                tokio::time::sleep(step).await;
            }
        });
        (samples, task)
    }

    #[tokio::test(start_paused = true)]
    async fn from_1_ms_to_1_s_of_latency_the_limit_bounds_throughput_not_the_tasks() {
        for ms in [1, 5, 20, 150, 300, 1000] {
            let (t, server, _) = run(Behaviour::at(ms), 0, 1.0, 1000).await;
            let f = figures(&format!("{ms} ms"), t, &server);
            assert_eq!(server.throttled.load(Ordering::SeqCst), 0, "{f}");
            assert!(server.busiest_second() <= 300, "{f}");
            // the 300 reads of the first window go at once; at 1 s the first answers take 1 s
            let bound = FLOOR * 1.05 + 2.0 * secs(Duration::from_millis(ms));
            assert!(secs(t) <= bound, "{f}: over {bound:.2} s");
            // in flight: what the rate needs (300/s × latency), with headroom, no more
            let needed = 300.0 * secs(Duration::from_millis(ms));
            let most = server.most_in_flight.load(Ordering::SeqCst) as f64;
            assert!(most <= needed * 2.0 + 60.0, "{f}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn three_percent_of_stray_throttles_cost_a_few_percent() {
        let (base, _, _) = run(Behaviour::at(20), 0, 1.0, 3000).await;
        let stray = Behaviour {
            random_throttle: 0.03,
            ..Behaviour::at(20)
        };
        let (t, server, p) = run(stray, 0, 1.0, 3000).await;
        let f = figures("3% stray throttles", t, &server);
        assert!(
            secs(t) <= 1.15 * secs(base),
            "{f}; without: {:.2}s",
            secs(base)
        );
        let events = &p.limiters.get("GetSecretValue").events;
        let stray = events.stray.load(Ordering::SeqCst);
        assert!(stray >= 50, "{f}: {stray} stray events");
        assert!(events.congestion.load(Ordering::SeqCst) <= 3, "{f}");
    }

    #[tokio::test(start_paused = true)]
    async fn beside_another_client_it_converges_to_the_remainder() {
        // Until the first throttle comes back, a round trip of requests is on its way at the
        // paced rate, and all of them find the window full: rate × latency throttles, under 1%
        // of this run's requests at 20 ms, some 4% at 150 ms.
        for (ms, most) in [(20, 0.02), (150, 0.05)] {
            // another client reads 100/s of GetSecretValue's 300/s: 200/s are left, 5 s for 1,000
            let (t, server, _) = run(Behaviour::at(ms), 100, 1.0, 1000).await;
            let f = figures(&format!("beside 100/s at {ms} ms"), t, &server);
            assert!(server.throttled_fraction() <= most, "{f}");
            assert!(secs(t) <= 1.3 * 5.0, "{f}");
            assert!(server.busiest_second() <= 300, "{f}");
        }
        // and it stays there over a long run
        let (t, server, _) = run(Behaviour::at(20), 100, 1.0, 6000).await;
        let f = figures("beside 100/s, 6,000 reads", t, &server);
        assert!(server.throttled_fraction() <= 0.02, "{f}");
        assert!(secs(t) <= 1.1 * 30.0, "{f}");
    }

    #[tokio::test(start_paused = true)]
    async fn beside_a_heavy_client_it_converges_to_a_small_remainder() {
        // 250/s of 300/s taken: 50/s left
        let (t, server, _) = run(Behaviour::at(20), 250, 1.0, 1000).await;
        let f = figures("beside 250/s", t, &server);
        assert!(server.throttled_fraction() <= 0.05, "{f}");
        assert!(secs(t) <= 1.3 * 20.0, "{f}");
    }

    #[tokio::test(start_paused = true)]
    async fn rate_share_is_a_hard_cap() {
        let (t, server, _) = run(Behaviour::at(20), 100, 0.5, 1000).await;
        let f = figures("rate_share 0.5 beside 100/s", t, &server);
        assert_eq!(server.throttled.load(Ordering::SeqCst), 0, "{f}");
        assert_eq!(server.background_throttled.load(Ordering::SeqCst), 0, "{f}");
        assert!(server.our_busiest_second() <= 150, "{f}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_of_throttles_is_one_decrease_per_round_trip_and_recovery_is_quick() {
        // every request is throttled from 2.0 s to 2.3 s
        let outage = Behaviour {
            outage: Some((Duration::from_secs(2), Duration::from_millis(2300))),
            ..Behaviour::at(20)
        };
        let server = Server::new(outage);
        let p = pacer(1.0);
        let (permits, watcher) = watch_permits(&p, Duration::from_millis(10));
        let t = reads(&p, &server, 3000, TASKS).await;
        watcher.abort();
        let f = figures("300 ms of throttles", t, &server);
        let limiter = p.limiters.get("GetSecretValue");
        let throttled = server.throttled.load(Ordering::SeqCst);
        let events = limiter.events.congestion.load(Ordering::SeqCst)
            + limiter.events.stray.load(Ordering::SeqCst);
        assert!(throttled >= 20, "{f}");
        // at most one decrease per 20 ms round trip of the outage, not one per throttle
        assert!(events <= 300 / 20 + 2, "{f}: {events} events");
        let samples = permits.lock().unwrap().clone();
        let lowest = samples.iter().map(|s| s.1).min().unwrap();
        assert!(lowest < 250, "{f}: never lowered ({lowest})");
        // within a second of the outage's end, back at 90% of the ceiling
        let at = |d: Duration| {
            samples
                .iter()
                .find(|(t, _)| *t >= d)
                .map(|s| s.1)
                .expect("sampled")
        };
        let back = at(Duration::from_millis(3300));
        assert!(back >= 270, "{f}: {back} permits 1 s after the outage");
        assert!(secs(t) <= 1.15 * 3000.0 / 300.0, "{f}");
    }

    #[tokio::test(start_paused = true)]
    async fn latency_steps_from_5_ms_to_500_ms_and_back_keep_the_pace() {
        // 5 ms until 4 s, 500 ms until 9 s, 5 ms again
        let steps = Behaviour {
            latency: Box::new(|t| {
                if t >= Duration::from_secs(4) && t < Duration::from_secs(9) {
                    Duration::from_millis(500)
                } else {
                    Duration::from_millis(5)
                }
            }),
            ..Behaviour::at(5)
        };
        let server = Server::new(steps);
        let p = pacer(1.0);
        let t = reads(&p, &server, 4000, TASKS).await;
        let f = figures("5 → 500 → 5 ms", t, &server);
        assert_eq!(server.throttled.load(Ordering::SeqCst), 0, "{f}");
        assert!(server.busiest_second() <= 300, "{f}");
        // 4,000 reads at 288/s take 13.9 s; the step up costs one latency of answers at most
        assert!(secs(t) <= 4000.0 / 288.0 + 1.0, "{f}");
        assert!(server.most_in_flight.load(Ordering::SeqCst) >= 144, "{f}");
        // back at 5 ms, few requests in flight again
        let limiter = p.limiters.get("GetSecretValue");
        assert!(
            limiter.in_flight_limit() <= 12,
            "{f}: {}",
            limiter.in_flight_limit()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_lower_limit_is_found_whether_or_not_the_message_states_it() {
        let stated = Behaviour {
            limit: 100,
            ..Behaviour::at(20)
        };
        let (t, server, p) = run(stated, 0, 1.0, 1000).await;
        let f = figures("limit 100, stated", t, &server);
        assert_eq!(p.limiters.get("GetSecretValue").ceiling(), 100, "{f}");
        assert!(server.throttled_fraction() <= 0.02, "{f}");
        assert!(secs(t) <= 1.1 * 10.0, "{f}");

        let unstated = Behaviour {
            limit: 100,
            states_limit: false,
            ..Behaviour::at(20)
        };
        let (t, server, p) = run(unstated, 0, 1.0, 1000).await;
        let f = figures("limit 100, not stated", t, &server);
        assert_eq!(p.limiters.get("GetSecretValue").ceiling(), 300, "{f}");
        assert!(server.throttled_fraction() <= 0.08, "{f}");
        assert!(secs(t) <= 1.15 * 10.0, "{f}");
    }

    #[tokio::test(start_paused = true)]
    async fn arrival_jitter_within_the_margin_is_never_throttled() {
        // answers spread by up to 150 ms do not change arrivals; the limiter's own margin covers
        // the send side. Over 3,000 reads: no throttle at all.
        let jitter = Behaviour {
            spread: Duration::from_millis(150),
            ..Behaviour::at(150)
        };
        let (t, server, _) = run(jitter, 0, 1.0, 3000).await;
        let f = figures("150 ± 75 ms", t, &server);
        assert_eq!(server.throttled.load(Ordering::SeqCst), 0, "{f}");
        assert!(secs(t) <= 3000.0 / 288.0 + 0.5, "{f}");
    }
}
