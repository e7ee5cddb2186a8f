//! Pacing against an emulator that enforces the limits in a strict sliding one-second window:
//! at default settings apply is never throttled (so no second ever held more calls than the
//! limit), and `rate_share` lowers every action's pace.

use std::collections::BTreeMap;

use ssmform::emulator::{Action, EmulatorConfig, RateLimits, StatsSnapshot};

use crate::apply_common::{Declared, Project, hcl, many, seed_store, store_in, value};
use crate::harness::{TestEmulator, temp_dir};

/// `updates` secrets seeded with old values plus `creates` missing ones, all declared anew.
async fn seeded(
    updates: usize,
    creates: usize,
    db: &std::path::Path,
) -> (Vec<Declared>, Vec<Declared>) {
    let existing = many("pace-upd", updates, "new");
    let missing = many("pace-new", creates, "made");
    seed_store(db, &existing, |s| format!("old-{}", s.name)).await;
    (existing, missing)
}

/// Every action's calls, throttles and busiest second, for the failure message.
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

fn assert_paced(stats: &StatsSnapshot, limits: &RateLimits) {
    for action in Action::ALL {
        let a = stats.action(action);
        assert_eq!(
            a.throttled,
            0,
            "{action:?} was throttled:\n{}",
            figures(stats)
        );
        if let Some(limit) = limits.limit(action) {
            assert!(
                a.max_in_any_second <= u64::from(limit),
                "{action:?} over its limit:\n{}",
                figures(stats)
            );
        }
    }
}

#[tokio::test]
async fn at_default_settings_apply_is_never_throttled_by_the_documented_limits() {
    // 160 updates (UpdateSecret, 50/s) and 30 creates, whose plan and stale-check reads go
    // through DescribeSecret (40/s): enough calls that every busy action fills whole windows.
    let store = temp_dir();
    let db = store_in(store.path());
    let (existing, missing) = seeded(160, 30, &db).await;
    let limits = RateLimits::default();
    let emu = TestEmulator::with(EmulatorConfig {
        db: Some(db),
        rate_limits: limits.clone(),
        ..EmulatorConfig::default()
    });
    let p = Project::new(&emu);
    p.write("", &format!("{}\n{}", hcl(&existing), hcl(&missing)));

    let out = p.run(["apply", "--auto-approve"]);
    assert_eq!(out.code, Some(0), "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains("Apply complete! Secrets: 30 created, 160 updated, 0 unchanged."),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("0 retried, 0 throttled."),
        "{}",
        out.stdout
    );
    let stats = emu.stats();
    assert_paced(&stats, &limits);
    let update = stats.action(Action::UpdateSecret);
    assert_eq!(update.calls, 160, "one call per update, no retries");
    assert_eq!(stats.action(Action::CreateSecret).calls, 30);
    // Spot-check the content.
    let api = emu.api();
    for s in [&existing[0], &existing[159], &missing[29]] {
        assert_eq!(value(&api, &s.name).await, s.value);
    }
}

#[tokio::test]
async fn rate_share_halves_every_action_s_pace() {
    // The emulator enforces half the documented limits; an apply with `rate_share = 0.5` must
    // fit under them without a single throttle.
    let store = temp_dir();
    let db = store_in(store.path());
    let (existing, missing) = seeded(60, 10, &db).await;
    let overrides: BTreeMap<Action, u32> = Action::ALL
        .iter()
        .map(|a| (*a, (a.documented_limit() / 2).max(1)))
        .collect();
    let limits = RateLimits::Documented { overrides };
    let emu = TestEmulator::with(EmulatorConfig {
        db: Some(db),
        rate_limits: limits.clone(),
        ..EmulatorConfig::default()
    });
    let p = Project::new(&emu);
    p.write(
        "  rate_share = 0.5",
        &format!("{}\n{}", hcl(&existing), hcl(&missing)),
    );
    let out = p.run(["apply", "--auto-approve"]);
    assert_eq!(out.code, Some(0), "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("0 retried, 0 throttled."),
        "{}",
        out.stdout
    );
    assert_paced(&emu.stats(), &limits);
}
