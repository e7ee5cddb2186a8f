//! Shared by the apply tests: a configuration directory bound to a test emulator, secrets seeded
//! into an emulator's store, values read back over the API, plan output and journals parsed.
//!
//! Every run of the binary gets a clean environment: a temporary `HOME` (so no credentials file
//! of the developer's is ever found), the emulator's credentials in `TENCENTCLOUD_SECRET_ID/KEY`,
//! and the configuration directory as its working directory.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use ssmform::emulator::{Credential, EmulatorConfig, RateLimits};

use crate::harness::{Api, Output, REGION, Ssmform, TestEmulator, temp_dir};

/// A configuration directory (`main.hcl`) pointed at one emulator.
pub struct Project {
    dir: tempfile::TempDir,
    home: tempfile::TempDir,
    addr: SocketAddr,
    credential: Credential,
}

impl Project {
    pub fn new(emu: &TestEmulator) -> Self {
        Project::for_addr(emu.addr(), emu.credential().clone())
    }

    pub fn for_addr(addr: SocketAddr, credential: Credential) -> Self {
        Project {
            dir: temp_dir(),
            home: temp_dir(),
            addr,
            credential,
        }
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Write `main.hcl`: a provider block for the emulator (plus `provider_extra` inside it), then
    /// `body`.
    pub fn write(&self, provider_extra: &str, body: &str) {
        let text = format!(
            "provider \"tencentcloud\" {{\n  endpoint = \"http://{}\"\n{provider_extra}\n}}\n\n{body}",
            self.addr
        );
        std::fs::write(self.dir().join("main.hcl"), text).expect("write main.hcl");
    }

    /// A run of the binary in the configuration directory, with the emulator's credentials.
    pub fn ssmform<I, S>(&self, args: I) -> Ssmform
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Ssmform::new(args)
            .env("HOME", self.home.path().display().to_string())
            .env("TENCENTCLOUD_SECRET_ID", &self.credential.secret_id)
            .env("TENCENTCLOUD_SECRET_KEY", &self.credential.secret_key)
            .env("TENCENTCLOUD_REGION", REGION)
            .current_dir(self.dir())
    }

    /// Run to completion.
    pub fn run<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.ssmform(args).run()
    }

    /// Run the binary on a pseudo-terminal (util-linux `script`), typing `input`. Output is
    /// stdout and stderr as the terminal showed them, in `stdout`.
    pub fn run_on_terminal(&self, args: &[&str], input: &str) -> Output {
        use std::io::Write;
        let command_line = std::iter::once(crate::harness::ssmform_bin().display().to_string())
            .chain(args.iter().map(|a| a.to_string()))
            .collect::<Vec<_>>()
            .join(" ");
        let mut child = std::process::Command::new("script")
            .args(["-qec", &command_line, "/dev/null"])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.home.path())
            .env("NO_COLOR", "1")
            .env("TERM", "dumb")
            .env("TENCENTCLOUD_SECRET_ID", &self.credential.secret_id)
            .env("TENCENTCLOUD_SECRET_KEY", &self.credential.secret_key)
            .env("TENCENTCLOUD_REGION", REGION)
            .current_dir(self.dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("util-linux `script` runs (it provides the terminal)");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let out = child.wait_with_output().expect("script finishes");
        Output {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n"),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// The journals written so far, oldest first.
    pub fn journals(&self) -> Vec<PathBuf> {
        let dir = self.dir().join(".ssmform/journal");
        let mut out: Vec<PathBuf> = match std::fs::read_dir(&dir) {
            Ok(entries) => entries
                .map(|e| e.expect("journal entry").path())
                .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
                .collect(),
            Err(_) => Vec::new(),
        };
        out.sort();
        out
    }

    /// The only journal; panics if there is not exactly one.
    pub fn journal(&self) -> PathBuf {
        let all = self.journals();
        assert_eq!(all.len(), 1, "expected one journal, found {all:?}");
        all.into_iter().next().unwrap()
    }

    /// The planned changes' addresses, from `plan --format json`.
    pub fn planned(&self) -> BTreeSet<String> {
        let out = self.run(["plan", "--format", "json"]);
        assert_eq!(
            out.code,
            Some(0),
            "plan failed:\n{}{}",
            out.stdout,
            out.stderr
        );
        planned_addresses(&out.stdout)
    }
}

/// Addresses of the `planned_change` lines of a JSON-lines plan.
pub fn planned_addresses(stdout: &str) -> BTreeSet<String> {
    json_lines(stdout)
        .into_iter()
        .filter(|l| l["type"] == "planned_change")
        .map(|l| {
            l["change"]["resource"]["addr"]
                .as_str()
                .expect("planned_change addr")
                .to_string()
        })
        .collect()
}

/// Parse every line of `stdout` as JSON; panics on a line that is not.
pub fn json_lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect()
}

/// One managed secret of a generated configuration.
#[derive(Clone, Debug)]
pub struct Declared {
    pub label: String,
    pub name: String,
    pub value: String,
}

impl Declared {
    pub fn address(&self) -> String {
        format!("secret.{}", self.label)
    }
}

/// `n` independent secrets named `<prefix>-000..` (labels `<prefix>_000..`, dashes made
/// underscores), each holding `<tag>-<i>-<canary>`.
pub fn many(prefix: &str, n: usize, tag: &str) -> Vec<Declared> {
    (0..n)
        .map(|i| Declared {
            label: format!("{}_{i:03}", prefix.replace('-', "_")),
            name: format!("{prefix}-{i:03}"),
            value: format!("{tag}-{i}-{}", canary(i)),
        })
        .collect()
}

/// A string that must never show up anywhere but the store.
pub fn canary(i: usize) -> String {
    format!("canary{:08x}", 0x5eed_0000_u32 + i as u32)
}

/// HCL for `secrets` (version `v1`, string content).
pub fn hcl(secrets: &[Declared]) -> String {
    secrets
        .iter()
        .map(|s| {
            format!(
                "secret \"{}\" {{\n  secret_name   = \"{}\"\n  version_id    = \"v1\"\n  secret_string = \"{}\"\n}}\n",
                s.label, s.name, s.value
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Create `secrets` (version `v1`, holding `value_of(secret)`) in the emulator behind `api`.
pub async fn create_all(api: &Api, secrets: &[Declared], value_of: impl Fn(&Declared) -> String) {
    for s in secrets {
        api.create(&s.name, "v1", &value_of(s)).await;
    }
}

/// The string content of `name` version `v1`.
pub async fn value(api: &Api, name: &str) -> String {
    let r = api
        .ok(
            "GetSecretValue",
            json!({"SecretName": name, "VersionId": "v1"}),
        )
        .await;
    r["SecretString"]
        .as_str()
        .unwrap_or_else(|| panic!("{name} has no SecretString: {r}"))
        .to_string()
}

/// A SQLite store path for an emulator, in `dir`.
pub fn store_in(dir: &Path) -> PathBuf {
    dir.join("emulator.db")
}

/// Seed `secrets` into the store at `db` through an emulator without rate limits (so set-up is
/// quick and leaves no traffic in the figures of the emulator the test then starts on that store).
pub async fn seed_store(db: &Path, secrets: &[Declared], value_of: impl Fn(&Declared) -> String) {
    let emu = TestEmulator::with(EmulatorConfig {
        db: Some(db.to_path_buf()),
        rate_limits: RateLimits::Off,
        ..EmulatorConfig::default()
    });
    create_all(&emu.api(), secrets, value_of).await;
    emu.stop();
}

/// Journal lines as raw JSON: every line must parse, except a torn (unterminated) last one.
pub fn journal_lines(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).expect("read journal");
    let mut out = Vec::new();
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    for (i, line) in lines.iter().enumerate() {
        match serde_json::from_str::<Value>(line.trim_end()) {
            Ok(v) => {
                assert!(
                    line.ends_with('\n'),
                    "{}: line {} is complete JSON but unterminated",
                    path.display(),
                    i + 1
                );
                out.push(v)
            }
            Err(e) => {
                assert!(
                    i + 1 == lines.len() && !line.ends_with('\n'),
                    "{}: line {} is not JSON ({e}): {line}",
                    path.display(),
                    i + 1
                );
            }
        }
    }
    out
}

/// Address → the `result` of its last `outcome` line.
pub fn journal_outcomes(lines: &[Value]) -> BTreeMap<String, String> {
    lines
        .iter()
        .filter(|l| l["type"] == "outcome")
        .map(|l| {
            (
                l["address"].as_str().expect("address").to_string(),
                l["result"].as_str().expect("result").to_string(),
            )
        })
        .collect()
}

/// Addresses with an `intent` line.
pub fn journal_intents(lines: &[Value]) -> BTreeSet<String> {
    lines
        .iter()
        .filter(|l| l["type"] == "intent")
        .map(|l| l["address"].as_str().expect("address").to_string())
        .collect()
}

/// Count the lines of type `kind` in a (possibly still growing) journal.
pub fn count_lines(path: &Path, kind: &str) -> usize {
    let needle = format!("\"type\":\"{kind}\"");
    std::fs::read_to_string(path)
        .map(|t| t.lines().filter(|l| l.contains(&needle)).count())
        .unwrap_or(0)
}

/// A running `ssmform` child whose output is drained on threads (so a full pipe never blocks it).
pub struct Running {
    pub child: Child,
    stdout: Option<std::thread::JoinHandle<String>>,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl Running {
    pub fn start(run: &Ssmform) -> Self {
        let mut child = run.spawn();
        let drain = |r: Option<Box<dyn std::io::Read + Send>>| {
            let mut r = r.expect("piped");
            std::thread::spawn(move || {
                let mut s = String::new();
                let _ = r.read_to_string(&mut s);
                s
            })
        };
        let stdout = drain(child.stdout.take().map(|s| Box::new(s) as _));
        let stderr = drain(child.stderr.take().map(|s| Box::new(s) as _));
        Running {
            child,
            stdout: Some(stdout),
            stderr: Some(stderr),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Send `signal` (a name `kill` understands: KILL, INT, TERM) by pid.
    pub fn signal(&self, signal: &str) {
        let status = std::process::Command::new("kill")
            .args([format!("-{signal}"), self.pid().to_string()])
            .stdout(Stdio::null())
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal} {} failed", self.pid());
    }

    /// Wait for the exit; returns code and output.
    pub fn wait(mut self) -> Output {
        let status = self.child.wait().expect("wait for ssmform");
        Output {
            code: status.code(),
            stdout: self.stdout.take().unwrap().join().unwrap(),
            stderr: self.stderr.take().unwrap().join().unwrap(),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.stdout.is_some() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Poll until `ready` holds (every 20 ms), or panic after `limit` with `what`.
pub fn wait_until(what: &str, limit: Duration, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Assert that no canary of `secrets` (their declared values) appears in `text`.
pub fn assert_no_plaintext(what: &str, text: &str, secrets: &[Declared]) {
    for s in secrets {
        assert!(
            !text.contains(&s.value) && !text.contains(&canary_of(&s.value)),
            "{what} reveals the value of {}",
            s.name
        );
    }
}

fn canary_of(value: &str) -> String {
    value
        .rsplit('-')
        .next()
        .filter(|c| c.starts_with("canary"))
        .unwrap_or(value)
        .to_string()
}
