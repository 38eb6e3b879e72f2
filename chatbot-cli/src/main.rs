//! `chatbot`: the operator command line. Each command maps its arguments to one `Chatbot` call
//! and the core's errors to a one-line message and a non-zero exit code. The command groups
//! live in [`cmd`], one file each.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

mod cmd;

use cmd::{chat, company, db, demo, ingest, keys, leads, search, serve, settings};

/// Operate multi-tenant chat widgets: companies, keys, settings, knowledge, chat, leads, server.
#[derive(Parser, Debug)]
#[command(name = "chatbot", version, about, propagate_version = true)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

/// Flags every command takes.
#[derive(Args, Debug, Clone)]
pub(crate) struct Global {
    /// Database URL (sqlite://path?mode=rwc or postgres://...). Default: SQLite under the data dir.
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub(crate) database_url: Option<String>,
    /// Folder for the embedded defaults (SQLite file, local vector index).
    #[arg(long, env = "CHATBOT_DATA_DIR", global = true, default_value = "chatbot-data")]
    pub(crate) data_dir: PathBuf,
    /// Print data as JSON.
    #[arg(long, global = true)]
    pub(crate) json: bool,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Database maintenance.
    #[command(subcommand)]
    Db(db::DbCommand),
    /// Manage companies (tenants).
    #[command(subcommand)]
    Company(company::CompanyCommand),
    /// Manage API keys (publishable pk_... for the widget, secret sk_... for settings and admin).
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Read and change a company's widget settings.
    #[command(subcommand)]
    Settings(settings::SettingsCommand),
    /// The demo company `123`.
    #[command(subcommand)]
    Demo(demo::DemoCommand),
    /// Ingest a website or files into a company's knowledge.
    #[command(subcommand)]
    Ingest(ingest::IngestCommand),
    /// Search a company's knowledge.
    Search(search::SearchArgs),
    /// Chat with a company's bot in the terminal (streams the reply).
    Chat(chat::ChatArgs),
    /// Leads collected by the bots.
    #[command(subcommand)]
    Leads(leads::LeadsCommand),
    /// Start the HTTP server (the documented API and the widget script).
    Serve(serve::ServeArgs),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(_) => serve::init_tracing(),
        _ => init_tracing(),
    }
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let code = exit_code(&e);
            eprintln!("error: {}", one_line(&e));
            ExitCode::from(code)
        }
    }
}

/// Logging for the operator commands: warnings, plus the CLI's own progress lines, on stderr
/// without timestamps (`RUST_LOG` overrides; `CHATBOT_LOG_FORMAT=json` for JSON lines).
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,chatbot=info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if std::env::var("CHATBOT_LOG_FORMAT").is_ok_and(|f| f == "json") {
        builder.json().init();
    } else {
        builder.without_time().with_target(false).init();
    }
}

/// Exit codes: 2 bad input, 3 not found, 4 not allowed, 5 conflict, 1 anything else.
fn exit_code(e: &anyhow::Error) -> u8 {
    use chatbot_core::Error as E;
    match e.downcast_ref::<E>() {
        Some(E::Invalid { .. } | E::Malformed(_)) => 2,
        Some(E::NotFound { .. }) => 3,
        Some(E::Unauthorized(_) | E::Forbidden(_)) => 4,
        Some(E::Conflict(_)) => 5,
        _ => 1,
    }
}

/// An error and its causes on one line (scripts read stderr line by line).
pub(crate) fn one_line(e: &anyhow::Error) -> String {
    format!("{e:#}").replace('\n', " ")
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let g = cli.global;
    match cli.command {
        Command::Db(cmd) => db::run(&g, cmd).await,
        Command::Company(cmd) => company::run(&g, cmd).await,
        Command::Keys(cmd) => keys::run(&g, cmd).await,
        Command::Settings(cmd) => settings::run(&g, cmd).await,
        Command::Demo(cmd) => demo::run(&g, cmd).await,
        Command::Ingest(cmd) => ingest::run(&g, cmd).await,
        Command::Search(args) => search::run(&g, args).await,
        Command::Chat(args) => chat::run(&g, args).await,
        Command::Leads(cmd) => leads::run(&g, cmd).await,
        Command::Serve(args) => serve::run(&g, args).await,
    }
}
