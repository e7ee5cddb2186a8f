//! Apply's write rate against the API's limit: 1,000 UpdateSecret changes through the release
//! `ssmform` binary, against `ssmform emulator` enforcing the documented limits (UpdateSecret
//! 50 requests per sliding second) with `--latency 50` on every answer, as a far-away API would.
//!
//! Scenarios, each on a fresh emulator whose store is a copy of one seeded store:
//! - `apply` at default settings (target: write-phase rate ≥ 0.95 × 50/s, zero throttled
//!   requests, wall time near the 20 s floor that 1,000 writes at 50/s cannot beat);
//! - `apply` with `rate_share = 0.5` (target: ≥ 0.95 × 25/s, zero throttled);
//! - `apply --parallelism 1`, for contrast (one request at a time: latency-bound);
//! - a plain sequential loop of UpdateSecret calls with Tencent's Python SDK, the baseline a user
//!   would write by hand (venv from `tests/python/setup.sh`).
//!
//! Figures come from apply's JSON `change_summary` (writes, write_seconds, throttled, retries),
//! from the emulator's `/_emulator/stats` (throttled, busiest second), and from the wall clock.
//!
//! `cargo bench --bench apply_rate`. Knobs: `APPLY_BENCH_N` (default 1000),
//! `APPLY_BENCH_LATENCY_MS` (default 50), `APPLY_BENCH_ONLY` (comma list of `default`, `share`,
//! `p1`, `python`), `APPLY_BENCH_ARGS` (extra apply arguments for `default` and `share`, e.g.
//! `--parallelism 20`).
//!
//! Each change costs two requests in a row (the stale-check read, then the write), so with N
//! changes in progress and a latency of L per request apply cannot exceed N / 2L changes per
//! second. ssmform keeps N at what the write rate needs at the observed latency (Little's law,
//! docs/pacing.md), so the limiter stays the bound at any latency; `--parallelism 1` shows the
//! latency-bound alternative. `cargo bench --bench pacing` measures the higher latencies.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{BIN, Emulator, copy_store};
use serde_json::Value;
use ssmform::emulator::{DEV_SECRET_ID, DEV_SECRET_KEY};
const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const LIMIT: f64 = 50.0;
const TARGET_FRACTION: f64 = 0.95;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn wanted(scenario: &str) -> bool {
    match std::env::var("APPLY_BENCH_ONLY") {
        Ok(list) => list.split(',').any(|s| s.trim() == scenario),
        Err(_) => true,
    }
}

fn name(i: usize) -> String {
    format!("bench-{i:04}")
}

/// One line of the table.
struct Row {
    scenario: String,
    limit: f64,
    /// Whether the ≥ 0.95 target applies (not to the contrast runs).
    targeted: bool,
    writes: u64,
    write_seconds: f64,
    throttled_client: Option<u64>,
    retries: Option<u64>,
    throttled_server: u64,
    busiest_second: u64,
    wall: Duration,
}

impl Row {
    fn rate(&self) -> f64 {
        if self.write_seconds > 0.0 {
            self.writes as f64 / self.write_seconds
        } else {
            0.0
        }
    }
}

fn update_stats(stats: &Value) -> (u64, u64) {
    let u = &stats["actions"]["UpdateSecret"];
    (
        u["throttled"].as_u64().unwrap_or(0),
        u["max_in_any_second"].as_u64().unwrap_or(0),
    )
}

/// One apply scenario.
struct ApplyScenario {
    /// For `APPLY_BENCH_ONLY`.
    key: &'static str,
    label: String,
    /// Lines added to the provider block.
    provider_extra: &'static str,
    args: Vec<String>,
    /// The UpdateSecret rate this scenario may use.
    limit: f64,
    /// Whether the ≥ 0.95 target applies (not to the contrast run).
    targeted: bool,
}

/// Where the runs happen and with what.
struct Bench<'a> {
    rt: &'a tokio::runtime::Runtime,
    work: &'a Path,
    seed_db: &'a Path,
    n: usize,
    latency: &'a str,
}

/// Run `ssmform apply` over `n` updates on a fresh emulator.
fn apply_scenario(bench: &Bench<'_>, sc: &ApplyScenario) -> Row {
    let Bench {
        rt,
        work,
        seed_db,
        n,
        latency,
    } = *bench;
    let scenario = sc.label.as_str();
    let provider_extra = sc.provider_extra;
    let dir = work.join(scenario.replace(|c: char| !c.is_ascii_alphanumeric(), "_"));
    let db = copy_store(seed_db, &dir);
    let emu = Emulator::start(&["--db", db.to_str().unwrap(), "--latency", latency]);
    let config = dir.join("config");
    std::fs::create_dir_all(&config).unwrap();
    let mut text = format!(
        "provider \"tencentcloud\" {{\n  endpoint = \"{}\"\n{provider_extra}\n}}\n",
        emu.endpoint()
    );
    for i in 0..n {
        text.push_str(&format!(
            "\nsecret \"s{i:04}\" {{\n  secret_name   = \"{}\"\n  version_id    = \"v1\"\n  secret_string = \"new-{i}\"\n}}\n",
            name(i)
        ));
    }
    std::fs::write(config.join("main.hcl"), text).unwrap();
    let home = dir.join("home");
    std::fs::create_dir_all(&home).unwrap();

    let started = Instant::now();
    let out = Command::new(BIN)
        .args(["apply", "--auto-approve", "--format", "json"])
        .args(&sc.args)
        .current_dir(&config)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", &home)
        .env("NO_COLOR", "1")
        .env("TENCENTCLOUD_SECRET_ID", DEV_SECRET_ID)
        .env("TENCENTCLOUD_SECRET_KEY", DEV_SECRET_KEY)
        .env("TENCENTCLOUD_REGION", "ap-guangzhou")
        .stdin(Stdio::null())
        .output()
        .expect("run ssmform apply");
    let wall = started.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let summary: Value = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .rfind(|l| l["type"] == "change_summary")
        .unwrap_or(Value::Null);
    if !out.status.success() || summary.is_null() {
        panic!(
            "{scenario}: apply failed ({}):\n{}\n{}",
            out.status,
            stdout.lines().rev().take(20).collect::<Vec<_>>().join("\n"),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let (throttled_server, busiest_second) = update_stats(&emu.stats(rt));
    emu.stop();
    Row {
        scenario: scenario.into(),
        limit: sc.limit,
        targeted: sc.targeted,
        writes: summary["writes"].as_u64().unwrap_or(0),
        write_seconds: summary["write_seconds"].as_f64().unwrap_or(0.0),
        throttled_client: summary["throttled"].as_u64(),
        retries: summary["retries"].as_u64(),
        throttled_server,
        busiest_second,
        wall,
    }
}

const PYTHON_LOOP: &str = r#"
import json, os, time
from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.ssm.v20190923 import models, ssm_client

cred = credential.Credential(os.environ["TENCENTCLOUD_SECRET_ID"], os.environ["TENCENTCLOUD_SECRET_KEY"])
http = HttpProfile(endpoint=os.environ["SSM_ENDPOINT"], protocol="http")
client = ssm_client.SsmClient(cred, "ap-guangzhou", ClientProfile(httpProfile=http))
n = int(os.environ["N"])
errors = {}
ok = 0
start = time.monotonic()
for i in range(n):
    r = models.UpdateSecretRequest()
    r.SecretName = "bench-%04d" % i
    r.VersionId = "v1"
    r.SecretString = "py-%d" % i
    try:
        client.UpdateSecret(r)
        ok += 1
    except TencentCloudSDKException as e:
        errors[e.get_code()] = errors.get(e.get_code(), 0) + 1
print(json.dumps({"ok": ok, "seconds": time.monotonic() - start, "errors": errors}))
"#;

/// Tencent's Python SDK, one UpdateSecret after another.
fn python_scenario(
    rt: &tokio::runtime::Runtime,
    work: &Path,
    seed_db: &Path,
    n: usize,
    latency: &str,
) -> Row {
    let setup = Command::new("bash")
        .arg(Path::new(ROOT).join("tests/python/setup.sh"))
        .status()
        .expect("run tests/python/setup.sh");
    assert!(setup.success(), "tests/python/setup.sh failed");
    let python = Path::new(ROOT).join("target/py-venv/bin/python");
    let dir = work.join("python");
    let db = copy_store(seed_db, &dir);
    let emu = Emulator::start(&["--db", db.to_str().unwrap(), "--latency", latency]);
    let script = dir.join("loop.py");
    std::fs::write(&script, PYTHON_LOOP).unwrap();
    let started = Instant::now();
    let out = Command::new(python)
        .arg(&script)
        .env("SSM_ENDPOINT", emu.addr.to_string())
        .env("TENCENTCLOUD_SECRET_ID", DEV_SECRET_ID)
        .env("TENCENTCLOUD_SECRET_KEY", DEV_SECRET_KEY)
        .env("N", n.to_string())
        .output()
        .expect("run the Python loop");
    let wall = started.elapsed();
    assert!(
        out.status.success(),
        "Python loop failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let figures: Value = serde_json::from_slice(&out.stdout).expect("Python figures");
    let errors = &figures["errors"];
    if errors.as_object().is_some_and(|e| !e.is_empty()) {
        eprintln!("python: errors {errors}");
    }
    let (throttled_server, busiest_second) = update_stats(&emu.stats(rt));
    emu.stop();
    Row {
        scenario: "Python SDK, sequential loop".into(),
        limit: LIMIT,
        targeted: false,
        writes: figures["ok"].as_u64().unwrap_or(0),
        write_seconds: figures["seconds"].as_f64().unwrap_or(0.0),
        throttled_client: None,
        retries: None,
        throttled_server,
        busiest_second,
        wall,
    }
}

fn machine() -> String {
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!("{cpus} cores, {model}")
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else to parse.
    let n = env_or("APPLY_BENCH_N", 1000) as usize;
    let latency = env_or("APPLY_BENCH_LATENCY_MS", 50).to_string();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let work = tempfile::tempdir().expect("work dir");
    println!(
        "apply_rate: {n} UpdateSecret changes, emulator with the documented limits (UpdateSecret {LIMIT}/s) and --latency {latency}; {}",
        machine()
    );
    let t = Instant::now();
    let seed_db = common::seed(&rt, work.path(), n, name, |i| format!("old-{i}"));
    println!("seeded {n} secrets in {:.1}s", t.elapsed().as_secs_f64());

    let mut rows = Vec::new();
    let extra_args: Vec<String> = std::env::var("APPLY_BENCH_ARGS")
        .map(|a| a.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default();
    let shown = |label: &str| {
        if extra_args.is_empty() {
            label.to_string()
        } else {
            format!("{label} {}", extra_args.join(" "))
        }
    };
    let scenarios = [
        ApplyScenario {
            key: "default",
            label: shown("apply (defaults)"),
            provider_extra: "",
            args: extra_args.clone(),
            limit: LIMIT,
            targeted: true,
        },
        ApplyScenario {
            key: "share",
            label: shown("apply, rate_share = 0.5"),
            provider_extra: "  rate_share = 0.5",
            args: extra_args.clone(),
            limit: LIMIT * 0.5,
            targeted: true,
        },
        ApplyScenario {
            key: "p1",
            label: "apply --parallelism 1".into(),
            provider_extra: "",
            args: vec!["--parallelism".into(), "1".into()],
            limit: LIMIT,
            targeted: false,
        },
    ];
    let bench = Bench {
        rt: &rt,
        work: work.path(),
        seed_db: &seed_db,
        n,
        latency: &latency,
    };
    for sc in scenarios.iter().filter(|sc| wanted(sc.key)) {
        let row = apply_scenario(&bench, sc);
        print_row_now(&row);
        rows.push(row);
    }
    if wanted("python") {
        let row = python_scenario(&rt, work.path(), &seed_db, n, &latency);
        print_row_now(&row);
        rows.push(row);
    }
    print_table(&rows, n);
}

fn print_row_now(r: &Row) {
    eprintln!(
        "  done: {} — {:.1} writes/s, wall {:.1}s",
        r.scenario,
        r.rate(),
        r.wall.as_secs_f64()
    );
}

fn print_table(rows: &[Row], n: usize) {
    let floor = n as f64 / LIMIT;
    println!();
    println!(
        "{:<30} {:>6} {:>8} {:>8} {:>8} {:>8} {:>10} {:>8} {:>8} {:>8} {:>9}",
        "scenario",
        "writes",
        "write s",
        "rate/s",
        "of 50/s",
        "of limit",
        "throttled",
        "retries",
        "busiest",
        "wall s",
        "wall/floor"
    );
    for r in rows {
        let client = r
            .throttled_client
            .map(|t| t.to_string())
            .unwrap_or_else(|| "-".into());
        println!(
            "{:<30} {:>6} {:>8.2} {:>8.1} {:>8.3} {:>8.3} {:>10} {:>8} {:>8} {:>8.1} {:>9.2}",
            r.scenario,
            r.writes,
            r.write_seconds,
            r.rate(),
            r.rate() / LIMIT,
            r.rate() / r.limit,
            format!("{client}/{}", r.throttled_server),
            r.retries
                .map(|t| t.to_string())
                .unwrap_or_else(|| "-".into()),
            r.busiest_second,
            r.wall.as_secs_f64(),
            r.wall.as_secs_f64() / floor
        );
    }
    println!();
    println!(
        "rate/s: writes over the write phase (first write sent to last answered); of limit: against \
         the scenario's own limit (50/s, or 25/s with rate_share = 0.5), target ≥ {TARGET_FRACTION}; \
         throttled: as the client counted / as the emulator counted, target 0/0; busiest: most \
         UpdateSecret calls the emulator accepted in any one second; wall/floor: whole run (plan \
         included) against the {floor:.0} s that {n} writes at 50/s take at best."
    );
    for r in rows.iter().filter(|r| r.targeted) {
        let verdict = if r.rate() / r.limit >= TARGET_FRACTION && r.throttled_server == 0 {
            "meets"
        } else {
            "MISSES"
        };
        println!(
            "{}: {verdict} the target ({:.3} of {:.0}/s, {} throttled).",
            r.scenario,
            r.rate() / r.limit,
            r.limit,
            r.throttled_server
        );
    }
}
