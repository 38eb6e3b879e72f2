//! `chatbot db ...`: database maintenance.

use clap::Subcommand;
use serde_json::json;

use super::{open, print_json};
use crate::Global;

#[derive(Subcommand, Debug)]
pub(crate) enum DbCommand {
    /// Create or upgrade the tables (safe to run again).
    Migrate,
}

/// # Errors
/// Connection or migration failures.
pub(crate) async fn run(g: &Global, cmd: DbCommand) -> anyhow::Result<()> {
    match cmd {
        DbCommand::Migrate => {
            // Opening migrates.
            let bot = open(g).await?;
            let backend = bot.components_info().store;
            if g.json {
                print_json(&json!({"migrated": true, "backend": backend}))?;
            } else {
                println!("database is up to date ({backend})");
            }
        }
    }
    Ok(())
}
