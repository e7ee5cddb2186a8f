//! Official-client compatibility: Tencent's Python SDK and tccli, unchanged, against the emulator.
//!
//! The packages live in `target/py-venv`, made by `tests/python/setup.sh` from the pinned
//! `tests/python/requirements.txt`. `.ci/run` calls the script first; these tests call it too
//! (it returns at once when the venv is current), so a plain `cargo test` works offline once the
//! network was available one time. If the packages cannot be installed the tests FAIL with the
//! script's output: they never skip.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::{Value, json};
use ssmform::emulator::Action;

use crate::support::{REGION, TestEmulator, temp_dir};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The venv's `bin/`, set up once per test process.
fn venv_bin() -> &'static Path {
    static VENV: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let r = VENV.get_or_init(|| {
        let out = Command::new("bash")
            .arg(Path::new(ROOT).join("tests/python/setup.sh"))
            .output()
            .map_err(|e| format!("cannot run tests/python/setup.sh: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "tests/python/setup.sh failed ({}); the Python compatibility tests need \
                 network access once to install {}:\n{}{}",
                out.status,
                "tests/python/requirements.txt",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(Path::new(ROOT).join("target/py-venv/bin"))
    });
    match r {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn python_sdk_works_unchanged_with_tc3_post_tc3_get_unsigned_payload_and_legacy_signatures() {
    let bin = venv_bin();
    let emu = TestEmulator::start();
    let cred = emu.credential().clone();
    let out = Command::new(bin.join("python"))
        .arg(Path::new(ROOT).join("tests/python/sdk_compat.py"))
        .env("SSM_ENDPOINT", emu.addr().to_string())
        .env("TENCENTCLOUD_SECRET_ID", &cred.secret_id)
        .env("TENCENTCLOUD_SECRET_KEY", &cred.secret_key)
        .output()
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "sdk_compat.py failed:\n{stdout}\n{stderr}"
    );
    let modes: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON line per mode"))
        .collect();
    let names: Vec<&str> = modes.iter().map(|m| m["mode"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "tc3-post",
            "tc3-get",
            "tc3-post-unsigned-payload",
            "legacy-sha256-post",
            "legacy-sha1-get"
        ]
    );
    assert!(modes.iter().all(|m| m["ok"] == true), "{stdout}");

    // What Python wrote, Rust reads back through its own signer.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let api = emu.api();
        for mode in &names {
            let r = api
                .ok(
                    "GetSecretValue",
                    json!({"SecretName": format!("py-{mode}"), "VersionId": "v1"}),
                )
                .await;
            assert_eq!(r["SecretString"], "p@ss w0rd & = + / ü 密码 (updated)");
            let r = api
                .ok(
                    "GetSecretValue",
                    json!({"SecretName": format!("py-{mode}"), "VersionId": "v2"}),
                )
                .await;
            let expected: Vec<u8> = (0..=255).collect();
            use base64::Engine as _;
            assert_eq!(
                base64::engine::general_purpose::STANDARD
                    .decode(r["SecretBinary"].as_str().unwrap())
                    .unwrap(),
                expected
            );
        }
    });
    let s = emu.stats().action(Action::CreateSecret);
    assert_eq!((s.calls, s.errors), (10, 5), "5 creations and 5 duplicates");
}

fn tccli(bin: &Path, home: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(bin.join("tccli"))
        .args(args)
        .env("HOME", home)
        .env_remove("TENCENTCLOUD_SECRET_ID")
        .env_remove("TENCENTCLOUD_SECRET_KEY")
        .env_remove("TENCENTCLOUD_REGION")
        .env_remove("TCCLI_PROFILE")
        .output()
        .expect("tccli runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn tccli_works_with_an_endpoint_flag_and_with_profile_files() {
    let bin = venv_bin();
    let emu = TestEmulator::start();
    let cred = emu.credential().clone();
    let endpoint = emu.endpoint();

    // 1. Credentials in the environment, endpoint on the command line.
    let home = temp_dir();
    let run_env = |args: &[&str]| {
        let out = Command::new(bin.join("tccli"))
            .args(args)
            .args(["--endpoint", &endpoint, "--region", REGION])
            .env("HOME", home.path())
            .env("TENCENTCLOUD_SECRET_ID", &cred.secret_id)
            .env("TENCENTCLOUD_SECRET_KEY", &cred.secret_key)
            .output()
            .expect("tccli runs");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, out, err) = run_env(&[
        "ssm",
        "CreateSecret",
        "--SecretName",
        "from-tccli",
        "--SecretString",
        "cli value",
    ]);
    assert!(ok, "{out}{err}");
    let v: Value = serde_json::from_str(&out).expect("tccli prints JSON");
    assert_eq!(v["VersionId"], "SSM_Current");
    let (ok, out, err) = run_env(&[
        "ssm",
        "GetSecretValue",
        "--SecretName",
        "from-tccli",
        "--VersionId",
        "SSM_Current",
    ]);
    assert!(ok, "{out}{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["SecretString"], "cli value");
    assert_eq!(v["SecretBinary"], "");
    let (ok, out, err) = run_env(&[
        "ssm",
        "GetSecretValue",
        "--SecretName",
        "missing",
        "--VersionId",
        "v1",
    ]);
    assert!(!ok, "a missing secret is an error");
    assert!(
        format!("{out}{err}").contains("code:ResourceNotFound"),
        "{out}{err}"
    );

    // 2. A tccli profile in a temp HOME: credentials and the endpoint from files only.
    let home2 = temp_dir();
    let dir = home2.path().join(".tccli");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("default.credential"),
        json!({"secretId": cred.secret_id, "secretKey": cred.secret_key}).to_string(),
    )
    .unwrap();
    std::fs::write(
        dir.join("default.configure"),
        json!({
            "_sys_param": {"region": REGION, "output": "json"},
            "ssm": {"endpoint": endpoint, "version": "2019-09-23"},
        })
        .to_string(),
    )
    .unwrap();
    let (ok, out, err) = tccli(
        bin,
        home2.path(),
        &["ssm", "ListSecrets", "--SearchSecretName", "from-tccli"],
    );
    assert!(ok, "{out}{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["TotalCount"], 1);
    assert_eq!(v["SecretMetadatas"][0]["SecretName"], "from-tccli");
}
