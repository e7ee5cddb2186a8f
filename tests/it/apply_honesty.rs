//! Issue 11: honest outcomes under faults. A fake endpoint (tests/it/support/fake.rs) answers as
//! each test says, or passes requests on to a real emulator byte for byte:
//!
//! - problem 1: answers that are not the API's are protocol errors, never success or empty values;
//! - problem 2: a write whose answer was lost is verified by reading it back, whatever its retries
//!   met afterwards, and reported `applied`, `not applied` or `unknown`;
//! - problem 5: a silent or trickling endpoint fails a plan within the time limits;
//! - problem 7: a plan that races a concurrent create reads the new version again;
//! - problem 3: two concurrent applies on the same secrets never leave a mix of their values.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::apply::{hcl, journal_lines, many, value};
use crate::support::fake::{Answer, Fake, Seen};
use crate::support::{REGION, TestEmulator, Workspace, seed_secrets};

const CONFIG: &str = r#"
secret "a" {
  secret_name   = "honest-a"
  version_id    = "v1"
  secret_string = "alpha-canary6d0c1e"
}
"#;

/// A workspace whose provider block points at `endpoint` (with `emu`'s credentials).
fn workspace_at(emu: &TestEmulator, endpoint: &str) -> Workspace {
    let ws = Workspace::new(emu).in_config_dir().config(CONFIG);
    ws.file(
        "cfg/provider.hcl",
        format!("provider \"tencentcloud\" {{\n  region   = \"{REGION}\"\n  endpoint = \"{endpoint}\"\n}}\n"),
    );
    ws
}

fn is_write(s: &Seen) -> bool {
    matches!(
        s.action.as_str(),
        "UpdateSecret" | "PutSecretValue" | "CreateSecret"
    ) && s.body["SecretName"] != "ssmform-lock"
}

/// The outcome lines of a journal: (result, verdict).
fn outcomes(ws: &Workspace) -> Vec<(String, String)> {
    journal_lines(&ws.journal())
        .into_iter()
        .filter(|l| l["type"] == "outcome")
        .map(|l| {
            (
                l["result"].as_str().unwrap_or_default().to_string(),
                l["verdict"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// Problem 1: `{"Response":{}}` to everything was read as an empty live value, and writes as
/// successes.
#[tokio::test]
async fn a_server_that_is_not_the_api_fails_plan_and_apply() {
    let emu = TestEmulator::start();
    let fake = Fake::start(None, |_| Answer::Json(r#"{"Response":{}}"#.into()));
    let ws = workspace_at(&emu, &fake.endpoint());
    for args in [
        &["plan"][..],
        &["apply", "--auto-approve"],
        &["apply", "--auto-approve", "-lock=false"],
    ] {
        let out = ws.run(args);
        out.assert_exit(1)
            .assert_stderr_contains("this does not look like the Tencent Cloud API")
            .assert_stderr_contains(&fake.endpoint())
            .assert_stdout_not_contains("Apply complete!")
            .assert_stdout_not_contains("0 bytes");
    }
}

/// Problem 1, writes: reads reach the emulator, but every write is answered with a bare
/// RequestId and goes nowhere. Reading back shows the value did not change: `not applied`.
#[tokio::test]
async fn a_write_answered_without_its_echo_is_read_back_and_reported_not_applied() {
    let emu = TestEmulator::start();
    seed_secrets(&emu, &[("honest-a", "v1", "old-a")]).await;
    let fake = Fake::start(Some(emu.addr()), |s| {
        if is_write(s) {
            Answer::Json(r#"{"Response":{"RequestId":"fake-0001"}}"#.into())
        } else {
            Answer::Forward
        }
    });
    let ws = workspace_at(&emu, &fake.endpoint());
    let out = ws.run(["apply", "--auto-approve", "-lock=false"]);
    out.assert_exit(1)
        .assert_stdout_not_contains("Apply complete!")
        .assert_stdout_contains("0 updated")
        .assert_stderr_contains("it has no `SecretName`")
        .assert_stderr_contains("not applied");
    assert_eq!(value(&emu.api(), "honest-a").await, "old-a");
    assert_eq!(
        outcomes(&ws),
        [("failed".to_string(), "not_applied".to_string())]
    );
}

/// Problem 2: the write lands but its answer is lost; the retry meets an answer that says
/// nothing about the first request (here a gateway's 403). Reading back finds the new value:
/// `applied`, although the last error alone says "not applied".
#[tokio::test]
async fn a_write_whose_answer_was_lost_is_applied_when_reading_back_finds_it() {
    let emu = TestEmulator::start();
    seed_secrets(&emu, &[("honest-a", "v1", "old-a")]).await;
    let fake = Fake::start(Some(emu.addr()), |s| {
        match (s.action.as_str(), s.nth) {
        ("UpdateSecret", 0) => Answer::ForwardThenDrop,
        ("UpdateSecret", _) => Answer::Raw(
            b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/html\r\nContent-Length: 9\r\n\r\nForbidden"
                .to_vec(),
        ),
        _ => Answer::Forward,
    }
    });
    let ws = workspace_at(&emu, &fake.endpoint());
    let out = ws.run(["apply", "--auto-approve", "-lock=false"]);
    out.assert_success()
        .assert_stdout_contains("Apply complete! Secrets: 0 created, 1 updated, 0 unchanged.")
        .assert_stdout_contains("reading the value back shows it took effect");
    assert_eq!(value(&emu.api(), "honest-a").await, "alpha-canary6d0c1e");
    assert_eq!(
        outcomes(&ws),
        [("applied".to_string(), "applied".to_string())]
    );
}

/// Problem 2: the write lands, its answer is lost, and the endpoint then fails everything, so
/// the value cannot be read back: `unknown`, counted apart, exit 1, and the journal says so.
/// Before, the last retry's error made it `failed`.
#[tokio::test]
async fn a_write_that_cannot_be_verified_is_unknown() {
    let emu = TestEmulator::start();
    seed_secrets(&emu, &[("honest-a", "v1", "old-a")]).await;
    let fake = Fake::start(Some(emu.addr()), |s| match (s.action.as_str(), s.nth) {
        // The plan's read and the stale check's.
        ("GetSecretValue", 0 | 1) => Answer::Forward,
        ("UpdateSecret", 0) => Answer::ForwardThenDrop,
        _ => Answer::Close,
    });
    let ws = workspace_at(&emu, &fake.endpoint());
    let out = ws.run_with(
        ["apply", "--auto-approve", "-lock=false"],
        &[("SSMFORM_RETRY_TIMEOUT", "1s")],
    );
    out.assert_exit(1)
        .assert_stdout_contains("1 unknown (may have taken effect; run `ssmform plan`)")
        .assert_stdout_contains("0 failed")
        .assert_stderr_contains("outcome unknown");
    assert_eq!(
        outcomes(&ws),
        [("unknown".to_string(), "unknown".to_string())]
    );
    // It did land.
    assert_eq!(value(&emu.api(), "honest-a").await, "alpha-canary6d0c1e");
}

/// Problem 5: an endpoint that accepts connections and never answers held a plan for over four
/// minutes. With the time limits set small (as the README says how), it fails within them, naming
/// the endpoint and the timeout.
#[tokio::test]
async fn a_silent_endpoint_fails_plan_within_the_time_limits() {
    let emu = TestEmulator::start();
    let fake = Fake::start(None, |_| Answer::Hang);
    let ws = workspace_at(&emu, &fake.endpoint());
    let t0 = Instant::now();
    let out = ws.run_with(
        ["plan"],
        &[
            ("SSMFORM_READ_TIMEOUT", "300ms"),
            ("SSMFORM_RETRY_TIMEOUT", "2s"),
        ],
    );
    let took = t0.elapsed();
    out.assert_exit(1)
        .assert_stderr_contains(&fake.endpoint())
        .assert_stderr_contains("did not answer within 300ms")
        .assert_stderr_contains("SSMFORM_READ_TIMEOUT");
    assert!(took < Duration::from_secs(8), "{took:?}");
}

/// Problem 5: an endpoint that trickles a byte every 100 ms never trips the read timeout; the
/// per-call deadline ends each call.
#[tokio::test]
async fn a_trickling_endpoint_fails_plan_at_the_call_deadline() {
    let emu = TestEmulator::start();
    let fake = Fake::start(None, |_| Answer::Trickle(Duration::from_millis(100)));
    let ws = workspace_at(&emu, &fake.endpoint());
    let t0 = Instant::now();
    let out = ws.run_with(
        ["plan"],
        &[
            ("SSMFORM_READ_TIMEOUT", "1s"),
            ("SSMFORM_CALL_TIMEOUT", "1500ms"),
            ("SSMFORM_RETRY_TIMEOUT", "2s"),
        ],
    );
    let took = t0.elapsed();
    out.assert_exit(1)
        .assert_stderr_contains(&fake.endpoint())
        .assert_stderr_contains("within 1500ms")
        .assert_stderr_contains("SSMFORM_CALL_TIMEOUT");
    assert!(took < Duration::from_secs(10), "{took:?}");
}

#[tokio::test]
async fn a_time_limit_that_is_not_a_duration_is_a_clear_error() {
    let emu = TestEmulator::start();
    let ws = Workspace::new(&emu).in_config_dir().config(CONFIG);
    ws.run_with(["plan"], &[("SSMFORM_READ_TIMEOUT", "soon")])
        .assert_exit(1)
        .assert_stderr_contains("SSMFORM_READ_TIMEOUT: invalid duration `soon`");
}

/// Problem 7: GetSecretValue misses a version another run creates at that moment; DescribeSecret
/// and ListSecretVersionIds then find it. The plan reads it again instead of failing.
#[tokio::test]
async fn a_plan_that_races_a_concurrent_create_reads_the_version_again() {
    let emu = TestEmulator::start();
    seed_secrets(&emu, &[("honest-a", "v1", "alpha-canary6d0c1e")]).await;
    let fake = Fake::start(Some(emu.addr()), |s| {
        match (s.action.as_str(), s.nth) {
        ("GetSecretValue", 0) => Answer::Json(
            r#"{"Response":{"Error":{"Code":"ResourceNotFound","Message":"The secret does not exist."},"RequestId":"race-1"}}"#
                .into(),
        ),
        _ => Answer::Forward,
    }
    });
    let ws = workspace_at(&emu, &fake.endpoint());
    ws.run(["plan", "--detailed-exitcode"])
        .assert_success()
        .assert_stdout_contains("No changes");
    let actions = fake.actions();
    assert_eq!(
        actions.iter().filter(|a| *a == "GetSecretValue").count(),
        2,
        "{actions:?}"
    );
}

/// The run lock: a held lock stops apply before anything is read or written and names its ID;
/// `-lock=false` goes ahead; `force-unlock ID` removes it (asking, unless -force).
#[tokio::test]
async fn a_held_lock_stops_apply_until_force_unlocked() {
    let emu = TestEmulator::start();
    seed_secrets(&emu, &[("honest-a", "v1", "old-a")]).await;
    let info = json!({"id": "20250101T000000Z-0badf00d", "holder": "ci@runner (pid 7)",
        "operation": "apply", "created": 1_735_689_600, "expires": 1_735_693_200});
    emu.api()
        .ok(
            "CreateSecret",
            json!({"SecretName": "ssmform-lock", "VersionId": "lock",
                "Description": info.to_string(), "SecretString": "20250101T000000Z-0badf00d"}),
        )
        .await;
    let ws = Workspace::new(&emu).in_config_dir().config(CONFIG);
    let before = emu
        .stats()
        .actions
        .get("GetSecretValue")
        .map_or(0, |a| a.calls);
    let out = ws.run(["apply", "--auto-approve"]);
    out.assert_exit(1)
        .assert_stderr_contains("the run lock is taken: ID 20250101T000000Z-0badf00d, held by ci@runner (pid 7) for apply")
        .assert_stderr_contains("it expired at 2025-01-01 01:00:00 UTC")
        .assert_stderr_contains("ssmform force-unlock 20250101T000000Z-0badf00d");
    assert_eq!(
        emu.stats()
            .actions
            .get("GetSecretValue")
            .map_or(0, |a| a.calls),
        before,
        "nothing was read"
    );
    assert_eq!(value(&emu.api(), "honest-a").await, "old-a");
    // Waiting for it gives up after the timeout, Terraform's spelling included.
    let t0 = Instant::now();
    ws.run(["apply", "--auto-approve", "-lock-timeout=1s"])
        .assert_exit(1)
        .assert_stderr_contains("(waited 1s)");
    assert!(t0.elapsed() >= Duration::from_secs(1));
    // A plan without --out takes no lock.
    ws.run(["plan"]).assert_success();
    ws.run(["plan", "--out", "p.ssmplan"])
        .assert_exit(1)
        .assert_stderr_contains("the run lock is taken");
    // The wrong ID, and no terminal to confirm on, are refused.
    ws.run(["force-unlock", "-force", "someone-else"])
        .assert_exit(1)
        .assert_stderr_contains("held by ID 20250101T000000Z-0badf00d, not someone-else");
    ws.run(["force-unlock", "20250101T000000Z-0badf00d"])
        .assert_exit(1)
        .assert_stderr_contains("Pass -force");
    ws.run(["force-unlock", "-force", "20250101T000000Z-0badf00d"])
        .assert_success()
        .assert_stdout_contains("Removed the run lock");
    ws.run(["apply", "--auto-approve"]).assert_success();
    assert_eq!(value(&emu.api(), "honest-a").await, "alpha-canary6d0c1e");
    // The run released its lock, and a plan does not show it.
    assert_eq!(
        emu.api()
            .call("DescribeSecret", json!({"SecretName": "ssmform-lock"}))
            .await
            .code(),
        Some("ResourceNotFound")
    );
}

#[tokio::test]
async fn lock_flags_without_a_lock_go_ahead_and_bad_durations_are_refused() {
    let emu = TestEmulator::start();
    let ws = Workspace::new(&emu).in_config_dir().config(CONFIG);
    ws.run(["apply", "--auto-approve", "--lock=false"])
        .assert_success();
    assert_eq!(
        emu.stats()
            .actions
            .get("DisableSecret")
            .map_or(0, |a| a.calls),
        0
    );
    // A usage error, as every flag's: exit 1 (2 means "changes present").
    ws.run(["apply", "--auto-approve", "-lock-timeout=soon"])
        .assert_exit(1)
        .assert_stderr_contains("invalid duration `soon`");
}

/// Problem 3: two applies of different values to the same 300 secrets, started together. Each
/// waits for the other's lock: the final state is wholly one run's values, each run's report
/// says it applied all of its changes, and a plan of the later run's configuration has nothing
/// to do.
#[tokio::test]
async fn two_concurrent_applies_never_leave_a_mix_of_their_values() {
    let emu = TestEmulator::unlimited();
    let first = many("race", 300, "first");
    let second = many("race", 300, "second");
    let a = Workspace::new(&emu).in_config_dir().config(&hcl(&first));
    let b = Workspace::new(&emu).in_config_dir().config(&hcl(&second));
    let args = ["apply", "--auto-approve", "-lock-timeout=120s"];
    let (ra, rb) = (a.start(args), b.start(args));
    let (oa, ob) = (ra.wait(), rb.wait());
    oa.assert_success();
    ob.assert_success();
    let api = emu.api();
    let mut values = std::collections::BTreeSet::new();
    for s in &first {
        let v = value(&api, &s.name).await;
        values.insert(v.split('-').next().unwrap().to_string());
    }
    assert_eq!(values.len(), 1, "a mix of both runs' values: {values:?}");
    let winner = values.into_iter().next().unwrap();
    let (last, last_out, first_out) = if winner == "first" {
        (&a, &oa, &ob)
    } else {
        (&b, &ob, &oa)
    };
    // The run that went first created all 300; the later one updated all 300.
    first_out
        .assert_stdout_contains("Apply complete! Secrets: 300 created, 0 updated, 0 unchanged.");
    last_out
        .assert_stdout_contains("Apply complete! Secrets: 0 created, 300 updated, 0 unchanged.");
    last.run(["plan", "--detailed-exitcode"]).assert_success();
}
