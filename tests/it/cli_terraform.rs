//! A Terraform user feels at home: a CI script written for Terraform runs unchanged with
//! `terraform` replaced by `ssmform`, Terraform's flags without an equivalent are refused with the
//! reason, `version` is shaped like Terraform's, results go to stdout and diagnostics to stderr,
//! and a variable given on the command line that nothing uses is named in a warning (never its
//! value).

use std::process::Command;

use serde_json::Value;

use crate::support::{Leaks, Ssmform, ssmform_bin, temp_dir};

const CONFIG: &str = r#"provider "tencentcloud" {
  endpoint = "local"
}

variable "env" {
  type = string
}

variable "log_level" {
  type    = string
  default = "info"
}

variable "db_password" {
  type      = string
  sensitive = true
}

secret "db_password" {
  secret_name   = "tf-${var.env}-db-password"
  version_id    = "v1"
  secret_string = var.db_password
}

secret "settings" {
  secret_name   = "tf-${var.env}-settings"
  version_id    = "v1"
  secret_string = jsonencode({ log_level = var.log_level })
}
"#;

/// A pipeline as it is written for Terraform, with `terraform` replaced by `ssmform` and nothing
/// else changed: `-chdir`, `-input=false`, `-no-color`, `-compact-warnings`, `-lock`,
/// `-lock-timeout`, `-out=`, `-detailed-exitcode`, `-auto-approve`, `-parallelism=`, `-json`,
/// `fmt -check`, `show -json`, `-version`. Values come as Terraform pipelines give them: secrets
/// in `TF_VAR_*`, the rest in an auto-loaded variables file (Terraform's `*.auto.tfvars`; the
/// name is the configuration's, not the script's); the saved plan is applied without variables.
const CI_SCRIPT: &str = r#"set -eu
ssmform version
ssmform -chdir=infra fmt -check
ssmform -chdir=infra validate -no-color
set +e
ssmform -chdir=infra plan -input=false -no-color -compact-warnings -lock=true -lock-timeout=30s \
  -out=tfplan -detailed-exitcode
code=$?
set -e
if [ "$code" -eq 1 ]; then echo "plan failed"; exit 1; fi
echo "plan exit $code"
if [ "$code" -eq 2 ]; then
  ssmform -chdir=infra apply -input=false -no-color -auto-approve -parallelism=4 -lock-timeout=30s tfplan
fi
ssmform -chdir=infra show -json tfplan > shown.jsonl
set +e
ssmform -chdir=infra plan -input=false -lock=false -detailed-exitcode -json > drift.jsonl
echo "drift exit $?"
ssmform -chdir=infra plan -input=false -refresh=false -no-color 2>/dev/null || echo "refused -refresh"
set -e
ssmform -version -json > version.json
"#;

#[test]
fn a_terraform_style_ci_script_runs_unchanged() {
    let root = temp_dir();
    let infra = root.path().join("infra");
    std::fs::create_dir_all(&infra).unwrap();
    std::fs::write(infra.join("main.hcl"), CONFIG).unwrap();
    std::fs::write(
        infra.join("staging.auto.vars.hcl"),
        "env       = \"staging\"\nlog_level = \"debug\"\n",
    )
    .unwrap();
    let bin = root.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(ssmform_bin(), bin.join("ssmform")).unwrap();
    let path = std::env::var("PATH").unwrap_or_default();
    let out = Command::new("sh")
        .args(["-c", CI_SCRIPT])
        .current_dir(root.path())
        .env_clear()
        .env("PATH", format!("{}:{path}", bin.display()))
        .env("HOME", root.path())
        .env("NO_COLOR", "1")
        .env("TF_VAR_db_password", "tf-canary-pw-8e1d")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the script failed ({:?}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
    assert!(stdout.contains("plan exit 2"), "{stdout}");
    assert!(stdout.contains("drift exit 0"), "{stdout}");
    assert!(stdout.contains("Plan: 2 to create, 0 to update, 0 to delete, 0 unchanged."));
    assert!(stdout.contains("Apply complete! Secrets: 2 created, 0 updated, 0 unchanged."));
    // `-refresh=true` has no equivalent: refused (exit 1), the script goes on.
    assert!(stdout.contains("refused -refresh"), "{stdout}");
    let drift: Vec<Value> = std::fs::read_to_string(root.path().join("drift.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let summary = drift
        .iter()
        .find(|l| l["type"] == "change_summary")
        .expect("a change_summary line");
    assert_eq!(summary["changes"]["add"], 0);
    assert_eq!(summary["changes"]["change"], 0);
    let shown = std::fs::read_to_string(root.path().join("shown.jsonl")).unwrap();
    assert!(
        shown
            .lines()
            .all(|l| serde_json::from_str::<Value>(l).is_ok())
    );
    let version: Value =
        serde_json::from_str(&std::fs::read_to_string(root.path().join("version.json")).unwrap())
            .unwrap();
    assert_eq!(version["ssmform_version"], env!("CARGO_PKG_VERSION"));
    // The password went in through -var; it is never printed.
    crate::support::assert_no_leak(
        "the script's output",
        format!("{stdout}{stderr}"),
        &["tf-canary-pw-8e1d"],
    );
}

#[test]
fn terraform_flags_without_an_equivalent_are_refused_naming_ours() {
    for (args, says) in [
        (&["plan", "-refresh-only"][..], "plan --detailed-exitcode"),
        (
            &["plan", "-refresh=false"],
            "every plan reads the live values",
        ),
        (&["plan", "-state=x.tfstate"], "no state file"),
        (&["apply", "-state-out=x"], "no state file"),
        (&["apply", "-backup=x"], "journals"),
        (&["plan", "-backend-config=x"], "no backends"),
        (&["plan", "-reconfigure"], "no `init`"),
        (&["plan", "-upgrade"], "no `init`"),
        (&["plan", "-replace=secret.x"], "version_id"),
        (&["plan", "-destroy"], "only when a removed block names it"),
        (&["fmt", "-recursive"], "never subdirectories"),
        (&["fmt", "-write=false"], "fmt --check"),
        (&["graph", "-type=plan"], "apply waves"),
        (&["graph", "-json"], "no JSON output"),
        (&["plan", "-chdir=x"], "before the subcommand"),
    ] {
        let out = Ssmform::new(args.iter().copied()).run();
        out.assert_exit(1).assert_stderr_contains(says);
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    Ssmform::new(["plan", "-refresh-only"])
        .run()
        .assert_stderr_contains("-refresh-only is a Terraform flag ssmform has no equivalent for");
}

#[test]
fn version_is_shaped_like_terraforms() {
    let out = Ssmform::new(["version"]).run();
    out.assert_success();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", out.stdout);
    assert_eq!(lines[0], format!("ssmform v{}", env!("CARGO_PKG_VERSION")));
    let platform = lines[1].strip_prefix("on ").expect("on PLATFORM");
    assert!(
        platform.contains('_') && !platform.contains(' '),
        "{platform}"
    );
    for args in [
        &["version", "--json"][..],
        &["version", "-json"],
        &["-v", "-json"],
    ] {
        let out = Ssmform::new(args.iter().copied()).run();
        out.assert_success();
        let v: Value = serde_json::from_str(&out.stdout).unwrap();
        assert_eq!(v["ssmform_version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(v["platform"], platform);
        assert!(v["plan_file_format"].is_u64());
        // Terraform's order: the version first.
        assert!(
            out.stdout
                .trim_start()
                .starts_with("{\n  \"ssmform_version\"")
        );
    }
}

#[test]
fn chdir_runs_in_another_directory_and_a_missing_one_is_an_error() {
    let root = temp_dir();
    let dir = root.path().join("cfg");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("main.hcl"), CONFIG).unwrap();
    for chdir in [
        ["--chdir", "cfg"].as_slice(),
        &["-chdir=cfg"],
        &["--chdir=cfg"],
    ] {
        Ssmform::new(chdir.iter().copied().chain(["validate"]))
            .current_dir(root.path())
            .run()
            .assert_success()
            .assert_stdout_contains("The configuration is valid: 2 secrets");
    }
    Ssmform::new(["-chdir=nowhere", "validate"])
        .current_dir(root.path())
        .run()
        .assert_exit(1)
        .assert_stderr_contains("cannot change to the directory nowhere");
}

/// Results on stdout (each change with its RequestId, the summary), diagnostics on stderr.
#[test]
fn apply_results_go_to_stdout_and_unused_variables_are_named_on_stderr() {
    let root = temp_dir();
    let dir = root.path().join("cfg");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("main.hcl"), CONFIG).unwrap();
    let run = |args: &[&str]| {
        Ssmform::new(args.iter().copied())
            .current_dir(root.path())
            .run()
    };
    let password = "db_password=tf-canary-pw-8e1d";
    let out = run(&[
        "apply",
        "cfg",
        "-var=env=a",
        "-var",
        password,
        "-auto-approve",
    ]);
    out.assert_success();
    for line in [
        "secret.db_password: created (CreateSecret, ",
        "secret.settings: created (CreateSecret, ",
        "RequestId ",
        "Apply complete! Secrets: 2 created, 0 updated, 0 unchanged.",
    ] {
        out.assert_stdout_contains(line);
        out.assert_stderr_not_contains(line);
    }
    // A plan that changes only the settings: db_password feeds nothing this apply writes.
    let out = run(&[
        "plan",
        "cfg",
        "-var=env=a",
        "-var",
        password,
        "-var=log_level=debug",
        "-out=p.ssmplan",
    ]);
    out.assert_success()
        .assert_stdout_contains("Plan: 0 to create, 1 to update, 0 to delete, 1 unchanged.");
    let out = run(&[
        "apply",
        "p.ssmplan",
        "-var=env=a",
        "-var",
        password,
        "-var=log_level=debug",
    ]);
    out.assert_success()
        .assert_stdout_contains("secret.settings: updated (UpdateSecret, ")
        .assert_stderr_contains(
            "Warning: the variable `db_password` is set (--var) but not used: the secrets it \
             feeds (secret.db_password) are unchanged",
        )
        .assert_stderr_not_contains("`log_level` is set")
        .assert_stderr_not_contains("`env` is set");
    out.assert_no_leak(&Leaks::named([("db password", "tf-canary-pw-8e1d")]));
    // A plan of one target: the variables only the other secret uses are named.
    let out = run(&[
        "plan",
        "cfg",
        "-var=env=a",
        "-var",
        password,
        "-var=log_level=debug",
        "-target=secret.settings",
    ]);
    out.assert_success()
        .assert_stderr_contains("the variable `db_password` is set (--var) but not used")
        .assert_stderr_not_contains("`log_level` is set");
    // The same warning as a JSON diagnostic line with -json, and nothing on stderr.
    let out = run(&[
        "plan",
        "cfg",
        "-var=env=a",
        "-var",
        password,
        "-target=secret.settings",
        "-json",
    ]);
    out.assert_success().assert_stderr_eq("");
    assert!(
        out.stdout.lines().any(
            |l| l.contains("\"diagnostic\"") && l.contains("the variable `db_password` is set")
        ),
        "{}",
        out.stdout
    );
}

#[test]
fn completions_help_says_where_to_install_for_every_shell() {
    let out = Ssmform::new(["completions", "--help"]).run();
    out.assert_success();
    for (shell, path) in [
        ("bash", "bash-completion/completions/ssmform"),
        ("zsh", "_ssmform"),
        ("fish", "fish/completions/ssmform.fish"),
        ("elvish", "elvish/lib/ssmform.elv"),
        ("powershell", "$PROFILE"),
    ] {
        assert!(
            out.stdout
                .contains(&format!("ssmform completions {shell} >"))
                && out.stdout.contains(path),
            "{shell}: {}",
            out.stdout
        );
    }
}

#[test]
fn tf_var_sets_a_variable_and_ssmform_var_wins_over_it() {
    let root = temp_dir();
    std::fs::write(root.path().join("main.hcl"), CONFIG).unwrap();
    let plan = |env: &[(&str, &str)]| {
        let mut run = Ssmform::new(["plan", "."]).current_dir(root.path());
        for (k, v) in env {
            run = run.env(k, *v);
        }
        run.run()
    };
    plan(&[("TF_VAR_env", "tfv"), ("TF_VAR_db_password", "pw")])
        .assert_success()
        .assert_stdout_contains("\"tf-tfv-settings\"");
    plan(&[
        ("TF_VAR_env", "tfv"),
        ("SSMFORM_VAR_env", "ours"),
        ("TF_VAR_db_password", "pw"),
    ])
    .assert_success()
    .assert_stdout_contains("\"tf-ours-settings\"");
}
