//! `ssmform apply` when things go wrong: a secret changed by someone else since the plan, a
//! permanent API error, and an unreliable endpoint (injected throttles, internal errors, 502s and
//! dropped connections).

use std::collections::BTreeMap;

use serde_json::json;
use ssmform::emulator::{EmulatorConfig, FaultSpec};

use crate::support::apply::{
    Declared, hcl, journal_intents, journal_lines, journal_outcomes, json_lines, leaks_of, many,
    seed_of, store_in, value,
};
use crate::support::{Seed, TestEmulator, Workspace, temp_dir};

/// `root` is what the test interferes with; `dep` depends on it and `dep2` on `dep`; `free` and
/// `free2` (which depends on `free`) are independent of all that.
const GRAPH: &str = r#"
secret "root" {
  secret_name   = "fail-root"
  version_id    = "v1"
  secret_string = "root-canary1f2e3d"
}

secret "dep" {
  secret_name   = "fail-dep"
  version_id    = "v1"
  secret_string = "dep:${secret.root.secret_string}"
}

secret "dep2" {
  secret_name   = "fail-dep2"
  version_id    = "v1"
  secret_string = "dep2:${secret.dep.secret_name}"
  depends_on    = [secret.dep]
}

secret "free" {
  secret_name   = "fail-free"
  version_id    = "v1"
  secret_string = "free-canary4c5b6a"
}

secret "free2" {
  secret_name   = "fail-free2"
  version_id    = "v1"
  secret_string = "free2:${secret.free.secret_string}"
}
"#;

const NAMES: [&str; 5] = [
    "fail-root",
    "fail-dep",
    "fail-dep2",
    "fail-free",
    "fail-free2",
];

async fn seed_graph(emu: &TestEmulator) {
    Seed::new()
        .secrets(NAMES.map(|name| (name, "v1", format!("old-{name}"))))
        .write(emu)
        .await;
}

/// Plan GRAPH into `p.ssmplan`, which updates all five secrets.
fn plan_graph(p: &Workspace) {
    p.write_config("", GRAPH);
    let out = p.run(["plan", "--out", "p.ssmplan"]);
    out.assert_success()
        .assert_stdout_contains("Plan: 0 to create, 5 to update");
}

/// The free branch was applied, the dependents of root were not.
async fn assert_rest_applied_and_dependents_untouched(emu: &TestEmulator) {
    let api = emu.api();
    assert_eq!(value(&api, "fail-free").await, "free-canary4c5b6a");
    assert_eq!(value(&api, "fail-free2").await, "free2:free-canary4c5b6a");
    assert_eq!(value(&api, "fail-dep").await, "old-fail-dep");
    assert_eq!(value(&api, "fail-dep2").await, "old-fail-dep2");
}

#[tokio::test]
async fn a_secret_changed_since_the_plan_is_refused_its_dependents_skipped_and_the_rest_applied() {
    let emu = TestEmulator::start();
    seed_graph(&emu).await;
    let p = Workspace::new(&emu).in_config_dir();
    plan_graph(&p);
    let api = emu.api();
    api.ok(
        "UpdateSecret",
        json!({"SecretName": "fail-root", "VersionId": "v1", "SecretString": "someone-else"}),
    )
    .await;

    let out = p.run(["apply", "p.ssmplan"]);
    out.assert_exit(1);
    // Each problem is printed once, on stderr; the results and the summary go to stdout.
    let text = &format!("{}{}", out.stdout, out.stderr);
    assert!(
        text.contains("secret.root: refused, changed outside ssmform since the plan"),
        "{text}"
    );
    for problem in [
        "secret.root: refused",
        "secret.dep: skipped because",
        "secret.dep2: skipped because",
    ] {
        assert_eq!(out.stderr.matches(problem).count(), 1, "{problem}: {text}");
        out.assert_stdout_not_contains(problem);
    }
    out.assert_stdout_contains("secret.free: updated (UpdateSecret, ")
        .assert_stdout_contains("secret.free2: updated (UpdateSecret, ")
        .assert_stderr_not_contains("secret.free: updated")
        .assert_stdout_contains("Apply failed! Secrets:");
    assert!(
        text.contains("secret.dep: skipped because secret.root refused as stale"),
        "{text}"
    );
    assert!(
        text.contains("secret.dep2: skipped because secret.dep skipped"),
        "{text}"
    );
    assert!(
        text.contains(
            "Apply failed! Secrets: 0 created, 2 updated, 0 unchanged, 1 failed, 2 skipped."
        ),
        "{text}"
    );

    assert_eq!(
        value(&api, "fail-root").await,
        "someone-else",
        "the other change survives"
    );
    assert_rest_applied_and_dependents_untouched(&emu).await;

    let lines = journal_lines(&p.journal());
    let intents = journal_intents(&lines);
    assert_eq!(
        intents,
        ["secret.free".to_string(), "secret.free2".to_string()].into(),
        "a write was attempted only for the free branch"
    );
    let outcomes = journal_outcomes(&lines);
    let expected: BTreeMap<String, String> = [
        ("secret.root", "stale"),
        ("secret.dep", "skipped"),
        ("secret.dep2", "skipped"),
        ("secret.free", "applied"),
        ("secret.free2", "applied"),
    ]
    .into_iter()
    .map(|(a, r)| (a.to_string(), r.to_string()))
    .collect();
    assert_eq!(outcomes, expected);

    // Planning again shows the three changes still to make, root's against its new content.
    assert_eq!(
        p.planned(),
        ["secret.dep", "secret.dep2", "secret.root"]
            .map(String::from)
            .into()
    );
}

#[tokio::test]
async fn without_the_stale_check_the_same_plan_overwrites_the_other_change() {
    // The contrast that shows what the check protects: --no-stale-check writes regardless.
    let emu = TestEmulator::start();
    seed_graph(&emu).await;
    let p = Workspace::new(&emu).in_config_dir();
    plan_graph(&p);
    let api = emu.api();
    api.ok(
        "UpdateSecret",
        json!({"SecretName": "fail-root", "VersionId": "v1", "SecretString": "someone-else"}),
    )
    .await;
    let out = p.run(["apply", "p.ssmplan", "--no-stale-check"]);
    out.assert_success();
    assert_eq!(value(&api, "fail-root").await, "root-canary1f2e3d");
}

async fn schedule_deletion(emu: &TestEmulator, name: &str) {
    Seed::new().pending_delete(name).write(emu).await;
}

#[tokio::test]
async fn a_secret_scheduled_for_deletion_after_the_plan_fails_its_change_and_skips_its_dependents()
{
    let emu = TestEmulator::start();
    seed_graph(&emu).await;
    let p = Workspace::new(&emu).in_config_dir();
    plan_graph(&p);
    schedule_deletion(&emu, "fail-root").await;

    let out = p.run(["apply", "p.ssmplan"]);
    out.assert_exit(1);
    // Each problem is printed once, on stderr; the summary closes stdout.
    let text = &format!("{}{}", out.stdout, out.stderr);
    assert!(text.contains("secret.root: UpdateSecret failed"), "{text}");
    assert!(text.contains("PendingDelete"), "{text}");
    assert!(
        text.contains("RestoreSecret"),
        "says how to restore it: {text}"
    );
    assert!(
        text.contains(
            "secret.dep: skipped because secret.root failed (ResourceUnavailable.ResourcePendingDeleted)"
        ),
        "{text}"
    );
    assert!(text.contains("secret.dep2: skipped because"), "{text}");
    assert!(
        text.contains(
            "Apply failed! Secrets: 0 created, 2 updated, 0 unchanged, 1 failed, 2 skipped."
        ),
        "{text}"
    );
    assert_rest_applied_and_dependents_untouched(&emu).await;
    let outcomes = journal_outcomes(&journal_lines(&p.journal()));
    assert_eq!(outcomes["secret.root"], "failed");
}

#[tokio::test]
async fn a_permanent_api_error_on_the_write_fails_at_once_with_code_message_and_request_id() {
    // Without the stale check the PendingDelete secret is only discovered by UpdateSecret itself:
    // a permanent error, reported with the API's code, message and RequestId, never retried.
    let emu = TestEmulator::start();
    seed_graph(&emu).await;
    let p = Workspace::new(&emu).in_config_dir();
    plan_graph(&p);
    schedule_deletion(&emu, "fail-root").await;
    let before = emu.stats().actions["UpdateSecret"];

    let out = p.run(["apply", "p.ssmplan", "--no-stale-check", "--format", "json"]);
    out.assert_exit(1);
    let lines = json_lines(&out.stdout);
    let errored: Vec<_> = lines
        .iter()
        .filter(|l| l["type"] == "apply_errored")
        .collect();
    assert_eq!(errored.len(), 1, "{}", out.stdout);
    let hook = &errored[0]["hook"];
    assert_eq!(hook["resource"]["addr"], "secret.root");
    assert_eq!(
        hook["error_code"],
        "ResourceUnavailable.ResourcePendingDeleted"
    );
    let rid = hook["request_id"].as_str().expect("a RequestId");
    assert_eq!(rid.len(), 36);
    let message = errored[0]["@message"].as_str().unwrap();
    assert!(message.contains(rid), "{message}");
    assert!(
        message.contains("ResourceUnavailable.ResourcePendingDeleted"),
        "{message}"
    );
    let summary = lines.last().unwrap();
    assert_eq!(summary["changes"]["failed"], 1);
    assert_eq!(summary["changes"]["skipped"], 2);
    assert_eq!(summary["changes"]["change"], 2);
    assert_eq!(summary["retries"], 0, "a permanent error is not retried");
    let after = emu.stats().actions["UpdateSecret"];
    assert_eq!(
        after.calls - before.calls,
        3,
        "root once (failed), free and free2"
    );
    assert_rest_applied_and_dependents_untouched(&emu).await;
}

/// The fault mix of issue 5: about one request in four fails, one in fifty without any answer.
const FAULTS: &str = "throttle=0.1,internal=0.1,http502=0.05,reset=0.02";

/// 24 secrets to update, 12 to create (6 of them in a chain of waves), and a chain of three
/// updates: every kind of write, in several waves, against an endpoint that fails a quarter of
/// the time.
fn fault_config() -> (Vec<Declared>, Vec<Declared>, String) {
    let existing = many("fault-upd", 24, "new");
    let missing = many("fault-new", 12, "made");
    let mut body = hcl(&existing);
    body.push('\n');
    body.push_str(&hcl(&missing));
    body.push_str(
        r#"
secret "chain1" {
  secret_name   = "fault-chain-1"
  version_id    = "v1"
  secret_string = "c1:${secret.fault_upd_000.secret_string}"
}

secret "chain2" {
  secret_name   = "fault-chain-2"
  version_id    = "v1"
  secret_string = "c2:${secret.chain1.secret_string}"
}

secret "chain3" {
  secret_name   = "fault-chain-3"
  version_id    = "v1"
  secret_string = "c3:${secret.chain2.secret_string}"
}
"#,
    );
    (existing, missing, body)
}

#[tokio::test]
async fn under_injected_faults_apply_converges_and_every_secret_holds_its_declared_content() {
    let store_dir = temp_dir();
    let db = store_in(store_dir.path());
    let (existing, missing, body) = fault_config();
    let mut seeded = existing.clone();
    seeded.extend(
        ["fault-chain-1", "fault-chain-2", "fault-chain-3"].map(|n| Declared {
            label: String::new(),
            name: n.into(),
            value: String::new(),
        }),
    );
    seed_of(&seeded, |s| format!("old-{}", s.name))
        .write_store(&db)
        .await;

    let faulty = TestEmulator::with(EmulatorConfig {
        db: Some(db.clone()),
        faults: FaultSpec::parse(FAULTS).unwrap(),
        ..EmulatorConfig::default()
    });
    let p = Workspace::new(&faulty).in_config_dir().config(&body);

    // One apply normally converges. A call can still fail for good when it meets eight faults
    // in a row (p ≈ 0.27⁸ per call) or when the run's retry budget runs dry; that is the retry
    // policy working as designed, so such a run is followed by another, as a user would. Any
    // other failure fails the test.
    let mut runs = Vec::new();
    let mut retries = 0;
    let mut throttled = 0;
    loop {
        let out = p.run(["apply", "--auto-approve", "--format", "json"]);
        let lines = json_lines(&out.stdout);
        if let Some(summary) = lines.iter().rev().find(|l| l["type"] == "change_summary") {
            retries += summary["retries"].as_u64().unwrap_or(0);
            throttled += summary["throttled"].as_u64().unwrap_or(0);
        }
        let converged = out.code == Some(0);
        if !converged {
            let all = format!("{}{}", out.stdout, out.stderr);
            assert!(
                all.contains("gave up after") || all.contains("retry budget"),
                "apply failed other than by exhausting its retries:\n{all}"
            );
        }
        runs.push(out);
        if converged || runs.len() == 3 {
            break;
        }
    }
    let last = runs.last().unwrap();
    last.assert_success();
    assert!(retries > 0, "the faults were met and retried");
    assert!(throttled > 0, "injected throttles were seen");
    let leaks = leaks_of(&[existing.clone(), missing.clone()].concat());
    for out in &runs {
        out.assert_no_leak(&leaks);
    }
    p.assert_no_leak_in_files(&leaks);
    faulty.stop();

    // Read everything back from the same store, without faults.
    let clean = TestEmulator::with(EmulatorConfig {
        db: Some(db.clone()),
        ..EmulatorConfig::default()
    });
    let api = clean.api();
    for s in existing.iter().chain(&missing) {
        assert_eq!(value(&api, &s.name).await, s.value, "{}", s.name);
    }
    let c1 = format!("c1:{}", existing[0].value);
    let c2 = format!("c2:{c1}");
    let c3 = format!("c3:{c2}");
    assert_eq!(value(&api, "fault-chain-1").await, c1);
    assert_eq!(value(&api, "fault-chain-2").await, c2);
    assert_eq!(value(&api, "fault-chain-3").await, c3);

    // And a plan against the clean emulator sees nothing left to do.
    let check = Workspace::new(&clean).in_config_dir().config(&body);
    let plan = check.run(["plan", "--detailed-exitcode"]);
    plan.assert_success();
}
