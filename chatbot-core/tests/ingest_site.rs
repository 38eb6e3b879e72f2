//! Site crawling end to end on 127.0.0.1: robots.txt, sitemap indexes, redirects, canonical and
//! trailing-slash de-duplication, incremental re-runs, deletions, the SSRF guard, and a real
//! HTML manual from Debian's python3.11-doc package.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod ingest_common;

use std::path::Path;
use std::sync::Arc;

use chatbot_core::ingest::{IngestEvent, IngestOptions, SiteOptions, ingest_site};
use ingest_common::{COMPANY, Route, Stack, TestServer, recorder};
use tokio_util::sync::CancellationToken;

fn page(title: &str, body: &str, links: &[&str]) -> String {
    let nav: String = links.iter().map(|l| format!("<a href=\"{l}\">{l}</a> ")).collect();
    format!(
        "<!doctype html><html><head><title>{title}</title></head><body><nav>NAVIGATION {nav}</nav>\
         <main><h1>{title}</h1><p>{body}</p></main><footer>FOOTER TEXT</footer></body></html>"
    )
}

fn words(seed: &str, n: usize) -> String {
    (0..n).map(|i| format!("{seed}{} ", i % 37)).collect()
}

async fn fixture_site() -> TestServer {
    let s = TestServer::start(None).await;
    let base = s.url("");
    s.route(
        "/robots.txt",
        Route::text(
            "text/plain",
            format!("User-agent: *\nDisallow: /private/\n\nSitemap: {base}/sitemap_index.xml\n").as_bytes(),
        ),
    );
    s.route(
        "/sitemap_index.xml",
        Route::text(
            "application/xml",
            format!(
                "<?xml version=\"1.0\"?><sitemapindex xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\
         <sitemap><loc>{base}/sitemap1.xml</loc></sitemap></sitemapindex>"
            )
            .as_bytes(),
        ),
    );
    s.route(
        "/sitemap1.xml",
        Route::text(
            "application/xml",
            format!(
                "<?xml version=\"1.0\"?><urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\
         <url><loc>{base}/orphan</loc></url><url><loc>{base}/a</loc></url></urlset>"
            )
            .as_bytes(),
        ),
    );
    s.route(
        "/",
        Route::html(&page(
            "Home",
            &words("home", 50),
            &[
                "/a",
                "/a/",
                "/a#section",
                "b",
                "/private/secret",
                "/old",
                "http://192.0.2.1/offsite",
                "/c",
                "/image.png",
                "/missing",
                "mailto:x@y.z",
            ],
        )),
    );
    s.route("/a", Route::html(&page("Alpha", &words("alpha", 400), &["/"])));
    s.route("/b", Route::html(&page("Beta", &words("beta", 300), &["/a"])));
    s.route(
        "/c",
        Route::html(
            &page("Alpha copy", &words("alpha", 400), &[])
                .replace("<head>", &format!("<head><link rel=\"canonical\" href=\"{base}/a\">")),
        ),
    );
    s.route("/orphan", Route::html(&page("Orphan", &words("orphan", 100), &[])));
    s.route("/private/secret", Route::html(&page("Secret", "do not crawl", &[])));
    s.route("/old", Route::redirect(301, "/b"));
    s.route("/image.png", Route::text("image/png", b"\x89PNG...."));
    s
}

async fn crawl(stack: &Stack, site: &SiteOptions) -> (chatbot_core::ingest::IngestSummary, Vec<IngestEvent>) {
    let (sink, events) = recorder();
    let opts = IngestOptions::default();
    let summary = ingest_site(stack.sinks.target(), COMPANY, site, &opts, sink, &CancellationToken::new())
        .await
        .unwrap();
    let ev = events.lock().unwrap().clone();
    (summary, ev)
}

#[tokio::test]
async fn crawl_obeys_robots_reads_sitemaps_dedups_and_is_incremental() {
    let server = fixture_site().await;
    let stack = Stack::new().await;
    let mut site = SiteOptions::new(&server.url("/")).unwrap();
    site.allow_private = true;

    let (s1, events) = crawl(&stack, &site).await;
    assert!(s1.failed.is_empty(), "{:?}", s1.failed);
    let reqs = server.requests();
    assert!(!reqs.iter().any(|r| r.starts_with("/private")), "robots.txt disallowed path fetched: {reqs:?}");
    assert_eq!(reqs.iter().filter(|r| *r == "/a").count(), 1, "/a fetched more than once: {reqs:?}");
    assert_eq!(reqs.iter().filter(|r| *r == "/b").count(), 1, "/b fetched twice (redirect target): {reqs:?}");
    let sources = stack.sources().await;
    let want: Vec<String> = ["/", "/a", "/b", "/orphan"].iter().map(|p| server.url(p)).collect();
    let mut want_sorted = want.clone();
    want_sorted.sort();
    assert_eq!(sources, want_sorted, "the sitemap-only page is in, the canonical duplicate is not");
    assert!(
        events
            .iter()
            .any(|e| matches!(e, IngestEvent::Skipped { reason, .. } if reason.contains("not HTML")))
    );
    let (rows, vecs, recorded) = stack.counts().await;
    assert!(rows > 4);
    assert_eq!((rows, vecs as i64), (recorded, recorded), "rows, vectors and recorded counts agree");
    assert_eq!(s1.embedded as i64, rows);
    // Boilerplate stayed out of the chunks.
    let ids = stack.sinks.store.chunk_ids_for_source(COMPANY, &server.url("/a")).await.unwrap();
    let chunks = stack.sinks.store.get_chunks(COMPANY, &ids).await.unwrap();
    assert!(chunks.iter().all(|c| !c.content.contains("NAVIGATION") && !c.content.contains("FOOTER")));
    assert!(chunks.iter().any(|c| c.content.contains("# Alpha")));

    // Unchanged re-run: conditional requests, zero embeddings, nothing deleted.
    server.clear_log();
    let (s2, _) = crawl(&stack, &site).await;
    assert_eq!((s2.embedded, s2.deleted, s2.chunks), (0, 0, 0), "{s2:?}");
    assert_eq!(s2.unchanged, 4, "{s2:?}");
    assert!(server.state.lock().unwrap().not_modified >= 3, "conditional requests answered 304");
    assert_eq!(stack.counts().await.0, rows);

    // /b changes and /orphan disappears.
    server.route(
        "/b",
        Route::html(&page("Beta", &format!("{} brand new closing paragraph", words("beta", 300)), &["/a"])),
    );
    server.remove("/orphan");
    server.route("/sitemap1.xml", Route::text("application/xml", b"<urlset></urlset>"));
    let (s3, _) = crawl(&stack, &site).await;
    assert!(s3.embedded >= 1 && s3.embedded < s1.embedded, "only the changed chunks are embedded: {s3:?}");
    assert!(s3.deleted >= 1, "{s3:?}");
    let sources = stack.sources().await;
    assert!(!sources.contains(&server.url("/orphan")), "{sources:?}");
    let (rows, vecs, recorded) = stack.counts().await;
    assert_eq!((rows, vecs as i64), (recorded, recorded));
    assert_eq!(
        stack.top_source("brand new closing paragraph beta").await.as_deref(),
        Some(server.url("/b").as_str())
    );
}

#[tokio::test]
async fn prefix_and_depth_limit_the_crawl() {
    let server = fixture_site().await;
    let stack = Stack::new().await;
    let mut site = SiteOptions::new(&server.url("/")).unwrap();
    site.allow_private = true;
    site.use_sitemaps = false;
    site.max_depth = Some(0);
    let (s, _) = crawl(&stack, &site).await;
    assert_eq!(stack.sources().await, vec![server.url("/")], "{s:?}");

    let stack = Stack::new().await;
    let mut site = SiteOptions::new(&server.url("/")).unwrap();
    site.allow_private = true;
    site.max_pages = 2;
    let (s, _) = crawl(&stack, &site).await;
    assert_eq!(s.pages, 2, "{s:?}");
}

#[tokio::test]
async fn private_addresses_are_refused_without_allow_private() {
    let server = fixture_site().await;
    let stack = Stack::new().await;
    let site = SiteOptions::new(&server.url("/")).unwrap();
    let (sink, _) = recorder();
    let err = ingest_site(
        stack.sinks.target(),
        COMPANY,
        &site,
        &IngestOptions::default(),
        sink,
        &CancellationToken::new(),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("private"), "{err}");
    // A name that resolves to loopback is refused by the resolver too.
    let site = SiteOptions::new(&format!("http://localhost:{}/", server.addr.port())).unwrap();
    let (sink, _) = recorder();
    let err = ingest_site(
        stack.sinks.target(),
        COMPANY,
        &site,
        &IngestOptions::default(),
        sink,
        &CancellationToken::new(),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("private"), "{err}");
    assert!(server.requests().is_empty(), "nothing was requested: {:?}", server.requests());
    assert_eq!(stack.counts().await.0, 0);
}

#[tokio::test]
async fn redirect_off_site_is_skipped() {
    let server = fixture_site().await;
    server.route("/", Route::html(&page("Home", &words("home", 50), &["/away"])));
    server.route("/away", Route::redirect(302, "http://192.0.2.1/elsewhere"));
    let stack = Stack::new().await;
    let mut site = SiteOptions::new(&server.url("/")).unwrap();
    site.allow_private = true;
    site.use_sitemaps = false;
    let (s, events) = crawl(&stack, &site).await;
    assert!(s.failed.is_empty(), "{s:?}");
    assert!(
        events
            .iter()
            .any(|e| matches!(e, IngestEvent::Skipped { reason, .. } if reason.contains("off-site")))
    );
}

#[tokio::test]
async fn cancelled_crawl_resumes_without_duplicates() {
    let server = fixture_site().await;
    let stack = Stack::new().await;
    let mut site = SiteOptions::new(&server.url("/")).unwrap();
    site.allow_private = true;
    let cancel = CancellationToken::new();
    let c = cancel.clone();
    let sink: chatbot_core::ingest::EventSink = Arc::new(move |ev| {
        if matches!(ev, IngestEvent::Fetched { .. }) {
            c.cancel();
        }
    });
    let s = ingest_site(stack.sinks.target(), COMPANY, &site, &IngestOptions::default(), sink, &cancel)
        .await
        .unwrap();
    assert!(s.cancelled);
    let (full, _) = crawl(&stack, &site).await;
    assert!(!full.cancelled && full.failed.is_empty(), "{full:?}");
    let (rows, vecs, recorded) = stack.counts().await;
    assert_eq!((rows, vecs as i64), (recorded, recorded));
    assert_eq!(stack.sources().await.len(), 4);
}

/// Real material: Python's HTML documentation (Debian package python3.11-doc).
#[tokio::test]
async fn crawls_the_python_manual() {
    let root = Path::new("/usr/share/doc/python3.11/html");
    if !root.join("index.html").exists() {
        println!("skipped: {} not found (apt-get install python3.11-doc)", root.display());
        return;
    }
    let server = TestServer::start(Some(root.to_path_buf())).await;
    let stack = Stack::new().await;
    let mut site = SiteOptions::new(&server.url("/library/index.html")).unwrap();
    site.allow_private = true;
    site.prefix = Some("/library/".into());
    site.max_pages = 400;
    let opts = IngestOptions { concurrency: 8, ..IngestOptions::default() };
    let (sink, _) = recorder();
    let s1 = ingest_site(stack.sinks.target(), COMPANY, &site, &opts, sink, &CancellationToken::new())
        .await
        .unwrap();
    assert!(s1.failed.is_empty(), "{:?}", s1.failed);
    assert!(s1.documents >= 200, "{s1:?}");
    let sources = stack.sources().await;
    assert!(sources.iter().all(|s| s.contains("/library/")), "stayed under the prefix");
    let ids =
        stack.sinks.store.chunk_ids_for_source(COMPANY, &server.url("/library/json.html")).await.unwrap();
    let chunks = stack.sinks.store.get_chunks(COMPANY, &ids).await.unwrap();
    let text: String = chunks.iter().map(|c| c.content.as_str()).collect();
    assert!(text.contains("json.dumps"), "the json page's text is indexed");
    assert!(!text.contains("Theme Auto Light Dark"), "navigation chrome is dropped");
    let (rows, vecs, recorded) = stack.counts().await;
    assert_eq!((rows, vecs as i64), (recorded, recorded));
    // Unchanged re-run (the page limit stops the sweep but not the incremental check).
    let (sink, _) = recorder();
    let s2 = ingest_site(stack.sinks.target(), COMPANY, &site, &opts, sink, &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(s2.embedded, 0, "{s2:?}");
    assert_eq!(stack.counts().await.0, rows);
}

#[tokio::test]
async fn sitemap_bombs_and_link_floods_stay_within_the_queue_bound() {
    let server = TestServer::start(None).await;
    let base = server.url("");
    // A sitemap listing 50,000 pages and a start page with 100,000 links: far more than the queue
    // may hold.
    let entries: String = (0..50_000).map(|i| format!("<url><loc>{base}/s{i}</loc></url>")).collect();
    server.route(
        "/sitemap.xml",
        Route::text("application/xml", format!("<urlset>{entries}</urlset>").as_bytes()),
    );
    let links: String = (0..100_000).map(|i| format!("<a href=\"/l{i}\">l</a>")).collect();
    server.route(
        "/",
        Route::html(&page("Flood", &words("flood", 50), &[]).replace("</main>", &format!("{links}</main>"))),
    );
    let stack = Stack::new().await;
    let mut site = SiteOptions::new(&server.url("/")).unwrap();
    site.allow_private = true;
    site.max_pages = 1_000_000;
    site.max_queue = 200;
    let (summary, events) = crawl(&stack, &site).await;
    let discovered = events.iter().filter(|e| matches!(e, IngestEvent::Discovered { .. })).count();
    // The start page, at most `max_queue - 1` sitemap pages, then links only while the queue has
    // room (it held the sitemap pages when the start page's links arrived).
    assert!(discovered <= 2 * site.max_queue, "{discovered} URLs queued");
    assert!(discovered >= site.max_queue / 2, "{discovered} URLs queued");
    let requests = server.requests().len();
    assert!(requests <= 2 * site.max_queue + 5, "{requests} requests");
    assert_eq!(summary.deleted, 0);
    // The page limit bounds the queue as well.
    let stack = Stack::new().await;
    site.max_queue = 100_000;
    site.max_pages = 20;
    server.clear_log();
    let (_, events) = crawl(&stack, &site).await;
    let discovered = events.iter().filter(|e| matches!(e, IngestEvent::Discovered { .. })).count();
    assert!(discovered <= 2 * site.max_pages, "{discovered} URLs queued with max_pages 20");
    assert!(server.requests().len() <= site.max_pages + 5);
}
