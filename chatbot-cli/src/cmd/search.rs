//! `chatbot search`: search a company's knowledge.

use clap::Args;
use serde_json::json;

use super::{open, print_json};
use crate::Global;

#[derive(Args, Debug)]
pub(crate) struct SearchArgs {
    /// Company id.
    company_id: String,
    /// What to look for.
    query: String,
    /// How many results.
    #[arg(long, default_value_t = 5)]
    top_k: usize,
}

/// # Errors
/// Unknown company, empty query, bad `--top-k`, embedder or vector store failures.
pub(crate) async fn run(g: &Global, args: SearchArgs) -> anyhow::Result<()> {
    let SearchArgs { company_id, query, top_k } = args;
    let bot = open(g).await?;
    let ctx = bot.operator_context(&company_id).await?;
    let hits = bot.knowledge(&ctx).search(&query, top_k).await?;
    if g.json {
        let results: Vec<_> = hits
            .iter()
            .map(|h| {
                json!({
                    "score": h.score,
                    "lexical_score": h.lexical_score,
                    "dense_score": h.dense_score,
                    "source": h.source,
                    "title": h.title,
                    "text": h.text,
                })
            })
            .collect();
        print_json(&json!({ "results": results }))?;
    } else if hits.is_empty() {
        println!("no matches in {company_id}'s knowledge");
    } else {
        for (i, h) in hits.iter().enumerate() {
            println!("{}. [{:.3}] {}", i + 1, h.score, h.source);
            println!("   {}\n", h.text.replace('\n', " "));
        }
    }
    Ok(())
}
