//! `ssmform apply` end to end, the ordinary ways: from a directory, from a saved plan, refusals
//! before anything is written, and the JSON-lines report.

use serde_json::json;

use crate::support::apply::{
    Declared, journal_intents, journal_lines, json_lines, leaks_of, planned_addresses, value,
};
use crate::support::{Leaks, TestEmulator, Workspace, seed_secrets};

/// a: exists with other content (update); b: missing (create secret); c: depends on a (update,
/// wave 2); d: the secret exists, its version v2 does not (create version).
const CONFIG: &str = r#"
secret "a" {
  secret_name   = "flow-a"
  version_id    = "v1"
  secret_string = "alpha-canary3e1f9a"
}

secret "b" {
  secret_name   = "flow-b"
  version_id    = "v1"
  secret_string = "bravo-canary77c0d2"
}

secret "c" {
  secret_name   = "flow-c"
  version_id    = "v1"
  secret_string = "charlie:${secret.a.secret_string}"
}

secret "d" {
  secret_name   = "flow-d"
  version_id    = "v2"
  secret_string = "delta-canary0b9e44"
}
"#;

fn declared() -> Vec<Declared> {
    [
        ("a", "flow-a", "alpha-canary3e1f9a"),
        ("b", "flow-b", "bravo-canary77c0d2"),
        ("c", "flow-c", "charlie:alpha-canary3e1f9a"),
        ("d", "flow-d", "delta-canary0b9e44"),
    ]
    .into_iter()
    .map(|(l, n, v)| Declared {
        label: l.into(),
        name: n.into(),
        value: v.into(),
    })
    .collect()
}

async fn seed(emu: &TestEmulator) {
    seed_secrets(
        emu,
        &[
            ("flow-a", "v1", "old-a"),
            ("flow-c", "v1", "old-c"),
            ("flow-d", "v1", "old-d"),
        ],
    )
    .await;
}

/// A workspace on `emu` with [`CONFIG`], run from its configuration directory.
fn flow_workspace(emu: &TestEmulator) -> Workspace {
    Workspace::new(emu).in_config_dir().config(CONFIG)
}

async fn version_value(emu: &TestEmulator, name: &str, version: &str) -> Option<String> {
    let r = emu
        .api()
        .call(
            "GetSecretValue",
            json!({"SecretName": name, "VersionId": version}),
        )
        .await;
    r.code().is_none().then(|| {
        r.response()["SecretString"]
            .as_str()
            .expect("SecretString")
            .to_string()
    })
}

#[tokio::test]
async fn apply_makes_every_kind_of_change_and_a_following_detailed_plan_exits_0() {
    let emu = TestEmulator::start();
    seed(&emu).await;
    let p = flow_workspace(&emu);

    let out = p.run(["apply", "--auto-approve"]);
    out.assert_success()
        .assert_stdout_contains("Apply complete! Secrets: 2 created, 2 updated, 0 unchanged.");
    let leaks = leaks_of(&declared());
    out.assert_no_leak(&leaks);

    let api = emu.api();
    assert_eq!(value(&api, "flow-a").await, "alpha-canary3e1f9a");
    assert_eq!(value(&api, "flow-b").await, "bravo-canary77c0d2");
    assert_eq!(value(&api, "flow-c").await, "charlie:alpha-canary3e1f9a");
    assert_eq!(
        version_value(&emu, "flow-d", "v2").await.as_deref(),
        Some("delta-canary0b9e44")
    );
    assert_eq!(
        version_value(&emu, "flow-d", "v1").await.as_deref(),
        Some("old-d"),
        "other versions are left alone"
    );

    let plan = p.run(["plan", "--detailed-exitcode"]);
    plan.assert_success();

    // The journal: every change has an intent and an `applied` outcome, and no plaintext; nor
    // has any other file the runs left behind.
    let journal = p.journal();
    assert!(
        p.assert_no_leak_in_files(&leaks) >= 2,
        "the journal and .ssmform/.gitignore"
    );
    let lines = journal_lines(&journal);
    assert_eq!(lines.first().unwrap()["type"], "run_start");
    assert_eq!(lines.last().unwrap()["type"], "run_end");
    for s in declared() {
        let addr = s.address();
        let kinds: Vec<&str> = lines
            .iter()
            .filter(|l| l["address"] == addr.as_str())
            .map(|l| l["type"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["intent", "outcome"], "{addr}");
    }
    // Waves: c (wave 2, it depends on a) was started only after a had finished.
    let position = |kind: &str, addr: &str| {
        lines
            .iter()
            .position(|l| l["type"] == kind && l["address"] == addr)
            .unwrap_or_else(|| panic!("no {kind} for {addr}"))
    };
    assert!(position("outcome", "secret.a") < position("intent", "secret.c"));
    assert_eq!(lines[position("intent", "secret.c")]["wave"], 2);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&journal).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    // A second apply has nothing to do.
    let again = p.run(["apply", "--auto-approve"]);
    again
        .assert_success()
        .assert_stdout_contains("Nothing to apply");
}

#[tokio::test]
async fn a_saved_plan_applies_exactly_its_changes() {
    let emu = TestEmulator::start();
    seed(&emu).await;
    let api = emu.api();
    api.create("flow-b", "v1", "bravo-canary77c0d2").await;
    let p = flow_workspace(&emu);

    let out = p.run(["plan", "--out", "reviewed.ssmplan"]);
    out.assert_success();
    // After the plan, someone changes flow-b, which the plan left unchanged: applying the plan
    // must not touch it (it is not one of the reviewed changes).
    api.ok(
        "UpdateSecret",
        json!({"SecretName": "flow-b", "VersionId": "v1", "SecretString": "changed-later"}),
    )
    .await;

    let out = p.run(["apply", "reviewed.ssmplan"]);
    out.assert_success()
        .assert_stdout_contains("Apply complete! Secrets: 1 created, 2 updated, 1 unchanged.");
    assert_eq!(value(&api, "flow-a").await, "alpha-canary3e1f9a");
    assert_eq!(value(&api, "flow-c").await, "charlie:alpha-canary3e1f9a");
    assert_eq!(
        version_value(&emu, "flow-d", "v2").await.as_deref(),
        Some("delta-canary0b9e44")
    );
    assert_eq!(value(&api, "flow-b").await, "changed-later");
    assert_eq!(
        p.planned(),
        ["secret.b".to_string()].into(),
        "only the change made after the plan remains"
    );
    let lines = journal_lines(&p.journal());
    assert_eq!(
        lines[0]["plan_file"], "reviewed.ssmplan",
        "the journal names the plan file"
    );
}

#[tokio::test]
async fn a_saved_plan_is_refused_after_its_configuration_changed_and_nothing_is_written() {
    let emu = TestEmulator::start();
    seed(&emu).await;
    let p = flow_workspace(&emu);
    let out = p.run(["plan", "--out", "reviewed.ssmplan"]);
    out.assert_success();

    p.write_config("", &CONFIG.replace("alpha-canary3e1f9a", "alpha-edited"));
    let calls_before = emu.stats().actions["UpdateSecret"].calls;
    let out = p.run(["apply", "reviewed.ssmplan"]);
    out.assert_exit(1)
        .assert_stderr_contains("configuration changed since the plan");
    // It names what changed: a directly and c through its reference to a.
    out.assert_stderr_contains("secret.a")
        .assert_stderr_contains("secret.c")
        .assert_stderr_not_contains("secret.d");
    let leaks = leaks_of(&declared());
    out.assert_no_leak(&leaks);
    p.assert_no_leak_in_files(&leaks);

    let api = emu.api();
    assert_eq!(value(&api, "flow-a").await, "old-a");
    assert_eq!(value(&api, "flow-c").await, "old-c");
    assert_eq!(version_value(&emu, "flow-d", "v2").await, None);
    assert_eq!(
        api.call("DescribeSecret", json!({"SecretName": "flow-b"}))
            .await
            .code(),
        Some("ResourceNotFound"),
        "flow-b was not created"
    );
    let s = emu.stats();
    assert_eq!(s.actions["UpdateSecret"].calls, calls_before);
    assert_eq!(s.actions["PutSecretValue"].calls, 0);
    assert_eq!(
        s.actions["CreateSecret"].calls, 5,
        "only the test's own set-up and the run locks of plan --out and apply"
    );
    assert!(p.journals().is_empty(), "no journal: no run was started");
}

#[tokio::test]
async fn a_saved_plan_is_refused_when_a_variable_differs_from_plan_time() {
    let emu = TestEmulator::start();
    emu.api().create("flow-var", "v1", "old").await;
    let p = Workspace::new(&emu).in_config_dir();
    p.write_config(
        "",
        r#"
variable "token" {
  type      = string
  sensitive = true
}

secret "v" {
  secret_name   = "flow-var"
  version_id    = "v1"
  secret_string = var.token
}
"#,
    );
    let out = p.run([
        "plan",
        "--out",
        "p.ssmplan",
        "--var",
        "token=first-canary5d1c",
    ]);
    out.assert_success();
    let out = p.run(["apply", "p.ssmplan", "--var", "token=second-canary9a2b"]);
    out.assert_exit(1)
        .assert_stderr_contains("configuration changed since the plan")
        .assert_stderr_contains("var.token");
    let leaks = Leaks::new(["first-canary5d1c", "second-canary9a2b"]);
    out.assert_no_leak(&leaks);
    p.assert_no_leak_in_files(&leaks);
    assert_eq!(value(&emu.api(), "flow-var").await, "old");

    // With the same variable the plan applies.
    let out = p.run(["apply", "p.ssmplan", "--var", "token=first-canary5d1c"]);
    out.assert_success();
    assert_eq!(value(&emu.api(), "flow-var").await, "first-canary5d1c");
}

#[tokio::test]
async fn without_a_terminal_and_without_auto_approve_apply_refuses_and_writes_nothing() {
    let emu = TestEmulator::start();
    seed(&emu).await;
    let p = flow_workspace(&emu);
    let out = p.run(["apply"]);
    out.assert_exit(1).assert_stderr_contains("--auto-approve");
    assert_eq!(value(&emu.api(), "flow-a").await, "old-a");
    let s = emu.stats();
    for action in ["UpdateSecret", "PutSecretValue"] {
        assert_eq!(s.actions[action].calls, 0, "{action}");
    }
    assert_eq!(
        s.actions["CreateSecret"].calls, 4,
        "only the test's own set-up and the run lock"
    );
    assert!(p.journals().is_empty());
    assert_eq!(p.planned().len(), 4);
}

/// The confirmation prompt, as the README quotes it.
const APPLY_PROMPT: &str = "Do you want to apply these changes?
  ssmform will make the changes described above.
  Only 'yes' will be accepted to approve.

  Enter a value:";

#[test]
fn the_readme_quotes_the_real_prompt() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    assert!(
        readme.contains(APPLY_PROMPT),
        "README.md does not quote:\n{APPLY_PROMPT}"
    );
}

#[tokio::test]
async fn on_a_terminal_apply_asks_and_only_yes_approves() {
    let emu = TestEmulator::start();
    seed(&emu).await;
    let p = flow_workspace(&emu);

    for answer in ["no\n", "Yes\n", "y\n"] {
        let out = p.run_on_terminal(&["apply"], answer);
        out.assert_exit(1);
        out.assert_stdout_contains(APPLY_PROMPT);
        assert_eq!(
            out.stdout.matches("Only 'yes'").count(),
            1,
            "{}",
            out.stdout
        );
        out.assert_stdout_contains("Apply cancelled: nothing was changed.");
    }
    assert_eq!(value(&emu.api(), "flow-a").await, "old-a");
    assert!(p.journals().is_empty());

    let out = p.run_on_terminal(&["apply"], "yes\n");
    out.assert_success()
        .assert_stdout_contains("Apply complete! Secrets: 2 created, 2 updated, 0 unchanged.");
    assert_eq!(value(&emu.api(), "flow-a").await, "alpha-canary3e1f9a");
    out.assert_no_leak(&leaks_of(&declared()));
}

#[tokio::test]
async fn json_format_reports_each_change_and_a_closing_apply_summary() {
    let emu = TestEmulator::start();
    seed(&emu).await;
    let p = flow_workspace(&emu);
    let out = p.run(["apply", "--auto-approve", "--format", "json"]);
    out.assert_success();
    let lines = json_lines(&out.stdout);
    for l in &lines {
        for field in ["@level", "@message", "@timestamp", "type"] {
            assert!(l.get(field).is_some(), "{field} missing in {l}");
        }
    }
    let of = |kind: &str| -> Vec<&serde_json::Value> {
        lines.iter().filter(|l| l["type"] == kind).collect()
    };
    assert_eq!(lines[0]["type"], "version");
    assert_eq!(planned_addresses(&out.stdout).len(), 4);
    let addrs = |kind: &str| -> std::collections::BTreeSet<String> {
        of(kind)
            .iter()
            .map(|l| l["hook"]["resource"]["addr"].as_str().unwrap().to_string())
            .collect()
    };
    let all: std::collections::BTreeSet<String> =
        declared().iter().map(Declared::address).collect();
    assert_eq!(addrs("apply_start"), all);
    assert_eq!(addrs("apply_complete"), all);
    for l in of("apply_complete") {
        assert_eq!(l["hook"]["request_id"].as_str().unwrap().len(), 36, "{l}");
    }
    assert!(of("apply_errored").is_empty());
    let last = lines.last().unwrap();
    assert_eq!(last["type"], "change_summary", "{last}");
    assert_eq!(last["changes"]["operation"], "apply");
    assert_eq!(last["changes"]["add"], 2);
    assert_eq!(last["changes"]["change"], 2);
    assert_eq!(last["changes"]["failed"], 0);
    assert_eq!(last["writes"], 4);
    assert_eq!(last["throttled"], 0);
    assert_eq!(of("change_summary").len(), 1, "one summary: the apply's");
    let leaks = leaks_of(&declared());
    out.assert_no_leak(&leaks);
    p.assert_no_leak_in_files(&leaks);
}

#[tokio::test]
async fn json_format_reports_a_failed_change_as_apply_errored() {
    let emu = TestEmulator::start();
    seed(&emu).await;
    let p = flow_workspace(&emu);
    let out = p.run(["plan", "--out", "p.ssmplan"]);
    out.assert_success();
    emu.api()
        .ok(
            "UpdateSecret",
            json!({"SecretName": "flow-a", "VersionId": "v1", "SecretString": "moved"}),
        )
        .await;
    let out = p.run(["apply", "p.ssmplan", "--format", "json"]);
    out.assert_exit(1);
    let lines = json_lines(&out.stdout);
    // A plan file's apply starts its stream as a directory's does.
    assert_eq!(lines[0]["type"], "version", "{}", out.stdout);
    assert_eq!(planned_addresses(&out.stdout).len(), 4);
    let errored: Vec<_> = lines
        .iter()
        .filter(|l| l["type"] == "apply_errored")
        .collect();
    assert_eq!(errored.len(), 1, "{}", out.stdout);
    assert_eq!(errored[0]["hook"]["resource"]["addr"], "secret.a");
    assert_eq!(errored[0]["@level"], "error");
    assert!(
        errored[0]["@message"]
            .as_str()
            .unwrap()
            .contains("changed outside ssmform since the plan"),
        "{}",
        errored[0]
    );
    let last = lines.last().unwrap();
    assert_eq!(last["type"], "change_summary");
    assert_eq!(last["@level"], "error");
    assert_eq!(last["changes"]["operation"], "apply");
    assert_eq!(last["changes"]["failed"], 1);
    assert_eq!(
        last["changes"]["skipped"], 1,
        "secret.c depends on secret.a"
    );
    assert_eq!(last["changes"]["add"], 2, "b created, d's version created");
    assert_eq!(last["changes"]["change"], 0);
}

#[tokio::test]
async fn a_tampered_plan_file_is_refused_and_nothing_is_written() {
    let emu = TestEmulator::start();
    seed(&emu).await;
    let p = flow_workspace(&emu);
    let out = p.run(["plan", "--out", "p.ssmplan"]);
    out.assert_success();
    let path = p.path("cfg/p.ssmplan");
    let mut bytes = std::fs::read(&path).unwrap();
    let i = bytes.len() / 2;
    bytes[i] ^= 0x01;
    std::fs::write(&path, bytes).unwrap();

    let out = p.run(["apply", "p.ssmplan"]);
    out.assert_exit(1);
    assert!(!out.stderr.is_empty());
    out.assert_stderr_not_contains("panicked");
    assert_eq!(value(&emu.api(), "flow-a").await, "old-a");
    assert!(p.journals().is_empty());
}

#[tokio::test]
async fn a_disabled_secret_gets_its_unverified_update_written() {
    // A Disabled secret cannot be read, so the plan cannot verify its content; apply still
    // writes it (UpdateSecret works on a Disabled secret) and leaves it Disabled.
    let emu = TestEmulator::start();
    let api = emu.api();
    api.create("flow-off", "v1", "old-off").await;
    api.ok("DisableSecret", json!({"SecretName": "flow-off"}))
        .await;
    let p = Workspace::new(&emu).in_config_dir();
    p.write_config(
        "",
        r#"
secret "off" {
  secret_name   = "flow-off"
  version_id    = "v1"
  secret_string = "new-off-canary61d0"
}
"#,
    );
    let out = p.run(["apply", "--auto-approve"]);
    out.assert_success()
        .assert_stdout_contains("Apply complete! Secrets: 0 created, 1 updated, 0 unchanged.");
    let status = api
        .ok("DescribeSecret", json!({"SecretName": "flow-off"}))
        .await;
    assert_eq!(status["Status"], "Disabled", "{status}");
    api.ok("EnableSecret", json!({"SecretName": "flow-off"}))
        .await;
    assert_eq!(value(&api, "flow-off").await, "new-off-canary61d0");
}

#[tokio::test]
async fn json_format_with_nothing_to_apply_is_still_a_json_stream_closed_by_an_apply_summary() {
    // Regression: a plan file without changes printed plain text into the JSON stream, and a
    // directory without changes closed with the plan's summary (operation "plan").
    let emu = TestEmulator::start();
    seed(&emu).await;
    let p = flow_workspace(&emu);
    let out = p.run(["apply", "--auto-approve"]);
    out.assert_success();
    let out = p.run(["plan", "--out", "empty.ssmplan"]);
    out.assert_success();

    for args in [
        vec!["apply", "--auto-approve", "--format", "json"],
        vec!["apply", "empty.ssmplan", "--format", "json"],
    ] {
        let out = p.run(args.clone());
        out.assert_success();
        let lines = json_lines(&out.stdout);
        assert_eq!(lines.first().unwrap()["type"], "version", "{args:?}");
        let last = lines.last().unwrap();
        assert_eq!(last["type"], "change_summary", "{args:?}: {last}");
        assert_eq!(last["changes"]["operation"], "apply", "{args:?}: {last}");
        assert_eq!(last["changes"]["unchanged"], 4, "{args:?}: {last}");
        assert_eq!(
            lines
                .iter()
                .filter(|l| l["type"] == "change_summary")
                .count(),
            1
        );
    }
}

#[tokio::test]
async fn secrets_created_by_someone_else_since_the_plan_are_refused_unless_they_hold_the_plan_s_content()
 {
    let emu = TestEmulator::start();
    let p = Workspace::new(&emu).in_config_dir();
    p.write_config(
        "",
        r#"
secret "same" {
  secret_name   = "race-same"
  version_id    = "v1"
  secret_string = "same-canary2b7e"
}

secret "other" {
  secret_name   = "race-other"
  version_id    = "v1"
  secret_string = "other-canary8f31"
}
"#,
    );
    let out = p.run(["plan", "--out", "p.ssmplan"]);
    out.assert_success();
    seed_secrets(
        &emu,
        &[
            ("race-same", "v1", "same-canary2b7e"),
            ("race-other", "v1", "theirs"),
        ],
    )
    .await;
    let api = emu.api();

    let out = p.run(["apply", "p.ssmplan"]);
    out.assert_exit(1).assert_stderr_contains("secret.other: refused, changed outside ssmform since the plan: the version now exists with other content");
    out.assert_stdout_contains(
        "Apply failed! Secrets: 0 created, 0 updated, 1 unchanged, 1 failed, 0 skipped.",
    );
    assert_eq!(value(&api, "race-other").await, "theirs");
    let lines = journal_lines(&p.journal());
    assert!(journal_intents(&lines).is_empty(), "nothing was written");
}

#[tokio::test]
async fn a_targeted_apply_writes_the_target_and_what_it_depends_on_only() {
    let emu = TestEmulator::start();
    seed(&emu).await;
    let p = flow_workspace(&emu);
    let out = p.run(["apply", "--auto-approve", "--target", "secret.c"]);
    out.assert_success();
    let api = emu.api();
    assert_eq!(value(&api, "flow-a").await, "alpha-canary3e1f9a");
    assert_eq!(value(&api, "flow-c").await, "charlie:alpha-canary3e1f9a");
    assert_eq!(version_value(&emu, "flow-d", "v2").await, None);
    assert_eq!(
        p.planned(),
        ["secret.b", "secret.d"].map(String::from).into()
    );
}

/// Regression: a plan file records its configuration directory as typed (`.`); applied from
/// another working directory it used to load whatever configuration was there.
#[tokio::test]
async fn a_saved_plan_applies_from_another_working_directory_and_names_missing_variables() {
    let emu = TestEmulator::start();
    let p = Workspace::new(&emu).in_config_dir();
    p.write_config(
        "",
        r#"
variable "token" {
  type      = string
  sensitive = true
}

secret "t" {
  secret_name   = "wd-token"
  version_id    = "v1"
  secret_string = var.token
}
"#,
    );
    let plans = tempfile::tempdir().unwrap();
    let plan_file = plans.path().join("wd-plan.ssmplan").display().to_string();
    let out = p.run([
        "plan",
        ".",
        "--var",
        "token=wd-canary-4411",
        "--out",
        &plan_file,
    ]);
    out.assert_success();

    // From elsewhere without the variable: refused, and the error says which inputs the plan had.
    let elsewhere = tempfile::tempdir().unwrap();
    let out = p.run_in(elsewhere.path(), ["apply", plan_file.as_str()]);
    let leaks = Leaks::new(["wd-canary-4411"]);
    out.assert_exit(1)
        .assert_stderr_contains("was made with the variables token")
        .assert_no_leak(&leaks);

    // With it: the configuration is found where the plan was made, and applied.
    let out = p.run_in(
        elsewhere.path(),
        ["apply", plan_file.as_str(), "--var", "token=wd-canary-4411"],
    );
    out.assert_success()
        .assert_stderr_contains("Using the configuration in")
        .assert_no_leak(&leaks);
    assert_eq!(value(&emu.api(), "wd-token").await, "wd-canary-4411");
    p.assert_no_leak_in_files(&leaks);
    leaks.assert_tree_clean(plans.path(), |_| false);
}
