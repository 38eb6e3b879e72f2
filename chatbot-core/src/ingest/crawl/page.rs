//! One page: fetch it (conditionally), classify it (HTML, PDF, other), extract its text and
//! links, and name it (canonical URL, de-duplication).

use std::sync::Arc;

use url::Url;

use super::dedup_key;
use super::fetch::{Ctx, FetchError};
use crate::ingest::extract::{self, TextFormat};
use crate::ingest::pipeline::{Document, IngestEvent};
use crate::ingest::{strip_validator, with_validator};

/// What a page task produced.
#[derive(Default)]
pub(super) struct TaskOut {
    pub(super) depth: usize,
    pub(super) links: Vec<Url>,
    pub(super) doc: Option<Document>,
    /// Keep this source's stored knowledge (fetched, unchanged, or failed transiently).
    pub(super) keep: Option<String>,
}

pub(super) async fn crawl_page(ctx: Arc<Ctx>, url: Url, depth: usize) -> TaskOut {
    let mut out = TaskOut { depth, ..TaskOut::default() };
    let src = url.to_string();
    let r = &ctx.reporter;
    if !ctx.allowed(&url) {
        r.skip(&src, "disallowed by robots.txt");
        return out;
    }
    let validators = match ctx.sinks.store.get_source(&ctx.company_id, &src).await {
        Ok(Some(prev)) => {
            let e = strip_validator(&ctx.fingerprint, prev.etag.as_deref()).map(String::from);
            let l = strip_validator(&ctx.fingerprint, prev.last_modified.as_deref()).map(String::from);
            if e.is_some() || l.is_some() { Some((e, l)) } else { None }
        }
        Ok(None) => None,
        Err(e) => {
            r.fail(&src, e.to_string());
            out.keep = Some(src);
            return out;
        }
    };
    let f = match ctx.fetch(&url, validators, ctx.opts.max_document_bytes, true).await {
        Ok(f) => f,
        Err(FetchError::OffSite(to)) => {
            r.skip(&src, format!("redirects off-site to {to}"));
            return out;
        }
        Err(FetchError::Duplicate(to)) => {
            r.skip(&src, format!("redirects to {to}, already crawled"));
            return out;
        }
        Err(FetchError::Other(reason)) => {
            r.fail(&src, reason);
            out.keep = Some(src);
            return out;
        }
    };
    r.emit(IngestEvent::Fetched { source: src.clone(), status: f.status });
    let final_src = f.url.to_string();
    match f.status {
        304 => {
            r.emit(IngestEvent::Unchanged { source: src.clone() });
            out.keep = Some(src);
            return out;
        }
        404 | 410 => {
            r.skip(&src, format!("gone (HTTP {})", f.status));
            return out;
        }
        s if !(200..300).contains(&s) => {
            r.fail(&src, format!("HTTP {s}"));
            out.keep = Some(src);
            return out;
        }
        _ => {}
    }
    let ct = f.content_type.split(';').next().unwrap_or_default().trim().to_string();
    let is_pdf = ct == "application/pdf"
        || ((ct.is_empty() || ct == "application/octet-stream") && f.body.starts_with(b"%PDF"));
    let is_html = ct == "text/html"
        || ct == "application/xhtml+xml"
        || (ct.is_empty() && {
            let head = String::from_utf8_lossy(&f.body[..f.body.len().min(1024)]).to_ascii_lowercase();
            head.contains("<html") || head.contains("<!doctype html")
        });
    let etag = with_validator(&ctx.fingerprint, f.etag.as_deref());
    let last_modified = with_validator(&ctx.fingerprint, f.last_modified.as_deref());
    if is_pdf {
        #[cfg(not(feature = "pdf"))]
        r.skip(&final_src, extract::PDF_NOT_BUILT);
        #[cfg(feature = "pdf")]
        match extract::pdf_to_sections(f.body, ctx.opts.pdf_timeout).await {
            Ok((text, sections)) => {
                r.emit(IngestEvent::Extracted { source: final_src.clone(), chars: text.len() });
                let title = f.url.path_segments().and_then(|mut s| s.next_back()).map(String::from);
                out.doc = Some(Document {
                    source: final_src.clone(),
                    title,
                    text,
                    format: TextFormat::Plain,
                    sections,
                    etag,
                    last_modified,
                });
            }
            Err(e) => r.fail(&final_src, e.to_string()),
        }
        out.keep = Some(final_src);
        return out;
    }
    if !is_html {
        r.skip(
            &src,
            format!("content type {:?} is not HTML or PDF", if ct.is_empty() { "unknown" } else { &ct }),
        );
        return out;
    }
    let base = f.url.clone();
    let body = f.body;
    let page = match extract::pool::run("html", None, move || {
        extract::html_to_text(&extract::decode_text(&body), Some(&base))
    })
    .await
    {
        Ok(p) => p,
        Err(e) => {
            r.fail(&final_src, format!("HTML extraction failed: {e}"));
            out.keep = Some(final_src);
            return out;
        }
    };
    if !page.nofollow {
        // The frontier queues at most `max_queue` URLs; a page never hands it more.
        out.links =
            page.links.into_iter().filter(|l| ctx.site.in_scope(l)).take(ctx.site.max_queue).collect();
    }
    // A canonical URL on the same site names the page; elsewhere it is ignored.
    let source = match page.canonical.filter(|c| ctx.site.in_scope(c)) {
        Some(c) => {
            if dedup_key(&c) != dedup_key(&f.url) && !ctx.visit(&c) {
                // Another URL of this page was (or will be) crawled under the canonical name.
                r.skip(&final_src, format!("duplicate of canonical {c}"));
                return out;
            }
            c.to_string()
        }
        None => final_src,
    };
    if page.noindex {
        r.skip(&source, "noindex");
        return out;
    }
    if page.text.trim().is_empty() {
        r.skip(&source, "no text");
        return out;
    }
    r.emit(IngestEvent::Extracted { source: source.clone(), chars: page.text.len() });
    out.keep = Some(source.clone());
    out.doc = Some(Document {
        source,
        title: page.title,
        text: page.text,
        format: TextFormat::Markdown,
        sections: page.sections,
        etag,
        last_modified,
    });
    out
}
