//! Snapshots of `ssmform plan` in its three formats (text, Markdown, JSON lines), end to end: the
//! real binary against an emulator over HTTP, live state seeded through the API, configurations
//! from `tests/fixtures/plan/<scenario>/`. Each snapshot `snapshots/plan__<scenario>.snap` is the
//! transcript of the three runs. Output is repeatable because every run uses a fixed
//! `SSMFORM_PLAN_KEY` (fingerprints) and `SOURCE_DATE_EPOCH` (JSON `@timestamp`); nothing is
//! redacted.
//!
//! Each scenario also saves the plan (`--out`) and checks that `show` renders the saved plan
//! exactly as `plan` rendered it, in every format (line diffs of `sensitive = false` secrets
//! excepted: a plan file never holds them, which `plan__line_diff` shows).

use crate::plan_snapshot;
use crate::support::plan::*;
use crate::support::{Seed, TestEmulator, Workspace, seed_secrets};

/// What `show` should print for a saved plan.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum ShowExpect {
    /// Exactly what `plan` printed, in every format.
    SameAsPlan,
    /// Something else: snapshot it too.
    Snapshot,
    /// The plan fails: there is no plan file.
    NoPlanFile,
}

/// Plan `cfg` in the three formats (the text run with `--detailed-exitcode --out plan.ssmplan`),
/// check exit codes and `show`, and snapshot the transcript as `plan__<name>`.
pub(crate) fn check(name: &str, ws: &Workspace, extra: &[&str], text_code: i32, show: ShowExpect) {
    let formats: [(&str, Vec<&str>); 3] = [
        (
            "text",
            vec![
                "plan",
                "cfg",
                "--detailed-exitcode",
                "--out",
                "plan.ssmplan",
            ],
        ),
        ("markdown", vec!["plan", "cfg", "--format", "markdown"]),
        ("json", vec!["plan", "cfg", "--format", "json"]),
    ];
    let mut transcript_all = String::new();
    let mut stdouts = Vec::new();
    for (format, base) in formats {
        let args: Vec<&str> = base.iter().chain(extra).copied().collect();
        let out = ws.run(&args);
        let expected = if format == "text" {
            text_code
        } else if text_code == 2 {
            0 // without --detailed-exitcode, changes are a success
        } else {
            text_code
        };
        out.assert_exit(expected);
        if !transcript_all.is_empty() {
            transcript_all.push('\n');
        }
        transcript_all.push_str(&transcript(&args, &out));
        stdouts.push((format, out.stdout));
    }

    let plan_file = ws.path("plan.ssmplan");
    match show {
        ShowExpect::NoPlanFile => {
            assert!(!plan_file.exists(), "a failed plan writes no plan file");
        }
        ShowExpect::SameAsPlan | ShowExpect::Snapshot => {
            for (format, plan_stdout) in &stdouts {
                let args = ["show", "plan.ssmplan", "--format", format];
                let out = ws.run(args);
                out.assert_success();
                assert_eq!(out.stderr, "", "show prints nothing on stderr");
                if show == ShowExpect::SameAsPlan {
                    assert_eq!(
                        &out.stdout, plan_stdout,
                        "show --format {format} differs from plan"
                    );
                } else {
                    transcript_all.push('\n');
                    transcript_all.push_str(&transcript(&args, &out));
                }
            }
        }
    }
    plan_snapshot!(format!("plan__{name}"), transcript_all);
}

#[tokio::test]
async fn no_changes() {
    let emu = TestEmulator::start();
    Seed::new()
        .secret("app-db-password", "v1", "correct-horse-battery-staple")
        .secret(
            "app-config",
            "v1",
            r#"{"env":"staging","log_level":"info"}"#,
        )
        .write(&emu)
        .await;
    let ws = workspace(&emu, "no_changes");
    check("no_changes", &ws, &[], 0, ShowExpect::SameAsPlan);
}

#[tokio::test]
async fn one_update() {
    let emu = TestEmulator::start();
    let api = emu.api();
    Seed::new()
        .secret("app-db-password", "v1", "old-password-0001")
        .secret("app-api-key", "v1", "api-key-unchanged")
        .write(&emu)
        .await;
    let ws = workspace(&emu, "one_update");
    check("one_update", &ws, &[], 2, ShowExpect::SameAsPlan);
    // Planning writes nothing.
    assert_eq!(
        live_string(&api, "app-db-password", "v1").await,
        "old-password-0001"
    );
}

#[tokio::test]
async fn json_key_level_diff() {
    let emu = TestEmulator::start();
    Seed::new()
        .secret(
            "app-config",
            "v2",
            r#"{"log_level":"debug","legacy_token":"t-123","same":"unchanged","db":{"host":"db.internal","port":5432}}"#,
        )
        .write(&emu)
        .await;
    let ws = workspace(&emu, "json_keys");
    check("json_keys", &ws, &[], 2, ShowExpect::SameAsPlan);
}

#[tokio::test]
async fn binary_change() {
    let emu = TestEmulator::start();
    Seed::new()
        .binary("tls-key", "v1", &[0x30, 0x82, 0x01, 0x0a, 0x02, 0x82])
        .write(&emu)
        .await;
    let ws = workspace(&emu, "binary_change");
    check("binary_change", &ws, &[], 2, ShowExpect::SameAsPlan);
}

#[tokio::test]
async fn string_to_binary_and_back() {
    let emu = TestEmulator::start();
    Seed::new()
        .secret(
            "app-cert",
            "v1",
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
        )
        .binary("app-token", "v1", b"token-now-stored-as-text")
        .write(&emu)
        .await;
    let ws = workspace(&emu, "string_binary");
    check("string_binary", &ws, &[], 2, ShowExpect::SameAsPlan);
}

#[tokio::test]
async fn create_version_beyond_the_version_limit_is_an_error() {
    let emu = TestEmulator::start();
    let mut seed = Seed::new()
        .secret("app-db-password", "v1", "first-password")
        .secret("app-crowded", "v1", "crowded-1");
    for i in 2..=10 {
        seed = seed.version("app-crowded", &format!("v{i}"), format!("crowded-{i}"));
    }
    seed.write(&emu).await;
    let ws = workspace(&emu, "create_version");
    check("create_version", &ws, &[], 1, ShowExpect::NoPlanFile);
}

#[tokio::test]
async fn create_secret_then_a_second_version() {
    let emu = TestEmulator::start();
    let ws = workspace(&emu, "create_secret");
    check("create_secret", &ws, &[], 2, ShowExpect::SameAsPlan);
}

#[tokio::test]
async fn disabled_secret_is_an_unverified_update_with_a_warning() {
    let emu = TestEmulator::start();
    // The live value equals the desired one, but a Disabled secret cannot be read to tell.
    Seed::new()
        .secret("app-legacy", "v1", "legacy-value")
        .disabled("app-legacy")
        .write(&emu)
        .await;
    let ws = workspace(&emu, "disabled");
    check("disabled", &ws, &[], 2, ShowExpect::SameAsPlan);
}

#[tokio::test]
async fn pending_delete_is_planned_as_a_restore() {
    let emu = TestEmulator::start();
    Seed::new()
        .secret("app-old", "v1", "old-value")
        .pending_delete("app-old")
        .secret("app-fine", "v1", "fine-value")
        .write(&emu)
        .await;
    let ws = workspace(&emu, "pending_delete");
    check("pending_delete", &ws, &[], 2, ShowExpect::SameAsPlan);
}

#[tokio::test]
async fn data_source_feeds_a_secret() {
    let emu = TestEmulator::start();
    Seed::new()
        .secret("db-root", "v3", "root-password-3")
        .secret(
            "app-db-url",
            "v1",
            "postgres://root:root-password-2@db.internal/app",
        )
        .write(&emu)
        .await;
    let ws = workspace(&emu, "data_source");
    check("data_source", &ws, &[], 2, ShowExpect::SameAsPlan);
}

#[tokio::test]
async fn three_waves() {
    let emu = TestEmulator::start();
    Seed::new()
        .secret("app-db-password", "v1", "password-1")
        .secret(
            "app-db-url",
            "v1",
            "postgres://app:password-1@db.internal/app",
        )
        .secret(
            "app-config",
            "v1",
            r#"{"db_url":"postgres://app:password-1@db.internal/app","log_level":"info"}"#,
        )
        .secret("app-monitoring", "v1", "monitoring-token-1")
        .secret("app-unchanged", "v1", "same-as-live")
        .write(&emu)
        .await;
    let ws = workspace(&emu, "three_waves");
    check("three_waves", &ws, &[], 2, ShowExpect::SameAsPlan);
}

#[tokio::test]
async fn non_sensitive_line_diff() {
    let emu = TestEmulator::start();
    let live = "worker_processes 4;\nevents {\n  worker_connections 1024;\n}\nhttp {\n  \
                sendfile on;\n  keepalive_timeout 65;\n  gzip off;\n  server {\n    listen 443 \
                ssl;\n    server_name example.internal;\n    location / {\n      proxy_pass \
                http://app:8080;\n    }\n  }\n}\n";
    // ssmform wrote the live content from a `sensitive = false` block: plans may show it.
    Seed::new()
        .secret("nginx-conf", "v1", live)
        .shown("nginx-conf", "v1", live)
        .write(&emu)
        .await;
    let ws = workspace(&emu, "line_diff");
    check("line_diff", &ws, &[], 2, ShowExpect::Snapshot);
}

#[tokio::test]
async fn non_sensitive_line_diff_hides_live_content_ssmform_did_not_write() {
    let emu = TestEmulator::start();
    // Someone else wrote this (or a merge request points a `sensitive = false` block at a secret
    // it does not own): the plan shows the declared lines and nothing of the live ones.
    let live = "worker_processes 4;\nupstream_token = live-canary-token-5c1e\n";
    seed_secrets(&emu, &[("nginx-conf", "v1", live)]).await;
    let ws = workspace(&emu, "line_diff");
    check("line_diff_live_hidden", &ws, &[], 2, ShowExpect::Snapshot);
    let leaks = crate::support::Leaks::new(["live-canary-token-5c1e"]);
    for format in ["text", "markdown", "json"] {
        leaks.assert_output_clean(&ws.run(["plan", "cfg", "--format", format]));
    }
}

#[tokio::test]
async fn target_plans_only_the_target_and_its_dependencies() {
    let emu = TestEmulator::start();
    seed_secrets(
        &emu,
        &[
            ("app-db-password", "v1", "password-1"),
            (
                "app-db-url",
                "v1",
                "postgres://app:password-1@db.internal/app",
            ),
            ("app-monitoring", "v1", "monitoring-token-1"),
        ],
    )
    .await;
    let ws = workspace(&emu, "target");
    check(
        "target",
        &ws,
        &["--target", "secret.db_url"],
        2,
        ShowExpect::SameAsPlan,
    );
}
