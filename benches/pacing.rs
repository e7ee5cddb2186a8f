//! Pacing benchmark: the table of issue 12, measured with the release `ssmform` binary against
//! `ssmform emulator` (a child process enforcing the documented per-action limits in a strict
//! sliding one-second window), each scenario on a fresh copy of one seeded store.
//!
//! `cargo bench --bench pacing`. Knobs: `PACING_BENCH_N` (secrets, default 1000),
//! `PACING_BENCH_ONLY` (comma list of scenario keys: base, stray, p150, p300, w150, shared,
//! share_half, saved, direct, first).
//!
//! | key | scenario | floor | target |
//! |---|---|---|---|
//! | base | plan of N unchanged secrets, 20 ms latency | N/300 s | reference |
//! | stray | the same with 3% of answers `RequestLimitExceeded` at random | | ≤ 1.5 × base |
//! | p150 | plan at 150 ms ± 30 ms latency | N/300 s | ≤ 1.25 × floor |
//! | p300 | plan at 300 ms ± 50 ms | N/300 s | (reported) |
//! | w150 | apply of 300 updates at 150 ms ± 30 ms | 50 writes/s | ≥ 95% of 50/s |
//! | shared | plan beside another client reading 100/s of GetSecretValue's 300/s | N/200 s | ≤ 1.3 × floor, ≤ 2% of all requests throttled |
//! | share_half | the same with `rate_share = 0.5` | N/150 s | (reported; 0 throttled expected) |
//! | saved | apply of a saved plan of N updates, 50 ms | N/50 s | (reported) |
//! | direct | `apply --auto-approve` of N updates, 50 ms (plan included) | N/300 + N/50 s | ≤ 1.05 × floor |
//! | first | first plan of N absent secrets, 20 ms | | < 3 s |
//!
//! Throttle figures come from the emulator's `/_emulator/stats` (ours and the simulated other
//! client's), write rates from apply's JSON `change_summary`. The simulated other client gets a
//! second's head start, as production readers are already running when a drift job starts (it then
//! holds its share of the window; without a head start ssmform takes the empty window first and the
//! other client's requests absorb the first second's overshoot). The machine's load average is printed
//! with each row: the emulator, ssmform and whatever else runs share the cores.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{BIN, Emulator, copy_store};
use serde_json::Value;
use ssmform::emulator::{DEV_SECRET_ID, DEV_SECRET_KEY};

fn name(i: usize) -> String {
    format!("pace-{i:05}")
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

/// What the configuration declares for secret `i`.
#[derive(Clone, Copy)]
enum Declare {
    /// What the store holds: no change.
    Same,
    /// Another value: an update.
    Other,
    /// A secret the store does not have: a create.
    Absent,
}

fn write_config(dir: &Path, endpoint: &str, provider_extra: &str, n: usize, what: Declare) {
    std::fs::create_dir_all(dir).unwrap();
    let mut text = format!(
        "provider \"tencentcloud\" {{\n  region   = \"ap-guangzhou\"\n  endpoint = \"{endpoint}\"\n{provider_extra}\n}}\n"
    );
    for i in 0..n {
        let (secret, value) = match what {
            Declare::Same => (name(i), format!("value-{i}")),
            Declare::Other => (name(i), format!("new-{i}")),
            Declare::Absent => (format!("absent-{i:05}"), format!("made-{i}")),
        };
        text.push_str(&format!(
            "\nsecret \"s{i:05}\" {{\n  secret_name   = \"{secret}\"\n  version_id    = \"v1\"\n  secret_string = \"{value}\"\n}}\n"
        ));
    }
    std::fs::write(dir.join("main.hcl"), text).unwrap();
}

/// Run `ssmform ARGS` in `dir`; wall time and stdout. Panics on an unexpected exit code.
fn ssmform(dir: &Path, args: &[&str], ok_codes: &[i32]) -> (Duration, String) {
    let home = dir.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let started = Instant::now();
    let out = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", &home)
        .env("NO_COLOR", "1")
        .env("SSMFORM_PLAN_KEY", "pacing-bench")
        .env("TENCENTCLOUD_SECRET_ID", DEV_SECRET_ID)
        .env("TENCENTCLOUD_SECRET_KEY", DEV_SECRET_KEY)
        .stdin(Stdio::null())
        .output()
        .expect("run ssmform");
    let wall = started.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let code = out.status.code().unwrap_or(-1);
    assert!(
        ok_codes.contains(&code),
        "ssmform {args:?} exited {code}:\n{}\n{}",
        stdout.lines().rev().take(15).collect::<Vec<_>>().join("\n"),
        String::from_utf8_lossy(&out.stderr)
    );
    (wall, stdout)
}

/// One measured row.
struct Row {
    key: &'static str,
    label: String,
    /// Seconds (or writes per second for `w150`).
    figure: f64,
    unit: &'static str,
    floor: Option<f64>,
    /// Throttled requests / all requests of the busy action (both clients counted).
    throttled: u64,
    requests: u64,
    busiest: u64,
    load: String,
    verdict: Option<(bool, String)>,
}

struct Bench<'a> {
    rt: &'a tokio::runtime::Runtime,
    work: &'a Path,
    seed_db: &'a Path,
    n: usize,
}

/// A scenario's emulator flags, provider lines, and what to run.
struct Setup {
    key: &'static str,
    emulator: Vec<String>,
    provider_extra: &'static str,
    declare: Declare,
    /// Secrets declared (default N).
    count: Option<usize>,
    /// How long the emulator runs (its simulated other clients with it) before ssmform starts.
    head_start: Duration,
}

impl Bench<'_> {
    fn prepare(&self, s: &Setup) -> (PathBuf, Emulator, usize) {
        let dir = self.work.join(s.key);
        let db = copy_store(self.seed_db, &dir);
        let mut args = vec!["--db".to_string(), db.display().to_string()];
        args.extend(s.emulator.iter().cloned());
        let emu = Emulator::start(&args);
        let count = s.count.unwrap_or(self.n);
        let cfg = dir.join("cfg");
        write_config(&cfg, &emu.endpoint(), s.provider_extra, count, s.declare);
        std::thread::sleep(s.head_start);
        (cfg, emu, count)
    }

    fn action_figures(&self, emu: &Emulator, action: &str) -> (u64, u64, u64) {
        let stats = emu.stats(self.rt);
        let a = &stats["actions"][action];
        let g = |k: &str| a[k].as_u64().unwrap_or(0);
        (
            g("throttled") + g("background_throttled"),
            g("calls") + g("background_calls"),
            g("max_in_any_second"),
        )
    }

    /// A plan; its wall time.
    fn plan(&self, s: &Setup, label: &str, floor: Option<f64>) -> Row {
        let (cfg, emu, count) = self.prepare(s);
        let load = load();
        let (wall, stdout) = ssmform(&cfg, &["plan", "--detailed-exitcode"], &[0, 2]);
        let summary = match s.declare {
            Declare::Same => {
                format!("Plan: 0 to create, 0 to update, 0 to delete, {count} unchanged.")
            }
            Declare::Other => {
                format!("Plan: 0 to create, {count} to update, 0 to delete, 0 unchanged.")
            }
            Declare::Absent => {
                format!("Plan: {count} to create, 0 to update, 0 to delete, 0 unchanged.")
            }
        };
        assert!(
            stdout.contains(&summary),
            "{label}: no {summary:?} in\n{stdout}"
        );
        let (throttled, requests, busiest) = self.action_figures(&emu, "GetSecretValue");
        emu.stop();
        Row {
            key: s.key,
            label: label.into(),
            figure: wall.as_secs_f64(),
            unit: "s",
            floor,
            throttled,
            requests,
            busiest,
            load,
            verdict: None,
        }
    }

    /// `apply --auto-approve --format json`: (wall, writes, write seconds).
    fn apply(&self, cfg: &Path, target: &str) -> (Duration, u64, f64) {
        let (wall, stdout) = ssmform(
            cfg,
            &["apply", target, "--auto-approve", "--format", "json"],
            &[0],
        );
        let summary = stdout
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .rfind(|l| l["type"] == "change_summary")
            .expect("change_summary");
        (
            wall,
            summary["writes"].as_u64().unwrap_or(0),
            summary["write_seconds"].as_f64().unwrap_or(0.0),
        )
    }
}

fn wanted(key: &str) -> bool {
    match std::env::var("PACING_BENCH_ONLY") {
        Ok(list) => list.split(',').any(|s| s.trim() == key),
        Err(_) => true,
    }
}

fn latency(ms: u64, spread: u64) -> Vec<String> {
    vec![
        "--latency".into(),
        ms.to_string(),
        "--latency-spread".into(),
        spread.to_string(),
    ]
}

fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
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
    let n: usize = std::env::var("PACING_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let work = tempfile::tempdir().expect("work dir");
    println!(
        "pacing: {n} secrets, `ssmform emulator` at the documented limits; {}; load average {}",
        machine(),
        load()
    );
    let t = Instant::now();
    let seed_db = common::seed(&rt, work.path(), n, name, |i| format!("value-{i}"));
    eprintln!("seeded {n} secrets in {:.1} s", t.elapsed().as_secs_f64());
    let bench = Bench {
        rt: &rt,
        work: work.path(),
        seed_db: &seed_db,
        n,
    };
    let nf = n as f64;
    let mut rows: Vec<Row> = Vec::new();
    let done = |rows: &mut Vec<Row>, r: Row| {
        eprintln!(
            "  {}: {:.2} {} ({} of {} throttled, busiest {}, load {})",
            r.label, r.figure, r.unit, r.throttled, r.requests, r.busiest, r.load
        );
        rows.push(r);
    };

    let setup = |key, emulator: Vec<String>, provider_extra, declare| Setup {
        key,
        emulator,
        provider_extra,
        declare,
        count: None,
        head_start: Duration::ZERO,
    };
    if wanted("base") || wanted("stray") {
        let r = bench.plan(
            &setup("base", latency(20, 0), "", Declare::Same),
            &format!("plan of {n}, 20 ms"),
            Some(nf / 300.0),
        );
        done(&mut rows, r);
    }
    if wanted("stray") {
        let mut args = latency(20, 0);
        args.extend([
            "--faults".into(),
            "throttle=0.03".into(),
            "--seed".into(),
            "12".into(),
        ]);
        let r = bench.plan(
            &setup("stray", args, "", Declare::Same),
            &format!("plan of {n}, 20 ms, 3% random throttles"),
            Some(nf / 300.0),
        );
        done(&mut rows, r);
    }
    if wanted("p150") {
        let r = bench.plan(
            &setup("p150", latency(150, 30), "", Declare::Same),
            &format!("plan of {n}, 150 ± 30 ms"),
            Some(nf / 300.0),
        );
        done(&mut rows, r);
    }
    if wanted("p300") {
        let r = bench.plan(
            &setup("p300", latency(300, 50), "", Declare::Same),
            &format!("plan of {n}, 300 ± 50 ms"),
            Some(nf / 300.0),
        );
        done(&mut rows, r);
    }
    if wanted("w150") {
        let s = Setup {
            count: Some(300.min(n)),
            ..setup("w150", latency(150, 30), "", Declare::Other)
        };
        let (cfg, emu, count) = bench.prepare(&s);
        let load = load();
        let (_, writes, seconds) = bench.apply(&cfg, ".");
        assert_eq!(writes as usize, count);
        let (throttled, requests, busiest) = bench.action_figures(&emu, "UpdateSecret");
        emu.stop();
        done(
            &mut rows,
            Row {
                key: "w150",
                label: format!("apply of {count} updates, 150 ± 30 ms"),
                figure: writes as f64 / seconds.max(1e-9),
                unit: "writes/s",
                floor: Some(50.0),
                throttled,
                requests,
                busiest,
                load,
                verdict: None,
            },
        );
    }
    let reader = || {
        let mut a = latency(20, 0);
        a.extend(["--background-load".into(), "GetSecretValue=100".into()]);
        a
    };
    if wanted("shared") {
        let r = bench.plan(
            &Setup {
                head_start: Duration::from_secs(1),
                ..setup("shared", reader(), "", Declare::Same)
            },
            &format!("plan of {n} beside a 100/s reader"),
            Some(nf / 200.0),
        );
        done(&mut rows, r);
    }
    if wanted("share_half") {
        let r = bench.plan(
            &Setup {
                head_start: Duration::from_secs(1),
                ..setup("share_half", reader(), "  rate_share = 0.5", Declare::Same)
            },
            &format!("plan of {n}, rate_share = 0.5, beside a 100/s reader"),
            Some(nf / 150.0),
        );
        done(&mut rows, r);
    }
    if wanted("saved") {
        let s = setup("saved", latency(50, 0), "", Declare::Other);
        let (cfg, emu, _) = bench.prepare(&s);
        ssmform(&cfg, &["plan", "--out", "bench.ssmplan"], &[0]);
        let load = load();
        let (wall, writes, _) = bench.apply(&cfg, "bench.ssmplan");
        assert_eq!(writes as usize, n);
        let (throttled, requests, busiest) = bench.action_figures(&emu, "UpdateSecret");
        emu.stop();
        done(
            &mut rows,
            Row {
                key: "saved",
                label: format!("apply of a saved plan, {n} updates, 50 ms"),
                figure: wall.as_secs_f64(),
                unit: "s",
                floor: Some(nf / 50.0),
                throttled,
                requests,
                busiest,
                load,
                verdict: None,
            },
        );
    }
    if wanted("direct") {
        let s = setup("direct", latency(50, 0), "", Declare::Other);
        let (cfg, emu, _) = bench.prepare(&s);
        let load = load();
        let (wall, writes, _) = bench.apply(&cfg, ".");
        assert_eq!(writes as usize, n);
        let (throttled, requests, busiest) = bench.action_figures(&emu, "UpdateSecret");
        emu.stop();
        done(
            &mut rows,
            Row {
                key: "direct",
                label: format!("apply --auto-approve of {n} updates, 50 ms"),
                figure: wall.as_secs_f64(),
                unit: "s",
                floor: Some(nf / 300.0 + nf / 50.0),
                throttled,
                requests,
                busiest,
                load,
                verdict: None,
            },
        );
    }
    if wanted("first") {
        let r = bench.plan(
            &setup("first", latency(20, 0), "", Declare::Absent),
            &format!("first plan of {n} absent secrets, 20 ms"),
            None,
        );
        done(&mut rows, r);
    }

    // Verdicts against the targets, each relative to this run's figures.
    let base = rows.iter().find(|r| r.key == "base").map(|r| r.figure);
    for r in rows.iter_mut() {
        let fraction = r.throttled as f64 / r.requests.max(1) as f64;
        r.verdict = match r.key {
            "stray" => base.map(|b| {
                let ratio = r.figure / b;
                (
                    ratio <= 1.5,
                    format!("{ratio:.2} × the plan without faults (≤ 1.5)"),
                )
            }),
            "p150" => {
                let ratio = r.figure / (nf / 300.0);
                Some((ratio <= 1.25, format!("{ratio:.2} × the floor (≤ 1.25)")))
            }
            "w150" => {
                let share = r.figure / 50.0;
                Some((
                    share >= 0.95,
                    format!("{:.1}% of 50/s (≥ 95%)", share * 100.0),
                ))
            }
            "shared" => {
                let ratio = r.figure / (nf / 200.0);
                Some((
                    ratio <= 1.3 && fraction <= 0.02,
                    format!(
                        "{ratio:.2} × the floor (≤ 1.3), {:.2}% of all requests throttled (≤ 2%)",
                        fraction * 100.0
                    ),
                ))
            }
            "direct" => {
                let ratio = r.figure / (nf / 300.0 + nf / 50.0);
                Some((ratio <= 1.05, format!("{ratio:.3} × the floor (≤ 1.05)")))
            }
            "first" => Some((r.figure < 3.0, format!("{:.2} s (< 3 s)", r.figure))),
            _ => None,
        };
    }

    println!();
    println!(
        "| scenario | result | floor | ratio | throttled (all clients) | busiest second | load | target |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---|");
    for r in &rows {
        let (floor, ratio) = match r.floor {
            Some(f) if r.unit == "s" => (format!("{f:.2} s"), format!("{:.2}", r.figure / f)),
            Some(f) => (format!("{f:.0} {}", r.unit), format!("{:.3}", r.figure / f)),
            None => ("–".into(), "–".into()),
        };
        let verdict = match &r.verdict {
            Some((true, what)) => format!("met: {what}"),
            Some((false, what)) => format!("**MISSED**: {what}"),
            None => "–".into(),
        };
        println!(
            "| {} | {:.2} {} | {floor} | {ratio} | {} of {} ({:.2}%) | {} | {} | {verdict} |",
            r.label,
            r.figure,
            r.unit,
            r.throttled,
            r.requests,
            100.0 * r.throttled as f64 / r.requests.max(1) as f64,
            r.busiest,
            r.load,
        );
    }
}
