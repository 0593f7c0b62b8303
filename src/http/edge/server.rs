//! The connection loop: hyper's HTTP/1.1 server over tokio, with what `axum::serve` leaves
//! out. A cap on open connections; a header timeout (from a request's first byte to its last
//! header line); an idle timeout (no request in progress and nothing read or written); the
//! peer's address for the handlers; graceful shutdown that finishes requests in flight.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore, watch};
use tokio::time::Instant;
use tower::ServiceExt;

/// How connections are bounded.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// From the first byte of a request to the end of its headers.
    pub header_timeout: Duration,
    /// With no request in progress, how long a connection may stay silent.
    pub idle_timeout: Duration,
    /// Connections open at once; more wait in the listen backlog.
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 1024,
        }
    }
}

/// How long shutdown waits for requests in flight.
const DRAIN: Duration = Duration::from_secs(30);

/// What a connection is doing, as its watchdog sees it.
#[derive(Debug)]
struct Activity {
    /// Requests being answered.
    in_flight: usize,
    /// Bytes were read since the last request started: a request's head is arriving.
    head_started: Option<Instant>,
    /// The last time anything was read or written, or a request finished.
    last: Instant,
}

/// A connection's activity, and a signal for its watchdog when a request's head starts
/// arriving (its deadline moves closer).
struct Watch {
    activity: Mutex<Activity>,
    head_started: Notify,
}

type Shared = Arc<Watch>;

fn lock(shared: &Shared) -> std::sync::MutexGuard<'_, Activity> {
    shared.activity.lock().unwrap_or_else(|e| e.into_inner())
}

/// The socket, noting reads and writes for the watchdog.
struct Watched {
    stream: TcpStream,
    activity: Shared,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.stream).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            let mut activity = lock(&self.activity);
            let now = Instant::now();
            activity.last = now;
            if activity.in_flight == 0 && activity.head_started.is_none() {
                activity.head_started = Some(now);
                self.activity.head_started.notify_one();
            }
        }
        result
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.stream).poll_write(cx, buf);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            lock(&self.activity).last = Instant::now();
        }
        result
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            lock(&self.activity).last = Instant::now();
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// Marks a request in flight while its answer is being made.
struct InFlight(Shared);

impl InFlight {
    fn start(activity: &Shared) -> Self {
        let mut a = lock(activity);
        a.in_flight += 1;
        a.head_started = None;
        InFlight(activity.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut a = lock(&self.0);
        a.in_flight -= 1;
        a.last = Instant::now();
    }
}

/// Resolves when the connection has broken its header or idle timeout.
async fn watchdog(activity: Shared, limits: ConnectionLimits) {
    loop {
        let deadline = {
            let a = lock(&activity);
            if a.in_flight > 0 {
                // The request timeout bounds a request; look again later.
                Instant::now() + limits.idle_timeout.min(limits.header_timeout)
            } else if let Some(started) = a.head_started {
                started + limits.header_timeout
            } else {
                a.last + limits.idle_timeout
            }
        };
        if deadline <= Instant::now() {
            let idle = lock(&activity).in_flight == 0;
            if idle {
                return;
            }
            tokio::time::sleep(limits.header_timeout.min(limits.idle_timeout)).await;
            continue;
        }
        tokio::select! {
            () = tokio::time::sleep_until(deadline) => {}
            () = activity.head_started.notified() => {}
        }
    }
}

/// Serves `app` on `listener` until `shutdown` resolves, then lets requests in flight finish
/// (up to 30 s).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut shutdown = pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors and the like: pause rather than spin.
                    tracing::warn!(%err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let _permit = permit;
            connection(stream, peer, app, limits, &mut stop).await;
        });
    }
    drop(stop_tx);
    // Every connection task holds a permit until it ends.
    let all = u32::try_from(limits.max_connections.max(1)).unwrap_or(u32::MAX);
    if tokio::time::timeout(DRAIN, permits.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!("requests still in flight after {DRAIN:?}; stopping anyway");
    }
    Ok(())
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    limits: ConnectionLimits,
    stop: &mut watch::Receiver<bool>,
) {
    let activity: Shared = Arc::new(Watch {
        activity: Mutex::new(Activity {
            in_flight: 0,
            head_started: None,
            last: Instant::now(),
        }),
        head_started: Notify::new(),
    });
    let io = TokioIo::new(Watched {
        stream,
        activity: activity.clone(),
    });
    let tracked = activity.clone();
    let service =
        hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
            let in_flight = InFlight::start(&tracked);
            let mut request = request.map(axum::body::Body::new);
            request.extensions_mut().insert(ConnectInfo(peer));
            let answer = app.clone().oneshot(request);
            async move {
                let response = answer.await;
                drop(in_flight);
                response
            }
        });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.header_read_timeout(None).keep_alive(true);
    let conn = builder.serve_connection(io, service);
    let mut conn = pin!(conn);
    let dog = watchdog(activity, limits);
    let mut dog = pin!(dog);
    tokio::select! {
        _ = conn.as_mut() => return,
        () = &mut dog => {
            tracing::debug!(%peer, "connection timed out");
            return;
        }
        _ = stop.changed() => {}
    }
    conn.as_mut().graceful_shutdown();
    let _ = conn.await;
}
