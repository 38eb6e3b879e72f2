//! PostgreSQL implementation of [`Store`] (several server instances share one database).
//!
//! Timestamps are `TIMESTAMPTZ`, JSON is `JSONB`. Every atomic write is one statement: settings
//! patches are one `UPDATE ... SET col = COALESCE($n, col) ... RETURNING`, appends are
//! `messages = messages || $n`, counters are upserts. Migrations take sqlx's advisory lock, so
//! several processes may run them at once.

use std::str::FromStr as _;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::Row as _;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::types::Json;

use super::rows::{self, TouchThrottle};
use super::{ChunkRecord, EmbedderIdentity, SourceState, Store, WebhookDelivery};
use crate::auth::ApiKey;
use crate::conversation::{Conversation, Message, Session};
use crate::error::{Error, Result};
use crate::lead::{Lead, LeadFilter};
use crate::tenant::{AiConfig, Company, NewCompany, WidgetSettings, WidgetSettingsPatch};

/// PostgreSQL store.
pub struct PostgresStore {
    pool: sqlx::PgPool,
    touch: TouchThrottle,
}

macro_rules! company_cols {
    () => {
        "id, company_id, company_name, email, phone, website, logo_url, settings, ai_config, is_active, \
         created_at, updated_at"
    };
}

macro_rules! settings_cols {
    () => {
        "company_id, primary_color, secondary_color, text_color, background_color, border_radius, \
         company_name, company_logo, welcome_message, placeholder_text, position, auto_open, \
         show_typing_indicator, ai_personality, ai_temperature, max_tokens, allowed_origins, \
         created_at, updated_at"
    };
}

macro_rules! key_cols {
    () => {
        "key_id, company_id, kind, prefix, key_hash, created_at, last_used_at, revoked_at"
    };
}

macro_rules! session_cols {
    () => {
        "session_id, company_id, user_id, lead_id, client_ip, expires_at, created_at, last_seen_at"
    };
}

macro_rules! conversation_cols {
    () => {
        "id, company_id, user_id, session_id, messages, metadata, last_activity_at, created_at, updated_at"
    };
}

macro_rules! lead_select {
    () => {
        "SELECT l.lead_id, l.company_id, l.session_id, l.user_id, l.source, l.status, l.is_lead_ready, \
         l.name, l.email, l.phone, l.message, l.ai_summary, l.profile, l.notified_at, l.created_at, \
         l.updated_at, c.messages AS messages \
         FROM leads l LEFT JOIN chat_conversations c \
         ON c.company_id = l.company_id AND c.session_id = l.session_id "
    };
}

macro_rules! chunk_cols {
    () => {
        "company_id, vector_id, content, metadata, source"
    };
}

macro_rules! source_cols {
    () => {
        "company_id, source, title, content_hash, etag, last_modified, chunk_count, ingested_at"
    };
}

/// Rows per `INSERT ... SELECT FROM UNNEST(...)` statement when upserting chunks.
const UPSERT_BATCH: usize = 1000;

impl PostgresStore {
    /// Connect with a pool (16 connections at most, 10 s to acquire one).
    ///
    /// # Errors
    /// [`Error::Config`] for a bad URL, [`Error::Storage`] when it cannot connect.
    pub async fn connect(url: &str) -> Result<Self> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| Error::Config(format!("bad PostgreSQL URL: {e}")))?
            .statement_cache_capacity(256);
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .min_connections(1)
            // No liveness ping before each query: that would double the round trips of the hot
            // reads. A broken connection fails its query and is dropped by the pool.
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(|e| Error::Storage(format!("cannot connect to PostgreSQL: {e}")))?;
        Ok(Self { pool, touch: TouchThrottle::default() })
    }

    /// The underlying pool (for tests and tools).
    pub fn pool(&self) -> &sqlx::PgPool {
        &self.pool
    }
}

fn company_row(r: &PgRow) -> Result<Company> {
    company_row_p(r, "")
}

/// A company from columns named with `prefix` (a join's aliases).
fn company_row_p(r: &PgRow, prefix: &str) -> Result<Company> {
    let c = |name: &str| format!("{prefix}{name}");
    let settings: Option<Json<serde_json::Value>> = r.try_get(c("settings").as_str())?;
    let ai_config: Option<Json<serde_json::Value>> = r.try_get(c("ai_config").as_str())?;
    Ok(Company {
        id: r.try_get(c("id").as_str())?,
        company_id: r.try_get(c("company_id").as_str())?,
        company_name: r.try_get(c("company_name").as_str())?,
        email: r.try_get(c("email").as_str())?,
        phone: r.try_get(c("phone").as_str())?,
        website: r.try_get(c("website").as_str())?,
        logo_url: r.try_get(c("logo_url").as_str())?,
        settings: settings.map(|j| j.0),
        ai_config: rows::parse_ai_config(ai_config.map(|j| j.0))?,
        is_active: r.try_get(c("is_active").as_str())?,
        created_at: r.try_get(c("created_at").as_str())?,
        updated_at: r.try_get(c("updated_at").as_str())?,
    })
}

fn settings_row(r: &PgRow) -> Result<WidgetSettings> {
    let position: String = r.try_get("position")?;
    let origins: Json<Vec<String>> = r.try_get("allowed_origins")?;
    Ok(WidgetSettings {
        company_id: r.try_get("company_id")?,
        primary_color: r.try_get("primary_color")?,
        secondary_color: r.try_get("secondary_color")?,
        text_color: r.try_get("text_color")?,
        background_color: r.try_get("background_color")?,
        border_radius: r.try_get("border_radius")?,
        company_name: r.try_get("company_name")?,
        company_logo: r.try_get("company_logo")?,
        welcome_message: r.try_get("welcome_message")?,
        placeholder_text: r.try_get("placeholder_text")?,
        position: rows::parse_position(&position)?,
        auto_open: r.try_get("auto_open")?,
        show_typing_indicator: r.try_get("show_typing_indicator")?,
        ai_personality: r.try_get("ai_personality")?,
        ai_temperature: r.try_get("ai_temperature")?,
        max_tokens: r.try_get("max_tokens")?,
        allowed_origins: origins.0,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

fn key_row(r: &PgRow) -> Result<ApiKey> {
    let kind: String = r.try_get("kind")?;
    Ok(ApiKey {
        key_id: r.try_get("key_id")?,
        company_id: r.try_get("company_id")?,
        kind: rows::parse_kind(&kind)?,
        prefix: r.try_get("prefix")?,
        key_hash: r.try_get("key_hash")?,
        created_at: r.try_get("created_at")?,
        last_used_at: r.try_get("last_used_at")?,
        revoked_at: r.try_get("revoked_at")?,
    })
}

fn session_row(r: &PgRow) -> Result<Session> {
    Ok(Session {
        session_id: r.try_get("session_id")?,
        company_id: r.try_get("company_id")?,
        user_id: r.try_get("user_id")?,
        lead_id: r.try_get("lead_id")?,
        client_ip: r.try_get("client_ip")?,
        expires_at: r.try_get("expires_at")?,
        created_at: r.try_get("created_at")?,
        last_seen_at: r.try_get("last_seen_at")?,
    })
}

fn conversation_row(r: &PgRow) -> Result<Conversation> {
    let messages: Json<Vec<Message>> = r.try_get("messages")?;
    let metadata: Option<Json<serde_json::Value>> = r.try_get("metadata")?;
    Ok(Conversation {
        id: r.try_get("id")?,
        company_id: r.try_get("company_id")?,
        user_id: r.try_get("user_id")?,
        session_id: r.try_get("session_id")?,
        messages: messages.0,
        metadata: metadata.map(|j| j.0),
        last_activity_at: r.try_get("last_activity_at")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

fn lead_row(r: &PgRow) -> Result<Lead> {
    let status: String = r.try_get("status")?;
    let profile: Json<serde_json::Map<String, serde_json::Value>> = r.try_get("profile")?;
    let messages: Option<Json<Vec<Message>>> = r.try_get("messages")?;
    Ok(Lead {
        lead_id: r.try_get("lead_id")?,
        company_id: r.try_get("company_id")?,
        session_id: r.try_get("session_id")?,
        user_id: r.try_get("user_id")?,
        source: r.try_get("source")?,
        status: rows::parse_status(&status)?,
        is_lead_ready: r.try_get("is_lead_ready")?,
        name: r.try_get("name")?,
        email: r.try_get("email")?,
        phone: r.try_get("phone")?,
        message: r.try_get("message")?,
        messages: messages.map(|j| j.0).unwrap_or_default(),
        ai_summary: r.try_get("ai_summary")?,
        profile: profile.0,
        notified_at: r.try_get("notified_at")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

fn chunk_row(r: &PgRow) -> Result<ChunkRecord> {
    let metadata: Option<Json<serde_json::Value>> = r.try_get("metadata")?;
    Ok(ChunkRecord {
        company_id: r.try_get("company_id")?,
        vector_id: r.try_get("vector_id")?,
        content: r.try_get("content")?,
        metadata: metadata.map(|j| j.0).unwrap_or(serde_json::Value::Null),
        source: r.try_get("source")?,
    })
}

fn source_row(r: &PgRow) -> Result<SourceState> {
    Ok(SourceState {
        company_id: r.try_get("company_id")?,
        source: r.try_get("source")?,
        title: r.try_get("title")?,
        content_hash: r.try_get("content_hash")?,
        etag: r.try_get("etag")?,
        last_modified: r.try_get("last_modified")?,
        chunk_count: r.try_get("chunk_count")?,
        ingested_at: r.try_get("ingested_at")?,
    })
}

fn delivery_row(r: &PgRow) -> Result<WebhookDelivery> {
    Ok(WebhookDelivery {
        company_id: r.try_get("company_id")?,
        lead_id: r.try_get("lead_id")?,
        url: r.try_get("url")?,
        attempts: r.try_get("attempts")?,
        status_code: r.try_get("status_code")?,
        error: r.try_get("error")?,
        delivered: r.try_get("delivered")?,
        created_at: r.try_get("created_at")?,
    })
}

fn json_null_to_none(v: &serde_json::Value) -> Option<Json<&serde_json::Value>> {
    if v.is_null() { None } else { Some(Json(v)) }
}

/// Bind a lead's columns from `source` to `updated_at`, in table order (the inserts' tail).
fn bind_lead_details<'q>(
    q: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    l: &'q Lead,
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    q.bind(&l.source)
        .bind(l.status.as_str())
        .bind(l.is_lead_ready)
        .bind(&l.name)
        .bind(&l.email)
        .bind(&l.phone)
        .bind(&l.message)
        .bind(&l.ai_summary)
        .bind(Json(&l.profile))
        .bind(l.notified_at)
        .bind(l.created_at)
        .bind(l.updated_at)
}

/// `UPDATE leads` of every mutable field; the number of rows changed.
async fn exec_update_lead<'e, E: sqlx::Executor<'e, Database = sqlx::Postgres>>(
    e: E,
    l: &Lead,
) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE leads SET user_id = $3, source = $4, status = $5, is_lead_ready = $6, name = $7, \
         email = $8, phone = $9, message = $10, ai_summary = $11, profile = $12, notified_at = $13, \
         updated_at = $14 WHERE lead_id = $1 AND company_id = $2",
    )
    .bind(&l.lead_id)
    .bind(&l.company_id)
    .bind(&l.user_id)
    .bind(&l.source)
    .bind(l.status.as_str())
    .bind(l.is_lead_ready)
    .bind(&l.name)
    .bind(&l.email)
    .bind(&l.phone)
    .bind(&l.message)
    .bind(&l.ai_summary)
    .bind(Json(&l.profile))
    .bind(l.notified_at)
    .bind(rows::now())
    .execute(e)
    .await?;
    Ok(done.rows_affected())
}

#[async_trait]
impl Store for PostgresStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn migrate(&self) -> Result<()> {
        // sqlx holds a PostgreSQL advisory lock while migrating: concurrent processes queue.
        rows::migrator(rows::POSTGRES_MIGRATIONS).run(&self.pool).await?;
        Ok(())
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn create_company(&self, new: &NewCompany) -> Result<Company> {
        let now = rows::now();
        let defaults = WidgetSettings::defaults_for(&new.company_id, &new.company_name, now);
        let mut tx = self.pool.begin().await?;
        let inserted = sqlx::query(concat!(
            "INSERT INTO user_companies (company_id, company_name, email, phone, website, logo_url, \
             settings, ai_config, is_active, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, TRUE, $8, $8) RETURNING ",
            company_cols!()
        ))
        .bind(&new.company_id)
        .bind(&new.company_name)
        .bind(&new.email)
        .bind(&new.phone)
        .bind(&new.website)
        .bind(&new.logo_url)
        .bind(Json(&new.ai_config))
        .bind(now)
        .fetch_one(&mut *tx)
        .await;
        let row = match inserted {
            Ok(row) => row,
            Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
                return Err(Error::Conflict(format!("company {} already exists", new.company_id)));
            }
            Err(e) => return Err(e.into()),
        };
        let company = company_row(&row)?;
        // Every other column takes the schema's defaults (the seed's).
        sqlx::query(
            "INSERT INTO widget_settings (company_id, company_name, welcome_message, allowed_origins, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)",
        )
        .bind(&new.company_id)
        .bind(&new.company_name)
        .bind(&defaults.welcome_message)
        .bind(Json(&new.allowed_origins))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(company)
    }

    async fn get_company(&self, company_id: &str) -> Result<Option<Company>> {
        let row =
            sqlx::query(concat!("SELECT ", company_cols!(), " FROM user_companies WHERE company_id = $1"))
                .bind(company_id)
                .fetch_optional(&self.pool)
                .await?;
        row.as_ref().map(company_row).transpose()
    }

    async fn get_company_with_settings(
        &self,
        company_id: &str,
    ) -> Result<Option<(Company, Option<WidgetSettings>)>> {
        let row =
            sqlx::query(rows::COMPANY_WITH_SETTINGS_SQL).bind(company_id).fetch_optional(&self.pool).await?;
        let Some(r) = row else { return Ok(None) };
        let company = company_row_p(&r, "c_")?;
        let has_settings: Option<String> = r.try_get("company_id")?;
        let settings = if has_settings.is_some() { Some(settings_row(&r)?) } else { None };
        Ok(Some((company, settings)))
    }

    async fn list_companies(&self) -> Result<Vec<Company>> {
        let rows = sqlx::query(concat!("SELECT ", company_cols!(), " FROM user_companies ORDER BY id"))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(company_row).collect()
    }

    async fn set_company_active(&self, company_id: &str, active: bool) -> Result<()> {
        let done =
            sqlx::query("UPDATE user_companies SET is_active = $2, updated_at = $3 WHERE company_id = $1")
                .bind(company_id)
                .bind(active)
                .bind(rows::now())
                .execute(&self.pool)
                .await?;
        if done.rows_affected() == 0 {
            return Err(Error::not_found(format!("company {company_id}")));
        }
        Ok(())
    }

    async fn update_ai_config(&self, company_id: &str, config: &AiConfig) -> Result<()> {
        let done =
            sqlx::query("UPDATE user_companies SET ai_config = $2, updated_at = $3 WHERE company_id = $1")
                .bind(company_id)
                .bind(Json(config))
                .bind(rows::now())
                .execute(&self.pool)
                .await?;
        if done.rows_affected() == 0 {
            return Err(Error::not_found(format!("company {company_id}")));
        }
        Ok(())
    }

    async fn get_widget_settings(&self, company_id: &str) -> Result<Option<WidgetSettings>> {
        let row =
            sqlx::query(concat!("SELECT ", settings_cols!(), " FROM widget_settings WHERE company_id = $1"))
                .bind(company_id)
                .fetch_optional(&self.pool)
                .await?;
        row.as_ref().map(settings_row).transpose()
    }

    async fn get_public_widget_settings(&self, company_id: &str) -> Result<Option<(bool, WidgetSettings)>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            settings_cols!(),
            ", (SELECT c.is_active FROM user_companies c WHERE c.company_id = widget_settings.company_id) \
             AS company_active FROM widget_settings WHERE company_id = $1"
        ))
        .bind(company_id)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(r) => Ok(Some((r.try_get::<bool, _>("company_active")?, settings_row(&r)?))),
            None => Ok(None),
        }
    }

    async fn update_widget_settings(
        &self,
        company_id: &str,
        patch: &WidgetSettingsPatch,
    ) -> Result<WidgetSettings> {
        let row = sqlx::query(concat!(
            "UPDATE widget_settings SET \
             primary_color = COALESCE($1, primary_color), \
             secondary_color = COALESCE($2, secondary_color), \
             text_color = COALESCE($3, text_color), \
             background_color = COALESCE($4, background_color), \
             border_radius = COALESCE($5, border_radius), \
             company_name = COALESCE($6, company_name), \
             company_logo = CASE WHEN $7 THEN $8 ELSE company_logo END, \
             welcome_message = COALESCE($9, welcome_message), \
             placeholder_text = COALESCE($10, placeholder_text), \
             position = COALESCE($11, position), \
             auto_open = COALESCE($12, auto_open), \
             show_typing_indicator = COALESCE($13, show_typing_indicator), \
             ai_personality = COALESCE($14, ai_personality), \
             ai_temperature = COALESCE($15, ai_temperature), \
             max_tokens = COALESCE($16, max_tokens), \
             allowed_origins = COALESCE($17, allowed_origins), \
             updated_at = $18 \
             WHERE company_id = $19 RETURNING ",
            settings_cols!()
        ))
        .bind(&patch.primary_color)
        .bind(&patch.secondary_color)
        .bind(&patch.text_color)
        .bind(&patch.background_color)
        .bind(patch.border_radius)
        .bind(&patch.company_name)
        .bind(patch.company_logo.is_some())
        .bind(patch.company_logo.clone().flatten())
        .bind(&patch.welcome_message)
        .bind(&patch.placeholder_text)
        .bind(patch.position.map(|p| p.as_str()))
        .bind(patch.auto_open)
        .bind(patch.show_typing_indicator)
        .bind(&patch.ai_personality)
        .bind(patch.ai_temperature)
        .bind(patch.max_tokens)
        .bind(patch.allowed_origins.as_ref().map(Json))
        .bind(rows::now())
        .bind(company_id)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(r) => settings_row(&r),
            None => Err(Error::not_found(format!("widget settings of company {company_id}"))),
        }
    }

    async fn insert_api_key(&self, key: &ApiKey) -> Result<()> {
        sqlx::query(
            "INSERT INTO api_keys (key_id, company_id, kind, prefix, key_hash, created_at, last_used_at, \
             revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&key.key_id)
        .bind(&key.company_id)
        .bind(key.kind.as_str())
        .bind(&key.prefix)
        .bind(&key.key_hash)
        .bind(key.created_at)
        .bind(key.last_used_at)
        .bind(key.revoked_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn find_api_key(&self, key_hash: &str) -> Result<Option<ApiKey>> {
        let row = sqlx::query(concat!("SELECT ", key_cols!(), " FROM api_keys WHERE key_hash = $1"))
            .bind(key_hash)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(key_row).transpose()
    }

    async fn list_api_keys(&self, company_id: &str) -> Result<Vec<ApiKey>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            key_cols!(),
            " FROM api_keys WHERE company_id = $1 ORDER BY created_at DESC, key_id DESC"
        ))
        .bind(company_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(key_row).collect()
    }

    async fn revoke_api_key(&self, key_id: &str) -> Result<bool> {
        let done = sqlx::query("UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $2) WHERE key_id = $1")
            .bind(key_id)
            .bind(rows::now())
            .execute(&self.pool)
            .await?;
        self.touch.forget(key_id);
        Ok(done.rows_affected() > 0)
    }

    async fn touch_api_key(&self, key_id: &str, at: DateTime<Utc>) -> Result<()> {
        if !self.touch.should_write(key_id, at) {
            return Ok(());
        }
        sqlx::query("UPDATE api_keys SET last_used_at = $2 WHERE key_id = $1")
            .bind(key_id)
            .bind(at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn insert_session(&self, s: &Session) -> Result<()> {
        sqlx::query(
            "INSERT INTO sessions (session_id, company_id, user_id, lead_id, client_ip, expires_at, \
             created_at, last_seen_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&s.session_id)
        .bind(&s.company_id)
        .bind(&s.user_id)
        .bind(&s.lead_id)
        .bind(&s.client_ip)
        .bind(s.expires_at)
        .bind(s.created_at)
        .bind(s.last_seen_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn get_session(&self, company_id: &str, session_id: &str) -> Result<Option<Session>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            session_cols!(),
            " FROM sessions WHERE session_id = $1 AND company_id = $2"
        ))
        .bind(session_id)
        .bind(company_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(session_row).transpose()
    }

    async fn update_session(&self, s: &Session) -> Result<()> {
        let done = sqlx::query(
            "UPDATE sessions SET user_id = $3, lead_id = $4, client_ip = $5, expires_at = $6, \
             last_seen_at = $7 WHERE session_id = $1 AND company_id = $2",
        )
        .bind(&s.session_id)
        .bind(&s.company_id)
        .bind(&s.user_id)
        .bind(&s.lead_id)
        .bind(&s.client_ip)
        .bind(s.expires_at)
        .bind(s.last_seen_at)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(Error::not_found("session"));
        }
        Ok(())
    }

    async fn ensure_conversation(
        &self,
        company_id: &str,
        session_id: &str,
        user_id: &str,
    ) -> Result<Conversation> {
        if let Some(c) = self.get_conversation(company_id, session_id).await? {
            return Ok(c);
        }
        let now = rows::now();
        sqlx::query(
            "INSERT INTO chat_conversations (company_id, user_id, session_id, messages, last_activity_at, \
             created_at, updated_at) VALUES ($1, $2, $3, '[]', $4, $4, $4) \
             ON CONFLICT (company_id, session_id) DO NOTHING",
        )
        .bind(company_id)
        .bind(user_id)
        .bind(session_id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        self.get_conversation(company_id, session_id)
            .await?
            .ok_or_else(|| Error::Internal("conversation vanished right after its insert".into()))
    }

    async fn get_conversation(&self, company_id: &str, session_id: &str) -> Result<Option<Conversation>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            conversation_cols!(),
            " FROM chat_conversations WHERE company_id = $1 AND session_id = $2"
        ))
        .bind(company_id)
        .bind(session_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(conversation_row).transpose()
    }

    async fn append_messages(&self, company_id: &str, session_id: &str, messages: &[Message]) -> Result<()> {
        if messages.is_empty() {
            return Ok(());
        }
        let done = sqlx::query(
            "UPDATE chat_conversations SET messages = messages || $3, last_activity_at = $4, \
             updated_at = $4 WHERE company_id = $1 AND session_id = $2",
        )
        .bind(company_id)
        .bind(session_id)
        .bind(Json(messages))
        .bind(rows::now())
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(Error::not_found("conversation"));
        }
        Ok(())
    }

    async fn append_to_conversation(
        &self,
        company_id: &str,
        session_id: &str,
        user_id: &str,
        messages: &[Message],
    ) -> Result<Conversation> {
        let row = sqlx::query(concat!(
            "INSERT INTO chat_conversations (company_id, user_id, session_id, messages, last_activity_at, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5, $5) \
             ON CONFLICT (company_id, session_id) DO UPDATE SET \
             messages = chat_conversations.messages || EXCLUDED.messages, \
             last_activity_at = EXCLUDED.last_activity_at, updated_at = EXCLUDED.updated_at \
             RETURNING ",
            conversation_cols!()
        ))
        .bind(company_id)
        .bind(user_id)
        .bind(session_id)
        .bind(Json(messages))
        .bind(rows::now())
        .fetch_one(&self.pool)
        .await?;
        conversation_row(&row)
    }

    async fn append_to_conversation_with_lead(
        &self,
        company_id: &str,
        session_id: &str,
        user_id: &str,
        messages: &[Message],
        l: &Lead,
    ) -> Result<(Conversation, bool)> {
        if l.company_id != company_id || l.session_id != session_id {
            return Err(Error::Internal("lead of another conversation".into()));
        }
        let q = sqlx::query(concat!(
            "WITH lead AS (INSERT INTO leads (company_id, session_id, lead_id, user_id, source, status, \
             is_lead_ready, name, email, phone, message, ai_summary, profile, notified_at, created_at, \
             updated_at) VALUES ($1, $3, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19) \
             ON CONFLICT (company_id, session_id) DO NOTHING RETURNING lead_id), \
             conv AS (INSERT INTO chat_conversations (company_id, user_id, session_id, messages, \
             last_activity_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5, $5) \
             ON CONFLICT (company_id, session_id) DO UPDATE SET \
             messages = chat_conversations.messages || EXCLUDED.messages, \
             last_activity_at = EXCLUDED.last_activity_at, updated_at = EXCLUDED.updated_at \
             RETURNING ",
            conversation_cols!(),
            ") SELECT conv.*, (SELECT COUNT(*) FROM lead) AS lead_inserted FROM conv"
        ))
        .bind(company_id)
        .bind(user_id)
        .bind(session_id)
        .bind(Json(messages))
        .bind(rows::now())
        .bind(&l.lead_id)
        .bind(&l.user_id);
        let row = bind_lead_details(q, l).fetch_one(&self.pool).await?;
        let inserted: i64 = row.try_get("lead_inserted")?;
        Ok((conversation_row(&row)?, inserted > 0))
    }

    async fn list_conversations(
        &self,
        company_id: &str,
        limit: u32,
        offset: u32,
    ) -> Result<Vec<Conversation>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            conversation_cols!(),
            " FROM chat_conversations WHERE company_id = $1 \
             ORDER BY last_activity_at DESC, id DESC LIMIT $2 OFFSET $3"
        ))
        .bind(company_id)
        .bind(rows::pg_limit(limit))
        .bind(i64::from(offset))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(conversation_row).collect()
    }

    async fn delete_conversation(&self, company_id: &str, session_id: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM chat_conversations WHERE company_id = $1 AND session_id = $2")
            .bind(company_id)
            .bind(session_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn insert_lead(&self, l: &Lead) -> Result<()> {
        let q = sqlx::query(
            "INSERT INTO leads (lead_id, company_id, session_id, user_id, source, status, is_lead_ready, \
             name, email, phone, message, ai_summary, profile, notified_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        )
        .bind(&l.lead_id)
        .bind(&l.company_id)
        .bind(&l.session_id)
        .bind(&l.user_id);
        bind_lead_details(q, l).execute(&self.pool).await?;
        Ok(())
    }

    async fn get_lead(&self, company_id: &str, lead_id: &str) -> Result<Option<Lead>> {
        let row = sqlx::query(concat!(lead_select!(), "WHERE l.lead_id = $1 AND l.company_id = $2"))
            .bind(lead_id)
            .bind(company_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(lead_row).transpose()
    }

    async fn get_lead_by_session(&self, company_id: &str, session_id: &str) -> Result<Option<Lead>> {
        let row = sqlx::query(concat!(lead_select!(), "WHERE l.company_id = $1 AND l.session_id = $2"))
            .bind(company_id)
            .bind(session_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(lead_row).transpose()
    }

    async fn find_lead_any_company(&self, lead_id: &str) -> Result<Option<Lead>> {
        let row = sqlx::query(concat!(lead_select!(), "WHERE l.lead_id = $1"))
            .bind(lead_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(lead_row).transpose()
    }

    async fn update_lead(&self, l: &Lead) -> Result<()> {
        if exec_update_lead(&self.pool, l).await? == 0 {
            return Err(Error::not_found(format!("lead {}", l.lead_id)));
        }
        Ok(())
    }

    async fn modify_lead(
        &self,
        company_id: &str,
        lead_id: &str,
        f: &mut (dyn for<'l> FnMut(&'l mut Lead) -> bool + Send),
    ) -> Result<Option<Lead>> {
        let mut tx = self.pool.begin().await?;
        // The lead's row stays locked until the commit.
        let row = sqlx::query(concat!(
            lead_select!(),
            "WHERE l.lead_id = $1 AND l.company_id = $2 FOR UPDATE OF l"
        ))
        .bind(lead_id)
        .bind(company_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(mut lead) = row.as_ref().map(lead_row).transpose()? else {
            return Ok(None);
        };
        if f(&mut lead) {
            exec_update_lead(&mut *tx, &lead).await?;
            tx.commit().await?;
        }
        Ok(Some(lead))
    }

    async fn list_leads(&self, company_id: &str, filter: &LeadFilter) -> Result<Vec<Lead>> {
        let rows = sqlx::query(concat!(
            lead_select!(),
            "WHERE l.company_id = $1 AND ($2 IS NULL OR l.status = $2) \
             AND ($3 IS NULL OR l.is_lead_ready = $3) \
             ORDER BY l.created_at DESC, l.lead_id DESC LIMIT $4 OFFSET $5"
        ))
        .bind(company_id)
        .bind(filter.status.map(|s| s.as_str()))
        .bind(filter.ready)
        .bind(rows::pg_limit(filter.limit))
        .bind(i64::from(filter.offset))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(lead_row).collect()
    }

    async fn upsert_chunks(&self, chunks: &[ChunkRecord]) -> Result<()> {
        if chunks.is_empty() {
            return Ok(());
        }
        let now = rows::now();
        let chunks = rows::dedup_chunks(chunks);
        let mut tx = self.pool.begin().await?;
        for batch in chunks.chunks(UPSERT_BATCH) {
            let companies: Vec<&str> = batch.iter().map(|c| c.company_id.as_str()).collect();
            let ids: Vec<&str> = batch.iter().map(|c| c.vector_id.as_str()).collect();
            let contents: Vec<&str> = batch.iter().map(|c| c.content.as_str()).collect();
            let metadata: Vec<Option<Json<&serde_json::Value>>> =
                batch.iter().map(|c| json_null_to_none(&c.metadata)).collect();
            let sources: Vec<Option<&str>> = batch.iter().map(|c| c.source.as_deref()).collect();
            sqlx::query(
                "INSERT INTO pinecone_vectors (company_id, vector_id, content, metadata, source, created_at, \
                 updated_at) SELECT u.c, u.v, u.t, u.m, u.s, $6, $6 \
                 FROM UNNEST($1::varchar[], $2::varchar[], $3::text[], $4::jsonb[], $5::varchar[]) \
                 AS u(c, v, t, m, s) \
                 ON CONFLICT (company_id, vector_id) DO UPDATE SET content = excluded.content, \
                 metadata = excluded.metadata, source = excluded.source, updated_at = excluded.updated_at",
            )
            .bind(companies)
            .bind(ids)
            .bind(contents)
            .bind(metadata)
            .bind(sources)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn get_chunks(&self, company_id: &str, vector_ids: &[String]) -> Result<Vec<ChunkRecord>> {
        if vector_ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(concat!(
            "SELECT ",
            chunk_cols!(),
            " FROM pinecone_vectors WHERE company_id = $1 \
             AND vector_id = ANY($2)"
        ))
        .bind(company_id)
        .bind(vector_ids)
        .fetch_all(&self.pool)
        .await?;
        let found = rows.iter().map(chunk_row).collect::<Result<Vec<_>>>()?;
        Ok(rows::order_like(vector_ids, found))
    }

    async fn chunk_ids_for_source(&self, company_id: &str, source: &str) -> Result<Vec<String>> {
        let ids = sqlx::query_scalar(
            "SELECT vector_id FROM pinecone_vectors WHERE company_id = $1 AND source = $2 ORDER BY vector_id",
        )
        .bind(company_id)
        .bind(source)
        .fetch_all(&self.pool)
        .await?;
        Ok(ids)
    }

    async fn delete_chunks(&self, company_id: &str, vector_ids: &[String]) -> Result<u64> {
        if vector_ids.is_empty() {
            return Ok(0);
        }
        let done = sqlx::query(
            "DELETE FROM pinecone_vectors WHERE company_id = $1 \
             AND vector_id = ANY($2)",
        )
        .bind(company_id)
        .bind(vector_ids)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    async fn list_chunks(&self, company_id: &str, limit: u32, offset: u32) -> Result<Vec<ChunkRecord>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            chunk_cols!(),
            " FROM pinecone_vectors WHERE company_id = $1 ORDER BY vector_id LIMIT $2 OFFSET $3"
        ))
        .bind(company_id)
        .bind(rows::pg_limit(limit))
        .bind(i64::from(offset))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(chunk_row).collect()
    }

    async fn count_chunks(&self, company_id: &str) -> Result<i64> {
        let n = sqlx::query_scalar("SELECT COUNT(*) FROM pinecone_vectors WHERE company_id = $1")
            .bind(company_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(n)
    }

    async fn upsert_source(&self, s: &SourceState) -> Result<()> {
        sqlx::query(
            "INSERT INTO ingest_sources (company_id, source, title, content_hash, etag, last_modified, \
             chunk_count, ingested_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (company_id, source) DO UPDATE SET title = excluded.title, \
             content_hash = excluded.content_hash, etag = excluded.etag, \
             last_modified = excluded.last_modified, chunk_count = excluded.chunk_count, \
             ingested_at = excluded.ingested_at",
        )
        .bind(&s.company_id)
        .bind(&s.source)
        .bind(&s.title)
        .bind(&s.content_hash)
        .bind(&s.etag)
        .bind(&s.last_modified)
        .bind(s.chunk_count)
        .bind(s.ingested_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn get_source(&self, company_id: &str, source: &str) -> Result<Option<SourceState>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            source_cols!(),
            " FROM ingest_sources WHERE company_id = $1 AND source = $2"
        ))
        .bind(company_id)
        .bind(source)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(source_row).transpose()
    }

    async fn list_sources(&self, company_id: &str) -> Result<Vec<SourceState>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            source_cols!(),
            " FROM ingest_sources WHERE company_id = $1 ORDER BY source"
        ))
        .bind(company_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(source_row).collect()
    }

    async fn delete_source(&self, company_id: &str, source: &str) -> Result<()> {
        sqlx::query("DELETE FROM ingest_sources WHERE company_id = $1 AND source = $2")
            .bind(company_id)
            .bind(source)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn get_embedder_identity(&self, company_id: &str) -> Result<Option<EmbedderIdentity>> {
        let row = sqlx::query("SELECT model, dimension FROM company_embedders WHERE company_id = $1")
            .bind(company_id)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            None => Ok(None),
            Some(r) => Ok(Some(EmbedderIdentity {
                model: r.try_get("model")?,
                dimension: rows::dimension_from_i64(r.try_get("dimension")?)?,
            })),
        }
    }

    async fn set_embedder_identity(&self, company_id: &str, id: Option<&EmbedderIdentity>) -> Result<()> {
        match id {
            None => {
                sqlx::query("DELETE FROM company_embedders WHERE company_id = $1")
                    .bind(company_id)
                    .execute(&self.pool)
                    .await?;
            }
            Some(id) => {
                sqlx::query(
                    "INSERT INTO company_embedders (company_id, model, dimension) VALUES ($1, $2, $3) \
                     ON CONFLICT (company_id) DO UPDATE SET model = excluded.model, \
                     dimension = excluded.dimension",
                )
                .bind(company_id)
                .bind(&id.model)
                .bind(rows::dimension_to_i64(id.dimension)?)
                .execute(&self.pool)
                .await?;
            }
        }
        Ok(())
    }

    async fn add_token_usage(&self, company_id: &str, day: NaiveDate, tokens: u64) -> Result<u64> {
        let total: i64 = sqlx::query_scalar(
            "INSERT INTO token_usage (company_id, day, tokens) VALUES ($1, $2, $3) \
             ON CONFLICT (company_id, day) DO UPDATE SET tokens = token_usage.tokens + excluded.tokens \
             RETURNING tokens",
        )
        .bind(company_id)
        .bind(day)
        .bind(rows::to_i64("tokens", tokens)?)
        .fetch_one(&self.pool)
        .await?;
        Ok(rows::to_u64(total))
    }

    async fn token_usage(&self, company_id: &str, day: NaiveDate) -> Result<u64> {
        let total: Option<i64> =
            sqlx::query_scalar("SELECT tokens FROM token_usage WHERE company_id = $1 AND day = $2")
                .bind(company_id)
                .bind(day)
                .fetch_optional(&self.pool)
                .await?;
        Ok(total.map_or(0, rows::to_u64))
    }

    async fn webhook_secret(&self, company_id: &str) -> Result<String> {
        let select = "SELECT secret FROM webhook_secrets WHERE company_id = $1";
        if let Some(s) = sqlx::query_scalar(select).bind(company_id).fetch_optional(&self.pool).await? {
            return Ok(s);
        }
        sqlx::query(
            "INSERT INTO webhook_secrets (company_id, secret) VALUES ($1, $2) \
             ON CONFLICT (company_id) DO NOTHING",
        )
        .bind(company_id)
        .bind(crate::auth::random_token("whsec_", 32))
        .execute(&self.pool)
        .await?;
        Ok(sqlx::query_scalar(select).bind(company_id).fetch_one(&self.pool).await?)
    }

    async fn record_webhook_delivery(&self, d: &WebhookDelivery) -> Result<()> {
        sqlx::query(
            "INSERT INTO webhook_deliveries (company_id, lead_id, url, attempts, status_code, error, \
             delivered, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&d.company_id)
        .bind(&d.lead_id)
        .bind(&d.url)
        .bind(d.attempts)
        .bind(d.status_code)
        .bind(&d.error)
        .bind(d.delivered)
        .bind(d.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn list_webhook_deliveries(&self, company_id: &str, limit: u32) -> Result<Vec<WebhookDelivery>> {
        let rows = sqlx::query(
            "SELECT company_id, lead_id, url, attempts, status_code, error, delivered, created_at \
             FROM webhook_deliveries WHERE company_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2",
        )
        .bind(company_id)
        .bind(rows::pg_limit(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(delivery_row).collect()
    }

    async fn get_corpus_stats(&self, company_id: &str) -> Result<Option<super::CorpusStatsRow>> {
        let row = sqlx::query(
            "SELECT company_id, model, doc_count, stats, updated_at FROM corpus_stats WHERE company_id = $1",
        )
        .bind(company_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| -> Result<super::CorpusStatsRow> {
            Ok(super::CorpusStatsRow {
                company_id: r.try_get("company_id")?,
                model: r.try_get("model")?,
                doc_count: rows::to_u64(r.try_get("doc_count")?),
                stats: r.try_get("stats")?,
                updated_at: r.try_get("updated_at")?,
            })
        })
        .transpose()
    }

    async fn put_corpus_stats(
        &self,
        company_id: &str,
        model: &str,
        doc_count: u64,
        stats: &[u8],
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO corpus_stats (company_id, model, doc_count, stats, updated_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (company_id) DO UPDATE SET model = excluded.model, doc_count = excluded.doc_count, \
             stats = excluded.stats, updated_at = excluded.updated_at",
        )
        .bind(company_id)
        .bind(model)
        .bind(rows::to_i64("doc_count", doc_count)?)
        .bind(stats)
        .bind(rows::now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
