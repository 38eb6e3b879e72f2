//! Streaming: server-sent events with deltas, a final `done` event carrying the JSON answer,
//! plain JSON without the Accept header; graceful shutdown lets an open stream finish.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chatbot_tests::{TestServer, sse_events, status_json};
use serde_json::{Value, json};

fn check_stream(list: &[(String, Value)]) -> Value {
    assert!(list.len() >= 2, "{list:?}");
    let (last, done) = list.last().unwrap();
    assert_eq!(last, "done", "{list:?}");
    let text: String = list
        .iter()
        .filter(|(e, _)| e == "delta")
        .map(|(_, d)| d["text"].as_str().unwrap().to_string())
        .collect();
    assert!(!text.is_empty());
    assert_eq!(done["message"].as_str(), Some(text.as_str()), "the deltas add up to the final message");
    done.clone()
}

#[tokio::test]
async fn partner_chat_streams_when_asked() {
    let s = TestServer::start().await;
    let t = s.demo().await;
    let r = s
        .http
        .post(s.url("/api/partner-chat/123"))
        .header("Accept", "text/event-stream")
        .json(&json!({"message": "Do you ship abroad?", "user_id": "streamer"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    assert_eq!(r.headers()["cache-control"], "no-cache");
    let done = check_stream(&sse_events(&r.text().await.unwrap()));
    // the same JSON as the non-streaming answer
    let (_, plain) = status_json(
        s.post("/api/partner-chat/123", None, &json!({"message": "Do you ship abroad?", "user_id": "plain"}))
            .await,
    )
    .await;
    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&done), keys(&plain));
    // The offline extractive answer is grounded by construction: its sentences all count.
    for v in [&done, &plain] {
        assert!(v["grounding"]["supported"].as_u64().unwrap() >= 1, "{v}");
        assert_eq!(v["grounding"]["unsupported"], 0, "{v}");
    }
    assert_eq!(done["company_id"], "123");
    assert_eq!(done["user_id"], "streamer");
    // The done event carries the visitor token; sent back (here in the X-Visitor-Token header)
    // it continues the streamed conversation.
    let token = done["visitor_token"].as_str().expect("the done event has the token").to_string();
    assert!(token.starts_with("vt_"), "{token}");
    assert!(plain["visitor_token"].as_str().is_some_and(|t| t != token), "a new conversation, a new token");
    let r = s
        .http
        .post(s.url("/api/partner-chat/123"))
        .header("Accept", "text/event-stream")
        .header("X-Visitor-Token", &token)
        .json(&json!({"message": "And to Germany?", "user_id": "streamer"}))
        .send()
        .await
        .unwrap();
    let again = check_stream(&sse_events(&r.text().await.unwrap()));
    assert_eq!(again["visitor_token"].as_str(), Some(token.as_str()));
    let (_, convs) = status_json(s.get("/api/companies/123/conversations", Some(&t.sk)).await).await;
    let mine: Vec<&Value> =
        convs["conversations"].as_array().unwrap().iter().filter(|c| c["user_id"] == "streamer").collect();
    assert_eq!(mine.len(), 1, "{convs}");
    assert_eq!(mine[0]["messages"].as_array().unwrap().len(), 4);
    // errors before the stream starts are ordinary JSON errors with their status
    let r = s
        .http
        .post(s.url("/api/partner-chat/123"))
        .header("Accept", "text/event-stream")
        .json(&json!({"message": ""}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    s.shutdown().await;
}

#[tokio::test]
async fn session_chat_streams_when_asked() {
    let s = TestServer::start().await;
    let t = s.demo().await;
    let sid = s.session(&t.pk).await;
    let r = s
        .http
        .post(s.url("/api/chatbot/chat"))
        .bearer_auth(&t.pk)
        .header("Accept", "text/event-stream")
        .json(&json!({"session_id": sid, "message": "What are your opening hours?"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let done = check_stream(&sse_events(&r.text().await.unwrap()));
    assert_eq!(done["session_id"].as_str(), Some(sid.as_str()));
    assert!(done["lead"].is_object());
    assert!(done["grounding"]["supported"].as_u64().unwrap() >= 1, "{done}");
    // the reply was stored
    let convs: Value = s.get("/api/companies/123/conversations", Some(&t.sk)).await.json().await.unwrap();
    let c = convs["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["session_id"] == sid.as_str())
        .unwrap()
        .clone();
    let msgs = c["messages"].as_array().unwrap();
    assert_eq!(msgs.last().unwrap()["content"], done["message"]);
    s.shutdown().await;
}

#[tokio::test]
async fn graceful_shutdown_lets_an_open_stream_finish() {
    let s = TestServer::start().await;
    s.demo().await;
    let url = s.url("/api/partner-chat/123");
    let http = s.http.clone();
    // the response head has arrived: the request is in flight
    let r = http
        .post(&url)
        .header("Accept", "text/event-stream")
        .json(&json!({"message": "What is your return policy?"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let stop = tokio::spawn(s.shutdown());
    let body = r.text().await.unwrap();
    assert!(sse_events(&body).iter().any(|(e, _)| e == "done"), "{body}");
    stop.await.unwrap();
    // and then the port is closed
    assert!(http.get(url.replace("/api/partner-chat/123", "/healthz")).send().await.is_err());
}

/// A model that invents a price, streamed in pieces.
struct Inventing;

#[async_trait::async_trait]
impl chatbot_core::llm::ChatModel for Inventing {
    fn provider(&self) -> &'static str {
        "inventing"
    }
    fn capabilities(&self) -> chatbot_core::llm::ModelCapabilities {
        chatbot_core::llm::ModelCapabilities::generative()
    }
    async fn complete(
        &self,
        _: &chatbot_core::llm::ChatRequest,
    ) -> chatbot_core::Result<chatbot_core::llm::Completion> {
        Ok(chatbot_core::llm::Completion {
            text: INVENTED.concat(),
            model: "inventing-1".into(),
            usage: None,
        })
    }
    async fn stream(
        &self,
        _: &chatbot_core::llm::ChatRequest,
    ) -> chatbot_core::Result<
        futures::stream::BoxStream<'static, chatbot_core::Result<chatbot_core::llm::StreamEvent>>,
    > {
        use chatbot_core::llm::StreamEvent;
        let mut events: Vec<chatbot_core::Result<StreamEvent>> =
            INVENTED.iter().map(|d| Ok(StreamEvent::Delta((*d).to_string()))).collect();
        events.push(Ok(StreamEvent::Done { model: "inventing-1".into(), usage: None }));
        Ok(Box::pin(futures::stream::iter(events)))
    }
}

const INVENTED: [&str; 4] = ["Our teapots hold ", "1 litre. A teapot ", "costs 79 euros.", " Anything else?"];

#[tokio::test]
async fn the_done_event_carries_grounding_and_strict_mode_streams_only_checked_text() {
    let s = TestServer::start_with_model(std::sync::Arc::new(Inventing)).await;
    s.demo().await;
    let stream = |mode: &'static str| {
        let s = &s;
        async move {
            let r = s
                .http
                .patch(s.url("/api/companies/123/ai-config"))
                .bearer_auth(chatbot_tests::ADMIN_TOKEN)
                .json(&json!({"grounding": mode}))
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success(), "{}", r.text().await.unwrap());
            let r = s
                .http
                .post(s.url("/api/partner-chat/123"))
                .header("Accept", "text/event-stream")
                .json(&json!({"message": "How much does a teapot cost?"}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            check_stream(&sse_events(&r.text().await.unwrap()))
        }
    };
    // flag (the default): streamed as written, the invented price counted
    let done = stream("flag").await;
    assert!(done["message"].as_str().unwrap().contains("79 euros"), "{done}");
    assert_eq!(done["answered_by"], "model");
    assert!(done["grounding"]["unsupported"].as_u64().unwrap() >= 1, "{done}");
    assert!(done["grounding"]["supported"].as_u64().unwrap() >= 1, "{done}");
    // strict: the deltas (checked by check_stream to add up to the message) never carry it
    let done = stream("strict").await;
    assert!(!done["message"].as_str().unwrap().contains("79"), "{done}");
    assert!(done["grounding"]["unsupported"].as_u64().unwrap() >= 1, "{done}");
    // off: no check, no field
    let done = stream("off").await;
    assert!(done.get("grounding").is_none(), "{done}");
    s.shutdown().await;
}
