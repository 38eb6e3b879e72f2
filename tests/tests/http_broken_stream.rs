//! A streamed reply whose client goes away (the browser tab closes, the network drops) is still
//! stored whole, never empty or cut, and a model that breaks mid-stream leaves a complete reply
//! that the history shows under the `message_id` of the `done` event.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use async_trait::async_trait;
use chatbot_core::Role;
use chatbot_core::llm::{ChatModel, ChatRequest, Completion, ModelCapabilities, StreamEvent};
use chatbot_tests::{TestServer, sse_events, status_json};
use futures::StreamExt as _;
use futures::stream::BoxStream;
use serde_json::json;
use tokio::sync::Notify;

/// Streams "First words, ", then waits for the gate before "and the rest." — or, for a
/// question holding "break", fails after the first words.
struct Gated {
    gate: Arc<Notify>,
}

#[async_trait]
impl ChatModel for Gated {
    fn provider(&self) -> &'static str {
        "gated"
    }

    fn capabilities(&self) -> ModelCapabilities {
        ModelCapabilities::generative().with_token_counts(false)
    }

    async fn complete(&self, _: &ChatRequest) -> chatbot_core::Result<Completion> {
        Ok(Completion { text: "First words, and the rest.".into(), model: "gated-1".into(), usage: None })
    }

    async fn stream(
        &self,
        req: &ChatRequest,
    ) -> chatbot_core::Result<BoxStream<'static, chatbot_core::Result<StreamEvent>>> {
        let first = futures::stream::iter([Ok(StreamEvent::Delta("First words, ".into()))]);
        if req.question.contains("break") {
            let broke = Err(chatbot_core::Error::upstream("gated", "connection reset", true));
            return Ok(Box::pin(first.chain(futures::stream::iter([broke]))));
        }
        let gate = self.gate.clone();
        let rest = futures::stream::once(async move {
            gate.notified().await;
            Ok(StreamEvent::Delta("and the rest.".into()))
        })
        .chain(futures::stream::iter([Ok(StreamEvent::Done { model: "gated-1".into(), usage: None })]));
        Ok(Box::pin(first.chain(rest)))
    }
}

#[tokio::test]
async fn a_client_that_leaves_mid_stream_gets_the_whole_reply_stored() {
    let gate = Arc::new(Notify::new());
    let s = TestServer::start_with_model(Arc::new(Gated { gate: gate.clone() })).await;
    s.demo().await;
    let r = s
        .http
        .post(s.url("/api/partner-chat/123"))
        .header("Accept", "text/event-stream")
        .json(&json!({"message": "Do you ship abroad?"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut body = r.bytes_stream();
    let first = body.next().await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&first).contains("First words"), "{first:?}");
    // The client leaves after the first piece; then the model finishes.
    drop(body);
    gate.notify_one();
    let store = s.bot.store_unchecked();
    let mut reply = None;
    for _ in 0..1000 {
        let convs = store.list_conversations("123", 10, 0).await.unwrap();
        if let Some(m) = convs.first().and_then(|c| c.messages.get(1)) {
            reply = Some(m.clone());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let reply = reply.expect("the reply is stored although the client left");
    assert_eq!(reply.role, Role::Assistant);
    assert_eq!(reply.content, "First words, and the rest.", "whole, neither empty nor cut");
    s.shutdown().await;
}

#[tokio::test]
async fn a_model_that_breaks_mid_stream_leaves_a_complete_reply_in_the_history() {
    let s = TestServer::start_with_model(Arc::new(Gated { gate: Arc::new(Notify::new()) })).await;
    s.demo().await;
    let r = s
        .http
        .post(s.url("/api/partner-chat/123"))
        .header("Accept", "text/event-stream")
        .json(&json!({"message": "Do you ship abroad? break"}))
        .send()
        .await
        .unwrap();
    let events = sse_events(&r.text().await.unwrap());
    let (last, done) = events.last().unwrap();
    assert_eq!(last, "done", "{events:?}");
    let streamed: String = events
        .iter()
        .filter(|(e, _)| e == "delta")
        .map(|(_, d)| d["text"].as_str().unwrap().to_string())
        .collect();
    let message = done["message"].as_str().unwrap();
    assert_eq!(streamed, message, "the pieces add up to the stored reply");
    assert!(message.starts_with("First words, ") && message.len() > "First words, ".len(), "{message}");
    let token = done["visitor_token"].as_str().unwrap();
    let h = s
        .http
        .get(s.url("/api/partner-chat/123/history"))
        .header("X-Visitor-Token", token)
        .send()
        .await
        .unwrap();
    let (st, h) = status_json(h).await;
    assert_eq!(st, 200, "{h}");
    assert_eq!(h["messages"][1]["message_id"], done["message_id"]);
    assert_eq!(h["messages"][1]["content"].as_str(), Some(message));
    s.shutdown().await;
}
