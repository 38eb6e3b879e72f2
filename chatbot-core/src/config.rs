//! Configuration from the environment (the seed's `.env` names plus `CHATBOT_*`).

use std::path::PathBuf;
use std::time::Duration;

use crate::error::{Error, Result};

/// Which embedder to use.
#[derive(Debug, Clone, PartialEq)]
pub enum EmbedderChoice {
    /// The offline embedder (no network, no download).
    Offline,
    /// all-MiniLM-L6-v2 in-process from a local sentence-transformers folder
    /// (`CHATBOT_EMBEDDER=local`, `CHATBOT_LOCAL_MODEL_DIR`; feature `local-embed`).
    Local { model_dir: PathBuf },
    /// An OpenAI-compatible `/embeddings` endpoint.
    OpenAi { api_key: String, base_url: Option<String>, model: String, dimensions: Option<u32> },
}

/// Which vector store to use.
#[derive(Debug, Clone, PartialEq)]
pub enum VectorStoreChoice {
    /// The embedded local index under `dir`.
    Local { dir: PathBuf },
    /// Pinecone's REST data plane.
    Pinecone {
        api_key: String,
        index_host: Option<String>,
        index_name: Option<String>,
        environment: Option<String>,
    },
}

/// Which chat model to use.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelChoice {
    /// The offline extractive answerer.
    Offline,
    /// OpenAI-compatible chat completions.
    OpenAi { api_key: String, base_url: Option<String>, model: String },
}

/// Everything the core needs to start.
#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: String,
    pub data_dir: PathBuf,
    pub embedder: EmbedderChoice,
    pub vector_store: VectorStoreChoice,
    pub model: ModelChoice,
    /// Operator credential for the `/internal` routes (`CHATBOT_ADMIN_TOKEN`), at least
    /// [`Config::MIN_ADMIN_TOKEN_CHARS`] characters ([`Config::validate`]).
    pub admin_token: Option<String>,
    /// Failed authentications allowed per client IP and minute before 429
    /// (`CHATBOT_AUTH_FAILURES_PER_MINUTE`); valid credentials never count.
    pub auth_failures_per_minute: u32,
    /// How long a session token lives after its last use.
    pub session_ttl: Duration,
    /// Passages retrieved per turn.
    pub top_k: usize,
    /// Weight of the dense ranking in hybrid fusion, the lexical ranking weighing 1
    /// (`CHATBOT_DENSE_WEIGHT`; see [`crate::rag::fusion`]).
    pub dense_weight: f32,
    /// History kept in the prompt, in estimated tokens.
    pub history_token_budget: usize,
    /// Time allowed for a model reply before the fallback answers.
    pub model_timeout: Duration,
    /// Longest accepted visitor message, in characters.
    pub max_message_chars: usize,
    /// Which lead webhook URLs may be saved and called (`CHATBOT_ALLOW_PRIVATE_WEBHOOKS`,
    /// `CHATBOT_ALLOW_HTTP_WEBHOOKS`; default: https to public addresses only).
    pub webhooks: crate::net::webhook::WebhookRules,
    /// SQLite's `synchronous` setting (`CHATBOT_SQLITE_SYNCHRONOUS`: `full`, the default, or
    /// `normal`, which survives a crash of the process but not a power loss).
    pub sqlite_synchronous: SqliteSynchronous,
    /// SQLite's page cache per connection in MiB (`CHATBOT_SQLITE_CACHE_MB`, 1 to 4096; unset:
    /// SQLite's own 2 MiB). A cache grows only as far as the pages read; bulk writers (an ingest
    /// run) gain from a larger one, a server with many connections pays it per connection.
    pub sqlite_cache_mib: Option<u32>,
    /// How long a partner-chat visitor token stays valid after its last use
    /// (`CHATBOT_VISITOR_TOKEN_TTL_DAYS`, default 30 days; sliding).
    pub visitor_token_ttl: Duration,
    /// How long a ready lead's webhook may stay without a recorded attempt before another
    /// instance (or this one, after a restart) sends it (`CHATBOT_WEBHOOK_RECOVERY_SECS`,
    /// default 300: longer than a delivery with all its retries takes).
    pub webhook_recovery_after: Duration,
}

/// SQLite's durability setting (`PRAGMA synchronous`) in WAL mode.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SqliteSynchronous {
    /// Every commit is fsynced before it is acknowledged: stored means durable, also across a
    /// power loss (group commit shares one fsync among concurrent turns).
    #[default]
    Full,
    /// Commits are fsynced at checkpoints: survives a killed process, not a power loss or an
    /// operating-system crash (the last commits may be lost).
    Normal,
}

impl SqliteSynchronous {
    /// Parse `full` or `normal` (any case).
    ///
    /// # Errors
    /// [`Error::Config`] for anything else.
    pub fn parse(v: &str) -> Result<Self> {
        match v.trim().to_ascii_lowercase().as_str() {
            "full" => Ok(Self::Full),
            "normal" => Ok(Self::Normal),
            other => Err(Error::Config(format!(
                "CHATBOT_SQLITE_SYNCHRONOUS must be full or normal, got {other:?}"
            ))),
        }
    }
}

/// A boolean variable: `1`/`true`/`yes`/`on` or `0`/`false`/`no`/`off`.
fn flag(name: &str, v: Option<String>) -> Result<bool> {
    match v.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None | Some("0" | "false" | "no" | "off") => Ok(false),
        Some("1" | "true" | "yes" | "on") => Ok(true),
        Some(other) => Err(Error::Config(format!("{name} must be 1 or 0, got {other:?}"))),
    }
}

/// Default inactivity after which a visitor token expires.
pub const DEFAULT_VISITOR_TOKEN_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

pub const DEFAULT_DATA_DIR: &str = "chatbot-data";
pub const DEFAULT_CHAT_MODEL: &str = "gpt-4o-mini";
pub const DEFAULT_EMBEDDING_MODEL: &str = "text-embedding-3-small";
/// Shortest accepted `CHATBOT_ADMIN_TOKEN`.
pub const MIN_ADMIN_TOKEN_CHARS: usize = 32;

impl Default for Config {
    fn default() -> Self {
        Self::offline(PathBuf::from(DEFAULT_DATA_DIR))
    }
}

impl Config {
    /// The folder of the embedded defaults when none is configured.
    pub const DEFAULT_DATA_DIR: &'static str = DEFAULT_DATA_DIR;
    /// Shortest accepted `CHATBOT_ADMIN_TOKEN`, in characters.
    pub const MIN_ADMIN_TOKEN_CHARS: usize = MIN_ADMIN_TOKEN_CHARS;

    /// The embedded defaults in `data_dir`: SQLite, local index, offline embedder and answerer.
    pub fn offline(data_dir: PathBuf) -> Self {
        Self {
            database_url: sqlite_url(&data_dir.join("chatbot.db")),
            vector_store: VectorStoreChoice::Local { dir: data_dir.join("index") },
            data_dir,
            embedder: EmbedderChoice::Offline,
            model: ModelChoice::Offline,
            admin_token: None,
            auth_failures_per_minute: crate::guard::DEFAULT_AUTH_FAILURES_PER_MINUTE,
            session_ttl: Duration::from_secs(24 * 3600),
            top_k: 4,
            history_token_budget: 1500,
            model_timeout: Duration::from_secs(30),
            dense_weight: crate::rag::fusion::DENSE_WEIGHT,
            max_message_chars: 4000,
            webhooks: crate::net::webhook::WebhookRules::default(),
            sqlite_synchronous: SqliteSynchronous::Full,
            sqlite_cache_mib: None,
            visitor_token_ttl: DEFAULT_VISITOR_TOKEN_TTL,
            webhook_recovery_after: Duration::from_secs(300),
        }
    }

    /// Read the environment: OpenAI when `OPENAI_API_KEY` is set, Pinecone when
    /// `PINECONE_API_KEY` is set, the embedded defaults otherwise; `CHATBOT_EMBEDDER`,
    /// `CHATBOT_VECTOR_STORE` and `CHATBOT_MODEL_PROVIDER` override.
    ///
    /// # Errors
    /// [`Error::Config`] naming the variable that is wrong or missing.
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
    }

    /// Like [`Config::from_env`] with any lookup (tests).
    ///
    /// # Errors
    /// [`Error::Config`] naming the variable that is wrong or missing.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let data_dir = PathBuf::from(get("CHATBOT_DATA_DIR").unwrap_or_else(|| DEFAULT_DATA_DIR.into()));
        let mut c = Self::offline(data_dir.clone());
        if let Some(url) = get("DATABASE_URL") {
            c.database_url = url;
        }
        let openai_key = get("OPENAI_API_KEY");
        let base_url = get("OPENAI_BASE_URL");
        let want =
            |var: &str, default: &str| get(var).unwrap_or_else(|| default.to_string()).to_ascii_lowercase();

        let embedder = want("CHATBOT_EMBEDDER", if openai_key.is_some() { "openai" } else { "offline" });
        c.embedder = match embedder.as_str() {
            "offline" => EmbedderChoice::Offline,
            "local" => EmbedderChoice::Local {
                model_dir: get("CHATBOT_LOCAL_MODEL_DIR").map(PathBuf::from).ok_or_else(|| {
                    Error::Config(
                        "CHATBOT_EMBEDDER=local needs CHATBOT_LOCAL_MODEL_DIR (the all-MiniLM-L6-v2 \
                         sentence-transformers folder)"
                            .into(),
                    )
                })?,
            },
            "openai" => EmbedderChoice::OpenAi {
                api_key: openai_key
                    .clone()
                    .or_else(|| base_url.as_ref().map(|_| "none".to_string()))
                    .ok_or_else(|| {
                        Error::Config(
                            "CHATBOT_EMBEDDER=openai needs OPENAI_API_KEY (or OPENAI_BASE_URL)".into(),
                        )
                    })?,
                base_url: base_url.clone(),
                model: get("CHATBOT_EMBEDDING_MODEL").unwrap_or_else(|| DEFAULT_EMBEDDING_MODEL.into()),
                dimensions: match get("CHATBOT_EMBEDDING_DIMENSIONS") {
                    Some(d) => Some(d.parse().map_err(|_| {
                        Error::Config("CHATBOT_EMBEDDING_DIMENSIONS must be a whole number".into())
                    })?),
                    None => None,
                },
            },
            other => {
                return Err(Error::Config(format!(
                    "CHATBOT_EMBEDDER must be offline, local or openai, got {other:?}"
                )));
            }
        };

        let pinecone_key = get("PINECONE_API_KEY");
        let store = want("CHATBOT_VECTOR_STORE", if pinecone_key.is_some() { "pinecone" } else { "local" });
        c.vector_store = match store.as_str() {
            "local" => VectorStoreChoice::Local { dir: data_dir.join("index") },
            "pinecone" => {
                let api_key = pinecone_key.ok_or_else(|| {
                    Error::Config("CHATBOT_VECTOR_STORE=pinecone needs PINECONE_API_KEY".into())
                })?;
                let index_host = get("PINECONE_INDEX_HOST");
                let index_name = get("PINECONE_INDEX");
                if index_host.is_none() && index_name.is_none() {
                    return Err(Error::Config(
                        "Pinecone needs PINECONE_INDEX_HOST (the index host) or PINECONE_INDEX (its name)"
                            .into(),
                    ));
                }
                VectorStoreChoice::Pinecone {
                    api_key,
                    index_host,
                    index_name,
                    environment: get("PINECONE_ENVIRONMENT"),
                }
            }
            other => {
                return Err(Error::Config(format!(
                    "CHATBOT_VECTOR_STORE must be local or pinecone, got {other:?}"
                )));
            }
        };

        let model = want("CHATBOT_MODEL_PROVIDER", if openai_key.is_some() { "openai" } else { "offline" });
        c.model = match model.as_str() {
            "offline" => ModelChoice::Offline,
            "openai" => ModelChoice::OpenAi {
                api_key: openai_key.or_else(|| base_url.as_ref().map(|_| "none".to_string())).ok_or_else(
                    || {
                        Error::Config(
                            "CHATBOT_MODEL_PROVIDER=openai needs OPENAI_API_KEY (or OPENAI_BASE_URL)".into(),
                        )
                    },
                )?,
                base_url,
                model: get("CHATBOT_CHAT_MODEL").unwrap_or_else(|| DEFAULT_CHAT_MODEL.into()),
            },
            other => {
                return Err(Error::Config(format!(
                    "CHATBOT_MODEL_PROVIDER must be offline or openai, got {other:?}"
                )));
            }
        };
        c.admin_token = get("CHATBOT_ADMIN_TOKEN");
        if let Some(n) = get("CHATBOT_AUTH_FAILURES_PER_MINUTE") {
            c.auth_failures_per_minute = n.trim().parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                Error::Config("CHATBOT_AUTH_FAILURES_PER_MINUTE must be a whole number above 0".into())
            })?;
        }
        if let Some(w) = get("CHATBOT_DENSE_WEIGHT") {
            c.dense_weight =
                w.trim().parse().ok().filter(|w: &f32| w.is_finite() && *w >= 0.0).ok_or_else(|| {
                    Error::Config("CHATBOT_DENSE_WEIGHT must be a number of 0 or more".into())
                })?;
        }
        if let Some(t) = get("CHATBOT_MODEL_TIMEOUT_SECS") {
            let secs: u64 = t
                .parse()
                .map_err(|_| Error::Config("CHATBOT_MODEL_TIMEOUT_SECS must be a whole number".into()))?;
            c.model_timeout = Duration::from_secs(secs.max(1));
        }
        let private = flag("CHATBOT_ALLOW_PRIVATE_WEBHOOKS", get("CHATBOT_ALLOW_PRIVATE_WEBHOOKS"))?;
        let http = flag("CHATBOT_ALLOW_HTTP_WEBHOOKS", get("CHATBOT_ALLOW_HTTP_WEBHOOKS"))?;
        c.webhooks =
            crate::net::webhook::WebhookRules { allow_private: private, allow_http: http || private };
        if let Some(v) = get("CHATBOT_SQLITE_SYNCHRONOUS") {
            c.sqlite_synchronous = SqliteSynchronous::parse(&v)?;
        }
        if let Some(v) = get("CHATBOT_SQLITE_CACHE_MB") {
            let mib: u32 = v.trim().parse().ok().filter(|m| (1..=4096).contains(m)).ok_or_else(|| {
                Error::Config(format!(
                    "CHATBOT_SQLITE_CACHE_MB must be a whole number from 1 to 4096, got {v:?}"
                ))
            })?;
            c.sqlite_cache_mib = Some(mib);
        }
        if let Some(d) = get("CHATBOT_VISITOR_TOKEN_TTL_DAYS") {
            let days: u64 = d.parse().ok().filter(|d| (1..=3650).contains(d)).ok_or_else(|| {
                Error::Config(
                    "CHATBOT_VISITOR_TOKEN_TTL_DAYS must be a whole number of days from 1 to 3650".into(),
                )
            })?;
            c.visitor_token_ttl = Duration::from_secs(days * 24 * 3600);
        }
        if let Some(v) = get("CHATBOT_WEBHOOK_RECOVERY_SECS") {
            let secs: u64 = v.parse().ok().filter(|s| (1..=86_400).contains(s)).ok_or_else(|| {
                Error::Config(
                    "CHATBOT_WEBHOOK_RECOVERY_SECS must be a whole number of seconds from 1 to 86400".into(),
                )
            })?;
            c.webhook_recovery_after = Duration::from_secs(secs);
        }
        c.validate()?;
        Ok(c)
    }

    /// Check what [`Config::from_env`] cannot express in types: an operator token of at least
    /// [`Config::MIN_ADMIN_TOKEN_CHARS`] characters. [`crate::Chatbot`]'s builder calls it, so a
    /// configuration built in code is held to the same rule.
    ///
    /// # Errors
    /// [`Error::Config`] naming `CHATBOT_ADMIN_TOKEN` (never its value).
    pub fn validate(&self) -> Result<()> {
        if let Some(t) = &self.admin_token {
            let n = t.chars().count();
            if n < MIN_ADMIN_TOKEN_CHARS {
                return Err(Error::Config(format!(
                    "CHATBOT_ADMIN_TOKEN is too short ({n} characters); use at least \
                     {MIN_ADMIN_TOKEN_CHARS}, for example the output of `openssl rand -hex 32`"
                )));
            }
        }
        Ok(())
    }
}

/// A SQLite URL that creates the file if missing.
pub fn sqlite_url(path: &std::path::Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(vars: &[(&str, &str)]) -> Result<Config> {
        let m: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|k| m.get(k).cloned())
    }

    #[test]
    fn selection() {
        let c = cfg(&[]).unwrap();
        assert_eq!((c.embedder.clone(), c.model.clone()), (EmbedderChoice::Offline, ModelChoice::Offline));
        assert!(matches!(c.vector_store, VectorStoreChoice::Local { .. }));
        assert!(c.database_url.starts_with("sqlite://chatbot-data/"));
        let c =
            cfg(&[("OPENAI_API_KEY", "k"), ("PINECONE_API_KEY", "p"), ("PINECONE_INDEX_HOST", "h")]).unwrap();
        assert!(matches!(c.embedder, EmbedderChoice::OpenAi { .. }));
        assert!(matches!(c.model, ModelChoice::OpenAi { .. }));
        assert!(matches!(c.vector_store, VectorStoreChoice::Pinecone { .. }));
        let c = cfg(&[("OPENAI_API_KEY", "k"), ("CHATBOT_EMBEDDER", "offline")]).unwrap();
        assert_eq!(c.embedder, EmbedderChoice::Offline);
        assert!(cfg(&[("PINECONE_API_KEY", "p")]).is_err());
        assert!(cfg(&[("CHATBOT_VECTOR_STORE", "milvus")]).is_err());
    }

    #[test]
    fn local_embedder_needs_its_folder() {
        let c = cfg(&[("CHATBOT_EMBEDDER", "local"), ("CHATBOT_LOCAL_MODEL_DIR", "models/minilm")]).unwrap();
        assert_eq!(c.embedder, EmbedderChoice::Local { model_dir: PathBuf::from("models/minilm") });
        // chosen explicitly even when an OpenAI key is present
        let c =
            cfg(&[("OPENAI_API_KEY", "k"), ("CHATBOT_EMBEDDER", "LOCAL"), ("CHATBOT_LOCAL_MODEL_DIR", "m")])
                .unwrap();
        assert!(matches!(c.embedder, EmbedderChoice::Local { .. }));
        let Err(Error::Config(msg)) = cfg(&[("CHATBOT_EMBEDDER", "local")]) else {
            panic!("local without a folder is a configuration error")
        };
        assert!(msg.contains("CHATBOT_LOCAL_MODEL_DIR"), "{msg}");
        // the folder alone does not switch the embedder: offline stays the default
        assert_eq!(cfg(&[("CHATBOT_LOCAL_MODEL_DIR", "m")]).unwrap().embedder, EmbedderChoice::Offline);
        let e = cfg(&[("CHATBOT_EMBEDDER", "minilm")]).unwrap_err().to_string();
        assert!(e.contains("offline, local or openai"), "{e}");
    }

    #[test]
    fn webhook_opt_ins_and_durability() {
        let c = cfg(&[]).unwrap();
        assert_eq!((c.webhooks.allow_private, c.webhooks.allow_http), (false, false));
        assert_eq!(c.sqlite_synchronous, SqliteSynchronous::Full, "durable by default");
        let c = cfg(&[("CHATBOT_ALLOW_PRIVATE_WEBHOOKS", "1")]).unwrap();
        assert_eq!((c.webhooks.allow_private, c.webhooks.allow_http), (true, true));
        let c = cfg(&[("CHATBOT_ALLOW_HTTP_WEBHOOKS", "true")]).unwrap();
        assert_eq!((c.webhooks.allow_private, c.webhooks.allow_http), (false, true));
        assert!(cfg(&[("CHATBOT_ALLOW_PRIVATE_WEBHOOKS", "maybe")]).is_err());
        assert_eq!(cfg(&[]).unwrap().sqlite_cache_mib, None, "SQLite's own cache by default");
        assert_eq!(cfg(&[("CHATBOT_SQLITE_CACHE_MB", "32")]).unwrap().sqlite_cache_mib, Some(32));
        for bad in ["0", "4097", "-1", "1.5", "lots", "", "٣٢"] {
            assert!(cfg(&[("CHATBOT_SQLITE_CACHE_MB", bad)]).is_err(), "{bad:?}");
        }
        let c = cfg(&[("CHATBOT_SQLITE_SYNCHRONOUS", "NORMAL")]).unwrap();
        assert_eq!(c.sqlite_synchronous, SqliteSynchronous::Normal);
        assert!(cfg(&[("CHATBOT_SQLITE_SYNCHRONOUS", "off")]).is_err());
    }

    #[test]
    fn visitor_token_ttl() {
        assert_eq!(cfg(&[]).unwrap().visitor_token_ttl, DEFAULT_VISITOR_TOKEN_TTL);
        let c = cfg(&[("CHATBOT_VISITOR_TOKEN_TTL_DAYS", "7")]).unwrap();
        assert_eq!(c.visitor_token_ttl, Duration::from_secs(7 * 24 * 3600));
        for bad in ["0", "-1", "x", "3651"] {
            let e = cfg(&[("CHATBOT_VISITOR_TOKEN_TTL_DAYS", bad)]).unwrap_err().to_string();
            assert!(e.contains("CHATBOT_VISITOR_TOKEN_TTL_DAYS"), "{e}");
        }
    }

    #[test]
    fn the_operator_token_has_a_minimum_length() {
        let short = "x".repeat(MIN_ADMIN_TOKEN_CHARS - 1);
        let Err(Error::Config(msg)) = cfg(&[("CHATBOT_ADMIN_TOKEN", &short)]) else {
            panic!("a short operator token is refused")
        };
        assert!(msg.contains("CHATBOT_ADMIN_TOKEN") && msg.contains("31 characters"), "{msg}");
        assert!(!msg.contains(&short), "the message never shows the token: {msg}");
        let ok = "y".repeat(MIN_ADMIN_TOKEN_CHARS);
        assert_eq!(cfg(&[("CHATBOT_ADMIN_TOKEN", &ok)]).unwrap().admin_token.as_deref(), Some(ok.as_str()));
        let c = Config { admin_token: Some("short".into()), ..Config::default() };
        assert!(c.validate().is_err());
        assert!(cfg(&[("CHATBOT_AUTH_FAILURES_PER_MINUTE", "0")]).is_err());
        assert_eq!(cfg(&[("CHATBOT_AUTH_FAILURES_PER_MINUTE", "5")]).unwrap().auth_failures_per_minute, 5);
    }
}
