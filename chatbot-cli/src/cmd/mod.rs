//! The command groups, one file each: each turns its arguments into `Chatbot` calls and prints
//! the result (text, or JSON with `--json`). Errors go back to `main`, which maps them to a
//! one-line message and an exit code.

use std::io::Write as _;

use chatbot_core::Chatbot;

use crate::Global;

pub(crate) mod answers;
pub(crate) mod chat;
pub(crate) mod company;
pub(crate) mod db;
pub(crate) mod demo;
pub(crate) mod eval;
pub(crate) mod feedback;
pub(crate) mod gaps;
pub(crate) mod ingest;
pub(crate) mod keys;
pub(crate) mod leads;
pub(crate) mod search;
pub(crate) mod serve;
pub(crate) mod settings;

/// Open the chatbot the global flags and the environment name (the database is migrated).
pub(crate) async fn open(g: &Global) -> anyhow::Result<Chatbot> {
    open_with(g.data.config()?).await
}

/// [`open`] with a configuration a command adjusted.
pub(crate) async fn open_with(config: chatbot_core::Config) -> anyhow::Result<Chatbot> {
    let bot = Chatbot::from_config(config).await?;
    tracing::debug!(target: "chatbot", "components: {}", bot.components_info());
    Ok(bot)
}

/// `v` as pretty JSON on stdout.
pub(crate) fn print_json(v: &impl serde::Serialize) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, v)?;
    writeln!(out)?;
    Ok(())
}
