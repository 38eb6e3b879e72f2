//! The breadth-first frontier: page tasks run with bounded concurrency; their links are queued
//! (up to the depth limit), their documents sent to the indexer; pages known from earlier runs
//! are fetched last; the page limit stops the queue.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use url::Url;

use super::SiteOptions;
use super::fetch::Ctx;
use super::page::{TaskOut, crawl_page};
use crate::ingest::pipeline::{Document, IngestEvent, Produced};

/// Crawl from `queue` until it is empty (then `seeds`, the sources stored by earlier runs),
/// the page limit is reached or `cancel` fires. A run cut short by the page limit, or whose
/// queue overflowed (`truncated`: the sitemaps already did), is not complete: pages it did not
/// visit are not forgotten.
///
/// The queue holds at most `max_queue` URLs and never more than the pages still to be started
/// (`max_pages` minus those started): links beyond that would never be fetched, so a page with
/// a million links costs no memory beyond the bound.
pub(super) async fn crawl(
    ctx: Arc<Ctx>,
    mut queue: VecDeque<(Url, usize)>,
    seeds: Vec<Url>,
    mut truncated: bool,
    tx: mpsc::Sender<Document>,
    cancel: &CancellationToken,
) -> Produced {
    let site = &ctx.site;
    let seed_depth = site.max_depth.unwrap_or(0);
    let mut seeds = Some(seeds);
    let mut keep: HashSet<String> = HashSet::new();
    let mut inflight: JoinSet<TaskOut> = JoinSet::new();
    let mut started = 0usize;
    let mut emitted: HashSet<String> = HashSet::new();
    loop {
        if cancel.is_cancelled() {
            break;
        }
        while inflight.len() < ctx.opts.concurrency.max(1) {
            let Some((u, d)) = queue.pop_front() else { break };
            if started >= site.max_pages {
                truncated = true;
                queue.clear();
                break;
            }
            started += 1;
            inflight.spawn(crawl_page(Arc::clone(&ctx), u, d));
        }
        if inflight.is_empty() {
            match seeds.take() {
                Some(s) => {
                    for u in s {
                        if queue.len() >= room(site, started) {
                            truncated = true;
                            break;
                        }
                        if ctx.visit(&u) {
                            queue.push_back((u, seed_depth));
                        }
                    }
                    continue;
                }
                None => break,
            }
        }
        let joined = tokio::select! {
            biased;
            () = cancel.cancelled() => break,
            j = inflight.join_next() => j,
        };
        let Some(joined) = joined else { continue };
        let out = match joined {
            Ok(o) => o,
            Err(e) => {
                tracing::error!(error = %e, "crawl task failed");
                continue;
            }
        };
        if let Some(k) = out.keep {
            keep.insert(k);
        }
        if site.max_depth.is_none_or(|m| out.depth < m) {
            for l in out.links {
                if queue.len() >= room(site, started) {
                    truncated = true;
                    break;
                }
                if ctx.visit(&l) {
                    ctx.reporter.emit(IngestEvent::Discovered { source: l.to_string() });
                    queue.push_back((l, out.depth + 1));
                }
            }
        }
        if let Some(doc) = out.doc {
            if !emitted.insert(doc.source.clone()) {
                ctx.reporter.skip(&doc.source, "duplicate of a page already ingested");
                continue;
            }
            if tx.send(doc).await.is_err() {
                break;
            }
        }
    }
    inflight.abort_all();
    if truncated && !cancel.is_cancelled() {
        tracing::info!(
            max_pages = site.max_pages,
            "page limit reached; not removing pages that were not visited"
        );
    }
    Produced { keep, complete: !truncated }
}

/// How many URLs the queue may hold with `started` pages started.
fn room(site: &SiteOptions, started: usize) -> usize {
    site.max_queue.min(site.max_pages.saturating_sub(started))
}
