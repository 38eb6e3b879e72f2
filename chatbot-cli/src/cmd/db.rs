//! `chatbot db ...`: database maintenance.

use clap::Subcommand;
use serde_json::json;

use super::{open, print_json};
use crate::Global;

#[derive(Subcommand, Debug)]
pub(crate) enum DbCommand {
    /// Create or upgrade the tables (safe to run again).
    Migrate,
    /// Delete expired visitor sessions (the server also does this every 10 minutes while
    /// sessions are opened; conversations and leads stay).
    PurgeSessions,
    /// Delete turn records older than each company's `ai_config.turn_retention_days` (the
    /// server also does this hourly while chat turns are recorded).
    PurgeTurns,
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
        DbCommand::PurgeSessions => {
            let bot = open(g).await?;
            let n = bot.purge_expired_sessions().await?;
            if g.json {
                print_json(&json!({"purged_sessions": n}))?;
            } else {
                println!("purged {n} expired sessions");
            }
        }
        DbCommand::PurgeTurns => {
            let bot = open(g).await?;
            let n = bot.purge_old_turns().await?;
            if g.json {
                print_json(&json!({"purged_turns": n}))?;
            } else {
                println!("purged {n} old turn records");
            }
        }
    }
    Ok(())
}
