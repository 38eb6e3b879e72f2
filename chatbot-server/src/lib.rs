//! The HTTP server: the documented API over hyper 1.x, on top of [`chatbot_core::Chatbot`].
//!
//! The server only translates: it maps requests to `Chatbot` calls and core errors to status
//! codes (one JSON error shape, `{"error":{"code","message","field"?}}`), answers CORS per
//! company, streams replies as server-sent events, and exposes health, readiness and Prometheus
//! metrics. It keeps no per-company state of its own: the store decides what may be cached
//! (the SQLite store serves a company's settings from memory only while the database's commit
//! stamp is unchanged), so several instances always see each other's settings writes at once.
//!
//! The routes are listed once, in [`Route`]. Three ways to run them:
//! - [`cli::main`] / [`cli::serve`]: what `chatbot serve` and the `chatbot-server` binary run
//!   (one argument parser, one logging setup);
//! - [`bind`] / [`serve`]: the same server from Rust, on a [`Chatbot`] you built;
//! - [`service`]: the routes as a `tower::Service`, to nest in your own application (axum's
//!   `Router::nest_service`), with the same behaviour.
//!
//! ```no_run
//! # async fn run() -> anyhow::Result<()> {
//! use chatbot_core::{Chatbot, Config};
//! use chatbot_server::ServerConfig;
//! let bot = Chatbot::from_config(Config::from_env()?).await?;
//! let running = chatbot_server::bind(bot, ServerConfig::default()).await?;
//! println!("listening on {}", running.local_addr());
//! running.shutdown().await;
//! # Ok(()) }
//! ```

use std::net::SocketAddr;
use std::time::Duration;

use chatbot_core::Chatbot;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::info;

mod answers;
mod app;
mod assets;
mod body;
pub mod cli;
mod conn;
mod cors;
mod error;
mod feedback;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod handlers;
mod metrics;
mod net;
mod request;
#[cfg(test)]
mod request_props;
mod routes;
mod service;

pub use assets::{WIDGET_HASH, WIDGET_SOURCE, widget_hashed_path};
pub use body::ResponseBody;
pub use net::IpNet;
pub use routes::Route;
pub use service::{ChatService, PeerAddr, service};

/// Default bind address (`CHATBOT_BIND`, `--bind`).
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
/// Largest accepted request body (413 above it).
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

/// Server options.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to listen on (`CHATBOT_BIND`; port 0 picks a free port).
    pub bind: SocketAddr,
    /// Peers whose `X-Forwarded-For` is believed (`CHATBOT_TRUSTED_PROXIES`, IPs or CIDRs).
    pub trusted_proxies: Vec<IpNet>,
    /// Largest accepted request body in bytes (`CHATBOT_MAX_BODY_BYTES`, default 64 KiB).
    pub body_limit: usize,
    /// Time allowed for a non-streaming request (`CHATBOT_REQUEST_TIMEOUT_SECS`, default 60).
    pub request_timeout: Duration,
    /// Time in-flight requests get to finish after SIGTERM / Ctrl-C
    /// (`CHATBOT_SHUTDOWN_GRACE_SECS`, default 30).
    pub shutdown_grace: Duration,
    /// Time a connection gets to send a complete request head, from accept for the first one
    /// and from the previous response for the next ones; then it is closed
    /// (`CHATBOT_HEADER_TIMEOUT_SECS`, default 30).
    pub header_timeout: Duration,
    /// Most client connections open at once (`CHATBOT_MAX_CONNECTIONS`). Default `None`: derived
    /// from the open-files limit, leaving an eighth of it (at least 64) for the database and
    /// the index. At the cap, the oldest connection that has not sent a request yet is closed
    /// to make room; when every connection is in use, the new one is accepted and closed.
    pub max_connections: Option<usize>,
    /// HTTP/2 keep-alive: a ping after this long without frames, and the connection is closed
    /// when the ping is not answered within as long again (`CHATBOT_HTTP2_KEEPALIVE_SECS`,
    /// default 20).
    pub http2_keep_alive: Duration,
    /// Bearer token `/metrics` requires (`CHATBOT_METRICS_TOKEN`). `None`: public.
    pub metrics_token: Option<String>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            trusted_proxies: Vec::new(),
            body_limit: DEFAULT_BODY_LIMIT,
            request_timeout: Duration::from_secs(60),
            shutdown_grace: Duration::from_secs(30),
            header_timeout: Duration::from_secs(30),
            max_connections: None,
            http2_keep_alive: Duration::from_secs(20),
            metrics_token: None,
        }
    }
}

impl ServerConfig {
    /// Read `CHATBOT_BIND`, `CHATBOT_TRUSTED_PROXIES`, `CHATBOT_MAX_BODY_BYTES`,
    /// `CHATBOT_REQUEST_TIMEOUT_SECS`, `CHATBOT_SHUTDOWN_GRACE_SECS`,
    /// `CHATBOT_HEADER_TIMEOUT_SECS`, `CHATBOT_MAX_CONNECTIONS`, `CHATBOT_HTTP2_KEEPALIVE_SECS`
    /// and `CHATBOT_METRICS_TOKEN`.
    ///
    /// # Errors
    /// When a variable is set but cannot be parsed (the message names it).
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_lookup(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
    }

    /// Like [`ServerConfig::from_env`] with any lookup (tests).
    ///
    /// # Errors
    /// When a variable is set but cannot be parsed (the message names it).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let mut c = Self::default();
        if let Some(b) = get("CHATBOT_BIND") {
            c.bind = parse_bind(&b).map_err(|e| anyhow::anyhow!("CHATBOT_BIND: {e}"))?;
        }
        if let Some(p) = get("CHATBOT_TRUSTED_PROXIES") {
            c.trusted_proxies = chatbot_core::guard::parse_trusted_proxies(&p)
                .map_err(|e| anyhow::anyhow!("CHATBOT_TRUSTED_PROXIES: {e}"))?;
        }
        if let Some(v) = get("CHATBOT_MAX_BODY_BYTES") {
            c.body_limit =
                v.trim().parse().map_err(|_| anyhow::anyhow!("CHATBOT_MAX_BODY_BYTES: not a number: {v}"))?;
        }
        if let Some(v) = get("CHATBOT_REQUEST_TIMEOUT_SECS") {
            c.request_timeout = Duration::from_secs(
                v.trim()
                    .parse()
                    .map_err(|_| anyhow::anyhow!("CHATBOT_REQUEST_TIMEOUT_SECS: not a number: {v}"))?,
            );
        }
        if let Some(v) = get("CHATBOT_SHUTDOWN_GRACE_SECS") {
            c.shutdown_grace = Duration::from_secs(
                v.trim()
                    .parse()
                    .map_err(|_| anyhow::anyhow!("CHATBOT_SHUTDOWN_GRACE_SECS: not a number: {v}"))?,
            );
        }
        if let Some(v) = get("CHATBOT_HEADER_TIMEOUT_SECS") {
            c.header_timeout = Duration::from_secs(positive(&v, "CHATBOT_HEADER_TIMEOUT_SECS")?);
        }
        if let Some(v) = get("CHATBOT_MAX_CONNECTIONS") {
            c.max_connections = Some(usize::try_from(positive(&v, "CHATBOT_MAX_CONNECTIONS")?)?);
        }
        if let Some(v) = get("CHATBOT_HTTP2_KEEPALIVE_SECS") {
            c.http2_keep_alive = Duration::from_secs(positive(&v, "CHATBOT_HTTP2_KEEPALIVE_SECS")?);
        }
        c.metrics_token = get("CHATBOT_METRICS_TOKEN").map(|t| t.trim().to_string());
        Ok(c)
    }

    /// The same options with another bind address.
    #[must_use]
    pub fn with_bind(mut self, bind: SocketAddr) -> Self {
        self.bind = bind;
        self
    }
}

/// A whole number above 0.
fn positive(v: &str, name: &str) -> anyhow::Result<u64> {
    v.trim()
        .parse::<u64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| anyhow::anyhow!("{name}: expected a whole number above 0, got {v:?}"))
}

/// Parse `host:port` (`localhost` is accepted as 127.0.0.1).
///
/// # Errors
/// When the address is not `ip:port`.
pub fn parse_bind(s: &str) -> anyhow::Result<SocketAddr> {
    let s = s.trim();
    let s2 = s.strip_prefix("localhost:").map(|p| format!("127.0.0.1:{p}"));
    s2.as_deref()
        .unwrap_or(s)
        .parse()
        .map_err(|_| anyhow::anyhow!("expected IP:PORT (e.g. 127.0.0.1:8080), got {s:?}"))
}

/// A server accepting connections in the background.
pub struct RunningServer {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl RunningServer {
    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stop accepting, let in-flight requests (and streams) finish within the grace period,
    /// and return when every connection is closed.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }

    /// Run until Ctrl-C or SIGTERM, then shut down gracefully.
    pub async fn run_until_signal(self) {
        shutdown_signal().await;
        info!("shutdown signal received; finishing in-flight requests");
        self.shutdown().await;
    }
}

/// Bind and start serving in the background.
///
/// # Errors
/// When the address cannot be bound.
pub async fn bind(bot: Chatbot, config: ServerConfig) -> anyhow::Result<RunningServer> {
    let listener = TcpListener::bind(config.bind)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.bind))?;
    let addr = listener.local_addr()?;
    let (stop, stop_rx) = watch::channel(false);
    // Ready leads whose webhook another (crashed) instance never sent are sent by a live one.
    bot.start_webhook_recovery();
    let svc = service(bot, config.clone());
    let task = tokio::spawn(conn::accept_loop(listener, svc, config, stop_rx));
    info!(%addr, "listening");
    Ok(RunningServer { addr, stop, task })
}

/// Serve until Ctrl-C or SIGTERM; in-flight replies finish before it returns.
///
/// # Errors
/// When the address cannot be bound.
pub async fn serve(bot: Chatbot, config: ServerConfig) -> anyhow::Result<()> {
    let running = bind(bot, config).await?;
    running.run_until_signal().await;
    info!("server stopped");
    Ok(())
}

pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
