//! Helpers shared by the plan tests: fixture configurations, live values read back, and
//! transcripts of runs for snapshots.

use std::path::PathBuf;

use serde_json::json;

use super::emulator::{Api, TestEmulator};
use super::process::Output;
use super::workspace::Workspace;

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
    t.push_str(&format!("exit code: {}\n", out.exit_code()));
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
