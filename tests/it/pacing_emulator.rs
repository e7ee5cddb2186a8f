//! The emulator's knobs for pacing tests and benchmarks: `--latency-spread` (jitter) and
//! `--background-load` (other clients using part of an action's quota), next to the throttle fault
//! it already had. Counts and limits only: nothing here depends on how fast the machine is.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::json;
use ssmform::emulator::{Action, Credential, EmulatorConfig, RateLimits};

use crate::support::{Api, SpawnedEmulator, Ssmform, TestEmulator, wait_until};

#[test]
fn help_documents_the_pacing_knobs() {
    let out = Ssmform::new(["emulator", "--help"]).run();
    out.assert_success();
    for flag in ["--latency-spread", "--background-load"] {
        assert!(
            out.stdout.lines().any(|l| l.trim_start().starts_with(flag)),
            "{flag} missing from help:\n{}",
            out.stdout
        );
    }
    let bad = Ssmform::new(["emulator", "--background-load", "GetSecretValue=0"]).run();
    bad.assert_exit(1).assert_stderr_contains("the rate in");
}

#[tokio::test]
async fn the_banner_shows_jitter_and_other_clients() {
    let emu = SpawnedEmulator::start(&[
        "--latency",
        "20",
        "--latency-spread",
        "5",
        "--background-load",
        "GetSecretValue=100",
    ]);
    let banner = emu.banner.join("\n");
    assert!(banner.contains("20 ± 5 ms per response"), "{banner}");
    assert!(
        banner.contains("other clients: GetSecretValue 100/s"),
        "{banner}"
    );
    let api = Api::for_addr(emu.addr, &Credential::development());
    api.ok("GetServiceStatus", json!({})).await;
    let (code, _) = emu.terminate();
    assert_eq!(code, Some(0));
}

#[tokio::test]
async fn background_clients_share_the_window_and_are_counted_apart() {
    // another client far above a limit of 50/s keeps the window full, however slow the machine
    let emu = TestEmulator::with(EmulatorConfig {
        rate_limits: RateLimits::Documented {
            overrides: BTreeMap::from([(Action::GetSecretValue, 50)]),
        },
        background: BTreeMap::from([(Action::GetSecretValue, 1000)]),
        ..EmulatorConfig::default()
    });
    wait_until(
        "the other client's first requests",
        Duration::from_secs(30),
        || {
            emu.stats()
                .action(Action::GetSecretValue)
                .background_throttled
                >= 10
        },
    );
    let api = emu.api();
    let mut throttled = 0;
    for _ in 0..20 {
        let reply = api
            .call(
                "GetSecretValue",
                json!({"SecretName": "absent", "VersionId": "v1"}),
            )
            .await;
        if reply.code() == Some("RequestLimitExceeded") {
            throttled += 1;
        }
    }
    let s = emu.stats().action(Action::GetSecretValue);
    assert!(throttled >= 10, "{throttled} of 20 throttled: {s:?}");
    assert_eq!(s.calls, 20, "{s:?}");
    assert_eq!(s.throttled, throttled, "{s:?}");
    assert!(s.background_calls > s.background_throttled, "{s:?}");
    assert_eq!(s.max_in_any_second, 50, "everyone's requests count: {s:?}");
    assert!(s.throttled_fraction() > 0.5, "{s:?}");
    // other actions are untouched
    assert_eq!(emu.stats().action(Action::UpdateSecret).background_calls, 0);
}

#[tokio::test]
async fn the_stats_document_carries_the_background_figures() {
    let emu = SpawnedEmulator::start(&["--background-load", "UpdateSecret=20"]);
    let url = format!("http://{}/_emulator/stats", emu.addr);
    let mut seen = 0;
    for _ in 0..500 {
        let bytes = reqwest::get(&url).await.unwrap().bytes().await.unwrap();
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        seen = body["actions"]["UpdateSecret"]["background_calls"]
            .as_u64()
            .expect("background_calls");
        assert!(body["actions"]["UpdateSecret"]["background_throttled"].is_u64());
        if seen > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(seen > 0);
    emu.terminate();
}
