//! Bring your own chat model: implement `ChatModel` and hand it to the engine with the other
//! embedded components. Here a toy model that answers in upper case from the passages; a real one
//! would call your provider.
//!
//! `cargo run -p chatbot-examples --example custom_model`

use std::sync::Arc;

use async_trait::async_trait;
use chatbot_core::llm::{ChatModel, ChatRequest, Completion, ModelCapabilities, StreamEvent};
use chatbot_core::{Chatbot, Config, PartnerChat};
use futures::stream::BoxStream;

struct Shouting;

#[async_trait]
impl ChatModel for Shouting {
    fn provider(&self) -> &'static str {
        "shouting"
    }

    fn capabilities(&self) -> ModelCapabilities {
        // Generative models go through budgets, timeouts and the fallback; that is what we want
        // here. This one reports no token usage.
        ModelCapabilities::generative().with_token_counts(false)
    }

    async fn complete(&self, req: &ChatRequest) -> chatbot_core::Result<Completion> {
        let text = req.passages.first().map_or("I DON'T KNOW.".to_string(), |p| p.text.to_uppercase());
        Ok(Completion { text, model: "shouting-1".into(), usage: None })
    }

    async fn stream(
        &self,
        req: &ChatRequest,
    ) -> chatbot_core::Result<BoxStream<'static, chatbot_core::Result<StreamEvent>>> {
        let c = self.complete(req).await?;
        Ok(Box::pin(futures::stream::iter([
            Ok(StreamEvent::Delta(c.text)),
            Ok(StreamEvent::Done { model: c.model, usage: None }),
        ])))
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join("chatbot-example-custom-model");
    let config = Config::offline(dir);
    let bot = Chatbot::builder().config(config).model(Arc::new(Shouting)).build().await?;
    chatbot_core::seed_demo(&bot).await?;
    let ctx = bot.public_context("123").await?;
    let reply = bot.partner_chat(&ctx, PartnerChat::new("What are your opening hours?")).await?;
    println!("{} [{}]", reply.message, reply.answered_by.as_str());
    Ok(())
}
