//! `chatbot gaps <ID>`: the questions the bot handled badly, grouped by meaning.

use chatbot_core::GapReport;
use clap::Args;

use super::feedback::one_line;
use super::{open, print_json};
use crate::Global;

#[derive(Args, Debug)]
pub(crate) struct GapsArgs {
    company_id: String,
    /// The window: `7d`, `24h`, `30m`, or an RFC 3339 date or date-time.
    #[arg(long, default_value = GapReport::DEFAULT_SINCE)]
    since: String,
    /// The most groups listed (largest first; at most 500).
    #[arg(long, default_value_t = 50)]
    limit: u32,
    /// Answer this group of the report (its ID) with a curated answer: `--answer` is the text,
    /// the group's questions become the curated questions.
    #[arg(long, requires = "answer")]
    answer_group: Option<u32>,
    /// The curated answer's text (with `--answer-group`).
    #[arg(long, requires = "answer_group")]
    answer: Option<String>,
    /// The curated answer's source URL (with `--answer-group`).
    #[arg(long, requires = "answer_group")]
    source: Option<String>,
}

/// # Errors
/// A bad `--since`, an unknown company, storage or embedder failures.
pub(crate) async fn run(g: &Global, args: GapsArgs) -> anyhow::Result<()> {
    let since = GapReport::parse_since(&args.since)?;
    let bot = open(g).await?;
    let ctx = bot.operator_context(&args.company_id).await?;
    if let (Some(group), Some(answer)) = (args.answer_group, args.answer) {
        let added = bot.answer_gap_group(&ctx, since, group, answer, args.source).await?;
        if g.json {
            print_json(&added)?;
        } else {
            println!(
                "curated answer {} added for gap group {group} ({} questions)",
                added.id,
                added.questions.len()
            );
        }
        return Ok(());
    }
    let report = bot.gaps(&ctx, since, args.limit).await?;
    if g.json {
        print_json(&report)?;
    } else {
        print!("{}", table(&report));
    }
    Ok(())
}

/// The report as a table: one row per group, its example questions below it.
fn table(r: &GapReport) -> String {
    let mut out = format!(
        "Gaps of company {} since {} ({} grouping): {} turns, {} gaps, {} groups\n",
        r.company_id,
        r.since.format("%Y-%m-%d %H:%M UTC"),
        r.grouping,
        r.turns,
        r.gaps,
        r.groups.len()
    );
    if r.groups.is_empty() {
        out.push_str("No gaps in this window.\n");
        return out;
    }
    out.push_str(&format!(
        "{:>4}  {:>5}  {:<16}  {:<40}  {}\n",
        "ID", "COUNT", "LAST SEEN", "REASONS", "BEST SOURCE"
    ));
    for grp in &r.groups {
        let reasons: Vec<&str> = grp.reasons.iter().map(|k| k.as_str()).collect();
        let source = grp
            .best_source
            .as_ref()
            .map_or_else(|| "-".to_string(), |s| format!("{} ({:.2})", one_line(&s.source), s.score));
        out.push_str(&format!(
            "{:>4}  {:>5}  {:<16}  {:<40}  {}\n",
            grp.id,
            grp.count,
            grp.last_seen.format("%Y-%m-%d %H:%M"),
            reasons.join(","),
            source
        ));
        for q in &grp.examples {
            out.push_str(&format!("{:>13}- {}\n", "", one_line(q)));
        }
    }
    out
}
