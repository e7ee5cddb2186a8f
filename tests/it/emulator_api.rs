//! Every emulated action over real HTTP, and every documented error path, each rejection checked
//! to leave the store exactly as it was.

use serde_json::{Value, json};
use ssmform::emulator::{MAX_CONTENT_BYTES, MAX_SECRETS_PER_REGION};
use ssmform::ssm::sign_legacy::LegacyMethod;

use crate::support::{Api, TestEmulator};

/// Everything a client can observe of the store: every secret's metadata, versions and values.
pub async fn store_state(api: &Api) -> Value {
    let list = api
        .ok("ListSecrets", json!({"Limit": 5000, "OrderType": 1}))
        .await;
    let mut out = Vec::new();
    for meta in list["SecretMetadatas"].as_array().unwrap() {
        let name = meta["SecretName"].as_str().unwrap();
        let describe = api.ok("DescribeSecret", json!({"SecretName": name})).await;
        let versions = api
            .ok("ListSecretVersionIds", json!({"SecretName": name}))
            .await;
        let mut values = Vec::new();
        if describe["Status"] == "Enabled" {
            for v in versions["Versions"].as_array().unwrap() {
                let r = api
                    .ok(
                        "GetSecretValue",
                        json!({"SecretName": name, "VersionId": v["VersionId"]}),
                    )
                    .await;
                values.push(json!([r["SecretString"], r["SecretBinary"]]));
            }
        }
        let mut d = describe.clone();
        d.as_object_mut().unwrap().remove("RequestId");
        out.push(json!({"describe": d, "versions": versions["Versions"], "values": values}));
    }
    Value::Array(out)
}

/// Send a request that must fail with `code`, and check the store did not change.
async fn rejected(api: &Api, action: &str, body: Value, code: &str) -> String {
    let before = store_state(api).await;
    let msg = api.err(action, body, code).await;
    assert_eq!(
        store_state(api).await,
        before,
        "{action} with {code} changed the store"
    );
    msg
}

#[tokio::test]
async fn every_action_round_trips_with_all_documented_fields() {
    let emu = TestEmulator::unlimited();
    let api = emu.api();

    // CreateSecret: response fields, and the default first version.
    let r = api
        .ok(
            "CreateSecret",
            json!({"SecretName": "app-db", "VersionId": "v1", "SecretString": "s3cret",
                   "Description": "db password", "Tags": [{"TagKey": "team", "TagValue": "core"}]}),
        )
        .await;
    assert_eq!(r["SecretName"], "app-db");
    assert_eq!(r["VersionId"], "v1");
    assert_eq!(r["TagCode"], 0);
    assert_eq!(r["TagMsg"], "");
    let r = api
        .ok(
            "CreateSecret",
            json!({"SecretName": "tls-key", "SecretBinary": "AAECAwQ="}),
        )
        .await;
    assert_eq!(r["VersionId"], "SSM_Current");

    // GetSecretValue: both content fields present, the unused one empty.
    let r = api
        .ok(
            "GetSecretValue",
            json!({"SecretName": "app-db", "VersionId": "v1"}),
        )
        .await;
    assert_eq!(
        (r["SecretString"].as_str(), r["SecretBinary"].as_str()),
        (Some("s3cret"), Some(""))
    );
    let r = api
        .ok(
            "GetSecretValue",
            json!({"SecretName": "tls-key", "VersionId": "SSM_Current"}),
        )
        .await;
    assert_eq!(
        (r["SecretString"].as_str(), r["SecretBinary"].as_str()),
        (Some(""), Some("AAECAwQ="))
    );

    // UpdateSecret overwrites in place, and may switch string ↔ binary.
    let r = api
        .ok(
            "UpdateSecret",
            json!({"SecretName": "app-db", "VersionId": "v1", "SecretString": "n3w"}),
        )
        .await;
    assert_eq!(
        (r["SecretName"].as_str(), r["VersionId"].as_str()),
        (Some("app-db"), Some("v1"))
    );
    let r = api
        .ok(
            "GetSecretValue",
            json!({"SecretName": "app-db", "VersionId": "v1"}),
        )
        .await;
    assert_eq!(r["SecretString"], "n3w");

    // PutSecretValue adds versions; ListSecretVersionIds lists them in creation order.
    api.ok(
        "PutSecretValue",
        json!({"SecretName": "app-db", "VersionId": "v2", "SecretBinary": "/w=="}),
    )
    .await;
    let r = api
        .ok("ListSecretVersionIds", json!({"SecretName": "app-db"}))
        .await;
    let ids: Vec<&str> = r["Versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["VersionId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["v1", "v2"]);
    assert!(r["Versions"][0]["CreateTime"].as_i64().unwrap() > 1_600_000_000);

    // DescribeSecret: every documented field, zero values where unused.
    let r = api
        .ok("DescribeSecret", json!({"SecretName": "app-db"}))
        .await;
    for field in [
        "SecretName",
        "Description",
        "KmsKeyId",
        "CreateUin",
        "Status",
        "DeleteTime",
        "CreateTime",
        "SecretType",
        "ProductName",
        "ResourceID",
        "RotationStatus",
        "RotationFrequency",
        "ResourceName",
        "ProjectID",
        "AssociatedInstanceIDs",
        "TargetUin",
        "AdditionalConfig",
        "EncryptType",
        "EncryptSwitching",
        "CreateUinString",
        "TargetUinString",
        "AccountInfoList",
        "NextRotationTime",
        "RequestId",
    ] {
        assert!(r.get(field).is_some(), "DescribeSecret lacks {field}: {r}");
    }
    assert_eq!(r["Status"], "Enabled");
    assert_eq!(r["Description"], "db password");
    assert_eq!(r["RotationStatus"], false);
    assert_eq!(r["DeleteTime"], 0);
    assert_eq!(r["SecretType"], 0);

    // UpdateDescription.
    api.ok(
        "UpdateDescription",
        json!({"SecretName": "app-db", "Description": "rotated"}),
    )
    .await;
    let r = api
        .ok("DescribeSecret", json!({"SecretName": "app-db"}))
        .await;
    assert_eq!(r["Description"], "rotated");

    // ListSecrets: TotalCount, metadata fields, order.
    let r = api.ok("ListSecrets", json!({})).await;
    assert_eq!(r["TotalCount"], 2);
    let first = &r["SecretMetadatas"][0];
    for field in [
        "SecretName",
        "Description",
        "KmsKeyId",
        "CreateUin",
        "Status",
        "DeleteTime",
        "CreateTime",
        "KmsKeyType",
        "RotationStatus",
        "NextRotationTime",
        "SecretType",
        "ProductName",
        "ResourceName",
        "ProjectID",
        "AssociatedInstanceIDs",
        "TargetUin",
        "RotationFrequency",
        "ResourceID",
        "RotationBeginTime",
        "EncryptType",
        "EncryptSwitching",
        "CreateUinString",
        "TargetUinString",
    ] {
        assert!(first.get(field).is_some(), "SecretMetadata lacks {field}");
    }
    assert_eq!(first["RotationStatus"], 0, "an integer in ListSecrets");

    // DeleteSecretVersion.
    let r = api
        .ok(
            "DeleteSecretVersion",
            json!({"SecretName": "app-db", "VersionId": "v2"}),
        )
        .await;
    assert_eq!(r["VersionId"], "v2");
    api.err(
        "GetSecretValue",
        json!({"SecretName": "app-db", "VersionId": "v2"}),
        "ResourceNotFound",
    )
    .await;

    // Disable → Enable → Disable → Delete (7 days) → Restore → Delete (now).
    api.ok("DisableSecret", json!({"SecretName": "app-db"}))
        .await;
    let r = api
        .ok("DescribeSecret", json!({"SecretName": "app-db"}))
        .await;
    assert_eq!(r["Status"], "Disabled");
    api.ok("EnableSecret", json!({"SecretName": "app-db"}))
        .await;
    assert_eq!(
        api.ok("DescribeSecret", json!({"SecretName": "app-db"}))
            .await["Status"],
        "Enabled"
    );
    api.ok("DisableSecret", json!({"SecretName": "app-db"}))
        .await;
    let now = ssmform::clock::unix_now();
    let r = api
        .ok(
            "DeleteSecret",
            json!({"SecretName": "app-db", "RecoveryWindowInDays": 7}),
        )
        .await;
    let delete_time = r["DeleteTime"].as_i64().unwrap();
    assert!((now + 7 * 86_400..now + 7 * 86_400 + 5).contains(&delete_time));
    let r = api
        .ok("DescribeSecret", json!({"SecretName": "app-db"}))
        .await;
    assert_eq!(r["Status"], "PendingDelete");
    assert_eq!(r["DeleteTime"], delete_time);
    let r = api
        .ok("RestoreSecret", json!({"SecretName": "app-db"}))
        .await;
    assert_eq!(r["SecretName"], "app-db");
    let r = api
        .ok("DescribeSecret", json!({"SecretName": "app-db"}))
        .await;
    assert_eq!(
        (r["Status"].as_str(), r["DeleteTime"].as_i64()),
        (Some("Disabled"), Some(0))
    );
    api.ok(
        "DeleteSecret",
        json!({"SecretName": "app-db", "RecoveryWindowInDays": 0}),
    )
    .await;
    api.err(
        "DescribeSecret",
        json!({"SecretName": "app-db"}),
        "ResourceNotFound",
    )
    .await;
    // The name is free again.
    api.create("app-db", "v1", "again").await;

    // GetServiceStatus.
    let r = api.ok("GetServiceStatus", json!({})).await;
    assert_eq!(r["ServiceEnabled"], true);
    assert_eq!(r["TotalCount"], 2);
    assert_eq!(r["SecretLimit"], MAX_SECRETS_PER_REGION);
    for field in [
        "InvalidType",
        "AccessKeyEscrowEnabled",
        "ExpireTime",
        "QPSLimit",
        "PayModel",
        "RenewFlag",
        "ResourceId",
        "ResourceRegion",
    ] {
        assert!(r.get(field).is_some(), "GetServiceStatus lacks {field}");
    }
}

#[tokio::test]
async fn list_secrets_pages_filters_and_orders() {
    let emu = TestEmulator::unlimited();
    let api = emu.api();
    for i in 0..5 {
        api.ok(
            "CreateSecret",
            json!({"SecretName": format!("svc-{i}"), "SecretString": "x",
                   "Tags": [{"TagKey": "env", "TagValue": if i % 2 == 0 { "prod" } else { "dev" }}]}),
        )
        .await;
    }
    api.create("other", "v1", "x").await;
    api.ok("DisableSecret", json!({"SecretName": "svc-1"}))
        .await;

    let names = |r: &Value| -> Vec<String> {
        r["SecretMetadatas"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["SecretName"].as_str().unwrap().to_string())
            .collect()
    };
    // Oldest first, paginated.
    let p1 = api
        .ok("ListSecrets", json!({"OrderType": 1, "Limit": 4}))
        .await;
    assert_eq!(p1["TotalCount"], 6);
    assert_eq!(names(&p1), ["svc-0", "svc-1", "svc-2", "svc-3"]);
    let p2 = api
        .ok(
            "ListSecrets",
            json!({"OrderType": 1, "Limit": 4, "Offset": 4}),
        )
        .await;
    assert_eq!(names(&p2), ["svc-4", "other"]);
    // Newest first by default.
    let r = api.ok("ListSecrets", json!({"Limit": 1})).await;
    assert_eq!(names(&r), ["other"]);
    // State, name search and tag filters; TotalCount counts after filters.
    let r = api.ok("ListSecrets", json!({"State": 2})).await;
    assert_eq!(
        (names(&r), r["TotalCount"].as_u64()),
        (vec!["svc-1".to_string()], Some(1))
    );
    let r = api
        .ok(
            "ListSecrets",
            json!({"SearchSecretName": "svc", "State": 1, "OrderType": 1}),
        )
        .await;
    assert_eq!(names(&r), ["svc-0", "svc-2", "svc-3", "svc-4"]);
    let r = api
        .ok(
            "ListSecrets",
            json!({"TagFilters": [{"TagKey": "env", "TagValue": ["prod"]}], "OrderType": 1}),
        )
        .await;
    assert_eq!(names(&r), ["svc-0", "svc-2", "svc-4"]);
    // Through GET with flattened parameters, as the SDKs send them.
    let r = api
        .request("ListSecrets", json!({}))
        .get(&[
            ("TagFilters.0.TagKey", "env"),
            ("TagFilters.0.TagValue.0", "dev"),
            ("Limit", "10"),
        ])
        .send()
        .await
        .ok();
    assert_eq!(names(&r), ["svc-3", "svc-1"]);
    for bad in [
        json!({"Limit": 0}),
        json!({"Offset": -1}),
        json!({"OrderType": 2}),
        json!({"State": 9}),
    ] {
        api.err("ListSecrets", bad, "InvalidParameterValue").await;
    }
}

#[tokio::test]
async fn protocol_errors_have_their_codes() {
    let emu = TestEmulator::unlimited();
    let api = emu.api();
    api.create("keep", "v1", "kept").await;

    rejected(&api, "DeleteEverything", json!({}), "InvalidAction").await;
    let before = store_state(&api).await;
    api.request(
        "CreateSecret",
        json!({"SecretName": "x", "SecretString": "y"}),
    )
    .version("2017-03-12")
    .send()
    .await
    .err("NoSuchVersion");
    api.request(
        "CreateSecret",
        json!({"SecretName": "x", "SecretString": "y"}),
    )
    .region(None)
    .send()
    .await
    .err("MissingParameter");
    api.request(
        "CreateSecret",
        json!({"SecretName": "x", "SecretString": "y"}),
    )
    .region(Some("Mars Base"))
    .send()
    .await
    .err("UnsupportedRegion");
    api.request("CreateSecret", json!({}))
        .raw_body(r#"{"SecretName": "x", "SecretString": "y""#)
        .send()
        .await
        .err("InvalidParameter");
    api.request("CreateSecret", json!({}))
        .raw_body("[1, 2]")
        .send()
        .await
        .err("InvalidParameter");
    api.request(
        "CreateSecret",
        json!({"SecretName": "x", "SecretString": "y"}),
    )
    .content_type("text/plain")
    .send()
    .await
    .err("InvalidParameter");
    assert_eq!(store_state(&api).await, before);

    // Method, path and size.
    let url = format!("http://{}/", api.addr());
    let r = crate::support::Reply::read(api.client().put(&url).send().await.unwrap()).await;
    r.err("UnsupportedProtocol");
    let r = api
        .client()
        .get(format!("http://{}/other", api.addr()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let big = vec![b' '; ssmform::emulator::MAX_BODY_BYTES + 1];
    api.request("GetServiceStatus", json!({}))
        .raw_body(big)
        .send()
        .await
        .err("RequestSizeLimitExceeded");
}

#[tokio::test]
async fn parameter_errors_have_their_codes_and_change_nothing() {
    let emu = TestEmulator::unlimited();
    let api = emu.api();
    api.create("keep", "v1", "kept").await;

    // Missing, unknown and mistyped parameters.
    rejected(
        &api,
        "CreateSecret",
        json!({"SecretString": "x"}),
        "MissingParameter",
    )
    .await;
    rejected(
        &api,
        "GetSecretValue",
        json!({"SecretName": "keep"}),
        "MissingParameter",
    )
    .await;
    rejected(
        &api,
        "UpdateDescription",
        json!({"SecretName": "keep"}),
        "MissingParameter",
    )
    .await;
    let msg = rejected(
        &api,
        "UpdateSecret",
        json!({"SecretName": "keep", "VersionId": "v1", "SecretString": "x", "Force": true}),
        "UnknownParameter",
    )
    .await;
    assert!(msg.contains("`Force`"), "{msg}");
    rejected(
        &api,
        "CreateSecret",
        json!({"SecretName": 42, "SecretString": "x"}),
        "InvalidParameter",
    )
    .await;
    rejected(
        &api,
        "DeleteSecret",
        json!({"SecretName": "keep", "RecoveryWindowInDays": "7"}),
        "InvalidParameter",
    )
    .await;

    // Name and version rules.
    for name in ["", "-lead", "has space", "dot.ted", &"n".repeat(129)] {
        rejected(
            &api,
            "CreateSecret",
            json!({"SecretName": name, "SecretString": "x"}),
            "InvalidParameterValue",
        )
        .await;
    }
    api.create(&"n".repeat(128), "v1", "x").await;
    for version in [".v", "v/1", &"v".repeat(65)] {
        rejected(
            &api,
            "PutSecretValue",
            json!({"SecretName": "keep", "VersionId": version, "SecretString": "x"}),
            "InvalidParameterValue",
        )
        .await;
    }
    rejected(
        &api,
        "CreateSecret",
        json!({"SecretName": "d", "SecretString": "x", "Description": "d".repeat(2049)}),
        "InvalidParameterValue",
    )
    .await;

    // Content: exactly one field, valid base64, at most 32 KB as sent.
    for action in ["CreateSecret", "PutSecretValue", "UpdateSecret"] {
        let base = |extra: Value| {
            let mut b = json!({"SecretName": if action == "CreateSecret" { "fresh" } else { "keep" },
                               "VersionId": if action == "PutSecretValue" { "v9" } else { "v1" }});
            b.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            b
        };
        rejected(
            &api,
            action,
            base(json!({"SecretString": "a", "SecretBinary": "YQ=="})),
            "InvalidParameter",
        )
        .await;
        rejected(&api, action, base(json!({})), "InvalidParameter").await;
        rejected(
            &api,
            action,
            base(json!({"SecretBinary": "%%%"})),
            "InvalidParameterValue",
        )
        .await;
        rejected(
            &api,
            action,
            base(json!({"SecretString": "x".repeat(MAX_CONTENT_BYTES + 1)})),
            "InvalidParameterValue",
        )
        .await;
    }
    api.ok(
        "UpdateSecret",
        json!({"SecretName": "keep", "VersionId": "v1", "SecretString": "x".repeat(MAX_CONTENT_BYTES)}),
    )
    .await;
    rejected(
        &api,
        "GetSecretValue",
        json!({"SecretName": "keep", "VersionId": "v1", "EncryptionPublicKey": "pem"}),
        "UnsupportedOperation",
    )
    .await;
}

#[tokio::test]
async fn resource_errors_and_the_status_machine() {
    let emu = TestEmulator::unlimited();
    let api = emu.api();
    api.create("s", "v1", "one").await;

    // Not found: secret, then version.
    for (action, body) in [
        (
            "GetSecretValue",
            json!({"SecretName": "nope", "VersionId": "v1"}),
        ),
        (
            "UpdateSecret",
            json!({"SecretName": "nope", "VersionId": "v1", "SecretString": "x"}),
        ),
        (
            "PutSecretValue",
            json!({"SecretName": "nope", "VersionId": "v1", "SecretString": "x"}),
        ),
        ("DescribeSecret", json!({"SecretName": "nope"})),
        ("ListSecretVersionIds", json!({"SecretName": "nope"})),
        (
            "DeleteSecretVersion",
            json!({"SecretName": "nope", "VersionId": "v1"}),
        ),
        ("EnableSecret", json!({"SecretName": "nope"})),
        ("DisableSecret", json!({"SecretName": "nope"})),
        ("RestoreSecret", json!({"SecretName": "nope"})),
        ("DeleteSecret", json!({"SecretName": "nope"})),
        (
            "UpdateDescription",
            json!({"SecretName": "nope", "Description": "d"}),
        ),
        (
            "GetSecretValue",
            json!({"SecretName": "s", "VersionId": "v7"}),
        ),
        (
            "UpdateSecret",
            json!({"SecretName": "s", "VersionId": "v7", "SecretString": "x"}),
        ),
        (
            "DeleteSecretVersion",
            json!({"SecretName": "s", "VersionId": "v7"}),
        ),
    ] {
        rejected(&api, action, body, "ResourceNotFound").await;
    }

    // Duplicates.
    rejected(
        &api,
        "CreateSecret",
        json!({"SecretName": "s", "SecretString": "x"}),
        "ResourceInUse.SecretExists",
    )
    .await;
    rejected(
        &api,
        "PutSecretValue",
        json!({"SecretName": "s", "VersionId": "v1", "SecretString": "x"}),
        "ResourceInUse.VersionIdExists",
    )
    .await;

    // UpdateSecret never creates a version: covered above (v7 not found). Delete needs Disabled.
    rejected(
        &api,
        "DeleteSecret",
        json!({"SecretName": "s"}),
        "FailedOperation",
    )
    .await;
    rejected(
        &api,
        "RestoreSecret",
        json!({"SecretName": "s"}),
        "FailedOperation",
    )
    .await;

    // Disabled: no plaintext, but content, versions and description may change.
    api.ok("DisableSecret", json!({"SecretName": "s"})).await;
    rejected(
        &api,
        "GetSecretValue",
        json!({"SecretName": "s", "VersionId": "v1"}),
        "ResourceUnavailable.ResourceDisabled",
    )
    .await;
    api.ok(
        "UpdateSecret",
        json!({"SecretName": "s", "VersionId": "v1", "SecretString": "two"}),
    )
    .await;
    api.ok(
        "PutSecretValue",
        json!({"SecretName": "s", "VersionId": "v2", "SecretString": "x"}),
    )
    .await;
    api.ok(
        "UpdateDescription",
        json!({"SecretName": "s", "Description": "while disabled"}),
    )
    .await;
    rejected(
        &api,
        "DeleteSecret",
        json!({"SecretName": "s", "RecoveryWindowInDays": 31}),
        "InvalidParameterValue",
    )
    .await;

    // PendingDelete: nothing but Describe, List and Restore.
    api.ok(
        "DeleteSecret",
        json!({"SecretName": "s", "RecoveryWindowInDays": 1}),
    )
    .await;
    for (action, body) in [
        (
            "GetSecretValue",
            json!({"SecretName": "s", "VersionId": "v1"}),
        ),
        (
            "UpdateSecret",
            json!({"SecretName": "s", "VersionId": "v1", "SecretString": "x"}),
        ),
        (
            "PutSecretValue",
            json!({"SecretName": "s", "VersionId": "v3", "SecretString": "x"}),
        ),
        (
            "UpdateDescription",
            json!({"SecretName": "s", "Description": "d"}),
        ),
        ("EnableSecret", json!({"SecretName": "s"})),
        ("DisableSecret", json!({"SecretName": "s"})),
        (
            "DeleteSecretVersion",
            json!({"SecretName": "s", "VersionId": "v1"}),
        ),
        ("DeleteSecret", json!({"SecretName": "s"})),
    ] {
        rejected(
            &api,
            action,
            body,
            "ResourceUnavailable.ResourcePendingDeleted",
        )
        .await;
    }
    api.ok("RestoreSecret", json!({"SecretName": "s"})).await;
    api.ok("EnableSecret", json!({"SecretName": "s"})).await;
    let r = api
        .ok(
            "GetSecretValue",
            json!({"SecretName": "s", "VersionId": "v1"}),
        )
        .await;
    assert_eq!(r["SecretString"], "two");
}

#[tokio::test]
async fn ten_versions_per_secret() {
    let emu = TestEmulator::unlimited();
    let api = emu.api();
    api.create("s", "v0", "x").await;
    for i in 1..10 {
        api.ok(
            "PutSecretValue",
            json!({"SecretName": "s", "VersionId": format!("v{i}"), "SecretString": "x"}),
        )
        .await;
    }
    rejected(
        &api,
        "PutSecretValue",
        json!({"SecretName": "s", "VersionId": "v10", "SecretString": "x"}),
        "LimitExceeded",
    )
    .await;
    // Deleting one makes room again.
    api.ok(
        "DeleteSecretVersion",
        json!({"SecretName": "s", "VersionId": "v3"}),
    )
    .await;
    api.ok(
        "PutSecretValue",
        json!({"SecretName": "s", "VersionId": "v10", "SecretString": "x"}),
    )
    .await;
}

#[tokio::test]
async fn a_thousand_secrets_per_region() {
    let emu = TestEmulator::unlimited();
    let api = emu.api();
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..8u64 {
        let api = api.clone();
        tasks.spawn(async move {
            for i in (worker..MAX_SECRETS_PER_REGION).step_by(8) {
                api.create(&format!("s{i}"), "v1", "x").await;
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap();
    }
    let msg = api
        .err(
            "CreateSecret",
            json!({"SecretName": "one-more", "SecretString": "x"}),
            "LimitExceeded",
        )
        .await;
    assert!(msg.contains("1000"), "{msg}");
    // Another region has its own thousand.
    api.request(
        "CreateSecret",
        json!({"SecretName": "one-more", "SecretString": "x"}),
    )
    .region(Some("ap-shanghai"))
    .send()
    .await
    .ok();
    let r = api.ok("GetServiceStatus", json!({})).await;
    assert_eq!(r["TotalCount"], 1000);
}

#[tokio::test]
async fn get_and_form_parameters_reach_the_actions() {
    let emu = TestEmulator::unlimited();
    let api = emu.api();
    // TC3 GET with flattened Tags.
    api.request("CreateSecret", json!({}))
        .get(&[
            ("SecretName", "via-get"),
            ("SecretString", "a b&c=d+é"),
            ("Tags.0.TagKey", "k"),
            ("Tags.0.TagValue", "v"),
        ])
        .send()
        .await
        .ok();
    // TC3 POST with a form body.
    api.request("PutSecretValue", json!({}))
        .content_type("application/x-www-form-urlencoded")
        .raw_body("SecretName=via-get&VersionId=v2&SecretString=form+body")
        .send()
        .await
        .ok();
    // Legacy, both methods.
    for (method, get) in [
        (LegacyMethod::HmacSha256, false),
        (LegacyMethod::HmacSha1, true),
    ] {
        let r = api
            .request("GetSecretValue", json!({}))
            .legacy(
                method,
                get,
                &[("SecretName", "via-get"), ("VersionId", "v2")],
            )
            .send()
            .await
            .ok();
        assert_eq!(r["SecretString"], "form body");
    }
    let r = api
        .ok(
            "GetSecretValue",
            json!({"SecretName": "via-get", "VersionId": "SSM_Current"}),
        )
        .await;
    assert_eq!(r["SecretString"], "a b&c=d+é");
    let r = api
        .ok(
            "ListSecrets",
            json!({"TagFilters": [{"TagKey": "k", "TagValue": ["v"]}]}),
        )
        .await;
    assert_eq!(r["TotalCount"], 1);
    // Form integers are accepted as strings; a conflicting flattened name is not.
    api.request("ListSecrets", json!({}))
        .get(&[("Limit", "x")])
        .send()
        .await
        .err("InvalidParameter");
    api.request("ListSecrets", json!({}))
        .get(&[("TagFilters", "x"), ("TagFilters.0.TagKey", "k")])
        .send()
        .await
        .err("InvalidParameter");
}
