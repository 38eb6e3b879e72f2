//! `chatbot ingest ...`: crawl a site or read files into a company's knowledge, show what it
//! holds, forget it. Progress bars on a terminal, plain log lines otherwise, one JSON summary
//! with `--json`. Ctrl-C stops cleanly; running the same command again resumes.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chatbot_core::Knowledge;
use chatbot_core::ingest::sync::parse_interval;
use chatbot_core::ingest::{
    EventSink, IngestEvent, IngestOptions, IngestSummary, SiteOptions, SourceSpec, SyncOutcome, SyncReport,
};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio_util::sync::CancellationToken;

use super::open_with;
use crate::Global;

/// Chunking flags shared by `site` and `files`.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct ChunkArgs {
    /// Chunk sizing: `tokens` (cl100k, for OpenAI embeddings), `chars`, or `auto` (tokens for
    /// OpenAI models, characters otherwise).
    #[arg(long, default_value = "auto")]
    sizing: String,
    /// Chunk size (default 500 tokens or 1000 characters).
    #[arg(long)]
    chunk_size: Option<usize>,
    /// Overlap between chunks (default 50 tokens or 200 characters).
    #[arg(long)]
    chunk_overlap: Option<usize>,
    /// Documents fetched / read / extracted at once.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Longest one PDF's extraction may take, in seconds.
    #[arg(long, default_value_t = 60)]
    pdf_timeout: u64,
}

/// Registration flags shared by `site` and `files`.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct SyncArgs {
    /// How often `ingest sync` (and `serve --sync`) runs this source again: 30m, 6h, 1d, 2w;
    /// 0 registers it for `ingest sync --force` only.
    #[arg(long, default_value = "1d")]
    interval: String,
    /// A one-off ingest: do not register the source for `ingest sync`.
    #[arg(long, conflicts_with = "interval")]
    no_sync: bool,
}

impl SyncArgs {
    /// `None` for a one-off ingest, else the interval to register.
    fn interval(&self) -> anyhow::Result<Option<Duration>> {
        if self.no_sync {
            return Ok(None);
        }
        Ok(Some(parse_interval(&self.interval)?))
    }
}

/// Ingest commands.
#[derive(clap::Subcommand, Debug)]
pub(crate) enum IngestCommand {
    /// Crawl a website (robots.txt obeyed, sitemap first, same host) into a company's knowledge.
    Site {
        /// Start URL (http:// or https://).
        url: String,
        /// Company id.
        #[arg(long)]
        company: String,
        /// Only crawl URLs whose path starts with this (e.g. /docs/).
        #[arg(long)]
        prefix: Option<String>,
        /// Most pages to fetch.
        #[arg(long, default_value_t = 10_000)]
        max_pages: usize,
        /// Most link hops from the start URL (default: no limit).
        #[arg(long)]
        max_depth: Option<usize>,
        /// Milliseconds between two requests to the host (robots.txt Crawl-delay wins if longer).
        #[arg(long, default_value_t = 0)]
        delay_ms: u64,
        /// Per-request timeout in seconds.
        #[arg(long, default_value_t = 30)]
        timeout: u64,
        /// Allow private and loopback addresses (refused by default).
        #[arg(long)]
        allow_private: bool,
        /// Do not read sitemap.xml.
        #[arg(long)]
        no_sitemap: bool,
        #[command(flatten)]
        chunking: ChunkArgs,
        #[command(flatten)]
        sync: SyncArgs,
    },
    /// Ingest files and folders (Markdown, text, HTML, PDF; folders recursively).
    Files {
        /// Files or folders.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Company id.
        #[arg(long)]
        company: String,
        #[command(flatten)]
        chunking: ChunkArgs,
        #[command(flatten)]
        sync: SyncArgs,
    },
    /// Show what a company's knowledge holds: documents, chunk counts, last ingest time, and
    /// the registered sources (kind, location, interval, last run, next due).
    Status {
        /// Company id.
        company_id: String,
    },
    /// Run registered sources again (of one company, or of all): those whose interval has
    /// passed, or all with --force. Conditional requests; unchanged pages are not embedded
    /// again; pages gone from the site (or files from the folder) are removed.
    Sync {
        /// Company id (default: every company).
        company_id: Option<String>,
        /// Ignore the intervals: run every registered source now.
        #[arg(long)]
        force: bool,
    },
    /// Stop syncing a registered source (its id or location, as `status` lists them); its
    /// knowledge stays (see `forget`).
    Unregister {
        /// Company id.
        company_id: String,
        /// Source id or location.
        source: String,
    },
    /// Rebuild a company's search indexes from its stored chunks with the configured embedder
    /// and text analysis, without fetching anything again (the upgrade path when search says
    /// the index was built with another embedder or analysis).
    Reindex {
        /// Company id.
        company_id: String,
    },
    /// Delete a source's knowledge, or all of a company's (vectors included).
    Forget {
        /// Company id.
        company_id: String,
        /// Only this source (URL or path, as `status` lists it).
        #[arg(long)]
        source: Option<String>,
    },
}

impl ChunkArgs {
    /// The ingest options these flags ask for. The chunk defaults and the "auto" sizing rule
    /// are the core's, and so are the limits on concurrency and timeouts.
    fn options(&self, knowledge: &Knowledge<'_>) -> anyhow::Result<IngestOptions> {
        let mut opts = knowledge.chunk_options(&self.sizing, self.chunk_size, self.chunk_overlap)?;
        opts.concurrency = self.concurrency;
        opts.pdf_timeout = Duration::from_secs(self.pdf_timeout);
        Ok(opts)
    }
}

/// Draws events: progress bars on a terminal, log lines otherwise, nothing with `--json`.
fn event_sink(json: bool) -> (EventSink, Option<MultiProgress>) {
    if json {
        return (Arc::new(|_| {}), None);
    }
    if !std::io::stderr().is_terminal() {
        let sink: EventSink = Arc::new(|ev| match ev {
            IngestEvent::Fetched { source, status } => eprintln!("fetched {status} {source}"),
            IngestEvent::Committed { source, chunks } => eprintln!("indexed {source} ({chunks} chunks)"),
            IngestEvent::Unchanged { source } => eprintln!("unchanged {source}"),
            IngestEvent::Deleted { source, chunks } => eprintln!("deleted {chunks} chunks of {source}"),
            IngestEvent::Skipped { source, reason } => eprintln!("skipped {source}: {reason}"),
            IngestEvent::Failed { source, reason } => eprintln!("failed {source}: {reason}"),
            IngestEvent::Embedded { count } => eprintln!("embedded and upserted {count} chunks"),
            IngestEvent::Discovered { .. } | IngestEvent::Extracted { .. } | IngestEvent::Chunked { .. } => {}
        });
        return (sink, None);
    }
    let mp = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template("{prefix:>20} {bar:30} {pos}/{len} {wide_msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    let bar = |name: &str| {
        let b = mp.add(ProgressBar::new(0));
        b.set_style(style.clone());
        b.set_prefix(name.to_string());
        b
    };
    let (pages, docs, embedded, upserted) =
        (bar("pages fetched"), bar("documents extracted"), bar("chunks embedded"), bar("vectors upserted"));
    let sink: EventSink = Arc::new(move |ev| match ev {
        IngestEvent::Discovered { .. } => {
            pages.inc_length(1);
            docs.inc_length(1);
        }
        IngestEvent::Fetched { source, .. } => {
            pages.inc(1);
            pages.set_message(source);
        }
        IngestEvent::Extracted { .. } | IngestEvent::Unchanged { .. } => docs.inc(1),
        IngestEvent::Skipped { .. } => docs.dec_length(1),
        IngestEvent::Failed { source, reason } => {
            docs.dec_length(1);
            docs.println(format!("failed {source}: {reason}"));
        }
        IngestEvent::Chunked { to_embed, .. } => {
            embedded.inc_length(to_embed as u64);
            upserted.inc_length(to_embed as u64);
        }
        IngestEvent::Embedded { count } => {
            embedded.inc(count as u64);
            upserted.inc(count as u64);
        }
        IngestEvent::Committed { .. } | IngestEvent::Deleted { .. } => {}
    });
    (sink, Some(mp))
}

fn print_summary(s: &IngestSummary, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string(s)?);
    } else {
        println!(
            "pages {}, documents {}, chunks {}, embedded {}, unchanged {}, deleted {}, skipped {}, failed {}",
            s.pages,
            s.documents,
            s.chunks,
            s.embedded,
            s.unchanged,
            s.deleted,
            s.skipped,
            s.failed.len()
        );
        for f in &s.failed {
            println!("  failed {}: {}", f.source, f.reason);
        }
    }
    Ok(())
}

fn print_sync_reports(reports: &[SyncReport], json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string(reports)?);
        return Ok(());
    }
    if reports.is_empty() {
        println!("no registered source is due (use --force to sync them all now)");
    }
    for r in reports {
        let outcome = match r.outcome {
            SyncOutcome::Synced => "synced",
            SyncOutcome::Skipped => "skipped",
            SyncOutcome::Failed => "FAILED",
            SyncOutcome::Cancelled => "cancelled",
        };
        println!(
            "{outcome} {} {} (company {}): pages {}, unchanged {}, changed {}, added {}, removed {}, embedded {}, failed {} in {:.1} s",
            r.kind,
            r.location.replace('\n', ", "),
            r.company_id,
            r.pages,
            r.unchanged,
            r.changed,
            r.added,
            r.removed,
            r.embedded,
            r.failed.len(),
            r.seconds
        );
        if let Some(e) = &r.error {
            println!("  {e}");
        }
        for f in &r.failed {
            println!("  failed {}: {}", f.source, f.reason);
        }
    }
    Ok(())
}

/// Human-readable interval.
fn interval_text(secs: i64) -> String {
    match secs {
        0 => "manual (sync --force)".to_string(),
        s if s % 86_400 == 0 => format!("every {}d", s / 86_400),
        s if s % 3600 == 0 => format!("every {}h", s / 3600),
        s if s % 60 == 0 => format!("every {}m", s / 60),
        s => format!("every {s}s"),
    }
}

fn print_registered(sources: &[chatbot_core::store::KnowledgeSource]) {
    if sources.is_empty() {
        println!("no registered sources (ingest site / ingest files register theirs unless --no-sync)");
        return;
    }
    println!("registered sources ({}):", sources.len());
    // "2026-01-31 12:00:00 UTC" (no fractions of a second).
    let time = |t: &dyn std::fmt::Display| {
        let t = t.to_string();
        match t.split_once('.') {
            Some((secs, rest)) => format!("{secs} {}", rest.rsplit(' ').next().unwrap_or("UTC")),
            None => t,
        }
    };
    for s in sources {
        println!(
            "  {} {} [{}], {}",
            s.kind,
            s.location.replace('\n', ", "),
            s.source_id,
            interval_text(s.interval_secs)
        );
        match &s.last_run {
            Some(r) => println!(
                "    last run {} ({:.1} s): pages {}, changed {}, added {}, removed {}, failed {}{}",
                time(&r.finished_at),
                (r.finished_at - r.started_at).num_milliseconds() as f64 / 1000.0,
                r.pages,
                r.changed,
                r.added,
                r.removed,
                r.failed,
                r.error.as_deref().map(|e| format!(", error: {e}")).unwrap_or_default()
            ),
            None => println!("    never run"),
        }
        println!(
            "    next due {}",
            s.next_due_at.as_ref().map_or_else(|| "only with --force".to_string(), |t| time(t))
        );
        if let (Some(o), Some(u)) = (&s.lease_owner, &s.lease_until) {
            println!("    running now ({o}, lease until {})", time(u));
        }
    }
}

/// Ctrl-C cancels the token (a second Ctrl-C exits at once).
fn cancel_on_ctrl_c() -> CancellationToken {
    let token = CancellationToken::new();
    let t = token.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            tracing::warn!("interrupted: finishing the current step (Ctrl-C again to quit now)");
            t.cancel();
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(130);
            }
        }
    });
    token
}

fn finish(summary: &IngestSummary, mp: Option<MultiProgress>, json: bool) -> anyhow::Result<()> {
    if let Some(mp) = mp {
        let _ = mp.clear();
    }
    print_summary(summary, json)?;
    if summary.cancelled {
        anyhow::bail!("interrupted; run the same command again to resume (nothing is duplicated)");
    }
    Ok(())
}

/// The SQLite page cache per connection of an ingest run, in MiB, unless
/// `CHATBOT_SQLITE_CACHE_MB` says otherwise.
const INGEST_SQLITE_CACHE_MIB: u32 = 32;

/// Run an ingest command.
///
/// # Errors
/// Unknown company, bad arguments, storage / embedder / vector store failures, interruption.
pub(crate) async fn run(g: &Global, cmd: IngestCommand) -> anyhow::Result<()> {
    let mut config = g.data.config()?;
    // A bulk writer: a larger SQLite page cache unless one is configured (each chunk write
    // and id lookup walks the chunk table's B-trees; with SQLite's 2 MiB the 531 texlive PDFs
    // spent 8.5-10 s of system time re-reading pages, 4 s with 32 MiB).
    config.sqlite_cache_mib = config.sqlite_cache_mib.or(Some(INGEST_SQLITE_CACHE_MIB));
    let bot = open_with(config).await?;
    tracing::info!(target: "chatbot", "components: {}", bot.components_info());
    let json = g.json;
    match cmd {
        IngestCommand::Site {
            url,
            company,
            prefix,
            max_pages,
            max_depth,
            delay_ms,
            timeout,
            allow_private,
            no_sitemap,
            chunking,
            sync,
        } => {
            let interval = sync.interval()?;
            let ctx = bot.operator_context(&company).await?;
            let knowledge = bot.knowledge(&ctx);
            let opts = chunking.options(&knowledge)?;
            let mut site = SiteOptions::new(&url)?;
            site.prefix = prefix;
            site.max_pages = max_pages;
            site.max_depth = max_depth;
            site.delay = Duration::from_millis(delay_ms);
            site.timeout = Duration::from_secs(timeout);
            site.allow_private = allow_private;
            site.use_sitemaps = !no_sitemap;
            let cancel = cancel_on_ctrl_c();
            let (sink, mp) = event_sink(json);
            let spec = SourceSpec::site(&site, &opts);
            let summary = knowledge.ingest_source(&spec, interval, sink, &cancel).await?;
            finish(&summary, mp, json)
        }
        IngestCommand::Files { paths, company, chunking, sync } => {
            let interval = sync.interval()?;
            let ctx = bot.operator_context(&company).await?;
            let knowledge = bot.knowledge(&ctx);
            let opts = chunking.options(&knowledge)?;
            let cancel = cancel_on_ctrl_c();
            let (sink, mp) = event_sink(json);
            let spec = SourceSpec::files(&paths, &opts)?;
            let summary = knowledge.ingest_source(&spec, interval, sink, &cancel).await?;
            finish(&summary, mp, json)
        }
        IngestCommand::Sync { company_id, force } => {
            let cancel = cancel_on_ctrl_c();
            let (sink, mp) = event_sink(json);
            let reports = match company_id {
                Some(id) => {
                    let ctx = bot.operator_context(&id).await?;
                    bot.knowledge(&ctx).sync(force, sink, &cancel).await?
                }
                None => bot.sync_knowledge(force, sink, &cancel).await?,
            };
            if let Some(mp) = mp {
                let _ = mp.clear();
            }
            print_sync_reports(&reports, json)?;
            if reports.iter().any(|r| r.outcome == SyncOutcome::Failed) {
                anyhow::bail!("some sources failed to sync");
            }
            if cancel.is_cancelled() {
                anyhow::bail!("interrupted; run the same command again to resume (nothing is duplicated)");
            }
            Ok(())
        }
        IngestCommand::Unregister { company_id, source } => {
            let ctx = bot.operator_context(&company_id).await?;
            bot.knowledge(&ctx).unregister(&source).await?;
            if json {
                println!("{}", serde_json::json!({"company_id": company_id, "unregistered": source}));
            } else {
                println!("source {source} of company {company_id} is no longer synced (its knowledge stays)");
            }
            Ok(())
        }
        IngestCommand::Status { company_id } => {
            let ctx = bot.operator_context(&company_id).await?;
            let st = bot.knowledge(&ctx).status().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&st)?);
            } else {
                println!(
                    "company {}: {} sources, {} chunks, last ingest {}",
                    st.company_id,
                    st.sources.len(),
                    st.chunks,
                    st.last_ingest.map_or_else(|| "never".to_string(), |t| t.to_rfc3339())
                );
                for s in &st.sources {
                    println!("{:>6}  {}  {}", s.chunks, s.ingested_at.format("%Y-%m-%d %H:%M:%S"), s.source);
                }
                print_registered(&st.registered);
            }
            Ok(())
        }
        IngestCommand::Reindex { company_id } => {
            let ctx = bot.operator_context(&company_id).await?;
            let progress = |n: usize| {
                if !json {
                    eprintln!("re-indexed {n} chunks");
                }
            };
            let started = std::time::Instant::now();
            let n = bot.knowledge(&ctx).reindex(&progress).await?;
            let secs = started.elapsed().as_secs_f64();
            if json {
                println!("{}", serde_json::json!({"company_id": company_id, "chunks": n, "seconds": secs}));
            } else {
                println!("re-indexed {n} chunks of company {company_id} in {secs:.1} s");
            }
            Ok(())
        }
        IngestCommand::Forget { company_id, source } => {
            let ctx = bot.operator_context(&company_id).await?;
            let f = bot.knowledge(&ctx).forget(source.as_deref()).await?;
            if json {
                println!("{}", serde_json::to_string(&f)?);
            } else {
                println!("forgot {} sources and {} chunks of company {company_id}", f.sources, f.chunks);
            }
            Ok(())
        }
    }
}
