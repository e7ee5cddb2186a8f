//! The whole lifecycle of a secret, end to end: the real binary against an emulator over HTTP.
//! `removed` blocks and restoring within the recovery window, `prevent_destroy`, orphans by
//! `default_tags` and by `manage_prefix`, `exclusive_versions`, description and status in both
//! directions, the drift kinds in JSON, SSM's limit of ten versions, the journal and re-applying
//! a saved plan, and a read-back with Tencent's Python SDK. Snapshots of the new plan shapes in
//! the three formats are `snapshots/plan__lifecycle_*.snap` (see `plan_snapshots.rs`).

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};
use ssmform::emulator::Action;

use crate::plan_snapshots::{ShowExpect, check};
use crate::support::apply::{journal_lines, json_lines};
use crate::support::plan::workspace;
use crate::support::{Api, Output, Seed, TestEmulator, Workspace};

/// Stdout and stderr together: the apply's result lines go to one or the other.
fn both(out: &Output) -> String {
    format!("{}{}", out.stdout, out.stderr)
}

fn summary(out: &Output) -> String {
    out.stdout
        .lines()
        .rev()
        .find(|l| l.starts_with("Plan: "))
        .unwrap_or_default()
        .to_string()
}

async fn describe(api: &Api, name: &str) -> Value {
    api.ok("DescribeSecret", json!({ "SecretName": name }))
        .await
}

async fn status(api: &Api, name: &str) -> String {
    describe(api, name).await["Status"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

async fn versions(api: &Api, name: &str) -> Vec<String> {
    let r = api
        .ok("ListSecretVersionIds", json!({ "SecretName": name }))
        .await;
    let mut v: Vec<String> = r["Versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["VersionId"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

const KEEP: &str = r#"
secret "keep" {
  secret_name   = "app-keep"
  version_id    = "v1"
  secret_string = "keep-value"
}
"#;

#[tokio::test]
async fn remove_then_restore_within_the_recovery_window() {
    let emu = TestEmulator::start();
    let api = emu.api();
    Seed::new()
        .secret("app-keep", "v1", "keep-value")
        .secret("app-old", "v1", "old-value")
        .version("app-old", "v2", "old-value-2")
        .secret("app-versions", "v1", "first")
        .version("app-versions", "v2", "second")
        .write(&emu)
        .await;
    let ws = Workspace::new(&emu).config(&format!(
        "{KEEP}\nremoved {{\n  secret_name          = \"app-old\"\n  recovery_window_days = 7\n}}\n\n\
         secret \"current\" {{\n  secret_name   = \"app-versions\"\n  version_id    = \"v2\"\n  secret_string = \"second\"\n}}\n\n\
         removed {{\n  secret_name = \"app-versions\"\n  version_id  = \"v1\"\n}}\n"
    ));
    let plan = ws.run(["plan", "cfg", "--detailed-exitcode"]);
    plan.assert_exit(2);
    assert_eq!(
        summary(&plan),
        "Plan: 0 to create, 0 to update, 2 to delete, 2 unchanged."
    );
    plan.assert_stdout_contains(
        "# removed.app-old will be deleted after a recovery window of 7 days",
    );
    plan.assert_stdout_contains("  - secret \"app-old\" {");
    plan.assert_stdout_contains("# removed.app-versions: version \"v1\" of secret \"app-versions\" will be deleted (removed)");

    let apply = ws.run(["apply", "cfg", "--auto-approve"]);
    apply.assert_success();
    let text = both(&apply);
    assert!(
        text.contains("removed.app-old: scheduled for deletion (DisableSecret + DeleteSecret"),
        "{text}"
    );
    assert!(
        text.contains("removed.app-versions (version v1): version deleted (DeleteSecretVersion"),
        "{text}"
    );
    assert!(
        text.contains("Apply complete! Secrets: 0 created, 0 updated, 2 deleted, 2 unchanged."),
        "{text}"
    );
    assert_eq!(status(&api, "app-old").await, "PendingDelete");
    assert!(
        describe(&api, "app-old").await["DeleteTime"]
            .as_i64()
            .unwrap()
            > 0
    );
    assert_eq!(versions(&api, "app-versions").await, ["v2"]);

    // Removed is removed: nothing more to do, and no drift.
    let again = ws.run(["plan", "cfg", "--detailed-exitcode"]);
    again.assert_exit(0);
    assert_eq!(
        summary(&again),
        "Plan: 0 to create, 0 to update, 0 to delete, 2 unchanged."
    );

    // Declared again within the window: restored (RestoreSecret), written, enabled.
    ws.file(
        "cfg/main.hcl",
        format!(
            "{KEEP}\nsecret \"old\" {{\n  secret_name   = \"app-old\"\n  version_id    = \"v2\"\n  secret_string = \"old-value-2-new\"\n}}\n"
        ),
    );
    let plan = ws.run(["plan", "cfg", "--detailed-exitcode"]);
    plan.assert_exit(2);
    plan.assert_stdout_contains(
        "~ status      = \"PendingDelete\" → \"Enabled\" # RestoreSecret, then EnableSecret",
    );
    plan.assert_stdout_contains(
        "# secret.old: secret \"app-old\" will be updated in place (pending_deletion)",
    );
    assert_eq!(
        summary(&plan),
        "Plan: 0 to create, 2 to update, 0 to delete, 1 unchanged."
    );
    let apply = ws.run(["apply", "cfg", "--auto-approve"]);
    apply.assert_success();
    let text = both(&apply);
    let restored = text
        .find("secret.old: restored (RestoreSecret")
        .expect(&text);
    let written = text.find("secret.old: updated (UpdateSecret").expect(&text);
    let enabled = text.find("secret.old: enabled (EnableSecret").expect(&text);
    assert!(
        restored < written && written < enabled,
        "restore, write, enable: {text}"
    );
    // Counted as the plan counts it: the version, and the restore with its EnableSecret as one.
    apply.assert_stdout_contains("Apply complete! Secrets: 0 created, 2 updated, 1 unchanged.");
    assert_eq!(status(&api, "app-old").await, "Enabled");
    let v = api
        .ok(
            "GetSecretValue",
            json!({"SecretName": "app-old", "VersionId": "v2"}),
        )
        .await;
    assert_eq!(v["SecretString"], "old-value-2-new");
    ws.run(["plan", "cfg", "--detailed-exitcode"])
        .assert_exit(0);

    // The journal holds an intent and an outcome for every operation, with its verdict.
    let lines: Vec<Value> = ws
        .journals()
        .iter()
        .flat_map(|j| journal_lines(j))
        .collect();
    for op in ["delete_secret", "delete_version", "restore", "enable"] {
        assert!(
            lines
                .iter()
                .any(|l| l["type"] == "op_intent" && l["op"] == op),
            "no intent for {op}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l["type"] == "op_outcome" && l["op"] == op && l["verdict"] == "applied"),
            "no applied outcome for {op}"
        );
    }
}

#[tokio::test]
async fn a_removal_short_of_the_window_needs_allow_immediate_and_then_deletes_at_once() {
    let emu = TestEmulator::start();
    let api = emu.api();
    Seed::new()
        .secret("app-keep", "v1", "keep-value")
        .secret("app-gone", "v1", "gone")
        .write(&emu)
        .await;
    let ws = Workspace::new(&emu).config(&format!(
        "{KEEP}\nremoved {{\n  secret_name          = \"app-gone\"\n  recovery_window_days = 0\n}}\n"
    ));
    let out = ws.run(["validate", "cfg"]);
    out.assert_exit(1);
    out.assert_stderr_contains("cfg/main.hcl:10:26");
    out.assert_stderr_contains("allow_immediate = true");
    ws.file(
        "cfg/main.hcl",
        format!(
            "{KEEP}\nremoved {{\n  secret_name          = \"app-gone\"\n  recovery_window_days = 0\n  allow_immediate      = true\n}}\n"
        ),
    );
    let plan = ws.run(["plan", "cfg"]);
    plan.assert_success();
    plan.assert_stdout_contains("will be deleted at once, with no recovery window");
    ws.run(["apply", "cfg", "--auto-approve"]).assert_success();
    api.err(
        "DescribeSecret",
        json!({"SecretName": "app-gone"}),
        "ResourceNotFound",
    )
    .await;
}

#[tokio::test]
async fn prevent_destroy_makes_a_removal_an_error() {
    let emu = TestEmulator::start();
    let ws = Workspace::new(&emu).config(
        r#"
secret "guarded" {
  secret_name   = "app-guarded"
  version_id    = "v1"
  secret_string = "guarded-value"

  lifecycle {
    prevent_destroy = true
  }
}

removed {
  secret_name = "app-guarded"
  version_id  = "v0"
}
"#,
    );
    for command in [vec!["validate", "cfg"], vec!["plan", "cfg"]] {
        let out = ws.run(&command);
        out.assert_exit(1);
        out.assert_stderr_contains("secret \"app-guarded\" cannot be removed: secret.guarded has lifecycle { prevent_destroy = true }");
        out.assert_stderr_contains("cfg/main.hcl:13:17");
    }
    // Nothing was read or written.
    let stats = emu.stats();
    assert_eq!(stats.action(Action::GetSecretValue).calls, 0);
    assert_eq!(stats.action(Action::CreateSecret).calls, 0);
}

#[tokio::test]
async fn orphans_by_tag_and_by_prefix_are_drift_that_apply_leaves_alone() {
    let emu = TestEmulator::start();
    let api = emu.api();
    Seed::new()
        .secret("team-declared", "v1", "declared")
        .secret("team-forgotten", "v1", "by-prefix")
        .secret("unrelated", "v1", "not ours")
        .write(&emu)
        .await;
    api.ok(
        "CreateSecret",
        json!({"SecretName": "tagged-elsewhere", "VersionId": "v1", "SecretString": "by-tag",
               "Tags": [{"TagKey": "owner", "TagValue": "team-a"}]}),
    )
    .await;
    let ws = Workspace::new(&emu);
    ws.write_config(
        "  default_tags  = { owner = \"team-a\" }\n  manage_prefix = \"team-\"",
        r#"
secret "declared" {
  secret_name   = "team-declared"
  version_id    = "v1"
  secret_string = "declared"
}
"#,
    );
    let plan = ws.run(["plan", "cfg", "--detailed-exitcode"]);
    plan.assert_exit(2);
    plan.assert_stdout_contains("# orphan.team-forgotten (orphan_secret)");
    plan.assert_stdout_contains("# orphan.tagged-elsewhere (orphan_secret)");
    plan.assert_stdout_not_contains("orphan.unrelated");
    plan.assert_stdout_not_contains("orphan.team-declared");
    plan.assert_stdout_not_contains("not ours");
    plan.assert_stdout_not_contains("by-prefix");
    // team-declared was not created with the default tags: drift ssmform cannot change.
    plan.assert_stdout_contains("# secret.declared (tags_differ)");
    assert_eq!(
        summary(&plan),
        "Plan: 0 to create, 0 to update, 0 to delete, 1 unchanged."
    );
    let json = ws.run(["plan", "cfg", "--format", "json"]);
    json.assert_success();
    let lines = json_lines(&json.stdout);
    let mut orphans: Vec<&str> = lines
        .iter()
        .filter(|l| l["type"] == "resource_drift" && l["drift"] == "orphan_secret")
        .map(|l| l["change"]["secret_name"].as_str().unwrap())
        .collect();
    orphans.sort();
    assert_eq!(orphans, ["tagged-elsewhere", "team-forgotten"]);
    let s = lines.last().unwrap();
    assert_eq!(
        s["changes"]["drift"],
        json!({"orphan_secret": 2, "tags_differ": 1})
    );
    // Apply has nothing to do, and the orphans stay.
    let apply = ws.run(["apply", "cfg", "--auto-approve"]);
    apply.assert_success();
    assert_eq!(status(&api, "team-forgotten").await, "Enabled");
    // A secret ssmform creates gets the default tags, so it is never drift.
    ws.file(
        "cfg/main.hcl",
        r#"
secret "fresh" {
  secret_name   = "team-fresh"
  version_id    = "v1"
  secret_string = "fresh"
  tags          = { app = "payments" }
}
removed {
  secret_name = "team-forgotten"
}
removed {
  secret_name = "team-declared"
}
removed {
  secret_name = "tagged-elsewhere"
}
"#,
    );
    ws.run(["apply", "cfg", "--auto-approve"]).assert_success();
    ws.run(["plan", "cfg", "--detailed-exitcode"])
        .assert_exit(0);
}

#[tokio::test]
async fn exclusive_versions_deletes_the_versions_no_block_declares() {
    let emu = TestEmulator::start();
    let api = emu.api();
    Seed::new()
        .secret("app-rotating", "v1", "one")
        .version("app-rotating", "v2", "two")
        .version("app-rotating", "v3", "three")
        .write(&emu)
        .await;
    let config = |exclusive: bool| {
        format!(
            "secret \"current\" {{\n  secret_name        = \"app-rotating\"\n  version_id         = \"v3\"\n  secret_string      = \"three\"\n  exclusive_versions = {exclusive}\n}}\n"
        )
    };
    // Without exclusive_versions, under manage_prefix, undeclared versions are drift only.
    let ws = Workspace::new(&emu);
    ws.write_config("  manage_prefix = \"app-\"", &config(false));
    let plan = ws.run(["plan", "cfg", "--detailed-exitcode"]);
    plan.assert_exit(2);
    plan.assert_stdout_contains(
        "# secret.current (undeclared_version): version \"v1\" of secret \"app-rotating\" is not declared",
    );
    assert_eq!(
        summary(&plan),
        "Plan: 0 to create, 0 to update, 0 to delete, 1 unchanged."
    );
    ws.run(["apply", "cfg", "--auto-approve"]).assert_success();
    assert_eq!(versions(&api, "app-rotating").await, ["v1", "v2", "v3"]);

    ws.write_config("", &config(true));
    let plan = ws.run(["plan", "cfg", "--detailed-exitcode"]);
    plan.assert_exit(2);
    assert_eq!(
        summary(&plan),
        "Plan: 0 to create, 0 to update, 2 to delete, 1 unchanged."
    );
    plan.assert_stdout_contains("# secret.current: version \"v2\" of secret \"app-rotating\" will be deleted (undeclared_version)");
    ws.run(["apply", "cfg", "--auto-approve"]).assert_success();
    assert_eq!(versions(&api, "app-rotating").await, ["v3"]);
    ws.run(["plan", "cfg", "--detailed-exitcode"])
        .assert_exit(0);
}

#[tokio::test]
async fn description_and_status_follow_the_configuration_both_ways() {
    let emu = TestEmulator::start();
    let api = emu.api();
    Seed::new()
        .secret("app-meta", "v1", "meta-value")
        .write(&emu)
        .await;
    api.ok(
        "UpdateDescription",
        json!({"SecretName": "app-meta", "Description": "written by hand"}),
    )
    .await;
    let config = |description: &str, enabled: bool| {
        format!(
            "secret \"meta\" {{\n  secret_name   = \"app-meta\"\n  version_id    = \"v1\"\n  secret_string = \"meta-value\"\n  description   = \"{description}\"\n  enabled       = {enabled}\n}}\n"
        )
    };
    let ws = Workspace::new(&emu).config(&config("the meta secret", false));
    let plan = ws.run(["plan", "cfg", "--detailed-exitcode"]);
    plan.assert_exit(2);
    plan.assert_stdout_contains("~ status      = \"Enabled\" → \"Disabled\" # DisableSecret");
    plan.assert_stdout_contains(
        "~ description = \"the meta secret\" # the live description differs (not shown)",
    );
    // The live description is the server's: never shown.
    plan.assert_stdout_not_contains("written by hand");
    assert_eq!(
        summary(&plan),
        "Plan: 0 to create, 1 to update, 0 to delete, 1 unchanged."
    );
    ws.run(["apply", "cfg", "--auto-approve"]).assert_success();
    let d = describe(&api, "app-meta").await;
    assert_eq!(d["Status"], "Disabled");
    assert_eq!(d["Description"], "the meta secret");
    // A Disabled secret cannot be read: its version is an unverified update, nothing else.
    let plan = ws.run(["plan", "cfg", "--format", "json"]);
    let kinds: Vec<Value> = json_lines(&plan.stdout)
        .iter()
        .filter(|l| l["type"] == "planned_change")
        .map(|l| l["drift"].clone())
        .collect();
    assert_eq!(kinds, [json!("content_unreadable")]);

    ws.file("cfg/main.hcl", config("the meta secret, v2", true));
    let plan = ws.run(["plan", "cfg"]);
    plan.assert_stdout_contains("~ status      = \"Disabled\" → \"Enabled\" # EnableSecret");
    ws.run(["apply", "cfg", "--auto-approve"]).assert_success();
    let d = describe(&api, "app-meta").await;
    assert_eq!(d["Status"], "Enabled");
    assert_eq!(d["Description"], "the meta secret, v2");
    ws.run(["plan", "cfg", "--detailed-exitcode"])
        .assert_exit(0);
}

#[tokio::test]
async fn the_record_of_non_sensitive_content_survives_a_description_change() {
    let emu = TestEmulator::start();
    let api = emu.api();
    let ws = Workspace::new(&emu).config(
        "secret \"conf\" {\n  secret_name   = \"app-conf\"\n  version_id    = \"v1\"\n  secret_string = \"a = 1\\n\"\n  sensitive     = false\n  description   = \"first\"\n}\n",
    );
    ws.run(["apply", "cfg", "--auto-approve"]).assert_success();
    let before = describe(&api, "app-conf").await["Description"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(before.starts_with("first\n[ssmform:shown v1="), "{before}");
    ws.file(
        "cfg/main.hcl",
        "secret \"conf\" {\n  secret_name   = \"app-conf\"\n  version_id    = \"v1\"\n  secret_string = \"a = 1\\n\"\n  sensitive     = false\n  description   = \"second\"\n}\n",
    );
    ws.run(["apply", "cfg", "--auto-approve"]).assert_success();
    let after = describe(&api, "app-conf").await["Description"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(after, before.replacen("first", "second", 1));
    ws.run(["plan", "cfg", "--detailed-exitcode"])
        .assert_exit(0);
}

#[tokio::test]
async fn every_drift_kind_has_its_stable_name_in_json() {
    let emu = TestEmulator::start();
    let api = emu.api();
    Seed::new()
        .secret("kind-content", "v1", "live")
        .secret("kind-version", "v1", "one")
        .secret("kind-pending", "v1", "pending")
        .pending_delete("kind-pending")
        .secret("kind-disabled", "v1", "disabled")
        .disabled("kind-disabled")
        .secret("kind-enabled", "v1", "enabled")
        .secret("kind-described", "v1", "described")
        .secret("kind-untagged", "v1", "untagged")
        .secret("kind-orphan", "v1", "orphan")
        .secret("kind-extra", "v1", "extra-1")
        .version("kind-extra", "v2", "extra-2")
        .secret("kind-removed", "v1", "removed")
        .write(&emu)
        .await;
    let block = |label: &str, name: &str, version: &str, value: &str, extra: &str| {
        format!(
            "secret \"{label}\" {{\n  secret_name   = \"{name}\"\n  version_id    = \"{version}\"\n  secret_string = \"{value}\"\n{extra}}}\n"
        )
    };
    let config = [
        block("content", "kind-content", "v1", "declared", ""),
        block("version", "kind-version", "v2", "two", ""),
        block("missing", "kind-missing", "v1", "new", ""),
        block("pending", "kind-pending", "v1", "pending", ""),
        block(
            "disabled",
            "kind-disabled",
            "v1",
            "disabled",
            "  enabled = true\n",
        ),
        block(
            "enabled",
            "kind-enabled",
            "v1",
            "enabled",
            "  enabled = false\n",
        ),
        block(
            "described",
            "kind-described",
            "v1",
            "described",
            "  description = \"declared\"\n",
        ),
        block(
            "untagged",
            "kind-untagged",
            "v1",
            "untagged",
            "  tags = { team = \"a\" }\n",
        ),
        block("extra", "kind-extra", "v2", "extra-2", ""),
        "removed {\n  secret_name = \"kind-removed\"\n}\n".to_string(),
    ]
    .join("\n");
    let ws = Workspace::new(&emu);
    ws.write_config("  manage_prefix = \"kind-\"", &config);
    let out = ws.run(["plan", "cfg", "--format", "json", "--detailed-exitcode"]);
    out.assert_exit(2);
    let lines = json_lines(&out.stdout);
    let mut kinds: Vec<(String, String)> = lines
        .iter()
        .filter(|l| l["type"] == "planned_change" || l["type"] == "resource_drift")
        .map(|l| {
            let what = l["change"]["resource"]["addr"]
                .as_str()
                .unwrap()
                .to_string();
            (what, l["drift"].as_str().unwrap().to_string())
        })
        .collect();
    kinds.sort();
    kinds.dedup();
    let want: Vec<(String, String)> = [
        ("orphan.kind-orphan", "orphan_secret"),
        ("removed.kind-removed", "removed"),
        ("secret.content", "content_differs"),
        ("secret.described", "description_differs"),
        ("secret.disabled", "content_unreadable"),
        ("secret.disabled", "disabled"),
        ("secret.enabled", "enabled"),
        ("secret.extra", "undeclared_version"),
        ("secret.missing", "secret_missing"),
        ("secret.pending", "content_unreadable"),
        ("secret.pending", "pending_deletion"),
        ("secret.untagged", "tags_differ"),
        ("secret.version", "undeclared_version"),
        ("secret.version", "version_missing"),
    ]
    .into_iter()
    .map(|(a, k)| (a.to_string(), k.to_string()))
    .collect();
    assert_eq!(kinds, want);
    // Every planned change and diagnostic line carries `drift`; the summary counts by kind.
    for l in &lines {
        if ["planned_change", "resource_drift", "diagnostic"].contains(&l["type"].as_str().unwrap())
        {
            assert!(l.get("drift").is_some(), "no drift field: {l}");
        }
    }
    let s = lines.last().unwrap();
    assert_eq!(s["type"], "change_summary");
    assert_eq!(s["changes"]["remove"], 1);
    assert_eq!(s["changes"]["drift"]["pending_deletion"], 2);
    assert_eq!(s["changes"]["drift"]["orphan_secret"], 1);

    // A different KMS key is an error, with its kind, that says the key cannot change.
    api.ok(
        "CreateSecret",
        json!({"SecretName": "kind-kms", "VersionId": "v1", "SecretString": "k", "KmsKeyId": "key-live"}),
    )
    .await;
    ws.write_config(
        "",
        &block(
            "kms",
            "kind-kms",
            "v1",
            "k",
            "  kms_key_id = \"key-declared\"\n",
        ),
    );
    let out = ws.run(["plan", "cfg", "--format", "json"]);
    out.assert_exit(1);
    let lines = json_lines(&out.stdout);
    let diag = lines
        .iter()
        .find(|l| l["type"] == "diagnostic")
        .expect("a diagnostic line");
    assert_eq!(diag["drift"], "kms_key_differs");
    assert!(
        diag["diagnostic"]["summary"]
            .as_str()
            .unwrap()
            .contains("a secret's KMS key cannot change"),
        "{diag}"
    );
}

#[tokio::test]
async fn an_eleventh_version_is_an_error_naming_the_versions_unless_room_is_made() {
    let emu = TestEmulator::start();
    let api = emu.api();
    let mut seed = Seed::new().secret("app-crowded", "v1", "crowded-1");
    for i in 2..=10 {
        seed = seed.version("app-crowded", &format!("v{i}"), format!("crowded-{i}"));
    }
    seed.write(&emu).await;
    let config = |extra: &str| {
        format!(
            "secret \"crowded\" {{\n  secret_name   = \"app-crowded\"\n  version_id    = \"v11\"\n  secret_string = \"one-too-many\"\n{extra}}}\n"
        )
    };
    let ws = Workspace::new(&emu).config(&config(""));
    let out = ws.run(["plan", "cfg"]);
    out.assert_exit(1);
    out.assert_stderr_contains("secret \"app-crowded\" has 10 versions (v1, v2, v3, v4, v5, v6, v7, v8, v9, v10); adding v11 would pass SSM's limit of 10 versions per secret");
    out.assert_stderr_contains("exclusive_versions = true");
    out.assert_stderr_contains("removed {");
    out.assert_stderr_contains("cfg/main.hcl:1:1");
    // exclusive_versions makes room first: the undeclared versions go before v11 is written.
    ws.file("cfg/main.hcl", config("  exclusive_versions = true\n"));
    let plan = ws.run(["plan", "cfg"]);
    plan.assert_success();
    assert_eq!(
        summary(&plan),
        "Plan: 1 to create, 0 to update, 10 to delete, 0 unchanged."
    );
    let apply = ws.run(["apply", "cfg", "--auto-approve"]);
    apply.assert_success();
    // Only the deletion that makes room runs before the new version is written.
    let text = both(&apply);
    let first = text
        .find("secret.crowded (version v1): version deleted")
        .expect(&text);
    let created = text
        .find("secret.crowded: created (PutSecretValue")
        .expect(&text);
    let second = text
        .find("secret.crowded (version v2): version deleted")
        .expect(&text);
    assert!(first < created && created < second, "{text}");
    assert_eq!(versions(&api, "app-crowded").await, ["v11"]);
}

#[tokio::test]
async fn a_saved_plan_applied_twice_finds_its_operations_done() {
    let emu = TestEmulator::start();
    let api = emu.api();
    Seed::new()
        .secret("app-keep", "v1", "keep-value")
        .secret("app-old", "v1", "old-value")
        .write(&emu)
        .await;
    let ws = Workspace::new(&emu).config(&format!(
        "{KEEP}\nremoved {{\n  secret_name = \"app-old\"\n}}\n"
    ));
    ws.run(["plan", "cfg", "--out", "plan.ssmplan"])
        .assert_success();
    ws.run(["apply", "plan.ssmplan"]).assert_success();
    assert_eq!(status(&api, "app-old").await, "PendingDelete");
    // As a run killed after its DeleteSecret would leave things: applying again does nothing.
    let again = ws.run(["apply", "plan.ssmplan"]);
    again.assert_success();
    let text = both(&again);
    assert!(
        text.contains("removed.app-old: already scheduled for deletion; nothing done"),
        "{text}"
    );
    // A plan whose removed block is gone from the configuration is refused.
    ws.run(["plan", "cfg", "--out", "plan2.ssmplan"])
        .assert_success();
    ws.file("cfg/main.hcl", KEEP);
    let shown = ws.run(["show", "plan.ssmplan"]);
    shown.assert_success();
    let refused = ws.run(["apply", "plan.ssmplan"]);
    refused.assert_exit(1);
    assert!(
        both(&refused)
            .contains("the removed block of secret \"app-old\" is no longer in the configuration"),
        "{}",
        both(&refused)
    );
}

/// The venv with Tencent's Python SDK (see `emulator_python.rs`).
fn python() -> std::path::PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("bash")
        .arg(root.join("tests/python/setup.sh"))
        .output()
        .expect("bash runs");
    assert!(
        out.status.success(),
        "tests/python/setup.sh failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    root.join("target/py-venv/bin/python")
}

#[tokio::test]
async fn the_python_sdk_reads_back_status_description_and_tags() {
    let emu = TestEmulator::start();
    let ws = Workspace::new(&emu);
    ws.write_config(
        "  default_tags = { owner = \"team-a\" }",
        r#"
secret "quiet" {
  secret_name   = "sdk-quiet"
  version_id    = "v1"
  secret_string = "quiet-value"
  description   = "kept disabled"
  enabled       = false
  tags          = { app = "billing" }
}

secret "loud" {
  secret_name   = "sdk-loud"
  version_id    = "v1"
  secret_string = "loud-value"
  description   = "in use"
}
"#,
    );
    ws.run(["apply", "cfg", "--auto-approve"]).assert_success();
    let cred = emu.credential().clone();
    let out = Command::new(python())
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/lifecycle_readback.py"))
        .args(["sdk-quiet", "sdk-loud"])
        .env("SSM_ENDPOINT", emu.addr().to_string())
        .env("TENCENTCLOUD_SECRET_ID", &cred.secret_id)
        .env("TENCENTCLOUD_SECRET_KEY", &cred.secret_key)
        .env("LIFECYCLE_TAGS", r#"{"owner": "team-a", "app": "billing"}"#)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: Value = serde_json::from_slice(&out.stdout).expect("JSON from the script");
    assert_eq!(
        got,
        json!({
            "sdk-quiet": {"status": "Disabled", "description": "kept disabled", "tagged": true},
            "sdk-loud": {"status": "Enabled", "description": "in use", "tagged": false},
        })
    );
}

// Snapshots of the new plan shapes, in the three formats.

#[tokio::test]
async fn snapshot_removal_and_exclusive_versions() {
    let emu = TestEmulator::start();
    Seed::new()
        .secret("app-keep", "v1", "keep-value")
        .version("app-keep", "v0", "older")
        .secret("app-old", "v1", "old-value")
        .secret("app-versions", "v1", "first")
        .version("app-versions", "v2", "second")
        .write(&emu)
        .await;
    let ws = workspace(&emu, "lifecycle_removal");
    check("lifecycle_removal", &ws, &[], 2, ShowExpect::SameAsPlan);
}

#[tokio::test]
async fn snapshot_description_status_and_tags() {
    let emu = TestEmulator::start();
    let api = emu.api();
    Seed::new()
        .secret("app-on", "v1", "on-value")
        .secret("app-off", "v1", "off-value")
        .disabled("app-off")
        .secret("app-described", "v1", "described-value")
        .write(&emu)
        .await;
    api.ok(
        "UpdateDescription",
        json!({"SecretName": "app-described", "Description": "live description, never shown"}),
    )
    .await;
    let ws = workspace(&emu, "lifecycle_metadata");
    check("lifecycle_metadata", &ws, &[], 2, ShowExpect::SameAsPlan);
}

#[tokio::test]
async fn snapshot_orphans_and_undeclared_versions() {
    let emu = TestEmulator::start();
    let api = emu.api();
    Seed::new()
        .secret("team-app", "v1", "app-value")
        .version("team-app", "v0", "older")
        .secret("team-forgotten", "v1", "forgotten")
        .write(&emu)
        .await;
    api.ok(
        "CreateSecret",
        json!({"SecretName": "elsewhere", "VersionId": "v1", "SecretString": "x",
               "Tags": [{"TagKey": "owner", "TagValue": "team-a"}]}),
    )
    .await;
    let ws = workspace(&emu, "lifecycle_orphans");
    ws.provider("  default_tags  = { owner = \"team-a\" }\n  manage_prefix = \"team-\"");
    check("lifecycle_orphans", &ws, &[], 2, ShowExpect::SameAsPlan);
}

#[tokio::test]
async fn snapshot_drift_without_changes() {
    let emu = TestEmulator::start();
    Seed::new()
        .secret("team-app", "v1", "app-value")
        .secret("team-forgotten", "v1", "forgotten")
        .write(&emu)
        .await;
    let ws = workspace(&emu, "lifecycle_drift_only");
    ws.provider("  manage_prefix = \"team-\"");
    check("lifecycle_drift_only", &ws, &[], 2, ShowExpect::SameAsPlan);
}

// Honest verdicts for operations on whole secrets, as for writes (see `apply_honesty.rs`).

/// A workspace whose provider block points at `endpoint` (with `emu`'s credentials).
fn workspace_at(emu: &TestEmulator, endpoint: &str, config: &str) -> Workspace {
    let ws = Workspace::new(emu).config(config);
    ws.file(
        "cfg/provider.hcl",
        format!(
            "provider \"tencentcloud\" {{\n  region   = \"{}\"\n  endpoint = \"{endpoint}\"\n}}\n",
            crate::support::REGION
        ),
    );
    ws
}

/// The `op_outcome` lines of the workspace's journal: (op, result, verdict).
fn op_outcomes(ws: &Workspace) -> Vec<(String, String, String)> {
    journal_lines(&ws.journal())
        .into_iter()
        .filter(|l| l["type"] == "op_outcome")
        .map(|l| {
            let s = |k: &str| l[k].as_str().unwrap_or_default().to_string();
            (s("op"), s("result"), s("verdict"))
        })
        .collect()
}

#[tokio::test]
async fn a_deletion_whose_answer_was_lost_is_applied_when_reading_back_finds_it() {
    use crate::support::fake::{Answer, Fake};
    let emu = TestEmulator::start();
    Seed::new()
        .secret("app-keep", "v1", "keep-value")
        .secret("app-old", "v1", "old-value")
        .write(&emu)
        .await;
    let fake = Fake::start(Some(emu.addr()), |s| {
        match (s.action.as_str(), s.nth) {
        ("DeleteSecret", 0) => Answer::ForwardThenDrop,
        ("DeleteSecret", _) => Answer::Raw(
            b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/html\r\nContent-Length: 9\r\n\r\nForbidden"
                .to_vec(),
        ),
        _ => Answer::Forward,
    }
    });
    let ws = workspace_at(
        &emu,
        &fake.endpoint(),
        &format!("{KEEP}\nremoved {{\n  secret_name = \"app-old\"\n}}\n"),
    );
    let out = ws.run(["apply", "cfg", "--auto-approve", "-lock=false"]);
    out.assert_success();
    assert!(
        both(&out).contains("reading the secret back shows it took effect"),
        "{}",
        both(&out)
    );
    assert_eq!(status(&emu.api(), "app-old").await, "PendingDelete");
    assert_eq!(
        op_outcomes(&ws),
        [(
            "delete_secret".to_string(),
            "applied".to_string(),
            "applied".to_string()
        )]
    );
}

#[tokio::test]
async fn an_operation_that_cannot_be_verified_is_unknown() {
    use crate::support::fake::{Answer, Fake};
    let emu = TestEmulator::start();
    Seed::new()
        .secret("app-meta", "v1", "meta-value")
        .write(&emu)
        .await;
    let fake = Fake::start(Some(emu.addr()), |s| match (s.action.as_str(), s.nth) {
        // The plan's read, and the operation's own read first.
        ("GetSecretValue", _) | ("DescribeSecret", 0) => Answer::Forward,
        ("DisableSecret", 0) => Answer::ForwardThenDrop,
        _ => Answer::Close,
    });
    let ws = workspace_at(
        &emu,
        &fake.endpoint(),
        "secret \"meta\" {\n  secret_name   = \"app-meta\"\n  version_id    = \"v1\"\n  secret_string = \"meta-value\"\n  enabled       = false\n}\n",
    );
    let out = ws.run_with(
        ["apply", "cfg", "--auto-approve", "-lock=false"],
        &[("SSMFORM_RETRY_TIMEOUT", "1s")],
    );
    out.assert_exit(1);
    let text = both(&out);
    assert!(
        text.contains("1 unknown (may have taken effect; run `ssmform plan`)"),
        "{text}"
    );
    assert!(
        text.contains("secret.meta: outcome unknown: DisableSecret"),
        "{text}"
    );
    assert_eq!(
        op_outcomes(&ws),
        [(
            "disable".to_string(),
            "unknown".to_string(),
            "unknown".to_string()
        )]
    );
    // It did land.
    assert_eq!(status(&emu.api(), "app-meta").await, "Disabled");
}

#[tokio::test]
async fn an_answer_that_is_not_the_apis_is_not_applied_when_reading_back_says_so() {
    use crate::support::fake::{Answer, Fake};
    let emu = TestEmulator::start();
    Seed::new()
        .secret("app-meta", "v1", "meta-value")
        .write(&emu)
        .await;
    let fake = Fake::start(Some(emu.addr()), |s| match s.action.as_str() {
        "UpdateDescription" => Answer::Json(
            r#"{"Response":{"RequestId":"00000000-0000-0000-0000-000000000000"}}"#.into(),
        ),
        _ => Answer::Forward,
    });
    let ws = workspace_at(
        &emu,
        &fake.endpoint(),
        "secret \"meta\" {\n  secret_name   = \"app-meta\"\n  version_id    = \"v1\"\n  secret_string = \"meta-value\"\n  description   = \"declared\"\n}\n",
    );
    let out = ws.run(["apply", "cfg", "--auto-approve", "-lock=false"]);
    out.assert_exit(1);
    let text = both(&out);
    assert!(
        text.contains("reading the secret back shows the operation did not take effect"),
        "{text}"
    );
    assert_eq!(
        op_outcomes(&ws),
        [(
            "update_description".to_string(),
            "failed".to_string(),
            "not_applied".to_string()
        )]
    );
    assert_eq!(describe(&emu.api(), "app-meta").await["Description"], "");
}

#[tokio::test]
async fn a_configuration_without_lifecycle_settings_costs_the_calls_it_always_did() {
    let emu = TestEmulator::start();
    Seed::new()
        .secret("app-a", "v1", "a")
        .secret("app-b", "v1", "b")
        .secret("app-c", "v1", "c")
        .write(&emu)
        .await;
    let before = emu.stats();
    let config: String = ["a", "b", "c"]
        .iter()
        .map(|l| {
            format!(
                "secret \"{l}\" {{\n  secret_name   = \"app-{l}\"\n  version_id    = \"v1\"\n  secret_string = \"{l}\"\n}}\n"
            )
        })
        .collect();
    let ws = Workspace::new(&emu).config(&config);
    ws.run(["plan", "cfg", "--detailed-exitcode"])
        .assert_exit(0);
    let after = emu.stats();
    let calls = |a: Action| after.action(a).calls - before.action(a).calls;
    assert_eq!(calls(Action::GetSecretValue), 3);
    for a in [
        Action::DescribeSecret,
        Action::ListSecrets,
        Action::ListSecretVersionIds,
    ] {
        assert_eq!(calls(a), 0, "{a:?}");
    }
}

#[tokio::test]
async fn descriptions_come_from_the_listing_when_a_plan_lists_the_region() {
    let emu = TestEmulator::start();
    let config: String = (0..24)
        .map(|i| {
            format!(
                "secret \"s{i:02}\" {{\n  secret_name   = \"listed-{i:02}\"\n  version_id    = \"v1\"\n  secret_string = \"value-{i}\"\n  description   = \"secret {i}\"\n}}\n"
            )
        })
        .collect();
    let ws = Workspace::new(&emu).config(&config);
    ws.run(["apply", "cfg", "--auto-approve"]).assert_success();
    // One description changed by hand.
    emu.api()
        .ok(
            "UpdateDescription",
            json!({"SecretName": "listed-07", "Description": "changed by hand"}),
        )
        .await;
    let before = emu.stats();
    let plan = ws.run(["plan", "cfg", "--detailed-exitcode"]);
    plan.assert_exit(2);
    plan.assert_stdout_contains(
        "# secret.s07: secret \"listed-07\" will be updated in place (description_differs)",
    );
    assert_eq!(
        summary(&plan),
        "Plan: 0 to create, 1 to update, 0 to delete, 24 unchanged."
    );
    let after = emu.stats();
    let calls = |a: Action| after.action(a).calls - before.action(a).calls;
    assert!(calls(Action::ListSecrets) >= 1);
    assert_eq!(calls(Action::DescribeSecret), 0);
}

#[tokio::test]
async fn a_saved_plan_is_refused_when_the_configuration_no_longer_asks_for_its_operations() {
    let emu = TestEmulator::start();
    let api = emu.api();
    Seed::new()
        .secret("app-meta", "v1", "meta-value")
        .write(&emu)
        .await;
    let config = |description: &str, enabled: bool| {
        format!(
            "secret \"meta\" {{\n  secret_name   = \"app-meta\"\n  version_id    = \"v1\"\n  secret_string = \"meta-value\"\n  description   = \"{description}\"\n  enabled       = {enabled}\n}}\n"
        )
    };
    let ws = Workspace::new(&emu).config(&config("reviewed", false));
    ws.run(["plan", "cfg", "--out", "plan.ssmplan"])
        .assert_success();
    ws.file("cfg/main.hcl", config("changed after review", true));
    let out = ws.run(["apply", "plan.ssmplan"]);
    out.assert_exit(1);
    let text = both(&out);
    assert!(
        text.contains("secret.meta: the configuration no longer asks to set the description of secret \"app-meta\" as planned"),
        "{text}"
    );
    assert!(
        text.contains("secret.meta: the configuration no longer asks to disable secret \"app-meta\" as planned"),
        "{text}"
    );
    let d = describe(&api, "app-meta").await;
    assert_eq!(d["Status"], "Enabled");
    assert_eq!(d["Description"], "");
}

/// A saved plan's deletion of an undeclared version is refused once a block declares that
/// version, or `exclusive_versions` is gone: applying it would delete what the configuration now
/// wants. Nothing is deleted.
#[tokio::test]
async fn a_saved_plan_does_not_delete_a_version_the_configuration_now_declares() {
    let emu = TestEmulator::start();
    let api = emu.api();
    Seed::new()
        .secret("app-rotating", "v1", "one")
        .version("app-rotating", "v2", "two")
        .write(&emu)
        .await;
    let block = |label: &str, version: &str, value: &str, exclusive: bool| {
        format!(
            "secret \"{label}\" {{\n  secret_name        = \"app-rotating\"\n  version_id         = \"{version}\"\n  secret_string      = \"{value}\"\n  exclusive_versions = {exclusive}\n}}\n"
        )
    };
    let ws = Workspace::new(&emu).config(&block("current", "v2", "two", true));
    ws.run(["plan", "cfg", "--out", "plan.ssmplan"])
        .assert_success();
    ws.file(
        "cfg/main.hcl",
        format!(
            "{}{}",
            block("current", "v2", "two", true),
            block("previous", "v1", "one", true)
        ),
    );
    let out = ws.run(["apply", "plan.ssmplan"]);
    out.assert_exit(1);
    let text = both(&out);
    assert!(
        text.contains("the configuration no longer asks to delete an undeclared version of secret \"app-rotating\""),
        "{text}"
    );
    ws.file("cfg/main.hcl", block("current", "v2", "two", false));
    ws.run(["apply", "plan.ssmplan"]).assert_exit(1);
    assert_eq!(versions(&api, "app-rotating").await, ["v1", "v2"]);
}
