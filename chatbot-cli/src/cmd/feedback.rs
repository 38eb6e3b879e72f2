//! `chatbot feedback ...`: visitors' ratings of the bots' replies.

use chatbot_core::Page;
use clap::Subcommand;

use super::{open, print_json};
use crate::Global;

#[derive(Subcommand, Debug)]
pub(crate) enum FeedbackCommand {
    /// List a company's reply ratings, most recently rated first.
    List {
        company_id: String,
        #[arg(long, default_value_t = Page::DEFAULT_LIMIT)]
        limit: u32,
        #[arg(long, default_value_t = 0)]
        offset: u32,
    },
}

/// # Errors
/// Unknown company, a limit out of range, storage failures.
pub(crate) async fn run(g: &Global, cmd: FeedbackCommand) -> anyhow::Result<()> {
    let bot = open(g).await?;
    match cmd {
        FeedbackCommand::List { company_id, limit, offset } => {
            let ctx = bot.operator_context(&company_id).await?;
            let list = bot.list_feedback(&ctx, Page::new(Some(limit), Some(offset))?).await?;
            if g.json {
                print_json(&list)?;
            } else {
                for f in &list {
                    println!(
                        "{}\t{}\t{}\t{}\t{}\t{}",
                        f.updated_at.to_rfc3339(),
                        f.rating.as_str(),
                        f.session_id,
                        f.message_id,
                        f.comment.as_deref().map_or_else(|| "-".to_string(), one_line),
                        one_line(&f.message),
                    );
                }
            }
        }
    }
    Ok(())
}

/// Visitor-written text on one line of the operator's terminal: line breaks, tabs and any other
/// control character become spaces (a comment could otherwise forge lines or columns), and a
/// long text is cut at 120 characters.
pub(crate) fn one_line(s: &str) -> String {
    let flat: String = s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let mut cut: String = flat.chars().take(120).collect();
    if flat.chars().count() > 120 {
        cut.push('…');
    }
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visitor_text_stays_on_one_line() {
        assert_eq!(one_line("a\nb\tc\r\u{1b}[2J"), "a b c  [2J");
        let long = "x".repeat(200);
        assert_eq!(one_line(&long).chars().count(), 121);
        assert_eq!(one_line("short"), "short");
    }
}
