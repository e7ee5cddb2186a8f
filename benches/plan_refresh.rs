//! Refresh benchmark: the release `ssmform plan` binary reading every declared secret version from
//! an in-process emulator over HTTP, measured as a child process (wall time, and CPU time and peak
//! memory from `wait4`'s rusage of that child).
//!
//! `cargo bench --bench plan_refresh`. Cases:
//!
//! 1. 1,000 secrets, the emulator enforcing its documented limits (GetSecretValue 300/s in any
//!    sliding second). The floor is 1,000 / 300 = 3.33 s; the client paces itself at 300 permits
//!    per 1.04 s (`ssm::limiter`), so its first 300 reads go at once and the run can finish a little
//!    under the floor. Target: within 10% of it.
//! 2. 10,000 secret versions (1,000 secrets × 10 versions: SSM allows 1,000 secrets per region),
//!    emulator limits off and the client's GetSecretValue limit raised in the provider block, so
//!    the figures are ssmform's own cost: wall time, CPU time, peak memory.
//! 3. The same 10,000 with the client at its documented pacing (floor 33.3 s), unless
//!    `PLAN_BENCH_QUICK=1`.
//!
//! The emulator is seeded through its API with limits off, into a SQLite file, then restarted on
//! that file with the case's limits. Every run must plan "0 to create, 0 to update, N unchanged"
//! with no throttled request, or the benchmark fails. Emulator and ssmform share the machine.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ssmform::emulator::{
    Action, DEV_SECRET_ID, DEV_SECRET_KEY, Emulator, EmulatorConfig, RateLimits, RunningEmulator,
};
use ssmform::secret::{SecretContent, SecretValue};
use ssmform::ssm::{Client, ClientConfig, CreateSecretRequest, Credentials, PutSecretValueRequest};

const REGION: &str = "ap-guangzhou";

/// What one measured run cost.
struct Figures {
    wall: Duration,
    user: Duration,
    sys: Duration,
    max_rss_kib: i64,
}

fn value(secret: usize, version: usize) -> String {
    // ~64 bytes, a typical password/URL size.
    format!("postgres://app:{secret:06}-{version:02}-aVeryRandomLookingPassword@db.internal/app")
}

fn name(secret: usize) -> String {
    format!("bench-secret-{secret:05}")
}

/// Create `secrets` secrets of `versions` versions each, 32 requests in flight.
async fn seed(emu: &RunningEmulator, secrets: usize, versions: usize) {
    let client = Arc::new(
        Client::new(
            ClientConfig::new(emu.endpoint(), REGION),
            Credentials::new(
                DEV_SECRET_ID,
                SecretValue::from_string(DEV_SECRET_KEY.into()),
            ),
        )
        .expect("client"),
    );
    let semaphore = Arc::new(tokio::sync::Semaphore::new(32));
    let mut set = tokio::task::JoinSet::new();
    for s in 0..secrets {
        let client = client.clone();
        let semaphore = semaphore.clone();
        set.spawn(async move {
            let _permit = semaphore.acquire_owned().await.unwrap();
            let content = |v| SecretContent::String(SecretValue::from_string(value(s, v)));
            client
                .create_secret(&CreateSecretRequest {
                    secret_name: name(s),
                    version_id: Some("v1".into()),
                    description: None,
                    kms_key_id: None,
                    secret_type: None,
                    content: Some(content(1)),
                    tags: Vec::new(),
                })
                .await
                .expect("CreateSecret");
            for v in 2..=versions {
                client
                    .put_secret_value(&PutSecretValueRequest {
                        secret_name: name(s),
                        version_id: format!("v{v}"),
                        content: content(v),
                    })
                    .await
                    .expect("PutSecretValue");
            }
        });
    }
    while let Some(r) = set.join_next().await {
        r.expect("seeding task");
    }
}

/// `cfg/provider.hcl` and `cfg/main.hcl` declaring exactly what was seeded.
fn write_config(dir: &Path, endpoint: &str, secrets: usize, versions: usize, rate: Option<u32>) {
    let cfg = dir.join("cfg");
    std::fs::create_dir_all(&cfg).unwrap();
    let rate = rate
        .map(|r| format!("  rate_limits = {{ GetSecretValue = {r} }}\n"))
        .unwrap_or_default();
    std::fs::write(
        cfg.join("provider.hcl"),
        format!(
            "provider \"tencentcloud\" {{\n  region   = \"{REGION}\"\n  endpoint = \"{endpoint}\"\n{rate}}}\n"
        ),
    )
    .unwrap();
    let mut main = String::with_capacity(secrets * versions * 160);
    for s in 0..secrets {
        for v in 1..=versions {
            main.push_str(&format!(
                "secret \"s{s:05}_v{v:02}\" {{\n  secret_name   = \"{}\"\n  version_id    = \"v{v}\"\n  secret_string = \"{}\"\n}}\n\n",
                name(s),
                value(s, v)
            ));
        }
    }
    std::fs::write(cfg.join("main.hcl"), main).unwrap();
}

/// Run `ssmform plan cfg` in `dir` with a clean environment; wall time and the child's rusage.
fn run_plan(dir: &Path, expect_unchanged: usize) -> Figures {
    std::fs::create_dir_all(dir.join("home")).unwrap();
    let started = Instant::now();
    // Reaped by `wait4` below, not `Child::wait`.
    #[allow(clippy::zombie_processes)]
    let mut child = Command::new(env!("CARGO_BIN_EXE_ssmform"))
        .args(["plan", "cfg", "--detailed-exitcode"])
        .env_clear()
        .env("HOME", dir.join("home"))
        .env("NO_COLOR", "1")
        .env("TENCENTCLOUD_SECRET_ID", DEV_SECRET_ID)
        .env("TENCENTCLOUD_SECRET_KEY", DEV_SECRET_KEY)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ssmform starts");
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        stdout.read_to_string(&mut s).unwrap();
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        stderr.read_to_string(&mut s).unwrap();
        s
    });
    // wait4 rather than Child::wait: it returns this child's own resource usage.
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as libc::pid_t;
    // SAFETY: `pid` is our child, not yet waited for; `status` and `usage` are valid for writes.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = started.elapsed();
    assert_eq!(waited, pid, "wait4: {}", std::io::Error::last_os_error());
    let stdout = out_reader.join().unwrap();
    let stderr = err_reader.join().unwrap();
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    let summary =
        format!("Plan: 0 to create, 0 to update, 0 to delete, {expect_unchanged} unchanged.");
    assert!(
        code == 0 && stdout.contains(&summary),
        "plan failed (exit {code}):\n{stdout}\n{stderr}"
    );
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    Figures {
        wall,
        user: tv(usage.ru_utime),
        sys: tv(usage.ru_stime),
        max_rss_kib: usage.ru_maxrss,
    }
}

struct Case {
    label: &'static str,
    secrets: usize,
    versions: usize,
    emulator_limits: bool,
    /// The provider block's GetSecretValue limit, when raised.
    client_rate: Option<u32>,
    /// The lower bound the rate limit sets, when one applies.
    floor: Option<f64>,
}

fn run_case(rt: &tokio::runtime::Runtime, case: &Case) -> Figures {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("live.db");
    let seeded = Instant::now();
    rt.block_on(async {
        let emu = Emulator::start(EmulatorConfig {
            db: Some(db.clone()),
            rate_limits: RateLimits::Off,
            ..EmulatorConfig::default()
        })
        .await
        .expect("seeding emulator starts");
        seed(&emu, case.secrets, case.versions).await;
        emu.shutdown().await;
    });
    let seeding = seeded.elapsed();
    let emu = rt
        .block_on(Emulator::start(EmulatorConfig {
            db: Some(db),
            rate_limits: if case.emulator_limits {
                RateLimits::default()
            } else {
                RateLimits::Off
            },
            ..EmulatorConfig::default()
        }))
        .expect("emulator starts");
    let n = case.secrets * case.versions;
    write_config(
        dir.path(),
        &emu.endpoint(),
        case.secrets,
        case.versions,
        case.client_rate,
    );
    eprintln!(
        "  [{}] seeded {n} versions in {:.1} s; planning...",
        case.label,
        seeding.as_secs_f64()
    );
    let figures = run_plan(dir.path(), n);
    let stats = emu.stats().action(Action::GetSecretValue);
    assert_eq!(stats.calls as usize, n, "one read per declared version");
    assert_eq!(stats.throttled, 0, "the client never went over the limit");
    if case.emulator_limits {
        assert!(stats.max_in_any_second <= 300, "{stats:?}");
    }
    rt.block_on(emu.shutdown());
    figures
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

fn main() {
    let quick = std::env::var("PLAN_BENCH_QUICK").is_ok_and(|v| v == "1");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    println!(
        "plan_refresh: release `ssmform plan` against an in-process emulator over HTTP; {} CPUs ({})",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        cpu_model()
    );
    let mut cases = vec![
        Case {
            label: "1,000 secrets, documented limits (GetSecretValue 300/s)",
            secrets: 1000,
            versions: 1,
            emulator_limits: true,
            client_rate: None,
            floor: Some(1000.0 / 300.0),
        },
        Case {
            label: "10,000 versions, limits off (client limit raised)",
            secrets: 1000,
            versions: 10,
            emulator_limits: false,
            client_rate: Some(50_000),
            floor: None,
        },
    ];
    if !quick {
        cases.push(Case {
            label: "10,000 versions, emulator limits off, client at 300/s",
            secrets: 1000,
            versions: 10,
            emulator_limits: false,
            client_rate: None,
            floor: Some(10_000.0 / 300.0),
        });
    }
    let mut rows = Vec::new();
    for case in &cases {
        let f = run_case(&rt, case);
        rows.push((case, f));
    }
    println!();
    println!(
        "| case | reads | wall | floor | wall / floor | CPU user+sys | peak RSS |\n|---|---:|---:|---:|---:|---:|---:|"
    );
    for (case, f) in &rows {
        let n = case.secrets * case.versions;
        let (floor, ratio) = match case.floor {
            Some(fl) => (
                format!("{fl:.2} s"),
                format!("{:.3}", f.wall.as_secs_f64() / fl),
            ),
            None => ("–".into(), "–".into()),
        };
        println!(
            "| {} | {n} | {:.2} s | {floor} | {ratio} | {:.2} s ({:.2} + {:.2}) | {:.1} MiB |",
            case.label,
            f.wall.as_secs_f64(),
            (f.user + f.sys).as_secs_f64(),
            f.user.as_secs_f64(),
            f.sys.as_secs_f64(),
            f.max_rss_kib as f64 / 1024.0
        );
    }
    for (case, f) in &rows {
        if let Some(fl) = case.floor {
            let ratio = f.wall.as_secs_f64() / fl;
            let verdict = if ratio <= 1.10 { "within" } else { "MISSES" };
            println!(
                "{}: {:.2} s is {:.1}% of the {fl:.2} s floor ({verdict} the 10% target)",
                case.label,
                f.wall.as_secs_f64(),
                ratio * 100.0
            );
        }
    }
}
