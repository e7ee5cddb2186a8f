//! Valid configurations, evaluated: every block, function and variable source, with the values
//! they must produce. `tests/fixtures/config/valid/full` is the big one; smaller ones are
//! written inline.

use std::collections::{BTreeMap, BTreeSet};

use sha2::Digest as _;
use ssmform::config::{DataValues, Endpoint, Mode, Severity};
use ssmform::secret::{SecretContent, SecretValue};
use ssmform::term::Paint;

use crate::support::config::{FIXTURES, Fixture, temp_config};

const FULL: &str = "tests/fixtures/config/valid/full";

fn full() -> Fixture {
    let mut f = Fixture::new(FULL);
    f.mode = Mode::Plan;
    f
}

/// The line of `main.hcl` of the full fixture that starts with `prefix`.
fn line_of(prefix: &str) -> usize {
    let text = std::fs::read_to_string(format!("{FULL}/main.hcl")).unwrap();
    text.lines()
        .position(|l| l.starts_with(prefix))
        .expect("line")
        + 1
}

fn text(c: &SecretContent) -> &str {
    match c {
        SecretContent::String(v) => v.expose_str().expect("UTF-8"),
        SecretContent::Binary(_) => panic!("expected a string secret"),
    }
}

fn data_values() -> DataValues {
    DataValues(BTreeMap::from([
        (
            "data.ssm_secret.root".to_string(),
            SecretContent::String(SecretValue::from_string("root-pw-1234".into())),
        ),
        (
            "data.ssm_secret.ca".to_string(),
            SecretContent::Binary(SecretValue::new(vec![0, 1, 2, 254, 255])),
        ),
    ]))
}

#[test]
fn full_configuration_first_pass_asks_for_data_sources() {
    let cfg = full().load().unwrap_or_else(|d| panic!("{d}"));
    assert!(cfg.warnings().is_empty(), "{}", cfg.warnings());
    let ev = cfg.evaluate(&DataValues::default(), None);
    assert!(ev.diagnostics.is_empty(), "{}", ev.diagnostics);
    let pending: Vec<(&str, &str, &str)> = ev
        .pending_data
        .iter()
        .map(|d| {
            (
                d.address.as_str(),
                d.secret_name.as_str(),
                d.version_id.as_str(),
            )
        })
        .collect();
    assert_eq!(
        pending,
        [
            ("data.ssm_secret.root", "db-root", "v3"),
            ("data.ssm_secret.ca", "ca-bundle", "v1")
        ]
    );
    assert_eq!(ev.deferred, ["secret.app_config", "secret.ca_copy"]);
    let evaluated: Vec<&str> = ev.secrets.iter().map(|s| s.address.as_str()).collect();
    assert_eq!(
        evaluated,
        [
            "secret.db_password",
            "secret.db_url",
            "secret.tls_key",
            "secret.functions",
            "secret.heredoc"
        ]
    );
    let root = &ev.pending_data[0].location;
    assert_eq!(
        (root.line, root.column),
        (line_of("data \"ssm_secret\" \"root\""), 1)
    );
    assert_eq!(root.file, std::path::Path::new(FULL).join("main.hcl"));
}

#[test]
fn full_configuration_evaluates_every_value() {
    let cfg = full().load().unwrap_or_else(|d| panic!("{d}"));
    let ev = cfg.evaluate(&data_values(), None);
    assert!(ev.diagnostics.is_empty(), "{}", ev.diagnostics);
    assert!(ev.pending_data.is_empty() && ev.deferred.is_empty());
    let by: BTreeMap<&str, &ssmform::config::DesiredSecret> =
        ev.secrets.iter().map(|s| (s.label.as_str(), s)).collect();
    let order: Vec<&str> = ev.secrets.iter().map(|s| s.label.as_str()).collect();
    assert_eq!(
        order,
        [
            "db_password",
            "db_url",
            "app_config",
            "tls_key",
            "ca_copy",
            "functions",
            "heredoc"
        ]
    );

    let s = by["db_password"];
    assert_eq!(
        (s.secret_name.as_str(), s.version_id.as_str()),
        ("app-prod-db-password", "v1")
    );
    assert_eq!(text(&s.content), "correct horse battery staple");
    assert!(s.sensitive, "secrets are sensitive by default");
    assert_eq!(s.description, None);

    assert_eq!(
        text(&by["db_url"].content),
        "postgres://app:correct horse battery staple@ann.prod.internal:5432/app"
    );

    let s = by["app_config"];
    assert_eq!(s.secret_name, "app-prod-config");
    assert_eq!(s.version_id, "v2");
    assert_eq!(
        s.description.as_deref(),
        Some("application configuration for prod")
    );
    let token_sha = hex::encode(sha2::Sha256::digest(b"token-123"));
    assert_eq!(
        text(&s.content),
        format!(
            r#"{{"db_url":"postgres://app:correct horse battery staple@ann.prod.internal:5432/app","html":"\u003ca\u0026b\u003e","log_level":"info","owners":{{"ann":"ANN","bob":"BOB"}},"replicas":6,"root_len":12,"token_sha":"{token_sha}"}}"#
        )
    );

    let s = by["tls_key"];
    assert_eq!(
        s.content,
        SecretContent::Binary(SecretValue::new(vec![
            0x30, 0x82, 0x01, 0x00, 0xff, 0xfe, 0x00, 0x01
        ]))
    );
    assert_eq!(
        by["ca_copy"].content,
        SecretContent::Binary(SecretValue::new(vec![0, 1, 2, 254, 255]))
    );

    let s = by["functions"];
    assert_eq!(s.secret_name, "app-prod-functions-007");
    assert_eq!(s.version_id, "v1.0");
    // It reads local.settings, which comes from a file: sensitive, so it may not be
    // `sensitive = false`.
    assert!(s.sensitive);
    assert_eq!(s.description.as_deref(), Some("every function"));
    let lines: Vec<&str> = text(&s.content).split('\n').collect();
    assert_eq!(
        lines,
        [
            "padded",
            "mixed",
            "MIXED",
            "a+b+c",
            "aGVsbG8=",
            "world",
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            r#""q"|  3.1|ab  |true|ff"#,
            "a1,a2,b1",
            "x,y,z,fix,suf",
            "[5,2,2,3,2,1,9,3]",
            "[true,true,true,false]",
            r#"["a","b","c"]"#,
            r#"{"a":1,"b":3}"#,
            r#"["x","default","first"]"#,
            r#"[["a","b"],[2,1],["a","b"],[2,1],[1,2]]"#,
            r#"[[1,2,3],"y",{"k":"v"}]"#,
            r#"["5",6,true,"a9993e364706816aba3e25717850c26c9cd0d89d","ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="]"#,
            r#"["fallback",false,"settings"]"#,
            r#"{"nested":[1,"two",true]}"#,
            "ap-shanghai/silver/false/7/2.5/1/-3/true",
        ]
    );

    assert_eq!(
        text(&by["heredoc"].content),
        "env=prod\nowner=ann\nowner=bob\nquiet\n"
    );
}

#[test]
fn full_configuration_provider_and_variables() {
    let cfg = full().load().unwrap_or_else(|d| panic!("{d}"));
    let p = cfg.provider();
    assert_eq!(p.region.as_deref(), Some("ap-shanghai"));
    assert_eq!(p.endpoint, Endpoint::Local);
    assert_eq!(
        p.local_store.as_deref(),
        Some(
            std::path::Path::new(FULL)
                .join(".ssmform/local.db")
                .as_path()
        )
    );
    assert_eq!(
        p.rate_limits,
        BTreeMap::from([
            ("GetSecretValue".to_string(), 100),
            ("UpdateSecret".to_string(), 20)
        ])
    );
    assert_eq!(p.rate_share, Some(0.5));
    assert_eq!(p.profile.as_deref(), Some("ci"));
    assert_eq!((p.location.line, p.location.column), (3, 1));

    let values: BTreeMap<String, String> = cfg
        .variable_values()
        .into_iter()
        .map(|(k, v)| (k, v.expose_str().unwrap().to_string()))
        .collect();
    let expect = [
        ("region", r#""ap-shanghai""#),
        ("env", r#""prod""#),
        ("tier", r#""silver""#),
        ("replicas", "3"),
        ("debug", "false"),
        ("owners", r#"["ann","bob"]"#),
        ("ports", r#"{"http":8080,"postgres":5432}"#),
        ("anything", r#"{"nested":[1,"two",true]}"#),
        ("db_password", r#""correct horse battery staple""#),
        ("api_token", r#""token-123""#),
    ];
    for (k, v) in expect {
        assert_eq!(values[k], v, "variable {k}");
    }
    assert_eq!(values.len(), expect.len());

    let origins: BTreeMap<String, Option<String>> = cfg
        .variables()
        .into_iter()
        .map(|v| (v.name, v.origin))
        .collect();
    assert_eq!(origins["region"].as_deref(), Some("its default"));
    assert_eq!(
        origins["env"].as_deref(),
        Some("--var env"),
        "--var wins over everything"
    );
    assert_eq!(
        origins["tier"].as_deref(),
        Some(format!("{FULL}/a.auto.vars.hcl:2").as_str()),
        "an auto file wins over the environment"
    );
    assert_eq!(origins["replicas"].as_deref(), Some("SSMFORM_VAR_replicas"));
    assert_eq!(
        origins["ports"].as_deref(),
        Some(format!("{FULL}/extra.vars.hcl:4").as_str())
    );
    let env = cfg
        .variables()
        .into_iter()
        .find(|v| v.name == "env")
        .unwrap();
    assert_eq!(env.description.as_deref(), Some("deployment environment"));
    assert_eq!(env.type_constraint, "string");
    assert!(
        cfg.variables()
            .iter()
            .any(|v| v.name == "api_token" && v.sensitive)
    );
}

#[test]
fn variable_precedence_without_the_command_line() {
    let mut f = full();
    f.vars.vars.retain(|v| !v.starts_with("env="));
    let cfg = f.load().unwrap_or_else(|d| panic!("{d}"));
    let env = cfg
        .variable_values()
        .into_iter()
        .find(|(k, _)| k == "env")
        .unwrap()
        .1;
    assert_eq!(env.expose_str(), Some(r#""from-var-file""#));
    f.vars.var_files.clear();
    f.vars.vars.push("db_password=x".into());
    let cfg = f.load().unwrap_or_else(|d| panic!("{d}"));
    let env = cfg
        .variable_values()
        .into_iter()
        .find(|(k, _)| k == "env")
        .unwrap()
        .1;
    assert_eq!(
        env.expose_str(),
        Some(r#""from-b-auto""#),
        "b.auto.vars.hcl is read after a.auto.vars.hcl"
    );
}

#[test]
fn waves_scope_and_addresses_of_the_full_configuration() {
    let cfg = full().load().unwrap_or_else(|d| panic!("{d}"));
    let addrs = cfg.secret_addresses();
    assert_eq!(
        addrs,
        [
            "secret.db_password",
            "secret.db_url",
            "secret.app_config",
            "secret.tls_key",
            "secret.ca_copy",
            "secret.functions",
            "secret.heredoc"
        ]
    );
    let all: BTreeSet<String> = addrs.iter().cloned().collect();
    let waves = cfg.graph().waves(&all);
    let w = |a: &str| waves[&format!("secret.{a}")];
    assert_eq!(
        [
            w("db_password"),
            w("db_url"),
            w("app_config"),
            w("tls_key"),
            w("ca_copy"),
            w("functions"),
            w("heredoc")
        ],
        [1, 2, 3, 4, 1, 1, 1]
    );
    // Only db_url changes: it goes first even though it depends on db_password.
    let one: BTreeSet<String> = ["secret.db_url".to_string(), "secret.tls_key".to_string()].into();
    let waves = cfg.graph().waves(&one);
    assert_eq!(waves["secret.db_url"], 1);
    assert_eq!(
        waves["secret.tls_key"], 2,
        "through unchanged secret.app_config"
    );

    let scope = cfg
        .graph()
        .dependency_closure(&["secret.db_url".to_string()])
        .unwrap();
    assert_eq!(
        scope,
        [
            "local.hosts",
            "local.prefix",
            "secret.db_password",
            "secret.db_url",
            "var.db_password",
            "var.env",
            "var.owners",
            "var.ports"
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    );
    let ev = cfg.evaluate(&DataValues::default(), Some(&scope));
    assert!(
        ev.pending_data.is_empty(),
        "data sources outside the scope are not read"
    );
    let evaluated: Vec<&str> = ev.secrets.iter().map(|s| s.address.as_str()).collect();
    assert_eq!(evaluated, ["secret.db_password", "secret.db_url"]);
    assert_eq!(
        cfg.graph().dependent_secrets("secret.db_password"),
        ["secret.app_config", "secret.db_url", "secret.tls_key"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    );
    let e = cfg
        .graph()
        .dependency_closure(&["secret.db_ur".to_string()])
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "there is no `secret.db_ur` in the configuration; did you mean `secret.db_url`?"
    );
}

#[test]
fn validate_mode_defers_what_depends_on_variables_without_values() {
    // Keep the value file (passwords, ports); drop the environment and --var (owners, ...).
    let mut f = Fixture::new(FULL);
    f.env.clear();
    f.vars.vars.clear();
    let cfg = f.load().unwrap_or_else(|d| panic!("{d}"));
    let ev = cfg.evaluate(&DataValues::default(), None);
    assert!(ev.diagnostics.is_empty(), "{}", ev.diagnostics);
    let evaluated: Vec<&str> = ev.secrets.iter().map(|s| s.label.as_str()).collect();
    assert_eq!(evaluated, ["db_password", "tls_key"]);
    assert_eq!(
        ev.deferred,
        [
            "secret.db_url",
            "secret.app_config",
            "secret.ca_copy",
            "secret.functions",
            "secret.heredoc"
        ]
    );
    // In plan mode the same variables are errors that name them.
    f.mode = Mode::Plan;
    let err = f.load().unwrap_err();
    let text = err.render(Paint::plain());
    // (tier has its value from a.auto.vars.hcl.)
    for name in ["replicas", "owners", "api_token"] {
        assert!(
            text.contains(&format!("variable `{name}` has no value")),
            "{text}"
        );
    }
    assert_eq!(err.error_count(), 3, "{text}");
}

#[test]
fn diagnostics_at_handed_out_locations_show_the_source_line() {
    let cfg = full().load().unwrap_or_else(|d| panic!("{d}"));
    let ev = cfg.evaluate(&DataValues::default(), None);
    let d = cfg.diagnostic(
        Severity::Error,
        &ev.pending_data[0].location,
        "the data source's secret db-root does not exist",
    );
    let line = line_of("data \"ssm_secret\" \"root\"");
    assert_eq!(
        d.render(Paint::plain()),
        format!(
            "error: the data source's secret db-root does not exist\n  --> {FULL}/main.hcl:{line}:1\n   |\n{line} | data \"ssm_secret\" \"root\" {{\n   | ^^^^^^^^^^^^^^^^^^^^^^^^\n"
        )
    );
    assert_eq!(d.to_json()["line"], line);
}

#[test]
fn digest_covers_configuration_files_only() {
    let files = [
        (
            "main.hcl",
            "provider \"tencentcloud\" {\n  region = \"ap-guangzhou\"\n}\n",
        ),
        ("x.auto.vars.hcl", ""),
    ];
    let dir = temp_config(&files);
    let load = || {
        Fixture::new(dir.path())
            .load()
            .unwrap_or_else(|d| panic!("{d}"))
    };
    let first = load().digest();
    assert_eq!(first, load().digest());
    std::fs::write(
        dir.path().join("x.auto.vars.hcl"),
        "# values do not change the digest\n",
    )
    .unwrap();
    assert_eq!(first, load().digest());
    std::fs::write(dir.path().join("other.hcl"), "locals {}\n").unwrap();
    assert_ne!(first, load().digest());
}

#[test]
fn references_to_binary_secrets_and_string_data_sources() {
    let dir = temp_config(&[(
        "main.hcl",
        r#"provider "tencentcloud" {}

data "ssm_secret" "legacy" {
  secret_name = "legacy"
  version_id  = "v1"
}

secret "bin" {
  secret_name   = "bin"
  version_id    = "v1"
  secret_binary = base64encode("binary")
}

secret "copy" {
  secret_name   = "copy"
  version_id    = "v1"
  secret_string = "${secret.bin.secret_binary}|${data.ssm_secret.legacy.secret_string}|${data.ssm_secret.legacy.secret_binary}|${secret.bin.secret_name}"
}

secret "managed_elsewhere" {
  secret_name   = "legacy"
  version_id    = "v1"
  secret_string = "x"
}
"#,
    )]);
    let cfg = Fixture::new(dir.path())
        .load()
        .unwrap_or_else(|d| panic!("{d}"));
    let data = DataValues(BTreeMap::from([(
        "data.ssm_secret.legacy".to_string(),
        SecretContent::String(SecretValue::from_string("old".into())),
    )]));
    let ev = cfg.evaluate(&data, None);
    let copy = ev.secrets.iter().find(|s| s.label == "copy").unwrap();
    assert_eq!(text(&copy.content), "YmluYXJ5|old||bin");
    let bin = ev.secrets.iter().find(|s| s.label == "bin").unwrap();
    assert_eq!(
        bin.content,
        SecretContent::Binary(SecretValue::new(b"binary".to_vec()))
    );
    // A data source reading a version this configuration manages is worth a warning.
    assert_eq!(ev.diagnostics.len(), 1, "{}", ev.diagnostics);
    assert_eq!(ev.diagnostics.0[0].severity, Severity::Warning);
    assert!(
        ev.diagnostics.0[0]
            .message
            .contains("which secret.managed_elsewhere manages")
    );
}

#[test]
fn value_files_and_hidden_files_are_not_configuration() {
    let dir = temp_config(&[
        ("main.hcl", "provider \"tencentcloud\" {}\n"),
        ("values.vars.hcl", "this is not HCL configuration {{{\n"),
        (".hidden.hcl", "neither is this {{{\n"),
        ("notes.txt", "nor this {{{\n"),
        ("sub/nested.hcl", "nor a nested file {{{\n"),
    ]);
    let cfg = Fixture::new(dir.path())
        .load()
        .unwrap_or_else(|d| panic!("{d}"));
    assert!(cfg.secret_addresses().is_empty());
}

#[test]
fn every_valid_fixture_validates_cleanly() {
    for entry in std::fs::read_dir(format!("{FIXTURES}/valid")).unwrap() {
        let dir = entry.unwrap().path();
        let diags = Fixture::new(&dir).diagnostics();
        assert!(diags.is_empty(), "{}: {}", dir.display(), diags);
    }
}
