//! Benchmark: `validate` of a generated configuration of 10,000 secrets with references among
//! them, against hcl-rs alone parsing the same files in the same run.
//!
//! Run with `cargo bench --bench validate` (optionally `-- --secrets N --runs R`). Each
//! measurement runs in a fresh child process (this binary re-executed with `--child`), so its
//! peak memory (VmHWM from /proc/self/status) is its own. Figures printed:
//! - parse (hcl-edit): reading the files and `hcl::edit::parser::parse_body` — what `validate`
//!   itself parses with, so the tightest baseline;
//! - parse (hcl::parse): hcl-rs's `hcl::parse` into an `hcl::Body`;
//! - validate (library): `config::load` + `Config::evaluate`, as `ssmform validate` runs them;
//! - validate (binary): the real `ssmform validate DIR`, wall time of the process.
//!
//! Each figure is wall time; CPU time (all threads, `CLOCK_PROCESS_CPUTIME_ID`) is printed
//! beside it, since `validate` parses files on every core while the baselines use one
//! — the CPU ratio is what it would be on a single core. The machine's load average is printed
//! too: on a shared machine, figures only compare within one run.
//!
//! Targets (issue 3): validate at most 2× the bare parse, peak memory under 200 MB.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const FILES: usize = 10;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        child(&args[i + 1], Path::new(&args[i + 2]));
        return;
    }
    let secrets = flag(&args, "--secrets").unwrap_or(10_000);
    let runs = flag(&args, "--runs").unwrap_or(5);

    let dir = tempfile::tempdir().expect("temporary directory");
    let bytes = generate(dir.path(), secrets);
    println!(
        "configuration: {secrets} secrets in {FILES} files, {:.2} MB, {} cores",
        bytes as f64 / 1e6,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );

    let exe = std::env::current_exe().expect("own path");
    let mut parse = Vec::new();
    let mut hcl_parse = Vec::new();
    let mut validate = Vec::new();
    let mut binary = Vec::new();
    for _ in 0..runs {
        // Interleaved, so that a noisy neighbour slows every kind alike.
        parse.push(run_child(&exe, "parse", dir.path()));
        hcl_parse.push(run_child(&exe, "hcl-parse", dir.path()));
        validate.push(run_child(&exe, "validate", dir.path()));
        let start = Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_ssmform"))
            .arg("validate")
            .arg(dir.path())
            .env_remove("NO_COLOR")
            .output()
            .expect("run ssmform");
        assert!(
            out.status.success(),
            "ssmform validate failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        binary.push(Measure {
            time: start.elapsed(),
            cpu: Duration::ZERO,
            peak_kb: 0,
        });
    }
    let p = median(&parse);
    let h = median(&hcl_parse);
    let v = median(&validate);
    let b = median(&binary);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "median of {runs} runs (load average {}):",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    let row = |name: &str, m: Measure| {
        println!(
            "  {name:<20} {:>8.1} ms wall {:>8.1} ms CPU   peak {:>6.1} MB",
            ms(m.time),
            ms(m.cpu),
            mb(m.peak_kb)
        )
    };
    row("parse (hcl-edit)", p);
    row("parse (hcl::parse)", h);
    row("validate (library)", v);
    println!(
        "  {:<20} {:>8.1} ms wall (whole process)",
        "validate (binary)",
        ms(b.time)
    );
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64().max(1e-9);
    println!(
        "ratio validate / parse (hcl-edit): {:.2}x wall, {:.2}x CPU; / hcl::parse: {:.2}x wall   (target <= 2x, peak < 200 MB)",
        ratio(v.time, p.time),
        ratio(v.cpu, p.cpu),
        ratio(v.time, h.time)
    );
}

fn flag(args: &[String], name: &str) -> Option<usize> {
    let i = args.iter().position(|a| a == name)?;
    args.get(i + 1)?.parse().ok()
}

#[derive(Clone, Copy)]
struct Measure {
    time: Duration,
    cpu: Duration,
    peak_kb: u64,
}

fn median(v: &[Measure]) -> Measure {
    let mut s = v.to_vec();
    s.sort_by_key(|m| m.time);
    s[s.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

fn run_child(exe: &Path, what: &str, dir: &Path) -> Measure {
    let out = Command::new(exe)
        .args(["--child", what])
        .arg(dir)
        .output()
        .expect("run child");
    assert!(
        out.status.success(),
        "child {what} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let mut parts = text.split_whitespace();
    let mut next = || -> u64 { parts.next().and_then(|s| s.parse().ok()).expect("a figure") };
    let (nanos, cpu_us, peak_kb) = (next(), next(), next());
    Measure {
        time: Duration::from_nanos(nanos),
        cpu: Duration::from_micros(cpu_us),
        peak_kb,
    }
}

/// One measurement, in this (fresh) process: prints "wall-ns cpu-µs peak-kB".
fn child(what: &str, dir: &Path) {
    let cpu_start = cpu_us();
    let start = Instant::now();
    match what {
        // Every kind keeps its result and skips the teardown, as `ssmform validate` does
        // (it exits without freeing the configuration).
        "parse" => {
            let mut bodies = Vec::new();
            for path in files(dir) {
                let text = std::fs::read_to_string(&path).expect("read");
                bodies.push(hcl::edit::parser::parse_body(&text).expect("parse"));
            }
            std::mem::forget(std::hint::black_box(bodies));
        }
        "hcl-parse" => {
            let mut bodies = Vec::new();
            for path in files(dir) {
                let text = std::fs::read_to_string(&path).expect("read");
                bodies.push(hcl::parse(&text).expect("parse"));
            }
            std::mem::forget(std::hint::black_box(bodies));
        }
        "validate" => {
            let vars = ssmform::config::VarInputs::default();
            let opts = ssmform::config::LoadOptions {
                dir,
                vars: &vars,
                env: Vec::new(),
                mode: ssmform::config::Mode::Validate,
            };
            let cfg = ssmform::config::load(&opts).unwrap_or_else(|d| panic!("{d}"));
            let ev = cfg.evaluate(&ssmform::config::DataValues::default(), None);
            assert!(ev.diagnostics.is_empty(), "{}", ev.diagnostics);
            assert_eq!(ev.secrets.len(), cfg.secret_addresses().len());
            drop(std::hint::black_box(ev));
            std::mem::forget(cfg);
        }
        other => panic!("unknown child {other}"),
    }
    let elapsed = start.elapsed();
    println!(
        "{} {} {}",
        elapsed.as_nanos(),
        cpu_us() - cpu_start,
        peak_kb()
    );
}

/// CPU time of this process (all threads, including finished ones), in microseconds:
/// `clock_gettime(CLOCK_PROCESS_CPUTIME_ID)`, which the kernel accounts precisely (unlike the
/// tick-sampled times in /proc/self/stat).
fn cpu_us() -> u64 {
    #[repr(C)]
    struct Timespec {
        tv_sec: i64,
        tv_nsec: i64,
    }
    unsafe extern "C" {
        fn clock_gettime(clock: i32, tp: *mut Timespec) -> i32;
    }
    const CLOCK_PROCESS_CPUTIME_ID: i32 = 2;
    let mut t = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid, writable timespec; the call only writes to it.
    let rc = unsafe { clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &mut t) };
    assert_eq!(rc, 0, "clock_gettime");
    t.tv_sec as u64 * 1_000_000 + t.tv_nsec as u64 / 1_000
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "hcl"))
        .collect();
    v.sort();
    v
}

/// VmHWM: the peak resident set size of this process, in kB.
fn peak_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

/// Writes the configuration; returns its size in bytes. Secret `i` refers to an earlier secret
/// (so the graph is acyclic with long dependency chains), to a variable and to locals, through
/// templates, `jsonencode` and `format`.
fn generate(dir: &Path, secrets: usize) -> usize {
    let mut total = 0;
    let per_file = secrets.div_ceil(FILES);
    for f in 0..FILES {
        let mut s = String::new();
        if f == 0 {
            s.push_str(
                "provider \"tencentcloud\" {\n  region   = \"ap-guangzhou\"\n  endpoint = \"local\"\n}\n\n\
                 variable \"env\" {\n  type    = string\n  default = \"prod\"\n}\n\n\
                 locals {\n  prefix = \"app-${var.env}\"\n  owners = [\"alice\", \"bob\"]\n}\n\n",
            );
        }
        for i in f * per_file..((f + 1) * per_file).min(secrets) {
            let peer = if i == 0 { 0 } else { (i * 7919) % i };
            let content = match if i == 0 { 2 } else { i % 3 } {
                0 => format!(
                    "jsonencode({{ id = {i}, peer = secret.s{peer}.secret_name, env = var.env, owners = local.owners }})"
                ),
                1 => format!("\"${{local.prefix}}-{i}:${{secret.s{peer}.version_id}}\""),
                _ => format!("format(\"%s/%05d/%s\", local.prefix, {i}, upper(var.env))"),
            };
            s.push_str(&format!(
                "# secret number {i}\nsecret \"s{i}\" {{\n  secret_name   = \"${{local.prefix}}-secret-{i}\"\n  version_id    = \"v1\"\n  secret_string = {content}\n  description   = \"generated secret {i}\"\n}}\n\n"
            ));
        }
        total += s.len();
        std::fs::write(dir.join(format!("part{f:02}.hcl")), s).expect("write");
    }
    total
}
