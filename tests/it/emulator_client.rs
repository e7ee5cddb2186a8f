//! The typed client (`ssmform::ssm::Client`) against the emulator: every action, and the client's
//! classification of every kind of failure the emulator can produce (throttle, transient,
//! signature expired, permanent; API errors vs transport failures).

use std::collections::BTreeMap;
use std::time::Duration;

use ssmform::emulator::{Action as EmuAction, EmulatorConfig, FaultSpec, RateLimits};
use ssmform::secret::{SecretContent, SecretValue};
use ssmform::ssm::{
    Client, ClientConfig, CreateSecretRequest, Credentials, DeleteSecretRequest,
    DeleteSecretVersionRequest, DescribeSecretRequest, DisableSecretRequest, EnableSecretRequest,
    Error, ErrorClass, GetSecretValueRequest, ListOrder, ListSecretVersionIdsRequest,
    ListSecretsRequest, PutSecretValueRequest, RestoreSecretRequest, SecretStatus, StateFilter,
    Tag, TagFilter, TransportKind, UpdateSecretRequest,
};

use crate::support::{REGION, TestEmulator};

fn client_for(emu: &TestEmulator) -> Client {
    client_with(emu, ClientConfig::new(emu.endpoint(), REGION))
}

fn client_with(emu: &TestEmulator, config: ClientConfig) -> Client {
    let c = emu.credential();
    Client::new(
        config,
        Credentials::new(c.secret_id.clone(), c.secret_key.clone()),
    )
    .expect("client")
}

fn text(s: &str) -> SecretContent {
    SecretContent::String(SecretValue::from_string(s.to_string()))
}

fn get(name: &str, version: &str) -> GetSecretValueRequest {
    GetSecretValueRequest {
        secret_name: name.into(),
        version_id: version.into(),
    }
}

#[tokio::test]
async fn every_client_action_works_against_the_emulator() {
    let emu = TestEmulator::start();
    let client = client_for(&emu);

    let r = client
        .create_secret(&CreateSecretRequest {
            secret_name: "app".into(),
            version_id: Some("v1".into()),
            description: Some("made by the client".into()),
            content: Some(text("one")),
            tags: vec![Tag {
                key: "team".into(),
                value: "core".into(),
            }],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        (r.secret_name.as_str(), r.version_id.as_str()),
        ("app", "v1")
    );
    assert_eq!(r.request_id.len(), 36);
    let r = client
        .create_secret(&CreateSecretRequest {
            secret_name: "bin".into(),
            content: Some(SecretContent::Binary(SecretValue::new(vec![0, 1, 2, 255]))),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(r.version_id, "SSM_Current");

    let v = client.get_secret_value(&get("app", "v1")).await.unwrap();
    assert_eq!(v.content, text("one"));
    let v = client
        .get_secret_value(&get("bin", "SSM_Current"))
        .await
        .unwrap();
    assert_eq!(
        v.content,
        SecretContent::Binary(SecretValue::new(vec![0, 1, 2, 255]))
    );

    client
        .update_secret(&UpdateSecretRequest {
            secret_name: "app".into(),
            version_id: "v1".into(),
            content: text("two"),
        })
        .await
        .unwrap();
    client
        .put_secret_value(&PutSecretValueRequest {
            secret_name: "app".into(),
            version_id: "v2".into(),
            content: text("three"),
        })
        .await
        .unwrap();
    assert_eq!(
        client
            .get_secret_value(&get("app", "v1"))
            .await
            .unwrap()
            .content,
        text("two")
    );

    let d = client
        .describe_secret(&DescribeSecretRequest {
            secret_name: "app".into(),
        })
        .await
        .unwrap();
    assert_eq!(d.status, SecretStatus::Enabled);
    assert_eq!(d.description, "made by the client");

    let versions = client
        .list_secret_version_ids(&ListSecretVersionIdsRequest {
            secret_name: "app".into(),
        })
        .await
        .unwrap();
    let ids: Vec<&str> = versions
        .versions
        .iter()
        .map(|v| v.version_id.as_str())
        .collect();
    assert_eq!(ids, ["v1", "v2"]);

    let page = client
        .list_secrets(&ListSecretsRequest {
            order: Some(ListOrder::OldestFirst),
            tag_filters: vec![TagFilter {
                key: "team".into(),
                values: vec!["core".into()],
            }],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.total_count, 1);
    assert_eq!(page.secret_metadatas[0].secret_name, "app");

    client
        .delete_secret_version(&DeleteSecretVersionRequest {
            secret_name: "app".into(),
            version_id: "v2".into(),
        })
        .await
        .unwrap();
    client
        .disable_secret(&DisableSecretRequest {
            secret_name: "app".into(),
        })
        .await
        .unwrap();
    client
        .enable_secret(&EnableSecretRequest {
            secret_name: "app".into(),
        })
        .await
        .unwrap();
    client
        .disable_secret(&DisableSecretRequest {
            secret_name: "app".into(),
        })
        .await
        .unwrap();
    let del = client
        .delete_secret(&DeleteSecretRequest {
            secret_name: "app".into(),
            recovery_window_in_days: Some(3),
        })
        .await
        .unwrap();
    assert!(del.delete_time > ssmform::clock::unix_now());
    let pending = client
        .list_secrets(&ListSecretsRequest {
            state: Some(StateFilter::PendingDelete),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(pending.total_count, 1);
    client
        .restore_secret(&RestoreSecretRequest {
            secret_name: "app".into(),
        })
        .await
        .unwrap();
    let d = client
        .describe_secret(&DescribeSecretRequest {
            secret_name: "app".into(),
        })
        .await
        .unwrap();
    assert_eq!(d.status, SecretStatus::Disabled);
}

#[tokio::test]
async fn list_all_secrets_follows_pagination() {
    let emu = TestEmulator::unlimited();
    let client = client_for(&emu);
    for i in 0..25 {
        client
            .create_secret(&CreateSecretRequest {
                secret_name: format!("s{i:02}"),
                content: Some(text("x")),
                ..Default::default()
            })
            .await
            .unwrap();
    }
    let all = client
        .list_all_secrets(&ListSecretsRequest {
            limit: Some(7),
            ..Default::default()
        })
        .await
        .unwrap();
    let names: Vec<String> = all.into_iter().map(|m| m.secret_name).collect();
    let expected: Vec<String> = (0..25).map(|i| format!("s{i:02}")).collect();
    assert_eq!(names, expected);
    assert_eq!(
        emu.stats().action(EmuAction::ListSecrets).calls,
        4,
        "pages of 7"
    );
}

fn api_error(e: &Error) -> (&str, ErrorClass) {
    (e.code().unwrap_or("<no code>"), e.class())
}

#[tokio::test]
async fn api_errors_keep_code_and_request_id_and_are_permanent() {
    let emu = TestEmulator::start();
    let client = client_for(&emu);
    let e = client
        .get_secret_value(&get("missing", "v1"))
        .await
        .unwrap_err();
    assert_eq!(api_error(&e), ("ResourceNotFound", ErrorClass::Permanent));
    assert_eq!(e.request_id().map(str::len), Some(36));
    assert!(!e.may_have_taken_effect());

    client
        .create_secret(&CreateSecretRequest {
            secret_name: "full".into(),
            version_id: Some("v0".into()),
            content: Some(text("x")),
            ..Default::default()
        })
        .await
        .unwrap();
    for i in 1..10 {
        client
            .put_secret_value(&PutSecretValueRequest {
                secret_name: "full".into(),
                version_id: format!("v{i}"),
                content: text("x"),
            })
            .await
            .unwrap();
    }
    let e = client
        .put_secret_value(&PutSecretValueRequest {
            secret_name: "full".into(),
            version_id: "v10".into(),
            content: text("x"),
        })
        .await
        .unwrap_err();
    assert_eq!(api_error(&e), ("LimitExceeded", ErrorClass::Permanent));

    client
        .disable_secret(&DisableSecretRequest {
            secret_name: "full".into(),
        })
        .await
        .unwrap();
    let e = client
        .get_secret_value(&get("full", "v0"))
        .await
        .unwrap_err();
    assert_eq!(
        api_error(&e),
        (
            "ResourceUnavailable.ResourceDisabled",
            ErrorClass::Permanent
        )
    );

    let wrong = Client::new(
        ClientConfig::new(emu.endpoint(), REGION),
        Credentials::new(emu.credential().secret_id.clone(), "wrong-key".to_string()),
    )
    .unwrap();
    let e = wrong
        .get_secret_value(&get("full", "v0"))
        .await
        .unwrap_err();
    assert_eq!(
        api_error(&e),
        ("AuthFailure.SignatureFailure", ErrorClass::Permanent)
    );
}

#[tokio::test]
async fn a_skewed_clock_is_signature_expired() {
    let emu = TestEmulator::start();
    let client = client_for(&emu).with_clock(|| ssmform::clock::unix_now() - 3600);
    let e = client
        .get_secret_value(&get("any", "v1"))
        .await
        .unwrap_err();
    assert_eq!(
        api_error(&e),
        ("AuthFailure.SignatureExpire", ErrorClass::SignatureExpired)
    );
}

#[tokio::test]
async fn throttles_are_classified_with_the_stated_limit() {
    let mut overrides = BTreeMap::new();
    overrides.insert(EmuAction::GetSecretValue, 1);
    let emu = TestEmulator::with(EmulatorConfig {
        rate_limits: RateLimits::Documented { overrides },
        ..EmulatorConfig::default()
    });
    let client = client_for(&emu);
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let c = client.clone();
        set.spawn(async move { c.get_secret_value(&get("any", "v1")).await });
    }
    let mut throttles = 0;
    while let Some(r) = set.join_next().await {
        let e = r.unwrap().unwrap_err();
        match e.class() {
            ErrorClass::Throttle => {
                throttles += 1;
                assert_eq!(e.code(), Some("RequestLimitExceeded"));
                assert_eq!(e.throttle_limit(), Some(1));
            }
            _ => assert_eq!(e.code(), Some("ResourceNotFound")),
        }
    }
    assert!(throttles > 0);
    assert_eq!(
        emu.stats().action(EmuAction::GetSecretValue).throttled,
        throttles
    );
}

fn faulty(spec: &str) -> TestEmulator {
    TestEmulator::with(EmulatorConfig {
        faults: FaultSpec::parse(spec).unwrap(),
        seed: Some(1),
        ..EmulatorConfig::default()
    })
}

#[tokio::test]
async fn injected_failures_are_transient_and_may_have_taken_effect() {
    let emu = faulty("internal=1");
    let e = client_for(&emu)
        .get_secret_value(&get("any", "v1"))
        .await
        .unwrap_err();
    assert_eq!(api_error(&e), ("InternalError", ErrorClass::Transient));
    assert!(e.may_have_taken_effect());

    let emu = faulty("throttle=1");
    let e = client_for(&emu)
        .get_secret_value(&get("any", "v1"))
        .await
        .unwrap_err();
    assert_eq!(e.class(), ErrorClass::Throttle);
    assert_eq!(e.throttle_limit(), Some(300));

    let emu = faulty("http502=1");
    let e = client_for(&emu)
        .get_secret_value(&get("any", "v1"))
        .await
        .unwrap_err();
    assert_eq!(e.class(), ErrorClass::Transient);
    assert_eq!(e.http_status(), Some(502));
    assert!(e.code().is_none(), "a gateway error is not an API error");
    assert!(e.may_have_taken_effect());

    let emu = faulty("reset=1");
    let e = client_for(&emu)
        .get_secret_value(&get("any", "v1"))
        .await
        .unwrap_err();
    assert_eq!(e.class(), ErrorClass::Transient);
    assert!(
        e.transport().is_some(),
        "a dropped connection is a transport failure: {e}"
    );

    // A response held back past the client's timeout.
    let emu = faulty("slow=1,slow_ms=20000");
    let config = ClientConfig {
        request_timeout: Duration::from_millis(300),
        ..ClientConfig::new(emu.endpoint(), REGION)
    };
    let e = client_with(&emu, config)
        .get_secret_value(&get("any", "v1"))
        .await
        .unwrap_err();
    assert_eq!(e.class(), ErrorClass::Transient);
    assert!(
        matches!(
            e.transport().map(|t| &t.kind),
            Some(TransportKind::Timeout { .. })
        ),
        "{e}"
    );
}
