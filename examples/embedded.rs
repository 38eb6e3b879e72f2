//! Template: the embedded defaults from Rust. No keys, no servers: SQLite, the local index, the
//! offline embedder and answerer, all in one folder. Create a company, ingest a folder of your
//! documents (Markdown, text, HTML, PDF), ask a question, print the answer and its sources.
//!
//! `cargo run -p chatbot-examples --example embedded -- ./my-docs "How do I reset my password?"`
//!
//! Without arguments it writes two small documents to a temporary folder and asks about them.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let scratch = tempfile::tempdir()?;
    let docs = match args.next() {
        Some(folder) => std::path::PathBuf::from(folder),
        None => chatbot_examples::write_sample_docs(scratch.path())?,
    };
    let question = args.next().unwrap_or_else(|| "How long is the warranty?".into());
    let data = scratch.path().join("data");
    let answer = chatbot_examples::ingest_and_ask(&data, &docs, &question).await?;
    println!("{}", answer.reply.message);
    println!("(answered by {}; {} chunks indexed)", answer.reply.answered_by.as_str(), answer.chunks);
    for s in &answer.reply.sources {
        println!("  source: {} ({:.3})", s.source, s.score);
    }
    Ok(())
}
