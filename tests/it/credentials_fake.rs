//! Helpers of the credential tests: web-identity tokens, emulators with STS settings, workspaces
//! using each source, and a scripted HTTP server standing in for STS or the metadata service
//! where a test needs answers the emulator does not give (canary credentials, a redirect, an error
//! message that quotes the token).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use serde_json::{Value, json};
use ssmform::emulator::{EmulatorConfig, RateLimits, StsConfig};

use crate::support::{TestEmulator, Workspace};

/// The role every test assumes unless it says otherwise.
pub const ROLE_ARN: &str = "qcs::cam::uin/100000000001:roleName/ssm-ci";

/// A JWT with `claims` (header `{"alg":"RS256","kid":"test"}`, a dummy signature).
pub fn jwt(claims: Value) -> String {
    let e = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.{}",
        e(&json!({"alg": "RS256", "kid": "test"})),
        e(&claims),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("not-a-real-signature")
    )
}

/// A token valid for `secs` more seconds, for audience `aud`, with a distinctive subject.
pub fn fresh_token(secs: i64, aud: &str, subject: &str) -> String {
    jwt(json!({
        "iss": "https://token.actions.githubusercontent.com",
        "aud": aud,
        "sub": subject,
        "exp": ssmform::clock::unix_now() + secs,
        "iat": ssmform::clock::unix_now(),
    }))
}

/// An emulator with rate limits off and these STS settings.
pub fn emulator(sts: StsConfig) -> TestEmulator {
    TestEmulator::with(EmulatorConfig {
        rate_limits: RateLimits::Off,
        sts,
        ..EmulatorConfig::default()
    })
}

/// A workspace on `emu` with no static key in its environment.
pub fn keyless(emu: &TestEmulator) -> Workspace {
    Workspace::new(emu)
        .without_env("TENCENTCLOUD_SECRET_ID")
        .without_env("TENCENTCLOUD_SECRET_KEY")
}

/// Provider lines for web identity through `emu`'s STS with the token in `cfg/../token`.
pub fn web_identity_lines(sts_endpoint: &str, extra: &str) -> String {
    format!(
        "  sts_endpoint = \"{sts_endpoint}\"\n  assume_role_with_web_identity {{\n    role_arn                = \"{ROLE_ARN}\"\n    session_name            = \"ssmform-test\"\n    web_identity_token_file = \"../token\"\n{extra}  }}"
    )
}

/// A two-secret configuration body.
pub const TWO_SECRETS: &str = "secret \"a\" {\n  secret_name   = \"cred-a\"\n  version_id    = \"v1\"\n  secret_string = \"value-a\"\n}\n\nsecret \"b\" {\n  secret_name   = \"cred-b\"\n  version_id    = \"v1\"\n  secret_string = \"value-b\"\n}\n";

/// One request as the scripted server received it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// An answer: status, content type, body.
pub type Answer = (u16, &'static str, String);

/// A scripted HTTP/1.1 server on a loopback port, answering each request with `answer(&seen)`
/// and remembering every request. It runs until the test process ends.
pub struct Scripted {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Scripted {
    pub fn start(answer: impl Fn(&Seen) -> Answer + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&seen);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let Some(req) = read_request(&mut stream) else {
                    continue;
                };
                let (status, content_type, body) = answer(&req);
                record.lock().unwrap().push(req);
                let reason = match status {
                    200 => "OK",
                    302 => "Found",
                    404 => "Not Found",
                    _ => "Status",
                };
                let mut head = format!(
                    "HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n",
                    body.len()
                );
                if status == 302 {
                    head.push_str(&format!("Location: {body}\r\n"));
                }
                head.push_str("\r\n");
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(body.as_bytes());
            }
        });
        Scripted { addr, seen }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn read_request(stream: &mut std::net::TcpStream) -> Option<Seen> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.lines();
    let first: Vec<&str> = lines.next()?.split_whitespace().collect();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < len {
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(Seen {
        method: first.first()?.to_string(),
        path: first.get(1)?.to_string(),
        headers,
        body,
    })
}

/// The metadata service's answer for `role` with these credentials.
pub fn metadata_answer(id: &str, key: &str, token: &str, lifetime: i64) -> String {
    let exp = ssmform::clock::unix_now() + lifetime;
    json!({
        "TmpSecretId": id, "TmpSecretKey": key, "Token": token,
        "ExpiredTime": exp, "Expiration": "2030-01-01T00:00:00Z", "Code": "Success",
    })
    .to_string()
}
