//! `chatbot eval`: retrieval quality of a company's knowledge on a file of questions
//! (hit@k, recall@k, MRR@10; the format and the metrics are `chatbot_core::rag::eval`'s).

use std::collections::BTreeMap;
use std::io::IsTerminal as _;
use std::path::PathBuf;

use anyhow::Context as _;
use chatbot_core::rag::eval::{EvalReport, QaItem, Scorer, parse_qa, search_depth};
use chatbot_core::{AnsweredBy, ChatInput, ClientInfo};
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use super::{open, print_json};
use crate::Global;

#[derive(Args, Debug)]
pub(crate) struct EvalArgs {
    /// Company id.
    company_id: String,
    /// Questions file, JSON Lines: {"query": "...", "relevant": ["source or text", ...]} per line.
    #[arg(long)]
    qa: PathBuf,
    /// Cut-off of hit@k and recall@k (MRR is always @10).
    #[arg(long, default_value_t = 5)]
    top_k: usize,
    /// Also send each question as a chat turn (a new terminal session each) and report the
    /// shares answered by the model, the fallback and a refusal.
    #[arg(long)]
    answers: bool,
}

/// What `--json` prints: the metrics, and with `--answers` the shares of `answered_by`.
#[derive(Serialize)]
struct Output {
    #[serde(flatten)]
    report: EvalReport,
    #[serde(skip_serializing_if = "Option::is_none")]
    answered_by: Option<BTreeMap<&'static str, f64>>,
}

/// # Errors
/// Unreadable or malformed questions file (the line is named), bad `--top-k`, unknown company,
/// search or chat failures (the question is named).
pub(crate) async fn run(g: &Global, args: EvalArgs) -> anyhow::Result<()> {
    let EvalArgs { company_id, qa, top_k, answers } = args;
    let depth = search_depth(top_k)?;
    let mut scorer = Scorer::new(top_k)?;
    let path = qa.clone();
    let items: Vec<QaItem> = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let file = std::fs::File::open(&path).with_context(|| format!("reading {}", path.display()))?;
        Ok(parse_qa(std::io::BufReader::new(file))?)
    })
    .await??;

    let bot = open(g).await?;
    let ctx = if answers {
        bot.active_operator_context(&company_id).await?
    } else {
        bot.operator_context(&company_id).await?
    };
    let bar = progress(g.json, items.len());
    let mut counts: BTreeMap<&'static str, usize> = AnsweredBy::ALL.iter().map(|a| (a.as_str(), 0)).collect();
    for (i, item) in items.iter().enumerate() {
        let name = || format!("question {} ({:?})", i + 1, short(&item.query));
        let hits = bot.knowledge(&ctx).search(&item.query, depth).await.with_context(name)?;
        scorer.add(&item.relevant, hits.iter().map(|h| (h.source.as_str(), h.text.as_str())));
        if answers {
            // The same calls as `chatbot chat --message`: a new session, one turn.
            let info = bot
                .open_session(&ctx, Some("terminal".into()), None, ClientInfo::default())
                .await
                .with_context(name)?;
            let input = ChatInput {
                session_id: info.session_id,
                message: item.query.clone(),
                client: ClientInfo::default(),
            };
            let reply = bot.chat(&ctx, input).await.with_context(name)?;
            *counts.entry(reply.answered_by.as_str()).or_default() += 1;
        }
        bar.inc(1);
    }
    bar.finish_and_clear();

    let report = scorer.report();
    let n = report.queries.max(1) as f64;
    let answered_by = answers.then(|| counts.iter().map(|(k, c)| (*k, *c as f64 / n)).collect());
    if g.json {
        return print_json(&Output { report, answered_by });
    }
    let k = report.k;
    println!("{:<12} {}", "questions", report.queries);
    println!("{:<12} {:.4}", format!("hit@{k}"), report.hit_at_k);
    println!("{:<12} {:.4}", format!("recall@{k}"), report.recall_at_k);
    println!("{:<12} {:.4}", "MRR@10", report.mrr_at_10);
    if let Some(shares) = answered_by {
        for (label, share) in shares {
            println!("{:<12} {share:.4}", format!("by {label}"));
        }
    }
    Ok(())
}

/// A progress bar on a terminal (hidden with `--json` or when stderr is not a terminal).
fn progress(json: bool, len: usize) -> ProgressBar {
    if json || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len as u64), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{prefix:>12} {bar:30} {pos}/{len}") {
        bar.set_style(style);
    }
    bar.set_prefix("questions");
    bar
}

/// The first 60 characters of a question, for error messages.
fn short(q: &str) -> String {
    let mut s: String = q.chars().take(60).collect();
    if s.len() < q.len() {
        s.push('…');
    }
    s
}
