//! The accept loop: HTTP/1.1 on hyper, over TCP or TLS, with the transport limits of
//! [`ServerLimits`]:
//!
//! - at most `max_connections` connections at once; the next waits in the listen queue
//!   until one closes (those open are not disturbed);
//! - a TLS handshake must finish within `tls_handshake_timeout`; plain HTTP sent to the TLS
//!   port gets a 400 saying to use `https://`;
//! - a connection's first request, and any request whose first byte has arrived, must
//!   finish its headers within `header_read_timeout` (slow-header clients are dropped);
//! - a kept-alive connection with no request waits `idle_timeout` for the next one, and a
//!   client that stops reading a response is dropped after the same time.
//!
//! A request in progress (its handler running or its body streaming) is never cut by
//! these timers: the request timeout layer and the body limits bound those. On shutdown
//! the loop stops accepting, every connection finishes its current response and closes,
//! and [`serve`] returns once all are closed (at most [`DRAIN`] later).

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use http_body::Frame;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tower::Service;

use crate::config::ServerLimits;
use crate::error::ServerError;

/// Longest wait for open connections to finish after shutdown was asked for.
pub const DRAIN: Duration = Duration::from_secs(30);
/// Pause after a failed accept (e.g. out of file descriptors) before the next.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// What plain HTTP on the TLS port gets.
const HTTPS_REQUIRED: &str = "{\"error\":\"https_required\",\"detail\":\"this server speaks HTTPS; use https:// in the address\"}";

/// The transport limits, copied out of [`ServerLimits`].
#[derive(Debug, Clone, Copy)]
struct Timeouts {
    handshake: Duration,
    header: Duration,
    idle: Duration,
}

/// Accepts connections on `listener` and serves `app` on each (over TLS when `tls` is
/// given) until `shutdown` completes; then drains (see the module docs).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    tls: Option<TlsAcceptor>,
    limits: &ServerLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let timeouts = Timeouts {
        handshake: limits.tls_handshake_timeout,
        header: limits.header_read_timeout,
        idle: limits.idle_timeout,
    };
    let cap = limits.max_connections.clamp(1, Semaphore::MAX_PERMITS) as u32;
    let slots = Arc::new(Semaphore::new(cap as usize));
    let (stop, stopping) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            () = &mut shutdown => break,
            slot = slots.clone().acquire_owned() => slot.map_err(|e| ServerError::Runtime(std::io::Error::other(e)))?,
        };
        let stream = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                Err(error) => {
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(connection(
            stream,
            app.clone(),
            tls.clone(),
            timeouts,
            stopping.clone(),
            slot,
        ));
    }
    drop(listener);
    stop.send_replace(true);
    if tokio::time::timeout(DRAIN, slots.acquire_many(cap))
        .await
        .is_err()
    {
        tracing::warn!(
            "connections still open {} s after shutdown; closing them",
            DRAIN.as_secs()
        );
    }
    Ok(())
}

/// One connection, holding its `_slot` until it closes.
async fn connection(
    stream: TcpStream,
    app: Router,
    tls: Option<TlsAcceptor>,
    timeouts: Timeouts,
    stopping: watch::Receiver<bool>,
    _slot: OwnedSemaphorePermit,
) {
    let Some(acceptor) = tls else {
        serve_http(stream, app, timeouts, stopping).await;
        return;
    };
    let handshake = async {
        let mut first = [0u8; 1];
        if stream.peek(&mut first).await? == 0 {
            return Ok(None);
        }
        // Every TLS connection starts with a handshake record (content type 22).
        if first[0] != 0x16 {
            refuse_plain_http(stream).await;
            return Ok(None);
        }
        acceptor.accept(stream).await.map(Some)
    };
    match tokio::time::timeout(timeouts.handshake, handshake).await {
        Ok(Ok(Some(stream))) => serve_http(stream, app, timeouts, stopping).await,
        Ok(Ok(None)) => {}
        Ok(Err(error)) => tracing::debug!(%error, "TLS handshake failed"),
        Err(_) => tracing::debug!("TLS handshake timed out"),
    }
}

/// Answers plain HTTP on the TLS port with 400 `https_required` and closes.
async fn refuse_plain_http(mut stream: TcpStream) {
    let response = format!(
        "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{HTTPS_REQUIRED}",
        HTTPS_REQUIRED.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// Serves HTTP/1.1 on `io` until the client closes, a timer of [`Activity`] runs out or
/// the server stops.
async fn serve_http<I>(io: I, app: Router, timeouts: Timeouts, mut stopping: watch::Receiver<bool>)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Watched {
        inner: io,
        activity: activity.clone(),
    });
    let tracker = activity.clone();
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let busy = tracker.begin();
        let mut app = app.clone();
        async move {
            let response = match app.call(request.map(Body::new)).await {
                Ok(response) => response,
                Err(never) => match never {},
            };
            Ok::<_, Infallible>(response.map(|body| Body::new(Tracked { body, _busy: busy })))
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    // Our own timers replace hyper's (which would also cut idle keep-alive at the header
    // timeout).
    builder.keep_alive(true).header_read_timeout(None);
    let conn = builder.serve_connection(io, service);
    let mut conn = std::pin::pin!(conn);
    let mut draining = false;
    loop {
        let deadline = activity.deadline(timeouts);
        let changed = activity.changed.notified();
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(%error, "connection ended");
                }
                return;
            }
            _ = stopping.changed(), if !draining => {
                draining = true;
                conn.as_mut().graceful_shutdown();
            }
            () = changed => {}
            () = sleep_until(deadline) => {
                if activity.deadline(timeouts).is_some_and(|d| d <= Instant::now()) {
                    tracing::debug!("connection closed: header or idle timeout");
                    return;
                }
            }
        }
    }
}

/// Sleeps until `deadline`, forever when there is none.
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// What one connection is doing, for its timers.
#[derive(Debug)]
struct Activity {
    state: Mutex<ActivityState>,
    /// Woken when a request starts or ends, headers start arriving, or writing stalls.
    changed: Notify,
}

#[derive(Debug)]
struct ActivityState {
    /// Requests whose response has not been sent whole.
    in_flight: usize,
    /// Requests begun on this connection.
    served: u64,
    /// When the connection opened or its last response was sent.
    since: Instant,
    /// When the first byte of the next request arrived (while none is in flight).
    head_started: Option<Instant>,
    /// Since when a write has been waiting for the client to read.
    write_stalled: Option<Instant>,
}

impl Activity {
    fn new() -> Self {
        Self {
            state: Mutex::new(ActivityState {
                in_flight: 0,
                served: 0,
                since: Instant::now(),
                head_started: None,
                write_stalled: None,
            }),
            changed: Notify::new(),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut ActivityState) -> T) -> T {
        f(&mut self.state.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// When the connection is to be dropped unless something happens first.
    fn deadline(&self, t: Timeouts) -> Option<Instant> {
        self.with(|s| {
            let waiting = if s.in_flight > 0 {
                None
            } else if let Some(started) = s.head_started {
                Some(started + t.header)
            } else if s.served == 0 {
                Some(s.since + t.header)
            } else {
                Some(s.since + t.idle)
            };
            let stalled = s.write_stalled.map(|at| at + t.idle);
            match (waiting, stalled) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            }
        })
    }

    /// A request begins; it ends when the returned guard drops.
    fn begin(self: &Arc<Self>) -> Busy {
        self.with(|s| {
            s.in_flight += 1;
            s.served += 1;
            s.head_started = None;
        });
        self.changed.notify_one();
        Busy(self.clone())
    }

    fn read_bytes(&self) {
        let first = self.with(|s| {
            let first = s.in_flight == 0 && s.head_started.is_none();
            if first {
                s.head_started = Some(Instant::now());
            }
            first
        });
        if first {
            self.changed.notify_one();
        }
    }

    fn write_blocked(&self, blocked: bool) {
        let changed = self.with(|s| match (blocked, s.write_stalled) {
            (true, None) => {
                s.write_stalled = Some(Instant::now());
                true
            }
            (false, Some(_)) => {
                s.write_stalled = None;
                true
            }
            _ => false,
        });
        if changed {
            self.changed.notify_one();
        }
    }
}

/// A request in progress; dropped when its response was sent whole (or abandoned).
#[derive(Debug)]
struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.with(|s| {
            s.in_flight = s.in_flight.saturating_sub(1);
            s.since = Instant::now();
        });
        self.0.changed.notify_one();
    }
}

/// A response body that keeps its request counted as in progress until it is dropped.
struct Tracked {
    body: Body,
    _busy: Busy,
}

impl http_body::Body for Tracked {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// The connection's byte stream, reporting reads and stalled writes to its [`Activity`].
struct Watched<I> {
    inner: I,
    activity: Arc<Activity>,
}

impl<I: AsyncRead + Unpin> AsyncRead for Watched<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.read_bytes();
        }
        polled
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Watched<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.activity.write_blocked(polled.is_pending());
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.activity.write_blocked(polled.is_pending());
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        // Over TLS a blocked socket shows here (writes only fill rustls's buffer).
        let polled = Pin::new(&mut self.inner).poll_flush(cx);
        self.activity.write_blocked(polled.is_pending());
        polled
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
