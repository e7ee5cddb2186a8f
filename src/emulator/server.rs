//! The HTTP/1.1 server: accept loop, one task per connection (hyper 1 directly, no framework), and
//! a graceful shutdown that stops accepting, lets requests in flight finish, and closes idle
//! keep-alive connections.
//!
//! Hardening against clients that hold connections without using them (slowloris):
//!
//! - **Header and idle timeout** ([`HEADER_TIMEOUT`]): a request head must arrive whole within it,
//!   and a keep-alive connection waiting for its next request is closed after it (hyper starts the
//!   same timer whenever it waits for a head).
//! - **Body timeout** ([`BODY_TIMEOUT`], in the service): a body must arrive within it.
//! - **A bound on connections** ([`max_connections`]: [`MAX_CONNECTIONS`], or fewer when the
//!   process may open fewer files). At the bound, a new connection evicts the oldest one that has
//!   not yet sent a complete request (a slow or silent client), so ordinary clients are served; if
//!   every connection has, the new one is answered `503 Service Unavailable` and closed. Either way
//!   every connection gets an answer, and the accept loop never spins on a full descriptor table:
//!   should `accept` fail anyway (EMFILE), the oldest idle connection is closed to make room and
//!   the failure is logged once per burst.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{AbortHandle, JoinSet};

use super::service::{self, State};

/// How long shutdown waits for connections to finish their requests before cutting them.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// A request head must arrive within this, and an idle keep-alive connection is closed after it.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// A request body must arrive within this.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections served at once, at most (fewer if the open-file limit is lower).
pub const MAX_CONNECTIONS: usize = 4096;
/// File descriptors kept free for the store, logs and the like.
const RESERVED_FDS: u64 = 64;

/// The connection bound for this process: [`MAX_CONNECTIONS`], or the open-file limit less
/// [`RESERVED_FDS`] if that is lower (after raising the soft limit to the hard one where allowed).
pub fn max_connections() -> usize {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: a valid rlimit out-pointer.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0 {
            if limit.rlim_cur < limit.rlim_max {
                let raised = libc::rlimit {
                    rlim_cur: limit.rlim_max,
                    rlim_max: limit.rlim_max,
                };
                // SAFETY: a valid rlimit; raising the soft limit up to the hard one is allowed.
                if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
                    limit.rlim_cur = limit.rlim_max;
                }
            }
            let usable = limit.rlim_cur.saturating_sub(RESERVED_FDS).max(16);
            return (usable.min(MAX_CONNECTIONS as u64)) as usize;
        }
    }
    MAX_CONNECTIONS
}

/// One open connection, as the accept loop keeps track of it.
struct Open {
    abort: AbortHandle,
    /// Set once a complete request head has arrived on it.
    served: Arc<AtomicBool>,
    since: Instant,
}

/// Serve `listener` until `shutdown` turns true.
pub async fn serve(listener: TcpListener, state: Arc<State>, shutdown: watch::Receiver<bool>) {
    serve_with(listener, state, shutdown, max_connections()).await;
}

/// [`serve`] with an explicit connection bound.
pub async fn serve_with(
    listener: TcpListener,
    state: Arc<State>,
    mut shutdown: watch::Receiver<bool>,
    limit: usize,
) {
    let mut connections = JoinSet::new();
    let mut open: VecDeque<Open> = VecDeque::new();
    let mut last_accept_warning: Option<Instant> = None;
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    open.retain(|c| !c.abort.is_finished());
                    if open.len() >= limit && !evict_oldest_unserved(&mut open) {
                        // Every connection is in use: answer rather than leave this one waiting.
                        tokio::spawn(refuse(stream));
                        continue;
                    }
                    let served = Arc::new(AtomicBool::new(false));
                    let abort = connections.spawn(connection(
                        stream,
                        peer,
                        Arc::clone(&state),
                        shutdown.clone(),
                        Arc::clone(&served),
                    ));
                    open.push_back(Open { abort, served, since: Instant::now() });
                }
                Err(e) => {
                    // Out of file descriptors and the like: make room, and say so once a burst.
                    open.retain(|c| !c.abort.is_finished());
                    let evicted = evict_oldest_unserved(&mut open);
                    if last_accept_warning.is_none_or(|t| t.elapsed() > Duration::from_secs(10)) {
                        last_accept_warning = Some(Instant::now());
                        tracing::warn!(error = %e, open = open.len(), evicted,
                            "emulator: accept failed (further failures in the next 10 s are not logged)");
                    }
                    if !evicted {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            _ = shut_down(&mut shutdown) => break,
        }
    }
    drop(listener);
    let drained = tokio::time::timeout(DRAIN_TIMEOUT, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        connections.abort_all();
    }
}

/// Close the connection open longest without a complete request; false if there is none.
fn evict_oldest_unserved(open: &mut VecDeque<Open>) -> bool {
    let oldest = open
        .iter()
        .enumerate()
        .filter(|(_, c)| !c.served.load(Ordering::Relaxed))
        .min_by_key(|(_, c)| c.since)
        .map(|(i, _)| i);
    match oldest.and_then(|i| open.remove(i)) {
        Some(c) => {
            c.abort.abort();
            tracing::debug!(
                "emulator: closed the oldest connection without a request to make room"
            );
            true
        }
        None => false,
    }
}

/// Answer a connection over the bound with 503 and close it.
async fn refuse(mut stream: tokio::net::TcpStream) {
    const BODY: &str = "Too many connections: try again shortly.\n";
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\
         Retry-After: 1\r\nConnection: close\r\n\r\n{BODY}",
        BODY.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        let _ = stream.write_all(answer.as_bytes()).await;
        let _ = stream.shutdown().await;
    })
    .await;
}

async fn connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    state: Arc<State>,
    mut shutdown: watch::Receiver<bool>,
    served: Arc<AtomicBool>,
) {
    let svc = service_fn(move |req| {
        served.store(true, Ordering::Relaxed);
        service::handle(Arc::clone(&state), req)
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), svc);
    let mut conn = std::pin::pin!(conn);
    let result = tokio::select! {
        r = conn.as_mut() => r,
        _ = shut_down(&mut shutdown) => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = result {
        tracing::debug!(%peer, error = %e, "emulator: connection ended with an error");
    }
}

/// Resolves once shutdown is signalled (or its sender is gone).
pub(super) async fn shut_down(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|down| *down).await;
}
