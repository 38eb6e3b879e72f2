//! Chunks that carry their context: documents cut at their headings (HTML `h1`-`h6`, Markdown
//! headings, PDF outlines), chunks that keep to sections and know their heading path, the path
//! stored with the chunk and shown to the model with it. The HTML case is a real page nobody
//! here wrote: the Python 3.11 tutorial's appendix (tests/data, from Debian's python3.11-doc,
//! PSF licence).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod ingest_common;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chatbot_core::ingest::extract::{
    Section, TextFormat, html_to_text, markdown_sections, outline_sections, pdf_outline,
    pdf_to_sections_blocking,
};
use chatbot_core::ingest::{
    ChunkSettings, Chunker, Document, IngestOptions, SectionChunk, SiteOptions, Sizing, chunk_document,
    ingest_site,
};
use chatbot_core::llm::{ChatModel, ChatRequest, Completion, ModelCapabilities, StreamEvent};
use chatbot_core::{AiConfig, Chatbot, Config, PartnerChat};
use futures::stream::BoxStream;
use lopdf::content::{Content, Operation};
use lopdf::{Bookmark, Dictionary, Object, Stream, dictionary};
use proptest::prelude::*;
use tokio_util::sync::CancellationToken;

const APPENDIX: &str = include_str!("data/python-tutorial-appendix.html");
const APPENDIX_TITLE: &str = "16. Appendix — Python 3.11.2 documentation";

fn chunker(size: usize, overlap: usize) -> Chunker {
    Chunker::new(ChunkSettings::new(Sizing::Characters, size, overlap).unwrap()).unwrap()
}

fn doc(title: Option<&str>, text: &str, format: TextFormat, sections: Vec<Section>) -> Document {
    Document {
        source: "s".into(),
        title: title.map(String::from),
        text: text.into(),
        format,
        sections,
        etag: None,
        last_modified: None,
    }
}

/// Every chunk's path is the path of a section (or, once the page title is left out, such a
/// path without its first element); every word of the text is in some chunk.
fn assert_paths_exist_and_nothing_lost(sections: &[Section], chunks: &[SectionChunk], text: &str) {
    let paths: HashSet<Vec<String>> = sections
        .iter()
        .flat_map(|s| [s.headings.clone(), s.headings.iter().skip(1).cloned().collect()])
        .collect();
    for c in chunks {
        assert!(paths.contains(&c.headings), "{:?} is not a path of the document", c.headings);
    }
    let chunk_words: HashSet<&str> = chunks.iter().flat_map(|c| c.text.split_whitespace()).collect();
    for w in text.split_whitespace() {
        assert!(chunk_words.contains(w), "{w:?} is in no chunk");
    }
}

fn path(p: &[&str]) -> Vec<String> {
    p.iter().map(|s| (*s).to_string()).collect()
}

#[test]
fn python_appendix_sections_follow_its_headings() {
    let page = html_to_text(APPENDIX, None);
    assert_eq!(page.title.as_deref(), Some(APPENDIX_TITLE));
    let paths: Vec<Vec<String>> = page.sections.iter().map(|s| s.headings.clone()).collect();
    assert_eq!(
        paths,
        [
            path(&["16. Appendix"]),
            path(&["16. Appendix", "16.1. Interactive Mode"]),
            path(&["16. Appendix", "16.1. Interactive Mode", "16.1.1. Error Handling"]),
            path(&["16. Appendix", "16.1. Interactive Mode", "16.1.2. Executable Python Scripts"]),
            path(&["16. Appendix", "16.1. Interactive Mode", "16.1.3. The Interactive Startup File"]),
            path(&["16. Appendix", "16.1. Interactive Mode", "16.1.4. The Customization Modules"]),
        ],
        "the sidebar's headings (Previous topic, This Page, Navigation) are not sections"
    );
    // The sections are the text, cut: nothing more, nothing less.
    let joined: Vec<&str> = page.sections.iter().flat_map(|s| s.text.split_whitespace()).collect();
    assert_eq!(joined, page.text.split_whitespace().collect::<Vec<_>>());
    assert!(page.sections[2].text.starts_with("### 16.1.1. Error Handling"), "{}", page.sections[2].text);
}

#[test]
fn python_appendix_chunks_carry_their_heading_paths() {
    let page = html_to_text(APPENDIX, None);
    let d = doc(page.title.as_deref(), &page.text, TextFormat::Markdown, page.sections.clone());
    let chunks = chunk_document(&chunker(1000, 200), &d);
    assert_paths_exist_and_nothing_lost(&page.sections, &chunks, &page.text);
    assert!(chunks.iter().all(|c| c.text.chars().count() <= 1000));
    let find =
        |needle: &str| chunks.iter().find(|c| c.text.contains(needle)).unwrap_or_else(|| panic!("{needle}"));
    // The page title names the first heading, so paths start below it.
    assert_eq!(
        find("When an error occurs, the interpreter prints an error message").headings,
        path(&["16.1. Interactive Mode", "16.1.1. Error Handling"])
    );
    assert_eq!(find("PYTHONSTARTUP").headings.first().map(String::as_str), Some("16.1. Interactive Mode"),);
    assert_eq!(
        find("sitecustomize").headings,
        path(&["16.1. Interactive Mode", "16.1.4. The Customization Modules"])
    );
    // The headings with no text of their own open the first chunk, whose text is all under
    // Error Handling; the sections too long to share a chunk are chunks of their own.
    assert!(
        chunks[0].text.starts_with("# 16. Appendix¶\n\n## 16.1. Interactive Mode¶\n\n### 16.1.1."),
        "{:?}",
        chunks[0]
    );
    assert!(!chunks.iter().any(|c| c.text.contains("16.1.1.") && c.text.contains("16.1.2.")));
    // Sections merge up to the chunk size: with a big one the page is one chunk, under the
    // heading all its text is under.
    let whole = chunk_document(&chunker(20_000, 0), &d);
    assert_eq!(whole.len(), 1);
    assert_eq!(whole[0].headings, path(&["16.1. Interactive Mode"]));
}

#[test]
fn markdown_sections_from_atx_and_setext_headings() {
    let md = "# Acme guide\n\nWelcome to the guide.\n\nInstalling\n==========\n\n## On Linux\n\nUse apt.\n\n\
```sh\n# apt install acme\n```\n\n## On macOS\n\nUse brew.\n\nUsing it\n--------\n\nRun `acme`.\n";
    let sections = markdown_sections(md);
    let paths: Vec<Vec<String>> = sections.iter().map(|s| s.headings.clone()).collect();
    assert_eq!(
        paths,
        [
            path(&["Acme guide"]),
            path(&["Installing"]),
            path(&["Installing", "On Linux"]),
            path(&["Installing", "On macOS"]),
            path(&["Installing", "Using it"]),
        ]
    );
    let d = doc(Some("Acme guide"), md, TextFormat::Markdown, sections.clone());
    let chunks = chunk_document(&chunker(60, 0), &d);
    assert_paths_exist_and_nothing_lost(&sections, &chunks, md);
    let linux = chunks.iter().find(|c| c.text.contains("apt install")).unwrap();
    assert_eq!(linux.headings, path(&["Installing", "On Linux"]), "a comment in code is not a heading");
    let intro = chunks.iter().find(|c| c.text.contains("Welcome")).unwrap();
    assert!(intro.headings.is_empty(), "the title is not repeated as a section: {:?}", intro.headings);
}

/// A PDF with one line of text per entry and, when `outline` is set, bookmarks for the
/// headings (nested as given).
fn pdf(lines: &[&str], outline: &[(usize, &str)]) -> Vec<u8> {
    let mut doc = lopdf::Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font_id =
        doc.add_object(dictionary! {"Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica"});
    let resources_id = doc.add_object(dictionary! {"Font" => dictionary! {"F1" => font_id}});
    let mut ops = vec![
        Operation::new("BT", vec![]),
        Operation::new("Tf", vec!["F1".into(), 12.into()]),
        Operation::new("Td", vec![50.into(), 800.into()]),
    ];
    for l in lines {
        ops.push(Operation::new("Tj", vec![Object::string_literal(*l)]));
        ops.push(Operation::new("Td", vec![0.into(), (-24).into()]));
    }
    ops.push(Operation::new("ET", vec![]));
    let content = Content { operations: ops };
    let content_id = doc.add_object(Stream::new(Dictionary::new(), content.encode().unwrap()));
    let page_id =
        doc.add_object(dictionary! {"Type" => "Page", "Parent" => pages_id, "Contents" => content_id});
    let pages = dictionary! {
        "Type" => "Pages",
        "Kids" => vec![page_id.into()],
        "Count" => 1,
        "Resources" => resources_id,
        "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
    };
    doc.objects.insert(pages_id, Object::Dictionary(pages));
    let mut parents: Vec<u32> = Vec::new();
    for (depth, title) in outline {
        parents.truncate(depth - 1);
        let id =
            doc.add_bookmark(Bookmark::new((*title).into(), [0.0; 3], 0, page_id), parents.last().copied());
        parents.push(id);
    }
    let mut catalog = dictionary! {"Type" => "Catalog", "Pages" => pages_id};
    if let Some(outline_id) = doc.build_outline() {
        catalog.set("Outlines", outline_id);
    }
    let catalog_id = doc.add_object(catalog);
    doc.trailer.set("Root", catalog_id);
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

const PDF_LINES: &[&str] = &[
    "Contents",
    "1 Getting started 1",
    "2 Usage 1",
    "1 Getting started",
    "Install the tool with the package manager.",
    "1.1 Requirements",
    "A recent kernel and two gigabytes of memory.",
    "2 Usage",
    "Run the tool once a day from cron.",
];

#[test]
fn pdf_sections_follow_its_outline() {
    let bytes = pdf(PDF_LINES, &[(1, "Getting started"), (2, "Requirements"), (1, "Usage")]);
    assert_eq!(
        pdf_outline(&bytes),
        [(1, "Getting started".to_string()), (2, "Requirements".to_string()), (1, "Usage".to_string())]
    );
    let (text, sections) = pdf_to_sections_blocking(&bytes).unwrap();
    let paths: Vec<Vec<String>> = sections.iter().map(|s| s.headings.clone()).collect();
    assert_eq!(
        paths,
        [vec![], path(&["Getting started"]), path(&["Getting started", "Requirements"]), path(&["Usage"])],
        "{sections:?}"
    );
    assert!(sections[0].text.contains("2 Usage 1"), "the contents list is not a heading: {sections:?}");
    let d = doc(Some("manual.pdf"), &text, TextFormat::Plain, sections.clone());
    let chunks = chunk_document(&chunker(60, 10), &d);
    assert_paths_exist_and_nothing_lost(&sections, &chunks, &text);
    let memory = chunks.iter().find(|c| c.text.contains("gigabytes")).unwrap();
    assert_eq!(memory.headings, path(&["Getting started", "Requirements"]));

    // Without an outline: one section, no headings.
    let plain = pdf(PDF_LINES, &[]);
    assert!(pdf_outline(&plain).is_empty());
    let (_, sections) = pdf_to_sections_blocking(&plain).unwrap();
    assert_eq!(sections.len(), 1);
    assert!(sections[0].headings.is_empty());
}

#[test]
fn a_looping_pdf_outline_ends() {
    let bytes = pdf(PDF_LINES, &[(1, "Getting started"), (1, "Usage")]);
    let mut doc = lopdf::Document::load_mem(&bytes).unwrap();
    // Point every outline item's /Next and /First back at the first item.
    let catalog = doc.catalog().unwrap().clone();
    let outlines = doc.get_dictionary(catalog.get(b"Outlines").unwrap().as_reference().unwrap()).unwrap();
    let first = outlines.get(b"First").unwrap().as_reference().unwrap();
    let items: Vec<_> = doc
        .objects
        .iter()
        .filter(|(_, o)| o.as_dict().is_ok_and(|d| d.has(b"Title")))
        .map(|(id, _)| *id)
        .collect();
    assert_eq!(items.len(), 2);
    for id in items {
        let d = doc.get_object_mut(id).unwrap().as_dict_mut().unwrap();
        d.set("Next", first);
        d.set("First", first);
    }
    let mut looped = Vec::new();
    doc.save_to(&mut looped).unwrap();
    let outline = pdf_outline(&looped);
    assert!(!outline.is_empty() && outline.len() <= 2, "{outline:?}");
}

fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z]{1,9}",
        Just("Übersicht".to_string()),
        Just("日本語".to_string()),
        Just("K\u{212A}".to_string()),
    ]
}

fn words(n: std::ops::Range<usize>) -> impl Strategy<Value = String> {
    prop::collection::vec(word(), n).prop_map(|w| w.join(" "))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any heading structure: chunk paths are paths of the document, no word is lost, no chunk
    /// is over size.
    #[test]
    fn markdown_chunks_keep_paths_and_words(
        parts in prop::collection::vec((1usize..5, words(1..4), words(0..60)), 0..12),
        size in 40usize..300,
        overlap_pct in 0usize..40,
    ) {
        let md: String = parts
            .iter()
            .map(|(level, heading, body)| format!("{} {heading}\n\n{body}\n\n", "#".repeat(*level)))
            .collect();
        let sections = markdown_sections(&md);
        let headings: HashSet<String> = parts.iter().map(|(_, h, _)| h.clone()).collect();
        for s in &sections {
            prop_assert!(s.headings.iter().all(|h| headings.contains(h)), "{:?}", s.headings);
        }
        let title = parts.first().map(|(_, h, _)| h.as_str());
        let d = doc(title, &md, TextFormat::Markdown, sections.clone());
        let chunks = chunk_document(&chunker(size, size * overlap_pct / 100), &d);
        assert_paths_exist_and_nothing_lost(&sections, &chunks, &md);
        prop_assert!(chunks.iter().all(|c| c.text.chars().count() <= size));
    }

    /// Hostile HTML headings: the sections still cut the text exactly.
    #[test]
    fn html_sections_cut_the_text(parts in prop::collection::vec((1usize..7, words(0..3), words(0..20)), 0..10)) {
        let html: String = parts
            .iter()
            .map(|(l, h, b)| format!("<h{l}>{h}<h{}>in</h{}></h{l}><p>{b}</p>", (l % 6) + 1, (l % 6) + 1))
            .collect();
        let page = html_to_text(&format!("<html><body>{html}</body></html>"), None);
        let joined: Vec<&str> = page.sections.iter().flat_map(|s| s.text.split_whitespace()).collect();
        prop_assert_eq!(joined, page.text.split_whitespace().collect::<Vec<_>>());
        prop_assert!(page.sections.iter().all(|s| s.headings.iter().all(|h| !h.is_empty() && h.chars().count() <= 200)));
    }
}

fn hostile() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,40}",
        any::<String>(),
        Just("K\u{212A}İẞ\u{0}\u{200F}#¶ \n===\n".to_string()),
        Just("</h2><h1>".to_string()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Arbitrary Unicode in headings and text: no panic, sections cut the text exactly, chunk
    /// paths exist and no word is lost, with Markdown, HTML and outline sections.
    #[test]
    fn hostile_headings_and_text(parts in prop::collection::vec((1usize..7, hostile(), hostile()), 0..8)) {
        let md: String = parts.iter().map(|(l, h, b)| format!("{} {h}\n{b}\n", "#".repeat(*l))).collect();
        let html: String = parts.iter().map(|(l, h, b)| format!("<h{l}>{h}</h{l}>{b}")).collect();
        let page = html_to_text(&html, None);
        let outline: Vec<(u8, String)> = parts.iter().map(|(l, h, _)| (*l as u8, h.clone())).collect();
        // No overlap, so the chunks are the text in order: every character but white space
        // comes back exactly once (a splitter may cut inside a word here, never drop one).
        let c = chunker(50, 0);
        let visible = |t: &str| t.chars().filter(|c| !c.is_whitespace()).collect::<String>();
        for (text, format, sections) in [
            (md.clone(), TextFormat::Markdown, markdown_sections(&md)),
            (page.text.clone(), TextFormat::Markdown, page.sections.clone()),
            (md.clone(), TextFormat::Plain, outline_sections(&md, &outline)),
        ] {
            let joined: Vec<&str> = sections.iter().flat_map(|s| s.text.split_whitespace()).collect();
            prop_assert_eq!(joined, text.split_whitespace().collect::<Vec<_>>());
            let d = doc(parts.first().map(|p| p.1.as_str()), &text, format, sections.clone());
            let chunks = chunk_document(&c, &d);
            let paths: HashSet<Vec<String>> = sections
                .iter()
                .flat_map(|s| [s.headings.clone(), s.headings.iter().skip(1).cloned().collect()])
                .collect();
            prop_assert!(chunks.iter().all(|c| paths.contains(&c.headings)));
            let all: String = chunks.iter().map(|c| visible(&c.text)).collect();
            prop_assert_eq!(all, visible(&text));
        }
    }
}

#[test]
fn deep_markdown_does_not_overflow_the_stack() {
    let t = std::thread::Builder::new().stack_size(2 * 1024 * 1024).spawn(|| {
        for md in ["> ".repeat(20_000) + "# quoted", "#".repeat(30_000), "# a\n".repeat(20_000)] {
            let s = markdown_sections(&md);
            assert!(s.iter().all(|s| s.headings.len() <= 16));
        }
    });
    t.unwrap().join().unwrap();
}

/// A model that records what it is asked.
#[derive(Default)]
struct Recording {
    seen: Mutex<Vec<ChatRequest>>,
}

#[async_trait]
impl ChatModel for Recording {
    fn provider(&self) -> &'static str {
        "recording"
    }

    fn capabilities(&self) -> ModelCapabilities {
        ModelCapabilities::generative()
    }

    async fn complete(&self, req: &ChatRequest) -> chatbot_core::Result<Completion> {
        self.seen.lock().unwrap().push(req.clone());
        Ok(Completion { text: "MODEL ANSWER".into(), model: "recording-1".into(), usage: None })
    }

    async fn stream(
        &self,
        req: &ChatRequest,
    ) -> chatbot_core::Result<BoxStream<'static, chatbot_core::Result<StreamEvent>>> {
        let c = self.complete(req).await?;
        Ok(Box::pin(futures::stream::iter([
            Ok(StreamEvent::Delta(c.text)),
            Ok(StreamEvent::Done { model: c.model, usage: None }),
        ])))
    }
}

#[tokio::test]
async fn the_section_is_stored_searched_and_shown_to_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let model = Arc::new(Recording::default());
    let bot = Chatbot::builder()
        .config(Config::offline(dir.path().to_path_buf()))
        .model(model.clone())
        .build()
        .await
        .unwrap();
    bot.seed_demo().await.unwrap();
    let op = bot.operator_context("123").await.unwrap();
    bot.set_ai_config(&op, &AiConfig { allowed_topics: vec!["Python".into()], ..AiConfig::default() })
        .await
        .unwrap();
    let docs = tempfile::tempdir().unwrap();
    let file = docs.path().join("appendix.html");
    std::fs::write(&file, APPENDIX).unwrap();
    let sink: chatbot_core::ingest::EventSink = Arc::new(|_| {});
    let summary = bot
        .knowledge(&op)
        .ingest_files(&[file], &IngestOptions::default(), sink, &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(summary.documents, 1, "{summary:?}");

    let hits = bot.knowledge(&op).search("Python interpreter error handling stack trace", 3).await.unwrap();
    let hit =
        hits.iter().find(|h| h.text.contains("When an error occurs")).expect("the error handling chunk");
    assert_eq!(hit.title.as_deref(), Some(APPENDIX_TITLE));
    assert_eq!(hit.section.as_deref(), Some("16.1. Interactive Mode > 16.1.1. Error Handling"));
    let json = serde_json::to_value(hit).unwrap();
    assert_eq!(json["section"], "16.1. Interactive Mode > 16.1.1. Error Handling");
    // Hits without a section serialise as before (no `section` key).
    let demo = bot.knowledge(&op).search("opening hours", 1).await.unwrap();
    assert!(demo[0].section.is_none() && serde_json::to_value(&demo[0]).unwrap().get("section").is_none());

    let ctx = bot.public_context("123").await.unwrap();
    let ask = "How does the Python interpreter handle an error in interactive mode?";
    let reply = bot
        .partner_chat(&ctx, PartnerChat { user_id: Some("v1".into()), ..PartnerChat::new(ask) })
        .await
        .unwrap();
    assert_eq!(reply.message, "MODEL ANSWER");
    let seen = model.seen.lock().unwrap();
    let req = seen.last().unwrap();
    let p = req.passages.iter().find(|p| p.text.contains("When an error occurs")).expect("the passage");
    assert_eq!(p.section.as_deref(), Some("16.1. Interactive Mode > 16.1.1. Error Handling"));
    let system = &req.messages[0].content;
    assert!(
        system.contains(&format!(
            "{APPENDIX_TITLE} — 16.1. Interactive Mode > 16.1.1. Error Handling (source: "
        )),
        "{system}"
    );
}

#[tokio::test]
async fn crawled_pages_and_pdfs_store_their_sections() {
    use ingest_common::{COMPANY, Route, Stack, TestServer, recorder};
    let server = TestServer::start(None).await;
    server.route(
        "/",
        Route::html(
            "<html><head><title>Docs</title></head><body><main><h1>Docs</h1><p>Start with the \
             <a href=\"/appendix.html\">appendix</a> or the <a href=\"/manual.pdf\">manual</a>.</p></main></body></html>",
        ),
    );
    server.route("/appendix.html", Route::html(APPENDIX));
    let manual = pdf(PDF_LINES, &[(1, "Getting started"), (2, "Requirements"), (1, "Usage")]);
    server.route("/manual.pdf", Route::text("application/pdf", &manual));
    let stack = Stack::new().await;
    let mut site = SiteOptions::new(&server.url("/")).unwrap();
    site.allow_private = true;
    let (sink, _) = recorder();
    let opts = IngestOptions {
        // Small chunks: the test PDF's sections would share one chunk of 1,000 characters.
        chunk: ChunkSettings::new(Sizing::Characters, 64, 8).unwrap(),
        ..IngestOptions::default()
    };
    ingest_site(stack.sinks.target(), COMPANY, &site, &opts, sink, &CancellationToken::new()).await.unwrap();

    let store = &stack.sinks.store;
    let sections_of = |source: String| async move {
        let ids = store.chunk_ids_for_source(COMPANY, &source).await.unwrap();
        let chunks = store.get_chunks(COMPANY, &ids).await.unwrap();
        assert!(!chunks.is_empty(), "{source} has chunks");
        chunks
            .into_iter()
            .map(|c| (c.metadata.get("section").and_then(|s| s.as_str()).map(String::from), c.content))
            .collect::<Vec<_>>()
    };
    let appendix = sections_of(server.url("/appendix.html")).await;
    let (section, _) = appendix.iter().find(|(_, t)| t.contains("When an error occurs")).unwrap();
    assert_eq!(section.as_deref(), Some("16.1. Interactive Mode > 16.1.1. Error Handling"));
    let manual = sections_of(server.url("/manual.pdf")).await;
    let (section, _) = manual.iter().find(|(_, t)| t.contains("gigabytes")).unwrap();
    assert_eq!(section.as_deref(), Some("Getting started > Requirements"));
    // The title page names its only heading: no section.
    let home = sections_of(server.url("/")).await;
    assert!(home.iter().all(|(s, _)| s.is_none()), "{home:?}");
}
