//! The one way to serve: the arguments, the logging setup and the entry point that `chatbot serve`
//! and the `chatbot-server` binary share.
//!
//! ```no_run
//! // The whole `chatbot-server` binary:
//! #[tokio::main]
//! async fn main() -> anyhow::Result<()> {
//!     chatbot_server::cli::main().await
//! }
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;

use chatbot_core::providers::VectorStoreChoice;
use chatbot_core::{Chatbot, Config};
use clap::Parser as _;
use tracing::info;

use crate::{DEFAULT_BIND, ServerConfig, parse_bind};

/// Where the data lives: `--database-url` / `DATABASE_URL` and `--data-dir` / `CHATBOT_DATA_DIR`
/// (global flags of `chatbot`, flags of `chatbot-server`).
#[derive(clap::Args, Debug, Clone)]
pub struct DataArgs {
    /// Database URL (sqlite://path?mode=rwc or postgres://...). Default: SQLite under the data dir.
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Folder for the embedded defaults (SQLite file, local vector index).
    #[arg(long, env = "CHATBOT_DATA_DIR", global = true, default_value = Config::DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,
}

impl DataArgs {
    /// The core's configuration from the environment, with these flags applied: another data dir
    /// moves the SQLite file and the local index with it, unless a database URL is given.
    ///
    /// # Errors
    /// When an environment variable is wrong ([`Config::from_env`]).
    pub fn config(&self) -> anyhow::Result<Config> {
        let mut c = Config::from_env()?;
        if c.data_dir != self.data_dir {
            let fresh = Config::offline(self.data_dir.clone());
            c.data_dir = self.data_dir.clone();
            if let VectorStoreChoice::Local { .. } = c.vector_store {
                c.vector_store = fresh.vector_store;
            }
            c.database_url = fresh.database_url;
        }
        if let Some(url) = &self.database_url {
            c.database_url = url.clone();
        }
        Ok(c)
    }
}

/// The flags of `chatbot serve` and `chatbot-server`. The other server options come from the
/// environment ([`ServerConfig::from_env`]).
#[derive(clap::Args, Debug, Clone)]
pub struct ServeArgs {
    /// Address to listen on (IP:PORT; `localhost:PORT` is 127.0.0.1).
    #[arg(long, env = "CHATBOT_BIND", default_value = DEFAULT_BIND, value_parser = parse_bind)]
    pub bind: SocketAddr,
    /// Seed the demo company 123 if it is missing, then serve.
    #[arg(long)]
    pub demo: bool,
    /// Also keep knowledge fresh: every minute, sync the registered sources (of every company)
    /// whose interval has passed, as `chatbot ingest sync` does. Several instances on one
    /// PostgreSQL database share the work: a lease in the database lets one run a source at a time.
    #[arg(long, env = "CHATBOT_SYNC")]
    pub sync: bool,
}

/// How often `serve --sync` looks for due sources.
pub const SYNC_CHECK_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// The `chatbot-server` command line.
#[derive(clap::Parser, Debug)]
#[command(name = "chatbot-server", version, about = "Serve the chat widget API over HTTP")]
pub struct ServerCli {
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogStyle {
    /// A long-running server: `info` by default, with time and target.
    Server,
    /// A one-shot command: warnings, and the `chatbot` target's info, without time or target.
    Command,
}

/// Install the tracing subscriber on stderr: JSON lines when `CHATBOT_LOG_FORMAT=json`, text
/// otherwise; the level from `RUST_LOG`, else the style's default. Does nothing when one is
/// already installed.
pub fn init_logging(style: LogStyle) {
    use tracing_subscriber::EnvFilter;
    let default = match style {
        LogStyle::Server => "info",
        LogStyle::Command => "warn,chatbot=info",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let json = std::env::var("CHATBOT_LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match (json, style) {
        (true, _) => builder.json().flatten_event(true).try_init(),
        (false, LogStyle::Server) => builder.try_init(),
        (false, LogStyle::Command) => builder.without_time().with_target(false).try_init(),
    };
}

/// Open the bot with `config`, seed the demo company when asked (printing its keys, which are
/// shown once), and serve until Ctrl-C or SIGTERM. Logging is the caller's
/// ([`init_logging`] with [`LogStyle::Server`]).
///
/// # Errors
/// When the components cannot start, the demo cannot be seeded, an environment variable of
/// [`ServerConfig::from_env`] is wrong, or the address cannot be bound.
pub async fn serve(config: Config, args: ServeArgs) -> anyhow::Result<()> {
    let server = ServerConfig::from_env()?.with_bind(args.bind);
    withhold_panic_messages();
    raise_open_files_limit();
    let bot = Chatbot::from_config(config).await?;
    info!(components = %bot.components_info(), "chatbot ready");
    if args.demo {
        let seed = bot.seed_demo().await?;
        if seed.created {
            info!(company = %seed.company_id, chunks = seed.chunks, "demo company seeded");
            println!("created demo company {} with {} knowledge chunks", seed.company_id, seed.chunks);
            if let (Some(pk), Some(sk)) = (&seed.publishable_key, &seed.secret_key) {
                println!("publishable key (widget, shown once): {pk}");
                println!("secret key (settings and admin, shown once): {sk}");
            }
        } else {
            info!(company = %seed.company_id, "demo company already present");
        }
    }
    info!(
        source = crate::WIDGET_SOURCE,
        immutable = %crate::widget_hashed_path(),
        "widget script: /widget.js (also under its content hash, cacheable for a year)"
    );
    if !args.sync {
        return crate::serve(bot, server).await;
    }
    let running = crate::bind(bot.clone(), server).await?;
    info!(
        every_secs = SYNC_CHECK_EVERY.as_secs(),
        "knowledge sync on: due sources are synced in the background"
    );
    let cancel = tokio_util::sync::CancellationToken::new();
    // Polled beside the server on this task (an ingest future is not `Send`); the crawl's
    // fetches and the chunking run on the runtime's threads all the same.
    let schedule = bot.run_sync_schedule(SYNC_CHECK_EVERY, cancel.clone());
    let stop = async {
        crate::shutdown_signal().await;
        info!("shutdown signal received; stopping the knowledge sync, finishing in-flight requests");
        cancel.cancel();
        running.shutdown().await;
    };
    tokio::join!(schedule, stop);
    info!("server stopped");
    Ok(())
}

/// Log panics without their message: a panic's message can quote the input that caused it (a
/// visitor's message, contact details), and visitor text never goes to the logs. The location
/// is logged; the request is answered 500 (or with an SSE `error` event) and counted.
pub fn withhold_panic_messages() {
    std::panic::set_hook(Box::new(|info| {
        let at = info.location().map(|l| format!("{}:{}", l.file(), l.line())).unwrap_or_default();
        tracing::error!(location = %at, "panic (message withheld: it may quote visitor input)");
    }));
}

/// Raise the soft open-files limit to the hard one (a server's connections are file
/// descriptors; the connection cap is derived from this limit).
fn raise_open_files_limit() {
    #[cfg(unix)]
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => info!(open_files_limit = n, "open-files limit"),
        Err(e) => tracing::warn!(error = %e, "could not raise the open-files limit"),
    }
}

/// The `chatbot-server` binary: parse [`ServerCli`], log as a server, [`serve`].
///
/// # Errors
/// As [`serve`], and when the data flags or the environment are wrong.
pub async fn main() -> anyhow::Result<()> {
    let cli = ServerCli::parse();
    init_logging(LogStyle::Server);
    serve(cli.data.config()?, cli.serve).await
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use super::*;

    #[test]
    fn the_command_line_is_well_formed() {
        ServerCli::command().debug_assert();
        let cli = ServerCli::try_parse_from(["chatbot-server", "--bind", "localhost:0", "--demo"]).unwrap();
        assert_eq!(cli.serve.bind, SocketAddr::from(([127, 0, 0, 1], 0)));
        assert!(cli.serve.demo);
        let cli =
            ServerCli::try_parse_from(["chatbot-server", "--bind=127.0.0.1:9", "--data-dir", "d"]).unwrap();
        assert_eq!((cli.serve.bind.port(), cli.data.data_dir), (9, PathBuf::from("d")));
        assert!(ServerCli::try_parse_from(["chatbot-server", "--bind", "nope"]).is_err());
        assert!(ServerCli::try_parse_from(["chatbot-server", "--what"]).is_err());
    }
}
