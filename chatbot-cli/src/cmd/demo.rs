//! `chatbot demo ...`: the demo company `123`.

use chatbot_core::DemoSeed;
use clap::Subcommand;

use super::{open, print_json};
use crate::Global;

#[derive(Subcommand, Debug)]
pub(crate) enum DemoCommand {
    /// Create company 123 with settings, keys and a small knowledge base (harmless to repeat).
    Seed,
}

/// # Errors
/// Storage, embedder or vector store failures.
pub(crate) async fn run(g: &Global, cmd: DemoCommand) -> anyhow::Result<()> {
    match cmd {
        DemoCommand::Seed => {
            let bot = open(g).await?;
            let seeded = bot.seed_demo().await?;
            if g.json {
                print_json(&seeded)?;
            } else {
                print_seed(&seeded);
            }
        }
    }
    Ok(())
}

/// What seeding did; the keys only when it created them (they are shown once).
fn print_seed(s: &DemoSeed) {
    if s.created {
        println!("created demo company {} with {} knowledge chunks", s.company_id, s.chunks);
        if let (Some(pk), Some(sk)) = (&s.publishable_key, &s.secret_key) {
            println!("publishable key (widget, shown once): {pk}");
            println!("secret key (settings and admin, shown once): {sk}");
        }
    } else {
        println!(
            "demo company {} already exists; knowledge refreshed ({} chunks). Create keys with `chatbot keys create {} --kind publishable`.",
            s.company_id, s.chunks, s.company_id
        );
    }
}
