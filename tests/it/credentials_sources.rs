//! Each credential source against the emulator, end to end through the real binary: web identity
//! (with no static key anywhere), assume_role, the named and the discovered instance role; the
//! refusals, each naming its source and reason without quoting a token; the plan key rule; the
//! emulator's own rules for temporary keys; and the endpoint trust rule.

use serde_json::json;
use ssmform::emulator::{
    DEFAULT_INSTANCE_ROLE, DEV_SECRET_ID, DEV_SECRET_KEY, RoleRule, StsConfig,
};
use ssmform::secret::SecretValue;
use ssmform::ssm::credentials::*;
use ssmform::ssm::sts::{AssumeRoleParams, StsClient, WebIdentityParams};
use ssmform::ssm::trust::{self, AllowList, Purpose};
use ssmform::ssm::{Client, ClientConfig, ListSecretsRequest};

use crate::credentials_fake::*;
use crate::support::apply::value;
use crate::support::{Leaks, REGION, TestEmulator, Workspace};

const AUDIENCE: &str = "sts.tencentcloudapi.com";

fn read(emu: &TestEmulator, name: &str) -> String {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(value(&emu.api(), name))
}

fn strict() -> StsConfig {
    StsConfig {
        roles: vec![
            RoleRule::parse("ssm-ci=oidc:github").unwrap(),
            RoleRule::parse(&format!("ssm-writer={DEV_SECRET_ID}")).unwrap(),
            RoleRule::parse("someone-elses=AKIDsomeoneelse0000000000").unwrap(),
        ],
        oidc_audience: Some(AUDIENCE.into()),
        oidc_provider: Some("github".into()),
        ..StsConfig::default()
    }
}

fn apply_succeeds(ws: &Workspace) {
    ws.run(["apply", "cfg", "--auto-approve"])
        .assert_success()
        .assert_stdout_contains("Apply complete! Secrets: 2 created, 0 updated, 0 unchanged.");
}

#[test]
fn web_identity_applies_with_no_static_key_in_the_environment() {
    let emu = emulator(strict());
    let ws = keyless(&emu).config(TWO_SECRETS);
    ws.file(
        "token",
        fresh_token(600, AUDIENCE, "repo:octo/app:environment:production"),
    );
    ws.provider(&web_identity_lines(
        &emu.endpoint(),
        "    provider_id             = \"github\"\n",
    ));
    apply_succeeds(&ws);
    ws.run(["plan", "cfg", "--detailed-exitcode"])
        .assert_success()
        .assert_stdout_contains("Plan: 0 to create, 0 to update, 0 to delete, 2 unchanged.");
    assert_eq!(read(&emu, "cred-a"), "value-a");
    let sts = emu.stats().sts;
    assert_eq!(
        (
            sts["AssumeRoleWithWebIdentity"].calls,
            sts["AssumeRoleWithWebIdentity"].errors
        ),
        (2, 0),
        "one exchange per run"
    );
    assert_eq!(sts["AssumeRole"].calls, 0);
}

#[test]
fn web_identity_from_the_terraform_provider_s_variables_and_from_tke_s() {
    let emu = emulator(StsConfig::default());
    let token = fresh_token(600, AUDIENCE, "repo:octo/app:ref:refs/heads/main");
    let ws = keyless(&emu)
        .env(ENV_ASSUME_ROLE_ARN, ROLE_ARN)
        .env(ENV_WEB_IDENTITY_TOKEN, &token)
        .env(ENV_PROVIDER_ID, "github")
        .config(TWO_SECRETS);
    ws.provider(&format!("  sts_endpoint = \"{}\"", emu.endpoint()));
    apply_succeeds(&ws);

    let ws = keyless(&emu)
        .env(ENV_TKE_ROLE_ARN, ROLE_ARN)
        .env(ENV_TKE_PROVIDER_ID, "tke-oidc")
        .env(ENV_TKE_REGION, REGION)
        .config(&TWO_SECRETS.replace("cred-", "tke-"));
    ws.file("sa/token", &token);
    let token_path = ws.path("sa/token").display().to_string();
    let ws = ws.env(ENV_TKE_WEB_IDENTITY_TOKEN_FILE, token_path);
    ws.provider(&format!("  sts_endpoint = \"{}\"", emu.endpoint()));
    apply_succeeds(&ws);
    assert_eq!(read(&emu, "tke-b"), "value-b");
    assert_eq!(emu.stats().sts["AssumeRoleWithWebIdentity"].calls, 2);
}

#[test]
fn assume_role_is_signed_with_the_static_keys_from_the_block_or_the_environment() {
    let emu = emulator(strict());
    let ws = Workspace::new(&emu).config(TWO_SECRETS);
    ws.provider(&format!(
        "  sts_endpoint = \"{}\"\n  assume_role {{\n    role_arn         = \"qcs::cam::uin/100000000001:roleName/ssm-writer\"\n    session_name     = \"ssmform-test\"\n    session_duration = 900\n    external_id      = \"ext-1234\"\n    policy           = jsonencode({{ version = \"2.0\", statement = [{{ effect = \"allow\", action = [\"name/ssm:*\"], resource = [\"*\"] }}] }})\n  }}",
        emu.endpoint()
    ));
    apply_succeeds(&ws);
    assert_eq!(
        (
            emu.stats().sts["AssumeRole"].calls,
            emu.stats().sts["AssumeRole"].errors
        ),
        (1, 0)
    );

    let ws = Workspace::new(&emu)
        .env(
            ENV_ASSUME_ROLE_ARN,
            "qcs::cam::uin/100000000001:roleName/ssm-writer",
        )
        .env(ENV_ASSUME_ROLE_SESSION_NAME, "from-env")
        .config(TWO_SECRETS);
    ws.provider(&format!("  sts_endpoint = \"{}\"", emu.endpoint()));
    ws.run(["plan", "cfg", "--detailed-exitcode"])
        .assert_success()
        .assert_stdout_contains("2 unchanged");
    assert_eq!(emu.stats().sts["AssumeRole"].calls, 2);
}

#[test]
fn the_named_instance_role_applies_and_assume_role_can_build_on_it() {
    let emu = emulator(StsConfig::default());
    let ws = keyless(&emu).config(TWO_SECRETS);
    let metadata = format!(
        "  metadata_endpoint = \"{}\"\n  cam_role_name     = \"{DEFAULT_INSTANCE_ROLE}\"",
        emu.endpoint()
    );
    ws.provider(&metadata);
    apply_succeeds(&ws);
    let served = emu.stats().sts["MetadataCredentials"];
    assert_eq!((served.calls, served.errors), (1, 0));

    // AssumeRole signed with the instance role's temporary key and token.
    ws.provider(&format!(
        "{metadata}\n  sts_endpoint = \"{}\"\n  assume_role {{\n    role_arn = \"{ROLE_ARN}\"\n  }}",
        emu.endpoint()
    ));
    ws.run(["plan", "cfg", "--detailed-exitcode"])
        .assert_success()
        .assert_stdout_contains("2 unchanged");
    let sts = emu.stats().sts;
    assert_eq!((sts["AssumeRole"].calls, sts["AssumeRole"].errors), (1, 0));

    // From the environment, and a role that is not bound.
    let ws = keyless(&emu)
        .env(ENV_CAM_ROLE_NAME, "not-bound")
        .config(TWO_SECRETS);
    ws.provider(&format!("  metadata_endpoint = \"{}\"", emu.endpoint()));
    ws.run(["plan", "cfg"])
        .assert_exit(1)
        .assert_stderr_contains("the CVM instance role `not-bound`")
        .assert_stderr_contains("no role `not-bound` is bound to this instance");
}

#[test]
fn the_instance_role_is_discovered_only_when_nothing_else_is_found() {
    let emu = emulator(StsConfig::default());
    let ws = keyless(&emu).config(TWO_SECRETS);
    ws.provider(&format!("  metadata_endpoint = \"{}\"", emu.endpoint()));
    apply_succeeds(&ws);
    assert_eq!(emu.stats().sts["MetadataCredentials"].calls, 1);

    // Static keys come before discovery.
    let ws = Workspace::new(&emu).config(TWO_SECRETS);
    ws.provider(&format!("  metadata_endpoint = \"{}\"", emu.endpoint()));
    ws.run(["plan", "cfg"]).assert_success();
    assert_eq!(emu.stats().sts["MetadataCredentials"].calls, 1);

    // No role bound: the error lists every place looked at.
    let none = emulator(StsConfig {
        instance_role: None,
        ..StsConfig::default()
    });
    let ws = keyless(&none).config(TWO_SECRETS);
    ws.provider(&format!("  metadata_endpoint = \"{}\"", none.endpoint()));
    let out = ws.run(["plan", "cfg"]);
    out.assert_exit(1);
    for needle in [
        "no Tencent Cloud credentials found",
        ENV_WEB_IDENTITY_TOKEN_FILE,
        ENV_CAM_ROLE_NAME,
        ENV_SECRET_ID,
        "no role is bound to this instance",
    ] {
        out.assert_stderr_contains(needle);
    }
    // Against an emulator without metadata_endpoint nothing is asked (no network off this
    // machine), and the error says so.
    let ws = keyless(&none).config(TWO_SECRETS);
    ws.run(["plan", "cfg"])
        .assert_exit(1)
        .assert_stderr_contains("not asked: the endpoint is not Tencent Cloud's");
}

/// A refusal: provider lines, the token file's content, what the error must say, and whether
/// the token may have reached STS.
struct Refusal {
    what: &'static str,
    provider: String,
    token: String,
    keys: bool,
    says: &'static [&'static str],
    reaches_sts: bool,
}

#[test]
fn refusals_name_the_source_and_the_reason_and_never_the_token() {
    let emu = emulator(strict());
    let ep = emu.endpoint();
    let web = |role: &str, provider: &str| {
        format!(
            "  sts_endpoint = \"{ep}\"\n  assume_role_with_web_identity {{\n    role_arn                = \"qcs::cam::uin/100000000001:roleName/{role}\"\n    provider_id             = \"{provider}\"\n    web_identity_token_file = \"../token\"\n  }}"
        )
    };
    let good = fresh_token(600, AUDIENCE, "repo:octo/app:environment:production");
    let cases = [
        Refusal {
            what: "role not found",
            provider: web("no-such-role", "github"),
            token: good.clone(),
            keys: false,
            says: &[
                "cannot obtain credentials from assume_role_with_web_identity (role `qcs::cam::uin/100000000001:roleName/no-such-role`",
                "the role does not exist",
                "ResourceNotFound.RoleNotFound",
            ],
            reaches_sts: true,
        },
        Refusal {
            what: "wrong audience",
            provider: web("ssm-ci", "github"),
            token: fresh_token(
                600,
                "https://github.com/octo",
                "repo:octo/app:ref:refs/heads/x",
            ),
            keys: false,
            says: &["wrong audience", "InvalidParameter.WebIdentityTokenError"],
            reaches_sts: true,
        },
        Refusal {
            what: "expired token",
            provider: web("ssm-ci", "github"),
            token: fresh_token(-60, AUDIENCE, "repo:octo/app:environment:production"),
            keys: false,
            says: &["the web-identity token has expired", "token from the file"],
            reaches_sts: false,
        },
        Refusal {
            what: "unknown identity provider",
            provider: web("ssm-ci", "gitlab"),
            token: good.clone(),
            keys: false,
            says: &["identity provider (`provider_id`) does not exist"],
            reaches_sts: true,
        },
        Refusal {
            what: "a file that holds no JWT",
            provider: web("ssm-ci", "github"),
            token: "root:x:0:0:canaryRootPasswordLine:/root:/bin/bash\n".into(),
            keys: false,
            says: &["is not a JWT"],
            reaches_sts: false,
        },
        Refusal {
            what: "a principal the role does not trust",
            provider: format!(
                "  sts_endpoint = \"{ep}\"\n  assume_role {{\n    role_arn = \"qcs::cam::uin/100000000001:roleName/someone-elses\"\n  }}"
            ),
            token: good.clone(),
            keys: true,
            says: &[
                "assume_role (role `qcs::cam::uin/100000000001:roleName/someone-elses`",
                "signed with environment variables TENCENTCLOUD_SECRET_ID/TENCENTCLOUD_SECRET_KEY",
                "not allowed to assume the role",
                "UnauthorizedOperation",
            ],
            reaches_sts: true,
        },
    ];
    for case in cases {
        let before = emu.stats().sts;
        let ws = if case.keys {
            Workspace::new(&emu)
        } else {
            keyless(&emu)
        }
        .config(TWO_SECRETS);
        ws.file("token", &case.token);
        ws.provider(&case.provider);
        let out = ws.run_with(["plan", "cfg"], &[("SSMFORM_LOG", "trace")]);
        out.assert_exit(1);
        for s in case.says {
            assert!(
                out.stderr.contains(s),
                "{}: {s:?} not in:\n{}",
                case.what,
                out.stderr
            );
        }
        assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
        let token = case.token.trim().to_string();
        out.assert_no_leak(&Leaks::named([("web-identity token", token.as_str())]));
        if token.contains("canaryRootPasswordLine") {
            out.assert_no_leak(&Leaks::new(["canaryRootPasswordLine"]));
        }
        let after = emu.stats().sts;
        let calls = |s: &std::collections::BTreeMap<String, ssmform::emulator::StsStats>| {
            s["AssumeRole"].calls + s["AssumeRoleWithWebIdentity"].calls
        };
        assert_eq!(
            calls(&after) > calls(&before),
            case.reaches_sts,
            "{}: STS calls before {before:?}, after {after:?}",
            case.what
        );
    }
    // A token file that does not exist.
    let ws = keyless(&emu).config(TWO_SECRETS);
    ws.provider(&web("ssm-ci", "github"));
    ws.run(["plan", "cfg"])
        .assert_exit(1)
        .assert_stderr_contains("does not exist");
}

#[test]
fn temporary_credentials_need_a_plan_key_and_nothing_is_sent_without_one() {
    let emu = emulator(StsConfig::default());
    let ws = keyless(&emu).without_plan_key().config(TWO_SECRETS);
    ws.file("token", fresh_token(600, AUDIENCE, "repo:octo/app:ref:x"));
    ws.provider(&web_identity_lines(&emu.endpoint(), ""));
    ws.run(["plan", "cfg"])
        .assert_exit(1)
        .assert_stderr_contains("SSMFORM_PLAN_KEY is not set")
        .assert_stderr_contains(
            "assume_role_with_web_identity (role `qcs::cam::uin/100000000001:roleName/ssm-ci`",
        );
    assert_eq!(emu.stats().sts["AssumeRoleWithWebIdentity"].calls, 0);
}

#[tokio::test]
async fn the_emulator_accepts_temporary_keys_only_with_their_token_and_before_they_expire() {
    let emu = emulator(StsConfig {
        credential_lifetime: Some(2),
        ..StsConfig::default()
    });
    let sts = StsClient::new(
        trust::check(&emu.endpoint(), Purpose::Sts, || Ok(AllowList::none())).unwrap(),
        REGION,
    )
    .unwrap();
    let base = Credentials::new(
        DEV_SECRET_ID,
        SecretValue::from_string(DEV_SECRET_KEY.into()),
    );
    let t = sts
        .assume_role(
            &base,
            &AssumeRoleParams {
                role_arn: ROLE_ARN.into(),
                session_name: "unit".into(),
                duration_secs: 900,
                policy: None,
                external_id: None,
            },
            &CredentialSource::Explicit,
        )
        .await
        .unwrap();
    assert!(
        t.expires_at <= ssmform::clock::unix_now() + 2,
        "capped lifetime"
    );
    let list = |c: Credentials| async {
        Client::new(ClientConfig::new(emu.endpoint(), REGION), c)
            .unwrap()
            .list_secrets(&ListSecretsRequest::default())
            .await
    };
    list(t.credentials.clone()).await.unwrap();
    let mut no_token = t.credentials.clone();
    no_token.token = None;
    let err = list(no_token).await.unwrap_err();
    assert_eq!(err.code(), Some("AuthFailure.TokenFailure"), "{err}");
    let wrong = t
        .credentials
        .clone()
        .with_token(SecretValue::from_string("ssmformEmulatorTokenWrong".into()));
    assert_eq!(
        list(wrong).await.unwrap_err().code(),
        Some("AuthFailure.TokenFailure")
    );
    while ssmform::clock::unix_millis_now() < t.expires_at * 1000 + 100 {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let err = list(t.credentials.clone()).await.unwrap_err();
    assert_eq!(err.code(), Some("AuthFailure.TokenFailure"), "{err}");
    assert!(err.to_string().contains("has expired"), "{err}");

    // Web identity is unsigned: `Authorization: SKIP` (the SDKs) or no header at all.
    let token = SecretValue::from_string(fresh_token(60, AUDIENCE, "repo:a/b:ref:x"));
    let params = WebIdentityParams {
        role_arn: ROLE_ARN.into(),
        session_name: "unit".into(),
        duration_secs: 900,
        provider_id: "OIDC".into(),
    };
    sts.assume_role_with_web_identity(&token, &params, &CredentialSource::Explicit)
        .await
        .unwrap();
    let body = json!({"ProviderId": "OIDC", "WebIdentityToken": token.expose_str().unwrap(),
        "RoleArn": ROLE_ARN, "RoleSessionName": "raw"});
    let r: serde_json::Value = reqwest::Client::new()
        .post(emu.endpoint())
        .header("Content-Type", "application/json")
        .header("X-TC-Action", "AssumeRoleWithWebIdentity")
        .header("X-TC-Version", "2018-08-13")
        .header("X-TC-Region", REGION)
        .header("X-TC-Timestamp", ssmform::clock::unix_now().to_string())
        .body(body.to_string())
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .map(|b| serde_json::from_slice(&b).unwrap())
        .unwrap();
    assert!(
        r["Response"]["Credentials"]["TmpSecretId"]
            .as_str()
            .unwrap()
            .starts_with("AKIDtmp"),
        "{r}"
    );
    // AssumeRole signed for the wrong service is not STS's.
    let r = emu
        .api()
        .request(
            "AssumeRole",
            json!({"RoleArn": ROLE_ARN, "RoleSessionName": "x"}),
        )
        .send()
        .await;
    assert_eq!(r.code(), Some("InvalidAction"), "{}", r.json);
}

#[test]
fn endpoints_outside_tencent_cloud_and_loopback_are_refused_unless_the_environment_allows_them() {
    let ws = Workspace::bare().config(TWO_SECRETS);
    let provider = |line: &str| {
        ws.file(
            "cfg/provider.hcl",
            format!("provider \"tencentcloud\" {{\n  region = \"ap-guangzhou\"\n{line}\n}}\n"),
        );
    };
    for (line, setting, purpose) in [
        (
            "  sts_endpoint = \"https://sts.tencentcloudapi.com.attacker.example\"",
            "sts_endpoint",
            "web-identity token",
        ),
        (
            "  metadata_endpoint = \"http://169.254.0.23\"",
            "metadata_endpoint",
            "which account receives the secrets",
        ),
        (
            "  endpoint = \"https://ssm.attacker.example\"",
            "endpoint",
            "session token",
        ),
        (
            "  endpoint = \"https://127.0.0.1.nip.io\"",
            "endpoint",
            "session token",
        ),
    ] {
        provider(line);
        for command in [&["validate", "cfg"][..], &["plan", "cfg"]] {
            let out = ws.run(command);
            out.assert_exit(1)
                .assert_stderr_contains(&format!("`{setting}` = "))
                .assert_stderr_contains("SSMFORM_ALLOWED_ENDPOINTS")
                .assert_stderr_contains(purpose)
                .assert_stderr_contains("cfg/provider.hcl:3:");
        }
    }
    // Plain HTTP to Tencent Cloud is refused outright.
    provider("  sts_endpoint = \"http://sts.tencentcloudapi.com\"");
    ws.run(["validate", "cfg"])
        .assert_exit(1)
        .assert_stderr_contains("in clear");
    // The environment (never the configuration) can name another host.
    provider(
        "  endpoint = \"https://ssm.attacker.example:8443\"\n  sts_endpoint = \"https://sts.corp.example\"",
    );
    ws.run_with(
        ["validate", "cfg"],
        &[(
            "SSMFORM_ALLOWED_ENDPOINTS",
            "ssm.attacker.example:8443, sts.corp.example",
        )],
    )
    .assert_success();
    ws.run_with(
        ["validate", "cfg"],
        &[("SSMFORM_ALLOWED_ENDPOINTS", "ssm.attacker.example:9443")],
    )
    .assert_exit(1)
    .assert_stderr_contains("`endpoint` = ");
}

#[test]
fn an_sts_redirect_is_not_followed() {
    let catcher = Scripted::start(|_| (200, "application/json", "{}".into()));
    let target = format!("{}/", catcher.endpoint());
    let redirector = Scripted::start(move |_| (302, "text/plain", target.clone()));
    let emu = emulator(StsConfig::default());
    let ws = keyless(&emu).config(TWO_SECRETS);
    ws.file("token", fresh_token(600, AUDIENCE, "repo:octo/app:ref:x"));
    ws.provider(&web_identity_lines(&redirector.endpoint(), ""));
    ws.run(["plan", "cfg"])
        .assert_exit(1)
        .assert_stderr_contains("answered HTTP 302");
    assert_eq!(redirector.seen().len(), 1, "a redirect is not retried");
    assert!(catcher.seen().is_empty(), "the token went no further");
}
