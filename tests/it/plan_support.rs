//! Helpers shared by the plan tests: seeding live state through the emulator's API, fixture
//! configurations, and transcripts of runs for snapshots.

use std::path::PathBuf;

use base64::Engine;
use serde_json::json;

use crate::harness::{Api, Output, TestEmulator, Workspace};

/// `tests/fixtures/plan/<name>`.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/plan")
        .join(name)
}

/// A workspace pointing at `emu` whose `cfg/` holds the fixture configuration `name`.
pub fn workspace(emu: &TestEmulator, name: &str) -> Workspace {
    Workspace::new(emu).config_from(&fixture(name))
}

pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Create a secret whose first version holds `value`.
pub async fn create_string(api: &Api, name: &str, version: &str, value: &str) {
    api.ok(
        "CreateSecret",
        json!({"SecretName": name, "VersionId": version, "SecretString": value}),
    )
    .await;
}

/// Create a secret whose first version holds the binary `bytes`.
pub async fn create_binary(api: &Api, name: &str, version: &str, bytes: &[u8]) {
    api.ok(
        "CreateSecret",
        json!({"SecretName": name, "VersionId": version, "SecretBinary": b64(bytes)}),
    )
    .await;
}

/// Add a string version to an existing secret.
pub async fn put_string(api: &Api, name: &str, version: &str, value: &str) {
    api.ok(
        "PutSecretValue",
        json!({"SecretName": name, "VersionId": version, "SecretString": value}),
    )
    .await;
}

pub async fn disable(api: &Api, name: &str) {
    api.ok("DisableSecret", json!({"SecretName": name})).await;
}

/// Schedule a secret for deletion (it becomes PendingDelete; SSM requires Disabled first).
pub async fn schedule_deletion(api: &Api, name: &str) {
    disable(api, name).await;
    api.ok(
        "DeleteSecret",
        json!({"SecretName": name, "RecoveryWindowInDays": 7}),
    )
    .await;
}

/// The live string value of a version (to check that a plan wrote nothing).
pub async fn live_string(api: &Api, name: &str, version: &str) -> String {
    let r = api
        .ok(
            "GetSecretValue",
            json!({"SecretName": name, "VersionId": version}),
        )
        .await;
    r["SecretString"].as_str().unwrap_or_default().to_string()
}

/// One run as it reads in a snapshot: the command, its exit code, stdout and stderr.
pub fn transcript(args: &[&str], out: &Output) -> String {
    let mut t = format!("$ ssmform {}\n", args.join(" "));
    t.push_str(&format!("exit code: {}\n", code(out)));
    for (name, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        if text.is_empty() {
            t.push_str(&format!("--- {name}: (empty)\n"));
        } else {
            t.push_str(&format!("--- {name}:\n{text}"));
            if !text.ends_with('\n') {
                t.push_str("\n[no newline at end]\n");
            }
        }
    }
    t
}

/// The exit code, or -1 when the process died of a signal (never expected).
pub fn code(out: &Output) -> i32 {
    out.code.unwrap_or(-1)
}

/// Assert a snapshot named `name` in the top-level `snapshots/` directory (file `name.snap`).
#[macro_export]
macro_rules! plan_snapshot {
    ($name:expr, $value:expr) => {
        insta::with_settings!({
            snapshot_path => concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"),
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!($name, $value);
        })
    };
}
