//! Secret safety of `plan` and `show`, end to end: canary values are put everywhere a secret can
//! come from — live values set through the API (string, JSON, binary, a Disabled secret, a data
//! source), and desired values from a configuration literal, a file, `SSMFORM_VAR_*`, `--var`,
//! `--var-file` and a SOPS file (`data "sops_file"`: encrypted values, a list element, a value the
//! file keeps in clear, the whole document as `raw`, and the age identity itself) — and then every output is searched for them: stdout and stderr of every format
//! at every log level, the saved plan file and any other file the runs leave, and `show` of it in
//! every format. A canary must appear in none of them in any form the shared check
//! ([`crate::support::leaks`]) knows: plain in any case, with separators changed, hex, base64 at
//! any alignment, URL- or JSON-escaped, or truncated; and the plan file must hold no unkeyed
//! digest of one. Error paths (a data source that does not exist, a PendingDelete secret, values
//! that fail to evaluate, injected API failures) are searched the same way.

use serde_json::json;
use sha2::Digest;
use ssmform::emulator::{EmulatorConfig, FaultSpec};

use crate::support::sops::{TEST_KEY, TEST_RECIPIENT, encrypt_to};
use crate::support::{Leaks, Seed, TestEmulator, Workspace};

/// A value that must never be printed or stored, and a name to report it by.
struct Canary {
    name: &'static str,
    value: &'static str,
}

const LIVE_STRING: Canary = Canary {
    name: "live string value",
    value: "cnryLiveString7Hq2Xp9Tz",
};
const LIVE_JSON: Canary = Canary {
    name: "live JSON value",
    value: "cnryLiveJsonValue3Kf6Zr",
};
const LIVE_NESTED: Canary = Canary {
    name: "live nested JSON value",
    value: "cnryNestedLive4Df8Oi2Ee",
};
const LIVE_BINARY: Canary = Canary {
    name: "live binary value",
    value: "cnryLiveBinary9Gw3Lj7Aa",
};
const LIVE_KIND: Canary = Canary {
    name: "live value changing kind",
    value: "cnryLiveKind0Vb5Nm3Qq1",
};
const LIVE_DISABLED: Canary = Canary {
    name: "live value of a Disabled secret",
    value: "cnryDisabledLive1Wz4Hm6",
};
const LIVE_PENDING: Canary = Canary {
    name: "live value of a PendingDelete secret",
    value: "cnryPendingLive8Sx2Fr5K",
};
const DATA_SOURCE: Canary = Canary {
    name: "data source value",
    value: "cnryDataSource5Jt7Bk1Po",
};
const UNCHANGED: Canary = Canary {
    name: "unchanged value",
    value: "cnryUnchanged3Xs9Qa2Lw",
};
const CONFIG_LITERAL: Canary = Canary {
    name: "configuration literal",
    value: "cnryConfigLiteral4Tb8Wd",
};
const FILE_BINARY: Canary = Canary {
    name: "filebase64() content",
    value: "cnryFileBinary2Pc5Nx8Uu",
};
const FILE_TEXT: Canary = Canary {
    name: "file() content",
    value: "cnryFileText6Hy1Ck9Gg3",
};
const VAR_ENV: Canary = Canary {
    name: "SSMFORM_VAR_ variable",
    value: "cnryEnvVariable8Mn2Yq5",
};
const VAR_CLI: Canary = Canary {
    name: "--var variable",
    value: "cnryCliVariable6Rd1Vs4",
};
const VAR_FILE: Canary = Canary {
    name: "--var-file variable",
    value: "cnryVarFile7Ye3Uc0Ij4",
};

const SOPS_VALUE: Canary = Canary {
    name: "SOPS file value",
    value: "cnrySopsValue8Nb3Vc6",
};
const SOPS_LIST: Canary = Canary {
    name: "SOPS file list element",
    value: "cnrySopsList2Qw7Er4",
};
const SOPS_CLEAR: Canary = Canary {
    name: "SOPS value the file keeps in clear (unencrypted suffix)",
    value: "cnrySopsClear5Tg9Yh1",
};
const AGE_IDENTITY: Canary = Canary {
    name: "age identity (SOPS_AGE_KEY)",
    value: TEST_KEY,
};

const ALL: &[&Canary] = &[
    &LIVE_STRING,
    &LIVE_JSON,
    &LIVE_NESTED,
    &LIVE_BINARY,
    &LIVE_KIND,
    &LIVE_DISABLED,
    &LIVE_PENDING,
    &DATA_SOURCE,
    &UNCHANGED,
    &CONFIG_LITERAL,
    &FILE_BINARY,
    &FILE_TEXT,
    &VAR_ENV,
    &VAR_CLI,
    &VAR_FILE,
    &SOPS_VALUE,
    &SOPS_LIST,
    &SOPS_CLEAR,
    &AGE_IDENTITY,
];

/// `SSMFORM_LOG` settings tried: unset (warnings), then every level.
const LOG_LEVELS: &[Option<&str>] = &[
    None,
    Some("error"),
    Some("warn"),
    Some("info"),
    Some("debug"),
    Some("trace"),
];

const FORMATS: &[&str] = &["text", "markdown", "json"];

/// Every canary, by name.
fn leaks() -> Leaks {
    Leaks::named(ALL.iter().map(|c| (c.name, c.value)))
}

/// The configuration: every source of desired values, every kind of live state.
const CONFIG: &str = r#"
variable "pw_env" {
  type      = string
  sensitive = true
}

variable "pw_cli" {
  type      = string
  sensitive = true
}

variable "pw_file" {
  type      = string
  sensitive = true
}

data "ssm_secret" "upstream" {
  secret_name = "upstream"
  version_id  = "v1"
}

secret "string" {
  secret_name   = "app-string"
  version_id    = "v1"
  secret_string = "cnryConfigLiteral4Tb8Wd"
}

secret "json" {
  secret_name = "app-json"
  version_id  = "v1"
  secret_string = jsonencode({
    user     = "app"
    password = var.pw_env
    token    = var.pw_cli
    nested   = { list = [var.pw_file] }
  })
}

secret "binary" {
  secret_name   = "app-binary"
  version_id    = "v1"
  secret_binary = filebase64("blob.bin")
}

secret "kind" {
  secret_name   = "app-kind"
  version_id    = "v1"
  secret_string = "prefix-${var.pw_cli}"
}

secret "text_file" {
  secret_name   = "app-text-file"
  version_id    = "v1"
  secret_string = file("note.txt")
}

secret "from_data" {
  secret_name   = "app-from-data"
  version_id    = "v1"
  secret_string = "upstream:${data.ssm_secret.upstream.secret_string}"
}

secret "disabled" {
  secret_name   = "app-disabled"
  version_id    = "v1"
  secret_string = var.pw_env
}

secret "created" {
  secret_name   = "app-created"
  version_id    = "v1"
  secret_string = var.pw_cli
  description   = "created by the canary test"
}

secret "new_version" {
  secret_name   = "app-string"
  version_id    = "v2"
  secret_string = var.pw_file
}

secret "same" {
  secret_name   = "app-same"
  version_id    = "v1"
  secret_string = "cnryUnchanged3Xs9Qa2Lw"
}

data "sops_file" "values" {
  source_file = "values.enc.yaml"
}

secret "from_sops" {
  secret_name   = "app-from-sops"
  version_id    = "v1"
  secret_string = jsonencode(data.sops_file.values.data)
}

secret "sops_raw" {
  secret_name   = "app-sops-raw"
  version_id    = "v1"
  secret_string = data.sops_file.values.raw
}
"#;

/// The plan of [`CONFIG`] against [`seed`]'s live state.
const SUMMARY: &str = "Plan: 3 to create, 8 to update, 0 to delete, 1 unchanged.";

/// The SOPS file of [`CONFIG`], encrypted to the test key (the `_unencrypted` value stays in clear
/// in the file, as sops' default rule says).
fn sops_file() -> Vec<u8> {
    encrypt_to(
        &format!(
            "db:\n    password: {}\n    hosts:\n        - h0\n        - {}\npublic_unencrypted: {}\n",
            SOPS_VALUE.value, SOPS_LIST.value, SOPS_CLEAR.value
        ),
        ssmform::sops::Format::Yaml,
        TEST_RECIPIENT,
    )
}

/// Live state holding canaries.
fn live_state() -> Seed {
    let live_json = json!({
        "user": "app",
        "password": LIVE_JSON.value,
        "nested": {"list": [LIVE_NESTED.value]},
        "old": LIVE_JSON.value,
    });
    let mut blob = vec![0u8, 1, 2, 0xff];
    blob.extend_from_slice(LIVE_BINARY.value.as_bytes());
    Seed::new()
        .secret("app-string", "v1", LIVE_STRING.value)
        .secret("app-json", "v1", live_json.to_string())
        .binary("app-binary", "v1", &blob)
        .binary("app-kind", "v1", LIVE_KIND.value.as_bytes())
        .secret("app-text-file", "v1", format!("old {}", LIVE_STRING.value))
        .secret("upstream", "v1", DATA_SOURCE.value)
        .secret("app-from-data", "v1", "upstream:old")
        .secret("app-disabled", "v1", LIVE_DISABLED.value)
        .disabled("app-disabled")
        .secret("app-same", "v1", UNCHANGED.value)
        .secret("app-from-sops", "v1", "{\"db.password\":\"old\"}")
}

async fn seed(emu: &TestEmulator) {
    live_state().write(emu).await;
}

/// A workspace with [`CONFIG`], its files, and the variables' environment.
fn canary_workspace(emu: &TestEmulator) -> Workspace {
    let mut blob = vec![0x30u8, 0x82, 0x00];
    blob.extend_from_slice(FILE_BINARY.value.as_bytes());
    blob.push(0xfe);
    let ws = Workspace::new(emu)
        .config(CONFIG)
        .env("SSMFORM_VAR_pw_env", VAR_ENV.value)
        .env("SOPS_AGE_KEY", TEST_KEY);
    ws.file("cfg/values.enc.yaml", sops_file());
    ws.file("cfg/blob.bin", blob)
        .file("cfg/note.txt", format!("note: {}\n", FILE_TEXT.value))
        .file(
            "secret.vars.hcl",
            format!("pw_file = \"{}\"\n", VAR_FILE.value),
        );
    ws
}

/// `plan cfg` with the `--var` and `--var-file` canaries, then `extra`.
fn plan_args(extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "plan",
        "cfg",
        "--var",
        &format!("pw_cli={}", VAR_CLI.value),
        "--var-file",
        "secret.vars.hcl",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

fn log_env(level: Option<&str>) -> Vec<(&str, &str)> {
    level.map(|l| vec![("SSMFORM_LOG", l)]).unwrap_or_default()
}

#[tokio::test]
async fn canaries_never_leave_plan_in_any_format_at_any_log_level() {
    let leaks = leaks();
    let emu = TestEmulator::start();
    seed(&emu).await;
    let ws = canary_workspace(&emu);
    for format in FORMATS {
        let mut reference: Option<String> = None;
        for level in LOG_LEVELS {
            let args = plan_args(&["--format", format]);
            let out = ws.run_with(&args, &log_env(*level));
            let what = format!("plan --format {format}, SSMFORM_LOG={level:?}");
            out.assert_success()
                .assert_no_leak(&leaks)
                .assert_stdout_contains(SUMMARY);
            // Logs go to stderr only: stdout is the same at every level.
            match &reference {
                None => reference = Some(out.stdout.clone()),
                Some(r) => assert_eq!(&out.stdout, r, "{what}: stdout depends on the log level"),
            }
            if *level == Some("debug") || *level == Some("trace") {
                // The log shows the reads.
                out.assert_stderr_contains("GetSecretValue");
            }
        }
    }
}

#[tokio::test]
async fn canaries_never_reach_the_plan_file_or_show() {
    let leaks = leaks();
    let emu = TestEmulator::start();
    seed(&emu).await;
    let ws = canary_workspace(&emu);
    let args = plan_args(&["--out", "plan.ssmplan"]);
    let out = ws.run_with(&args, &[("SSMFORM_LOG", "trace")]);
    out.assert_success().assert_no_leak(&leaks);

    let bytes = std::fs::read(ws.path("plan.ssmplan")).expect("plan file written");
    leaks.assert_absent("the plan file", &bytes);
    // Nothing from which a guess could be tested: no unkeyed digest of any canary, nor of the
    // whole values the configuration gives in clear.
    let text = String::from_utf8(bytes.clone()).expect("plan files are UTF-8");
    for value in ALL
        .iter()
        .map(|c| c.value.to_string())
        .chain([format!("prefix-{}", VAR_CLI.value)])
    {
        for digest in [
            hex::encode(sha2::Sha256::digest(value.as_bytes())),
            hex::encode(sha1::Sha1::digest(value.as_bytes())),
        ] {
            assert!(
                !text.contains(&digest) && !text.contains(&digest[..8]),
                "the plan file holds an unkeyed digest of a secret value"
            );
        }
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(ws.path("plan.ssmplan"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    for format in FORMATS {
        for level in LOG_LEVELS {
            let args = ["show", "plan.ssmplan", "--format", format];
            let out = ws.run_with(args, &log_env(*level));
            out.assert_success()
                .assert_no_leak(&leaks)
                .assert_stdout_contains(SUMMARY);
        }
    }
    // Nor any other file the runs left behind.
    assert!(ws.assert_no_leak_in_files(&leaks) >= 1);
}

/// The plan file of a run without `SSMFORM_PLAN_KEY` (key derived from the API secret key) is
/// clean too, and `show` finds the key through the configuration's credentials.
#[tokio::test]
async fn canaries_stay_out_with_a_key_derived_from_the_credentials() {
    let leaks = leaks();
    let emu = TestEmulator::start();
    seed(&emu).await;
    let ws = canary_workspace(&emu).without_plan_key();
    let out = ws.run(plan_args(&["--out", "plan.ssmplan", "--format", "json"]));
    out.assert_success().assert_no_leak(&leaks);
    leaks.assert_absent(
        "the plan file (derived key)",
        std::fs::read(ws.path("plan.ssmplan")).unwrap(),
    );
    let out = ws.run(["show", "plan.ssmplan"]);
    out.assert_success()
        .assert_no_leak(&leaks)
        .assert_stdout_contains(SUMMARY);
    ws.assert_no_leak_in_files(&leaks);
}

/// Runs `args` in every format at every log level; each must exit 1 and print no canary.
fn assert_error_runs_clean(ws: &Workspace, base: &[&str], expect: &str) {
    let leaks = leaks();
    for format in FORMATS {
        for level in LOG_LEVELS {
            let mut args = plan_args(&["--format", format]);
            args.extend(base.iter().map(|s| s.to_string()));
            let out = ws.run_with(&args, &log_env(*level));
            out.assert_exit(1).assert_no_leak(&leaks);
            // Errors are printed once: on stderr, or as JSON lines on stdout.
            if *format == "json" {
                out.assert_stdout_contains(expect);
            } else {
                out.assert_stderr_contains(expect);
            }
        }
    }
}

#[tokio::test]
async fn a_missing_data_source_fails_without_printing_canaries() {
    let emu = TestEmulator::start();
    seed(&emu).await;
    let ws = canary_workspace(&emu);
    let config = CONFIG.replace(
        "secret_name = \"upstream\"",
        "secret_name = \"upstream-gone\"",
    );
    ws.file("cfg/main.hcl", config);
    assert_error_runs_clean(&ws, &[], "data.ssm_secret.upstream");
}

/// A SOPS file changed after encryption (one value's ciphertext, then the MAC), or no key for
/// it: each fails at the data block, in every format at every log level, printing no canary.
#[tokio::test]
async fn a_tampered_or_undecryptable_sops_file_fails_without_printing_canaries() {
    let emu = TestEmulator::start();
    seed(&emu).await;
    let ws = canary_workspace(&emu);
    let text = String::from_utf8(sops_file()).unwrap();
    for anchor in ["password: ", "mac: "] {
        let at = text.find(anchor).unwrap() + anchor.len();
        let data = at + text[at..].find("data:").unwrap() + "data:".len();
        let flipped = if text.as_bytes()[data] == b'A' {
            "B"
        } else {
            "A"
        };
        let tampered = format!("{}{flipped}{}", &text[..data], &text[data + 1..]);
        ws.file("cfg/values.enc.yaml", tampered);
        assert_error_runs_clean(&ws, &[], "data.sops_file.values");
    }
    ws.file("cfg/values.enc.yaml", sops_file());
    let ws = ws.without_env("SOPS_AGE_KEY");
    assert_error_runs_clean(&ws, &[], "no age identity matches");
}

#[tokio::test]
async fn a_pending_delete_secret_is_planned_as_a_restore_without_printing_canaries() {
    let emu = TestEmulator::start();
    seed(&emu).await;
    Seed::new()
        .secret("app-pending", "v1", LIVE_PENDING.value)
        .pending_delete("app-pending")
        .write(&emu)
        .await;
    let ws = canary_workspace(&emu);
    let config = format!(
        "{CONFIG}\nsecret \"pending\" {{\n  secret_name   = \"app-pending\"\n  version_id    = \"v1\"\n  \
         secret_string = var.pw_cli\n}}\n"
    );
    ws.file("cfg/main.hcl", config);
    let leaks = leaks();
    for format in FORMATS {
        for level in LOG_LEVELS {
            let out = ws.run_with(plan_args(&["--format", format]), &log_env(*level));
            out.assert_success()
                .assert_no_leak(&leaks)
                .assert_stdout_contains(if *format == "json" {
                    "\"pending_deletion\""
                } else {
                    "\"PendingDelete\" → \"Enabled\""
                });
        }
    }
}

/// Values that fail to evaluate: errors say where a value came from and how long it is, never
/// what it is.
#[tokio::test]
async fn evaluation_errors_about_secret_values_print_no_canaries() {
    let leaks = leaks();
    let emu = TestEmulator::start();
    seed(&emu).await;
    let cases: &[(&str, &str)] = &[
        // not base64
        ("secret_binary = var.pw_cli", "secret_binary"),
        ("secret_string = base64decode(var.pw_cli)", "base64"),
        ("secret_string = jsondecode(var.pw_env)", "JSON"),
        // a sensitive value where plans print in clear
        (
            "secret_string = \"x\"\n  description = var.pw_cli",
            "description",
        ),
    ];
    for (attrs, expect) in cases {
        let ws = canary_workspace(&emu);
        let config = format!(
            "{CONFIG}\nsecret \"broken\" {{\n  secret_name = \"app-broken\"\n  version_id  = \"v1\"\n  {attrs}\n}}\n"
        );
        ws.file("cfg/main.hcl", config);
        for level in [None, Some("trace")] {
            for format in FORMATS {
                let out = ws.run_with(plan_args(&["--format", format]), &log_env(level));
                out.assert_exit(1);
                if *format == "json" {
                    out.assert_stdout_contains(expect)
                        .assert_stdout_contains("cfg/main.hcl");
                } else {
                    out.assert_stderr_contains(expect)
                        .assert_stderr_contains("cfg/main.hcl:");
                }
                out.assert_no_leak(&leaks);
            }
        }
    }
    // A sensitive variable given a value of the wrong type.
    let ws = canary_workspace(&emu).config(&format!(
        "{CONFIG}\nvariable \"port\" {{\n  type      = number\n  sensitive = true\n}}\n"
    ));
    let mut args = plan_args(&[]);
    args.extend(["--var".to_string(), format!("port={}", VAR_CLI.value)]);
    let out = ws.run_with(&args, &[("SSMFORM_LOG", "trace")]);
    out.assert_exit(1)
        .assert_stderr_contains("port")
        .assert_no_leak(&leaks);
}

/// Throttles, internal errors and 502s make the client retry and log about it; the logs still
/// hold no secret.
#[tokio::test]
async fn retries_after_injected_failures_log_no_canaries() {
    let leaks = leaks();
    let dir = crate::support::temp_dir();
    let db = dir.path().join("live.db");
    live_state().write_store(&db).await;
    let emu = TestEmulator::with(EmulatorConfig {
        db: Some(db),
        faults: FaultSpec::parse("throttle=0.15,internal=0.15,http502=0.1").unwrap(),
        seed: Some(7),
        ..EmulatorConfig::default()
    });
    let ws = canary_workspace(&emu);
    let mut retried = false;
    for format in FORMATS {
        for level in [Some("debug"), Some("trace")] {
            let out = ws.run_with(plan_args(&["--format", format]), &log_env(level));
            // Retries usually win; if the budget runs out the plan fails. Either way: no canary.
            out.assert_exit_in(&[0, 1]).assert_no_leak(&leaks);
            retried |= out.stderr.contains("retrying");
        }
    }
    assert!(
        retried,
        "the injected failures made ssmform retry (and log it)"
    );
}

/// `endpoint = "local"` runs the emulator inside ssmform, so its logs share stderr: they must be
/// clean at every level too.
#[tokio::test]
async fn the_embedded_emulator_logs_no_canaries() {
    let leaks = leaks();
    let ws = Workspace::bare()
        .config(&format!(
            "provider \"tencentcloud\" {{\n  endpoint = \"local\"\n}}\n{CONFIG}"
        ))
        .env("SSMFORM_VAR_pw_env", VAR_ENV.value)
        .env("SOPS_AGE_KEY", TEST_KEY);
    ws.file("cfg/values.enc.yaml", sops_file());
    let db = ws.path("cfg/.ssmform/local.db");
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    // The store holds the live values: it is the test's input, not an output.
    ws.mark_input("cfg/.ssmform/local.db");
    live_state().write_store(&db).await;
    let mut blob = vec![0x30u8, 0x82, 0x00];
    blob.extend_from_slice(FILE_BINARY.value.as_bytes());
    ws.file("cfg/blob.bin", blob)
        .file("cfg/note.txt", format!("note: {}\n", FILE_TEXT.value))
        .file(
            "secret.vars.hcl",
            format!("pw_file = \"{}\"\n", VAR_FILE.value),
        );
    for format in FORMATS {
        for level in LOG_LEVELS {
            let out = ws.run_with(plan_args(&["--format", format]), &log_env(*level));
            out.assert_success()
                .assert_stdout_contains(SUMMARY)
                .assert_no_leak(&leaks);
        }
    }
    ws.assert_no_leak_in_files(&leaks);
}

/// The checker, on this file's canaries: each form of one, embedded in other text at any
/// offset, is found; the plan summary is not.
#[test]
fn the_leak_checker_finds_every_form_at_every_offset() {
    use base64::Engine;
    let canary = VAR_CLI.value;
    let mut haystacks: Vec<Vec<u8>> = Vec::new();
    for prefix in ["", "a", "ab", "abc"] {
        let value = format!("{prefix}{canary}-suffix");
        haystacks.push(format!("x {value} y").into_bytes());
        haystacks.push(hex::encode(&value).into_bytes());
        haystacks.push(hex::encode_upper(&value).into_bytes());
        haystacks.push(
            base64::engine::general_purpose::STANDARD
                .encode(&value)
                .into_bytes(),
        );
        haystacks.push(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(&value)
                .into_bytes(),
        );
    }
    // A truncated preview.
    haystacks.push(format!("value starts with {}…", &canary[..12]).into_bytes());
    let leaks = leaks();
    for h in haystacks {
        assert!(
            leaks.find(&h).is_some(),
            "not found in {}",
            String::from_utf8_lossy(&h)
        );
    }
    leaks.assert_absent(
        "clean text",
        b"Plan: 3 to create, 8 to update, 0 to delete, 1 unchanged.",
    );
}
