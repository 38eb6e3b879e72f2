//! [`Chatbot`]: the one facade that front ends and SDK users call. Authentication produces a
//! [`TenantContext`]; every tenant-scoped call takes one.
//!
//! The code is split by job: [`access`] (who is calling), [`admin`] (companies, keys, settings),
//! [`session`] (sessions and the two chat entry points), [`turn`] (the chat turn both route
//! families share), [`answer`] (the model with fallback and budget), [`prompt`] (prompt text),
//! [`retrieve`] (search over the tenant's knowledge), [`leads`] (the lead workflow and the leads
//! handle), [`knowledge`] (the knowledge handle: ingest, forget, status, search).

use std::sync::Arc;

use crate::cache::GenCache;
use crate::config::Config;
use crate::guard::RateLimiter;
use crate::llm::{ChatModel, ExtractiveAnswerer, LeadExtractor};
use crate::metrics::Metrics;
use crate::rag::{Embedder, VectorStore};
use crate::store::{ChunkRecord, Store};

mod access;
mod admin;
mod answer;
mod builder;
mod curated;
mod gaps;
mod history;
mod knowledge;
mod leads;
mod limits;
mod owner;
mod prompt;
mod questions;
mod retrieve;
mod session;
mod turn;
mod types;
mod visitor;

pub use admin::AiConfigPatch;
pub use answer::BudgetStatus;
pub use builder::ChatbotBuilder;
pub use curated::Answers;
pub(crate) use history::UNKNOWN_MESSAGE;
pub use history::{HistoryMessage, RatedMessage};
pub use knowledge::Knowledge;
pub use leads::Leads;
pub use owner::{
    DEFAULT_OWNER_LINK_URL, OWNER_CODE_TTL, OWNER_LINK_FRAGMENT, OWNER_TOKEN_TTL, OwnerGrant, OwnerLink,
};
pub use types::{
    AnsweredBy, ChatEvent, ChatInput, ChatReply, ClientInfo, ComponentsInfo, Grounding, HistoryItem,
    PartnerChat, SearchHit, SessionInfo, SourceRef,
};

/// The seams a [`Chatbot`] runs on.
#[derive(Clone)]
pub(crate) struct Components {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) embedder: Arc<dyn Embedder>,
    pub(crate) vectors: Arc<dyn VectorStore>,
    pub(crate) model: Arc<dyn ChatModel>,
    /// Structured lead extraction by a model, run after model replies (none: the offline lead
    /// rules alone).
    pub(crate) lead_extractor: Option<Arc<dyn LeadExtractor>>,
}

struct Inner {
    config: Config,
    c: Components,
    fallback: ExtractiveAnswerer,
    limiter: RateLimiter,
    metrics: Metrics,
    /// The lead webhook's own client (no redirects, no proxy, the public-address guard).
    webhooks: crate::net::webhook::WebhookClient,
    /// Companies whose recorded embedder matched the configured one, and when that was checked
    /// (queries skip the store look-up for [`IDENTITY_RECHECK`]).
    identity_ok: GenCache<String, ()>,
    /// Chunk texts by (company, vector id). A vector id is a hash of the chunk's source and
    /// content, so a cached text is never stale; the age limit bounds metadata edits.
    chunks: GenCache<(String, String), Arc<ChunkRecord>>,
    /// Per-company corpus statistics for query embedding (embedders that use them).
    corpus_stats: crate::rag::stats::StatsCache,
    /// Per-company curated questions as vectors (see [`curated`]).
    curated: GenCache<String, Arc<curated::CuratedIndex>>,
    /// Recent question vectors of every company, each under its own key (see
    /// `rag::question_cache`).
    question_vectors: Arc<crate::rag::question_cache::QuestionVectors>,
    /// When this instance was built, and (seconds after that) when it last purged expired
    /// sessions (0: never).
    started: std::time::Instant,
    last_session_purge: std::sync::atomic::AtomicU64,
    /// Visitor tokens issued by this instance (paces the purge of expired ones).
    visitor_tokens_issued: std::sync::atomic::AtomicU64,
    /// Seconds after `started` when this instance last purged old turn records (0: never).
    last_turn_purge: std::sync::atomic::AtomicU64,
}

/// How long a query trusts an earlier embedder-identity check of its company. Only another
/// instance re-ingesting with a different embedder can change it in between, and then this one
/// is misconfigured anyway: it says so after at most this long.
const IDENTITY_RECHECK: std::time::Duration = std::time::Duration::from_secs(10);
/// Companies whose identity check is remembered (per generation).
const IDENTITY_CACHE_ENTRIES: usize = 1024;
/// Chunk texts kept in memory (per generation; a chunk is ~1-2 KB).
const CHUNK_CACHE_ENTRIES: usize = 4096;
/// Oldest cached chunk text served.
const CHUNK_CACHE_AGE: std::time::Duration = std::time::Duration::from_secs(60);

/// The facade. Cheap to clone.
///
/// Build one with [`Chatbot::from_config`] (or [`Chatbot::from_env`]) for the components a
/// configuration names, or with [`Chatbot::builder`] to bring your own.
#[derive(Clone)]
pub struct Chatbot {
    inner: Arc<Inner>,
}

impl Chatbot {
    /// Build from configuration (components selected as the config says; the database is
    /// migrated).
    ///
    /// # Errors
    /// [`crate::Error::Config`] or connection failures.
    pub async fn from_config(config: Config) -> crate::Result<Self> {
        Self::builder().config(config).build().await
    }

    /// Build from the environment ([`Config::from_env`]): the embedded defaults when no keys
    /// are set.
    ///
    /// # Errors
    /// [`crate::Error::Config`] for a bad variable, or connection failures.
    pub async fn from_env() -> crate::Result<Self> {
        Self::from_config(Config::from_env()?).await
    }

    /// A builder: set the components you bring, the rest come from the configuration.
    pub fn builder() -> ChatbotBuilder {
        ChatbotBuilder::default()
    }

    fn assemble(config: Config, c: Components) -> Self {
        let labels = AnsweredBy::ALL.map(AnsweredBy::as_str);
        let metrics = Metrics::with_series(&labels, &[c.model.provider(), c.vectors.name()]);
        let webhooks = crate::net::webhook::WebhookClient::new(config.webhooks);
        Self {
            inner: Arc::new(Inner {
                config,
                c,
                fallback: ExtractiveAnswerer::new(),
                limiter: RateLimiter::counting(metrics.rate_limited.clone()),
                metrics,
                webhooks,
                identity_ok: GenCache::new(IDENTITY_CACHE_ENTRIES, IDENTITY_RECHECK),
                chunks: GenCache::new(CHUNK_CACHE_ENTRIES, CHUNK_CACHE_AGE),
                corpus_stats: crate::rag::stats::StatsCache::new(),
                curated: GenCache::new(curated::CURATED_CACHE_ENTRIES, curated::CURATED_CACHE_AGE),
                question_vectors: Arc::default(),
                started: std::time::Instant::now(),
                last_session_purge: std::sync::atomic::AtomicU64::new(0),
                visitor_tokens_issued: std::sync::atomic::AtomicU64::new(0),
                last_turn_purge: std::sync::atomic::AtomicU64::new(0),
            }),
        }
    }

    /// The configuration this instance runs with.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The store, without any tenant check: every method takes a company id and trusts it.
    /// For operator tooling and tests; front ends go through the tenant-checked calls.
    pub fn store_unchecked(&self) -> &Arc<dyn Store> {
        &self.inner.c.store
    }

    /// The core's metrics (add them to a Prometheus registry with [`Metrics::register`]).
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// Which components are in use.
    pub fn components_info(&self) -> ComponentsInfo {
        let c = &self.inner.c;
        ComponentsInfo {
            store: c.store.backend().into(),
            embedder: format!("{} ({}d)", c.embedder.model(), c.embedder.dimension()),
            vector_store: c.vectors.name().into(),
            model: c.model.provider().into(),
        }
    }

    /// Check the database answers (readiness).
    ///
    /// # Errors
    /// [`crate::Error::Storage`] when it does not.
    pub async fn ping(&self) -> crate::Result<()> {
        self.inner.c.store.ping().await
    }

    /// How this instance learns of settings changed elsewhere (see
    /// [`crate::store::StoreAdmin::settings_cache`]; `/readyz` reports it).
    pub fn settings_cache(&self) -> &'static str {
        self.inner.c.store.settings_cache()
    }

    fn store(&self) -> &Arc<dyn Store> {
        &self.inner.c.store
    }

    fn embedder(&self) -> &Arc<dyn Embedder> {
        &self.inner.c.embedder
    }

    /// The embedder for a company's questions: a dense one answers that company's recent short
    /// texts from memory (`rag::question_cache`).
    fn question_embedder(&self, company_id: &str) -> Arc<dyn Embedder> {
        let e = self.embedder();
        if e.dimension() == 0 {
            return e.clone();
        }
        Arc::new(crate::rag::question_cache::CompanyEmbedder::new(
            e.clone(),
            self.inner.question_vectors.clone(),
            company_id,
        ))
    }

    fn vectors(&self) -> &Arc<dyn VectorStore> {
        &self.inner.c.vectors
    }

    fn model(&self) -> &Arc<dyn ChatModel> {
        &self.inner.c.model
    }
}
