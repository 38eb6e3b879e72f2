//! The command groups, one file each: each turns its arguments into `Chatbot` calls and prints
//! the result (text, or JSON with `--json`). Errors go back to `main`, which maps them to a
//! one-line message and an exit code.

use std::io::Write as _;

use chatbot_core::{Chatbot, Config};

use crate::Global;

pub(crate) mod chat;
pub(crate) mod company;
pub(crate) mod db;
pub(crate) mod demo;
pub(crate) mod ingest;
pub(crate) mod keys;
pub(crate) mod leads;
pub(crate) mod search;
pub(crate) mod serve;
pub(crate) mod settings;

/// The configuration from the environment, with the global flags applied: `--data-dir` moves
/// the embedded defaults (SQLite file, local index) there, `--database-url` wins over both.
fn config(g: &Global) -> anyhow::Result<Config> {
    let mut c = Config::from_env()?;
    if c.data_dir != g.data_dir {
        let fresh = Config::offline(g.data_dir.clone());
        c.data_dir = g.data_dir.clone();
        if let chatbot_core::config::VectorStoreChoice::Local { .. } = c.vector_store {
            c.vector_store = fresh.vector_store;
        }
        c.database_url = fresh.database_url;
    }
    if let Some(url) = &g.database_url {
        c.database_url = url.clone();
    }
    Ok(c)
}

/// Open the chatbot the global flags and the environment name (the database is migrated).
pub(crate) async fn open(g: &Global) -> anyhow::Result<Chatbot> {
    connect(config(g)?).await
}

/// Open the chatbot `config` names (the database is migrated).
async fn connect(config: Config) -> anyhow::Result<Chatbot> {
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
