//! Shared by the ingest tests: a tiny static HTTP/1.1 server on 127.0.0.1 (files from a folder
//! plus in-memory routes, ETag / Last-Modified / 304, a request log) and a knowledge stack on
//! the embedded defaults in a temporary folder.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chatbot_core::NewCompany;
use chatbot_core::ingest::{IndexTarget, IngestEvent};
use chatbot_core::rag::{Embedder, LocalIndex, OfflineEmbedder, VectorStore};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// One in-memory response.
#[derive(Clone, Debug)]
pub struct Route {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
    pub headers: Vec<(String, String)>,
}

impl Route {
    pub fn html(body: &str) -> Self {
        Self {
            status: 200,
            content_type: "text/html; charset=utf-8".into(),
            body: body.into(),
            headers: vec![],
        }
    }
    pub fn text(ct: &str, body: &[u8]) -> Self {
        Self { status: 200, content_type: ct.into(), body: body.to_vec(), headers: vec![] }
    }
    pub fn redirect(status: u16, to: &str) -> Self {
        Self {
            status,
            content_type: "text/plain".into(),
            body: vec![],
            headers: vec![("Location".into(), to.into())],
        }
    }
}

#[derive(Default)]
pub struct ServerState {
    pub root: Option<PathBuf>,
    pub routes: HashMap<String, Route>,
    pub log: Vec<String>,
    pub not_modified: usize,
    /// Requests that carried If-None-Match or If-Modified-Since.
    pub conditional: usize,
    /// When set, every response waits for a permit (a test holds requests with it).
    pub gate: Option<Arc<tokio::sync::Semaphore>>,
}

pub struct TestServer {
    pub addr: std::net::SocketAddr,
    pub state: Arc<Mutex<ServerState>>,
}

impl TestServer {
    pub async fn start(root: Option<PathBuf>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(ServerState { root, ..ServerState::default() }));
        let st = Arc::clone(&state);
        tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else { continue };
                let st = Arc::clone(&st);
                tokio::spawn(async move {
                    let _ = serve(sock, st).await;
                });
            }
        });
        Self { addr, state }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn route(&self, path: &str, r: Route) {
        self.state.lock().unwrap().routes.insert(path.to_string(), r);
    }

    pub fn remove(&self, path: &str) {
        self.state.lock().unwrap().routes.remove(path);
    }

    pub fn requests(&self) -> Vec<String> {
        self.state.lock().unwrap().log.clone()
    }

    pub fn clear_log(&self) {
        let mut s = self.state.lock().unwrap();
        s.log.clear();
        s.not_modified = 0;
        s.conditional = 0;
    }
}

fn etag_of(body: &[u8]) -> String {
    use sha2::Digest as _;
    format!("\"{}\"", &hex::encode(sha2::Sha256::digest(body))[..16])
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or_default() {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css",
        "js" => "application/javascript",
        "png" => "image/png",
        "pdf" => "application/pdf",
        "txt" => "text/plain",
        "xml" => "application/xml",
        _ => "application/octet-stream",
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 3 <= b.len()
            && let Some(v) =
                std::str::from_utf8(&b[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn serve(mut sock: tokio::net::TcpStream, st: Arc<Mutex<ServerState>>) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 4096];
    loop {
        let n = sock.read(&mut tmp).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&tmp[..n]);
        if buf.windows(4).any(|w| w == b"\r\n\r\n") || buf.len() > 64 * 1024 {
            break;
        }
    }
    let head = String::from_utf8_lossy(&buf).to_string();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let target = request_line.split(' ').nth(1).unwrap_or("/").to_string();
    let headers: HashMap<String, String> = lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let path = target.split('?').next().unwrap_or("/").to_string();
    let (route, root, gate) = {
        let mut s = st.lock().unwrap();
        s.log.push(path.clone());
        if headers.contains_key("if-none-match") || headers.contains_key("if-modified-since") {
            s.conditional += 1;
        }
        (s.routes.get(&path).cloned(), s.root.clone(), s.gate.clone())
    };
    if let Some(gate) = gate {
        drop(gate.acquire().await);
    }
    let route = route.or_else(|| {
        let root = root?;
        let rel = percent_decode(path.trim_start_matches('/'));
        if rel.split('/').any(|c| c == "..") {
            return None;
        }
        let mut p = root.join(rel);
        if p.is_dir() {
            if !path.ends_with('/') {
                return Some(Route::redirect(301, &format!("{path}/")));
            }
            p = p.join("index.html");
        }
        let body = std::fs::read(&p).ok()?;
        Some(Route::text(content_type(&p), &body))
    });
    let mut r = route.unwrap_or(Route {
        status: 404,
        content_type: "text/plain".into(),
        body: b"not found".to_vec(),
        headers: vec![],
    });
    let mut extra = r.headers.clone();
    if r.status == 200 {
        let etag = etag_of(&r.body);
        if headers.get("if-none-match") == Some(&etag) {
            st.lock().unwrap().not_modified += 1;
            r = Route { status: 304, content_type: r.content_type, body: vec![], headers: vec![] };
        }
        extra.push(("ETag".into(), etag));
        extra.push(("Last-Modified".into(), "Sat, 01 Nov 2025 00:00:00 GMT".into()));
    }
    let reason = match r.status {
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        404 => "Not Found",
        _ => "Status",
    };
    let mut resp = format!(
        "HTTP/1.1 {} {reason}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        r.status,
        r.content_type,
        r.body.len()
    );
    for (k, v) in extra {
        resp.push_str(&format!("{k}: {v}\r\n"));
    }
    resp.push_str("\r\n");
    sock.write_all(resp.as_bytes()).await?;
    sock.write_all(&r.body).await?;
    sock.shutdown().await?;
    Ok(())
}

/// The embedded knowledge stack (SQLite file, local index, offline embedder) in a temp folder,
/// with one company.
pub struct Stack {
    pub dir: tempfile::TempDir,
    pub sinks: Sinks,
}

pub const COMPANY: &str = "acme";

impl Stack {
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("db.sqlite").display());
        let store = chatbot_core::store::open(&url).await.unwrap();
        let embedder: Arc<dyn Embedder> = Arc::new(OfflineEmbedder::new());
        let vectors: Arc<dyn VectorStore> = Arc::new(LocalIndex::open(&dir.path().join("index")).unwrap());
        store
            .create_company(&NewCompany {
                company_id: COMPANY.into(),
                company_name: "Acme".into(),
                email: "ops@acme.example".into(),
                phone: None,
                website: None,
                logo_url: None,
                ai_config: Default::default(),
                allowed_origins: vec![],
                ..Default::default()
            })
            .await
            .unwrap();
        Self { dir, sinks: Sinks { store, embedder, vectors } }
    }

    /// Chunk rows, vectors in the index, and the sum of recorded chunk counts.
    pub async fn counts(&self) -> (i64, u64, i64) {
        let rows = self.sinks.store.count_chunks(COMPANY).await.unwrap();
        let vecs = self.sinks.vectors.stats(COMPANY).await.unwrap().vector_count;
        let recorded: i64 =
            self.sinks.store.list_sources(COMPANY).await.unwrap().iter().map(|s| s.chunk_count).sum();
        (rows, vecs, recorded)
    }

    pub async fn sources(&self) -> Vec<String> {
        let mut v: Vec<String> =
            self.sinks.store.list_sources(COMPANY).await.unwrap().into_iter().map(|s| s.source).collect();
        v.sort();
        v
    }

    /// Top hit's source for a query.
    pub async fn top_source(&self, query: &str) -> Option<String> {
        let q = chatbot_core::rag::LexicalQuery::new(&chatbot_core::rag::bm25::query_terms(query), None);
        let hits = self.sinks.vectors.query_lexical(COMPANY, &q, 3, None).await.unwrap();
        hits.first().and_then(|h| h.metadata.get("source")).and_then(|s| s.as_str()).map(String::from)
    }
}

/// An event sink that records every event.
pub fn recorder() -> (chatbot_core::ingest::EventSink, Arc<Mutex<Vec<IngestEvent>>>) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let e = Arc::clone(&events);
    (Arc::new(move |ev| e.lock().unwrap().push(ev)), events)
}

/// The knowledge seams the ingest tests write to, owned.
#[derive(Clone)]
pub struct Sinks {
    pub store: Arc<dyn chatbot_core::store::Store>,
    pub embedder: Arc<dyn chatbot_core::rag::Embedder>,
    pub vectors: Arc<dyn chatbot_core::rag::VectorStore>,
}

impl Sinks {
    /// The borrowed form every ingest function takes.
    pub fn target(&self) -> IndexTarget<'_> {
        IndexTarget::new(&self.store, &self.embedder, &self.vectors)
    }
}
