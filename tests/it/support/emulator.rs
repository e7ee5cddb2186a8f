//! Emulators for the tests, and raw signed API requests to them.
//!
//! - [`TestEmulator`]: an in-process emulator on its own runtime thread (so it serves whatever the
//!   test does: async requests, or a blocking wait on a child process). Dropping it shuts it down.
//! - [`Api`] / [`RawRequest`]: SSM requests signed with the crate's own TC3 and legacy signers, with
//!   knobs to break them (wrong key, tampered body, old timestamp, odd scope) for rejection tests.
//! - [`SpawnedEmulator`]: `ssmform emulator` as a child process, address read from its first line.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;
use ssmform::emulator::{
    API_VERSION, Credential, Emulator, EmulatorConfig, RateLimits, STATS_PATH, StatsHandle,
    StatsSnapshot,
};
use ssmform::ssm::sign::RequestToSign;
use ssmform::ssm::sign_legacy::{self, LegacyMethod};

use super::process::Ssmform;

/// The region every harness request uses unless told otherwise.
pub const REGION: &str = "ap-guangzhou";

// ---------------------------------------------------------------------------------------------
// In-process emulator

/// An emulator running on a dedicated runtime thread.
pub struct TestEmulator {
    addr: SocketAddr,
    credential: Credential,
    stats: StatsHandle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestEmulator {
    /// Default configuration: in memory, development credentials, documented rate limits.
    pub fn start() -> Self {
        Self::with(EmulatorConfig::default())
    }

    /// Rate limits off: for tests that are not about pacing.
    pub fn unlimited() -> Self {
        Self::with(EmulatorConfig {
            rate_limits: RateLimits::Off,
            ..EmulatorConfig::default()
        })
    }

    /// Start with `config`; panics with the reason if it cannot start.
    pub fn with(config: EmulatorConfig) -> Self {
        Self::try_with(config).unwrap_or_else(|e| panic!("emulator failed to start: {e}"))
    }

    pub fn try_with(config: EmulatorConfig) -> Result<Self, String> {
        let (tx, rx) = mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("emulator runtime");
            rt.block_on(async move {
                match Emulator::start(config).await {
                    Ok(emu) => {
                        let _ = tx.send(Ok((
                            emu.addr(),
                            emu.credentials()[0].clone(),
                            emu.stats_handle(),
                        )));
                        let _ = stop_rx.await;
                        emu.shutdown().await;
                    }
                    Err(e) => {
                        let mut msg = e.to_string();
                        let mut src = std::error::Error::source(&e);
                        while let Some(s) = src {
                            msg.push_str(&format!(": {s}"));
                            src = s.source();
                        }
                        let _ = tx.send(Err(msg));
                    }
                }
            });
        });
        let (addr, credential, stats) = rx.recv().map_err(|e| e.to_string())??;
        Ok(TestEmulator {
            addr,
            credential,
            stats,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The credential it accepts.
    pub fn credential(&self) -> &Credential {
        &self.credential
    }

    /// Its traffic figures, read in-process.
    pub fn stats(&self) -> StatsSnapshot {
        self.stats.snapshot()
    }

    /// A request builder for this emulator.
    pub fn api(&self) -> Api {
        Api::new(self)
    }

    /// Graceful shutdown; returns when the server is down.
    pub fn stop(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for TestEmulator {
    fn drop(&mut self) {
        self.stop_now();
    }
}

// ---------------------------------------------------------------------------------------------
// Raw API requests

/// Builds signed requests for one emulator.
#[derive(Clone)]
pub struct Api {
    client: reqwest::Client,
    addr: SocketAddr,
    secret_id: String,
    secret_key: String,
}

impl Api {
    pub fn new(emu: &TestEmulator) -> Self {
        Api::for_addr(emu.addr(), emu.credential())
    }

    pub fn for_addr(addr: SocketAddr, credential: &Credential) -> Self {
        Api {
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("reqwest client"),
            addr,
            secret_id: credential.secret_id.clone(),
            secret_key: credential.secret_key.clone(),
        }
    }

    /// A TC3-signed `POST /` of `body` (JSON) for `action`.
    pub fn request(&self, action: &str, body: Value) -> RawRequest {
        RawRequest {
            api: self.clone(),
            action: action.to_string(),
            body: serde_json::to_vec(&body).expect("JSON body"),
            params: Vec::new(),
            style: Style::Tc3Post,
            timestamp: ssmform::clock::unix_now(),
            secret_id: self.secret_id.clone(),
            secret_key: self.secret_key.clone(),
            scope_date: None,
            service: "ssm".into(),
            region: Some(REGION.into()),
            version: API_VERSION.into(),
            host: self.addr.to_string(),
            signed_host: None,
            content_type: "application/json".into(),
            extra_headers: Vec::new(),
            sign_action_header: false,
            unsigned_payload: false,
            tamper: None,
            tamper_query: None,
            authorization: None,
        }
    }

    /// Send `action` with `body` (TC3 POST) and return the reply.
    pub async fn call(&self, action: &str, body: Value) -> Reply {
        self.request(action, body).send().await
    }

    /// Send and require success; returns the `Response` object.
    pub async fn ok(&self, action: &str, body: Value) -> Value {
        self.call(action, body).await.ok()
    }

    /// Send and require the error `code`; returns the message.
    pub async fn err(&self, action: &str, body: Value, code: &str) -> String {
        self.call(action, body).await.err(code)
    }

    /// Create a string secret with one version.
    pub async fn create(&self, name: &str, version: &str, value: &str) {
        self.ok(
            "CreateSecret",
            serde_json::json!({"SecretName": name, "VersionId": version, "SecretString": value}),
        )
        .await;
    }

    /// `GET /_emulator/stats` over HTTP.
    pub async fn stats(&self) -> StatsSnapshot {
        let r = self
            .client
            .get(format!("http://{}{STATS_PATH}", self.addr))
            .send()
            .await
            .expect("stats request");
        assert_eq!(r.headers()["content-type"], "application/json");
        let body = r.bytes().await.expect("stats body");
        serde_json::from_slice(&body).expect("stats JSON")
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// TC3, `POST /` with the body as given.
    Tc3Post,
    /// TC3, `GET /?<params>`.
    Tc3Get,
    /// Legacy signature, parameters in a form body (POST) or the query (GET).
    Legacy { method: LegacyMethod, get: bool },
}

/// A request to build, sign, optionally break, and send.
pub struct RawRequest {
    api: Api,
    action: String,
    body: Vec<u8>,
    params: Vec<(String, String)>,
    style: Style,
    timestamp: i64,
    secret_id: String,
    secret_key: String,
    scope_date: Option<String>,
    service: String,
    region: Option<String>,
    version: String,
    host: String,
    signed_host: Option<String>,
    content_type: String,
    extra_headers: Vec<(String, String)>,
    sign_action_header: bool,
    unsigned_payload: bool,
    tamper: Option<Vec<u8>>,
    tamper_query: Option<Vec<(String, String)>>,
    authorization: Option<String>,
}

impl RawRequest {
    /// Send as TC3 `GET` with these flattened parameters instead of a JSON body.
    pub fn get(mut self, params: &[(&str, &str)]) -> Self {
        self.style = Style::Tc3Get;
        self.params = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.content_type = "application/x-www-form-urlencoded".into();
        self
    }

    /// Send with the legacy signature and these flattened parameters.
    pub fn legacy(mut self, method: LegacyMethod, get: bool, params: &[(&str, &str)]) -> Self {
        self.style = Style::Legacy { method, get };
        self.params = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.content_type = "application/x-www-form-urlencoded".into();
        self
    }

    pub fn raw_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    pub fn timestamp(mut self, ts: i64) -> Self {
        self.timestamp = ts;
        self
    }

    pub fn secret_id(mut self, id: &str) -> Self {
        self.secret_id = id.into();
        self
    }

    pub fn secret_key(mut self, key: &str) -> Self {
        self.secret_key = key.into();
        self
    }

    /// Put this date in the credential scope (and sign with it).
    pub fn scope_date(mut self, date: &str) -> Self {
        self.scope_date = Some(date.into());
        self
    }

    /// Put this service in the credential scope (and sign with it).
    pub fn service(mut self, service: &str) -> Self {
        self.service = service.into();
        self
    }

    pub fn region(mut self, region: Option<&str>) -> Self {
        self.region = region.map(str::to_string);
        self
    }

    pub fn version(mut self, v: &str) -> Self {
        self.version = v.into();
        self
    }

    pub fn content_type(mut self, ct: &str) -> Self {
        self.content_type = ct.into();
        self
    }

    /// Sign the Host without its port (as the Node SDK does) while sending it with the port.
    pub fn sign_host_without_port(mut self) -> Self {
        self.signed_host = Some(self.api.addr.ip().to_string());
        self
    }

    /// Also sign `x-tc-action` (newer documentation's SignedHeaders).
    pub fn sign_action_header(mut self) -> Self {
        self.sign_action_header = true;
        self
    }

    /// `X-TC-Content-SHA256: UNSIGNED-PAYLOAD`.
    pub fn unsigned_payload(mut self) -> Self {
        self.unsigned_payload = true;
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.extra_headers.push((name.into(), value.into()));
        self
    }

    /// Sign the real body, then send this one instead.
    pub fn tamper_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.tamper = Some(body.into());
        self
    }

    /// Sign the query built from `get(...)`, then send these parameters instead.
    pub fn tamper_query(mut self, params: &[(&str, &str)]) -> Self {
        self.tamper_query = Some(
            params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
        self
    }

    /// Send this Authorization header instead of the computed one.
    pub fn authorization(mut self, value: &str) -> Self {
        self.authorization = Some(value.into());
        self
    }

    pub async fn send(self) -> Reply {
        let (method, url, headers, body) = self.build();
        let mut req = self
            .api
            .client
            .request(method, url)
            .body(body)
            .timeout(Duration::from_secs(30));
        for (k, v) in headers {
            req = req.header(k, v);
        }
        let resp = req.send().await.expect("request reaches the emulator");
        Reply::read(resp).await
    }

    fn build(&self) -> (reqwest::Method, String, Vec<(String, String)>, Vec<u8>) {
        let base = format!("http://{}/", self.api.addr);
        match self.style {
            Style::Tc3Post | Style::Tc3Get => {
                let get = self.style == Style::Tc3Get;
                let query = if get {
                    sign_legacy::form_encode(&self.params)
                } else {
                    String::new()
                };
                let body = if get { Vec::new() } else { self.body.clone() };
                let signed_host = self.signed_host.clone().unwrap_or(self.host.clone());
                let mut signed: Vec<(&str, &str)> = vec![
                    ("content-type", self.content_type.as_str()),
                    ("host", signed_host.as_str()),
                ];
                if self.sign_action_header {
                    signed.push(("x-tc-action", self.action.as_str()));
                }
                let method = if get { "GET" } else { "POST" };
                let to_sign = RequestToSign {
                    method,
                    query: &query,
                    signed_headers: &signed,
                    payload: &body,
                    unsigned_payload: self.unsigned_payload,
                    timestamp: self.timestamp,
                    service: &self.service,
                };
                let date = self
                    .scope_date
                    .clone()
                    .unwrap_or_else(|| ssmform::clock::utc_date(self.timestamp));
                let signed = to_sign.sign_with_date(self.secret_key.as_bytes(), &date);
                let authorization = self
                    .authorization
                    .clone()
                    .unwrap_or_else(|| signed.authorization(&self.secret_id));
                let mut headers = vec![
                    ("Host".to_string(), self.host.clone()),
                    ("Content-Type".to_string(), self.content_type.clone()),
                    ("X-TC-Action".to_string(), self.action.clone()),
                    ("X-TC-Version".to_string(), self.version.clone()),
                    ("X-TC-Timestamp".to_string(), self.timestamp.to_string()),
                    ("Authorization".to_string(), authorization),
                ];
                if let Some(r) = &self.region {
                    headers.push(("X-TC-Region".into(), r.clone()));
                }
                if self.unsigned_payload {
                    headers.push(("X-TC-Content-SHA256".into(), "UNSIGNED-PAYLOAD".into()));
                }
                override_headers(&mut headers, &self.extra_headers);
                let sent_query = match &self.tamper_query {
                    Some(p) => sign_legacy::form_encode(p),
                    None => query.clone(),
                };
                let url = if get {
                    format!("{base}?{sent_query}")
                } else {
                    base
                };
                let body = self.tamper.clone().unwrap_or(body);
                let m = if get {
                    reqwest::Method::GET
                } else {
                    reqwest::Method::POST
                };
                (m, url, headers, body)
            }
            Style::Legacy { method, get } => {
                let mut params = self.params.clone();
                params.push(("Action".into(), self.action.clone()));
                params.push(("Version".into(), self.version.clone()));
                if let Some(r) = &self.region {
                    params.push(("Region".into(), r.clone()));
                }
                params.push(("Timestamp".into(), self.timestamp.to_string()));
                params.push(("Nonce".into(), "4242".into()));
                params.push(("SecretId".into(), self.secret_id.clone()));
                params.push(("SignatureMethod".into(), method.as_str().into()));
                let http_method = if get { "GET" } else { "POST" };
                let host = self.signed_host.clone().unwrap_or(self.host.clone());
                let signed = sign_legacy::sign(
                    http_method,
                    &host,
                    "/",
                    &params,
                    self.secret_key.as_bytes(),
                    method,
                );
                let mut headers = vec![("Host".to_string(), self.host.clone())];
                override_headers(&mut headers, &self.extra_headers);
                if get {
                    (
                        reqwest::Method::GET,
                        format!("{base}?{}", signed.encoded),
                        headers,
                        Vec::new(),
                    )
                } else {
                    headers.push(("Content-Type".into(), self.content_type.clone()));
                    let body = self.tamper.clone().unwrap_or(signed.encoded.into_bytes());
                    (reqwest::Method::POST, base, headers, body)
                }
            }
        }
    }
}

/// Add `extra` to `headers`, replacing any header of the same name.
fn override_headers(headers: &mut Vec<(String, String)>, extra: &[(String, String)]) {
    for (k, v) in extra {
        headers.retain(|(name, _)| !name.eq_ignore_ascii_case(k));
        headers.push((k.clone(), v.clone()));
    }
}

/// An answer from the emulator.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: Option<String>,
    pub raw: Vec<u8>,
    pub json: Value,
}

impl Reply {
    pub async fn read(resp: reqwest::Response) -> Reply {
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap_or("<non-ascii>").to_string());
        let raw = resp.bytes().await.expect("response body").to_vec();
        let json = serde_json::from_slice(&raw).unwrap_or(Value::Null);
        Reply {
            status,
            content_type,
            raw,
            json,
        }
    }

    /// The `Response` object.
    pub fn response(&self) -> &Value {
        &self.json["Response"]
    }

    /// The error code, if the reply is an error envelope.
    pub fn code(&self) -> Option<&str> {
        self.response()["Error"]["Code"].as_str()
    }

    /// Assert the envelope shape every API answer shares.
    pub fn assert_envelope(&self) {
        assert_eq!(self.status, 200, "{}", String::from_utf8_lossy(&self.raw));
        assert_eq!(self.content_type.as_deref(), Some("application/json"));
        let id = self.response()["RequestId"]
            .as_str()
            .unwrap_or_else(|| panic!("no RequestId in {}", self.json));
        assert_eq!(id.len(), 36, "RequestId {id} is a UUID");
    }

    /// Require success; returns the `Response` object.
    pub fn ok(self) -> Value {
        self.assert_envelope();
        assert!(self.code().is_none(), "expected success, got {}", self.json);
        self.response().clone()
    }

    /// Require the error `code`; returns the message.
    pub fn err(self, code: &str) -> String {
        self.assert_envelope();
        assert_eq!(self.code(), Some(code), "reply: {}", self.json);
        let msg = self.response()["Error"]["Message"]
            .as_str()
            .expect("error message");
        assert!(!msg.is_empty());
        msg.to_string()
    }
}

// ---------------------------------------------------------------------------------------------
// The emulator as a child process

/// `ssmform emulator --listen 127.0.0.1:0 ...` as a child process. Killed on drop.
pub struct SpawnedEmulator {
    pub child: Child,
    pub addr: SocketAddr,
    /// The lines printed before the address was known, first line included.
    pub banner: Vec<String>,
    stdout: Option<BufReader<std::process::ChildStdout>>,
}

impl SpawnedEmulator {
    /// Start with these extra arguments after `emulator --listen 127.0.0.1:0`.
    pub fn start(extra: &[&str]) -> Self {
        Self::start_with(extra, None)
    }

    /// [`SpawnedEmulator::start`] under a umask.
    pub fn start_with_umask(extra: &[&str], umask: u32) -> Self {
        Self::start_with(extra, Some(umask))
    }

    /// [`SpawnedEmulator::start`] allowed at most `n` open files (`ulimit -n`).
    pub fn start_with_open_files(extra: &[&str], n: u32) -> Self {
        Self::start_configured(extra, None, Some(n))
    }

    fn start_with(extra: &[&str], umask: Option<u32>) -> Self {
        Self::start_configured(extra, umask, None)
    }

    fn start_configured(extra: &[&str], umask: Option<u32>, nofile: Option<u32>) -> Self {
        let mut run = Ssmform::new(["emulator", "--listen", "127.0.0.1:0"]);
        for a in extra {
            run = run.arg(*a);
        }
        if let Some(m) = umask {
            run = run.umask(m);
        }
        if let Some(n) = nofile {
            run = run.max_open_files(n);
        }
        let mut child = run.spawn();
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut first = String::new();
        stdout.read_line(&mut first).expect("first line");
        let addr = first
            .trim()
            .rsplit("http://")
            .next()
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| {
                let _ = child.kill();
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut e, &mut err);
                }
                panic!("no address in first line {first:?}; stderr: {err}")
            });
        let mut banner = vec![first.trim_end().to_string()];
        // The banner ends with "Stop with Ctrl-C.".
        loop {
            let mut line = String::new();
            if stdout.read_line(&mut line).unwrap_or(0) == 0 {
                break;
            }
            let done = line.starts_with("Stop with Ctrl-C.");
            banner.push(line.trim_end().to_string());
            if done {
                break;
            }
        }
        SpawnedEmulator {
            child,
            addr,
            banner,
            stdout: Some(stdout),
        }
    }

    /// Send SIGTERM and wait; returns the exit code and what it wrote to stderr.
    pub fn terminate(mut self) -> (Option<i32>, String) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let status = self.child.wait().expect("emulator exits");
        let mut err = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut e, &mut err);
        }
        (status.code(), err)
    }
}

impl Drop for SpawnedEmulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.stdout.take();
    }
}
