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

// ---------------------------------------------------------------------------------------------
// Lexical (sparse) search against a stateful fake index that behaves as Pinecone documents:
// records keep `values` and `sparseValues`; a query scores `dotproduct` (dense + sparse dot
// products), `cosine` (dense only) or a sparse index (sparse dot product); a sparse query on
// a non-dotproduct index is refused with Pinecone's `Index configuration does not support
// sparse values` (code 3); dimensions are checked; the control plane describes the index
// (`vector_type`, `metric`, `dimension`) and `describe_index_stats` reports `metric` and
// `vectorType` (API 2025-04).
// ---------------------------------------------------------------------------------------------

mod fake {
    use std::collections::{BTreeMap, HashMap};
    use std::sync::{Arc, Mutex};

    use serde_json::{Value, json};
    use wiremock::{Request, Respond, ResponseTemplate};

    #[derive(Debug, Clone, Default)]
    pub struct Record {
        pub values: Vec<f32>,
        pub sparse: Option<Sparse>,
        pub metadata: Value,
    }

    #[derive(Debug)]
    pub struct State {
        pub metric: String,
        pub vector_type: String,
        pub dimension: Option<usize>,
        pub host: String,
        pub namespaces: HashMap<String, BTreeMap<String, Record>>,
    }

    #[derive(Debug, Clone)]
    pub struct Index(pub Arc<Mutex<State>>);

    impl Index {
        pub fn new(metric: &str, vector_type: &str, dimension: Option<usize>) -> Self {
            Self(Arc::new(Mutex::new(State {
                metric: metric.into(),
                vector_type: vector_type.into(),
                dimension,
                host: String::new(),
                namespaces: HashMap::new(),
            })))
        }
    }

    fn bad(message: &str) -> ResponseTemplate {
        ResponseTemplate::new(400).set_body_json(json!({ "code": 3, "message": message, "details": [] }))
    }

    fn floats(v: &Value) -> Option<Vec<f32>> {
        v.as_array()?.iter().map(|x| x.as_f64().map(|f| f as f32)).collect()
    }

    type Sparse = (Vec<u32>, Vec<f32>);

    fn sparse_of(v: &Value) -> Result<Option<Sparse>, &'static str> {
        if v.is_null() {
            return Ok(None);
        }
        let idx: Option<Vec<u32>> =
            v["indices"].as_array().and_then(|a| a.iter().map(|x| x.as_u64().map(|u| u as u32)).collect());
        let vals = floats(&v["values"]);
        match (idx, vals) {
            (Some(i), Some(_)) if i.len() > 1000 => Err("Sparse vector has more than 1000 non-zero values"),
            (Some(i), Some(w)) if i.len() == w.len() => Ok(Some((i, w))),
            _ => Err("Sparse vector indices and values must have the same length"),
        }
    }

    fn matches_filter(meta: &Value, filter: &Value) -> bool {
        let Some(obj) = filter.as_object() else { return true };
        obj.iter().all(|(k, cond)| {
            if k == "$and" {
                return cond.as_array().is_some_and(|cs| cs.iter().all(|c| matches_filter(meta, c)));
            }
            meta.get(k) == cond.get("$eq")
        })
    }

    impl State {
        fn upsert(&mut self, body: &Value) -> ResponseTemplate {
            let ns = body["namespace"].as_str().unwrap_or("").to_string();
            let Some(vectors) = body["vectors"].as_array() else { return bad("vectors is required") };
            let mut parsed = Vec::new();
            for v in vectors {
                let values = floats(&v["values"]).unwrap_or_default();
                let sparse = match sparse_of(&v["sparseValues"]) {
                    Ok(s) => s,
                    Err(e) => return bad(e),
                };
                if self.vector_type == "sparse" {
                    if !values.is_empty() {
                        return bad("Dense vectors are not supported in a sparse index");
                    }
                    if sparse.is_none() {
                        return bad("Sparse vector must be provided for a sparse index");
                    }
                } else if Some(values.len()) != self.dimension {
                    return bad(&format!(
                        "Vector dimension {} does not match the dimension of the index {}",
                        values.len(),
                        self.dimension.unwrap_or(0)
                    ));
                }
                let id = v["id"].as_str().unwrap_or("").to_string();
                parsed.push((id, Record { values, sparse, metadata: v["metadata"].clone() }));
            }
            let n = parsed.len();
            self.namespaces.entry(ns).or_default().extend(parsed);
            ResponseTemplate::new(200).set_body_json(json!({ "upsertedCount": n }))
        }

        fn query(&self, body: &Value) -> ResponseTemplate {
            let top_k = body["topK"].as_u64().unwrap_or(0) as usize;
            let vector = floats(&body["vector"]);
            let sparse = match sparse_of(&body["sparseVector"]) {
                Ok(s) => s,
                Err(e) => return bad(e),
            };
            if self.vector_type == "sparse" {
                if vector.is_some() || sparse.is_none() {
                    return bad("A sparse index is queried with a sparse vector only");
                }
            } else {
                match &vector {
                    Some(v) if Some(v.len()) == self.dimension => {}
                    Some(v) => {
                        return bad(&format!(
                            "Vector dimension {} does not match the dimension of the index {}",
                            v.len(),
                            self.dimension.unwrap_or(0)
                        ));
                    }
                    None => return bad("vector is required for a dense index"),
                }
                if sparse.is_some() && self.metric != "dotproduct" {
                    return bad("Index configuration does not support sparse values");
                }
            }
            let ns = body["namespace"].as_str().unwrap_or("");
            let empty = BTreeMap::new();
            let records = self.namespaces.get(ns).unwrap_or(&empty);
            let mut scored: Vec<(f32, &String, &Record)> = records
                .iter()
                .filter(|(_, r)| body.get("filter").is_none_or(|f| matches_filter(&r.metadata, f)))
                .map(|(id, r)| {
                    let dense = vector.as_ref().map_or(0.0, |q| {
                        let dot: f32 = q.iter().zip(&r.values).map(|(a, b)| a * b).sum();
                        if self.metric == "cosine" {
                            let n = |x: &[f32]| x.iter().map(|a| a * a).sum::<f32>().sqrt();
                            let d = n(q) * n(&r.values);
                            if d == 0.0 { 0.0 } else { dot / d }
                        } else {
                            dot
                        }
                    });
                    let sp = match (&sparse, &r.sparse) {
                        (Some((qi, qv)), Some((di, dv))) => qi
                            .iter()
                            .zip(qv)
                            .filter_map(|(i, w)| di.iter().position(|x| x == i).map(|p| w * dv[p]))
                            .sum(),
                        _ => 0.0,
                    };
                    (dense + sp, id, r)
                })
                .collect();
            scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
            let with_meta = body["includeMetadata"].as_bool().unwrap_or(false);
            let matches: Vec<Value> = scored
                .into_iter()
                .take(top_k)
                .map(|(s, id, r)| {
                    let mut m = json!({ "id": id, "score": s, "values": [] });
                    if with_meta && r.metadata.is_object() {
                        m["metadata"] = r.metadata.clone();
                    }
                    m
                })
                .collect();
            ResponseTemplate::new(200).set_body_json(json!({
                "results": [], "matches": matches, "namespace": ns, "usage": { "readUnits": 5 }
            }))
        }

        fn stats(&self) -> ResponseTemplate {
            let namespaces: serde_json::Map<String, Value> =
                self.namespaces.iter().map(|(k, v)| (k.clone(), json!({ "vectorCount": v.len() }))).collect();
            let total: usize = self.namespaces.values().map(BTreeMap::len).sum();
            let mut body = json!({
                "namespaces": namespaces, "indexFullness": 0, "totalVectorCount": total,
                "metric": self.metric, "vectorType": self.vector_type
            });
            if let Some(d) = self.dimension {
                body["dimension"] = json!(d);
            }
            ResponseTemplate::new(200).set_body_json(body)
        }

        fn describe(&self, name: &str) -> ResponseTemplate {
            ResponseTemplate::new(200).set_body_json(json!({
                "name": name,
                "vector_type": self.vector_type,
                "metric": self.metric,
                "dimension": self.dimension,
                "status": { "ready": true, "state": "Ready" },
                "host": self.host,
                "spec": { "serverless": { "region": "us-east-1", "cloud": "aws" } },
                "deletion_protection": "disabled",
                "tags": null
            }))
        }
    }

    impl Respond for Index {
        fn respond(&self, req: &Request) -> ResponseTemplate {
            if req.headers.get("Api-Key").and_then(|v| v.to_str().ok()) != Some(super::KEY) {
                return ResponseTemplate::new(401).set_body_string("Unauthorized");
            }
            let body: Value = req.body_json().unwrap_or(Value::Null);
            let mut st = self.0.lock().unwrap();
            match (req.method.as_str(), req.url.path()) {
                ("POST", "/vectors/upsert") => st.upsert(&body),
                ("POST", "/query") => st.query(&body),
                ("POST", "/describe_index_stats") => st.stats(),
                ("GET", p) if p.starts_with("/indexes/") => st.describe(&p["/indexes/".len()..]),
                _ => ResponseTemplate::new(404).set_body_json(json!({ "code": 5, "message": "Not found" })),
            }
        }
    }
}

/// Counts `WARN` events of this crate on the current thread (the test's runtime thread).
mod warnings {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event, Level, Metadata, Subscriber};

    pub struct Counter(pub Arc<AtomicUsize>);

    impl Subscriber for Counter {
        fn enabled(&self, _: &Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, _: &Attributes<'_>) -> Id {
            Id::from_u64(1)
        }
        fn record(&self, _: &Id, _: &Record<'_>) {}
        fn record_follows_from(&self, _: &Id, _: &Id) {}
        fn event(&self, e: &Event<'_>) {
            if *e.metadata().level() == Level::WARN && e.metadata().target().starts_with("chatbot_core") {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        fn enter(&self, _: &Id) {}
        fn exit(&self, _: &Id) {}
    }
}

mod lexical {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use chatbot_core::Error;
    use chatbot_core::providers::pinecone::{PineconeConfig, PineconeStore};
    use chatbot_core::rag::bm25::{REMOTE_AVGDL, doc_sparse, term_id};
    use chatbot_core::rag::{CorpusStats, LexicalQuery, MetadataFilter, Terms, VectorRecord, VectorStore};
    use serde_json::{Value, json};
    use wiremock::{Mock, MockServer};

    use super::{KEY, fake, opts, requests};

    const DOCS: &[(&str, &str, &str)] = &[
        ("d1", "shipping europe five days shipping costs", "faq"),
        ("d2", "returns thirty days refund", "faq"),
        ("d3", "shipping worldwide ten days express shipping shipping available", "terms"),
        ("d4", "opening hours monday friday", "faq"),
        ("d5", "express delivery amsterdam same day", "faq"),
    ];

    fn terms(text: &str) -> Terms {
        Terms::from_tokens(text.split_whitespace())
    }

    fn stats() -> CorpusStats {
        let mut s = CorpusStats::new();
        for (_, t, _) in DOCS {
            s.add_document(&terms(t).ids);
        }
        s
    }

    fn records(dim: usize) -> Vec<VectorRecord> {
        DOCS.iter()
            .enumerate()
            .map(|(i, (id, t, src))| VectorRecord {
                id: id.to_string(),
                values: (0..dim).map(|j| if j == i % dim.max(1) { 1.0 } else { 0.1 }).collect(),
                terms: Some(terms(t)),
                metadata: json!({ "source": src }).as_object().cloned().unwrap(),
            })
            .collect()
    }

    /// BM25 with the document length normalised at REMOTE_AVGDL, IDF from the company's
    /// statistics: computed here from the texts, independently of the library.
    fn expected(q: &str) -> Vec<(String, f64)> {
        let n = DOCS.len() as f64;
        let (k1, b, avgdl) = (1.2f64, 0.75f64, 110.0f64);
        let mut qt: Vec<&str> = q.split_whitespace().collect();
        qt.sort_unstable();
        qt.dedup();
        // Scores are reported over the query's IDF mass (a term no document holds counts once).
        let mass: f64 = qt
            .iter()
            .map(|term| {
                let df = (DOCS.iter().filter(|d| d.1.split_whitespace().any(|x| x == *term)).count() as f64)
                    .max(1.0);
                (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
            })
            .sum();
        let mut out: Vec<(String, f64)> = DOCS
            .iter()
            .map(|(id, t, _)| {
                let w: Vec<&str> = t.split_whitespace().collect();
                let s: f64 = qt
                    .iter()
                    .map(|term| {
                        let df =
                            DOCS.iter().filter(|d| d.1.split_whitespace().any(|x| x == *term)).count() as f64;
                        let tf = w.iter().filter(|x| *x == term).count() as f64;
                        if tf == 0.0 {
                            return 0.0;
                        }
                        let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
                        idf * tf * (k1 + 1.0) / (tf + k1 * (1.0 - b + b * w.len() as f64 / avgdl))
                    })
                    .sum();
                (id.to_string(), s / mass)
            })
            .filter(|(_, s)| *s > 0.0)
            .collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        out
    }

    /// A store connected by index name: the control plane and the data plane are two servers
    /// answered by the same fake index.
    async fn connect(index: &fake::Index) -> (MockServer, MockServer, PineconeStore) {
        let data = MockServer::start().await;
        let control = MockServer::start().await;
        index.0.lock().unwrap().host = data.uri();
        Mock::given(wiremock::matchers::any()).respond_with(index.clone()).mount(&data).await;
        Mock::given(wiremock::matchers::any()).respond_with(index.clone()).mount(&control).await;
        let cfg = PineconeConfig {
            api_key: KEY.into(),
            index_name: Some("docs-hybrid".into()),
            control_plane_url: Some(control.uri()),
            ..Default::default()
        };
        let store = PineconeStore::connect_with(cfg, opts()).await.unwrap();
        (data, control, store)
    }

    #[tokio::test]
    async fn dotproduct_index_gets_sparse_values_and_answers_bm25() {
        let index = fake::Index::new("dotproduct", "dense", Some(4));
        let (data, control, s) = connect(&index).await;
        assert!(s.lexical());
        let recs = records(4);
        assert_eq!(s.upsert("company-1", &recs).await.unwrap(), 5);
        let body: Value = requests(&data).await[0].body_json().unwrap();
        for (v, r) in body["vectors"].as_array().unwrap().iter().zip(&recs) {
            let want = doc_sparse(r.terms.as_ref().unwrap(), REMOTE_AVGDL);
            assert_eq!(v["values"].as_array().unwrap().len(), 4);
            assert_eq!(v["sparseValues"]["indices"], json!(want.indices));
            assert_eq!(v["sparseValues"]["values"], json!(want.values));
            assert!(v.get("sparse_values").is_none(), "camelCase on the data plane");
        }
        let st = stats();
        for q in ["shipping days", "express refund", "amsterdam", "nothing matches"] {
            let lq = LexicalQuery::new(&terms(q), Some(&st));
            let hits = s.query_lexical("company-1", &lq, 10, None).await.unwrap();
            let want = expected(q);
            let got: Vec<&str> = hits.iter().map(|h| h.id.as_str()).collect();
            assert_eq!(got, want.iter().map(|w| w.0.as_str()).collect::<Vec<_>>(), "query {q}");
            for (h, (_, e)) in hits.iter().zip(&want) {
                assert!((f64::from(h.score) - e).abs() < 1e-4 * e.max(1.0), "{}: {} vs {e}", h.id, h.score);
            }
        }
        // The documented query shape: zero dense part of the index dimension, sparseVector, filter.
        let lq = LexicalQuery::new(&terms("shipping"), Some(&st));
        let f = MetadataFilter::eq("source", "faq");
        let hits = s.query_lexical("company-1", &lq, 3, Some(&f)).await.unwrap();
        assert_eq!(hits.iter().map(|h| h.id.as_str()).collect::<Vec<_>>(), ["d1"]);
        assert_eq!(hits[0].metadata.get("source"), Some(&json!("faq")));
        let last: Value = requests(&data).await.last().unwrap().body_json().unwrap();
        assert_eq!(last["vector"], json!([0.0, 0.0, 0.0, 0.0]));
        assert_eq!(last["sparseVector"], json!({ "indices": lq.ids, "values": lq.weights }));
        assert_eq!((last["topK"].clone(), last["includeMetadata"].clone()), (json!(3), json!(true)));
        assert_eq!(last["filter"], json!({ "source": { "$eq": "faq" } }));
        // Dense queries are unchanged; the index was described once, at connect.
        assert_eq!(s.query("company-1", &[1.0, 0.1, 0.1, 0.1], 1, None).await.unwrap()[0].id, "d1");
        assert_eq!(requests(&control).await.len(), 1);
        assert!(requests(&data).await.iter().all(|r| r.url.path() != "/describe_index_stats"));
        // A huge chunk (1,500 distinct terms) is sent with Pinecone's 1,000 heaviest.
        let tokens: Vec<String> =
            (0..1500).map(|i| format!("w{i}")).chain(std::iter::repeat_n("heavy".to_string(), 5)).collect();
        let big = VectorRecord {
            id: "big".into(),
            values: vec![0.5; 4],
            terms: Some(Terms::from_tokens(tokens.iter().map(String::as_str))),
            metadata: Default::default(),
        };
        assert_eq!(s.upsert("company-1", &[big]).await.unwrap(), 1);
        let sent: Value = requests(&data).await.last().unwrap().body_json().unwrap();
        let idx = sent["vectors"][0]["sparseValues"]["indices"].as_array().unwrap();
        assert_eq!(idx.len(), 1000);
        assert!(idx.contains(&json!(term_id("heavy"))));
        // Another company's namespace is not searched.
        assert!(s.query_lexical("company-2", &lq, 3, None).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn cosine_index_answers_no_lexical_results_and_warns_once() {
        let index = fake::Index::new("cosine", "dense", Some(4));
        let (data, _control, s) = connect(&index).await;
        let count = Arc::new(AtomicUsize::new(0));
        let _guard = tracing::subscriber::set_default(super::warnings::Counter(count.clone()));
        assert!(!s.lexical(), "known from describe-index");
        // Upserts stay dense-only: no sparseValues on a cosine index.
        assert_eq!(s.upsert("c", &records(4)).await.unwrap(), 5);
        let body: Value = requests(&data).await[0].body_json().unwrap();
        assert!(body["vectors"].as_array().unwrap().iter().all(|v| v.get("sparseValues").is_none()));
        let lq = LexicalQuery::new(&terms("shipping days"), Some(&stats()));
        for _ in 0..3 {
            assert!(s.query_lexical("c", &lq, 5, None).await.unwrap().is_empty());
        }
        assert_eq!(count.load(Ordering::SeqCst), 1, "one warning, not one per query");
        assert!(requests(&data).await.iter().all(|r| r.url.path() != "/query"), "no refused request sent");
        // The fake refuses a sparse query on a cosine index as Pinecone does.
        let raw = reqwest::Client::new()
            .post(format!("{}/query", data.uri()))
            .header("Api-Key", KEY)
            .json(&json!({ "vector": [1.0, 0.0, 0.0, 0.0], "sparseVector": { "indices": [1], "values": [1.0] }, "topK": 1 }))
            .send()
            .await
            .unwrap();
        assert_eq!(raw.status(), 400);
        let err: Value = raw.json().await.unwrap();
        assert_eq!(err["message"], "Index configuration does not support sparse values");
        assert_eq!(s.query("c", &[1.0, 0.1, 0.1, 0.1], 1, None).await.unwrap()[0].id, "d1");
    }

    #[tokio::test]
    async fn sparse_only_index_for_a_lexical_only_company() {
        let index = fake::Index::new("dotproduct", "sparse", None);
        let (data, _control, s) = connect(&index).await;
        assert!(s.lexical());
        let mut recs = records(0);
        // An empty chunk has nothing a sparse index can hold: skipped, not an error.
        recs.push(VectorRecord {
            id: "empty".into(),
            values: vec![],
            terms: Some(Terms::default()),
            metadata: Default::default(),
        });
        assert_eq!(s.upsert("lex", &recs).await.unwrap(), 5);
        let body: Value = requests(&data).await[0].body_json().unwrap();
        for v in body["vectors"].as_array().unwrap() {
            assert!(v.get("values").is_none(), "no dense values on a sparse index: {v}");
            assert!(v["sparseValues"]["indices"].as_array().is_some_and(|a| !a.is_empty()));
        }
        let lq = LexicalQuery::new(&terms("express shipping"), Some(&stats()));
        let hits = s.query_lexical("lex", &lq, 10, None).await.unwrap();
        let want = expected("express shipping");
        assert_eq!(
            hits.iter().map(|h| h.id.as_str()).collect::<Vec<_>>(),
            want.iter().map(|w| w.0.as_str()).collect::<Vec<_>>()
        );
        let last: Value = requests(&data).await.last().unwrap().body_json().unwrap();
        assert!(last.get("vector").is_none() && last.get("sparseVector").is_some(), "{last}");
        // Dense queries of a lexical-only company find nothing, without a request.
        let before = requests(&data).await.len();
        assert!(s.query("lex", &[], 5, None).await.unwrap().is_empty());
        assert_eq!(requests(&data).await.len(), before);
        // Dense vectors do not fit a sparse index: a configuration error naming the fix.
        let err = s.upsert("lex", &records(4)).await.unwrap_err();
        assert!(
            matches!(&err, Error::Config(m) if m.contains("sparse") && m.contains("dotproduct")),
            "{err:?}"
        );
        let st = s.stats("lex").await.unwrap();
        assert_eq!((st.vector_count, st.dimension), (5, None));
    }

    #[tokio::test]
    async fn dense_index_with_a_lexical_only_embedder_is_a_configuration_error() {
        for metric in ["dotproduct", "cosine"] {
            let index = fake::Index::new(metric, "dense", Some(4));
            let (data, _control, s) = connect(&index).await;
            let err = s.upsert("x", &records(0)).await.unwrap_err();
            match &err {
                Error::Config(m) => assert!(
                    m.contains("lexical only") && m.contains("dense embedder") && m.contains("sparse"),
                    "{m}"
                ),
                other => panic!("unexpected {other:?}"),
            }
            assert!(requests(&data).await.iter().all(|r| r.url.path() != "/vectors/upsert"));
        }
    }

    #[tokio::test]
    async fn host_only_store_reads_the_metric_from_index_stats_once() {
        let index = fake::Index::new("dotproduct", "dense", Some(2));
        let data = MockServer::start().await;
        Mock::given(wiremock::matchers::any()).respond_with(index.clone()).mount(&data).await;
        let cfg = PineconeConfig { api_key: KEY.into(), index_host: Some(data.uri()), ..Default::default() };
        let s = PineconeStore::connect_with(cfg, opts()).await.unwrap();
        assert!(requests(&data).await.is_empty(), "nothing asked at connect");
        let info = s.index_info().await.unwrap();
        assert_eq!(
            (info.metric.as_str(), info.vector_type.as_str(), info.dimension),
            ("dotproduct", "dense", Some(2))
        );
        let recs: Vec<VectorRecord> = records(2);
        s.upsert("h", &recs).await.unwrap();
        let lq = LexicalQuery::new(&terms("refund"), Some(&stats()));
        assert_eq!(s.query_lexical("h", &lq, 1, None).await.unwrap()[0].id, "d2");
        let described =
            requests(&data).await.iter().filter(|r| r.url.path() == "/describe_index_stats").count();
        assert_eq!(described, 1);
        // Malformed lexical queries are refused before any request.
        let bad = LexicalQuery { ids: vec![term_id("a"), term_id("b")], weights: vec![1.0] };
        assert_eq!(s.query_lexical("h", &bad, 1, None).await.unwrap_err().field(), Some("query"));
    }
}
