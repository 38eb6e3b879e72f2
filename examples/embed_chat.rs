//! Embed the toolkit in your own program: offline defaults, the demo company, one question.
//!
//! `cargo run -p chatbot-examples --example embed_chat -- "Do you ship to Germany?"`

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let question = std::env::args().nth(1).unwrap_or_else(|| "Do you ship to Germany?".into());
    let dir = std::env::temp_dir().join("chatbot-example-embed");
    let reply = chatbot_examples::ask_demo_shop(&dir, &question).await?;
    println!("{}", reply.message);
    println!("(answered by {}, sources: {:?})", reply.answered_by.as_str(), reply.sources);
    Ok(())
}
