//! SOPS benchmark: what reading values from a SOPS file adds to a plan.
//!
//! `cargo bench --bench plan_sops [-- --runs N]`. Two configurations plan the same 10 secrets
//! against an in-process emulator (rate limits off, so the reads cost the same in both), taking
//! their values from a map of 10,000 values:
//!
//! - **var file**: a sensitive `map(string)` variable set by `--var-file values.vars.hcl`;
//! - **SOPS**: `data "sops_file"` reading `values.enc.yaml`, the same 10,000 values encrypted to
//!   an age key (given in `SOPS_AGE_KEY`): parse, unwrap the data key, decrypt and check every
//!   value, verify the MAC, build the `data` map.
//!
//! and, as a floor, the same 10 secrets with their values written as literals (no map at all).
//!
//! Each is run `--runs` times (default 9) as a child process of the release binary, in turn; the
//! medians of wall and CPU time are compared. Target: the SOPS plan adds at most 100 ms to the
//! var-file plan. (Parsing the 10,000-entry var file as HCL costs more than decrypting the SOPS
//! file, so the comparison with the literal floor says what SOPS itself costs.)
//! Both runs must plan "0 to create, 0 to update, 10 unchanged", or the benchmark fails.

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ssmform::emulator::{DEV_SECRET_ID, DEV_SECRET_KEY, Emulator, EmulatorConfig, RateLimits};
use ssmform::secret::{SecretContent, SecretValue};
use ssmform::sops::{EncryptOptions, Format, Recipient};
use ssmform::ssm::{Client, ClientConfig, CreateSecretRequest, Credentials};

const REGION: &str = "ap-guangzhou";
const VALUES: usize = 10_000;
const SECRETS: usize = 10;
/// A published test key (humphd/sops-age's, also in tests/fixtures/sops): it protects nothing.
const KEY: &str = "AGE-SECRET-KEY-1QXRVEJH9S4NQU0FPD6V79ESZQ8S6PXH3L8V40EVPTHFH6KNKD4DQ7SKC4P";
const RECIPIENT: &str = "age1je6kjhzuhdjy3fqptpttxjh5k8q46vygzlgtpuq3030c947pc5tqz9dqvr";

fn value(i: usize) -> String {
    // ~64 bytes, a typical password/URL size.
    format!("postgres://app:{i:06}-aVeryRandomLookingPassword-x9Qz@db.internal/app")
}

/// Which secret reads which value.
fn picked(s: usize) -> usize {
    s * (VALUES / SECRETS) + 7
}

fn name(s: usize) -> String {
    format!("bench-sops-{s:02}")
}

async fn seed(endpoint: String) {
    let client = Client::new(
        ClientConfig::new(endpoint, REGION),
        Credentials::new(
            DEV_SECRET_ID,
            SecretValue::from_string(DEV_SECRET_KEY.into()),
        ),
    )
    .expect("client");
    for s in 0..SECRETS {
        client
            .create_secret(&CreateSecretRequest {
                secret_name: name(s),
                version_id: Some("v1".into()),
                description: None,
                kms_key_id: None,
                secret_type: None,
                content: Some(SecretContent::String(SecretValue::from_string(value(
                    picked(s),
                )))),
                tags: Vec::new(),
            })
            .await
            .expect("CreateSecret");
    }
}

/// `dir/vars/` (the var-file configuration) and `dir/sops/` (the SOPS one).
fn write_configs(dir: &Path, endpoint: &str) {
    let provider = format!(
        "provider \"tencentcloud\" {{\n  region   = \"{REGION}\"\n  endpoint = \"{endpoint}\"\n}}\n"
    );
    for (sub, reference) in [
        ("vars", "var.values[\"k{i:05}\"]"),
        ("sops", "data.sops_file.values.data[\"k{i:05}\"]"),
        ("literals", "\"{value}\""),
    ] {
        let cfg = dir.join(sub);
        std::fs::create_dir_all(&cfg).unwrap();
        let mut main = provider.clone();
        if sub == "vars" {
            main.push_str(
                "\nvariable \"values\" {\n  type      = map(string)\n  sensitive = true\n}\n",
            );
        } else if sub == "sops" {
            main.push_str(
                "\ndata \"sops_file\" \"values\" {\n  source_file = \"values.enc.yaml\"\n}\n",
            );
        }
        for s in 0..SECRETS {
            let r = reference
                .replace("{i:05}", &format!("{:05}", picked(s)))
                .replace("{value}", &value(picked(s)));
            write!(
                main,
                "\nsecret \"s{s:02}\" {{\n  secret_name   = \"{}\"\n  version_id    = \"v1\"\n  secret_string = {r}\n}}\n",
                name(s)
            )
            .unwrap();
        }
        std::fs::write(cfg.join("main.hcl"), main).unwrap();
    }
    let mut vars = String::from("values = {\n");
    let mut plain = String::new();
    for i in 0..VALUES {
        writeln!(vars, "  k{i:05} = \"{}\"", value(i)).unwrap();
        writeln!(plain, "k{i:05}: {}", value(i)).unwrap();
    }
    vars.push_str("}\n");
    std::fs::write(dir.join("values.vars.hcl"), vars).unwrap();
    let encrypted = ssmform::sops::encrypt(
        plain.as_bytes(),
        Format::Yaml,
        &[Recipient::parse(RECIPIENT).unwrap()],
        &EncryptOptions::default(),
    )
    .expect("encrypt");
    std::fs::write(dir.join("sops/values.enc.yaml"), &encrypted).unwrap();
    println!(
        "SOPS file: {VALUES} values, {} bytes; var file: {} bytes",
        encrypted.len(),
        std::fs::metadata(dir.join("values.vars.hcl"))
            .unwrap()
            .len()
    );
}

struct Figures {
    wall: Duration,
    cpu: Duration,
}

fn run_plan(dir: &Path, sub: &str) -> Figures {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ssmform"));
    cmd.args(["plan", sub, "--detailed-exitcode"]);
    if sub == "vars" {
        cmd.args(["--var-file", "values.vars.hcl"]);
    }
    std::fs::create_dir_all(dir.join("home")).unwrap();
    cmd.env_clear()
        .env("HOME", dir.join("home"))
        .env("NO_COLOR", "1")
        .env("TENCENTCLOUD_SECRET_ID", DEV_SECRET_ID)
        .env("TENCENTCLOUD_SECRET_KEY", DEV_SECRET_KEY)
        .env("SOPS_AGE_KEY", KEY)
        .current_dir(dir)
        .stdin(Stdio::null());
    let before = children_cpu();
    let started = Instant::now();
    let out = cmd.output().expect("ssmform runs");
    let wall = started.elapsed();
    let cpu = children_cpu() - before;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let summary = format!("Plan: 0 to create, 0 to update, 0 to delete, {SECRETS} unchanged.");
    assert!(
        out.status.success() && stdout.contains(&summary),
        "plan {sub} failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    Figures { wall, cpu }
}

/// User + system time of every child waited for so far.
fn children_cpu() -> Duration {
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is valid for writes.
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let runs = args
        .iter()
        .position(|a| a == "--runs")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(9usize);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let emu = rt
        .block_on(Emulator::start(EmulatorConfig {
            rate_limits: RateLimits::Off,
            ..EmulatorConfig::default()
        }))
        .expect("emulator");
    rt.block_on(seed(emu.endpoint()));
    let dir = tempfile::tempdir().unwrap();
    write_configs(dir.path(), &emu.endpoint());

    // One warm-up run each (page cache, the emulator's first connections).
    run_plan(dir.path(), "vars");
    run_plan(dir.path(), "sops");
    run_plan(dir.path(), "literals");
    let (mut vars, mut sops, mut literals) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        vars.push(run_plan(dir.path(), "vars"));
        sops.push(run_plan(dir.path(), "sops"));
        literals.push(run_plan(dir.path(), "literals"));
    }
    let wall = |f: &[Figures]| median(f.iter().map(|x| x.wall).collect());
    let cpu = |f: &[Figures]| median(f.iter().map(|x| x.cpu).collect());
    println!("plan of {SECRETS} secrets reading a map of {VALUES} values, median of {runs} runs:");
    println!(
        "  var file: {:.1} ms wall, {:.1} ms CPU",
        ms(wall(&vars)),
        ms(cpu(&vars))
    );
    println!(
        "  SOPS:     {:.1} ms wall, {:.1} ms CPU",
        ms(wall(&sops)),
        ms(cpu(&sops))
    );
    println!(
        "  literals: {:.1} ms wall, {:.1} ms CPU (no map: the floor)",
        ms(wall(&literals)),
        ms(cpu(&literals))
    );
    let added = ms(wall(&sops)) - ms(wall(&vars));
    println!(
        "  added by SOPS over the var file: {added:.1} ms wall, {:.1} ms CPU (target <= 100 ms)",
        ms(cpu(&sops)) - ms(cpu(&vars))
    );
    println!(
        "  SOPS over the literal floor: {:.1} ms wall, {:.1} ms CPU",
        ms(wall(&sops)) - ms(wall(&literals)),
        ms(cpu(&sops)) - ms(cpu(&literals))
    );
    rt.block_on(emu.shutdown());
}
