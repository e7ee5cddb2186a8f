//! Authentication: every way a signature can be wrong gives its documented code and changes
//! nothing; every legitimate variant the official clients produce is accepted.

use serde_json::json;
use ssmform::emulator::{Credential, EmulatorConfig, RateLimits};
use ssmform::ssm::sign_legacy::LegacyMethod;

use crate::emulator_api::store_state;
use crate::support::{Api, RawRequest, TestEmulator};

fn create_body() -> serde_json::Value {
    json!({"SecretName": "intruder", "SecretString": "x"})
}

/// Send a CreateSecret that must be rejected with `code`; the store must be unchanged.
async fn rejected(api: &Api, req: RawRequest, code: &str) -> String {
    let before = store_state(api).await;
    let msg = req.send().await.err(code);
    assert_eq!(store_state(api).await, before, "{code}: the store changed");
    msg
}

fn setup() -> (TestEmulator, Api) {
    let emu = TestEmulator::with(EmulatorConfig {
        rate_limits: RateLimits::Off,
        ..EmulatorConfig::default()
    });
    let api = emu.api();
    (emu, api)
}

#[tokio::test]
async fn wrong_key_tampered_body_and_tampered_headers_are_signature_failures() {
    let (_emu, api) = setup();
    api.create("existing", "v1", "x").await;
    rejected(
        &api,
        api.request("CreateSecret", create_body())
            .secret_key("not-the-key"),
        "AuthFailure.SignatureFailure",
    )
    .await;
    rejected(
        &api,
        api.request("CreateSecret", create_body())
            .tamper_body(r#"{"SecretName": "intruder", "SecretString": "y"}"#),
        "AuthFailure.SignatureFailure",
    )
    .await;
    // x-tc-action signed as GetServiceStatus, sent as CreateSecret.
    rejected(
        &api,
        api.request("GetServiceStatus", create_body())
            .sign_action_header()
            .header("X-TC-Action", "CreateSecret"),
        "AuthFailure.SignatureFailure",
    )
    .await;
    // A different Host than the one signed.
    rejected(
        &api,
        api.request("CreateSecret", create_body())
            .header("Host", "ssm.tencentcloudapi.com"),
        "AuthFailure.SignatureFailure",
    )
    .await;
    // TC3 GET: the query is part of the canonical request.
    api.request("DescribeSecret", json!({}))
        .get(&[("SecretName", "existing")])
        .send()
        .await
        .ok();
    rejected(
        &api,
        api.request("CreateSecret", json!({}))
            .get(&[("SecretName", "intruder"), ("SecretString", "x")])
            .tamper_query(&[("SecretName", "intruder"), ("SecretString", "y")]),
        "AuthFailure.SignatureFailure",
    )
    .await;
}

#[tokio::test]
async fn timestamps_outside_five_minutes_are_expired() {
    let (_emu, api) = setup();
    let now = ssmform::clock::unix_now();
    for ts in [now - 400, now + 400, 0] {
        let msg = rejected(
            &api,
            api.request("CreateSecret", create_body()).timestamp(ts),
            "AuthFailure.SignatureExpire",
        )
        .await;
        assert!(msg.contains(&ts.to_string()), "{msg}");
    }
    // Inside the window (with margin for a slow machine) is fine.
    api.request("GetServiceStatus", json!({}))
        .timestamp(now - 200)
        .send()
        .await
        .ok();
    api.request("GetServiceStatus", json!({}))
        .timestamp(now + 200)
        .send()
        .await
        .ok();
    api.request("GetServiceStatus", json!({}))
        .header("X-TC-Timestamp", "yesterday")
        .send()
        .await
        .err("InvalidParameterValue");
}

#[tokio::test]
async fn scope_errors_have_their_codes() {
    let (_emu, api) = setup();
    // A date that is not the UTC date of the timestamp (signed consistently with it).
    rejected(
        &api,
        api.request("CreateSecret", create_body())
            .scope_date("2019-02-25"),
        "AuthFailure.SignatureFailure",
    )
    .await;
    let msg = rejected(
        &api,
        api.request("CreateSecret", create_body()).service("cvm"),
        "AuthFailure.InvalidAuthorization",
    )
    .await;
    assert!(msg.contains("Service"), "{msg}");
    rejected(
        &api,
        api.request("CreateSecret", create_body())
            .scope_date("25/02/2019"),
        "AuthFailure.InvalidAuthorization",
    )
    .await;
    let date = ssmform::clock::utc_date(ssmform::clock::unix_now());
    let id = ssmform::emulator::DEV_SECRET_ID;
    rejected(
        &api,
        api.request("CreateSecret", create_body()).authorization(&format!(
            "TC3-HMAC-SHA256 Credential={id}/{date}/ssm/tc4_request, SignedHeaders=content-type;host, Signature=00"
        )),
        "AuthFailure.InvalidAuthorization",
    )
    .await;
}

#[tokio::test]
async fn malformed_authorization_headers_are_invalid_authorization() {
    let (_emu, api) = setup();
    let date = ssmform::clock::utc_date(ssmform::clock::unix_now());
    let id = ssmform::emulator::DEV_SECRET_ID;
    for header in [
        "garbage".to_string(),
        "".to_string(),
        format!(
            "HMAC-SHA1 Credential={id}/{date}/ssm/tc3_request, SignedHeaders=content-type;host, Signature=00"
        ),
        format!(
            "TC3-HMAC-SHA256 Credential={id}/{date}/ssm/tc3_request, SignedHeaders=content-type;host"
        ),
        format!(
            "TC3-HMAC-SHA256 Credential={id}/{date}/ssm, SignedHeaders=content-type;host, Signature=00"
        ),
        "TC3-HMAC-SHA256 SignedHeaders=content-type;host, Signature=00".to_string(),
        // SignedHeaders must cover content-type and host.
        format!(
            "TC3-HMAC-SHA256 Credential={id}/{date}/ssm/tc3_request, SignedHeaders=host, Signature=00"
        ),
    ] {
        rejected(
            &api,
            api.request("CreateSecret", create_body())
                .authorization(&header),
            "AuthFailure.InvalidAuthorization",
        )
        .await;
    }
    // No Authorization at all, TC3 headers otherwise present.
    let before = store_state(&api).await;
    let r = api
        .client()
        .post(format!("http://{}/", api.addr()))
        .header("Content-Type", "application/json")
        .header("X-TC-Action", "CreateSecret")
        .header("X-TC-Version", "2019-09-23")
        .header("X-TC-Region", "ap-guangzhou")
        .header("X-TC-Timestamp", ssmform::clock::unix_now().to_string())
        .body(create_body().to_string())
        .send()
        .await
        .unwrap();
    crate::support::Reply::read(r)
        .await
        .err("AuthFailure.InvalidAuthorization");
    assert_eq!(store_state(&api).await, before);
}

#[tokio::test]
async fn unknown_secret_id_is_secret_id_not_found() {
    let (_emu, api) = setup();
    rejected(
        &api,
        api.request("CreateSecret", create_body())
            .secret_id("AKIDunknown"),
        "AuthFailure.SecretIdNotFound",
    )
    .await;
    rejected(
        &api,
        api.request("CreateSecret", json!({}))
            .secret_id("AKIDunknown")
            .legacy(
                LegacyMethod::HmacSha256,
                false,
                &[("SecretName", "x"), ("SecretString", "y")],
            ),
        "AuthFailure.SecretIdNotFound",
    )
    .await;
}

#[tokio::test]
async fn what_official_clients_send_is_accepted() {
    let (_emu, api) = setup();
    // Node SDK: host signed without the port, sent with it.
    api.request("GetServiceStatus", json!({}))
        .sign_host_without_port()
        .send()
        .await
        .ok();
    // Newer documentation: x-tc-action signed too.
    api.request("GetServiceStatus", json!({}))
        .sign_action_header()
        .send()
        .await
        .ok();
    // UNSIGNED-PAYLOAD: the body is not part of the signature.
    api.request(
        "CreateSecret",
        json!({"SecretName": "unsigned", "SecretString": "x"}),
    )
    .unsigned_payload()
    .send()
    .await
    .ok();
    // Session token of temporary credentials.
    api.request("GetServiceStatus", json!({}))
        .header("X-TC-Token", "sts-token")
        .header("X-TC-Language", "en-US")
        .header("X-TC-RequestClient", "SDK_PYTHON_3.1.195")
        .send()
        .await
        .ok();
    // Content-Type with parameters, as some HTTP stacks send.
    api.request("GetServiceStatus", json!({}))
        .content_type("application/json; charset=utf-8")
        .send()
        .await
        .ok();
    // No region: MissingParameter, after a valid signature.
    api.request("GetServiceStatus", json!({}))
        .region(None)
        .send()
        .await
        .err("MissingParameter");
}

#[tokio::test]
async fn legacy_signatures_are_verified() {
    let (_emu, api) = setup();
    for (method, get) in [
        (LegacyMethod::HmacSha256, false),
        (LegacyMethod::HmacSha256, true),
        (LegacyMethod::HmacSha1, false),
        (LegacyMethod::HmacSha1, true),
    ] {
        api.request("GetServiceStatus", json!({}))
            .legacy(method, get, &[])
            .send()
            .await
            .ok();
        api.request("GetServiceStatus", json!({}))
            .legacy(method, get, &[])
            .sign_host_without_port()
            .send()
            .await
            .ok();
    }
    rejected(
        &api,
        api.request("CreateSecret", json!({}))
            .legacy(
                LegacyMethod::HmacSha256,
                false,
                &[("SecretName", "x"), ("SecretString", "y")],
            )
            .secret_key("wrong"),
        "AuthFailure.SignatureFailure",
    )
    .await;
    rejected(
        &api,
        api.request("CreateSecret", json!({}))
            .legacy(
                LegacyMethod::HmacSha256,
                false,
                &[("SecretName", "x"), ("SecretString", "y")],
            )
            .timestamp(ssmform::clock::unix_now() - 3600),
        "AuthFailure.SignatureExpire",
    )
    .await;
    // A legacy request without its signature or nonce is missing a parameter.
    let r = api
        .client()
        .get(format!(
            "http://{}/?Action=GetServiceStatus&Version=2019-09-23&Region=ap-guangzhou&Timestamp={}&SecretId=x&Nonce=1",
            api.addr(),
            ssmform::clock::unix_now()
        ))
        .send()
        .await
        .unwrap();
    let msg = crate::support::Reply::read(r).await.err("MissingParameter");
    assert!(msg.contains("`Signature`"), "{msg}");
    let r = api
        .client()
        .get(format!("http://{}/?Version=2019-09-23", api.addr()))
        .send()
        .await
        .unwrap();
    let msg = crate::support::Reply::read(r).await.err("MissingParameter");
    assert!(msg.contains("`Action`"), "{msg}");
}

#[tokio::test]
async fn tampered_legacy_values_are_signature_failures() {
    let (_emu, api) = setup();
    let now = ssmform::clock::unix_now();
    let id = ssmform::emulator::DEV_SECRET_ID;
    let params = vec![
        ("Action".to_string(), "CreateSecret".to_string()),
        ("Version".into(), "2019-09-23".into()),
        ("Region".into(), "ap-guangzhou".into()),
        ("Timestamp".into(), now.to_string()),
        ("Nonce".into(), "7".into()),
        ("SecretId".into(), id.into()),
        ("SignatureMethod".into(), "HmacSHA256".into()),
        ("SecretName".into(), "x".into()),
        ("SecretString".into(), "y".into()),
    ];
    let host = api.addr().to_string();
    let signed = ssmform::ssm::sign_legacy::sign(
        "POST",
        &host,
        "/",
        &params,
        ssmform::emulator::DEV_SECRET_KEY.as_bytes(),
        LegacyMethod::HmacSha256,
    );
    let tampered = signed.encoded.replace("SecretString=y", "SecretString=z");
    assert_ne!(tampered, signed.encoded);
    let before = store_state(&api).await;
    let r = api
        .client()
        .post(format!("http://{host}/"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(tampered)
        .send()
        .await
        .unwrap();
    crate::support::Reply::read(r)
        .await
        .err("AuthFailure.SignatureFailure");
    assert_eq!(store_state(&api).await, before);
    let r = api
        .client()
        .post(format!("http://{host}/"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(signed.encoded)
        .send()
        .await
        .unwrap();
    crate::support::Reply::read(r).await.ok();
}

#[tokio::test]
async fn configured_credentials_replace_the_development_ones() {
    let emu = TestEmulator::with(EmulatorConfig {
        credentials: vec![
            Credential::new("AKIDteamA", "key-a"),
            Credential::new("AKIDteamB", "key-b"),
        ],
        ..EmulatorConfig::default()
    });
    let api = emu.api();
    api.request("GetServiceStatus", json!({})).send().await.ok();
    api.request("GetServiceStatus", json!({}))
        .secret_id("AKIDteamB")
        .secret_key("key-b")
        .send()
        .await
        .ok();
    api.request("GetServiceStatus", json!({}))
        .secret_id("AKIDteamB")
        .secret_key("key-a")
        .send()
        .await
        .err("AuthFailure.SignatureFailure");
    api.request("GetServiceStatus", json!({}))
        .secret_id(ssmform::emulator::DEV_SECRET_ID)
        .secret_key(ssmform::emulator::DEV_SECRET_KEY)
        .send()
        .await
        .err("AuthFailure.SecretIdNotFound");
}
