//! Serving connections, with the limits a public listener needs: a client
//! must send a request's headers within `header_read_timeout_secs` (hyper
//! starts that clock when the connection is ready for the next request, so
//! it also ends idle HTTP/1.1 keep-alives), a connection with no request in
//! flight for `idle_timeout_secs` is shut down gracefully (HTTP/2, and a
//! connection that never sends a byte), and a request body that sends
//! nothing for `idle_timeout_secs` fails. `axum::serve` cannot set these,
//! so plain TCP and the cluster's mutual TLS both come through here.
//!
//! Every request carries `ConnectInfo<SocketAddr>` (the peer), and over
//! mutual TLS the `Peer` role of the client certificate.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, HttpBody};
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tower::ServiceExt;

use crate::cluster::Peer;
use crate::config::Limits;

/// The connection limits, from `[limits]`.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub header_read: Duration,
    pub idle: Duration,
}

impl Timeouts {
    pub fn of(limits: &Limits) -> Timeouts {
        Timeouts {
            header_read: Duration::from_secs(limits.header_read_timeout_secs.max(1)),
            idle: Duration::from_secs(limits.idle_timeout_secs.max(1)),
        }
    }
}

/// Mutual TLS for a region service: the acceptor and the roles pinned to
/// client certificates.
pub struct Tls {
    pub acceptor: tokio_rustls::TlsAcceptor,
    pub peers: Arc<BTreeMap<String, String>>,
}

/// How long connections get to finish after shutdown is asked for.
const DRAIN: Duration = Duration::from_secs(10);

/// Serves `router` on `listener` until `shutdown` resolves, then lets open
/// connections finish (for at most a few seconds).
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    timeouts: Timeouts,
    tls: Option<Tls>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let tls = tls.map(Arc::new);
    let mut conns = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        while conns.try_join_next().is_some() {}
        let (tcp, remote) = tokio::select! {
            _ = &mut shutdown => break,
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let router = router.clone();
        let tls = tls.clone();
        let stop = stop_rx.clone();
        conns.spawn(async move {
            match tls {
                None => connection(tcp, remote, None, router, timeouts, stop).await,
                Some(tls) => {
                    let Ok(Ok(stream)) =
                        tokio::time::timeout(timeouts.header_read, tls.acceptor.accept(tcp)).await
                    else {
                        return;
                    };
                    let peer = stream
                        .get_ref()
                        .1
                        .peer_certificates()
                        .and_then(|c| c.first())
                        .and_then(|d| tls.peers.get(&crate::cluster::fingerprint(d)).cloned());
                    let Some(peer) = peer else {
                        tracing::warn!(
                            "refused a TLS client whose certificate the cluster file does not list"
                        );
                        return;
                    };
                    connection(stream, remote, Some(Peer(peer)), router, timeouts, stop).await
                }
            }
        });
    }
    let _ = stop_tx.send(true);
    let drained =
        tokio::time::timeout(DRAIN, async { while conns.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        conns.abort_all();
    }
    Ok(())
}

/// Counts a connection's requests whose response is not yet fully sent.
struct InFlight {
    count: Arc<AtomicUsize>,
    last: Arc<std::sync::Mutex<Instant>>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
        self.count.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A response body that keeps its request in flight until it is dropped
/// (sent whole, or abandoned with the connection).
struct TrackedBody {
    inner: Body,
    _in_flight: InFlight,
}

impl HttpBody for TrackedBody {
    type Data = axum::body::Bytes;
    type Error = axum::Error;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }
    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }
    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

async fn connection<I>(
    io: I,
    remote: SocketAddr,
    peer: Option<Peer>,
    router: Router,
    timeouts: Timeouts,
    mut stop: tokio::sync::watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let count = Arc::new(AtomicUsize::new(0));
    let last = Arc::new(std::sync::Mutex::new(Instant::now()));
    let svc = {
        let (count, last) = (count.clone(), last.clone());
        tower::service_fn(move |mut req: axum::http::Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(ConnectInfo(remote));
            if let Some(p) = &peer {
                req.extensions_mut().insert(p.clone());
            }
            count.fetch_add(1, Ordering::SeqCst);
            let in_flight = InFlight {
                count: count.clone(),
                last: last.clone(),
            };
            let router = router.clone();
            async move {
                let req =
                    req.map(|b| Body::new(tower_http::timeout::TimeoutBody::new(timeouts.idle, b)));
                let resp = router.oneshot(req).await?;
                Ok::<_, std::convert::Infallible>(resp.map(|inner| {
                    Body::new(TrackedBody {
                        inner,
                        _in_flight: in_flight,
                    })
                }))
            }
        })
    };
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(timeouts.header_read);
    builder.http2().timer(TokioTimer::new());
    let conn = builder.serve_connection_with_upgrades(
        TokioIo::new(io),
        hyper_util::service::TowerToHyperService::new(svc),
    );
    tokio::pin!(conn);
    let tick = timeouts.idle.min(Duration::from_secs(1));
    let mut closing: Option<Instant> = None;
    loop {
        tokio::select! {
            _ = conn.as_mut() => return,
            _ = tokio::time::sleep(tick) => {
                match closing {
                    Some(since) if since.elapsed() >= DRAIN => return,
                    Some(_) => {}
                    None => {
                        let idle_for = last.lock().unwrap_or_else(|e| e.into_inner()).elapsed();
                        if count.load(Ordering::SeqCst) == 0 && idle_for >= timeouts.idle {
                            conn.as_mut().graceful_shutdown();
                            closing = Some(Instant::now());
                        }
                    }
                }
            }
            _ = stop.changed(), if closing.is_none() => {
                conn.as_mut().graceful_shutdown();
                closing = Some(Instant::now());
            }
        }
    }
}
