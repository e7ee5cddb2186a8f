//! `ssmform emulator` as a user runs it: help, banner, flags, errors, shutdown, persistence.

use serde_json::json;
use ssmform::emulator::{Credential, DEV_SECRET_ID, DEV_SECRET_KEY};

use crate::support::{Api, SpawnedEmulator, Ssmform, assert_no_leak, temp_dir};

#[test]
fn help_documents_every_flag() {
    let out = Ssmform::new(["emulator", "--help"]).run();
    out.assert_success();
    for flag in [
        "--listen",
        "--db",
        "--secret-id",
        "--secret-key",
        "--latency",
        "--faults",
        "--seed",
        "--no-rate-limits",
        "--rate-limit",
    ] {
        let line = out
            .stdout
            .lines()
            .position(|l| l.trim_start().starts_with(flag))
            .unwrap_or_else(|| panic!("{flag} missing from help:\n{}", out.stdout));
        // The flag's description follows on the next line(s).
        let next = out.stdout.lines().nth(line + 1).unwrap_or("");
        assert!(!next.trim().is_empty(), "{flag} has no help text");
    }
}

#[tokio::test]
async fn banner_prints_the_address_and_pasteable_development_credentials() {
    let emu = SpawnedEmulator::start(&[]);
    let banner = emu.banner.join("\n");
    assert!(banner.contains(&format!("export TENCENTCLOUD_SECRET_ID={DEV_SECRET_ID}")));
    assert!(banner.contains(&format!("export TENCENTCLOUD_SECRET_KEY={DEV_SECRET_KEY}")));
    assert!(banner.contains("/_emulator/stats"));
    let api = Api::for_addr(emu.addr, &Credential::development());
    api.ok("GetServiceStatus", json!({})).await;
    let (code, stderr) = emu.terminate();
    assert_eq!(code, Some(0), "SIGTERM is a clean stop: {stderr}");
    assert!(stderr.contains("shutting down"), "{stderr}");
}

#[tokio::test]
async fn given_credentials_are_used_and_the_key_is_never_printed() {
    let emu = SpawnedEmulator::start(&[
        "--secret-id",
        "AKIDmine",
        "--secret-key",
        "canary-key-7f3e",
        "--rate-limit",
        "UpdateSecret=20",
        "--latency",
        "1",
        "--faults",
        "internal=0",
        "--seed",
        "5",
    ]);
    let banner = emu.banner.join("\n");
    assert!(banner.contains("export TENCENTCLOUD_SECRET_ID=AKIDmine"));
    assert_no_leak("the banner", &banner, &["canary-key-7f3e"]);
    assert!(banner.contains("UpdateSecret 20/s"), "{banner}");
    let api = Api::for_addr(emu.addr, &Credential::new("AKIDmine", "canary-key-7f3e"));
    api.ok("GetServiceStatus", json!({})).await;
    let dev = Api::for_addr(emu.addr, &Credential::development());
    dev.err(
        "GetServiceStatus",
        json!({}),
        "AuthFailure.SecretIdNotFound",
    )
    .await;
    let (code, stderr) = emu.terminate();
    assert_eq!(code, Some(0));
    assert_no_leak("the emulator's stderr", &stderr, &["canary-key-7f3e"]);
}

#[test]
fn bad_flags_are_clear_errors() {
    for (args, expect) in [
        (vec!["--faults", "boom=0.1"], "unknown fault `boom`"),
        (vec!["--faults", "throttle=0.7,internal=0.7"], "more than 1"),
        (vec!["--rate-limit", "Nope=3"], "not an emulated action"),
        (vec!["--rate-limit", "UpdateSecret=0"], "≥ 1"),
        (vec!["--secret-id", "x"], "--secret-key"),
        (
            vec!["--no-rate-limits", "--rate-limit", "UpdateSecret=2"],
            "cannot be used with",
        ),
        (vec!["--listen", "nowhere"], "invalid socket address"),
    ] {
        let mut run = Ssmform::new(["emulator"]);
        for a in &args {
            run = run.arg(*a);
        }
        let out = run.run();
        out.assert_exit(1);
        assert!(out.stderr.contains(expect), "{args:?}: {}", out.stderr);
    }
}

#[test]
fn an_address_in_use_is_an_error_with_exit_1() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = Ssmform::new(["emulator", "--listen", &addr]).run();
    out.assert_exit(1).assert_stderr_contains(&addr);
}

#[tokio::test]
async fn the_binary_keeps_state_across_restarts_with_db() {
    let dir = temp_dir();
    let db = dir.path().join("state.db");
    let db = db.to_str().unwrap();
    let emu = SpawnedEmulator::start(&["--db", db]);
    assert!(emu.banner.join("\n").contains(db));
    let api = Api::for_addr(emu.addr, &Credential::development());
    api.create("survivor", "v1", "still here").await;
    assert_eq!(emu.terminate().0, Some(0));

    let emu = SpawnedEmulator::start(&["--db", db]);
    let api = Api::for_addr(emu.addr, &Credential::development());
    let r = api
        .ok(
            "GetSecretValue",
            json!({"SecretName": "survivor", "VersionId": "v1"}),
        )
        .await;
    assert_eq!(r["SecretString"], "still here");
}
