//! The store conformance suite: what every [`Store`] must do, as checks any implementation can
//! run (the SQLite and PostgreSQL stores run it in this crate's tests). Each check takes a fresh,
//! migrated, empty store and panics, like a test assertion, when the store misbehaves.
//!
//! ```no_run
//! # async fn demo() {
//! use std::sync::Arc;
//! use chatbot_core::store::{self, Store, conformance};
//!
//! // One fresh store per check (here an in-memory SQLite database; use your own `Store`).
//! conformance::run_all(|| async { store::open("sqlite::memory:").await.unwrap() }).await;
//! # }
//! ```

// A conformance check reports a misbehaving store the way a test does: by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, SubsecRound, TimeDelta, Utc};
use futures::future::BoxFuture;
use serde_json::json;

use crate::auth::{KeyKind, generate_key};
use crate::conversation::{Message, Role, Session};
use crate::error::Error;
use crate::lead::{Lead, LeadFilter, LeadStatus};
use crate::store::{ChunkRecord, EmbedderIdentity, SourceState, Store, WebhookDelivery};
use crate::tenant::{
    AiConfig, ClientType, CompanyPatch, NewCompany, Position, WidgetSettings, WidgetSettingsPatch,
};

mod conversations;
mod curated;
mod feedback;
mod identity;
mod knowledge;
mod leads;
mod limits;
mod sources;
mod tenants;
mod turns;
mod usage;

pub use conversations::{
    append_to_conversation_creates_then_appends, append_with_lead_inserts_the_lead_once,
    concurrent_appends_are_never_lost, conversations_ensure_append_list_delete, expired_sessions_are_purged,
    sessions_insert_get_update,
};
pub use curated::curated_answers_crud_hits_and_isolation;
pub use feedback::{
    deleting_a_conversation_deletes_its_feedback, feedback_put_replace_list_and_isolation,
    messages_keep_ids_and_sources,
};
pub use identity::{
    identity_secrets_capped_listed_revoked, owner_tokens_and_codes, visitor_tokens_insert_find_touch_purge,
};
pub use knowledge::{
    chunks_upsert_is_idempotent, corpus_stats_put_get_replace, embedder_identity,
    sources_upsert_get_list_delete,
};
pub use leads::{
    leads_crud_filters_and_messages, modify_lead_is_atomic_and_tenant_scoped, tenant_isolation,
    unsent_notifications_are_found_and_claimed_once,
};
pub use limits::{
    concurrent_rate_limit_steps_are_atomic, rate_limit_steps_follow_gcra,
    rate_limit_steps_stop_at_the_first_refusal,
};
pub use sources::{knowledge_sources_register_run_due_and_isolation, source_leases_are_exclusive_and_expire};
pub use tenants::{
    api_keys_insert_find_revoke, companies_create_get_list_deactivate, company_patch_and_client_type,
    concurrent_patches_of_different_fields_all_land, duplicate_company_is_a_conflict, widget_settings_patch,
};
pub use turns::{
    a_reply_and_its_turn_record_are_one_write, deleting_a_conversation_deletes_its_turns,
    turns_purge_by_company_and_age, turns_record_list_and_isolation,
};
pub use usage::{token_usage_upsert, webhook_secret_and_deliveries};

/// One check: runs against a fresh store.
pub type Check = for<'a> fn(&'a Arc<dyn Store>) -> BoxFuture<'a, ()>;

macro_rules! checks {
    ($($name:ident),* $(,)?) => {
        /// Every check, by name, in the order [`run_all`] runs them.
        pub const CHECKS: &[(&str, Check)] = &[$((stringify!($name), |s| Box::pin($name(s)))),*];
    };
}

checks!(
    companies_create_get_list_deactivate,
    company_patch_and_client_type,
    duplicate_company_is_a_conflict,
    widget_settings_patch,
    concurrent_patches_of_different_fields_all_land,
    api_keys_insert_find_revoke,
    sessions_insert_get_update,
    expired_sessions_are_purged,
    conversations_ensure_append_list_delete,
    concurrent_appends_are_never_lost,
    append_to_conversation_creates_then_appends,
    append_with_lead_inserts_the_lead_once,
    modify_lead_is_atomic_and_tenant_scoped,
    leads_crud_filters_and_messages,
    tenant_isolation,
    chunks_upsert_is_idempotent,
    sources_upsert_get_list_delete,
    embedder_identity,
    corpus_stats_put_get_replace,
    token_usage_upsert,
    webhook_secret_and_deliveries,
    visitor_tokens_insert_find_touch_purge,
    identity_secrets_capped_listed_revoked,
    feedback_put_replace_list_and_isolation,
    deleting_a_conversation_deletes_its_feedback,
    messages_keep_ids_and_sources,
    owner_tokens_and_codes,
    rate_limit_steps_follow_gcra,
    concurrent_rate_limit_steps_are_atomic,
    rate_limit_steps_stop_at_the_first_refusal,
    unsent_notifications_are_found_and_claimed_once,
    knowledge_sources_register_run_due_and_isolation,
    source_leases_are_exclusive_and_expire,
    curated_answers_crud_hits_and_isolation,
    turns_record_list_and_isolation,
    turns_purge_by_company_and_age,
    deleting_a_conversation_deletes_its_turns,
    a_reply_and_its_turn_record_are_one_write,
);

/// Run every check, each on a store from `fresh` (which must be migrated and empty). Some checks
/// spawn tasks: run this on a multi-threaded tokio runtime.
///
/// # Panics
/// When a check fails (its message names what the store got wrong).
pub async fn run_all<F, Fut>(mut fresh: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Arc<dyn Store>>,
{
    for (name, check) in CHECKS {
        tracing::debug!(check = name, "store conformance check");
        let store = fresh().await;
        check(&store).await;
    }
}

fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// The company every check (and a store's own schema tests) starts from.
pub fn new_company(id: &str) -> NewCompany {
    NewCompany {
        company_id: id.into(),
        company_name: format!("Company {id}"),
        email: format!("owner@{id}.example"),
        phone: Some("+31 20 123 4567".into()),
        website: Some(format!("https://{id}.example")),
        logo_url: None,
        ai_config: AiConfig::default(),
        allowed_origins: vec![format!("https://{id}.example")],
        client_type: ClientType::BusinessOwner,
    }
}

fn session(company: &str, id: &str) -> Session {
    let t = now();
    Session {
        session_id: id.into(),
        company_id: company.into(),
        user_id: format!("user-{id}"),
        lead_id: None,
        client_ip: Some("127.0.0.1".into()),
        expires_at: t + TimeDelta::hours(1),
        created_at: t,
        last_seen_at: t,
    }
}

fn chunk(company: &str, id: &str, source: &str, content: &str) -> ChunkRecord {
    ChunkRecord {
        company_id: company.into(),
        vector_id: id.into(),
        content: content.into(),
        metadata: json!({"title": "T", "n": 1}),
        source: Some(source.into()),
    }
}

fn source_state(company: &str, source: &str, hash: &str) -> SourceState {
    SourceState {
        company_id: company.into(),
        source: source.into(),
        title: Some("Title".into()),
        content_hash: hash.into(),
        etag: Some("\"abc\"".into()),
        last_modified: Some("Wed, 21 Oct 2015 07:28:00 GMT".into()),
        chunk_count: 3,
        ingested_at: now(),
    }
}
