//! Wire tests of the OpenAI-compatible clients against a local wiremock server that follows the
//! public OpenAI API reference: `POST /v1/chat/completions` (a `chat.completion` object, or
//! `chat.completion.chunk` server-sent events ending with `data: [DONE]`), `POST /v1/embeddings`
//! (`{"object":"list","data":[{"object":"embedding","index","embedding"}],"model","usage"}`), and
//! the error body `{"error":{"message","type","param","code"}}`. They check what is sent (body and
//! headers), not only what comes back.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use chatbot_core::Error;
use chatbot_core::Role;
use chatbot_core::llm::{ChatModel, ChatRequest, PromptMessage, StreamEvent, Usage};
use chatbot_core::providers::openai::{OpenAiChat, RetryPolicy, TokenLimitField};
use futures::StreamExt as _;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const KEY: &str = "sk-test-0123456789";

fn fast_retries(n: u32) -> RetryPolicy {
    RetryPolicy::new(n).with_backoff(Duration::from_millis(5), Duration::from_millis(20))
}

fn chat(server: &MockServer) -> OpenAiChat {
    OpenAiChat::new(KEY, Some(&format!("{}/v1", server.uri())), "gpt-4o-mini", Duration::from_secs(5))
        .with_retry_policy(fast_retries(2))
}

fn request() -> ChatRequest {
    ChatRequest {
        messages: vec![
            PromptMessage { role: Role::System, content: "You are the assistant of Demo Shop.".into() },
            PromptMessage { role: Role::User, content: "Do you ship to Belgium?".into() },
            PromptMessage { role: Role::Assistant, content: "Yes, we do.".into() },
            PromptMessage { role: Role::User, content: "How long does it take?".into() },
        ],
        passages: Vec::new(),
        question: "How long does it take?".into(),
        company_name: "Demo Shop".into(),
        model: None,
        temperature: 0.5,
        max_tokens: 150,
    }
}

/// The `chat.completion` object as the API reference shows it.
fn completion_body(content: &str) -> Value {
    json!({
        "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
        "object": "chat.completion",
        "created": 1741569952,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": content, "refusal": null, "annotations": []},
            "logprobs": null,
            "finish_reason": "stop"
        }],
        "usage": {
            "prompt_tokens": 57,
            "completion_tokens": 17,
            "total_tokens": 74,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0, "audio_tokens": 0,
                "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0
            }
        },
        "service_tier": "default",
        "system_fingerprint": "fp_06737a9306"
    })
}

fn error_body(message: &str, kind: &str, code: Option<&str>) -> Value {
    json!({"error": {"message": message, "type": kind, "param": null, "code": code}})
}

fn chunk(delta: Value, finish: Option<&str>) -> String {
    let v = json!({
        "id": "chatcmpl-123",
        "object": "chat.completion.chunk",
        "created": 1694268190,
        "model": "gpt-4o-mini-2024-07-18",
        "system_fingerprint": "fp_44709d6fcb",
        "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}],
        "usage": null
    });
    format!("data: {v}\n\n")
}

fn usage_chunk() -> String {
    let v = json!({
        "id": "chatcmpl-123",
        "object": "chat.completion.chunk",
        "created": 1694268190,
        "model": "gpt-4o-mini-2024-07-18",
        "system_fingerprint": "fp_44709d6fcb",
        "choices": [],
        "usage": {"prompt_tokens": 57, "completion_tokens": 9, "total_tokens": 66}
    });
    format!("data: {v}\n\n")
}

fn sse(body: String) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("cache-control", "no-cache")
        .set_body_raw(body.into_bytes(), "text/event-stream")
}

async fn only_request(server: &MockServer) -> Request {
    let mut reqs = server.received_requests().await.unwrap();
    assert_eq!(reqs.len(), 1, "expected exactly one request");
    reqs.remove(0)
}

fn body_json(r: &Request) -> Value {
    serde_json::from_slice(&r.body).unwrap()
}

fn assert_headers(r: &Request) {
    assert_eq!(r.headers.get("authorization").unwrap().to_str().unwrap(), format!("Bearer {KEY}"));
    assert!(r.headers.get("content-type").unwrap().to_str().unwrap().starts_with("application/json"));
}

fn upstream(e: &Error) -> (&str, &str, bool, Option<Duration>) {
    match e {
        Error::Upstream { service, message, retryable, retry_after } => {
            (service.as_str(), message.as_str(), *retryable, *retry_after)
        }
        other => panic!("expected an upstream error, got {other:?}"),
    }
}

#[tokio::test]
async fn complete_sends_the_documented_body_and_headers_and_maps_the_reply() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(completion_body("Delivery to Belgium takes 3 to 5 business days.")),
        )
        .expect(1)
        .mount(&server)
        .await;

    let c = chat(&server).complete(&request()).await.unwrap();
    assert_eq!(c.text, "Delivery to Belgium takes 3 to 5 business days.");
    assert_eq!(c.model, "gpt-4o-mini-2024-07-18");
    assert_eq!(c.usage, Some(Usage { prompt_tokens: 57, completion_tokens: 17, total_tokens: 74 }));

    let r = only_request(&server).await;
    assert_headers(&r);
    assert_eq!(
        body_json(&r),
        json!({
            "model": "gpt-4o-mini",
            "messages": [
                {"role": "system", "content": "You are the assistant of Demo Shop."},
                {"role": "user", "content": "Do you ship to Belgium?"},
                {"role": "assistant", "content": "Yes, we do."},
                {"role": "user", "content": "How long does it take?"}
            ],
            "temperature": 0.5,
            "max_tokens": 150,
            "stream": false
        })
    );
}

#[tokio::test]
async fn the_request_model_overrides_the_default_and_reasoning_models_get_max_completion_tokens() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(completion_body("ok")))
        .mount(&server)
        .await;
    let mut req = request();
    req.model = Some("o3-mini".into());
    chat(&server).complete(&req).await.unwrap();
    let b = body_json(&only_request(&server).await);
    assert_eq!(b["model"], "o3-mini");
    assert_eq!(b["max_completion_tokens"], 150);
    assert!(b.get("max_tokens").is_none() && b.get("temperature").is_none(), "{b}");

    server.reset().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(completion_body("ok")))
        .mount(&server)
        .await;
    let c = chat(&server).with_token_limit_field(TokenLimitField::MaxCompletionTokens);
    c.complete(&request()).await.unwrap();
    let b = body_json(&only_request(&server).await);
    assert_eq!(b["max_completion_tokens"], 150);
    assert_eq!(b["temperature"], 0.5);
}

#[tokio::test]
async fn stream_reassembles_chunks_and_ends_with_done_and_usage() {
    let server = MockServer::start().await;
    let body = [
        chunk(json!({"role": "assistant", "content": "", "refusal": null}), None),
        chunk(json!({"content": "Delivery to Belgium"}), None),
        chunk(json!({"content": " takes 3 to 5"}), None),
        chunk(json!({"content": " business days."}), None),
        chunk(json!({}), Some("stop")),
        usage_chunk(),
        "data: [DONE]\n\n".to_string(),
    ]
    .concat();
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(sse(body))
        .expect(1)
        .mount(&server)
        .await;

    let events: Vec<StreamEvent> =
        chat(&server).stream(&request()).await.unwrap().map(|e| e.unwrap()).collect().await;
    let deltas: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::Delta(d) => Some(d.as_str()),
            StreamEvent::Done { .. } => None,
        })
        .collect();
    assert_eq!(deltas, ["Delivery to Belgium", " takes 3 to 5", " business days."]);
    assert_eq!(
        events.last(),
        Some(&StreamEvent::Done {
            model: "gpt-4o-mini-2024-07-18".into(),
            usage: Some(Usage { prompt_tokens: 57, completion_tokens: 9, total_tokens: 66 }),
        })
    );

    let r = only_request(&server).await;
    assert_headers(&r);
    let b = body_json(&r);
    assert_eq!(b["stream"], true);
    assert_eq!(b["stream_options"], json!({"include_usage": true}));
    assert_eq!(b["max_tokens"], 150);
    assert_eq!(b["messages"].as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn a_mid_stream_error_event_comes_as_an_error_item_after_the_deltas() {
    let server = MockServer::start().await;
    let err = json!({"error": {"message": "The server had an error while processing your request.", "type": "server_error", "param": null, "code": null}});
    let body = [chunk(json!({"role": "assistant", "content": "Delivery"}), None), format!("data: {err}\n\n")]
        .concat();
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(sse(body))
        .mount(&server)
        .await;

    let events: Vec<_> = chat(&server).stream(&request()).await.unwrap().collect().await;
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[0].as_ref().unwrap(), &StreamEvent::Delta("Delivery".into()));
    let e = events[1].as_ref().unwrap_err();
    let (service, message, retryable, _) = upstream(e);
    assert_eq!(service, "openai");
    assert!(message.contains("server had an error"), "{message}");
    assert!(retryable);
}

#[tokio::test]
async fn a_stream_without_done_still_ends_with_done() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(sse(chunk(json!({"content": "Hi"}), None)).set_delay(Duration::from_millis(0)))
        .mount(&server)
        .await;
    // wiremock closes the body after the first chunk without [DONE]: the stream must still end.
    let events: Vec<_> = chat(&server).stream(&request()).await.unwrap().collect().await;
    assert!(matches!(events.last(), Some(Ok(StreamEvent::Done { .. }))), "{events:?}");
}

#[tokio::test]
async fn llama_cpp_style_replies_with_an_empty_finish_reason_are_accepted() {
    let server = MockServer::start().await;
    // Shapes seen from OpenAI-compatible servers that bend the spec: empty finish_reason, no
    // usage, no id/object.
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello!"}, "finish_reason": ""}],
            "model": "smollm2"
        })))
        .mount(&server)
        .await;
    let c = chat(&server).complete(&request()).await.unwrap();
    assert_eq!((c.text.as_str(), c.model.as_str(), c.usage), ("Hello!", "smollm2", None));

    server.reset().await;
    let body = [
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"},\"finish_reason\":\"\"}]}\n\n",
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"},\"finish_reason\":null}]}\n\n",
        "data: [DONE]\n\n",
    ]
    .concat();
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(sse(body))
        .mount(&server)
        .await;
    let events: Vec<StreamEvent> =
        chat(&server).stream(&request()).await.unwrap().map(|e| e.unwrap()).collect().await;
    assert_eq!(
        events,
        vec![
            StreamEvent::Delta("Hel".into()),
            StreamEvent::Delta("lo".into()),
            StreamEvent::Done { model: "gpt-4o-mini".into(), usage: None }
        ]
    );
}

#[tokio::test]
async fn unauthorized_is_not_retried_and_not_retryable() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(401).set_body_json(error_body(
            "Incorrect API key provided: sk-test-****6789. You can find your API key at https://platform.openai.com/account/api-keys.",
            "invalid_request_error",
            Some("invalid_api_key"),
        )))
        .expect(1)
        .mount(&server)
        .await;
    let e = chat(&server).complete(&request()).await.unwrap_err();
    let (service, message, retryable, retry_after) = upstream(&e);
    assert_eq!(service, "openai");
    assert!(message.contains("401") && message.contains("Incorrect API key"), "{message}");
    assert!(!retryable && retry_after.is_none());
    assert!(!e.is_retryable());
    assert!(!message.contains(KEY), "the key must not leak into errors");
}

#[tokio::test]
async fn bad_request_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(400).set_body_json(error_body(
            "Invalid value for 'temperature': expected a number between 0 and 2.",
            "invalid_request_error",
            None,
        )))
        .expect(1)
        .mount(&server)
        .await;
    let e = chat(&server).stream(&request()).await.err().unwrap();
    let (_, message, retryable, _) = upstream(&e);
    assert!(message.contains("temperature") && !retryable, "{message}");
}

#[tokio::test]
async fn rate_limit_with_retry_after_is_retried_then_succeeds() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "1")
                .insert_header("x-ratelimit-remaining-requests", "0")
                .set_body_json(error_body(
                    "Rate limit reached for gpt-4o-mini in organization org-x on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 1s.",
                    "requests",
                    Some("rate_limit_exceeded"),
                )),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(completion_body("Back again.")))
        .with_priority(2)
        .mount(&server)
        .await;
    let started = std::time::Instant::now();
    let c = chat(&server).complete(&request()).await.unwrap();
    assert_eq!(c.text, "Back again.");
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
    // Retry-After: 1 was honoured (not the 5 ms backoff).
    assert!(started.elapsed() >= Duration::from_millis(900), "{:?}", started.elapsed());
}

#[tokio::test]
async fn a_retry_after_longer_than_the_policy_allows_fails_at_once_with_the_delay() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(
            ResponseTemplate::new(429).insert_header("retry-after", "120").set_body_json(error_body(
                "Rate limit reached.",
                "requests",
                Some("rate_limit_exceeded"),
            )),
        )
        .expect(1)
        .mount(&server)
        .await;
    let e = chat(&server).complete(&request()).await.unwrap_err();
    let (_, _, retryable, retry_after) = upstream(&e);
    assert!(retryable);
    assert_eq!(retry_after, Some(Duration::from_secs(120)));
}

#[tokio::test]
async fn insufficient_quota_429_is_permanent() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(429).set_body_json(error_body(
            "You exceeded your current quota, please check your plan and billing details.",
            "insufficient_quota",
            Some("insufficient_quota"),
        )))
        .expect(1)
        .mount(&server)
        .await;
    let e = chat(&server).complete(&request()).await.unwrap_err();
    let (_, message, retryable, _) = upstream(&e);
    assert!(message.contains("quota") && !retryable, "{message}");
}

#[tokio::test]
async fn server_errors_are_retried_then_reported_as_retryable() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(500).set_body_json(error_body(
            "The server had an error while processing your request. Sorry about that!",
            "server_error",
            None,
        )))
        .expect(3)
        .mount(&server)
        .await;
    let e = chat(&server).complete(&request()).await.unwrap_err();
    let (_, message, retryable, _) = upstream(&e);
    assert!(retryable);
    assert!(message.contains("500") && message.contains("3 attempts"), "{message}");
}

#[tokio::test]
async fn a_server_error_then_success_recovers() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(503).set_body_string("upstream connect error"))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    let body = [chunk(json!({"content": "ok"}), Some("stop")), "data: [DONE]\n\n".into()].concat();
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(sse(body))
        .with_priority(2)
        .mount(&server)
        .await;
    let events: Vec<_> = chat(&server).stream(&request()).await.unwrap().collect().await;
    assert_eq!(events[0].as_ref().unwrap(), &StreamEvent::Delta("ok".into()));
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn a_slow_server_gives_a_retryable_timeout_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(completion_body("late"))
                .set_delay(Duration::from_secs(3)),
        )
        .mount(&server)
        .await;
    let base = format!("{}/v1", server.uri());
    let c = OpenAiChat::new(KEY, Some(&base), "gpt-4o-mini", Duration::from_millis(300))
        .with_retry_policy(fast_retries(2));
    let e = c.complete(&request()).await.unwrap_err();
    let (_, message, retryable, _) = upstream(&e);
    assert!(retryable && message.contains("timed out"), "{message}");
    // Timeouts are not retried by default (the engine has its own deadline) ...
    assert_eq!(server.received_requests().await.unwrap().len(), 1);

    // ... unless the policy says so.
    let c = c.with_retry_policy(fast_retries(1).with_retry_timeouts(true));
    let e = c.stream(&request()).await.err().unwrap();
    assert!(e.is_retryable());
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn a_refused_connection_is_a_retryable_error() {
    // A port that nothing listens on (wiremock servers are pooled, so take a fresh one).
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}/v1");
    let c = OpenAiChat::new(KEY, Some(&base), "gpt-4o-mini", Duration::from_secs(2))
        .with_retry_policy(fast_retries(1));
    let e = c.complete(&request()).await.unwrap_err();
    let (service, message, retryable, _) = upstream(&e);
    assert_eq!(service, "openai");
    assert!(retryable && message.contains("connect"), "{message}");
}

// ----- embeddings -----

use chatbot_core::providers::openai::OpenAiEmbedder;
use chatbot_core::rag::Embedder;

/// Answers `POST /v1/embeddings` like the API reference shows, with vectors that encode which
/// input they belong to (`[byte length, position, 1, 0, ...]`), listed in REVERSE order so that
/// only sorting by `index` gives the right order.
struct EmbeddingsResponder {
    dimension: usize,
}

impl wiremock::Respond for EmbeddingsResponder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let inputs = body["input"].as_array().unwrap();
        let dim = body["dimensions"].as_u64().map_or(self.dimension, |d| d as usize);
        let mut data: Vec<Value> = inputs
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let mut v = vec![0.0f32; dim];
                v[0] = s.as_str().unwrap().len() as f32;
                v[1] = i as f32;
                v[2] = 1.0;
                json!({"object": "embedding", "index": i, "embedding": v})
            })
            .collect();
        data.reverse();
        ResponseTemplate::new(200).set_body_json(json!({
            "object": "list",
            "data": data,
            "model": body["model"],
            "usage": {"prompt_tokens": 8 * inputs.len(), "total_tokens": 8 * inputs.len()}
        }))
    }
}

async fn embeddings_server(dimension: usize) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/embeddings"))
        .respond_with(EmbeddingsResponder { dimension })
        .mount(&server)
        .await;
    server
}

fn embedder(server: &MockServer, model: &str, dimensions: Option<u32>) -> OpenAiEmbedder {
    OpenAiEmbedder::new(KEY, Some(&format!("{}/v1", server.uri())), model, dimensions)
        .with_retry_policy(fast_retries(2))
}

fn texts(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("passage number {i}{}", "x".repeat(i % 7))).collect()
}

fn assert_in_order(texts: &[String], vectors: &[Vec<f32>]) {
    assert_eq!(texts.len(), vectors.len());
    for (t, v) in texts.iter().zip(vectors) {
        assert_eq!(v[0], t.len() as f32, "vector of {t:?} is out of place");
    }
}

#[tokio::test]
async fn embeddings_send_the_documented_body_and_come_back_in_input_order() {
    let server = MockServer::start().await;
    // A hand-written reply in the documented shape, deliberately out of order.
    Mock::given(method("POST"))
        .and(path("/v1/embeddings"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "object": "list",
            "data": [
                {"object": "embedding", "index": 2, "embedding": [0.0, 0.0, 1.0]},
                {"object": "embedding", "index": 0, "embedding": [1.0, 0.0, 0.0]},
                {"object": "embedding", "index": 1, "embedding": [0.0, 1.0, 0.0]}
            ],
            "model": "text-embedding-3-small",
            "usage": {"prompt_tokens": 12, "total_tokens": 12}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let e = embedder(&server, "text-embedding-3-small", Some(3));
    assert_eq!(e.dimension(), 3);
    let input = vec!["Opening hours".to_string(), "Shipping costs".to_string(), "Returns".to_string()];
    let v = e.embed(&input).await.unwrap();
    assert_eq!(v, vec![vec![1.0, 0.0, 0.0], vec![0.0, 1.0, 0.0], vec![0.0, 0.0, 1.0]]);

    let r = only_request(&server).await;
    assert_headers(&r);
    assert_eq!(
        body_json(&r),
        json!({
            "model": "text-embedding-3-small",
            "input": ["Opening hours", "Shipping costs", "Returns"],
            "encoding_format": "float",
            "dimensions": 3
        })
    );
}

#[tokio::test]
async fn the_default_model_sends_no_dimensions_and_gets_1536() {
    let server = embeddings_server(1536).await;
    let e = embedder(&server, "", None);
    assert_eq!((e.model(), e.dimension()), ("text-embedding-3-small", 1536));
    let input = texts(5);
    let v = e.embed(&input).await.unwrap();
    assert_in_order(&input, &v);
    assert!(v.iter().all(|x| x.len() == 1536));
    let b = body_json(&only_request(&server).await);
    assert!(b.get("dimensions").is_none(), "{b}");
    assert_eq!(b["model"], "text-embedding-3-small");
}

#[tokio::test]
async fn more_than_2048_inputs_are_split_into_batches_and_order_is_kept() {
    let server = embeddings_server(4).await;
    let e = embedder(&server, "text-embedding-3-small", Some(4));
    let input = texts(2050);
    let v = e.embed(&input).await.unwrap();
    assert_in_order(&input, &v);
    let reqs = server.received_requests().await.unwrap();
    let sizes: Vec<usize> = reqs.iter().map(|r| body_json(r)["input"].as_array().unwrap().len()).collect();
    assert_eq!(sizes, [2048, 2]);
    // Positions restart in each batch: the second request carried the last two inputs.
    assert_eq!(v[2048][1], 0.0);
    assert_eq!(v[2049][1], 1.0);
}

#[tokio::test]
async fn batches_respect_the_token_budget_and_long_inputs_are_truncated() {
    let server = embeddings_server(4).await;
    let e = embedder(&server, "text-embedding-3-small", Some(4)).with_limits(2048, 1000, 500);
    let bpe = tiktoken_rs::cl100k_base_singleton();
    let input: Vec<String> = (0..10).map(|i| format!("{i} {}", "word ".repeat(299))).collect();
    let v = e.embed(&input).await.unwrap();
    assert_in_order(&input, &v);
    let reqs = server.received_requests().await.unwrap();
    assert!(reqs.len() >= 4, "{} requests", reqs.len());
    for r in &reqs {
        let tokens: usize = body_json(r)["input"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| bpe.encode_ordinary(s.as_str().unwrap()).len())
            .sum();
        assert!(tokens <= 1000, "a request carried {tokens} tokens");
    }

    // One input of 12,000 tokens is cut to 8,191.
    server.reset().await;
    Mock::given(method("POST"))
        .and(path("/v1/embeddings"))
        .respond_with(EmbeddingsResponder { dimension: 4 })
        .mount(&server)
        .await;
    let long = "token ".repeat(12_000);
    let e = embedder(&server, "text-embedding-3-small", Some(4));
    let v = e.embed(&[long.clone(), "short".into()]).await.unwrap();
    assert_eq!(v.len(), 2);
    let b = body_json(&only_request(&server).await);
    let sent = b["input"][0].as_str().unwrap();
    assert_eq!(bpe.encode_ordinary(sent).len(), 8191);
    assert!(long.starts_with(sent));
    assert_eq!(b["input"][1], "short");
}

#[tokio::test]
async fn an_unknown_model_learns_its_dimension_by_probing_and_checks_it_afterwards() {
    let server = embeddings_server(576).await;
    let e = embedder(&server, "SmolLM2-135M-Instruct", None);
    assert_eq!(e.dimension(), 0);
    assert_eq!(e.ensure_dimension().await.unwrap(), 576);
    assert_eq!(e.dimension(), 576);
    assert_eq!(body_json(&only_request(&server).await)["model"], "SmolLM2-135M-Instruct");

    // Declared 768 but the server answers 576: a clear, non-retryable error.
    let e = embedder(&server, "SmolLM2-135M-Instruct", Some(768));
    let err = e.embed(&texts(2)).await.unwrap_err();
    let (_, message, retryable, _) = upstream(&err);
    assert!(message.contains("576") && message.contains("768") && !retryable, "{message}");
}

#[tokio::test]
async fn a_reply_with_missing_or_bad_indexes_is_an_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/embeddings"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "object": "list",
            "data": [
                {"object": "embedding", "index": 0, "embedding": [1.0, 0.0]},
                {"object": "embedding", "index": 0, "embedding": [0.0, 1.0]}
            ],
            "model": "text-embedding-3-small",
            "usage": {"prompt_tokens": 2, "total_tokens": 2}
        })))
        .mount(&server)
        .await;
    let e = embedder(&server, "text-embedding-3-small", Some(2));
    let err = e.embed(&texts(2)).await.unwrap_err();
    assert!(upstream(&err).1.contains("twice"), "{err}");
    let err = e.embed(&texts(3)).await.unwrap_err();
    assert!(upstream(&err).1.contains("asked for 3"), "{err}");
}

#[tokio::test]
async fn embeddings_errors_map_like_chat_errors() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/embeddings"))
        .respond_with(ResponseTemplate::new(401).set_body_json(error_body(
            "Incorrect API key provided: sk-test-****6789.",
            "invalid_request_error",
            Some("invalid_api_key"),
        )))
        .expect(1)
        .mount(&server)
        .await;
    let err = embedder(&server, "", None).embed(&texts(1)).await.unwrap_err();
    let (service, message, retryable, _) = upstream(&err);
    assert_eq!(service, "openai");
    assert!(message.contains("401") && !retryable, "{message}");

    server.reset().await;
    Mock::given(method("POST"))
        .and(path("/v1/embeddings"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1").set_body_json(error_body(
            "Rate limit reached for text-embedding-3-small.",
            "tokens",
            Some("rate_limit_exceeded"),
        )))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/embeddings"))
        .respond_with(EmbeddingsResponder { dimension: 1536 })
        .with_priority(2)
        .mount(&server)
        .await;
    let input = texts(3);
    let v = embedder(&server, "", None).embed(&input).await.unwrap();
    assert_in_order(&input, &v);
    assert_eq!(server.received_requests().await.unwrap().len(), 2);

    server.reset().await;
    Mock::given(method("POST"))
        .and(path("/v1/embeddings"))
        .respond_with(ResponseTemplate::new(502).set_body_string("<html>Bad gateway</html>"))
        .expect(3)
        .mount(&server)
        .await;
    let err = embedder(&server, "", None).embed(&texts(1)).await.unwrap_err();
    let (_, message, retryable, _) = upstream(&err);
    assert!(retryable && message.contains("502"), "{message}");
}

#[tokio::test]
async fn no_inputs_make_no_request() {
    let server = embeddings_server(4).await;
    let v = embedder(&server, "", None).embed(&[]).await.unwrap();
    assert!(v.is_empty());
    assert!(server.received_requests().await.unwrap().is_empty());
}

/// A multilingual embeddings server in the documented shape: texts that speak of the same
/// thing in English, Dutch, German, French or Spanish get the same direction (as OpenAI's
/// multilingual embedding models do), so the test can tell the dense path found a chunk no
/// word of the query occurs in.
struct MultilingualResponder;

impl wiremock::Respond for MultilingualResponder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        const CONCEPTS: &[&[&str]] = &[
            &["opening hours", "open", "openingstijden", "öffnungszeiten", "horaires", "horario"],
            &["shipping", "ship", "verzending", "versand", "livrez", "livraison", "envío", "envio"],
        ];
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let data: Vec<Value> = body["input"]
            .as_array()
            .unwrap()
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let text = s.as_str().unwrap().to_lowercase();
                let mut v = vec![0.01f32; 8];
                for (c, words) in CONCEPTS.iter().enumerate() {
                    if words.iter().any(|w| text.contains(w)) {
                        v[c] = 1.0;
                    }
                }
                json!({"object": "embedding", "index": i, "embedding": v})
            })
            .collect();
        ResponseTemplate::new(200).set_body_json(json!({
            "object": "list", "data": data, "model": body["model"],
            "usage": {"prompt_tokens": 1, "total_tokens": 1}
        }))
    }
}

#[tokio::test]
async fn a_non_english_query_is_found_through_the_dense_path() {
    use std::sync::Arc;

    use chatbot_core::ingest::index::NewChunk;
    use chatbot_core::rag::LocalIndex;
    use chatbot_core::{Chatbot, Config, NewCompany};

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/embeddings"))
        .respond_with(MultilingualResponder)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    let bot = Chatbot::builder()
        .config(Config { data_dir: dir.path().to_path_buf(), ..Config::default() })
        .store(chatbot_core::store::open(&db).await.unwrap())
        .embedder(Arc::new(embedder(&server, "text-embedding-3-small", Some(8))))
        .vectors(Arc::new(LocalIndex::in_memory()))
        .build()
        .await
        .unwrap();
    bot.create_company(NewCompany {
        company_id: "shop".into(),
        company_name: "Shop".into(),
        email: "shop@example.com".into(),
        ..NewCompany::default()
    })
    .await
    .unwrap();
    let ctx = bot.operator_context("shop").await.unwrap();
    let chunk = |source: &str, text: &str| NewChunk {
        source: source.into(),
        title: None,
        position: 0,
        text: text.into(),
        headings: Vec::new(),
    };
    bot.index_chunks(
        &ctx,
        &[
            chunk("https://shop.example/hours", "Our opening hours: Monday to Friday from 9:00 to 18:00."),
            chunk("https://shop.example/shipping", "We ship to all EU countries within three working days."),
        ],
    )
    .await
    .unwrap();

    let hits = bot.search(&ctx, "Wat zijn jullie openingstijden?", 2).await.unwrap();
    assert_eq!(hits[0].source, "https://shop.example/hours", "{hits:?}");
    assert_eq!(hits[0].lexical_score, None, "no word of the Dutch query is in the chunk");
    assert!(hits[0].dense_score.unwrap() > 0.9, "{hits:?}");
    // The Dutch text went to the embeddings endpoint as the query.
    let sent: Vec<Value> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap())
        .collect();
    assert!(sent.iter().any(|b| b["input"] == json!(["Wat zijn jullie openingstijden?"])), "{sent:?}");

    // With hybrid search switched off for the company, the same query finds nothing.
    let patch = chatbot_core::AiConfigPatch { hybrid_search: Some(false), ..Default::default() };
    bot.update_ai_config(&ctx, &patch).await.unwrap();
    let ctx = bot.operator_context("shop").await.unwrap();
    assert!(bot.search(&ctx, "Wat zijn jullie openingstijden?", 2).await.unwrap().is_empty());
    assert_eq!(
        bot.search(&ctx, "shipping countries", 1).await.unwrap()[0].source,
        "https://shop.example/shipping",
        "lexical search still works"
    );
}
