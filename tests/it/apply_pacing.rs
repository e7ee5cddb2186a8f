//! Pacing against an emulator that enforces the limits in a strict sliding one-second window:
//! at default settings apply is never throttled (so no second ever held more calls than the
//! limit), and `rate_share` lowers every action's pace.
//!
//! Zero throttles rests on timing: the limiter absorbs up to 40 ms of spread in send-to-arrival
//! delays (`ssm::limiter::WINDOW_MARGIN`). A 2-core machine saturated by other work (both cores
//! busy with other processes) can stall a thread for longer, which then costs one throttle, retried
//! and harmless. So a scenario that meets a throttle runs once more on a fresh emulator and must
//! then be clean. A pacing bug does not pass that way: with no margin at all, every run of both
//! scenarios here meets throttles (checked when the margin was introduced).

use std::collections::BTreeMap;

use ssmform::emulator::{Action, EmulatorConfig, RateLimits, StatsSnapshot};

use crate::support::apply::{Declared, hcl, many, seed_of, store_in, value};
use crate::support::{Output, TestEmulator, Workspace, temp_dir};

/// Every action's calls, throttles and busiest second.
fn figures(s: &StatsSnapshot) -> String {
    s.actions
        .iter()
        .filter(|(_, a)| a.calls > 0)
        .map(|(n, a)| {
            format!(
                "{n}: {} calls, {} throttled, {} errors, max {} in a second",
                a.calls, a.throttled, a.errors, a.max_in_any_second
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// What went over a limit or was throttled, if anything.
fn pacing_problems(stats: &StatsSnapshot, limits: &RateLimits) -> Option<String> {
    let bad = Action::ALL.iter().any(|&action| {
        let a = stats.action(action);
        a.throttled > 0
            || limits
                .limit(action)
                .is_some_and(|l| a.max_in_any_second > u64::from(l))
    });
    bad.then(|| figures(stats))
}

/// One apply of `updates` + `creates` secrets on a fresh emulator enforcing `limits`.
struct Scenario {
    updates: usize,
    creates: usize,
    limits: RateLimits,
    provider_extra: &'static str,
}

struct Run {
    out: Output,
    stats: StatsSnapshot,
    existing: Vec<Declared>,
    missing: Vec<Declared>,
    emu: TestEmulator,
    _store: tempfile::TempDir,
}

impl Scenario {
    async fn run(&self) -> Run {
        let store = temp_dir();
        let db = store_in(store.path());
        let existing = many("pace-upd", self.updates, "new");
        let missing = many("pace-new", self.creates, "made");
        seed_of(&existing, |s| format!("old-{}", s.name))
            .write_store(&db)
            .await;
        let emu = TestEmulator::with(EmulatorConfig {
            db: Some(db),
            rate_limits: self.limits.clone(),
            ..EmulatorConfig::default()
        });
        let p = Workspace::new(&emu).in_config_dir();
        p.write_config(
            self.provider_extra,
            &format!("{}\n{}", hcl(&existing), hcl(&missing)),
        );
        let out = p.run(["apply", "--auto-approve"]);
        out.assert_success();
        let summary = format!(
            "Apply complete! Secrets: {} created, {} updated, 0 unchanged.",
            self.creates, self.updates
        );
        out.assert_stdout_contains(&summary);
        Run {
            out,
            stats: emu.stats(),
            existing,
            missing,
            emu,
            _store: store,
        }
    }

    /// Run; if the emulator saw a throttle (or a second over a limit), once more. Returns the
    /// clean run, or fails with both runs' figures.
    async fn run_clean(&self) -> Run {
        let first = self.run().await;
        let Some(problem) = pacing_problems(&first.stats, &self.limits) else {
            return first;
        };
        drop(first);
        let second = self.run().await;
        if let Some(again) = pacing_problems(&second.stats, &self.limits) {
            panic!("throttled in two runs out of two:\nfirst:\n{problem}\nsecond:\n{again}");
        }
        second
    }
}

#[tokio::test]
async fn at_default_settings_apply_is_never_throttled_by_the_documented_limits() {
    // 160 updates (UpdateSecret, 50/s) and 30 creates, whose plan and stale-check reads go
    // through DescribeSecret (40/s): enough calls that every busy action fills whole windows.
    let run = Scenario {
        updates: 160,
        creates: 30,
        limits: RateLimits::default(),
        provider_extra: "",
    }
    .run_clean()
    .await;
    assert!(
        run.out.stdout.contains("0 retried, 0 throttled."),
        "{}",
        run.out.stdout
    );
    let update = run.stats.action(Action::UpdateSecret);
    assert_eq!(update.calls, 160, "one call per update, no retries");
    assert_eq!(run.stats.action(Action::CreateSecret).calls, 30);
    let api = run.emu.api();
    for s in [&run.existing[0], &run.existing[159], &run.missing[29]] {
        assert_eq!(value(&api, &s.name).await, s.value);
    }
}

#[tokio::test]
async fn rate_share_halves_every_action_s_pace() {
    // The emulator enforces half the documented limits; an apply with `rate_share = 0.5` must
    // fit under them without a single throttle.
    let overrides: BTreeMap<Action, u32> = Action::ALL
        .iter()
        .map(|a| (*a, (a.documented_limit() / 2).max(1)))
        .collect();
    let run = Scenario {
        updates: 60,
        creates: 10,
        limits: RateLimits::Documented { overrides },
        provider_extra: "  rate_share = 0.5",
    }
    .run_clean()
    .await;
    assert!(
        run.out.stdout.contains("0 retried, 0 throttled."),
        "{}",
        run.out.stdout
    );
}
