//! `chatbot serve`: the HTTP server (the documented API and the widget script).
//!
//! A thin adapter with the same shape as the server's own entry point: flags ([`ServeArgs`]),
//! a logging setup ([`init_tracing`]) and `serve(config, args)`. Pointing `chatbot serve` at
//! the `chatbot-server` binary's entry point means replacing those three with the server's.

use std::net::SocketAddr;

use chatbot_core::Config;
use clap::Args;

use super::demo::print_seed;
use crate::Global;

#[derive(Args, Debug)]
pub(crate) struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "CHATBOT_BIND", default_value = "127.0.0.1:8080")]
    bind: SocketAddr,
    /// Seed the demo company 123 if it is missing, then serve.
    #[arg(long)]
    demo: bool,
}

/// Logging for a long-running server: `info` by default (`RUST_LOG` overrides), with time and
/// target, on stderr; `CHATBOT_LOG_FORMAT=json` for JSON lines.
pub(crate) fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if std::env::var("CHATBOT_LOG_FORMAT").is_ok_and(|f| f == "json") {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// # Errors
/// As [`serve`].
pub(crate) async fn run(g: &Global, args: ServeArgs) -> anyhow::Result<()> {
    serve(super::config(g)?, args).await
}

/// Open the bot, seed the demo company when asked (its keys are printed once), and serve until
/// Ctrl-C or SIGTERM; the other server options come from the environment
/// (`chatbot_server::ServerConfig::from_env`).
///
/// # Errors
/// When the components cannot start, the demo cannot be seeded, a server variable is wrong, or
/// the address cannot be bound.
async fn serve(config: Config, args: ServeArgs) -> anyhow::Result<()> {
    let bot = super::connect(config).await?;
    if args.demo {
        let seeded = chatbot_core::demo::seed(&bot).await?;
        if seeded.created {
            print_seed(&seeded);
        }
    }
    tracing::info!("components: {}", bot.components_info());
    let server = chatbot_server::ServerConfig::from_env()?.with_bind(args.bind);
    chatbot_server::serve(bot, server).await
}
