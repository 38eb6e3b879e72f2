//! `chatbot answers ...`: curated answers, given instead of a model's answer when a visitor's
//! question matches one of their questions by meaning.

use std::io::{Read as _, Write as _};
use std::path::PathBuf;

use anyhow::Context as _;
use chatbot_core::{Answers, CuratedAnswer, CuratedInput, CuratedPatch};
use clap::Subcommand;

use super::{open, print_json};
use crate::Global;

#[derive(Subcommand, Debug)]
pub(crate) enum AnswersCommand {
    /// Add a curated answer to one or more questions.
    Add {
        company_id: String,
        /// A question it answers (repeat for more, up to 20).
        #[arg(long = "question", required = true)]
        questions: Vec<String>,
        /// The answer given, as written.
        #[arg(long)]
        answer: String,
        /// An http(s) URL shown as the reply's source.
        #[arg(long)]
        source: Option<String>,
    },
    /// List a company's curated answers with their hits, oldest first.
    List { company_id: String },
    /// Change a curated answer (what is not given stays).
    Update {
        company_id: String,
        answer_id: String,
        /// Replace the questions (repeat for more).
        #[arg(long = "question")]
        questions: Vec<String>,
        #[arg(long)]
        answer: Option<String>,
        #[arg(long, conflicts_with = "no_source")]
        source: Option<String>,
        /// Remove the source.
        #[arg(long)]
        no_source: bool,
    },
    /// Remove a curated answer.
    Remove { company_id: String, answer_id: String },
    /// Import curated answers from JSON Lines, one {"questions": [...], "answer": "...",
    /// "source": "..."} per line; all or nothing: any bad line (reported by number) imports none.
    Import {
        company_id: String,
        /// The file (`-`: standard input).
        file: PathBuf,
    },
    /// Export curated answers as JSON Lines (what `import` reads).
    Export {
        company_id: String,
        /// The file (`-`: standard output).
        file: PathBuf,
    },
    /// Show which curated answer a question would get, and how close it is.
    Test {
        company_id: String,
        #[arg(long)]
        question: String,
    },
}

/// # Errors
/// Unknown company or answer, invalid input (exit code 2, naming the field or the bad lines),
/// the answer limit, file and storage failures.
pub(crate) async fn run(g: &Global, cmd: AnswersCommand) -> anyhow::Result<()> {
    let bot = open(g).await?;
    match cmd {
        AnswersCommand::Add { company_id, questions, answer, source } => {
            let ctx = bot.operator_context(&company_id).await?;
            let a = bot.answers(&ctx).add(CuratedInput { questions, answer, source }).await?;
            if g.json {
                print_json(&a)?;
            } else {
                println!("added curated answer {} ({} question(s))", a.id, a.questions.len());
            }
        }
        AnswersCommand::List { company_id } => {
            let ctx = bot.operator_context(&company_id).await?;
            let list = bot.answers(&ctx).list().await?;
            if g.json {
                print_json(&list)?;
            } else {
                for a in &list {
                    print_row(a);
                }
            }
        }
        AnswersCommand::Update { company_id, answer_id, questions, answer, source, no_source } => {
            let ctx = bot.operator_context(&company_id).await?;
            let patch = CuratedPatch {
                questions: (!questions.is_empty()).then_some(questions),
                answer,
                source: if no_source { Some(None) } else { source.map(Some) },
            };
            anyhow::ensure!(
                !patch.is_empty(),
                "nothing to change: give --question, --answer, --source or --no-source"
            );
            let a = bot.answers(&ctx).update(&answer_id, patch).await?;
            if g.json {
                print_json(&a)?;
            } else {
                println!("updated curated answer {}", a.id);
            }
        }
        AnswersCommand::Remove { company_id, answer_id } => {
            let ctx = bot.operator_context(&company_id).await?;
            bot.answers(&ctx).remove(&answer_id).await?;
            if g.json {
                print_json(&serde_json::json!({"removed": answer_id}))?;
            } else {
                println!("removed curated answer {answer_id}");
            }
        }
        AnswersCommand::Import { company_id, file } => {
            let ctx = bot.operator_context(&company_id).await?;
            let text = read_input(&file)?;
            let added = bot.answers(&ctx).import_jsonl(&text).await?;
            if g.json {
                print_json(&added)?;
            } else {
                println!("imported {} curated answer(s) from {}", added.len(), file.display());
            }
        }
        AnswersCommand::Export { company_id, file } => {
            let ctx = bot.operator_context(&company_id).await?;
            let text = bot.answers(&ctx).export_jsonl().await?;
            let n = text.lines().count();
            if file.as_os_str() == "-" {
                std::io::stdout().lock().write_all(text.as_bytes())?;
            } else {
                std::fs::write(&file, text).with_context(|| format!("writing {}", file.display()))?;
                if g.json {
                    print_json(&serde_json::json!({"exported": n, "file": file.display().to_string()}))?;
                } else {
                    println!("exported {n} curated answer(s) to {}", file.display());
                }
            }
        }
        AnswersCommand::Test { company_id, question } => {
            let ctx = bot.operator_context(&company_id).await?;
            let m = bot.answers(&ctx).test(&question).await?;
            let threshold = ctx.company().ai_config.curated_threshold();
            if g.json {
                print_json(&serde_json::json!({"threshold": threshold, "best": m}))?;
            } else {
                match m {
                    None => println!("no curated answers"),
                    Some(m) => println!(
                        "{} {:.3} (threshold {threshold}) {} via {:?}",
                        if m.matched { "MATCH" } else { "no match" },
                        m.score,
                        m.answer.id,
                        one_line(&m.question)
                    ),
                }
            }
        }
    }
    Ok(())
}

fn print_row(a: &CuratedAnswer) {
    let first = a.questions.first().map_or("", String::as_str);
    let more = a.questions.len().saturating_sub(1);
    let more = if more > 0 { format!(" (+{more})") } else { String::new() };
    let last = a.last_hit_at.map_or_else(|| "never".to_string(), |t| t.to_rfc3339());
    println!(
        "{}\t{} hits\tlast hit {last}\t{}{more}\t{}",
        a.id,
        a.hits,
        one_line(first),
        one_line(&a.answer)
    );
}

/// A file's text (or standard input's), refused past the import limit before reading it all.
fn read_input(file: &PathBuf) -> anyhow::Result<String> {
    let limit = Answers::MAX_IMPORT_BYTES as u64;
    let mut bytes = Vec::new();
    if file.as_os_str() == "-" {
        std::io::stdin().lock().take(limit + 1).read_to_end(&mut bytes)?;
    } else {
        std::fs::File::open(file)
            .with_context(|| format!("reading {}", file.display()))?
            .take(limit + 1)
            .read_to_end(&mut bytes)
            .with_context(|| format!("reading {}", file.display()))?;
    }
    if bytes.len() as u64 > limit {
        return Err(chatbot_core::Error::invalid("file", format!("larger than {limit} bytes")).into());
    }
    String::from_utf8(bytes).map_err(|_| chatbot_core::Error::invalid("file", "not UTF-8 text").into())
}

/// Operator-written text on one line, cut at 80 characters.
fn one_line(s: &str) -> String {
    let flat: String = s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let mut cut: String = flat.chars().take(80).collect();
    if flat.chars().count() > 80 {
        cut.push('…');
    }
    cut
}
