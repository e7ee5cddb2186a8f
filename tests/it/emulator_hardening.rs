//! Issue 11, problem 6: the emulator under clients that hold connections without using them
//! (slowloris) and bodies larger than it accepts.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::SpawnedEmulator;

/// Send `request` on a new connection and read until the server closes it or `limit` passes.
async fn exchange(addr: std::net::SocketAddr, request: &[u8], limit: Duration) -> String {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(request).await.expect("send");
    let mut out = Vec::new();
    let _ = tokio::time::timeout(limit, s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

const STATS: &[u8] = b"GET /_emulator/stats HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

/// 1,000 connections that send half a request head and then nothing, to an emulator allowed 256
/// open files (`ulimit -n 256`): an ordinary client is still answered within a second. Before,
/// `accept` failed with EMFILE in a loop and nobody was served again.
#[tokio::test]
async fn a_normal_client_is_served_beside_a_thousand_slowloris_connections() {
    let emu = SpawnedEmulator::start_with_open_files(&[], 256);
    let addr = emu.addr;
    let mut attackers = Vec::new();
    for _ in 0..1000 {
        match TcpStream::connect(addr).await {
            Ok(mut s) => {
                let _ = s.write_all(b"POST / HTTP/1.1\r\nHost: x\r\nX-Slow: ").await;
                attackers.push(s);
            }
            // The listen backlog is full: enough connections are held.
            Err(_) => break,
        }
    }
    assert!(attackers.len() >= 300, "{} connections", attackers.len());
    // Let the emulator accept what it will.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let t0 = Instant::now();
    let answer = exchange(addr, STATS, Duration::from_secs(3)).await;
    let took = t0.elapsed();
    assert!(
        answer.starts_with("HTTP/1.1 200"),
        "{answer:?} after {took:?}"
    );
    assert!(took < Duration::from_secs(1), "answered after {took:?}");
    drop(attackers);
}

/// A body declared larger than the limit is refused before a byte of it is read: the answer
/// comes although the body never does.
#[tokio::test]
async fn a_body_declared_too_large_is_refused_at_once() {
    let emu = SpawnedEmulator::start(&[]);
    let request = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-TC-Action: \
         ListSecrets\r\nContent-Length: {}\r\n\r\n",
        ssmform::emulator::MAX_BODY_BYTES + 1
    );
    let t0 = Instant::now();
    let answer = exchange(emu.addr, request.as_bytes(), Duration::from_secs(3)).await;
    assert!(answer.contains("RequestSizeLimitExceeded"), "{answer:?}");
    assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
}

/// A client that sends a body over the limit without waiting reads the refusal: the emulator reads
/// and throws away the rest for a moment instead of closing a socket the client is still writing
/// to, which reset the connection and lost the answer (a flaky `protocol_errors_have_their_codes`).
#[tokio::test]
async fn a_client_still_sending_a_refused_body_reads_the_refusal() {
    let emu = SpawnedEmulator::start(&[]);
    let client = reqwest::Client::new();
    let big = vec![b' '; ssmform::emulator::MAX_BODY_BYTES + 2 * 1024 * 1024];
    for attempt in 0..5 {
        let reply = client
            .post(format!("http://{}/", emu.addr))
            .header("Content-Type", "application/json")
            .header("X-TC-Action", "ListSecrets")
            .body(big.clone())
            .timeout(Duration::from_secs(20))
            .send()
            .await;
        let text = match reply {
            Ok(r) => r.text().await.unwrap_or_default(),
            Err(e) => panic!("attempt {attempt}: no answer: {e:?}"),
        };
        assert!(
            text.contains("RequestSizeLimitExceeded"),
            "attempt {attempt}: {text:?}"
        );
    }
}
