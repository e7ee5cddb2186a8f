//! Exit codes of `plan` (0, 2 with `--detailed-exitcode`, 1 on error) and its errors, end to end:
//! a data source that does not exist, bad `--target`s, an unreachable endpoint. An error leaves no
//! plan file behind and, with `--format json`, still gives a machine a `diagnostic` line.

use serde_json::Value;

use crate::support::{TestEmulator, Workspace, seed_secrets};

const TWO_SECRETS: &str = r#"
secret "a" {
  secret_name   = "app-a"
  version_id    = "v1"
  secret_string = "value-a"
}

secret "b" {
  secret_name   = "app-b"
  version_id    = "v1"
  secret_string = "value-b-${secret.a.secret_string}"
}
"#;

fn json_lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

#[tokio::test]
async fn detailed_exitcode_is_2_with_changes_0_without_and_plain_plan_exits_0() {
    let emu = TestEmulator::start();
    let api = emu.api();
    let ws = Workspace::new(&emu).config(TWO_SECRETS);
    for format in ["text", "markdown", "json"] {
        let out = ws.run(["plan", "cfg", "--format", format, "--detailed-exitcode"]);
        out.assert_exit(2);
        let out = ws.run(["plan", "cfg", "--format", format]);
        out.assert_success();
    }
    seed_secrets(
        &emu,
        &[
            ("app-a", "v1", "value-a"),
            ("app-b", "v1", "value-b-value-a"),
        ],
    )
    .await;
    for format in ["text", "markdown", "json"] {
        let out = ws.run(["plan", "cfg", "--format", format, "--detailed-exitcode"]);
        out.assert_success()
            .assert_stdout_contains("Plan: 0 to create, 0 to update, 0 to delete, 2 unchanged.");
    }
    // Drift: one live value changed behind the configuration's back.
    api.ok(
        "UpdateSecret",
        serde_json::json!({"SecretName": "app-b", "VersionId": "v1", "SecretString": "drifted"}),
    )
    .await;
    let out = ws.run(["plan", "cfg", "--detailed-exitcode", "--format", "json"]);
    out.assert_exit(2);
    let lines = json_lines(&out.stdout);
    let summary = lines.last().unwrap();
    assert_eq!(summary["type"], "change_summary");
    assert_eq!(summary["changes"]["change"], 1);
    assert_eq!(summary["changes"]["unchanged"], 1);
}

#[tokio::test]
async fn errors_exit_1_even_with_detailed_exitcode() {
    let emu = TestEmulator::start();
    // A reference to nothing: a configuration error before any API call.
    let ws = Workspace::new(&emu).config(
        r#"
secret "a" {
  secret_name   = "app-a"
  version_id    = "v1"
  secret_string = var.nope
}
"#,
    );
    let out = ws.run(["plan", "cfg", "--detailed-exitcode", "--out", "p.ssmplan"]);
    out.assert_exit(1).assert_stderr_contains("cfg/main.hcl:5:");
    assert!(!ws.path("p.ssmplan").exists());
    out.assert_stderr_not_contains("panicked");
}

#[tokio::test]
async fn a_data_source_that_does_not_exist_is_an_error_at_its_block() {
    let emu = TestEmulator::start();
    seed_secrets(&emu, &[("db-root", "v1", "root-1")]).await;
    let ws = Workspace::new(&emu).config(
        r#"
data "ssm_secret" "root" {
  secret_name = "db-root"
  version_id  = "v3"
}

data "ssm_secret" "gone" {
  secret_name = "never-created"
  version_id  = "v1"
}

secret "db_url" {
  secret_name   = "app-db-url"
  version_id    = "v1"
  secret_string = "postgres://root:${data.ssm_secret.root.secret_string}@db/${data.ssm_secret.gone.secret_string}"
}
"#,
    );
    let out = ws.run(["plan", "cfg", "--detailed-exitcode", "--out", "p.ssmplan"]);
    out.assert_exit(1);
    assert_eq!(out.stdout, "", "no plan is printed");
    assert!(!ws.path("p.ssmplan").exists(), "no plan file is written");
    // Both problems are reported, each at its block, with what to check.
    let e = &out.stderr;
    assert!(
        e.contains("data.ssm_secret.root: cannot read secret \"db-root\" version \"v3\""),
        "{e}"
    );
    assert!(e.contains("--> cfg/main.hcl:2:1"), "{e}");
    assert!(
        e.contains("data.ssm_secret.gone: cannot read secret \"never-created\" version \"v1\""),
        "{e}"
    );
    assert!(e.contains("--> cfg/main.hcl:7:1"), "{e}");
    assert!(e.contains("ResourceNotFound"), "{e}");
    assert!(e.contains("check its secret_name and version_id"), "{e}");
    assert!(!e.contains("panicked"), "{e}");

    // JSON: a version line, then one diagnostic per problem with its range.
    let out = ws.run(["plan", "cfg", "--format", "json"]);
    out.assert_exit(1);
    let lines = json_lines(&out.stdout);
    assert_eq!(lines[0]["type"], "version");
    let diags: Vec<&Value> = lines.iter().filter(|l| l["type"] == "diagnostic").collect();
    assert_eq!(diags.len(), 2, "{}", out.stdout);
    for d in &diags {
        assert_eq!(d["@level"], "error");
        assert_eq!(d["diagnostic"]["severity"], "error");
        assert_eq!(d["diagnostic"]["range"]["filename"], "cfg/main.hcl");
    }
    let starts: Vec<i64> = diags
        .iter()
        .map(|d| d["diagnostic"]["range"]["start"]["line"].as_i64().unwrap())
        .collect();
    assert_eq!(starts, [2, 7]);
}

#[tokio::test]
async fn a_target_must_be_a_managed_secret_that_exists() {
    let emu = TestEmulator::start();
    let ws = Workspace::new(&emu).config(TWO_SECRETS);
    for (target, expect) in [
        ("secret.nope", "secret.nope"),
        (
            "data.ssm_secret.x",
            "a target must be a managed secret's address",
        ),
        ("a", "a target must be a managed secret's address"),
    ] {
        let out = ws.run(["plan", "cfg", "--target", target]);
        out.assert_exit(1);
        assert!(out.stderr.contains(expect), "{target}: {}", out.stderr);
        out.assert_stderr_not_contains("panicked");
    }
    // A good target plans it and its dependencies only.
    let out = ws.run(["plan", "cfg", "--target", "secret.a", "--format", "json"]);
    out.assert_success();
    let addrs: Vec<String> = json_lines(&out.stdout)
        .iter()
        .filter(|l| l["type"] == "planned_change")
        .map(|l| {
            l["change"]["resource"]["addr"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(addrs, ["secret.a"]);
}

/// `n` independent secrets `s0`..`s{n-1}`.
fn many_secrets(n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "secret \"s{i}\" {{\n  secret_name   = \"app-{i}\"\n  version_id    = \"v1\"\n  secret_string = \"value-{i}\"\n}}\n\n"
            )
        })
        .collect()
}

#[test]
fn an_unreachable_endpoint_is_reported_once_not_once_per_secret() {
    // Bind a port, then free it: nothing listens there.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let ws = Workspace::bare()
        .config(&many_secrets(12))
        .env("TENCENTCLOUD_SECRET_ID", "AKIDexample")
        .env("TENCENTCLOUD_SECRET_KEY", "example-key");
    ws.file(
        "cfg/provider.hcl",
        format!(
            "provider \"tencentcloud\" {{\n  region   = \"ap-guangzhou\"\n  endpoint = \"http://127.0.0.1:{port}\"\n}}\n"
        ),
    );
    let out = ws.run(["plan", "cfg", "--detailed-exitcode"]);
    out.assert_exit(1);
    let e = &out.stderr;
    assert!(
        e.contains(&format!("could not connect to http://127.0.0.1:{port}")),
        "the error names the endpoint: {e}"
    );
    assert_eq!(
        e.matches("cannot read the live value").count(),
        1,
        "one error for one cause: {e}"
    );
    assert!(
        e.contains("11 more secrets could not be read for the same reason: secret.s"),
        "{e}"
    );
    assert!(e.contains("and 6 more"), "{e}");
    assert!(!e.contains("panicked"), "{e}");
}

#[test]
fn rejected_credentials_are_reported_once_not_once_per_secret() {
    let emu = TestEmulator::start();
    let ws = Workspace::new(&emu)
        .config(&many_secrets(3))
        .env("TENCENTCLOUD_SECRET_KEY", "not-the-key");
    let out = ws.run(["plan", "cfg", "--format", "json"]);
    out.assert_exit(1);
    // Printed once: as JSON lines on stdout, nothing on stderr.
    assert!(out.stderr.is_empty(), "{}", out.stderr);
    let e = &out.stdout;
    assert_eq!(
        e.matches("\"summary\":\"cannot read the live value")
            .count(),
        1,
        "{e}"
    );
    assert!(e.contains("AuthFailure"), "{e}");
    assert!(
        e.contains("2 more secrets could not be read for the same reason: secret.s"),
        "{e}"
    );
    let diags: Vec<Value> = json_lines(&out.stdout)
        .into_iter()
        .filter(|l| l["type"] == "diagnostic")
        .collect();
    assert_eq!(diags.len(), 1, "{}", out.stdout);
    // The note travels in the JSON detail.
    assert!(
        diags[0]["diagnostic"]["detail"]
            .as_str()
            .unwrap()
            .starts_with("2 more secrets could not be read for the same reason"),
        "{}",
        out.stdout
    );
}

#[test]
fn missing_credentials_are_a_clear_error() {
    let emu = TestEmulator::start();
    let ws = Workspace::new(&emu)
        .config(TWO_SECRETS)
        .without_env("TENCENTCLOUD_SECRET_ID")
        .without_env("TENCENTCLOUD_SECRET_KEY");
    let out = ws.run(["plan", "cfg"]);
    out.assert_exit(1);
    assert!(
        out.stderr.contains("TENCENTCLOUD_SECRET_ID"),
        "says where credentials go: {}",
        out.stderr
    );
}
