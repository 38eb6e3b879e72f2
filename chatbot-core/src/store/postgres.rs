//! postgres implementation of [`Store`]. (Skeleton; filled by the storage work.)

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use super::{ChunkRecord, EmbedderIdentity, SourceState, Store, WebhookDelivery};
use crate::auth::ApiKey;
use crate::conversation::{Conversation, Message, Session};
use crate::error::{Error, Result};
use crate::lead::{Lead, LeadFilter};
use crate::tenant::{AiConfig, Company, NewCompany, WidgetSettings, WidgetSettingsPatch};

/// postgres store.
pub struct PostgresStore {
    #[allow(dead_code)]
    pool: sqlx::PgPool,
}

impl PostgresStore {
    /// Connect (creating the database file for SQLite).
    ///
    /// # Errors
    /// [`Error::Storage`] when it cannot connect.
    pub async fn connect(url: &str) -> Result<Self> {
        let pool = sqlx::PgPool::connect(url).await?;
        Ok(Self { pool })
    }

    /// The underlying pool (for tests and tools).
    pub fn pool(&self) -> &sqlx::PgPool {
        &self.pool
    }
}

fn todo_err() -> Error {
    Error::Internal("not implemented yet".into())
}

#[async_trait]
impl Store for PostgresStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn migrate(&self) -> Result<()> {
        Err(todo_err())
    }

    async fn ping(&self) -> Result<()> {
        Err(todo_err())
    }

    async fn create_company(&self, new: &NewCompany) -> Result<Company> {
        Err(todo_err())
    }

    async fn get_company(&self, company_id: &str) -> Result<Option<Company>> {
        Err(todo_err())
    }

    async fn list_companies(&self) -> Result<Vec<Company>> {
        Err(todo_err())
    }

    async fn set_company_active(&self, company_id: &str, active: bool) -> Result<()> {
        Err(todo_err())
    }

    async fn update_ai_config(&self, company_id: &str, config: &AiConfig) -> Result<()> {
        Err(todo_err())
    }

    async fn get_widget_settings(&self, company_id: &str) -> Result<Option<WidgetSettings>> {
        Err(todo_err())
    }

    async fn update_widget_settings(
        &self,
        company_id: &str,
        patch: &WidgetSettingsPatch,
    ) -> Result<WidgetSettings> {
        Err(todo_err())
    }

    async fn insert_api_key(&self, key: &ApiKey) -> Result<()> {
        Err(todo_err())
    }

    async fn find_api_key(&self, key_hash: &str) -> Result<Option<ApiKey>> {
        Err(todo_err())
    }

    async fn list_api_keys(&self, company_id: &str) -> Result<Vec<ApiKey>> {
        Err(todo_err())
    }

    async fn revoke_api_key(&self, key_id: &str) -> Result<bool> {
        Err(todo_err())
    }

    async fn touch_api_key(&self, key_id: &str, at: DateTime<Utc>) -> Result<()> {
        Err(todo_err())
    }

    async fn insert_session(&self, session: &Session) -> Result<()> {
        Err(todo_err())
    }

    async fn get_session(&self, company_id: &str, session_id: &str) -> Result<Option<Session>> {
        Err(todo_err())
    }

    async fn update_session(&self, session: &Session) -> Result<()> {
        Err(todo_err())
    }

    async fn ensure_conversation(
        &self,
        company_id: &str,
        session_id: &str,
        user_id: &str,
    ) -> Result<Conversation> {
        Err(todo_err())
    }

    async fn get_conversation(&self, company_id: &str, session_id: &str) -> Result<Option<Conversation>> {
        Err(todo_err())
    }

    async fn append_messages(&self, company_id: &str, session_id: &str, messages: &[Message]) -> Result<()> {
        Err(todo_err())
    }

    async fn list_conversations(
        &self,
        company_id: &str,
        limit: u32,
        offset: u32,
    ) -> Result<Vec<Conversation>> {
        Err(todo_err())
    }

    async fn delete_conversation(&self, company_id: &str, session_id: &str) -> Result<bool> {
        Err(todo_err())
    }

    async fn insert_lead(&self, lead: &Lead) -> Result<()> {
        Err(todo_err())
    }

    async fn get_lead(&self, company_id: &str, lead_id: &str) -> Result<Option<Lead>> {
        Err(todo_err())
    }

    async fn get_lead_by_session(&self, company_id: &str, session_id: &str) -> Result<Option<Lead>> {
        Err(todo_err())
    }

    async fn find_lead_any_company(&self, lead_id: &str) -> Result<Option<Lead>> {
        Err(todo_err())
    }

    async fn update_lead(&self, lead: &Lead) -> Result<()> {
        Err(todo_err())
    }

    async fn list_leads(&self, company_id: &str, filter: &LeadFilter) -> Result<Vec<Lead>> {
        Err(todo_err())
    }

    async fn upsert_chunks(&self, chunks: &[ChunkRecord]) -> Result<()> {
        Err(todo_err())
    }

    async fn get_chunks(&self, company_id: &str, vector_ids: &[String]) -> Result<Vec<ChunkRecord>> {
        Err(todo_err())
    }

    async fn chunk_ids_for_source(&self, company_id: &str, source: &str) -> Result<Vec<String>> {
        Err(todo_err())
    }

    async fn delete_chunks(&self, company_id: &str, vector_ids: &[String]) -> Result<u64> {
        Err(todo_err())
    }

    async fn list_chunks(&self, company_id: &str, limit: u32, offset: u32) -> Result<Vec<ChunkRecord>> {
        Err(todo_err())
    }

    async fn count_chunks(&self, company_id: &str) -> Result<i64> {
        Err(todo_err())
    }

    async fn upsert_source(&self, state: &SourceState) -> Result<()> {
        Err(todo_err())
    }

    async fn get_source(&self, company_id: &str, source: &str) -> Result<Option<SourceState>> {
        Err(todo_err())
    }

    async fn list_sources(&self, company_id: &str) -> Result<Vec<SourceState>> {
        Err(todo_err())
    }

    async fn delete_source(&self, company_id: &str, source: &str) -> Result<()> {
        Err(todo_err())
    }

    async fn get_embedder_identity(&self, company_id: &str) -> Result<Option<EmbedderIdentity>> {
        Err(todo_err())
    }

    async fn set_embedder_identity(&self, company_id: &str, id: Option<&EmbedderIdentity>) -> Result<()> {
        Err(todo_err())
    }

    async fn add_token_usage(&self, company_id: &str, day: NaiveDate, tokens: u64) -> Result<u64> {
        Err(todo_err())
    }

    async fn token_usage(&self, company_id: &str, day: NaiveDate) -> Result<u64> {
        Err(todo_err())
    }

    async fn webhook_secret(&self, company_id: &str) -> Result<String> {
        Err(todo_err())
    }

    async fn record_webhook_delivery(&self, delivery: &WebhookDelivery) -> Result<()> {
        Err(todo_err())
    }

    async fn list_webhook_deliveries(&self, company_id: &str, limit: u32) -> Result<Vec<WebhookDelivery>> {
        Err(todo_err())
    }
}
