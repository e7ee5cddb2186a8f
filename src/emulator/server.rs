//! The HTTP/1.1 server: accept loop, one task per connection (hyper 1 directly, no framework), and
//! a graceful shutdown that stops accepting, lets requests in flight finish, and closes idle
//! keep-alive connections.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::service::{self, State};

/// How long shutdown waits for connections to finish their requests before cutting them.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Serve `listener` until `shutdown` turns true.
pub async fn serve(listener: TcpListener, state: Arc<State>, mut shutdown: watch::Receiver<bool>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    connections.spawn(connection(stream, peer, Arc::clone(&state), shutdown.clone()));
                }
                Err(e) => {
                    // Out of file descriptors and the like: wait a little rather than spin.
                    tracing::warn!(error = %e, "emulator: accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
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

async fn connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    state: Arc<State>,
    mut shutdown: watch::Receiver<bool>,
) {
    let svc = service_fn(move |req| service::handle(Arc::clone(&state), req));
    let conn = http1::Builder::new()
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
