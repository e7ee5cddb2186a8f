//! The `validate`, `graph` and `fmt` commands, run as the real binary.

use crate::support::config::{FIXTURES, temp_config};
use crate::support::{Leaks, Ssmform, assert_no_leak};

/// A run in the machine's environment, scrubbed, with `NO_COLOR` unset: colour is only ever
/// decided by whether the stream is a terminal.
fn ssmform(args: &[&str]) -> Ssmform {
    Ssmform::new(args.iter().copied()).colour_allowed()
}

const VALID: &str = "provider \"tencentcloud\" {\n  endpoint = \"local\"\n}\n\nvariable \"password\" {\n  sensitive = true\n}\n\nsecret \"db\" {\n  secret_name   = \"db\"\n  version_id    = \"v1\"\n  secret_string = var.password\n}\n\nsecret \"url\" {\n  secret_name   = \"url\"\n  version_id    = \"v1\"\n  secret_string = \"postgres://app:${secret.db.secret_string}@db/app\"\n}\n";

#[test]
fn validate_accepts_a_valid_configuration() {
    let dir = temp_config(&[("main.hcl", VALID)]);
    let out = ssmform(&["validate"]).path_arg(dir.path()).run();
    out.assert_success().assert_stderr_eq("");
    assert!(
        out.stdout.starts_with(
            "Success! The configuration is valid: 2 secrets (0 fully checked now; 2 depend on \
             variables without values, and are checked at plan time)."
        ),
        "{}",
        out.report()
    );
    ssmform(&["validate", "--var", "password=pw"])
        .path_arg(dir.path())
        .run()
        .assert_success()
        .assert_stdout_eq("Success! The configuration is valid: 2 secrets.\n");
}

#[test]
fn validate_reports_rustc_style_diagnostics_on_stderr_without_colour() {
    let dir = format!("{FIXTURES}/invalid/undeclared_variable_with_suggestion");
    ssmform(&["validate", &dir])
        .run()
        .assert_exit(1)
        .assert_stdout_eq("")
        .assert_stderr_contains(&format!(
            "error: there is no variable `evn`\n  --> {dir}/main.hcl:10:30\n"
        ))
        .assert_stderr_contains("= help: did you mean var.env?")
        // No colour when stderr is not a terminal.
        .assert_stderr_not_contains("\x1b");
}

#[test]
fn validate_runs_in_the_current_directory_by_default() {
    let dir = temp_config(&[(
        "main.hcl",
        "provider \"tencentcloud\" {}\nlocals {\n  x = nope\n}\n",
    )]);
    ssmform(&["validate"])
        .current_dir(dir.path())
        .run()
        .assert_exit(1)
        .assert_stderr_contains(" --> main.hcl:3:7\n");
}

#[test]
fn validate_json_lists_every_diagnostic_with_its_position() {
    let dir = format!("{FIXTURES}/invalid/invalid_provider_settings");
    let out = ssmform(&["validate", "--format", "json", &dir]).run();
    out.assert_exit(1).assert_stderr_eq("");
    let json: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON on stdout");
    assert_eq!(json["valid"], false);
    assert_eq!(json["error_count"], 6);
    assert_eq!(json["warning_count"], 1);
    let diags = json["diagnostics"].as_array().unwrap();
    assert_eq!(diags.len(), 7);
    for d in diags {
        assert!(d["severity"] == "error" || d["severity"] == "warning");
        assert!(d["message"].as_str().is_some_and(|m| !m.is_empty()));
        assert_eq!(d["file"], format!("{dir}/main.hcl"));
        assert!(d["line"].as_u64().unwrap() >= 2 && d["column"].as_u64().unwrap() >= 1);
    }
    let dir = temp_config(&[("main.hcl", VALID)]);
    let out = ssmform(&["validate", "--format", "json"])
        .path_arg(dir.path())
        .run();
    out.assert_success();
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(json["valid"], true);
    assert_eq!(json["diagnostics"], serde_json::json!([]));
    assert_eq!(json["secrets"], 2);
}

#[test]
fn validate_needs_no_network_no_credentials_and_writes_nothing() {
    let dir = temp_config(&[("main.hcl", VALID)]);
    let home = tempfile::tempdir().unwrap();
    let out = ssmform(&["validate", "--var", "password=pw"])
        .path_arg(dir.path())
        .clean_env()
        .env("HOME", home.path().to_string_lossy())
        // Any attempt to reach the network through a proxy would fail.
        .env("HTTPS_PROXY", "http://127.0.0.1:9")
        .env("HTTP_PROXY", "http://127.0.0.1:9")
        .run();
    out.assert_success();
    assert!(out.stdout.starts_with("Success!"), "{}", out.report());
    let entries: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        entries,
        ["main.hcl"],
        "validate creates nothing (not even the local store)"
    );
    assert_eq!(std::fs::read_dir(home.path()).unwrap().count(), 0);
}

#[test]
fn variables_come_from_the_environment_and_value_files() {
    let dir = temp_config(&[
        (
            "main.hcl",
            "provider \"tencentcloud\" {}\nvariable \"n\" {\n  type = number\n}\nvariable \"s\" {}\nsecret \"a\" {\n  secret_name   = \"a-${var.n}-${var.s}\"\n  version_id    = \"v1\"\n  secret_string = \"x\"\n}\n",
        ),
        ("x.auto.vars.hcl", "s = \"from-file\"\n"),
    ]);
    ssmform(&["validate"])
        .path_arg(dir.path())
        .env("SSMFORM_VAR_n", "12")
        .run()
        .assert_success()
        .assert_stdout_eq("Success! The configuration is valid: 1 secret.\n");
    let out = ssmform(&["validate"])
        .path_arg(dir.path())
        .env("SSMFORM_VAR_n", "twelve")
        .run();
    out.assert_exit(1).assert_stderr_contains(
        "the value of variable `n` from SSMFORM_VAR_n does not match its type number",
    );
    // Values are never shown.
    assert_no_leak("validate's output", out.stdout + &out.stderr, &["twelve"]);
}

#[test]
fn secrets_never_appear_in_any_output() {
    const CANARY: &str = "canary-5f0c1e2d";
    let dir = temp_config(&[(
        "main.hcl",
        &format!(
            "provider \"tencentcloud\" {{}}\nvariable \"pw\" {{\n  type      = number\n  sensitive = true\n}}\nsecret \"a\" {{\n  secret_name   = \"a\"\n  version_id    = \"v1\"\n  secret_string = \"{CANARY}\" + var.pw\n  sensitive     = false\n}}\nsecret \"b\" {{\n  secret_name   = \"b\"\n  version_id    = \"v1\"\n  secret_binary = \"{CANARY}\"\n}}\n"
        ),
    )]);
    let leaks = Leaks::new([CANARY]);
    for format in ["text", "json"] {
        let out = ssmform(&["validate", "--format", format])
            .path_arg(dir.path())
            .env("SSMFORM_VAR_pw", CANARY)
            .run();
        out.assert_exit(1).assert_no_leak(&leaks);
        assert!(
            out.stdout.contains("sensitive = false") || out.stderr.contains("sensitive = false"),
            "{}",
            out.report()
        );
    }
    // Nor does any file validation left behind (the configuration itself holds the canary).
    leaks.assert_tree_clean(dir.path(), |p| p.ends_with("main.hcl"));
}

#[test]
fn graph_prints_every_node_and_the_waves() {
    let dir = temp_config(&[("main.hcl", VALID)]);
    let out = ssmform(&["graph"]).path_arg(dir.path()).run();
    out.assert_success();
    assert!(
        out.stdout.starts_with("digraph ssmform {\n"),
        "{}",
        out.report()
    );
    for node in ["\"var.password\"", "\"secret.db\"", "\"secret.url\""] {
        out.assert_stdout_contains(node);
    }
    out.assert_stdout_contains("label = \"wave 1\"")
        .assert_stdout_contains("\"secret.url\" [shape = box, label = \"secret.url\\nwave 2\"]")
        .assert_stdout_contains("\"secret.url\" -> \"secret.db\";");
    ssmform(&[
        "graph",
        &format!("{FIXTURES}/invalid/cycle_between_secrets"),
    ])
    .run()
    .assert_exit(1)
    .assert_stderr_contains("dependency cycle: secret.a → secret.b → secret.c → secret.a");
}

#[test]
fn fmt_check_lists_files_and_fmt_rewrites_them() {
    let messy = "locals {\na=1\n  bbb =2\n}\n";
    let dir = temp_config(&[
        ("a.hcl", messy),
        ("b.hcl", "locals {\n  ok = 1\n}\n"),
        ("c.auto.vars.hcl", "x=1\n"),
    ]);
    let d = dir.path().display();
    ssmform(&["fmt", "--check"])
        .path_arg(dir.path())
        .run()
        .assert_exit(1)
        .assert_stdout_eq(&format!("{d}/a.hcl\n{d}/c.auto.vars.hcl\n"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("a.hcl")).unwrap(),
        messy,
        "--check changes nothing"
    );

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            dir.path().join("a.hcl"),
            std::fs::Permissions::from_mode(0o640),
        )
        .unwrap();
    }
    ssmform(&["fmt"])
        .path_arg(dir.path())
        .run()
        .assert_success()
        .assert_stdout_eq(&format!("{d}/a.hcl\n{d}/c.auto.vars.hcl\n"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("a.hcl")).unwrap(),
        "locals {\n  a   = 1\n  bbb = 2\n}\n"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("c.auto.vars.hcl")).unwrap(),
        "x = 1\n"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("a.hcl"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o640, "permissions are kept");
    }
    ssmform(&["fmt", "--check"])
        .path_arg(dir.path())
        .run()
        .assert_success()
        .assert_stdout_eq("");
}

#[test]
fn fmt_changes_nothing_when_a_file_has_a_syntax_error() {
    let messy = "locals {\na=1\n}\n";
    let dir = temp_config(&[("a.hcl", messy), ("b.hcl", "locals {\n  x = \n}\n")]);
    ssmform(&["fmt"])
        .path_arg(dir.path())
        .run()
        .assert_exit(1)
        .assert_stdout_eq("")
        .assert_stderr_contains("b.hcl:2:");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("a.hcl")).unwrap(),
        messy
    );
}

#[test]
fn a_missing_directory_is_an_error_naming_it() {
    let out = ssmform(&["validate", "/nonexistent/ssmform-config"]).run();
    out.assert_exit(1).assert_stdout_eq("");
    assert!(
        out.stderr.starts_with(
            "error: cannot read the configuration directory /nonexistent/ssmform-config:"
        ),
        "{}",
        out.report()
    );
    ssmform(&["fmt", "/nonexistent/ssmform-config"])
        .run()
        .assert_exit(1)
        .assert_stderr_contains("/nonexistent/ssmform-config");
}
