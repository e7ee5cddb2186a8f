//! Temporary credentials that expire during an apply: with the emulator issuing short-lived keys
//! (and enforcing their expiry on every SSM call), an apply that lasts several lifetimes must
//! refresh them and never send a request signed with an expired key; a token file that rotates
//! (as Kubernetes rotates projected service-account tokens) must be read again at each refresh.
//!
//! The refresh margin itself (min(5 min, half the lifetime)) is logic, tested under Tokio's paused
//! clock in `src/ssm/refresh.rs`. Here only outcomes are asserted: every change applied, no
//! request refused, STS asked again. How long an apply lasts is bounded below by the documented
//! rate limits the client keeps to (300 UpdateSecrets at 50/s cannot take less than 5 s), which
//! is what makes the credentials expire mid-apply; no duration is measured.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use ssmform::emulator::{Action, EmulatorConfig, RateLimits, StsConfig};

use crate::credentials_fake::*;
use crate::support::apply::{hcl, many, seed_of, store_in, value};
use crate::support::{TestEmulator, temp_dir};

const AUDIENCE: &str = "sts.tencentcloudapi.com";

#[tokio::test]
async fn an_apply_of_300_updates_outlives_several_credential_lifetimes_without_a_failed_request() {
    let store = temp_dir();
    let db = store_in(store.path());
    let secrets = many("refresh", 300, "new");
    seed_of(&secrets, |s| format!("old-{}", s.name))
        .write_store(&db)
        .await;
    // The documented limits (UpdateSecret 50/s), and keys that live 3 s.
    let emu = TestEmulator::with(EmulatorConfig {
        db: Some(db),
        rate_limits: RateLimits::default(),
        sts: StsConfig {
            credential_lifetime: Some(3),
            ..StsConfig::default()
        },
        ..EmulatorConfig::default()
    });
    let ws = keyless(&emu).in_config_dir();
    ws.file(
        "token",
        fresh_token(3600, AUDIENCE, "repo:octo/app:environment:production"),
    );
    ws.write_config(&web_identity_lines(&emu.endpoint(), ""), &hcl(&secrets));
    let out = ws.run(["apply", "--auto-approve"]);
    out.assert_success()
        .assert_stdout_contains("Apply complete! Secrets: 0 created, 300 updated, 0 unchanged.");

    let stats = emu.stats();
    for &action in Action::ALL.iter() {
        let a = stats.action(action);
        assert_eq!(
            a.errors, 0,
            "{action}: no request refused (an expired key would be AuthFailure.TokenFailure): {stats:?}"
        );
    }
    assert!(stats.action(Action::UpdateSecret).calls >= 300);
    let exchanges = stats.sts["AssumeRoleWithWebIdentity"];
    assert_eq!(exchanges.errors, 0);
    assert!(
        exchanges.calls >= 3,
        "credentials living 3 s were refreshed during an apply of at least 5 s: {exchanges:?}"
    );
    let api = emu.api();
    for s in [&secrets[0], &secrets[150], &secrets[299]] {
        assert_eq!(value(&api, &s.name).await, s.value);
    }
}

#[test]
fn a_token_file_rotated_between_refreshes_is_read_again() {
    // Keys live 2 s; each token expires 2 s after it is written and the file is rewritten
    // (atomically, as the kubelet does) every 250 ms. The apply lasts at least 5 s (120 creates
    // at the 20/s the provider block allows), so refreshes after the first token's expiry succeed
    // only if the file is read again each time.
    let emu = emulator(StsConfig {
        credential_lifetime: Some(2),
        oidc_audience: Some(AUDIENCE.into()),
        ..StsConfig::default()
    });
    let ws = keyless(&emu).in_config_dir();
    let token_path = ws.path("token");
    let write_token = {
        let token_path = token_path.clone();
        move || {
            let tmp = token_path.with_extension("tmp");
            std::fs::write(
                &tmp,
                fresh_token(2, AUDIENCE, "system:serviceaccount:ops:ssmform"),
            )
            .unwrap();
            std::fs::rename(&tmp, &token_path).unwrap();
        }
    };
    write_token();
    ws.mark_input("token");
    let stop = Arc::new(AtomicBool::new(false));
    let rotator = {
        let stop = Arc::clone(&stop);
        let write_token = write_token.clone();
        std::thread::spawn(move || {
            let mut rotations = 0u32;
            while !stop.load(Ordering::SeqCst) {
                std::thread::sleep(std::time::Duration::from_millis(250));
                write_token();
                rotations += 1;
            }
            rotations
        })
    };
    let secrets = many("rotate", 120, "made");
    ws.write_config(
        &format!(
            "  rate_limits = {{ CreateSecret = 20 }}\n{}",
            web_identity_lines(&emu.endpoint(), "")
        ),
        &hcl(&secrets),
    );
    let out = ws.run(["apply", "--auto-approve"]);
    stop.store(true, Ordering::SeqCst);
    let rotations = rotator.join().unwrap();
    out.assert_success()
        .assert_stdout_contains("Apply complete! Secrets: 120 created, 0 updated, 0 unchanged.");
    let stats = emu.stats();
    assert_eq!(stats.action(Action::CreateSecret).errors, 0, "{stats:?}");
    let exchanges = stats.sts["AssumeRoleWithWebIdentity"];
    assert_eq!(
        exchanges.errors, 0,
        "no stale token was sent: {exchanges:?}"
    );
    assert!(exchanges.calls >= 3, "{exchanges:?}");
    assert!(
        rotations >= 8,
        "the file was rotated during the apply ({rotations} times)"
    );
}
