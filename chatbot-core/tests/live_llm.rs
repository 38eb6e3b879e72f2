//! Live lane: the OpenAI-compatible clients against a real server (llama.cpp's `llama-server`
//! with SmolLM2-135M-Instruct; start it with `eval "$(.ci/llama-server.sh start 18080)"`).
//!
//! Enabled by `CHATBOT_LIVE_OPENAI_BASE_URL` (chat, e.g. `http://127.0.0.1:18080/v1`) and
//! `CHATBOT_LIVE_EMBED_BASE_URL` (embeddings; defaults to the chat URL). Without them each test
//! prints "skipped: CHATBOT_LIVE_OPENAI_BASE_URL not set" and passes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use chatbot_core::Role;
use chatbot_core::llm::{ChatModel, ChatRequest, ModelCapabilities, PromptMessage, StreamEvent};
use chatbot_core::providers::openai::{OpenAiChat, OpenAiEmbedder, RetryPolicy};
use chatbot_core::rag::{Embedder, LocalIndex, OfflineEmbedder, cosine};
use chatbot_core::{AnsweredBy, Chatbot, Config, PartnerChat};
use futures::StreamExt as _;

const VAR: &str = "CHATBOT_LIVE_OPENAI_BASE_URL";
const MODEL: &str = "SmolLM2-135M-Instruct";

fn chat_url() -> Option<String> {
    match std::env::var(VAR) {
        Ok(u) if !u.trim().is_empty() => Some(u),
        _ => {
            println!("skipped: {VAR} not set");
            None
        }
    }
}

fn embed_url(chat: &str) -> String {
    std::env::var("CHATBOT_LIVE_EMBED_BASE_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or(chat.to_string())
}

fn model(url: &str) -> OpenAiChat {
    // The machine is shared: allow a slow first reply, but do not hide failures behind retries.
    OpenAiChat::new("", Some(url), MODEL, Duration::from_secs(120)).with_retry_policy(RetryPolicy::new(1))
}

fn request(question: &str) -> ChatRequest {
    ChatRequest {
        messages: vec![
            PromptMessage {
                role: Role::System,
                content: "You are the friendly assistant of Demo Shop, a webshop for ceramic mugs. Answer in one short sentence."
                    .into(),
            },
            PromptMessage { role: Role::User, content: question.into() },
        ],
        passages: Vec::new(),
        question: question.into(),
        company_name: "Demo Shop".into(),
        model: None,
        temperature: 0.2,
        max_tokens: 48,
    }
}

#[tokio::test]
async fn live_chat_completion() {
    let Some(url) = chat_url() else { return };
    let c = model(&url).complete(&request("What do you sell?")).await.unwrap();
    println!("completion: {:?} model={} usage={:?}", c.text, c.model, c.usage);
    assert!(!c.text.trim().is_empty());
    let u = c.usage.expect("llama-server reports usage");
    assert!(u.prompt_tokens > 10 && u.completion_tokens > 0 && u.completion_tokens <= 48, "{u:?}");
    assert_eq!(u.total_tokens, u.prompt_tokens + u.completion_tokens);
}

#[tokio::test]
async fn live_streaming() {
    let Some(url) = chat_url() else { return };
    let mut s = model(&url).stream(&request("Tell me about your mugs.")).await.unwrap();
    let mut deltas = Vec::new();
    let mut done = None;
    while let Some(ev) = s.next().await {
        match ev.unwrap() {
            StreamEvent::Delta(d) => {
                assert!(done.is_none(), "a delta after Done");
                deltas.push(d);
            }
            StreamEvent::Done { model, usage } => done = Some((model, usage)),
        }
    }
    let text = deltas.concat();
    println!("streamed {} deltas: {text:?}; done={done:?}", deltas.len());
    assert!(deltas.len() >= 3, "expected several deltas, got {deltas:?}");
    assert!(!text.trim().is_empty());
    let (model_name, usage) = done.expect("the stream ends with Done");
    assert!(!model_name.is_empty());
    if let Some(u) = usage {
        assert!(u.completion_tokens > 0, "{u:?}");
    }
}

#[tokio::test]
async fn live_embeddings() {
    let Some(url) = chat_url() else { return };
    let e = OpenAiEmbedder::new("", Some(&embed_url(&url)), MODEL, None)
        .with_limits(64, 4096, 400)
        .with_retry_policy(RetryPolicy::new(1));
    assert_eq!(e.ensure_dimension().await.unwrap(), 576);
    let texts: Vec<String> = [
        "Our store is open Monday to Friday from 9:00 to 18:00.",
        "The shop opens at nine in the morning on weekdays and closes at six.",
        "Photosynthesis converts carbon dioxide and water into glucose.",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let v = e.embed(&texts).await.unwrap();
    assert_eq!(v.len(), 3);
    assert!(v.iter().all(|x| x.len() == 576 && x.iter().all(|f| f.is_finite())));
    let similar = cosine(&v[0], &v[1]);
    let unrelated = cosine(&v[0], &v[2]);
    println!("cosine similar={similar:.4} unrelated={unrelated:.4}");
    assert!(similar > unrelated, "similar {similar} <= unrelated {unrelated}");
    // Order is preserved: embedding one text alone gives (about) the same vector as in the batch.
    let alone = e.embed(&texts[2..]).await.unwrap();
    assert!(cosine(&alone[0], &v[2]) > 0.99);
}

/// Caps the reply length: the 135M model makes 3-4 tokens/s on the shared 2-core machine, so
/// the demo company's 500-token limit would run into the engine's timeout (and the fallback).
struct Short(OpenAiChat);

#[async_trait::async_trait]
impl ChatModel for Short {
    fn provider(&self) -> &'static str {
        self.0.provider()
    }
    fn capabilities(&self) -> ModelCapabilities {
        self.0.capabilities()
    }
    async fn complete(&self, req: &ChatRequest) -> chatbot_core::Result<chatbot_core::llm::Completion> {
        let mut r = req.clone();
        r.max_tokens = r.max_tokens.min(40);
        self.0.complete(&r).await
    }
    async fn stream(
        &self,
        req: &ChatRequest,
    ) -> chatbot_core::Result<futures::stream::BoxStream<'static, chatbot_core::Result<StreamEvent>>> {
        let mut r = req.clone();
        r.max_tokens = r.max_tokens.min(40);
        self.0.stream(&r).await
    }
}

#[tokio::test]
async fn live_chat_turn_through_the_chatbot() {
    let Some(url) = chat_url() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::offline(dir.path().to_path_buf());
    // A 135M model on a shared 2-core machine: allow slow replies rather than the fallback.
    config.model_timeout = Duration::from_secs(120);
    std::fs::create_dir_all(&config.data_dir).unwrap();
    let store = chatbot_core::store::open(&config.database_url).await.unwrap();
    let vectors = Arc::new(LocalIndex::open(&dir.path().join("index")).unwrap());
    let bot = Chatbot::builder()
        .config(config)
        .store(store)
        .embedder(Arc::new(OfflineEmbedder::new()))
        .vectors(vectors)
        .model(Arc::new(Short(model(&url))))
        .build()
        .await
        .unwrap();
    let seeded = bot.seed_demo().await.unwrap();
    assert!(seeded.chunks > 0);
    let ctx = bot.public_context(chatbot_core::DEMO_COMPANY_ID).await.unwrap();
    let reply =
        bot.partner_chat(&ctx, PartnerChat::new("How long does delivery to Germany take?")).await.unwrap();
    println!("reply ({:?}): {:?} sources={:?}", reply.answered_by, reply.message, reply.sources);
    assert_eq!(reply.answered_by, AnsweredBy::Model);
    assert!(!reply.message.trim().is_empty());
    assert_eq!(reply.company_id, chatbot_core::DEMO_COMPANY_ID);
    // Usage is reported by the engine when the model path gives it (printed above, not asserted:
    // one run under heavy load saw None here while the direct completion test saw usage).
}
