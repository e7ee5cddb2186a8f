//! The `validate`, `graph` and `fmt` commands, run as the real binary.

use std::process::{Command, Output};

use crate::support::config::{FIXTURES, temp_config};

fn ssmform(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ssmform"));
    c.args(args)
        .env_remove("NO_COLOR")
        .env_remove("SSMFORM_LOG");
    for (k, _) in std::env::vars() {
        if k.starts_with("SSMFORM_VAR_") {
            c.env_remove(k);
        }
    }
    c
}

fn run(c: &mut Command) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = c.output().expect("run ssmform");
    (
        status.code().expect("exit code"),
        String::from_utf8(stdout).expect("UTF-8 stdout"),
        String::from_utf8(stderr).expect("UTF-8 stderr"),
    )
}

const VALID: &str = "provider \"tencentcloud\" {\n  endpoint = \"local\"\n}\n\nvariable \"password\" {\n  sensitive = true\n}\n\nsecret \"db\" {\n  secret_name   = \"db\"\n  version_id    = \"v1\"\n  secret_string = var.password\n}\n\nsecret \"url\" {\n  secret_name   = \"url\"\n  version_id    = \"v1\"\n  secret_string = \"postgres://app:${secret.db.secret_string}@db/app\"\n}\n";

#[test]
fn validate_accepts_a_valid_configuration() {
    let dir = temp_config(&[("main.hcl", VALID)]);
    let (code, out, err) = run(ssmform(&["validate"]).arg(dir.path()));
    assert_eq!(code, 0, "{err}");
    assert_eq!(err, "");
    assert!(
        out.starts_with(
            "Success! The configuration is valid: 2 secrets, 0 checked now, 2 at plan time"
        ),
        "{out}"
    );
    let (code, out, _) = run(ssmform(&["validate", "--var", "password=pw"]).arg(dir.path()));
    assert_eq!(code, 0);
    assert_eq!(out, "Success! The configuration is valid: 2 secrets.\n");
}

#[test]
fn validate_reports_rustc_style_diagnostics_on_stderr_without_colour() {
    let dir = format!("{FIXTURES}/invalid/undeclared_variable_with_suggestion");
    let (code, out, err) = run(&mut ssmform(&["validate", &dir]));
    assert_eq!(code, 1);
    assert_eq!(out, "");
    assert!(
        err.contains(&format!(
            "error: there is no variable `evn`\n  --> {dir}/main.hcl:10:30\n"
        )),
        "{err}"
    );
    assert!(err.contains("= help: did you mean var.env?"), "{err}");
    assert!(
        !err.contains('\x1b'),
        "no colour when stderr is not a terminal"
    );
}

#[test]
fn validate_runs_in_the_current_directory_by_default() {
    let dir = temp_config(&[(
        "main.hcl",
        "provider \"tencentcloud\" {}\nlocals {\n  x = nope\n}\n",
    )]);
    let (code, _, err) = run(ssmform(&["validate"]).current_dir(dir.path()));
    assert_eq!(code, 1);
    assert!(err.contains(" --> main.hcl:3:7\n"), "{err}");
}

#[test]
fn validate_json_lists_every_diagnostic_with_its_position() {
    let dir = format!("{FIXTURES}/invalid/invalid_provider_settings");
    let (code, out, err) = run(&mut ssmform(&["validate", "--format", "json", &dir]));
    assert_eq!(code, 1);
    assert_eq!(err, "");
    let json: serde_json::Value = serde_json::from_str(&out).expect("JSON on stdout");
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
    let (code, out, _) = run(ssmform(&["validate", "--format", "json"]).arg(dir.path()));
    assert_eq!(code, 0);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["valid"], true);
    assert_eq!(json["diagnostics"], serde_json::json!([]));
    assert_eq!(json["secrets"], 2);
}

#[test]
fn validate_needs_no_network_no_credentials_and_writes_nothing() {
    let dir = temp_config(&[("main.hcl", VALID)]);
    let home = tempfile::tempdir().unwrap();
    let (code, out, err) = run(ssmform(&["validate", "--var", "password=pw"])
        .arg(dir.path())
        .env_clear()
        .env("HOME", home.path())
        // Any attempt to reach the network through a proxy would fail.
        .env("HTTPS_PROXY", "http://127.0.0.1:9")
        .env("HTTP_PROXY", "http://127.0.0.1:9"));
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("Success!"), "{out}");
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
    let (code, out, err) = run(ssmform(&["validate"])
        .arg(dir.path())
        .env("SSMFORM_VAR_n", "12"));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "Success! The configuration is valid: 1 secret.\n");
    let (code, _, err) = run(ssmform(&["validate"])
        .arg(dir.path())
        .env("SSMFORM_VAR_n", "twelve"));
    assert_eq!(code, 1);
    assert!(
        err.contains("the value of variable `n` from SSMFORM_VAR_n does not match its type number"),
        "{err}"
    );
    assert!(!err.contains("twelve"), "values are never shown: {err}");
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
    for format in ["text", "json"] {
        let (code, out, err) = run(ssmform(&["validate", "--format", format])
            .arg(dir.path())
            .env("SSMFORM_VAR_pw", CANARY));
        assert_eq!(code, 1);
        assert!(!out.contains(CANARY) && !err.contains(CANARY), "{out}{err}");
        assert!(
            out.contains("sensitive = false") || err.contains("sensitive = false"),
            "{out}{err}"
        );
    }
}

#[test]
fn graph_prints_every_node_and_the_waves() {
    let dir = temp_config(&[("main.hcl", VALID)]);
    let (code, out, err) = run(ssmform(&["graph"]).arg(dir.path()));
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("digraph ssmform {\n"), "{out}");
    for node in ["\"var.password\"", "\"secret.db\"", "\"secret.url\""] {
        assert!(out.contains(node), "{node} in {out}");
    }
    assert!(out.contains("label = \"wave 1\""), "{out}");
    assert!(
        out.contains("\"secret.url\" [shape = box, label = \"secret.url\\nwave 2\"]"),
        "{out}"
    );
    assert!(out.contains("\"secret.url\" -> \"secret.db\";"), "{out}");
    let (code, _, err) = run(&mut ssmform(&[
        "graph",
        &format!("{FIXTURES}/invalid/cycle_between_secrets"),
    ]));
    assert_eq!(code, 1);
    assert!(
        err.contains("dependency cycle: secret.a → secret.b → secret.c → secret.a"),
        "{err}"
    );
}

#[test]
fn fmt_check_lists_files_and_fmt_rewrites_them() {
    let messy = "locals {\na=1\n  bbb =2\n}\n";
    let dir = temp_config(&[
        ("a.hcl", messy),
        ("b.hcl", "locals {\n  ok = 1\n}\n"),
        ("c.auto.vars.hcl", "x=1\n"),
    ]);
    let (code, out, _) = run(ssmform(&["fmt", "--check"]).arg(dir.path()));
    assert_eq!(code, 1);
    let d = dir.path().display();
    assert_eq!(out, format!("{d}/a.hcl\n{d}/c.auto.vars.hcl\n"));
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
    let (code, out, _) = run(ssmform(&["fmt"]).arg(dir.path()));
    assert_eq!(code, 0);
    assert_eq!(out, format!("{d}/a.hcl\n{d}/c.auto.vars.hcl\n"));
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
    let (code, out, _) = run(ssmform(&["fmt", "--check"]).arg(dir.path()));
    assert_eq!((code, out.as_str()), (0, ""));
}

#[test]
fn fmt_changes_nothing_when_a_file_has_a_syntax_error() {
    let messy = "locals {\na=1\n}\n";
    let dir = temp_config(&[("a.hcl", messy), ("b.hcl", "locals {\n  x = \n}\n")]);
    let (code, out, err) = run(ssmform(&["fmt"]).arg(dir.path()));
    assert_eq!(code, 1);
    assert_eq!(out, "");
    assert!(err.contains("b.hcl:2:"), "{err}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("a.hcl")).unwrap(),
        messy
    );
}

#[test]
fn a_missing_directory_is_an_error_naming_it() {
    let (code, out, err) = run(&mut ssmform(&["validate", "/nonexistent/ssmform-config"]));
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(
        err.starts_with(
            "error: cannot read the configuration directory /nonexistent/ssmform-config:"
        ),
        "{err}"
    );
    let (code, _, err) = run(&mut ssmform(&["fmt", "/nonexistent/ssmform-config"]));
    assert_eq!(code, 1);
    assert!(err.contains("/nonexistent/ssmform-config"), "{err}");
}
