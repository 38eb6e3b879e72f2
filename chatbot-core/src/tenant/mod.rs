//! Tenants: companies, their widget settings and AI configuration, and the [`TenantContext`]
//! that every tenant-scoped call requires.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

mod client_type;
pub mod patterns;
mod settings;
mod validate;

pub use client_type::ClientType;
pub use settings::{Position, WidgetSettings, WidgetSettingsPatch, defaults};
use validate::{check_len, validate_email};
pub use validate::{validate_company_id, validate_http_url, validate_origin};

/// A company (tenant): one row of `user_companies`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Company {
    pub id: i64,
    pub company_id: String,
    pub company_name: String,
    pub email: String,
    pub phone: Option<String>,
    pub website: Option<String>,
    pub logo_url: Option<String>,
    /// Free-form company settings (JSON), kept as the seed defines it.
    pub settings: Option<serde_json::Value>,
    pub ai_config: AiConfig,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// What kind of business the company is (decides the lead profile).
    #[serde(default)]
    pub client_type: ClientType,
}

/// Typed `user_companies.ai_config`. Every field is optional; unknown fields are rejected.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AiConfig {
    /// Topics the bot may discuss besides the company's own knowledge.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_topics: Vec<String>,
    /// Chat model name (overrides the server default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Tokens per UTC day the company may spend on the paid model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily_token_budget: Option<u64>,
    /// Where a lead that became ready is POSTed (signed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lead_webhook_url: Option<String>,
    /// Profile fields the company cares about (e.g. "budget", "area"), filled by lead extraction.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lead_profile_fields: Vec<String>,
    /// Chat requests per minute per session (default 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit_per_session: Option<u32>,
    /// Chat and session requests per minute per client IP (default 60).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit_per_ip: Option<u32>,
    /// New visitor conversations (partner chat without a valid token or signature, new
    /// sessions) per minute for the whole company (default 100,000; on PostgreSQL for all
    /// server instances together, on SQLite per process).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_new_conversations_per_minute: Option<u32>,
    /// Fuse dense (semantic) search with lexical search when a dense embedder is configured
    /// (default true); `false` searches lexically only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hybrid_search: Option<bool>,
    /// What happens to model answer sentences the passages do not support (default `flag`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grounding: Option<GroundingMode>,
    /// How close (0 to 1) a visitor question must be to a curated question to be answered with
    /// the curated text (default [`AiConfig::DEFAULT_CURATED_THRESHOLD`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub curated_threshold: Option<f64>,
    /// Days turn records are kept (default [`AiConfig::DEFAULT_TURN_RETENTION_DAYS`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn_retention_days: Option<u32>,
}

/// The largest integer every JSON client reads exactly (2^53 - 1).
const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// What the grounding check does with model answer sentences the passages do not support.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GroundingMode {
    /// Unsupported sentences are removed; when nothing supported remains, the extractive
    /// answer is used.
    Strict,
    /// Unsupported sentences are kept and recorded (for the gap report).
    #[default]
    Flag,
    /// No check.
    Off,
}

impl GroundingMode {
    /// The mode as written in configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Strict => "strict",
            Self::Flag => "flag",
            Self::Off => "off",
        }
    }

    /// `strict`, `flag` or `off`.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming `ai_config.grounding`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "strict" => Ok(Self::Strict),
            "flag" => Ok(Self::Flag),
            "off" => Ok(Self::Off),
            _ => Err(Error::invalid("ai_config.grounding", "must be strict, flag or off")),
        }
    }
}

impl std::fmt::Display for GroundingMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl AiConfig {
    /// The curated-answer threshold when none is set: chosen on the tuning half of
    /// `chatbot-core/tests/data/curated_paraphrases.jsonl` (the highest recall with precision at
    /// least 0.9 on both the lexical and the MiniLM path).
    pub const DEFAULT_CURATED_THRESHOLD: f32 = 0.7;
    /// Turn-record retention when none is set.
    pub const DEFAULT_TURN_RETENTION_DAYS: u32 = 90;
    /// The longest turn-record retention (ten years).
    pub const MAX_TURN_RETENTION_DAYS: u32 = 3650;

    /// Whether dense search takes part (see [`AiConfig::hybrid_search`]).
    pub fn hybrid_search(&self) -> bool {
        self.hybrid_search.unwrap_or(true)
    }

    /// The grounding mode (see [`AiConfig::grounding`]).
    pub fn grounding(&self) -> GroundingMode {
        self.grounding.unwrap_or_default()
    }

    /// The curated-answer threshold (see [`AiConfig::curated_threshold`]).
    pub fn curated_threshold(&self) -> f32 {
        self.curated_threshold.map_or(Self::DEFAULT_CURATED_THRESHOLD, |t| t as f32)
    }

    /// Days turn records are kept (see [`AiConfig::turn_retention_days`]).
    pub fn turn_retention_days(&self) -> u32 {
        self.turn_retention_days.unwrap_or(Self::DEFAULT_TURN_RETENTION_DAYS)
    }

    /// Validate every field, naming the first bad one.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the field (`ai_config.<name>`).
    pub fn validate(&self) -> Result<()> {
        if self.allowed_topics.len() > 50 {
            return Err(Error::invalid("ai_config.allowed_topics", "at most 50 topics"));
        }
        for t in &self.allowed_topics {
            check_len("ai_config.allowed_topics", t, 1, 100)?;
        }
        if let Some(m) = &self.model {
            check_len("ai_config.model", m, 1, 100)?;
        }
        if let Some(url) = &self.lead_webhook_url {
            validate_http_url("ai_config.lead_webhook_url", url)?;
        }
        for f in &self.lead_profile_fields {
            check_len("ai_config.lead_profile_fields", f, 1, 60)?;
        }
        for (field, v) in [
            ("ai_config.rate_limit_per_session", self.rate_limit_per_session),
            ("ai_config.rate_limit_per_ip", self.rate_limit_per_ip),
            ("ai_config.max_new_conversations_per_minute", self.max_new_conversations_per_minute),
        ] {
            if v == Some(0) {
                return Err(Error::invalid(field, "must be at least 1 request per minute"));
            }
        }
        // JSON's safe integers: what every client reads back exactly (the OpenAPI maximum).
        if self.daily_token_budget.is_some_and(|b| b > MAX_SAFE_INTEGER) {
            return Err(Error::invalid("ai_config.daily_token_budget", "must be at most 9007199254740991"));
        }
        if let Some(t) = self.curated_threshold
            && !(0.01..=1.0).contains(&t)
        {
            return Err(Error::invalid("ai_config.curated_threshold", "must be from 0.01 to 1"));
        }
        if let Some(d) = self.turn_retention_days
            && !(1..=Self::MAX_TURN_RETENTION_DAYS).contains(&d)
        {
            return Err(Error::invalid("ai_config.turn_retention_days", "must be from 1 to 3650 days"));
        }
        Ok(())
    }
}

impl AiConfig {
    /// [`AiConfig::validate`], then the lead webhook URL against `rules`: https, and a host that
    /// neither is nor resolves to a loopback, private, link-local, CGNAT or metadata address
    /// (unless the rules allow it).
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the field (`ai_config.lead_webhook_url`).
    pub async fn validate_with(&self, rules: &crate::net::webhook::WebhookRules) -> Result<()> {
        self.validate()?;
        if let Some(url) = &self.lead_webhook_url {
            rules.validate("ai_config.lead_webhook_url", url).await?;
        }
        Ok(())
    }
}

/// Input for creating a company.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCompany {
    pub company_id: String,
    pub company_name: String,
    pub email: String,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub website: Option<String>,
    #[serde(default)]
    pub logo_url: Option<String>,
    #[serde(default)]
    pub ai_config: AiConfig,
    /// The widget's CORS allowlist (empty: any origin).
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// Realtor or business owner (default).
    #[serde(default)]
    pub client_type: ClientType,
}

/// A partial update of a company's own fields (`PATCH /api/companies/{companyId}`, `chatbot
/// company update`): only the fields given change. `phone` and `website` are cleared with an
/// empty string.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompanyPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_type: Option<ClientType>,
}

impl Company {
    /// The lead profile fields the company collects, in export-column order: its client type's
    /// fields, then its own `ai_config.lead_profile_fields` not already among them.
    pub fn profile_fields(&self) -> Vec<String> {
        let mut fields: Vec<String> =
            self.client_type.profile_fields().iter().map(|f| (*f).to_string()).collect();
        for f in &self.ai_config.lead_profile_fields {
            if !fields.contains(f) {
                fields.push(f.clone());
            }
        }
        fields
    }
}

impl CompanyPatch {
    /// Validate every field given, naming the first bad one.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the field.
    pub fn validate(&self) -> Result<()> {
        if let Some(n) = &self.company_name {
            check_len("company_name", n, 1, 255)?;
        }
        if let Some(p) = self.phone.as_deref().filter(|p| !p.is_empty()) {
            check_len("phone", p, 1, 255)?;
        }
        if let Some(w) = self.website.as_deref().filter(|w| !w.is_empty()) {
            validate_http_url("website", w)?;
        }
        Ok(())
    }

    /// Whether the patch changes nothing.
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

impl NewCompany {
    /// Validate every field, naming the first bad one.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the field.
    pub fn validate(&self) -> Result<()> {
        validate_company_id(&self.company_id)?;
        check_len("company_name", &self.company_name, 1, 255)?;
        validate_email("email", &self.email)?;
        if let Some(p) = &self.phone {
            check_len("phone", p, 1, 255)?;
        }
        if let Some(w) = &self.website {
            validate_http_url("website", w)?;
        }
        if let Some(l) = &self.logo_url {
            validate_http_url("logo_url", l)?;
        }
        for o in &self.allowed_origins {
            validate_origin("allowed_origins", o)?;
        }
        self.ai_config.validate()
    }
}

/// How a [`TenantContext`] was obtained; decides what it may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    /// Public widget traffic without a key (the seed's `GET settings`, `partner-chat`).
    Public,
    /// A publishable key (`pk_...`): sessions and chat.
    Publishable,
    /// A secret key (`sk_...`): settings writes and the company admin API.
    Secret,
    /// An operator (CLI on the database, `CHATBOT_ADMIN_TOKEN`): everything.
    Operator,
    /// An owner token (`ot_...`, owner mode in the widget): the company's widget settings only.
    Owner,
}

impl Access {
    /// Whether this access may change settings and read leads.
    pub fn is_admin(self) -> bool {
        matches!(self, Self::Secret | Self::Operator)
    }
}

/// Proof that a caller may act for one company. Only [`crate::Chatbot`]'s authentication
/// functions (and operator entry points) create it, so tenant-scoped calls cannot be made with
/// a company id that was never checked.
#[derive(Debug, Clone)]
///
/// A context is a snapshot of the company (and of its widget settings when they were loaded
/// with it) taken when it was made: make one per request, so a change is seen at once.
pub struct TenantContext {
    company: std::sync::Arc<Company>,
    settings: Option<std::sync::Arc<WidgetSettings>>,
    access: Access,
}

impl TenantContext {
    pub(crate) fn new(company: Company, settings: Option<WidgetSettings>, access: Access) -> Self {
        Self { company: std::sync::Arc::new(company), settings: settings.map(std::sync::Arc::new), access }
    }

    /// The company's widget settings as loaded with the context (None when it has none).
    pub fn widget_settings(&self) -> Option<&WidgetSettings> {
        self.settings.as_deref()
    }

    pub fn company_id(&self) -> &str {
        &self.company.company_id
    }

    pub fn company(&self) -> &Company {
        &self.company
    }

    pub fn access(&self) -> Access {
        self.access
    }

    /// # Errors
    /// [`Error::Unauthorized`] unless the context carries a secret key or operator access.
    pub fn require_admin(&self) -> Result<()> {
        if self.access.is_admin() {
            Ok(())
        } else {
            Err(Error::Unauthorized("this action needs the company's secret key (sk_...)".into()))
        }
    }
}
