//! Canaries for credentials: a web-identity token (JWT), a base SecretKey, and the temporary
//! SecretKey and session token of an instance role never appear in stdout, stderr, files left
//! behind, or logs at `SSMFORM_LOG=trace`, in any form the shared leak check knows (plain, case,
//! separators, hex, base64 at every alignment, URL and JSON escaping, pieces); nor does a token
//! that an STS error message quotes back.

use serde_json::json;
use ssmform::emulator::{Credential, EmulatorConfig, RateLimits, StsConfig};

use crate::credentials_fake::*;
use crate::support::{Leaks, TestEmulator, Workspace};

const AUDIENCE: &str = "sts.tencentcloudapi.com";
const TRACE: &[(&str, &str)] = &[("SSMFORM_LOG", "trace")];

/// A JWT whose subject and id are canaries too.
fn canary_token() -> String {
    jwt(json!({
        "iss": "https://token.actions.githubusercontent.com",
        "aud": AUDIENCE,
        "sub": "repo:cnryOrgQ7v/cnryRepoZ4k:environment:production",
        "jti": "cnryJwtIdM2x8Lq4R",
        "exp": ssmform::clock::unix_now() + 3600,
    }))
}

fn token_leaks(token: &str) -> Leaks {
    Leaks::named([
        ("web-identity token", token),
        ("token subject", "cnryOrgQ7v/cnryRepoZ4k"),
        ("token id", "cnryJwtIdM2x8Lq4R"),
    ])
}

/// apply, plan, plan --out, show: every command that touches credentials, at trace level.
fn run_everything(ws: &Workspace, leaks: &Leaks) {
    for args in [
        &["apply", "cfg", "--auto-approve"][..],
        &["plan", "cfg", "--detailed-exitcode"],
        &["plan", "cfg", "--out", "plan.ssmplan", "--format", "json"],
        &["show", "plan.ssmplan"],
    ] {
        let out = ws.run_with(args, TRACE);
        out.assert_success().assert_no_leak(leaks);
        assert!(
            out.stderr.contains("TRACE") || args[0] == "show",
            "trace logging is on: {}",
            out.stderr
        );
    }
    let searched = ws.assert_no_leak_in_files(leaks);
    assert!(searched >= 2, "journals and the plan file were searched");
}

#[test]
fn a_web_identity_token_never_leaks() {
    let emu = emulator(StsConfig::default());
    let token = canary_token();
    let ws = keyless(&emu).config(TWO_SECRETS);
    ws.file("token", &token);
    ws.provider(&web_identity_lines(&emu.endpoint(), ""));
    run_everything(&ws, &token_leaks(&token));

    // Given in a variable instead of a file.
    let ws = keyless(&emu)
        .env("TENCENTCLOUD_ASSUME_ROLE_ARN", ROLE_ARN)
        .env("TENCENTCLOUD_ASSUME_ROLE_WEB_IDENTITY_TOKEN", &token)
        .config(&TWO_SECRETS.replace("cred-", "env-"));
    ws.provider(&format!("  sts_endpoint = \"{}\"", emu.endpoint()));
    run_everything(&ws, &token_leaks(&token));

    // Given in the configuration (as the Terraform provider allows), through a variable and as
    // a literal: masked in diagnostics too.
    let ws = keyless(&emu).config(&format!(
        "variable \"oidc\" {{\n  sensitive = true\n}}\n{}",
        TWO_SECRETS.replace("cred-", "var-")
    ));
    ws.provider(&format!(
        "  sts_endpoint = \"{}\"\n  assume_role_with_web_identity {{\n    role_arn           = \"{ROLE_ARN}\"\n    web_identity_token = var.oidc\n  }}",
        emu.endpoint()
    ));
    let out = ws.run_with(
        ["apply", "cfg", "--auto-approve"],
        &[("SSMFORM_VAR_oidc", token.as_str()), TRACE[0]],
    );
    out.assert_success().assert_no_leak(&token_leaks(&token));
    // A diagnostic that shows the line of a literal token masks the literal.
    ws.provider(&format!(
        "  sts_endpoint = \"{}\"\n  assume_role_with_web_identity {{\n    role_arn           = \"{ROLE_ARN}\"\n    web_identity_token = \"{token}\" == \"x\"\n  }}",
        emu.endpoint()
    ));
    let out = ws.run_with(["validate", "cfg"], TRACE);
    out.assert_exit(1)
        .assert_stderr_contains("`web_identity_token` must be a non-empty string, not a bool")
        .assert_stderr_contains("cfg/provider.hcl:7:26")
        .assert_no_leak(&token_leaks(&token));
}

#[test]
fn a_token_quoted_back_by_sts_is_never_shown() {
    let token = canary_token();
    let quoted = token.clone();
    let sts = Scripted::start(move |_| {
        (
            200,
            "application/json",
            json!({"Response": {"Error": {
                "Code": "InvalidParameter.WebIdentityTokenError",
                "Message": format!("WebIdentityToken {quoted} has an invalid audience")},
                "RequestId": "r-1"}})
            .to_string(),
        )
    });
    let emu = emulator(StsConfig::default());
    let ws = keyless(&emu).config(TWO_SECRETS);
    ws.file("token", &token);
    ws.provider(&web_identity_lines(&sts.endpoint(), ""));
    let out = ws.run_with(["plan", "cfg"], TRACE);
    out.assert_exit(1)
        .assert_stderr_contains("wrong audience")
        .assert_stderr_contains("InvalidParameter.WebIdentityTokenError")
        .assert_no_leak(&token_leaks(&token));
    let seen = sts.seen();
    assert_eq!(seen.len(), 1, "a refusal is not retried");
    assert_eq!(seen[0].header("authorization"), Some("SKIP"));
    assert_eq!(seen[0].header("x-tc-token"), None);
    assert_eq!(
        seen[0].header("x-tc-action"),
        Some("AssumeRoleWithWebIdentity")
    );
    assert_eq!(seen[0].header("x-tc-version"), Some("2018-08-13"));
    assert_eq!(seen[0].method, "POST");
    let body: serde_json::Value = serde_json::from_slice(&seen[0].body).unwrap();
    assert_eq!(
        body["WebIdentityToken"],
        token.as_str(),
        "the token went to STS only"
    );
    assert_eq!(body["RoleArn"], ROLE_ARN);
}

#[test]
fn the_base_key_of_assume_role_never_leaks() {
    const BASE_ID: &str = "AKIDcnryBaseKeyOwner00000001";
    const BASE_KEY: &str = "cnryBaseSecretKeyW8p3Zr5Tq1";
    let emu = TestEmulator::with(EmulatorConfig {
        credentials: vec![Credential::new(BASE_ID, BASE_KEY)],
        rate_limits: RateLimits::Off,
        ..EmulatorConfig::default()
    });
    let ws = Workspace::new(&emu).config(TWO_SECRETS);
    ws.provider(&format!(
        "  sts_endpoint = \"{}\"\n  assume_role {{\n    role_arn = \"{ROLE_ARN}\"\n  }}",
        emu.endpoint()
    ));
    run_everything(&ws, &Leaks::named([("base SecretKey", BASE_KEY)]));
    assert_eq!(emu.stats().sts["AssumeRole"].calls, 3, "apply, plan, plan");
}

#[test]
fn instance_role_keys_and_tokens_never_leak() {
    // A stand-in metadata service hands out the emulator's own key as the "temporary" one, with a
    // canary token, so the canaries are what every request is signed with.
    const ID: &str = "AKIDcnryInstanceRoleTmp0001";
    const KEY: &str = "cnryInstanceTmpKeyJ6d2Vn8x";
    const TOKEN: &str = "cnryInstanceSessionTokenP5s9Kd3Qw7";
    let metadata = Scripted::start(|seen| {
        if seen.path.ends_with("/security-credentials/ops-role") {
            (
                200,
                "application/json",
                metadata_answer(ID, KEY, TOKEN, 3600),
            )
        } else {
            (404, "text/plain", "no\n".into())
        }
    });
    let emu = TestEmulator::with(EmulatorConfig {
        credentials: vec![Credential::new(ID, KEY)],
        rate_limits: RateLimits::Off,
        ..EmulatorConfig::default()
    });
    let ws = keyless(&emu).config(TWO_SECRETS);
    ws.provider(&format!(
        "  metadata_endpoint = \"{}\"\n  cam_role_name     = \"ops-role\"",
        metadata.endpoint()
    ));
    run_everything(
        &ws,
        &Leaks::named([("temporary SecretKey", KEY), ("session token", TOKEN)]),
    );
    let paths: Vec<String> = metadata.seen().iter().map(|s| s.path.clone()).collect();
    assert!(
        paths
            .iter()
            .all(|p| p == "/latest/meta-data/cam/security-credentials/ops-role"),
        "{paths:?}"
    );
}
