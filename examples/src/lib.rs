//! Integration templates for developers who embed `chatbot-core`.
//!
//! Each example in this package is a compiled target (`cargo run -p chatbot-examples --example NAME`):
//! - `embed_chat`: the embedded defaults in a folder of your choice, the demo company, one chat turn.
//! - `custom_model`: plug your own [`chatbot_core::llm::ChatModel`] (any provider) into the engine.
//! - `own_server`: mount the HTTP API of `chatbot-server` with your own bind address and data folder.
//!
//! The functions here are what the examples run; the tests below run them too, so the templates
//! cannot rot.

use std::path::Path;

use chatbot_core::{ChatReply, Chatbot, Config, PartnerChat};

/// Open the embedded defaults (SQLite, local index, offline embedder and answerer) in `dir`,
/// seed the demo company `123`, and ask it one question.
///
/// # Errors
/// Any core error (storage, indexing).
pub async fn ask_demo_shop(dir: &Path, question: &str) -> chatbot_core::Result<ChatReply> {
    let bot = Chatbot::from_config(Config::offline(dir.to_path_buf())).await?;
    chatbot_core::demo::seed(&bot).await?;
    let ctx = bot.public_context(chatbot_core::demo::DEMO_COMPANY_ID).await?;
    bot.partner_chat(&ctx, PartnerChat::new(question)).await
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn the_embed_template_answers_from_the_demo_knowledge() {
        let dir = tempfile::tempdir().unwrap();
        let reply = super::ask_demo_shop(dir.path(), "How long does delivery take in the Netherlands?")
            .await
            .unwrap();
        assert_eq!(reply.company_id, "123");
        assert!(reply.message.contains("business days"), "{}", reply.message);
        assert!(reply.sources.iter().any(|s| s.source.ends_with("/shipping")), "{:?}", reply.sources);
    }
}
