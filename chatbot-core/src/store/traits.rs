//! The storage seam, split by area: each trait is what one part of the crate needs, and
//! [`Store`] is all of them together (implemented for every type that has them all).

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use super::{
    ChunkRecord, CorpusStatsRow, EmbedderIdentity, KnowledgeSource, RateStep, SourceRun, SourceState,
    WebhookDelivery,
};
use crate::auth::{ApiKey, IdentitySecret, OwnerToken, OwnerTokenKind, VisitorToken};
use crate::conversation::{Conversation, Message, Session};
use crate::curated::CuratedAnswer;
use crate::error::Result;
use crate::feedback::Feedback;
use crate::lead::{Lead, LeadFilter};
use crate::tenant::{AiConfig, Company, CompanyPatch, NewCompany, WidgetSettings, WidgetSettingsPatch};
use crate::turns::TurnRecord;

/// The database itself: which one, its schema, whether it answers.
#[async_trait]
pub trait StoreAdmin: Send + Sync + 'static {
    /// `sqlite` or `postgres` (or a third-party backend's name).
    fn backend(&self) -> &'static str;
    /// Apply pending migrations.
    async fn migrate(&self) -> Result<()>;
    /// Check the database answers (readiness).
    async fn ping(&self) -> Result<()>;
    /// How this process learns of company and settings changes made elsewhere (readiness):
    /// `commit-stamp` (SQLite: the WAL header), `notified` (PostgreSQL, the listener works),
    /// `bypassed` (PostgreSQL, no working listener: every read goes to the database).
    fn settings_cache(&self) -> &'static str {
        "none"
    }
}

/// Companies, their widget settings and their API keys.
#[async_trait]
pub trait TenantStore: Send + Sync + 'static {
    // --- companies (operator scope) ---
    /// Create the company and its default widget settings in one transaction.
    /// [`crate::Error::Conflict`] if the id exists.
    async fn create_company(&self, new: &NewCompany) -> Result<Company>;
    async fn get_company(&self, company_id: &str) -> Result<Option<Company>>;
    /// The company and its widget settings in one round trip (a request's tenant context).
    async fn get_company_with_settings(
        &self,
        company_id: &str,
    ) -> Result<Option<(Company, Option<WidgetSettings>)>>;
    async fn list_companies(&self) -> Result<Vec<Company>>;
    /// [`crate::Error::NotFound`] if the company does not exist.
    async fn set_company_active(&self, company_id: &str, active: bool) -> Result<()>;
    /// Change the fields the patch names; the updated company. [`crate::Error::NotFound`] if
    /// the company does not exist.
    async fn update_company(&self, company_id: &str, patch: &CompanyPatch) -> Result<Company>;
    /// [`crate::Error::NotFound`] if the company does not exist.
    async fn update_ai_config(&self, company_id: &str, config: &AiConfig) -> Result<()>;

    // --- widget settings ---
    async fn get_widget_settings(&self, company_id: &str) -> Result<Option<WidgetSettings>>;
    /// The settings with the company's `is_active`, in one round trip (the public GET, the
    /// busiest route). `None` when the company does not exist.
    async fn get_public_widget_settings(&self, company_id: &str) -> Result<Option<(bool, WidgetSettings)>> {
        let Some(c) = self.get_company(company_id).await? else { return Ok(None) };
        Ok(self.get_widget_settings(company_id).await?.map(|s| (c.is_active, s)))
    }
    /// Apply a partial update atomically (one UPDATE; concurrent patches of different fields
    /// both land) and return the new row. [`crate::Error::NotFound`] if the company has no row.
    async fn update_widget_settings(
        &self,
        company_id: &str,
        patch: &WidgetSettingsPatch,
    ) -> Result<WidgetSettings>;

    // --- API keys ---
    async fn insert_api_key(&self, key: &ApiKey) -> Result<()>;
    /// Find an active or revoked key by its hash (the caller checks revocation and company).
    async fn find_api_key(&self, key_hash: &str) -> Result<Option<ApiKey>>;
    async fn list_api_keys(&self, company_id: &str) -> Result<Vec<ApiKey>>;
    /// Returns false when no such key exists. Revoking twice is harmless.
    async fn revoke_api_key(&self, key_id: &str) -> Result<bool>;
    async fn touch_api_key(&self, key_id: &str, at: DateTime<Utc>) -> Result<()>;
}

/// Visitor sessions and their conversations (`chat_conversations`).
#[async_trait]
pub trait ConversationStore: Send + Sync + 'static {
    // --- sessions ---
    async fn insert_session(&self, session: &Session) -> Result<()>;
    /// Only returns the session if it belongs to `company_id`.
    async fn get_session(&self, company_id: &str, session_id: &str) -> Result<Option<Session>>;
    async fn update_session(&self, session: &Session) -> Result<()>;
    /// Delete every session (of every company) that expired before `before`; how many. Their
    /// conversations and leads stay.
    async fn purge_expired_sessions(&self, before: DateTime<Utc>) -> Result<u64>;

    // --- conversations ---
    /// Get the conversation of a session, creating an empty one if missing.
    async fn ensure_conversation(
        &self,
        company_id: &str,
        session_id: &str,
        user_id: &str,
    ) -> Result<Conversation>;
    async fn get_conversation(&self, company_id: &str, session_id: &str) -> Result<Option<Conversation>>;
    /// Append messages atomically (never loses a concurrent append) and bump `last_activity_at`.
    async fn append_messages(&self, company_id: &str, session_id: &str, messages: &[Message]) -> Result<()>;
    /// [`ConversationStore::append_messages`] and, in the same write, [`TurnStore::record_turn`]
    /// for `turn` (a turn of this conversation): a chat turn's last write, the reply with its
    /// record. Both are stored or neither; `NotFound` when the conversation does not exist.
    async fn append_with_turn(
        &self,
        company_id: &str,
        session_id: &str,
        messages: &[Message],
        turn: &TurnRecord,
    ) -> Result<()>;
    /// Append messages to the session's conversation, creating it (for `user_id`) if missing, in
    /// one atomic step; returns the conversation as it is right after the append. A chat turn's
    /// first write: one statement where `ensure_conversation` + `append_messages` take three.
    async fn append_to_conversation(
        &self,
        company_id: &str,
        session_id: &str,
        user_id: &str,
        messages: &[Message],
    ) -> Result<Conversation>;
    /// [`ConversationStore::append_to_conversation`] and, in the same round trip, insert `lead`
    /// unless the session has one already. Returns the conversation after the append and
    /// whether `lead` was inserted. A partner-chat turn's first write.
    async fn append_to_conversation_with_lead(
        &self,
        company_id: &str,
        session_id: &str,
        user_id: &str,
        messages: &[Message],
        lead: &Lead,
    ) -> Result<(Conversation, bool)>;
    /// Newest activity first.
    async fn list_conversations(
        &self,
        company_id: &str,
        limit: u32,
        offset: u32,
    ) -> Result<Vec<Conversation>>;
    /// Returns false when there was none. Its feedback goes with it.
    async fn delete_conversation(&self, company_id: &str, session_id: &str) -> Result<bool>;
}

/// Leads (the contact details a conversation collected).
#[async_trait]
pub trait LeadStore: Send + Sync + 'static {
    async fn insert_lead(&self, lead: &Lead) -> Result<()>;
    /// `messages` filled from the session's conversation.
    async fn get_lead(&self, company_id: &str, lead_id: &str) -> Result<Option<Lead>>;
    async fn get_lead_by_session(&self, company_id: &str, session_id: &str) -> Result<Option<Lead>>;
    /// Find a lead by id without knowing its company (operator CLI only).
    async fn find_lead_any_company(&self, lead_id: &str) -> Result<Option<Lead>>;
    /// Update every mutable field (`messages` are not written: they live in the conversation).
    async fn update_lead(&self, lead: &Lead) -> Result<()>;
    /// Read-modify-write of one lead, atomic against every other writer of it: `f` gets the lead
    /// as stored now and says whether it changed it; a change is saved before anyone else can
    /// write the lead (so two turns of one visitor never undo each other). Returns the lead after
    /// `f`, or `None` when there is no such lead.
    async fn modify_lead(
        &self,
        company_id: &str,
        lead_id: &str,
        f: &mut (dyn for<'l> FnMut(&'l mut Lead) -> bool + Send),
    ) -> Result<Option<Lead>>;
    /// Ready leads whose webhook was due (stamped `notified_at`) before `before` but has no
    /// recorded delivery attempt: the process sending it ended first. Oldest first, at most
    /// `limit`, `messages` filled.
    async fn unsent_notifications(&self, before: DateTime<Utc>, limit: u32) -> Result<Vec<Lead>>;
    /// Take over an unsent notification: move `notified_at` from `seen` to `now` only if it is
    /// still `seen` (one atomic statement), so of several instances exactly one sends it.
    async fn claim_notification(
        &self,
        company_id: &str,
        lead_id: &str,
        seen: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool>;
    /// Newest first; `messages` filled.
    async fn list_leads(&self, company_id: &str, filter: &LeadFilter) -> Result<Vec<Lead>>;
}

/// Knowledge: chunk texts (`pinecone_vectors`), ingest state, the embedder a company's index
/// was built with, and its corpus statistics.
#[async_trait]
pub trait KnowledgeStore: Send + Sync + 'static {
    /// Insert or replace chunk rows (unique on company and vector id).
    async fn upsert_chunks(&self, chunks: &[ChunkRecord]) -> Result<()>;
    async fn get_chunks(&self, company_id: &str, vector_ids: &[String]) -> Result<Vec<ChunkRecord>>;
    async fn chunk_ids_for_source(&self, company_id: &str, source: &str) -> Result<Vec<String>>;
    async fn delete_chunks(&self, company_id: &str, vector_ids: &[String]) -> Result<u64>;
    /// All chunk rows of a company (for rebuilding an index); ordered by vector id.
    async fn list_chunks(&self, company_id: &str, limit: u32, offset: u32) -> Result<Vec<ChunkRecord>>;
    async fn count_chunks(&self, company_id: &str) -> Result<i64>;
    async fn upsert_source(&self, state: &SourceState) -> Result<()>;
    async fn get_source(&self, company_id: &str, source: &str) -> Result<Option<SourceState>>;
    async fn list_sources(&self, company_id: &str) -> Result<Vec<SourceState>>;
    async fn delete_source(&self, company_id: &str, source: &str) -> Result<()>;
    async fn get_embedder_identity(&self, company_id: &str) -> Result<Option<EmbedderIdentity>>;
    async fn set_embedder_identity(&self, company_id: &str, id: Option<&EmbedderIdentity>) -> Result<()>;

    // Corpus statistics (derived from pinecone_vectors; see crate::rag::stats).
    /// The company's stored corpus statistics, if any.
    async fn get_corpus_stats(&self, company_id: &str) -> Result<Option<CorpusStatsRow>>;
    /// Replace the company's corpus statistics (`updated_at` is set to now).
    async fn put_corpus_stats(
        &self,
        company_id: &str,
        model: &str,
        doc_count: u64,
        stats: &[u8],
    ) -> Result<()>;
}

/// Token usage tallies and lead webhooks (signing secret, delivery log).
#[async_trait]
pub trait UsageStore: Send + Sync + 'static {
    /// Add tokens to the company's tally for `day`; returns the new total.
    async fn add_token_usage(&self, company_id: &str, day: NaiveDate, tokens: u64) -> Result<u64>;
    async fn token_usage(&self, company_id: &str, day: NaiveDate) -> Result<u64>;
    /// The per-company webhook signing secret, created on first use.
    async fn webhook_secret(&self, company_id: &str) -> Result<String>;
    async fn record_webhook_delivery(&self, delivery: &WebhookDelivery) -> Result<()>;
    async fn list_webhook_deliveries(&self, company_id: &str, limit: u32) -> Result<Vec<WebhookDelivery>>;
}

/// Visitor identity on partner chat: visitor tokens (stored hashed) and the companies' identity
/// secrets; owner-mode tokens and one-time codes (stored hashed). Every lookup is scoped to one
/// company.
#[async_trait]
pub trait IdentityStore: Send + Sync + 'static {
    // --- visitor tokens ---
    async fn insert_visitor_token(&self, token: &VisitorToken) -> Result<()>;
    /// The token with this hash, only if it belongs to `company_id` (expired ones too: the caller
    /// checks `expires_at`).
    async fn find_visitor_token(&self, company_id: &str, token_hash: &str) -> Result<Option<VisitorToken>>;
    /// Slide a token: set `last_used_at` and `expires_at`. False when there is no such token of
    /// `company_id`.
    async fn touch_visitor_token(
        &self,
        company_id: &str,
        token_hash: &str,
        used_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<bool>;
    /// Delete every token that expired before `now`; how many.
    async fn purge_visitor_tokens(&self, now: DateTime<Utc>) -> Result<u64>;
    /// Delete the tokens of one conversation of `company_id` (the conversation was deleted);
    /// how many.
    async fn delete_visitor_tokens(&self, company_id: &str, session_id: &str) -> Result<u64>;

    // --- owner mode ---
    async fn insert_owner_token(&self, token: &OwnerToken) -> Result<()>;
    /// The owner token or code of `kind` with this hash, only if it belongs to `company_id`
    /// (expired and spent ones too: the caller checks).
    async fn find_owner_token(
        &self,
        company_id: &str,
        kind: OwnerTokenKind,
        token_hash: &str,
    ) -> Result<Option<OwnerToken>>;
    /// Spend a one-time code of `company_id` that is unspent and unexpired at `now`, in one
    /// atomic step; true for exactly one of any number of concurrent calls.
    async fn spend_owner_code(&self, company_id: &str, code_hash: &str, now: DateTime<Utc>) -> Result<bool>;
    /// Delete every owner token and code that expired before `now`; how many.
    async fn purge_owner_tokens(&self, now: DateTime<Utc>) -> Result<u64>;

    // --- identity secrets ---
    /// Insert the secret unless its company already has `max_active` unrevoked ones (one atomic
    /// statement); whether it was inserted.
    async fn insert_identity_secret(&self, secret: &IdentitySecret, max_active: u32) -> Result<bool>;
    /// Every identity secret of the company, revoked ones too, newest first.
    async fn list_identity_secrets(&self, company_id: &str) -> Result<Vec<IdentitySecret>>;
    /// The company's unrevoked identity secrets, newest first.
    async fn active_identity_secrets(&self, company_id: &str) -> Result<Vec<IdentitySecret>>;
    /// Returns false when no such secret exists. Revoking twice is harmless.
    async fn revoke_identity_secret(&self, key_id: &str) -> Result<bool>;
}

/// Visitors' ratings of bot replies, one per reply of a conversation.
#[async_trait]
pub trait FeedbackStore: Send + Sync + 'static {
    /// Store a rating, or replace the rating and comment of the reply's earlier one (which keeps
    /// its `created_at`); the row as stored.
    async fn put_feedback(&self, feedback: &Feedback) -> Result<Feedback>;
    /// The company's ratings, most recently rated first.
    async fn list_feedback(&self, company_id: &str, limit: u32, offset: u32) -> Result<Vec<Feedback>>;
    /// The ratings of one conversation of the company.
    async fn conversation_feedback(&self, company_id: &str, session_id: &str) -> Result<Vec<Feedback>>;
}

/// Rate-limit state kept in the database, so every server instance on it enforces one limit
/// (GCRA: one atomic statement per check). Used when [`LimitStore::shares_limits`] says so
/// (PostgreSQL); a one-process store keeps its limits in memory.
#[async_trait]
pub trait LimitStore: Send + Sync + 'static {
    /// Whether rate limits belong in this store: several processes share it.
    fn shares_limits(&self) -> bool;
    /// One GCRA step for `key` at `now_us` (microseconds since the Unix epoch): the request is
    /// allowed when the key's arrival time, moved on by `interval_us`, stays within
    /// `now_us + tolerance_us`, and the new time is stored in the same statement. `None` when
    /// allowed, otherwise the microseconds to wait.
    async fn rate_limit_step(
        &self,
        key: &str,
        now_us: i64,
        interval_us: i64,
        tolerance_us: i64,
    ) -> Result<Option<i64>>;
    /// Several GCRA steps of one request, in order, stopping at the first refusal (the steps
    /// after it are not taken, as if checked one by one); on PostgreSQL one statement. `None`
    /// when every step allowed, else the refused step's index and the microseconds to wait.
    async fn rate_limit_steps(&self, steps: &[RateStep], now_us: i64) -> Result<Option<(usize, i64)>>;
    /// Forget keys whose arrival time has passed (they are the same as fresh ones); how many.
    async fn purge_rate_limits(&self, now_us: i64) -> Result<u64>;
}

/// Registered knowledge sources (what `ingest sync` re-runs): registrations, run results, and
/// the lease that lets only one instance run a source at a time. Every call but
/// [`SourceRegistry::due_knowledge_sources`] (the scheduler's, operator scope) is scoped to one
/// company.
#[async_trait]
pub trait SourceRegistry: Send + Sync + 'static {
    /// Insert a registration, or replace its kind, location, options, interval and next due
    /// time (its last run, lease and `created_at` stay). `updated_at` is written as `created_at`
    /// on insert and as `updated_at` on replace; both come from `source.updated_at`.
    async fn register_knowledge_source(&self, source: &KnowledgeSource) -> Result<()>;
    async fn get_knowledge_source(
        &self,
        company_id: &str,
        source_id: &str,
    ) -> Result<Option<KnowledgeSource>>;
    /// The company's registrations, by location.
    async fn list_knowledge_sources(&self, company_id: &str) -> Result<Vec<KnowledgeSource>>;
    /// Every company's sources due at `now` (`next_due_at <= now`) whose lease is free or
    /// expired, soonest first; at most `limit` (0: no limit).
    async fn due_knowledge_sources(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<KnowledgeSource>>;
    /// False when there was none.
    async fn delete_knowledge_source(&self, company_id: &str, source_id: &str) -> Result<bool>;
    /// Take the source's lease for `owner` until `until`, or renew it, in one atomic step: it is
    /// taken when free, expired at `now`, or already `owner`'s. Whether `owner` holds it now
    /// (false also for an unknown source).
    async fn take_source_lease(
        &self,
        company_id: &str,
        source_id: &str,
        owner: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool>;
    /// Record a run, set the next due time and release the lease, only while `owner` holds the
    /// lease; whether it did.
    async fn finish_source_run(
        &self,
        company_id: &str,
        source_id: &str,
        owner: &str,
        run: &SourceRun,
        next_due_at: Option<DateTime<Utc>>,
    ) -> Result<bool>;
    /// Release the lease without recording a run, only while `owner` holds it; whether it did.
    async fn release_source_lease(&self, company_id: &str, source_id: &str, owner: &str) -> Result<bool>;
}

/// Curated answers ([`crate::CuratedAnswer`]), per company.
#[async_trait]
pub trait CuratedStore: Send + Sync + 'static {
    /// Insert answers, all or none (one transaction); [`crate::Error::Conflict`] for an id the
    /// company already has.
    async fn insert_curated(&self, answers: &[CuratedAnswer]) -> Result<()>;
    /// One answer of the company.
    async fn get_curated(&self, company_id: &str, answer_id: &str) -> Result<Option<CuratedAnswer>>;
    /// Every answer of the company, oldest first.
    async fn list_curated(&self, company_id: &str) -> Result<Vec<CuratedAnswer>>;
    /// Replace an answer's questions, answer, source and `updated_at` (hits and `created_at`
    /// stay); the row as stored, `None` when the company has no such answer.
    async fn update_curated(&self, answer: &CuratedAnswer) -> Result<Option<CuratedAnswer>>;
    /// Delete an answer; whether the company had it.
    async fn delete_curated(&self, company_id: &str, answer_id: &str) -> Result<bool>;
    /// Count one hit at `at`; whether the company has the answer.
    async fn record_curated_hit(&self, company_id: &str, answer_id: &str, at: DateTime<Utc>) -> Result<bool>;
    /// A number that changes whenever the company's answers change, through any writer, when
    /// this store can tell (PostgreSQL while its change listener works: another instance's or
    /// the CLI's change is known within milliseconds); `None` when it cannot, and a cached
    /// copy is then trusted for a short while only.
    fn curated_version(&self, _company_id: &str) -> Option<u64> {
        None
    }
}

/// Turn records: one row per chat turn, for the gap report (see [`crate::TurnRecord`]).
#[async_trait]
pub trait TurnStore: Send + Sync + 'static {
    /// Store a turn (its `rating` is not written: ratings live with the feedback). Recording
    /// the same reply again replaces the row.
    async fn record_turn(&self, turn: &TurnRecord) -> Result<()>;
    /// The company's turns created at or after `since`, newest first, at most `limit` (0: no
    /// limit); each with the visitor's rating of its reply, if any (joined by `message_id`).
    async fn list_turns(&self, company_id: &str, since: DateTime<Utc>, limit: u32)
    -> Result<Vec<TurnRecord>>;
    /// Delete the turns created before `before`: of one company, or of every company with
    /// `None`; how many.
    async fn purge_turns(&self, company_id: Option<&str>, before: DateTime<Utc>) -> Result<u64>;
}

/// The whole store: every area. Implementations: `SqliteStore` (feature `sqlite`) and
/// `PostgresStore` (feature `postgres`); any other type gets it by implementing the area traits
/// (and can check itself with `store::conformance`, feature `test-util`).
pub trait Store:
    StoreAdmin
    + TenantStore
    + ConversationStore
    + LeadStore
    + KnowledgeStore
    + UsageStore
    + IdentityStore
    + FeedbackStore
    + LimitStore
    + SourceRegistry
    + CuratedStore
    + TurnStore
{
}

impl<T> Store for T where
    T: StoreAdmin
        + TenantStore
        + ConversationStore
        + LeadStore
        + KnowledgeStore
        + UsageStore
        + IdentityStore
        + FeedbackStore
        + LimitStore
        + SourceRegistry
        + CuratedStore
        + TurnStore
{
}
