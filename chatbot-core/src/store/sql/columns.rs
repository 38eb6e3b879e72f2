//! One row decoder per table, for every database: [`FromColumns`] reads a row through
//! [`Columns`], which any sqlx row implements whose database decodes the column types used here
//! (what sqlx's `FromRow` derive does, with the bounds written once instead of per table).

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use sqlx::{ColumnIndex, Decode, Row, Type};

use super::TenantRow;
use crate::auth::{ApiKey, IdentitySecret, OwnerToken, OwnerTokenKind, VisitorToken};
use crate::conversation::{Conversation, Session};
use crate::error::{Error, Result};
use crate::lead::Lead;
use crate::store::common::{
    dimension_from_i64, parse_ai_config, parse_kind, parse_position, parse_status, to_u64,
};
use crate::store::{ChunkRecord, CorpusStatsRow, EmbedderIdentity, SourceState, WebhookDelivery};
use crate::tenant::{ClientType, Company, WidgetSettings};

/// Reading a row's columns by name.
pub(crate) trait Columns {
    fn text(&self, col: &str) -> Result<String>;
    fn text_opt(&self, col: &str) -> Result<Option<String>>;
    fn int(&self, col: &str) -> Result<i64>;
    fn int4(&self, col: &str) -> Result<i32>;
    fn int4_opt(&self, col: &str) -> Result<Option<i32>>;
    fn float(&self, col: &str) -> Result<f64>;
    fn float_opt(&self, col: &str) -> Result<Option<f64>>;
    fn int_opt(&self, col: &str) -> Result<Option<i64>>;
    fn flag(&self, col: &str) -> Result<bool>;
    fn time(&self, col: &str) -> Result<DateTime<Utc>>;
    fn time_opt(&self, col: &str) -> Result<Option<DateTime<Utc>>>;
    fn bytes(&self, col: &str) -> Result<Vec<u8>>;
    /// A JSON column (`None` for SQL NULL).
    fn json<T: DeserializeOwned + 'static>(&self, col: &str) -> Result<Option<T>>;
}

/// How a database's rows decode a JSON column (SQLite: text; PostgreSQL: `JSONB`).
pub(crate) trait JsonColumns: sqlx::Database {
    fn json<T: DeserializeOwned + 'static>(row: &Self::Row, col: &str) -> Result<Option<T>>;
}

impl<R> Columns for R
where
    R: Row,
    R::Database: JsonColumns,
    for<'a> &'a str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i32: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> f64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> bool: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> DateTime<Utc>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
{
    fn text(&self, col: &str) -> Result<String> {
        Ok(self.try_get(col)?)
    }
    fn text_opt(&self, col: &str) -> Result<Option<String>> {
        Ok(self.try_get(col)?)
    }
    fn int(&self, col: &str) -> Result<i64> {
        Ok(self.try_get(col)?)
    }
    fn int4(&self, col: &str) -> Result<i32> {
        Ok(self.try_get(col)?)
    }
    fn int4_opt(&self, col: &str) -> Result<Option<i32>> {
        Ok(self.try_get(col)?)
    }
    fn float(&self, col: &str) -> Result<f64> {
        Ok(self.try_get(col)?)
    }
    fn float_opt(&self, col: &str) -> Result<Option<f64>> {
        Ok(self.try_get(col)?)
    }
    fn int_opt(&self, col: &str) -> Result<Option<i64>> {
        Ok(self.try_get(col)?)
    }
    fn flag(&self, col: &str) -> Result<bool> {
        Ok(self.try_get(col)?)
    }
    fn time(&self, col: &str) -> Result<DateTime<Utc>> {
        Ok(self.try_get(col)?)
    }
    fn time_opt(&self, col: &str) -> Result<Option<DateTime<Utc>>> {
        Ok(self.try_get(col)?)
    }
    fn bytes(&self, col: &str) -> Result<Vec<u8>> {
        Ok(self.try_get(col)?)
    }
    fn json<T: DeserializeOwned + 'static>(&self, col: &str) -> Result<Option<T>> {
        <R::Database as JsonColumns>::json(self, col)
    }
}

/// A JSON column that must not be NULL.
fn json_req<T: DeserializeOwned + 'static>(r: &impl Columns, col: &str) -> Result<T> {
    r.json(col)?.ok_or_else(|| Error::Storage(format!("stored {col} is NULL")))
}

/// A record decoded from one row.
pub(crate) trait FromColumns: Sized + Send + 'static {
    fn from_columns<R: Columns>(r: &R) -> Result<Self>;
}

/// One column named `v` (a statement's single value: `SELECT COUNT(*) AS v`).
pub(crate) struct Scalar<T>(pub(crate) T);

impl FromColumns for Scalar<i64> {
    fn from_columns<R: Columns>(r: &R) -> Result<Self> {
        Ok(Self(r.int("v")?))
    }
}

impl FromColumns for Scalar<String> {
    fn from_columns<R: Columns>(r: &R) -> Result<Self> {
        Ok(Self(r.text("v")?))
    }
}

/// A company from columns named with `prefix` (a join's aliases).
fn company(r: &impl Columns, prefix: &str) -> Result<Company> {
    let c = |name: &str| format!("{prefix}{name}");
    Ok(Company {
        id: r.int(&c("id"))?,
        company_id: r.text(&c("company_id"))?,
        company_name: r.text(&c("company_name"))?,
        email: r.text(&c("email"))?,
        phone: r.text_opt(&c("phone"))?,
        website: r.text_opt(&c("website"))?,
        logo_url: r.text_opt(&c("logo_url"))?,
        settings: r.json(&c("settings"))?,
        ai_config: parse_ai_config(r.json(&c("ai_config"))?)?,
        is_active: r.flag(&c("is_active"))?,
        created_at: r.time(&c("created_at"))?,
        updated_at: r.time(&c("updated_at"))?,
        client_type: ClientType::parse(&r.text(&c("client_type"))?)
            .map_err(|e| Error::Storage(format!("user_companies.client_type: {e}")))?,
    })
}

impl FromColumns for Company {
    fn from_columns<R: Columns>(r: &R) -> Result<Self> {
        company(r, "")
    }
}

impl FromColumns for WidgetSettings {
    fn from_columns<R: Columns>(r: &R) -> Result<Self> {
        Ok(WidgetSettings {
            company_id: r.text("company_id")?,
            primary_color: r.text("primary_color")?,
            secondary_color: r.text("secondary_color")?,
            text_color: r.text("text_color")?,
            background_color: r.text("background_color")?,
            border_radius: r.int4("border_radius")?,
            company_name: r.text("company_name")?,
            company_logo: r.text_opt("company_logo")?,
            welcome_message: r.text("welcome_message")?,
            placeholder_text: r.text("placeholder_text")?,
            position: parse_position(&r.text("position")?)?,
            auto_open: r.flag("auto_open")?,
            show_typing_indicator: r.flag("show_typing_indicator")?,
            ai_personality: r.text("ai_personality")?,
            ai_temperature: r.float("ai_temperature")?,
            max_tokens: r.int4("max_tokens")?,
            allowed_origins: json_req(r, "allowed_origins")?,
            suggested_questions: json_req(r, "suggested_questions")?,
            language: r.text("language")?,
            show_sources: r.flag("show_sources")?,
            launcher_label: r.text("launcher_label")?,
            created_at: r.time("created_at")?,
            updated_at: r.time("updated_at")?,
        })
    }
}

impl FromColumns for TenantRow {
    fn from_columns<R: Columns>(r: &R) -> Result<Self> {
        let company = company(r, "c_")?;
        // The settings' columns are NULL when the company has no settings row.
        let settings = match r.text_opt("company_id")? {
            Some(_) => Some(WidgetSettings::from_columns(r)?),
            None => None,
        };
        Ok(Self((company, settings)))
    }
}

impl FromColumns for ApiKey {
    fn from_columns<R: Columns>(r: &R) -> Result<Self> {
        Ok(ApiKey {
            key_id: r.text("key_id")?,
            company_id: r.text("company_id")?,
            kind: parse_kind(&r.text("kind")?)?,
            prefix: r.text("prefix")?,
            key_hash: r.text("key_hash")?,
            created_at: r.time("created_at")?,
            last_used_at: r.time_opt("last_used_at")?,
            revoked_at: r.time_opt("revoked_at")?,
        })
    }
}

impl FromColumns for VisitorToken {
    fn from_columns<R: Columns>(r: &R) -> Result<Self> {
        Ok(VisitorToken {
            token_hash: r.text("token_hash")?,
            company_id: r.text("company_id")?,
            session_id: r.text("session_id")?,
            user_id: r.text("user_id")?,
            created_at: r.time("created_at")?,
            last_used_at: r.time("last_used_at")?,
            expires_at: r.time("expires_at")?,
        })
    }
}

impl FromColumns for OwnerToken {
    fn from_columns<R: Columns>(r: &R) -> Result<Self> {
        Ok(OwnerToken {
            token_hash: r.text("token_hash")?,
            company_id: r.text("company_id")?,
            kind: OwnerTokenKind::parse(&r.text("kind")?)?,
            created_at: r.time("created_at")?,
            expires_at: r.time("expires_at")?,
            used_at: r.time_opt("used_at")?,
        })
    }
}

impl FromColumns for IdentitySecret {
    fn from_columns<R: Columns>(r: &R) -> Result<Self> {
        Ok(IdentitySecret {
            key_id: r.text("key_id")?,
            company_id: r.text("company_id")?,
            prefix: r.text("prefix")?,
            secret: r.text("secret")?,
            created_at: r.time("created_at")?,
            revoked_at: r.time_opt("revoked_at")?,
        })
    }
}

impl FromColumns for Session {
    fn from_columns<R: Columns>(r: &R) -> Result<Self> {
        Ok(Session {
            session_id: r.text("session_id")?,
            company_id: r.text("company_id")?,
            user_id: r.text("user_id")?,
            lead_id: r.text_opt("lead_id")?,
            client_ip: r.text_opt("client_ip")?,
            expires_at: r.time("expires_at")?,
            created_at: r.time("created_at")?,
            last_seen_at: r.time("last_seen_at")?,
        })
    }
}

impl FromColumns for Conversation {
    fn from_columns<R: Columns>(r: &R) -> Result<Self> {
        Ok(Conversation {
            id: r.int("id")?,
            company_id: r.text("company_id")?,
            user_id: r.text("user_id")?,
            session_id: r.text("session_id")?,
            messages: json_req(r, "messages")?,
            metadata: r.json("metadata")?,
            last_activity_at: r.time("last_activity_at")?,
            created_at: r.time("created_at")?,
            updated_at: r.time("updated_at")?,
        })
    }
}

impl FromColumns for Lead {
    fn from_columns<R: Columns>(r: &R) -> Result<Self> {
        Ok(Lead {
            lead_id: r.text("lead_id")?,
            company_id: r.text("company_id")?,
            session_id: r.text("session_id")?,
            user_id: r.text("user_id")?,
            source: r.text("source")?,
            status: parse_status(&r.text("status")?)?,
            is_lead_ready: r.flag("is_lead_ready")?,
            name: r.text("name")?,
            email: r.text("email")?,
            phone: r.text("phone")?,
            message: r.text("message")?,
            // From the joined conversation; none yet is no messages.
            messages: r.json("messages")?.unwrap_or_default(),
            ai_summary: r.text("ai_summary")?,
            profile: json_req(r, "profile")?,
            // Derived by the engine for the company's client type; not a column.
            profile_complete: false,
            notified_at: r.time_opt("notified_at")?,
            created_at: r.time("created_at")?,
            updated_at: r.time("updated_at")?,
        })
    }
}

impl FromColumns for ChunkRecord {
    fn from_columns<R: Columns>(r: &R) -> Result<Self> {
        Ok(ChunkRecord {
            company_id: r.text("company_id")?,
            vector_id: r.text("vector_id")?,
            content: r.text("content")?,
            metadata: r.json("metadata")?.unwrap_or(serde_json::Value::Null),
            source: r.text_opt("source")?,
        })
    }
}

impl FromColumns for SourceState {
    fn from_columns<R: Columns>(r: &R) -> Result<Self> {
        Ok(SourceState {
            company_id: r.text("company_id")?,
            source: r.text("source")?,
            title: r.text_opt("title")?,
            content_hash: r.text("content_hash")?,
            etag: r.text_opt("etag")?,
            last_modified: r.text_opt("last_modified")?,
            chunk_count: r.int("chunk_count")?,
            ingested_at: r.time("ingested_at")?,
        })
    }
}

impl FromColumns for EmbedderIdentity {
    fn from_columns<R: Columns>(r: &R) -> Result<Self> {
        Ok(EmbedderIdentity { model: r.text("model")?, dimension: dimension_from_i64(r.int("dimension")?)? })
    }
}

impl FromColumns for WebhookDelivery {
    fn from_columns<R: Columns>(r: &R) -> Result<Self> {
        Ok(WebhookDelivery {
            company_id: r.text("company_id")?,
            lead_id: r.text("lead_id")?,
            url: r.text("url")?,
            attempts: r.int4("attempts")?,
            status_code: r.int4_opt("status_code")?,
            error: r.text_opt("error")?,
            delivered: r.flag("delivered")?,
            created_at: r.time("created_at")?,
        })
    }
}

impl FromColumns for CorpusStatsRow {
    fn from_columns<R: Columns>(r: &R) -> Result<Self> {
        Ok(CorpusStatsRow {
            company_id: r.text("company_id")?,
            model: r.text("model")?,
            doc_count: to_u64(r.int("doc_count")?),
            stats: r.bytes("stats")?,
            updated_at: r.time("updated_at")?,
        })
    }
}
