//! Rate limits, statistics and failure injection.
//!
//! No assertion here depends on how fast the machine is: limits are set to 1 per second and
//! requests sent concurrently, so a throttle is certain unless the machine stalls for a second
//! between every pair of requests; invariants (`max_in_any_second ≤ limit`, counts add up) hold
//! at any speed.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::json;
use ssmform::emulator::{Action, EmulatorConfig, FaultSpec, RateLimits};

use crate::support::{Api, Reply, TestEmulator};

async fn burst(api: &Api, action: &str, body: serde_json::Value, n: usize) -> Vec<Reply> {
    let mut set = tokio::task::JoinSet::new();
    for i in 0..n {
        let api = api.clone();
        let body = body.clone();
        let action = action.to_string();
        set.spawn(async move { (i, api.call(&action, body).await) });
    }
    let mut out: Vec<(usize, Reply)> = Vec::new();
    while let Some(r) = set.join_next().await {
        out.push(r.unwrap());
    }
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, r)| r).collect()
}

fn limited(overrides: &[(Action, u32)]) -> TestEmulator {
    TestEmulator::with(EmulatorConfig {
        rate_limits: RateLimits::Documented {
            overrides: overrides.iter().copied().collect::<BTreeMap<_, _>>(),
        },
        ..EmulatorConfig::default()
    })
}

#[tokio::test]
async fn over_the_limit_answers_request_limit_exceeded_in_tencents_words() {
    let emu = limited(&[(Action::GetServiceStatus, 1)]);
    let api = emu.api();
    let replies = burst(&api, "GetServiceStatus", json!({}), 20).await;
    let throttled: Vec<&Reply> = replies
        .iter()
        .filter(|r| r.code() == Some("RequestLimitExceeded"))
        .collect();
    assert!(
        !throttled.is_empty(),
        "20 concurrent calls under a limit of 1/s"
    );
    for r in &throttled {
        r.assert_envelope();
        assert_eq!(
            r.response()["Error"]["Message"],
            "Your current request times equals to `2` in a second, which exceeds the frequency limit `1`."
        );
    }
    let ok = replies.iter().filter(|r| r.code().is_none()).count();
    let s = emu.stats().action(Action::GetServiceStatus);
    assert_eq!(s.calls, 20);
    assert_eq!(s.throttled as usize, throttled.len());
    assert_eq!(s.errors, 0);
    assert_eq!(ok + throttled.len(), 20);
    assert_eq!(
        s.max_in_any_second, 1,
        "never more than the limit in a second"
    );
    // Other actions keep their own (documented) limits.
    api.ok("ListSecrets", json!({})).await;
}

#[tokio::test]
async fn the_documented_limit_applies_without_overrides() {
    let emu = TestEmulator::start();
    let api = emu.api();
    // UpdateDescription is documented at 20/s.
    let replies = burst(
        &api,
        "UpdateDescription",
        json!({"SecretName": "none", "Description": "d"}),
        60,
    )
    .await;
    let s = emu.stats().action(Action::UpdateDescription);
    assert_eq!(s.calls, 60);
    assert!(s.max_in_any_second <= 20, "{s:?}");
    // Accepted calls reach the action (ResourceNotFound); the rest are throttled.
    let not_found = replies
        .iter()
        .filter(|r| r.code() == Some("ResourceNotFound"))
        .count() as u64;
    assert_eq!(not_found + s.throttled, 60);
    assert_eq!(s.errors, not_found);
}

#[tokio::test]
async fn no_rate_limits_means_no_throttles() {
    let emu = TestEmulator::unlimited();
    let api = emu.api();
    api.create("s", "v1", "x").await;
    let replies = burst(
        &api,
        "GetSecretValue",
        json!({"SecretName": "s", "VersionId": "v1"}),
        400,
    )
    .await;
    assert!(replies.iter().all(|r| r.code().is_none()));
    let s = emu.stats().action(Action::GetSecretValue);
    assert_eq!((s.calls, s.throttled, s.errors), (400, 0, 0));
    assert!((1..=400).contains(&s.max_in_any_second));
}

#[tokio::test]
async fn stats_are_served_over_http_for_every_action() {
    let emu = TestEmulator::unlimited();
    let api = emu.api();
    api.create("s", "v1", "x").await;
    api.err(
        "GetSecretValue",
        json!({"SecretName": "s", "VersionId": "nope"}),
        "ResourceNotFound",
    )
    .await;
    api.request(
        "GetSecretValue",
        json!({"SecretName": "s", "VersionId": "v1"}),
    )
    .secret_key("wrong")
    .send()
    .await
    .err("AuthFailure.SignatureFailure");
    // Unknown actions are not counted anywhere.
    api.err("Nope", json!({}), "InvalidAction").await;
    let http = api.stats().await;
    assert_eq!(http, emu.stats());
    assert_eq!(http.actions.len(), Action::ALL.len());
    let g = http.action(Action::GetSecretValue);
    assert_eq!((g.calls, g.throttled, g.errors), (2, 0, 2));
    assert_eq!(
        g.max_in_any_second, 1,
        "only the authenticated call was accepted"
    );
    let c = http.action(Action::CreateSecret);
    assert_eq!((c.calls, c.errors, c.max_in_any_second), (1, 0, 1));
    assert_eq!(http.action(Action::DeleteSecret).calls, 0);
    let raw = api
        .client()
        .get(format!("http://{}/_emulator/stats", api.addr()))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let raw: serde_json::Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(
        raw["actions"]["CreateSecret"],
        json!({
            "calls": 1,
            "throttled": 0,
            "errors": 0,
            "max_in_any_second": 1,
            "background_calls": 0,
            "background_throttled": 0
        })
    );
}

fn faulty(spec: &str, seed: u64) -> TestEmulator {
    TestEmulator::with(EmulatorConfig {
        faults: FaultSpec::parse(spec).unwrap(),
        seed: Some(seed),
        rate_limits: RateLimits::Off,
        ..EmulatorConfig::default()
    })
}

#[tokio::test]
async fn injected_throttles_and_internal_errors_use_the_api_envelope() {
    let emu = faulty("throttle=1", 1);
    let msg = emu
        .api()
        .err("GetServiceStatus", json!({}), "RequestLimitExceeded")
        .await;
    assert!(msg.contains("frequency limit `50`"), "{msg}");
    let s = emu.stats().action(Action::GetServiceStatus);
    assert_eq!((s.calls, s.throttled, s.errors), (1, 1, 0));

    let emu = faulty("internal=1", 1);
    emu.api()
        .err("GetServiceStatus", json!({}), "InternalError")
        .await;
    assert_eq!(emu.stats().action(Action::GetServiceStatus).errors, 1);
}

#[tokio::test]
async fn injected_502_is_html_and_reset_drops_the_connection() {
    let emu = faulty("http502=1", 1);
    let api = emu.api();
    let r = api.request("GetServiceStatus", json!({})).send().await;
    assert_eq!(r.status, 502);
    assert_eq!(r.content_type.as_deref(), Some("text/html"));
    assert!(String::from_utf8_lossy(&r.raw).contains("502 Bad Gateway"));

    let emu = faulty("reset=1", 1);
    let api = emu.api();
    let url = format!("http://{}/", api.addr());
    let err = api
        .client()
        .post(&url)
        .header("X-TC-Action", "GetServiceStatus")
        .header("Content-Type", "application/json")
        .body("{}")
        .send()
        .await;
    // Unsigned: rejected before the dice are rolled, so it is answered.
    assert!(err.is_ok());
    let err = send_signed_raw(&api).await;
    assert!(err.is_err(), "a reset fault answers nothing");
    assert_eq!(emu.stats().action(Action::GetServiceStatus).errors, 2);
}

async fn send_signed_raw(api: &Api) -> Result<reqwest::Response, reqwest::Error> {
    // The harness's `send` expects an answer; build the same request by hand.
    let now = ssmform::clock::unix_now();
    let host = api.addr().to_string();
    let body = b"{}";
    let headers = [
        ("content-type", "application/json"),
        ("host", host.as_str()),
    ];
    let signed = ssmform::ssm::sign::RequestToSign {
        method: "POST",
        query: "",
        signed_headers: &headers,
        payload: body,
        unsigned_payload: false,
        timestamp: now,
        service: "ssm",
    }
    .sign(ssmform::emulator::DEV_SECRET_KEY.as_bytes());
    api.client()
        .post(format!("http://{host}/"))
        .header("Content-Type", "application/json")
        .header("X-TC-Action", "GetServiceStatus")
        .header("X-TC-Version", "2019-09-23")
        .header("X-TC-Region", "ap-guangzhou")
        .header("X-TC-Timestamp", now.to_string())
        .header(
            "Authorization",
            signed.authorization(ssmform::emulator::DEV_SECRET_ID),
        )
        .body(&body[..])
        .timeout(Duration::from_secs(10))
        .send()
        .await
}

#[tokio::test]
async fn slow_answers_arrive_late_but_whole_and_latency_keeps_answers_intact() {
    let emu = faulty("slow=1,slow_ms=30", 1);
    emu.api().ok("GetServiceStatus", json!({})).await;
    let emu = TestEmulator::with(EmulatorConfig {
        latency: Duration::from_millis(5),
        ..EmulatorConfig::default()
    });
    emu.api().ok("GetServiceStatus", json!({})).await;
}

#[tokio::test]
async fn the_same_seed_replays_the_same_faults() {
    async fn codes(seed: u64) -> Vec<String> {
        let emu = faulty("throttle=0.3,internal=0.3,http502=0.2", seed);
        let api = emu.api();
        let mut out = Vec::new();
        for _ in 0..40 {
            let r = api.request("GetServiceStatus", json!({})).send().await;
            out.push(if r.status == 502 {
                "502".to_string()
            } else {
                r.code().unwrap_or("ok").to_string()
            });
        }
        out
    }
    let a = codes(42).await;
    assert_eq!(a, codes(42).await);
    for kind in ["ok", "502", "InternalError", "RequestLimitExceeded"] {
        assert!(a.iter().any(|c| c == kind), "{kind} never drawn: {a:?}");
    }
    assert_ne!(a, codes(43).await);
}
