//! Template: plug in another provider by implementing the traits, or point the OpenAI provider
//! at any OpenAI-compatible server by its base URL.
//!
//! - `cargo run -p chatbot-examples --example custom_provider` runs a hand-written
//!   [`chatbot_core::llm::ChatModel`] (here a toy that quotes the best passage; a real one calls
//!   your provider's API) with the embedded store, index and embedder.
//! - `cargo run -p chatbot-examples --example custom_provider -- http://127.0.0.1:8081/v1 my-model`
//!   talks to any OpenAI-compatible server instead (llama.cpp's `llama-server`, vLLM, Ollama,
//!   LiteLLM), with lead extraction by the same model. The answer falls back to the offline
//!   extractive answerer if the server is down.

use std::sync::Arc;

use chatbot_core::{Chatbot, Config, PartnerChat};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let data = tempfile::tempdir()?;
    let builder = Chatbot::builder().config(Config::offline(data.path().join("data")));
    let bot = match (args.next(), args.next()) {
        (Some(base_url), model) => {
            let model = model.unwrap_or_else(|| "local-model".into());
            let (chat, extractor) = chatbot_examples::openai_compatible(&base_url, &model);
            builder.model(chat).lead_extractor(extractor).build().await?
        }
        _ => builder.model(Arc::new(chatbot_examples::Quoting)).build().await?,
    };
    bot.seed_demo().await?;
    let ctx = bot.public_context(chatbot_core::DEMO_COMPANY_ID).await?;
    let reply = bot.partner_chat(&ctx, PartnerChat::new("What are your opening hours?")).await?;
    println!("{} [{}]", reply.message, reply.answered_by.as_str());
    Ok(())
}
