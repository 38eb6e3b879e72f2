//! Faults of the outside services, over real TCP on both chat routes (JSON and server-sent
//! events): the OpenAI-compatible model answering 500, 429 (rate limit and spent quota), not
//! answering in time, and breaking off in the middle of a reply; the vector store (Pinecone)
//! answering 503 or not listening. Each time the visitor gets an answer (the extractive fallback,
//! or an answer without context), and both the visitor's message and that answer are stored.
//!
//! The model upstream is wiremock answering with OpenAI's documented error bodies, or a raw
//! socket server that sends the head and the first piece of a reply and then drops the
//! connection (wiremock always completes its responses).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chatbot_core::providers::ModelChoice;
use chatbot_core::providers::pinecone::{PineconeConfig, PineconeOptions};
use chatbot_core::rag::PineconeStore;
use chatbot_core::{Chatbot, Config};
use chatbot_tests::{ADMIN_TOKEN, Tenant, TestServer, sse_events, status_json};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const QUESTION: &str = "What are your opening hours?";
/// Text only a model reply would hold: never part of a fallback answer.
const MODEL_SENTINEL: &str = "MODEL-REPLY-SENTINEL";

/// A server whose chat model is the OpenAI-compatible API at `base_url` (the configuration a
/// deployment uses: `OPENAI_BASE_URL`, the default retry policy), with the demo company.
async fn with_model(base_url: &str, model_timeout: Duration) -> (TestServer, Tenant) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::offline(dir.path().to_path_buf());
    config.admin_token = Some(ADMIN_TOKEN.into());
    config.model = ModelChoice::OpenAi {
        api_key: "sk-test-key".into(),
        base_url: Some(base_url.into()),
        model: "gpt-4o-mini".into(),
    };
    config.model_timeout = model_timeout;
    let bot = Chatbot::from_config(config).await.unwrap();
    let s = TestServer::start_bot(bot, dir).await;
    let t = s.demo().await;
    (s, t)
}

/// A chat completion as OpenAI documents it.
fn completion(text: &str) -> Value {
    json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1_700_000_000, "model": "gpt-4o-mini",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
    })
}

/// `POST /v1/chat/completions` with the key and model, streamed or not.
fn chat_call(stream: bool) -> wiremock::MockBuilder {
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(header("authorization", "Bearer sk-test-key"))
        .and(body_partial_json(json!({"model": "gpt-4o-mini", "stream": stream})))
}

/// Ask `QUESTION` in a new session, as JSON or streamed; the answer's JSON (the `done` event's
/// when streamed, whose deltas must add up to it) and the session id.
async fn ask(s: &TestServer, t: &Tenant, stream: bool) -> (Value, String) {
    let sid = s.session(&t.pk).await;
    let body = json!({"session_id": sid, "message": QUESTION});
    if !stream {
        let (st, v) = status_json(s.post("/api/chatbot/chat", Some(&t.pk), &body).await).await;
        assert_eq!(st, 200, "{v}");
        return (v, sid);
    }
    let r = s
        .http
        .post(s.url("/api/chatbot/chat"))
        .bearer_auth(&t.pk)
        .header("Accept", "text/event-stream")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let list = sse_events(&r.text().await.unwrap());
    let (last, done) = list.last().cloned().unwrap();
    assert_eq!(last, "done", "the stream ends with its answer: {list:?}");
    let text: String =
        list.iter().filter(|(e, _)| e == "delta").map(|(_, d)| d["text"].as_str().unwrap()).collect();
    assert_eq!(done["message"].as_str(), Some(text.as_str()), "the deltas add up to the answer");
    (done, sid)
}

/// The session's stored conversation: exactly the question and the answer the visitor got.
async fn assert_stored(s: &TestServer, t: &Tenant, sid: &str, answer: &str) {
    let (st, v) = status_json(s.get("/api/companies/123/conversations?limit=500", Some(&t.sk)).await).await;
    assert_eq!(st, 200, "{v}");
    let conv = v["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["session_id"] == sid)
        .unwrap_or_else(|| panic!("no conversation stored for {sid}: {v}"));
    let msgs: Vec<(&str, &str)> = conv["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["role"].as_str().unwrap(), m["content"].as_str().unwrap()))
        .collect();
    assert_eq!(msgs, vec![("user", QUESTION), ("assistant", answer)]);
}

/// Both routes answer with the fallback, which is stored with the question; the answers.
async fn both_routes_fall_back(s: &TestServer, t: &Tenant) -> Vec<String> {
    let mut answers = Vec::new();
    for stream in [false, true] {
        let (v, sid) = ask(s, t, stream).await;
        assert_eq!(v["answered_by"], "fallback", "stream={stream}: {v}");
        let answer = v["message"].as_str().unwrap().to_string();
        assert!(!answer.trim().is_empty(), "stream={stream}: an empty answer");
        assert!(!answer.contains(MODEL_SENTINEL), "stream={stream}: {answer}");
        assert_stored(s, t, &sid, &answer).await;
        answers.push(answer);
    }
    assert_eq!(answers[0], answers[1], "the same fallback on both routes");
    answers
}

#[tokio::test]
async fn the_model_answering_500_gets_the_fallback_answer_stored() {
    let upstream = MockServer::start().await;
    let error = json!({"error": {"message": "The server had an error while processing your request. Sorry about that!",
        "type": "server_error", "param": null, "code": null}});
    // The first attempt and the policy's two retries, on each route.
    for stream in [false, true] {
        chat_call(stream)
            .respond_with(ResponseTemplate::new(500).set_body_json(&error))
            .expect(3)
            .mount(&upstream)
            .await;
    }
    let (s, t) = with_model(&format!("{}/v1", upstream.uri()), Duration::from_secs(10)).await;
    both_routes_fall_back(&s, &t).await;
    s.shutdown().await;
    upstream.verify().await;
}

#[tokio::test]
async fn the_model_answering_429_gets_the_fallback_answer_stored() {
    // A rate limit is retried (after the server's Retry-After), then given up.
    let upstream = MockServer::start().await;
    let limited = json!({"error": {"message": "Rate limit reached for gpt-4o-mini on requests per min (RPM): Limit 3, Used 3, Requested 1.",
        "type": "requests", "param": null, "code": "rate_limit_exceeded"}});
    for stream in [false, true] {
        chat_call(stream)
            .respond_with(
                ResponseTemplate::new(429).insert_header("retry-after", "1").set_body_json(&limited),
            )
            .expect(3)
            .mount(&upstream)
            .await;
    }
    let (s, t) = with_model(&format!("{}/v1", upstream.uri()), Duration::from_secs(10)).await;
    let rate_limited = both_routes_fall_back(&s, &t).await;
    s.shutdown().await;
    upstream.verify().await;

    // A spent quota is not retried at all.
    let upstream = MockServer::start().await;
    let quota = json!({"error": {"message": "You exceeded your current quota, please check your plan and billing details.",
        "type": "insufficient_quota", "param": null, "code": "insufficient_quota"}});
    for stream in [false, true] {
        chat_call(stream)
            .respond_with(ResponseTemplate::new(429).set_body_json(&quota))
            .expect(1)
            .mount(&upstream)
            .await;
    }
    let (s, t) = with_model(&format!("{}/v1", upstream.uri()), Duration::from_secs(10)).await;
    assert_eq!(both_routes_fall_back(&s, &t).await, rate_limited);
    s.shutdown().await;
    upstream.verify().await;
}

#[tokio::test]
async fn the_model_not_answering_in_time_gets_the_fallback_answer_stored() {
    let upstream = MockServer::start().await;
    for stream in [false, true] {
        chat_call(stream)
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(completion(MODEL_SENTINEL))
                    .set_delay(Duration::from_secs(60)),
            )
            .expect(1)
            .mount(&upstream)
            .await;
    }
    let (s, t) = with_model(&format!("{}/v1", upstream.uri()), Duration::from_secs(1)).await;
    both_routes_fall_back(&s, &t).await;
    s.shutdown().await;
    upstream.verify().await;
}

/// How the raw upstream misbehaves after the first piece of a reply.
#[derive(Clone, Copy)]
enum Break {
    /// Drop the connection (no final chunk, body shorter than its Content-Length).
    Cut,
    /// Keep the connection open and send nothing more.
    Stall,
}

/// An OpenAI-compatible upstream on a raw socket that starts every reply and then breaks off;
/// its base URL and the number of requests it got.
async fn breaking_upstream(how: Break, partial: &'static str) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let count = hits.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let count = count.clone();
            tokio::spawn(async move {
                let Some(body) = read_request(&mut sock).await else { return };
                count.fetch_add(1, Ordering::SeqCst);
                let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                if request["stream"] == true {
                    let chunk = |delta: Value| {
                        let c = json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1_700_000_000,
                            "model": "gpt-4o-mini", "choices": [{"index": 0, "delta": delta, "finish_reason": null}]});
                        let event = format!("data: {c}\n\n");
                        format!("{:x}\r\n{event}\r\n", event.len())
                    };
                    let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n\
                                Transfer-Encoding: chunked\r\n\r\n";
                    let first = chunk(json!({"role": "assistant", "content": ""}));
                    let second = chunk(json!({"content": partial}));
                    let _ = sock.write_all(format!("{head}{first}{second}").as_bytes()).await;
                } else {
                    let full = completion(&format!("{partial} {MODEL_SENTINEL} and the rest.")).to_string();
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                        full.len()
                    );
                    let _ = sock.write_all(format!("{head}{}", &full[..full.len() / 2]).as_bytes()).await;
                }
                let _ = sock.flush().await;
                match how {
                    Break::Cut => drop(sock),
                    Break::Stall => {
                        tokio::time::sleep(Duration::from_secs(120)).await;
                        drop(sock);
                    }
                }
            });
        }
    });
    (format!("http://{addr}/v1"), hits)
}

/// Read one HTTP/1.1 request (head and Content-Length body); its body.
async fn read_request(sock: &mut tokio::net::TcpStream) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut piece = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = sock.read(&mut piece).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&piece[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = sock.read(&mut piece).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&piece[..n]);
    }
    Some(buf[head_end..head_end + len].to_vec())
}

/// The JSON route gets the plain fallback (nothing of the reply was shown); the streamed route
/// has already shown the first piece, so the fallback completes it: the visitor sees the piece
/// and then the fallback, and exactly that is stored.
async fn broken_replies_are_completed_by_the_fallback(how: Break, model_timeout: Duration) {
    let partial = "Our opening hours are";
    let (base, hits) = breaking_upstream(how, partial).await;
    let (s, t) = with_model(&base, model_timeout).await;

    let (plain, sid) = ask(&s, &t, false).await;
    assert_eq!(plain["answered_by"], "fallback", "{plain}");
    let fallback = plain["message"].as_str().unwrap().to_string();
    assert!(!fallback.trim().is_empty() && !fallback.contains(MODEL_SENTINEL), "{fallback}");
    assert_stored(&s, &t, &sid, &fallback).await;

    let (streamed, sid) = ask(&s, &t, true).await;
    assert_eq!(streamed["answered_by"], "fallback", "{streamed}");
    let answer = streamed["message"].as_str().unwrap();
    assert_eq!(answer, format!("{partial}\n\n{fallback}"), "the piece shown, then the fallback");
    assert_stored(&s, &t, &sid, answer).await;
    // A broken body is not sent again (the reply may have been generated and billed).
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    s.shutdown().await;
}

#[tokio::test]
async fn a_reply_cut_off_mid_way_is_completed_by_the_fallback_and_stored() {
    broken_replies_are_completed_by_the_fallback(Break::Cut, Duration::from_secs(10)).await;
}

#[tokio::test]
async fn a_reply_that_stalls_mid_way_is_completed_by_the_fallback_and_stored() {
    broken_replies_are_completed_by_the_fallback(Break::Stall, Duration::from_secs(1)).await;
}

/// A server with the offline model whose vector store is Pinecone at `index_host`.
async fn with_pinecone(index_host: &str) -> (TestServer, Tenant) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::offline(dir.path().to_path_buf());
    config.admin_token = Some(ADMIN_TOKEN.into());
    let options = PineconeOptions {
        max_retries: 2,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
        timeout: Duration::from_secs(5),
        ..PineconeOptions::default()
    };
    let pinecone = PineconeStore::connect_with(
        PineconeConfig {
            api_key: "pc-test-key".into(),
            index_host: Some(index_host.into()),
            ..PineconeConfig::default()
        },
        options,
    )
    .await
    .unwrap();
    let bot = Chatbot::builder().config(config).vectors(Arc::new(pinecone)).build().await.unwrap();
    let s = TestServer::start_bot(bot, dir).await;
    // The demo company without its knowledge (indexing needs the vector store).
    let t = s.tenant("123", &[]).await;
    (s, t)
}

/// Both routes answer (without context: no sources), and store the question and the answer.
async fn both_routes_answer_without_context(s: &TestServer, t: &Tenant) {
    for stream in [false, true] {
        let (v, sid) = ask(s, t, stream).await;
        assert_eq!(v["answered_by"], "fallback", "stream={stream}: {v}");
        assert_eq!(v["sources"], json!([]), "stream={stream}: {v}");
        let answer = v["message"].as_str().unwrap();
        assert!(!answer.trim().is_empty(), "stream={stream}: an empty answer");
        assert_stored(s, t, &sid, answer).await;
    }
}

#[tokio::test]
async fn the_vector_store_answering_503_gives_an_answer_without_context() {
    let pinecone = MockServer::start().await;
    // Every data-plane call fails: the index description a lexical query needs first
    // (`/describe_index_stats`) and the query itself.
    Mock::given(method("POST"))
        .and(header("api-key", "pc-test-key"))
        .respond_with(
            ResponseTemplate::new(503)
                .set_body_json(json!({"code": 14, "message": "Service unavailable", "details": []})),
        )
        // the first attempt and two retries, on each route
        .expect(6)
        .mount(&pinecone)
        .await;
    let (s, t) = with_pinecone(&pinecone.uri()).await;
    both_routes_answer_without_context(&s, &t).await;
    s.shutdown().await;
    pinecone.verify().await;
}

#[tokio::test]
async fn the_vector_store_not_listening_gives_an_answer_without_context() {
    // A port that was just free: nothing listens there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let (s, t) = with_pinecone(&format!("http://{closed}")).await;
    both_routes_answer_without_context(&s, &t).await;
    s.shutdown().await;
}
