//! `chatbot`: the operator command line. Each command maps its arguments to one `Chatbot` call
//! and the core's errors to a one-line message and a non-zero exit code. The command groups
//! live in [`cmd`], one file each.

use std::process::ExitCode;

use chatbot_server::cli::{DataArgs, LogStyle, init_logging};
use clap::{Args, Parser, Subcommand};

mod cmd;

use cmd::{
    answers, chat, company, db, demo, eval, feedback, gaps, ingest, keys, leads, search, serve, settings,
};

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
    /// `--database-url` and `--data-dir`, as `chatbot-server` takes them.
    #[command(flatten)]
    pub(crate) data: DataArgs,
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
    /// Measure retrieval on a file of questions (hit@k, recall@k, MRR@10).
    Eval(eval::EvalArgs),
    /// Chat with a company's bot in the terminal (streams the reply).
    Chat(chat::ChatArgs),
    /// Leads collected by the bots.
    #[command(subcommand)]
    Leads(leads::LeadsCommand),
    /// Visitors' ratings of the bots' replies.
    #[command(subcommand)]
    Feedback(feedback::FeedbackCommand),
    /// Curated answers: your own answer to a question, given instead of the model's.
    #[command(subcommand)]
    Answers(answers::AnswersCommand),
    /// The questions the bot handled badly, grouped by meaning (the gap report).
    Gaps(gaps::GapsArgs),
    /// Start the HTTP server (the documented API and the widget script).
    Serve(serve::ServeArgs),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // One logging setup with the server: as a server for `serve`, terse for the rest.
    init_logging(if matches!(cli.command, Command::Serve(_)) { LogStyle::Server } else { LogStyle::Command });
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let code = exit_code(&e);
            eprintln!("error: {}", one_line(&e));
            ExitCode::from(code)
        }
    }
}

/// Exit codes: 2 bad input, 3 not found, 4 not allowed, 5 conflict, 1 anything else.
fn exit_code(e: &anyhow::Error) -> u8 {
    use chatbot_core::Error as E;
    match e.downcast_ref::<E>() {
        Some(E::Invalid { .. } | E::Malformed(_)) => 2,
        Some(E::NotFound { .. }) => 3,
        Some(E::Unauthorized(_) | E::Forbidden(_) | E::OriginNotAllowed(_)) => 4,
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
        Command::Eval(args) => eval::run(&g, args).await,
        Command::Chat(args) => chat::run(&g, args).await,
        Command::Leads(cmd) => leads::run(&g, cmd).await,
        Command::Feedback(cmd) => feedback::run(&g, cmd).await,
        Command::Answers(cmd) => answers::run(&g, cmd).await,
        Command::Gaps(args) => gaps::run(&g, args).await,
        Command::Serve(args) => serve::run(&g, args).await,
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use super::*;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
        let parsed = Cli::try_parse_from(["chatbot", "serve", "--bind", "127.0.0.1:9", "--data-dir", "d"]);
        assert!(
            matches!(&parsed, Ok(Cli { command: Command::Serve(s), global }) if s.bind.port() == 9 && global.data.data_dir.as_os_str() == "d"),
            "{parsed:?}"
        );
    }
}
