//! What the benchmarks that drive `ssmform emulator` as a child process share: starting and
//! stopping it, its statistics, a client with the development credentials, and a seeded store
//! that each scenario copies.
//!
//! Each benchmark is its own crate and uses part of this, hence `dead_code` is allowed here.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use serde_json::Value;
use ssmform::emulator::{DEV_SECRET_ID, DEV_SECRET_KEY};
use ssmform::secret::{SecretContent, SecretValue};
use ssmform::ssm::{Client, ClientConfig, CreateSecretRequest, Credentials};

pub const BIN: &str = env!("CARGO_BIN_EXE_ssmform");

/// `ssmform emulator` as a child process, listening on a free port.
pub struct Emulator {
    child: Child,
    pub addr: SocketAddr,
    drain: Option<std::thread::JoinHandle<()>>,
}

impl Emulator {
    pub fn start<S: AsRef<OsStr>>(args: &[S]) -> Emulator {
        let mut child = Command::new(BIN)
            .args(["emulator", "--listen", "127.0.0.1:0"])
            .args(args)
            .env_remove("SSMFORM_EMULATOR_SECRET_ID")
            .env_remove("SSMFORM_EMULATOR_SECRET_KEY")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start ssmform emulator");
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut err = child.stderr.take().unwrap();
        let mut first = String::new();
        out.read_line(&mut first).expect("emulator banner");
        let Some(addr) = first
            .trim()
            .rsplit("http://")
            .next()
            .and_then(|a| a.parse().ok())
        else {
            let _ = child.kill();
            let mut text = String::new();
            let _ = err.read_to_string(&mut text);
            panic!("no address in {first:?}; stderr: {text}");
        };
        // Drain both pipes so the emulator never blocks on a full one.
        let drain = std::thread::spawn(move || {
            let err = std::thread::spawn(move || {
                let _ = err.read_to_end(&mut Vec::new());
            });
            let _ = out.read_to_end(&mut Vec::new());
            let _ = err.join();
        });
        Emulator {
            child,
            addr,
            drain: Some(drain),
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `GET /_emulator/stats`.
    pub fn stats(&self, rt: &tokio::runtime::Runtime) -> Value {
        let url = format!("{}/_emulator/stats", self.endpoint());
        rt.block_on(async {
            let body = reqwest::get(&url)
                .await
                .expect("stats")
                .bytes()
                .await
                .unwrap();
            serde_json::from_slice(&body).expect("stats JSON")
        })
    }

    /// SIGTERM (a clean stop: the store is closed properly) and wait.
    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        if let Some(d) = self.drain.take() {
            let _ = d.join();
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if self.drain.is_some() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A client of `endpoint` with the emulator's development credentials.
pub fn client(endpoint: &str) -> Client {
    Client::new(
        ClientConfig::new(endpoint, "ap-guangzhou"),
        Credentials::new(
            DEV_SECRET_ID,
            SecretValue::from_string(DEV_SECRET_KEY.into()),
        ),
    )
    .expect("client")
}

/// A store holding `n` secrets (`name(i)`, version v1, content `content(i)`), made through an
/// emulator without rate limits, 16 requests at a time.
pub fn seed(
    rt: &tokio::runtime::Runtime,
    dir: &Path,
    n: usize,
    name: fn(usize) -> String,
    content: fn(usize) -> String,
) -> PathBuf {
    let db = dir.join("seed.db");
    let emu = Emulator::start(&["--no-rate-limits", "--db", db.to_str().unwrap()]);
    let client = Arc::new(client(&emu.endpoint()));
    rt.block_on(async {
        let gate = Arc::new(tokio::sync::Semaphore::new(16));
        let mut set = tokio::task::JoinSet::new();
        for i in 0..n {
            let (client, gate) = (client.clone(), gate.clone());
            set.spawn(async move {
                let _permit = gate.acquire_owned().await.unwrap();
                let req = CreateSecretRequest {
                    secret_name: name(i),
                    version_id: Some("v1".into()),
                    content: Some(SecretContent::String(SecretValue::from_string(content(i)))),
                    ..Default::default()
                };
                client.create_secret(&req).await.expect("seed CreateSecret");
            });
        }
        while let Some(r) = set.join_next().await {
            r.expect("seed task");
        }
    });
    emu.stop();
    db
}

/// A private copy of a seeded store (with any SQLite side files) in `dir`.
pub fn copy_store(seed: &Path, dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let db = dir.join("store.db");
    std::fs::copy(seed, &db).expect("copy store");
    for side in ["-wal", "-shm"] {
        let from = PathBuf::from(format!("{}{side}", seed.display()));
        if from.exists() {
            std::fs::copy(&from, format!("{}{side}", db.display())).unwrap();
        }
    }
    db
}
