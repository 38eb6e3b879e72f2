//! The grounding check in the chat turn, against a local OpenAI-compatible server (wiremock,
//! `POST /v1/chat/completions` as the API reference documents it, plain and streamed) that
//! answers about the demo shop with an invented price: `flag` keeps it and counts it, `strict`
//! removes it from the reply, the stream and the stored message, `off` does not check.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use chatbot_core::llm::OpenAiChat;
use chatbot_core::providers::ModelChoice;
use chatbot_core::rag::{LocalIndex, OfflineEmbedder};
use chatbot_core::{
    AiConfigPatch, AnsweredBy, ChatEvent, ChatReply, Chatbot, Config, GroundingMode, PartnerChat, Role,
};
use futures::StreamExt as _;
use serde_json::{Value, json};
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// One true sentence, one invented price, one courtesy line.
const INVENTED: &str =
    "Our teapots hold 1 litre. A teapot costs 79 euros. Let me know if you have other questions!";
/// Nothing in it is in the demo knowledge.
const ALL_INVENTED: &str = "A teapot costs 79 euros and ships with DHL Express.";

fn completion(content: &str) -> Value {
    json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1_700_000_000, "model": "gpt-4o-mini",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content, "refusal": null},
                     "logprobs": null, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 90, "completion_tokens": 10, "total_tokens": 100}
    })
}

/// The streamed form: `chat.completion.chunk` events a few words each, then `[DONE]`.
fn chunks(content: &str) -> String {
    let mut out = String::new();
    let words: Vec<&str> = content.split_inclusive(' ').collect();
    for piece in words.chunks(3) {
        let v = json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1_700_000_000,
            "model": "gpt-4o-mini", "choices": [{"index": 0, "delta": {"content": piece.concat()},
            "logprobs": null, "finish_reason": null}]});
        out.push_str(&format!("data: {v}\n\n"));
    }
    let end = json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1_700_000_000,
        "model": "gpt-4o-mini", "choices": [{"index": 0, "delta": {}, "logprobs": null, "finish_reason": "stop"}]});
    out.push_str(&format!("data: {end}\n\ndata: [DONE]\n\n"));
    out
}

/// A bot on the demo company whose model always answers `answer`.
async fn bot(answer: &str, dir: &tempfile::TempDir) -> (Chatbot, MockServer) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(body_string_contains("\"stream\":true"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(chunks(answer).into_bytes(), "text/event-stream"),
        )
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(completion(answer)))
        .with_priority(2)
        .mount(&server)
        .await;
    let db = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    let base = format!("{}/v1", server.uri());
    let config = Config {
        data_dir: dir.path().to_path_buf(),
        model: ModelChoice::OpenAi {
            api_key: "sk-test".into(),
            base_url: Some(base.clone()),
            model: "gpt-4o-mini".into(),
        },
        ..Config::default()
    };
    let bot = Chatbot::builder()
        .config(config)
        .store(chatbot_core::store::open(&db).await.unwrap())
        .embedder(Arc::new(OfflineEmbedder::new()))
        .vectors(Arc::new(LocalIndex::open(&dir.path().join("index")).unwrap()))
        .model(Arc::new(OpenAiChat::new("sk-test", Some(&base), "gpt-4o-mini", Duration::from_secs(5))))
        .build()
        .await
        .unwrap();
    bot.seed_demo().await.unwrap();
    (bot, server)
}

async fn set_mode(bot: &Chatbot, mode: Option<GroundingMode>) {
    let op = bot.operator_context("123").await.unwrap();
    let patch = AiConfigPatch { grounding: mode, ..AiConfigPatch::default() };
    bot.update_ai_config(&op, &patch).await.unwrap();
}

async fn ask(bot: &Chatbot) -> ChatReply {
    let ctx = bot.public_context("123").await.unwrap();
    bot.partner_chat(&ctx, PartnerChat::new("How much does a teapot cost?")).await.unwrap()
}

/// The reply as stored in the conversation.
async fn stored(bot: &Chatbot, reply: &ChatReply) -> String {
    let conv = bot.store_unchecked().get_conversation("123", &reply.session_id).await.unwrap().unwrap();
    let m = conv.messages.iter().rev().find(|m| m.role == Role::Assistant).unwrap();
    m.content.clone()
}

#[tokio::test]
async fn flag_mode_keeps_an_invented_price_and_counts_it() {
    let dir = tempfile::tempdir().unwrap();
    let (bot, _server) = bot(INVENTED, &dir).await;
    // `flag` is the default.
    let r = ask(&bot).await;
    assert_eq!(r.answered_by, AnsweredBy::Model);
    assert!(r.message.contains("79 euros"), "{}", r.message);
    let g = r.grounding.expect("a model answer is checked");
    assert!(g.unsupported >= 1, "{g:?}");
    assert!(g.supported >= 1, "the litre is in the demo knowledge: {g:?}");
    assert!(stored(&bot, &r).await.contains("79 euros"));
    // The JSON the front ends send carries it.
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(v["grounding"]["unsupported"], json!(g.unsupported));
    assert_eq!(v["grounding"]["supported"], json!(g.supported));
}

#[tokio::test]
async fn strict_mode_removes_the_invented_price_from_the_reply_and_the_stored_message() {
    let dir = tempfile::tempdir().unwrap();
    let (bot, _server) = bot(INVENTED, &dir).await;
    set_mode(&bot, Some(GroundingMode::Strict)).await;
    let r = ask(&bot).await;
    assert_eq!(r.answered_by, AnsweredBy::Model);
    assert!(!r.message.contains("79"), "{}", r.message);
    assert!(r.message.starts_with("Our teapots hold 1 litre."), "{}", r.message);
    assert!(r.message.contains("Let me know if you have other questions!"), "{}", r.message);
    // Counted on the answer as the model wrote it, before the removal.
    let g = r.grounding.unwrap();
    assert!(g.unsupported >= 1 && g.supported >= 1, "{g:?}");
    let s = stored(&bot, &r).await;
    assert!(!s.contains("79"), "{s}");
    assert_eq!(s, r.message);
}

#[tokio::test]
async fn strict_mode_buffers_the_stream_and_sends_only_the_checked_text() {
    let dir = tempfile::tempdir().unwrap();
    let (bot, _server) = bot(INVENTED, &dir).await;
    set_mode(&bot, Some(GroundingMode::Strict)).await;
    let ctx = bot.public_context("123").await.unwrap();
    let events: Vec<ChatEvent> = bot
        .partner_chat_stream(&ctx, PartnerChat::new("How much does a teapot cost?"))
        .await
        .unwrap()
        .collect()
        .await;
    let mut streamed = String::new();
    let mut done = None;
    for e in events {
        match e {
            ChatEvent::Delta(d) => streamed.push_str(&d),
            ChatEvent::Done(r) => done = Some(r),
            ChatEvent::Error(e) => panic!("{e}"),
        }
    }
    let r = done.unwrap();
    assert!(!streamed.contains("79"), "the invented price never reached the visitor: {streamed}");
    assert_eq!(streamed, r.message, "the deltas add up to the reply");
    assert!(r.grounding.unwrap().unsupported >= 1);

    // Flag mode streams as the model writes: the price goes out, and is counted.
    set_mode(&bot, Some(GroundingMode::Flag)).await;
    let ctx = bot.public_context("123").await.unwrap();
    let events: Vec<ChatEvent> = bot
        .partner_chat_stream(&ctx, PartnerChat::new("How much does a teapot cost?"))
        .await
        .unwrap()
        .collect()
        .await;
    let streamed: String = events
        .iter()
        .filter_map(|e| if let ChatEvent::Delta(d) = e { Some(d.as_str()) } else { None })
        .collect();
    assert!(streamed.contains("79 euros"), "{streamed}");
    let Some(ChatEvent::Done(r)) = events.last() else { panic!("no done event") };
    assert!(r.grounding.unwrap().unsupported >= 1);
}

#[tokio::test]
async fn strict_mode_answers_extractively_when_nothing_supported_is_left() {
    let dir = tempfile::tempdir().unwrap();
    let (bot, _server) = bot(ALL_INVENTED, &dir).await;
    set_mode(&bot, Some(GroundingMode::Strict)).await;
    let r = ask(&bot).await;
    assert_eq!(r.answered_by, AnsweredBy::Fallback);
    assert!(!r.message.contains("79") && !r.message.contains("DHL"), "{}", r.message);
    assert!(r.message.contains("59 euros"), "the extractive answer from the demo knowledge: {}", r.message);
    let g = r.grounding.unwrap();
    assert_eq!((g.supported, g.unsupported), (0, 1), "the model's answer as checked");
}

#[tokio::test]
async fn off_mode_does_not_check() {
    let dir = tempfile::tempdir().unwrap();
    let (bot, _server) = bot(INVENTED, &dir).await;
    set_mode(&bot, Some(GroundingMode::Off)).await;
    let r = ask(&bot).await;
    assert_eq!(r.answered_by, AnsweredBy::Model);
    assert!(r.message.contains("79 euros"));
    assert_eq!(r.grounding, None);
    assert!(serde_json::to_value(&r).unwrap().get("grounding").is_none());
}

#[tokio::test]
async fn the_offline_extractive_answer_is_grounded_by_construction() {
    let dir = tempfile::tempdir().unwrap();
    // The embedded defaults in a temporary folder (the offline embedder and extractive answerer).
    let bot = Chatbot::from_config(Config::offline(dir.path().to_path_buf())).await.unwrap();
    bot.seed_demo().await.unwrap();
    let ctx = bot.public_context("123").await.unwrap();
    let r = bot.partner_chat(&ctx, PartnerChat::new("How much does a teapot cost?")).await.unwrap();
    assert_eq!(r.answered_by, AnsweredBy::Fallback);
    let g = r.grounding.unwrap();
    assert!(g.supported >= 1 && g.unsupported == 0, "{g:?}: {}", r.message);
    // A refusal is not checked.
    let r = bot
        .partner_chat(&ctx, PartnerChat::new("Write me a poem about the French revolution"))
        .await
        .unwrap();
    assert_eq!(r.answered_by, AnsweredBy::Refusal, "{}", r.message);
    assert_eq!(r.grounding, None);
}
