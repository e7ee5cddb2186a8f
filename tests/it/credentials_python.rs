//! Tencent's Python SDK's STS client (`tencentcloud.sts.v20180813`) and its credential classes
//! (`STSAssumeRoleCredential`, `OIDCRoleArnCredential`), unchanged, against the emulator's STS:
//! proof that the emulated STS speaks the real protocol (`tests/python/sts_compat.py`).
//!
//! The packages live in `target/py-venv`, made by `tests/python/setup.sh`; if they cannot be
//! installed the test fails with the script's output, it never skips.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use ssmform::emulator::StsConfig;

use crate::credentials_fake::emulator;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn venv_bin() -> PathBuf {
    let out = Command::new("bash")
        .arg(Path::new(ROOT).join("tests/python/setup.sh"))
        .output()
        .expect("bash runs tests/python/setup.sh");
    assert!(
        out.status.success(),
        "tests/python/setup.sh failed ({}); it needs network access once to install \
         tests/python/requirements.txt:\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Path::new(ROOT).join("target/py-venv/bin")
}

#[test]
fn python_sdk_sts_client_and_credential_classes_work_unchanged() {
    let bin = venv_bin();
    let emu = emulator(StsConfig::default());
    let cred = emu.credential().clone();
    let out = Command::new(bin.join("python"))
        .arg(Path::new(ROOT).join("tests/python/sts_compat.py"))
        .env("SSM_ENDPOINT", emu.addr().to_string())
        .env("TENCENTCLOUD_SECRET_ID", &cred.secret_id)
        .env("TENCENTCLOUD_SECRET_KEY", &cred.secret_key)
        .output()
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "sts_compat.py failed:\n{stdout}\n{stderr}"
    );
    let steps: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON line per step"))
        .collect();
    let names: Vec<&str> = steps.iter().map(|s| s["step"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "assume-role",
            "temporary-keys-on-ssm",
            "missing-token",
            "web-identity-skip-sign",
            "web-identity-signed",
            "sdk-credential-classes",
            "errors"
        ]
    );
    assert!(steps.iter().all(|s| s["ok"] == true), "{stdout}");

    // What the emulator counted: AssumeRole 6 times (3 steps, the credential class, and 2
    // refusals: a bad ARN, a wrong key), web identity 4 times (1 refused: a malformed token).
    let sts = emu.stats().sts;
    assert_eq!(
        (sts["AssumeRole"].calls, sts["AssumeRole"].errors),
        (6, 2),
        "{sts:?}"
    );
    assert_eq!(
        (
            sts["AssumeRoleWithWebIdentity"].calls,
            sts["AssumeRoleWithWebIdentity"].errors
        ),
        (4, 1),
        "{sts:?}"
    );
}
