//! The server never panics and always answers in the API's envelope, whatever arrives: random
//! bytes, random JSON (signed, so it gets past authentication into the actions), random query
//! strings and random Authorization headers.
//!
//! A panic in a handler would kill its connection task, which the client sees as a transport
//! error; every case therefore asserts a well-formed answer, and the server is checked to still
//! serve after each run.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};
use ssmform::emulator::Action;

use crate::support::{Api, Reply, TestEmulator};

fn action_name() -> impl Strategy<Value = String> {
    prop_oneof![
        (0..Action::ALL.len()).prop_map(|i| Action::ALL[i].name().to_string()),
        "[A-Za-z]{0,12}",
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        "\\PC{0,20}".prop_map(Value::String),
        prop_oneof![
            Just("SecretName"),
            Just("VersionId"),
            Just("SecretString"),
            Just("SecretBinary"),
            Just("Tags"),
        ]
        .prop_map(|s| Value::String(s.to_string())),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("SecretName".to_string()),
                    Just("VersionId".to_string()),
                    Just("SecretString".to_string()),
                    Just("SecretBinary".to_string()),
                    Just("Tags".to_string()),
                    Just("TagFilters".to_string()),
                    Just("Limit".to_string()),
                    Just("Offset".to_string()),
                    Just("RecoveryWindowInDays".to_string()),
                    "[A-Za-z.]{1,8}",
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Top-level objects with the real parameter names most of the time, so actions are reached.
fn params_object() -> impl Strategy<Value = Value> {
    prop::collection::btree_map(
        prop_oneof![
            Just("SecretName".to_string()),
            Just("VersionId".to_string()),
            Just("SecretString".to_string()),
            Just("SecretBinary".to_string()),
            Just("Description".to_string()),
            Just("Tags".to_string()),
            Just("TagFilters".to_string()),
            Just("State".to_string()),
            Just("Limit".to_string()),
            Just("RecoveryWindowInDays".to_string()),
        ],
        prop_oneof!["[a-z0-9-]{1,10}".prop_map(Value::String), json_value(),],
        0..5,
    )
    .prop_map(|m| Value::Object(m.into_iter().collect()))
}

#[derive(Debug, Clone)]
enum Case {
    Bytes {
        action: String,
        body: Vec<u8>,
        content_type: String,
        signed: bool,
    },
    Json {
        action: String,
        body: Value,
    },
    Query {
        action: String,
        pairs: Vec<(String, String)>,
    },
    RawQuery {
        query: String,
    },
    Authorization {
        value: String,
    },
}

fn case() -> impl Strategy<Value = Case> {
    prop_oneof![
        (
            action_name(),
            prop::collection::vec(any::<u8>(), 0..300),
            prop_oneof![
                Just("application/json".to_string()),
                Just("application/x-www-form-urlencoded".to_string()),
                Just("multipart/form-data".to_string()),
                "[ -~]{0,20}",
            ],
            any::<bool>()
        )
            .prop_map(|(action, body, content_type, signed)| Case::Bytes {
                action,
                body,
                content_type,
                signed
            }),
        (action_name(), prop_oneof![params_object(), json_value()])
            .prop_map(|(action, body)| Case::Json { action, body }),
        (
            action_name(),
            prop::collection::vec(("[A-Za-z.0-9]{0,12}", "\\PC{0,12}"), 0..6)
        )
            .prop_map(|(action, pairs)| Case::Query { action, pairs }),
        "[ -~]{0,80}".prop_map(|query| Case::RawQuery { query }),
        "[ -~]{0,120}".prop_map(|value| Case::Authorization { value }),
    ]
}

async fn run_case(api: &Api, case: Case) -> Result<(), String> {
    let reply: Reply = match case {
        Case::Bytes {
            action,
            body,
            content_type,
            signed,
        } => {
            if signed {
                api.request(&action, json!({}))
                    .content_type(&content_type)
                    .raw_body(body)
                    .send()
                    .await
            } else {
                let r = api
                    .client()
                    .post(format!("http://{}/", api.addr()))
                    .header("Content-Type", content_type)
                    .body(body)
                    .send()
                    .await
                    .map_err(|e| format!("no answer: {e}"))?;
                Reply::read(r).await
            }
        }
        Case::Json { action, body } => api.call(&action, body).await,
        Case::Query { action, pairs } => {
            let pairs: Vec<(&str, &str)> = pairs
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            api.request(&action, json!({})).get(&pairs).send().await
        }
        Case::RawQuery { query } => {
            let url = format!(
                "http://{}/?{}",
                api.addr(),
                query.replace(' ', "%20").replace('#', "%23")
            );
            let r = api
                .client()
                .get(url)
                .send()
                .await
                .map_err(|e| format!("no answer: {e}"))?;
            Reply::read(r).await
        }
        Case::Authorization { value } => {
            api.request("GetServiceStatus", json!({}))
                .authorization(&value)
                .send()
                .await
        }
    };
    if reply.status != 200 || reply.content_type.as_deref() != Some("application/json") {
        return Err(format!(
            "bad answer: {} {:?}",
            reply.status, reply.content_type
        ));
    }
    if reply.response()["RequestId"].as_str().map(str::len) != Some(36) {
        return Err(format!("no RequestId: {}", reply.json));
    }
    Ok(())
}

#[test]
fn random_requests_never_break_the_server() {
    let emu = TestEmulator::unlimited();
    let api = emu.api();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async { api.create("fuzz-target", "v1", "x").await });
    let mut runner = TestRunner::new(Config {
        cases: 400,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&case(), |c| {
        rt.block_on(run_case(&api, c))
            .map_err(proptest::test_runner::TestCaseError::fail)
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    // Still serving, and the store still answers.
    rt.block_on(async {
        api.ok("GetServiceStatus", json!({})).await;
        api.ok("ListSecrets", json!({})).await;
    });
}
