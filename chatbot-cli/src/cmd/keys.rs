//! `chatbot keys ...`: API keys (publishable for the widget, secret for settings and admin) and
//! identity secrets (an integrator's backend signs its users' ids for partner chat).

use chatbot_core::auth::KeyKind;
use clap::Subcommand;
use serde_json::json;

use super::{open, print_json};
use crate::Global;

#[derive(Subcommand, Debug)]
pub(crate) enum KeysCommand {
    /// Create a key; it is printed once. API keys are stored only hashed; an identity secret
    /// (at most two active per company, for rotation) is kept to verify signatures.
    Create {
        company_id: String,
        #[arg(long, value_parser = ["publishable", "secret", "identity"])]
        kind: String,
    },
    /// List a company's keys (prefixes only).
    List { company_id: String },
    /// Revoke a key or identity secret by its id (key_...).
    Revoke { key_id: String },
}

/// # Errors
/// Unknown company or key id, storage failures.
pub(crate) async fn run(g: &Global, cmd: KeysCommand) -> anyhow::Result<()> {
    let bot = open(g).await?;
    match cmd {
        KeysCommand::Create { company_id, kind } => {
            let ctx = bot.operator_context(&company_id).await?;
            let issued = bot.create_key(&ctx, KeyKind::parse(&kind)?).await?;
            if g.json {
                print_json(
                    &json!({"key": issued.token, "key_id": issued.record.key_id, "kind": kind, "company_id": company_id}),
                )?;
            } else {
                // The key alone on stdout, for scripts; the note on stderr.
                println!("{}", issued.token);
                eprintln!(
                    "key id {} ({kind}, company {company_id}): store the key now, it is not shown again",
                    issued.record.key_id
                );
            }
        }
        KeysCommand::List { company_id } => {
            let ctx = bot.operator_context(&company_id).await?;
            let list = bot.list_keys(&ctx).await?;
            if g.json {
                print_json(&list)?;
            } else {
                for k in list {
                    let state = if k.is_active() { "active" } else { "revoked" };
                    let used = k
                        .last_used_at
                        .map_or("never used".into(), |t| format!("last used {}", t.to_rfc3339()));
                    println!("{}\t{}\t{}…\t{}\t{}", k.key_id, k.kind.as_str(), k.prefix, state, used);
                }
            }
        }
        KeysCommand::Revoke { key_id } => {
            bot.revoke_key(&key_id).await?;
            println!("revoked {key_id}");
        }
    }
    Ok(())
}
