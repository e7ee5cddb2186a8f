//! Emulator throughput: N concurrent keep-alive clients sending TC3-signed GetSecretValue to an
//! in-process emulator with rate limits off, for a fixed time; prints requests/s and latency
//! percentiles, for the in-memory store and for a SQLite file in WAL mode.
//!
//! `cargo bench --bench emulator_throughput` (release build). Knobs: `EMU_BENCH_SECS` (default 5),
//! `EMU_BENCH_CLIENTS` (default 32). Target: ≥ 5,000 requests/s on a 2-core machine, so that no test
//! or benchmark of ours is ever limited by the emulator. Clients and server share the machine, so
//! the figure is a floor for the server alone.

use std::time::{Duration, Instant};

use ssmform::emulator::{
    DEV_SECRET_ID, DEV_SECRET_KEY, Emulator, EmulatorConfig, RateLimits, RunningEmulator,
};
use ssmform::ssm::sign::RequestToSign;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn signed_call(
    client: &reqwest::Client,
    url: &str,
    host: &str,
    action: &str,
    body: &str,
) -> Result<String, String> {
    let now = ssmform::clock::unix_now();
    let headers = [("content-type", "application/json"), ("host", host)];
    let signed = RequestToSign {
        method: "POST",
        query: "",
        signed_headers: &headers,
        payload: body.as_bytes(),
        unsigned_payload: false,
        timestamp: now,
        service: "ssm",
    }
    .sign(DEV_SECRET_KEY.as_bytes());
    let resp = client
        .post(url)
        .header("Content-Type", "application/json")
        .header("Host", host)
        .header("X-TC-Action", action)
        .header("X-TC-Version", "2019-09-23")
        .header("X-TC-Region", "ap-guangzhou")
        .header("X-TC-Timestamp", now.to_string())
        .header("Authorization", signed.authorization(DEV_SECRET_ID))
        .body(body.to_string())
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let text = resp.text().await.map_err(|e| e.to_string())?;
    if text.contains("\"Error\"") {
        return Err(text);
    }
    Ok(text)
}

struct Figures {
    requests: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

async fn run(emu: &RunningEmulator, clients: usize, secs: u64) -> Figures {
    let host = emu.addr().to_string();
    let url = format!("{}/", emu.endpoint());
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()
        .unwrap();
    signed_call(
        &client,
        &url,
        &host,
        "CreateSecret",
        r#"{"SecretName":"bench","VersionId":"v1","SecretString":"a 32-byte secret value, roughly."}"#,
    )
    .await
    .expect("create the benchmark secret");
    let body = r#"{"SecretName":"bench","VersionId":"v1"}"#;
    // Warm up the connection pool.
    for _ in 0..clients {
        signed_call(&client, &url, &host, "GetSecretValue", body)
            .await
            .unwrap();
    }
    let start = Instant::now();
    let deadline = start + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (client, url, host) = (client.clone(), url.clone(), host.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(65_536);
            while Instant::now() < deadline {
                let t = Instant::now();
                signed_call(&client, &url, &host, "GetSecretValue", body)
                    .await
                    .expect("GetSecretValue succeeds");
                lat.push(t.elapsed());
            }
            lat
        }));
    }
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await.unwrap());
    }
    let elapsed = start.elapsed();
    latencies.sort();
    Figures {
        requests: latencies.len(),
        elapsed,
        latencies,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn main() {
    let secs = env_or("EMU_BENCH_SECS", 5);
    let clients = env_or("EMU_BENCH_CLIENTS", 32) as usize;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    println!(
        "emulator_throughput: signed GetSecretValue, rate limits off, {clients} concurrent keep-alive clients, {secs} s each, {} CPUs",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    for (label, db) in [
        ("in-memory store", None),
        ("SQLite file (WAL)", Some(dir.path().join("bench.db"))),
    ] {
        let figures = rt.block_on(async {
            let emu = Emulator::start(EmulatorConfig {
                db,
                rate_limits: RateLimits::Off,
                ..EmulatorConfig::default()
            })
            .await
            .expect("emulator starts");
            let f = run(&emu, clients, secs).await;
            let stats = emu.stats();
            let g = stats.action(ssmform::emulator::Action::GetSecretValue);
            assert_eq!(g.errors, 0);
            emu.shutdown().await;
            f
        });
        let rps = figures.requests as f64 / figures.elapsed.as_secs_f64();
        println!(
            "  {label:<18} {rps:>9.0} requests/s   p50 {:>7.3} ms   p99 {:>7.3} ms   ({} requests)",
            percentile(&figures.latencies, 0.50).as_secs_f64() * 1e3,
            percentile(&figures.latencies, 0.99).as_secs_f64() * 1e3,
            figures.requests
        );
    }
}
