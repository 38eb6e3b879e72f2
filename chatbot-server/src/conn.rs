//! Connections: the accept loop, the deadline for a connection's first request head, the cap on
//! open connections and the back-off on accept errors.
//!
//! hyper-util's `auto::Builder` reads a connection's first bytes (to tell HTTP/1 from HTTP/2)
//! with no timer, and hyper's `header_read_timeout` starts only after that (hyperium/hyper#3962),
//! so a connection that never sends a byte would stay open for ever. Each connection therefore
//! runs against its own deadline, from accept until its first request head reaches the service;
//! later requests on a kept-alive HTTP/1 connection are bounded by hyper's `header_read_timeout`
//! (which also covers the idle time between requests), and HTTP/2 connections by keep-alive
//! pings. Connections beyond the cap are accepted and closed at once (never left in the listen
//! backlog), after first making room by closing the oldest connection that has not sent a
//! request yet: a flood of silent sockets then cannot lock out a client that speaks.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use prometheus_client::metrics::gauge::Gauge;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;
use tower::Service as _;
use tracing::{debug, info, warn};

use crate::metrics::{HttpMetrics, Refusal};
use crate::{ChatService, PeerAddr, ServerConfig};

/// First wait after a failed accept; doubled on each further failure up to [`ACCEPT_BACKOFF_MAX`].
const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(10);
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);
/// At most one "accept failed" line per this long (the others are counted in it).
const ACCEPT_LOG_EVERY: Duration = Duration::from_secs(10);

/// Longest the accept loop waits for an evicted connection to close.
const EVICT_WAIT: Duration = Duration::from_millis(250);
/// File descriptors kept free for everything that is not a client connection (database files and
/// their pools, the local index, outgoing HTTP, logs): an eighth of the limit, at least this many.
const FD_RESERVE_MIN: u64 = 64;
/// Fewest connections a derived cap allows (a tiny open-files limit still serves someone).
const MIN_DERIVED_CAP: u64 = 16;
/// Largest derived cap (an unlimited open-files limit).
const MAX_DERIVED_CAP: u64 = 1 << 20;

/// The default connection cap for an open-files limit of `nofile`: the limit minus a reserve of
/// an eighth (at least 64) for the database, the index and outgoing calls.
pub(crate) fn cap_for_nofile(nofile: u64) -> usize {
    let reserve = (nofile / 8).max(FD_RESERVE_MIN);
    let cap = nofile.saturating_sub(reserve).clamp(MIN_DERIVED_CAP, MAX_DERIVED_CAP);
    usize::try_from(cap).unwrap_or(usize::MAX)
}

/// The process's open-files limit (soft), when the platform has one.
pub(crate) fn nofile_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        rlimit::getrlimit(rlimit::Resource::NOFILE).ok().map(|(soft, _)| soft)
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// The connection cap: the configured one, else derived from the open-files limit.
pub(crate) fn connection_cap(config: &ServerConfig) -> usize {
    config.max_connections.unwrap_or_else(|| nofile_limit().map_or(10_000, cap_for_nofile)).max(1)
}

/// The open connections, and which of them have not sent a request head yet.
struct Tracker {
    cap: usize,
    open: AtomicUsize,
    /// `open`, for /metrics.
    gauge: Gauge,
    next_id: AtomicU64,
    /// Connections still waiting for their first request head, oldest first, with the token
    /// that closes them.
    waiting: Mutex<BTreeMap<u64, CancellationToken>>,
    /// Signalled whenever a connection closes.
    freed: Notify,
}

enum Admit {
    /// Below the cap.
    Yes,
    /// At the cap: the oldest connection without a request was closed to make room.
    Evicted,
    /// At the cap and every connection is in use: close this one.
    No,
}

impl Tracker {
    fn new(cap: usize, gauge: Gauge) -> Self {
        Self {
            cap,
            open: AtomicUsize::new(0),
            gauge,
            next_id: AtomicU64::new(0),
            waiting: Mutex::default(),
            freed: Notify::new(),
        }
    }

    /// Wait (at most `max_wait`) until fewer than `cap` connections are open: an evicted
    /// connection closes on its own task, and its file descriptor must be free before the next
    /// one takes its place, or a flood would run the process out of descriptors.
    async fn wait_for_room(&self, max_wait: Duration) {
        let room = async {
            loop {
                let freed = self.freed.notified();
                tokio::pin!(freed);
                freed.as_mut().enable();
                if self.open.load(Ordering::Acquire) < self.cap {
                    return;
                }
                freed.await;
            }
        };
        let _ = tokio::time::timeout(max_wait, room).await;
    }

    fn waiting(&self) -> MutexGuard<'_, BTreeMap<u64, CancellationToken>> {
        // The map stays consistent whatever panicked while holding the lock.
        self.waiting.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Close the oldest connection that has not sent a request yet; false when there is none.
    fn evict_oldest_waiting(&self) -> bool {
        let oldest = self.waiting().pop_first();
        let Some((_, token)) = oldest else { return false };
        token.cancel();
        true
    }

    /// Decide about a new connection (only the accept loop calls this, so the count cannot
    /// race upwards).
    fn admit(&self) -> Admit {
        if self.open.load(Ordering::Acquire) < self.cap {
            Admit::Yes
        } else if self.evict_oldest_waiting() {
            Admit::Evicted
        } else {
            Admit::No
        }
    }

    /// Register an admitted connection.
    fn register(self: &Arc<Self>) -> Slot {
        self.open.fetch_add(1, Ordering::AcqRel);
        self.gauge.inc();
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let evict = CancellationToken::new();
        self.waiting().insert(id, evict.clone());
        Slot { id, tracker: self.clone(), evict, started: CancellationToken::new() }
    }
}

/// One admitted connection's place in the [`Tracker`]; freed when dropped.
struct Slot {
    id: u64,
    tracker: Arc<Tracker>,
    /// Cancelled to close the connection to make room (only while it has sent no request).
    evict: CancellationToken,
    /// Cancelled when the first request head reached the service.
    started: CancellationToken,
}

impl Slot {
    /// The first request head arrived: the connection is no longer silent.
    fn request_started(&self) {
        if !self.started.is_cancelled() {
            self.started.cancel();
            self.tracker.waiting().remove(&self.id);
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.tracker.waiting().remove(&self.id);
        self.tracker.open.fetch_sub(1, Ordering::AcqRel);
        self.tracker.gauge.dec();
        self.tracker.freed.notify_waiters();
    }
}

/// Why a connection was closed before it sent a request head.
#[derive(Debug, Clone, Copy)]
enum Silent {
    Deadline,
    Evicted,
}

/// Resolves when the connection must be closed for not sending a request head in time (or to
/// make room); never once a request head arrived.
async fn silent_close(slot: &Slot, deadline: Duration) -> Silent {
    tokio::select! {
        biased;
        () = slot.started.cancelled() => std::future::pending().await,
        () = slot.evict.cancelled() => Silent::Evicted,
        () = tokio::time::sleep(deadline) => Silent::Deadline,
    }
}

/// Back-off and rate-limited logging of accept errors (EMFILE and friends would otherwise spin
/// the loop and flood the log).
struct AcceptErrors {
    delay: Duration,
    last_log: Option<Instant>,
    suppressed: u64,
}

impl AcceptErrors {
    fn new() -> Self {
        Self { delay: ACCEPT_BACKOFF_MIN, last_log: None, suppressed: 0 }
    }

    fn ok(&mut self) {
        self.delay = ACCEPT_BACKOFF_MIN;
    }

    /// Log (at most once per [`ACCEPT_LOG_EVERY`]) and return how long to wait.
    fn failed(&mut self, e: &std::io::Error, open: usize) -> Duration {
        let wait = self.delay;
        self.delay = (self.delay * 2).min(ACCEPT_BACKOFF_MAX);
        if self.last_log.is_none_or(|t| t.elapsed() >= ACCEPT_LOG_EVERY) {
            warn!(
                error = %e,
                open_connections = open,
                similar_since_last = self.suppressed,
                retry_in_ms = wait.as_millis() as u64,
                "accept failed"
            );
            self.last_log = Some(Instant::now());
            self.suppressed = 0;
        } else {
            self.suppressed += 1;
        }
        wait
    }
}

/// Out of file descriptors (per process or system-wide).
fn out_of_fds(e: &std::io::Error) -> bool {
    matches!(e.raw_os_error(), Some(23 | 24)) // ENFILE, EMFILE
}

/// Accept and serve until `stop`, then let connections finish within `grace`.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    svc: ChatService,
    config: ServerConfig,
    mut stop: watch::Receiver<bool>,
) {
    let app = svc.app().clone();
    let metrics: &HttpMetrics = &app.metrics;
    let cap = connection_cap(&config);
    let tracker = Arc::new(Tracker::new(cap, metrics.connections_open.clone()));
    info!(max_connections = cap, header_timeout_secs = config.header_timeout.as_secs(), "connection limits");
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .keep_alive(true)
        // Later requests of a kept-alive connection (and the idle time before them); the
        // first one is bounded by `silent_close`.
        .header_read_timeout(config.header_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(256)
        .keep_alive_interval(Some(config.http2_keep_alive))
        .keep_alive_timeout(config.http2_keep_alive);
    let graceful = GracefulShutdown::new();
    let mut errors = AcceptErrors::new();
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stop.changed() => break,
        };
        let (stream, peer) = match accepted {
            Ok(a) => {
                errors.ok();
                a
            }
            Err(e) => {
                metrics.accept_errors.inc();
                if out_of_fds(&e) && tracker.evict_oldest_waiting() {
                    metrics.refused(Refusal::Evicted);
                }
                let wait = errors.failed(&e, tracker.open.load(Ordering::Relaxed));
                tokio::select! {
                    () = tokio::time::sleep(wait) => continue,
                    _ = stop.changed() => break,
                }
            }
        };
        match tracker.admit() {
            Admit::Yes => {}
            Admit::Evicted => {
                metrics.refused(Refusal::Evicted);
                tracker.wait_for_room(EVICT_WAIT).await;
            }
            Admit::No => {
                metrics.refused(Refusal::Cap);
                debug!(%peer, "connection cap reached; closing the new connection");
                drop(stream);
                continue;
            }
        }
        let _ = stream.set_nodelay(true);
        let slot = Arc::new(tracker.register());
        let conn_svc = svc.clone();
        let conn_slot = slot.clone();
        let hyper_svc = service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
            conn_slot.request_started();
            req.extensions_mut().insert(PeerAddr(peer));
            conn_svc.clone().call(req)
        });
        let conn = graceful.watch(builder.serve_connection(TokioIo::new(stream), hyper_svc).into_owned());
        let app = svc.app().clone();
        let deadline = config.header_timeout;
        tokio::spawn(async move {
            tokio::select! {
                r = conn => {
                    if let Err(e) = r {
                        // hyper's own header timer can fire first (it starts once the protocol
                        // is known): the same refusal when no request head came yet.
                        let timed_out = e.downcast_ref::<hyper::Error>().is_some_and(hyper::Error::is_timeout);
                        if timed_out && !slot.started.is_cancelled() {
                            app.metrics.refused(Refusal::Deadline);
                        }
                        debug!(error = %e, %peer, "connection ended with an error");
                    }
                }
                why = silent_close(&slot, deadline) => {
                    // Dropping the connection closes the socket.
                    if let Silent::Deadline = why {
                        app.metrics.refused(Refusal::Deadline);
                    }
                    debug!(%peer, ?why, "closed a connection that sent no request head");
                }
            }
            drop(slot);
        });
    }
    drop(listener);
    let grace = config.shutdown_grace;
    tokio::select! {
        () = graceful.shutdown() => info!("all connections closed"),
        () = tokio::time::sleep(grace) => warn!(?grace, "grace period over; dropping remaining connections"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_leaves_room_for_the_database() {
        assert_eq!(cap_for_nofile(64), 16);
        assert_eq!(cap_for_nofile(256), 192);
        assert_eq!(cap_for_nofile(1024), 896);
        assert_eq!(cap_for_nofile(65_536), 57_344);
        assert_eq!(cap_for_nofile(u64::MAX), 1 << 20);
    }

    #[test]
    fn at_the_cap_the_oldest_silent_connection_makes_room() {
        let t = Arc::new(Tracker::new(2, Gauge::default()));
        let a = t.register();
        let b = t.register();
        assert!(matches!(t.admit(), Admit::Evicted));
        assert!(a.evict.is_cancelled() && !b.evict.is_cancelled(), "the oldest one goes first");
        drop(a);
        let c = t.register();
        b.request_started();
        c.request_started();
        assert!(matches!(t.admit(), Admit::No), "connections that sent a request are never evicted");
        drop(b);
        assert!(matches!(t.admit(), Admit::Yes));
        drop(c);
        assert_eq!(t.open.load(Ordering::Relaxed), 0);
        assert_eq!(t.gauge.get(), 0);
        assert!(t.waiting().is_empty());
    }

    #[test]
    fn accept_errors_back_off_and_log_at_a_bounded_rate() {
        let mut e = AcceptErrors::new();
        let err = std::io::Error::from_raw_os_error(24);
        assert!(out_of_fds(&err));
        let waits: Vec<_> = (0..10).map(|_| e.failed(&err, 0).as_millis()).collect();
        assert_eq!(waits, [10, 20, 40, 80, 160, 320, 640, 1000, 1000, 1000]);
        assert_eq!(e.suppressed, 9, "one line logged, nine counted");
        e.ok();
        assert_eq!(e.failed(&err, 0), ACCEPT_BACKOFF_MIN);
    }
}
