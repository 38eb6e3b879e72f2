//! PineconeStore against a local wiremock server that follows Pinecone's public data-plane
//! reference (docs.pinecone.io/reference/api/2025-04/data-plane/*): paths, methods, headers,
//! camelCase JSON bodies, documented response shapes, `{"code","message","details"}` errors,
//! plain-text 401s, 429 with Retry-After, 5xx, timeouts, and control-plane host discovery.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use chatbot_core::Error;
use chatbot_core::providers::pinecone::{PineconeConfig, PineconeOptions, PineconeStore};
use chatbot_core::rag::{MetadataFilter, VectorRecord, VectorStore};
use serde_json::{Value, json};
use wiremock::matchers::{body_json, body_partial_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const KEY: &str = "pcsk_test_key";
const VERSION: &str = "2025-04";

fn opts() -> PineconeOptions {
    PineconeOptions {
        timeout: Duration::from_millis(500),
        max_retries: 3,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        ..PineconeOptions::default()
    }
}

async fn store(server: &MockServer) -> PineconeStore {
    let cfg = PineconeConfig { api_key: KEY.into(), index_host: Some(server.uri()), ..Default::default() };
    PineconeStore::connect_with(cfg, opts()).await.unwrap()
}

/// Every data-plane call carries the documented headers.
fn authed(m: wiremock::MockBuilder) -> wiremock::MockBuilder {
    m.and(header("Api-Key", KEY)).and(header("X-Pinecone-Api-Version", VERSION))
}

fn rec(id: &str, dim: usize, meta: Value) -> VectorRecord {
    VectorRecord {
        id: id.into(),
        values: (0..dim).map(|i| (i as f32 + 1.0) / dim as f32).collect(),
        terms: None,
        metadata: meta.as_object().cloned().unwrap_or_default(),
    }
}

fn grpc_error(code: i64, message: &str) -> Value {
    json!({ "code": code, "message": message, "details": [] })
}

async fn requests(server: &MockServer) -> Vec<Request> {
    server.received_requests().await.unwrap()
}

#[tokio::test]
async fn upsert_sends_documented_shape() {
    let server = MockServer::start().await;
    authed(Mock::given(method("POST")).and(path("/vectors/upsert")))
        .and(header("content-type", "application/json"))
        .and(body_partial_json(json!({ "namespace": "company-42" })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "upsertedCount": 2 })))
        .expect(1)
        .mount(&server)
        .await;
    let s = store(&server).await;
    let recs = vec![
        rec("vec1", 8, json!({ "genre": "comedy", "year": 2020, "drop_me": null, "nested": { "a": 1 } })),
        rec("vec2", 8, json!({ "genre": "documentary", "tags": ["a", "b"] })),
    ];
    assert_eq!(s.upsert("company-42", &recs).await.unwrap(), 2);
    let body: Value = requests(&server).await[0].body_json().unwrap();
    let v = &body["vectors"];
    assert_eq!(v.as_array().unwrap().len(), 2);
    assert_eq!(v[0]["id"], "vec1");
    assert_eq!(v[0]["values"].as_array().unwrap().len(), 8);
    // Flat, no nulls: null and nested values are dropped, the rest kept as is.
    assert_eq!(v[0]["metadata"], json!({ "genre": "comedy", "year": 2020 }));
    assert_eq!(v[1]["metadata"], json!({ "genre": "documentary", "tags": ["a", "b"] }));
}

#[tokio::test]
async fn upsert_is_split_by_record_count_and_by_bytes() {
    let server = MockServer::start().await;
    authed(Mock::given(method("POST")).and(path("/vectors/upsert")))
        .respond_with(|req: &Request| {
            let body: Value = req.body_json().unwrap();
            let n = body["vectors"].as_array().unwrap().len();
            ResponseTemplate::new(200).set_body_json(json!({ "upsertedCount": n }))
        })
        .mount(&server)
        .await;
    let s = store(&server).await;

    // 2,500 tiny records: bound by the 1,000-record limit -> 1000 + 1000 + 500.
    let small: Vec<VectorRecord> = (0..2500).map(|i| rec(&format!("s{i}"), 4, json!({}))).collect();
    assert_eq!(s.upsert("ns", &small).await.unwrap(), 2500);
    let sizes: Vec<usize> = requests(&server)
        .await
        .iter()
        .map(|r| r.body_json::<Value>().unwrap()["vectors"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, [1000, 1000, 500]);

    // 300 records of 1,536 dims (~15-20 KB of JSON each): bound by 2 MB, not by count.
    server.reset().await;
    authed(Mock::given(method("POST")).and(path("/vectors/upsert")))
        .respond_with(|req: &Request| {
            let body: Value = req.body_json().unwrap();
            ResponseTemplate::new(200)
                .set_body_json(json!({ "upsertedCount": body["vectors"].as_array().unwrap().len() }))
        })
        .mount(&server)
        .await;
    let big: Vec<VectorRecord> = (0..300)
        .map(|i| VectorRecord {
            id: format!("b{i}"),
            values: (0..1536).map(|j| ((i * 31 + j * 7) % 1000) as f32 / 997.0 - 0.5123456).collect(),
            terms: None,
            metadata: json!({ "text": "x".repeat(2000) }).as_object().cloned().unwrap(),
        })
        .collect();
    assert_eq!(s.upsert("ns", &big).await.unwrap(), 300);
    let reqs = requests(&server).await;
    assert!(reqs.len() >= 2, "expected a byte-bound split, got {} request(s)", reqs.len());
    let mut ids = Vec::new();
    for r in &reqs {
        assert!(r.body.len() <= 2 * 1024 * 1024, "request of {} bytes", r.body.len());
        let body: Value = r.body_json().unwrap();
        assert_eq!(body["namespace"], "ns");
        ids.extend(body["vectors"].as_array().unwrap().iter().map(|v| v["id"].as_str().unwrap().to_string()));
    }
    // Every record sent exactly once, in order.
    assert_eq!(ids, (0..300).map(|i| format!("b{i}")).collect::<Vec<_>>());
}

#[tokio::test]
async fn long_metadata_is_truncated_under_40kb() {
    let server = MockServer::start().await;
    authed(Mock::given(method("POST")).and(path("/vectors/upsert")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "upsertedCount": 1 })))
        .mount(&server)
        .await;
    let s = store(&server).await;
    s.upsert("ns", &[rec("long", 4, json!({ "text": "ü".repeat(60_000), "source": "faq" }))]).await.unwrap();
    let body: Value = requests(&server).await[0].body_json().unwrap();
    let meta = &body["vectors"][0]["metadata"];
    assert!(serde_json::to_vec(meta).unwrap().len() <= 40 * 1024);
    assert_eq!(meta["source"], "faq");
    assert!(meta["text"].as_str().unwrap().starts_with("üü"));
}

#[tokio::test]
async fn query_sends_camel_case_and_parses_matches() {
    let server = MockServer::start().await;
    authed(Mock::given(method("POST")).and(path("/query")))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({
            "namespace": "example-namespace",
            "vector": [0.5, 0.25, 0.0],
            "topK": 3,
            "includeMetadata": true,
            "includeValues": false,
            "filter": { "genre": { "$eq": "documentary" } }
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "results": [],
            "matches": [
                { "id": "vec3", "score": 0.9, "values": [], "metadata": { "genre": "documentary", "year": 2019 } },
                { "id": "vec1", "score": 0.5, "values": [] }
            ],
            "namespace": "example-namespace",
            "usage": { "readUnits": 6 }
        })))
        .expect(1)
        .mount(&server)
        .await;
    let s = store(&server).await;
    let f = MetadataFilter::eq("genre", "documentary");
    let hits = s.query("example-namespace", &[0.5, 0.25, 0.0], 3, Some(&f)).await.unwrap();
    assert_eq!(hits.len(), 2);
    assert_eq!(hits[0].id, "vec3");
    assert!((hits[0].score - 0.9).abs() < 1e-6);
    assert_eq!(hits[0].metadata.get("year"), Some(&json!(2019)));
    assert!(hits[1].metadata.is_empty());
}

#[tokio::test]
async fn query_with_two_filters_uses_and() {
    let server = MockServer::start().await;
    authed(Mock::given(method("POST")).and(path("/query")))
        .and(body_partial_json(json!({
            "filter": { "$and": [ { "source": { "$eq": "faq" } }, { "page": { "$eq": 2 } } ] }
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "matches": [], "namespace": "ns" })))
        .expect(1)
        .mount(&server)
        .await;
    let s = store(&server).await;
    let f = MetadataFilter { equals: vec![("source".into(), json!("faq")), ("page".into(), json!(2))] };
    assert!(s.query("ns", &[1.0], 5, Some(&f)).await.unwrap().is_empty());
}

#[tokio::test]
async fn fetch_uses_repeated_ids_query_params() {
    let server = MockServer::start().await;
    authed(Mock::given(method("GET")).and(path("/vectors/fetch")))
        .and(query_param("namespace", "ns1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "vectors": {
                "id-2": { "id": "id-2", "values": [0.2, 0.3], "metadata": { "k": "v" } },
                "id-1": { "id": "id-1", "values": [0.1, 0.2] }
            },
            "namespace": "ns1",
            "usage": { "readUnits": 1 }
        })))
        .expect(1)
        .mount(&server)
        .await;
    let s = store(&server).await;
    let got = s.fetch("ns1", &["id-1".into(), "id-2".into(), "missing".into()]).await.unwrap();
    assert_eq!(got.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["id-1", "id-2"]);
    assert_eq!(got[0].values, vec![0.1, 0.2]);
    assert_eq!(got[1].metadata.get("k"), Some(&json!("v")));
    let url = &requests(&server).await[0].url;
    let ids: Vec<String> =
        url.query_pairs().filter(|(k, _)| k == "ids").map(|(_, v)| v.into_owned()).collect();
    assert_eq!(ids, ["id-1", "id-2", "missing"]);
}

#[tokio::test]
async fn delete_by_ids_and_delete_all() {
    let server = MockServer::start().await;
    authed(Mock::given(method("POST")).and(path("/vectors/delete")))
        .and(body_json(json!({ "ids": ["a", "b"], "namespace": "ns" })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .expect(1)
        .mount(&server)
        .await;
    authed(Mock::given(method("POST")).and(path("/vectors/delete")))
        .and(body_json(json!({ "deleteAll": true, "namespace": "ns" })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .expect(1)
        .mount(&server)
        .await;
    let s = store(&server).await;
    s.delete("ns", &["a".into(), "b".into()]).await.unwrap();
    s.delete_namespace("ns").await.unwrap();
}

#[tokio::test]
async fn delete_namespace_that_does_not_exist_is_ok() {
    let server = MockServer::start().await;
    authed(Mock::given(method("POST")).and(path("/vectors/delete")))
        .respond_with(ResponseTemplate::new(404).set_body_json(grpc_error(5, "Namespace not found")))
        .expect(1)
        .mount(&server)
        .await;
    store(&server).await.delete_namespace("never-used").await.unwrap();
}

#[tokio::test]
async fn stats_reads_describe_index_stats() {
    let server = MockServer::start().await;
    authed(Mock::given(method("POST")).and(path("/describe_index_stats")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "namespaces": { "": { "vectorCount": 50000 }, "company-7": { "vectorCount": 2 } },
            "dimension": 1536,
            "indexFullness": 0,
            "totalVectorCount": 50002,
            "metric": "cosine",
            "vectorType": "dense"
        })))
        .mount(&server)
        .await;
    let s = store(&server).await;
    let st = s.stats("company-7").await.unwrap();
    assert_eq!((st.vector_count, st.dimension), (2, Some(1536)));
    assert_eq!(s.stats("nobody").await.unwrap().vector_count, 0);
}

#[tokio::test]
async fn list_ids_follows_pagination() {
    let server = MockServer::start().await;
    authed(Mock::given(method("GET")).and(path("/vectors/list")))
        .and(query_param("namespace", "ns"))
        .and(query_param("prefix", "doc1#"))
        .and(query_param("paginationToken", "Tm90aGluZyB0byBzZWUgaGVyZQo="))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "vectors": [ { "id": "doc1#c" } ],
            "namespace": "ns",
            "usage": { "readUnits": 1 }
        })))
        .mount(&server)
        .await;
    authed(Mock::given(method("GET")).and(path("/vectors/list")))
        .and(query_param("namespace", "ns"))
        .and(query_param("prefix", "doc1#"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "vectors": [ { "id": "doc1#a" }, { "id": "doc1#b" } ],
            "pagination": { "next": "Tm90aGluZyB0byBzZWUgaGVyZQo=" },
            "namespace": "ns",
            "usage": { "readUnits": 1 }
        })))
        .mount(&server)
        .await;
    let s = store(&server).await;
    assert_eq!(s.list_ids("ns", Some("doc1#")).await.unwrap(), ["doc1#a", "doc1#b", "doc1#c"]);
    assert_eq!(requests(&server).await.len(), 2);
}

#[tokio::test]
async fn rate_limit_429_honours_retry_after_then_succeeds() {
    let server = MockServer::start().await;
    authed(Mock::given(method("POST")).and(path("/query")))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "1")
                .set_body_json(grpc_error(8, "Request failed. You've reached the max read units per second")),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    authed(Mock::given(method("POST")).and(path("/query")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "matches": [{ "id": "ok", "score": 1.0 }], "namespace": "ns" })),
        )
        .expect(1)
        .mount(&server)
        .await;
    let s = store(&server).await;
    let hits = s.query("ns", &[1.0], 1, None).await.unwrap();
    assert_eq!(hits[0].id, "ok");
}

#[tokio::test]
async fn retry_after_longer_than_allowed_is_returned_to_the_caller() {
    let server = MockServer::start().await;
    authed(Mock::given(method("POST")).and(path("/query")))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "120")
                .set_body_json(grpc_error(8, "Too many requests")),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = store(&server).await.query("ns", &[1.0], 1, None).await.unwrap_err();
    match err {
        Error::Upstream { retryable, retry_after, message, .. } => {
            assert!(retryable);
            assert_eq!(retry_after, Some(Duration::from_secs(120)));
            assert!(message.contains("429"), "{message}");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn server_errors_are_retried() {
    let server = MockServer::start().await;
    authed(Mock::given(method("POST")).and(path("/vectors/upsert")))
        .respond_with(ResponseTemplate::new(503).set_body_string("upstream connect error"))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    authed(Mock::given(method("POST")).and(path("/vectors/upsert")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "upsertedCount": 1 })))
        .expect(1)
        .mount(&server)
        .await;
    assert_eq!(store(&server).await.upsert("ns", &[rec("a", 2, json!({}))]).await.unwrap(), 1);
}

#[tokio::test]
async fn persistent_500_gives_up_with_retryable_error() {
    let server = MockServer::start().await;
    authed(Mock::given(method("POST")).and(path("/query")))
        .respond_with(ResponseTemplate::new(500).set_body_json(grpc_error(13, "Internal error")))
        .expect(4) // first try + max_retries (3)
        .mount(&server)
        .await;
    let err = store(&server).await.query("ns", &[1.0], 1, None).await.unwrap_err();
    match err {
        Error::Upstream { service, message, retryable, .. } => {
            assert_eq!(service, "pinecone");
            assert!(retryable);
            assert!(message.contains("500") && message.contains("Internal error"), "{message}");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn bad_request_is_not_retried_and_explains() {
    let server = MockServer::start().await;
    authed(Mock::given(method("POST")).and(path("/query")))
        .respond_with(ResponseTemplate::new(400).set_body_json(grpc_error(
            3,
            "Vector dimension 3 does not match the dimension of the index 1536",
        )))
        .expect(1)
        .mount(&server)
        .await;
    let err = store(&server).await.query("ns", &[1.0, 0.0, 0.0], 1, None).await.unwrap_err();
    assert!(!err.is_retryable());
    let msg = err.to_string();
    assert!(
        msg.starts_with("pinecone failed") && msg.contains("400") && msg.contains("does not match"),
        "{msg}"
    );
}

#[tokio::test]
async fn unauthorized_plain_text_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/describe_index_stats"))
        .respond_with(ResponseTemplate::new(401).set_body_string("Unauthorized"))
        .expect(1)
        .mount(&server)
        .await;
    let err = store(&server).await.stats("ns").await.unwrap_err();
    match &err {
        Error::Upstream { retryable: false, message, .. } => {
            assert!(
                message.contains("401")
                    && message.contains("Unauthorized")
                    && message.contains("PINECONE_API_KEY")
            )
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn timeout_is_retried_then_reported() {
    let server = MockServer::start().await;
    authed(Mock::given(method("POST")).and(path("/query")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_delay(Duration::from_secs(3))
                .set_body_json(json!({ "matches": [] })),
        )
        .mount(&server)
        .await;
    let cfg = PineconeConfig { api_key: KEY.into(), index_host: Some(server.uri()), ..Default::default() };
    let s = PineconeStore::connect_with(
        cfg,
        PineconeOptions { timeout: Duration::from_millis(150), max_retries: 1, ..opts() },
    )
    .await
    .unwrap();
    let err = s.query("ns", &[1.0], 1, None).await.unwrap_err();
    assert!(err.is_retryable());
    assert!(err.to_string().contains("timed out"), "{err}");
    assert_eq!(requests(&server).await.len(), 2, "one try + one retry");
}

#[tokio::test]
async fn host_is_discovered_from_the_control_plane() {
    let data = MockServer::start().await;
    let control = MockServer::start().await;
    authed(Mock::given(method("GET")).and(path("/indexes/docs-example")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "name": "docs-example",
            "vector_type": "dense",
            "metric": "cosine",
            "dimension": 1536,
            "status": { "ready": true, "state": "Ready" },
            "host": data.uri(),
            "spec": { "serverless": { "region": "us-east-1", "cloud": "aws" } },
            "deletion_protection": "disabled",
            "tags": null
        })))
        .expect(1)
        .mount(&control)
        .await;
    authed(Mock::given(method("POST")).and(path("/describe_index_stats")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "namespaces": { "ns": { "vectorCount": 3 } }, "dimension": 1536 })),
        )
        .expect(1)
        .mount(&data)
        .await;
    let cfg = PineconeConfig {
        api_key: KEY.into(),
        index_name: Some("docs-example".into()),
        environment: Some("us-east-1-aws".into()),
        control_plane_url: Some(control.uri()),
        ..Default::default()
    };
    let s = PineconeStore::connect_with(cfg, opts()).await.unwrap();
    assert_eq!(s.host(), data.uri());
    assert_eq!(s.stats("ns").await.unwrap().vector_count, 3);
}

#[tokio::test]
async fn unknown_index_and_missing_config_are_clear() {
    let control = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/indexes/nope"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({
            "error": { "code": "NOT_FOUND", "message": "Resource nope not found" }, "status": 404
        })))
        .expect(1)
        .mount(&control)
        .await;
    let cfg = PineconeConfig {
        api_key: KEY.into(),
        index_name: Some("nope".into()),
        control_plane_url: Some(control.uri()),
        ..Default::default()
    };
    let err = PineconeStore::connect_with(cfg, opts()).await.unwrap_err();
    assert!(!err.is_retryable());
    assert!(err.to_string().contains("404") && err.to_string().contains("nope not found"), "{err}");

    let err = PineconeStore::connect(PineconeConfig { api_key: KEY.into(), ..Default::default() })
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
    let err = PineconeStore::connect(PineconeConfig { index_host: Some("h".into()), ..Default::default() })
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
}

#[tokio::test]
async fn bare_host_gets_https() {
    let cfg = PineconeConfig {
        api_key: KEY.into(),
        index_host: Some("idx-abc.svc.aped-4627-b74a.pinecone.io".into()),
        ..Default::default()
    };
    let s = PineconeStore::connect_with(cfg, opts()).await.unwrap();
    assert_eq!(s.host(), "https://idx-abc.svc.aped-4627-b74a.pinecone.io");
}
