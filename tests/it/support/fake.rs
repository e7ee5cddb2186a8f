//! A fake API endpoint for the tests of issue 11: a small TCP/HTTP server on its own thread that
//! answers each request as the test says, or passes it on to a real emulator (byte for byte, so
//! signatures still verify), possibly withholding the answer.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A request as the fake saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    /// `X-TC-Action`.
    pub action: String,
    /// How many requests of this action came before it.
    pub nth: usize,
    /// The JSON body.
    pub body: serde_json::Value,
}

/// What the fake does with a request.
pub enum Answer {
    /// HTTP 200, `application/json`, this body.
    Json(String),
    /// These bytes as the whole answer, then close.
    Raw(Vec<u8>),
    /// Pass it on to the upstream emulator and relay its answer.
    Forward,
    /// Pass it on, wait for the upstream answer, and close the connection instead of relaying it:
    /// the request took effect, its answer is lost.
    ForwardThenDrop,
    /// Close the connection without answering.
    Close,
    /// Keep the connection and never answer.
    Hang,
    /// Send the head of a 200 answer, then a byte of body every `Duration`, forever.
    Trickle(Duration),
}

type Script = dyn Fn(&Seen) -> Answer + Send + Sync;

/// A running fake; stops when dropped.
pub struct Fake {
    pub addr: SocketAddr,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
}

impl Fake {
    /// A fake answering by `script`, passing requests on to `upstream` when told to.
    pub fn start(
        upstream: Option<SocketAddr>,
        script: impl Fn(&Seen) -> Answer + Send + Sync + 'static,
    ) -> Fake {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("addr");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let script: Arc<Script> = Arc::new(script);
        let (s, st) = (seen.clone(), stop.clone());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = TcpListener::from_std(listener).expect("listener");
                while !st.load(Ordering::SeqCst) {
                    let accepted =
                        tokio::time::timeout(Duration::from_millis(100), listener.accept()).await;
                    let Ok(Ok((socket, _))) = accepted else {
                        continue;
                    };
                    tokio::spawn(serve(socket, upstream, script.clone(), s.clone()));
                }
            });
        });
        Fake { addr, seen, stop }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The actions seen so far, in order.
    pub fn actions(&self) -> Vec<String> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .map(|s| s.action.clone())
            .collect()
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// Read one request: its head and as much body as `Content-Length` says.
async fn read_request(socket: &mut TcpStream) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(buf)
}

fn header(raw: &[u8], name: &str) -> String {
    let text = String::from_utf8_lossy(raw);
    text.lines()
        .take_while(|l| !l.is_empty())
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
        .unwrap_or_default()
}

async fn forward(upstream: SocketAddr, raw: &[u8]) -> Vec<u8> {
    // Ask the upstream to close after answering, so its answer ends at EOF.
    let text = raw.to_vec();
    let at = text
        .windows(2)
        .position(|w| w == b"\r\n")
        .expect("request line");
    let mut request = text[..at + 2].to_vec();
    request.extend_from_slice(b"Connection: close\r\n");
    request.extend_from_slice(&text[at + 2..]);
    let mut s = TcpStream::connect(upstream).await.expect("upstream");
    s.write_all(&request).await.expect("to upstream");
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out).await;
    out
}

async fn serve(
    mut socket: TcpStream,
    upstream: Option<SocketAddr>,
    script: Arc<Script>,
    seen: Arc<Mutex<Vec<Seen>>>,
) {
    while let Some(raw) = read_request(&mut socket).await {
        let action = header(&raw, "x-tc-action");
        let body_at = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        let body = serde_json::from_slice(&raw[body_at..]).unwrap_or(serde_json::Value::Null);
        let request = {
            let mut all = seen.lock().unwrap();
            let nth = all.iter().filter(|s| s.action == action).count();
            let r = Seen { action, nth, body };
            all.push(r.clone());
            r
        };
        match script(&request) {
            Answer::Json(body) => {
                let answer = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                if socket.write_all(answer.as_bytes()).await.is_err() {
                    return;
                }
            }
            Answer::Raw(bytes) => {
                let _ = socket.write_all(&bytes).await;
                return;
            }
            Answer::Forward => {
                let answer = forward(upstream.expect("an upstream"), &raw).await;
                let _ = socket.write_all(&answer).await;
                return;
            }
            Answer::ForwardThenDrop => {
                let _ = forward(upstream.expect("an upstream"), &raw).await;
                return;
            }
            Answer::Close => return,
            Answer::Hang => {
                tokio::time::sleep(Duration::from_secs(600)).await;
                return;
            }
            Answer::Trickle(gap) => {
                let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{";
                if socket.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                loop {
                    tokio::time::sleep(gap).await;
                    if socket.write_all(b" ").await.is_err() {
                        return;
                    }
                }
            }
        }
    }
}
