//! Keeping knowledge fresh, end to end on 127.0.0.1 through the facade: a registered site or
//! folder is synced again with conditional requests (nothing re-chunked, nothing embedded when
//! nothing changed), pages and files that disappeared leave both stores, changed ones are
//! re-indexed, intervals are honoured, and a source's lease lets one run at a time.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod ingest_common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chatbot_core::ingest::{EventSink, IngestOptions, SiteOptions, SourceSpec, SyncOutcome, SyncReport};
use chatbot_core::rag::Embedder;
use chatbot_core::{Chatbot, Config, NewCompany, TenantContext};
use ingest_common::{Route, TestServer};
use tokio_util::sync::CancellationToken;

/// A dense embedder that counts the texts it embeds (a tiny deterministic vector per text).
struct Counting {
    texts: Arc<AtomicUsize>,
}

#[async_trait]
impl Embedder for Counting {
    fn model(&self) -> &str {
        "counting-test-embedder"
    }
    fn dimension(&self) -> usize {
        8
    }
    fn max_batch(&self) -> usize {
        64
    }
    async fn embed(&self, texts: &[String]) -> chatbot_core::Result<Vec<Vec<f32>>> {
        self.texts.fetch_add(texts.len(), Ordering::SeqCst);
        Ok(texts
            .iter()
            .map(|t| {
                let mut v = vec![0.1f32; 8];
                for (i, b) in t.bytes().enumerate() {
                    v[i % 8] += f32::from(b) / 255.0;
                }
                v
            })
            .collect())
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    bot: Chatbot,
    ctx: TenantContext,
    embedded: Arc<AtomicUsize>,
}

const COMPANY: &str = "fresh";

impl Fixture {
    async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let embedded = Arc::new(AtomicUsize::new(0));
        let bot = Chatbot::builder()
            .config(Config::offline(dir.path().to_path_buf()))
            .embedder(Arc::new(Counting { texts: Arc::clone(&embedded) }))
            .build()
            .await
            .unwrap();
        for id in [COMPANY, "other"] {
            bot.create_company(NewCompany {
                company_id: id.into(),
                company_name: "Fresh".into(),
                email: format!("ops@{id}.example"),
                ..Default::default()
            })
            .await
            .unwrap();
        }
        let ctx = bot.operator_context(COMPANY).await.unwrap();
        Self { _dir: dir, bot, ctx, embedded }
    }

    fn embeds(&self) -> usize {
        self.embedded.swap(0, Ordering::SeqCst)
    }

    async fn sync(&self, force: bool) -> Vec<SyncReport> {
        self.bot.knowledge(&self.ctx).sync(force, quiet(), &CancellationToken::new()).await.unwrap()
    }

    /// Sources of the top hits for a query.
    async fn hits(&self, query: &str) -> Vec<String> {
        self.bot.knowledge(&self.ctx).search(query, 5).await.unwrap().into_iter().map(|h| h.source).collect()
    }

    async fn chunk_rows(&self, source: &str) -> usize {
        self.bot.store_unchecked().chunk_ids_for_source(COMPANY, source).await.unwrap().len()
    }

    async fn counts(&self) -> (i64, i64) {
        let st = self.bot.knowledge(&self.ctx).status().await.unwrap();
        (st.chunks, st.sources.iter().map(|s| s.chunks).sum())
    }
}

fn quiet() -> EventSink {
    Arc::new(|_| {})
}

fn page(title: &str, body: &str, links: &[&str]) -> String {
    let nav: String = links.iter().map(|l| format!("<a href=\"{l}\">{l}</a> ")).collect();
    format!(
        "<!doctype html><html><head><title>{title}</title></head><body><nav>{nav}</nav>\
         <main><h1>{title}</h1><p>{body}</p></main></body></html>"
    )
}

fn words(seed: &str, n: usize) -> String {
    (0..n).map(|i| format!("{seed}{} ", i % 23)).collect()
}

async fn site() -> TestServer {
    let s = TestServer::start(None).await;
    s.route("/", Route::html(&page("Home", &words("home", 60), &["/a", "/b", "/c"])));
    s.route("/a", Route::html(&page("Anchors", &words("anchor", 200), &["/"])));
    s.route("/b", Route::html(&page("Boats", &words("boat", 200), &["/"])));
    s.route("/c", Route::html(&page("Canoes", "Canoes are paddled with a single-bladed paddle.", &["/"])));
    s
}

fn site_spec(server: &TestServer) -> SourceSpec {
    let mut o = SiteOptions::new(&server.url("/")).unwrap();
    o.allow_private = true;
    SourceSpec::site(&o, &IngestOptions::default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forced_sync_is_conditional_and_removes_and_reindexes() {
    let server = site().await;
    let f = Fixture::new().await;
    let k = f.bot.knowledge(&f.ctx);
    let spec = site_spec(&server);

    // The first ingest registers the source and records its run.
    let cancel = CancellationToken::new();
    let s1 = k.ingest_source(&spec, Some(Duration::from_secs(86_400)), quiet(), &cancel).await.unwrap();
    assert!(s1.failed.is_empty(), "{:?}", s1.failed);
    let embedded_first = f.embeds();
    assert!(embedded_first > 0 && embedded_first == s1.embedded, "{embedded_first} vs {s1:?}");
    let st = k.status().await.unwrap();
    assert_eq!(st.registered.len(), 1);
    let reg = &st.registered[0];
    assert_eq!((reg.kind.as_str(), reg.location.as_str()), ("site", server.url("/").as_str()));
    assert_eq!(reg.interval_secs, 86_400);
    assert_eq!(reg.options["kind"], "site");
    assert_eq!(reg.options["site"]["allow_private"], true, "the options are remembered");
    let run = reg.last_run.clone().unwrap();
    assert_eq!((run.added, run.changed, run.removed, run.failed), (4, 0, 0, 0), "{run:?}");
    assert!(reg.lease_owner.is_none(), "the lease is released after the run");
    let due = reg.next_due_at.unwrap();
    assert!(due > run.finished_at + chrono::TimeDelta::hours(23), "due a day later: {due}");
    let (rows, recorded) = f.counts().await;

    // Nothing is due yet: a plain sync fetches nothing.
    server.clear_log();
    assert!(f.sync(false).await.is_empty(), "nothing due");
    assert!(server.requests().is_empty(), "nothing fetched: {:?}", server.requests());

    // A forced sync right after: conditional requests answered 304, nothing changes, nothing
    // is embedded.
    let reports = f.sync(true).await;
    assert_eq!(reports.len(), 1);
    let r = &reports[0];
    assert_eq!(r.outcome, SyncOutcome::Synced, "{r:?}");
    assert_eq!((r.changed, r.added, r.removed, r.embedded), (0, 0, 0, 0), "{r:?}");
    assert_eq!(r.unchanged, 4, "{r:?}");
    assert_eq!(f.embeds(), 0, "nothing embedded");
    {
        let st = server.state.lock().unwrap();
        assert!(st.conditional >= 4, "conditional requests sent: {}", st.conditional);
        assert!(st.not_modified >= 4, "and answered 304: {}", st.not_modified);
    }
    assert_eq!(f.counts().await, (rows, recorded));

    // /c disappears, /b changes: the next forced sync removes one and re-indexes the other.
    assert_eq!(f.hits("canoes paddled single-bladed paddle").await.first(), Some(&server.url("/c")));
    assert!(f.chunk_rows(&server.url("/c")).await > 0);
    server.remove("/c");
    server.route(
        "/b",
        Route::html(&page("Boats", &format!("{} lighthouse keepers whistle", words("boat", 200)), &["/"])),
    );
    f.embeds(); // the searches above embedded their queries
    let reports = f.sync(true).await;
    let r = &reports[0];
    assert_eq!((r.outcome, r.changed, r.added, r.removed), (SyncOutcome::Synced, 1, 0, 1), "{r:?}");
    assert!(r.embedded >= 1, "the changed chunks are embedded: {r:?}");
    assert_eq!(f.embeds(), r.embedded);
    let hits = f.hits("canoes paddled single-bladed paddle").await;
    assert!(!hits.contains(&server.url("/c")), "a removed page is gone from search: {hits:?}");
    assert_eq!(f.chunk_rows(&server.url("/c")).await, 0, "and from the chunk table");
    assert_eq!(f.hits("lighthouse keepers whistle").await.first(), Some(&server.url("/b")));
    let (rows, recorded) = f.counts().await;
    assert_eq!(rows, recorded, "chunk rows and recorded counts agree");
    let reg = k.status().await.unwrap().registered.remove(0);
    let run = reg.last_run.unwrap();
    assert_eq!((run.pages as usize, run.changed, run.added, run.removed), (r.pages, 1, 0, 1));

    // Another company sees none of it.
    let other = f.bot.operator_context("other").await.unwrap();
    assert!(f.bot.knowledge(&other).status().await.unwrap().registered.is_empty());
    assert!(f.bot.knowledge(&other).sync(true, quiet(), &CancellationToken::new()).await.unwrap().is_empty());

    // Unregistered, it is no longer synced; its knowledge stays.
    k.unregister(&reg.source_id).await.unwrap();
    assert!(k.unregister(&reg.source_id).await.is_err(), "unknown now");
    assert!(f.sync(true).await.is_empty());
    assert!(f.counts().await.0 > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_concurrent_syncs_of_one_source_run_it_once() {
    let server = site().await;
    let f = Fixture::new().await;
    let spec = site_spec(&server);
    let k = f.bot.knowledge(&f.ctx);
    k.ingest_source(&spec, Some(Duration::from_secs(3600)), quiet(), &CancellationToken::new())
        .await
        .unwrap();

    // Hold every response: the first sync takes the lease and waits on the site.
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    server.state.lock().unwrap().gate = Some(Arc::clone(&gate));
    // Both are polled on this task (an ingest future is not `Send`).
    let (ka, kb) = (f.bot.knowledge(&f.ctx), f.bot.knowledge(&f.ctx));
    let (ca, cb) = (CancellationToken::new(), CancellationToken::new());
    let a = Box::pin(ka.sync(true, quiet(), &ca));
    let b = Box::pin(kb.sync(true, quiet(), &cb));
    // The one that finishes while the site is held is the one that found the lease taken.
    let (skipped, other) = match futures::future::select(a, b).await {
        futures::future::Either::Left((r, other)) | futures::future::Either::Right((r, other)) => {
            (r.unwrap(), other)
        }
    };
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0].outcome, SyncOutcome::Skipped, "{skipped:?}");
    assert!(skipped[0].error.as_deref().unwrap_or_default().contains("lease"), "{skipped:?}");
    assert_eq!(skipped[0].pages, 0, "it fetched nothing");
    // Meanwhile `ingest site` of the same source is refused, not run twice.
    let err =
        k.ingest_source(&spec, Some(Duration::from_secs(3600)), quiet(), &CancellationToken::new()).await;
    assert_eq!(err.unwrap_err().code(), "conflict");
    gate.add_permits(1 << 20);
    let ran = other.await.unwrap();
    assert_eq!(ran[0].outcome, SyncOutcome::Synced, "{ran:?}");
    assert_eq!(ran[0].unchanged, 4, "{ran:?}");
    // Released: the next run takes it.
    assert_eq!(f.sync(true).await[0].outcome, SyncOutcome::Synced);
}

fn write(dir: &Path, rel: &str, body: &str) -> PathBuf {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, body).unwrap();
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_sync_removes_deleted_files_and_skips_unchanged_ones() {
    let f = Fixture::new().await;
    let k = f.bot.knowledge(&f.ctx);
    let docs = tempfile::tempdir().unwrap();
    let a = write(docs.path(), "a.md", "# Opening hours\n\nWe open at nine on weekdays.\n");
    let b = write(docs.path(), "sub/b.md", "# Returns\n\nParcels come back within thirty days.\n");
    let spec = SourceSpec::files(&[docs.path().to_path_buf()], &IngestOptions::default()).unwrap();

    // Not registered with `None`; registered "manual only" with a zero interval.
    k.ingest_source(&spec, None, quiet(), &CancellationToken::new()).await.unwrap();
    assert!(k.status().await.unwrap().registered.is_empty(), "a one-off ingest is not registered");
    assert!(f.embeds() > 0);
    k.ingest_source(&spec, Some(Duration::ZERO), quiet(), &CancellationToken::new()).await.unwrap();
    assert_eq!(f.embeds(), 0, "unchanged files are not embedded again");
    let reg = k.status().await.unwrap().registered.remove(0);
    assert_eq!((reg.kind.as_str(), reg.interval_secs, reg.next_due_at), ("files", 0, None));
    assert!(f.sync(false).await.is_empty(), "interval 0: only a forced sync runs it");

    let r = f.sync(true).await.remove(0);
    assert_eq!((r.outcome, r.unchanged, r.changed, r.removed, r.embedded), (SyncOutcome::Synced, 2, 0, 0, 0));
    assert_eq!(f.embeds(), 0);

    // b.md is deleted, a.md changes.
    std::fs::remove_file(&b).unwrap();
    std::fs::write(&a, "# Opening hours\n\nWe open at eight on weekdays and ten on saturdays.\n").unwrap();
    let r = f.sync(true).await.remove(0);
    assert_eq!((r.changed, r.added, r.removed), (1, 0, 1), "{r:?}");
    assert!(f.embeds() >= 1);
    assert_eq!(f.chunk_rows(&b.display().to_string()).await, 0, "the deleted file's chunks are gone");
    let hits = f.hits("parcels thirty days returns").await;
    assert!(!hits.contains(&b.display().to_string()), "{hits:?}");
    assert_eq!(f.hits("saturdays").await.first(), Some(&a.display().to_string()));

    // A new file is added.
    let c = write(docs.path(), "c.txt", "Gift cards never expire.");
    let r = f.sync(true).await.remove(0);
    assert_eq!((r.changed, r.added, r.removed), (0, 1, 0), "{r:?}");
    assert_eq!(f.hits("gift cards expire").await.first(), Some(&c.display().to_string()));

    // Forgetting everything drops the registration too.
    k.forget(None).await.unwrap();
    assert!(k.status().await.unwrap().registered.is_empty());
}

/// Real material: the tutorial of Python's HTML documentation (Debian package python3.11-doc),
/// copied to a temporary folder and served with ETags: a forced sync right after the first
/// ingest answers 304 for every page and embeds nothing; a page deleted from the copy is gone
/// after the next one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn syncs_the_python_tutorial() {
    let manual = Path::new("/usr/share/doc/python3.11/html");
    if !manual.join("tutorial/index.html").exists() {
        println!("skipped: {} not found (apt-get install python3.11-doc)", manual.display());
        return;
    }
    let copy = tempfile::tempdir().unwrap();
    let tutorial = copy.path().join("tutorial");
    std::fs::create_dir_all(&tutorial).unwrap();
    for entry in std::fs::read_dir(manual.join("tutorial")).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "html") {
            std::fs::copy(&p, tutorial.join(p.file_name().unwrap())).unwrap();
        }
    }
    let server = TestServer::start(Some(copy.path().to_path_buf())).await;
    let f = Fixture::new().await;
    let k = f.bot.knowledge(&f.ctx);
    let mut o = SiteOptions::new(&server.url("/tutorial/index.html")).unwrap();
    o.allow_private = true;
    o.prefix = Some("/tutorial/".into());
    let spec = SourceSpec::site(&o, &IngestOptions::default());
    let s1 = k
        .ingest_source(&spec, Some(Duration::from_secs(3600)), quiet(), &CancellationToken::new())
        .await
        .unwrap();
    assert!(s1.documents >= 10, "{s1:?}");
    let pages = f.bot.knowledge(&f.ctx).status().await.unwrap().sources.len();
    assert!(f.embeds() > 0);

    server.clear_log();
    let r = f.sync(true).await.remove(0);
    assert_eq!(
        (r.outcome, r.changed, r.added, r.removed, r.embedded),
        (SyncOutcome::Synced, 0, 0, 0, 0),
        "{r:?}"
    );
    assert_eq!(r.unchanged, pages, "{r:?}");
    assert_eq!(f.embeds(), 0);
    let (conditional, not_modified) = {
        let st = server.state.lock().unwrap();
        (st.conditional, st.not_modified)
    };
    assert!(
        conditional >= pages && not_modified >= pages,
        "{conditional} conditional, {not_modified} 304s, {pages} pages"
    );

    // The page on classes disappears from the site.
    let classes = server.url("/tutorial/classes.html");
    assert!(f.chunk_rows(&classes).await > 0);
    std::fs::remove_file(tutorial.join("classes.html")).unwrap();
    let r = f.sync(true).await.remove(0);
    assert_eq!((r.changed, r.added, r.removed), (0, 0, 1), "{r:?}");
    assert_eq!(f.chunk_rows(&classes).await, 0);
    let hits = f.hits("class instantiation attribute references method objects").await;
    assert!(!hits.contains(&classes), "{hits:?}");
}
