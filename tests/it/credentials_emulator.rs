//! `ssmform emulator`'s STS and metadata flags, as a user runs them: strict roles, audience and
//! identity provider, short credential lifetimes, no instance role; and bad values refused.

use ssmform::emulator::{DEV_SECRET_ID, DEV_SECRET_KEY};
use ssmform::secret::SecretValue;
use ssmform::ssm::credentials::{CredentialSource, Credentials};
use ssmform::ssm::metadata::MetadataClient;
use ssmform::ssm::sts::{AssumeRoleParams, StsClient, WebIdentityParams};
use ssmform::ssm::trust::{self, AllowList, Purpose};

use crate::credentials_fake::fresh_token;
use crate::support::{REGION, SpawnedEmulator, Ssmform};

#[test]
fn help_documents_the_sts_flags() {
    let out = Ssmform::new(["emulator", "--help"]).run();
    out.assert_success();
    for flag in [
        "--role",
        "--oidc-audience",
        "--oidc-provider",
        "--credential-lifetime",
        "--instance-role",
        "--no-instance-role",
    ] {
        out.assert_stdout_contains(flag);
    }
}

#[test]
fn bad_sts_flags_are_usage_errors() {
    for (args, says) in [
        (&["--role", "reader"][..], "NAME=PRINCIPAL"),
        (&["--role", "reader=oidc:"], "oidc:PROVIDER"),
        (&["--credential-lifetime", "0"], "credential-lifetime"),
        (&["--credential-lifetime", "50000"], "credential-lifetime"),
        (
            &["--instance-role", "a", "--no-instance-role"],
            "cannot be used with",
        ),
    ] {
        let out = Ssmform::new(
            ["emulator", "--listen", "127.0.0.1:0"]
                .into_iter()
                .chain(args.iter().copied()),
        )
        .run();
        out.assert_exit(1).assert_stderr_contains(says);
    }
}

#[tokio::test]
async fn flags_make_sts_strict_and_keys_short_lived() {
    let emu = SpawnedEmulator::start(&[
        "--role",
        "ssm-ci=oidc:github",
        "--role",
        &format!("ssm-writer={DEV_SECRET_ID}"),
        "--oidc-audience",
        "sts.example.audience",
        "--oidc-provider",
        "github",
        "--credential-lifetime",
        "60",
        "--no-instance-role",
    ]);
    let banner = emu.banner.join("\n");
    for needle in [
        "only ssm-ci, ssm-writer",
        "`sts.example.audience` audience",
        "`github` provider",
        "temporary credentials live 60 s",
        "no instance role",
    ] {
        assert!(banner.contains(needle), "{needle:?} not in:\n{banner}");
    }
    let endpoint = format!("http://{}", emu.addr);
    let allow = || Ok(AllowList::none());
    let sts = StsClient::new(
        trust::check(&endpoint, Purpose::Sts, allow).unwrap(),
        REGION,
    )
    .unwrap();
    let source = CredentialSource::Explicit;
    let web = |role: &str| WebIdentityParams {
        role_arn: format!("qcs::cam::uin/100000000001:roleName/{role}"),
        session_name: "flags".into(),
        duration_secs: 3600,
        provider_id: "github".into(),
    };
    let good = SecretValue::from_string(fresh_token(600, "sts.example.audience", "repo:a/b:x"));
    let t = sts
        .assume_role_with_web_identity(&good, &web("ssm-ci"), &source)
        .await
        .unwrap();
    assert!(
        t.expires_at <= ssmform::clock::unix_now() + 60,
        "capped at 60 s"
    );
    let wrong = SecretValue::from_string(fresh_token(600, "other", "repo:a/b:x"));
    let f = sts
        .assume_role_with_web_identity(&wrong, &web("ssm-ci"), &source)
        .await
        .unwrap_err();
    assert_eq!(
        f.code.as_deref(),
        Some("InvalidParameter.WebIdentityTokenError")
    );
    assert!(f.reason.contains("wrong audience"), "{f}");
    let f = sts
        .assume_role_with_web_identity(&good, &web("ssm-writer"), &source)
        .await
        .unwrap_err();
    assert_eq!(f.code.as_deref(), Some("UnauthorizedOperation"), "{f}");
    let base = Credentials::new(
        DEV_SECRET_ID,
        SecretValue::from_string(DEV_SECRET_KEY.into()),
    );
    let params = |role: &str| AssumeRoleParams {
        role_arn: format!("qcs::cam::uin/100000000001:roleName/{role}"),
        session_name: "flags".into(),
        duration_secs: 900,
        policy: None,
        external_id: None,
    };
    sts.assume_role(&base, &params("ssm-writer"), &source)
        .await
        .unwrap();
    let f = sts
        .assume_role(&base, &params("nobody"), &source)
        .await
        .unwrap_err();
    assert_eq!(f.code.as_deref(), Some("ResourceNotFound.RoleNotFound"));
    let metadata =
        MetadataClient::new(trust::check(&endpoint, Purpose::Metadata, allow).unwrap()).unwrap();
    assert_eq!(
        metadata.discover_role().await.unwrap(),
        None,
        "no role bound"
    );
}
