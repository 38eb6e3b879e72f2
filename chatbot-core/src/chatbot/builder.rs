//! [`ChatbotBuilder`]: bring your own components; what you leave out comes from the
//! configuration (by default the embedded, offline set).

use std::sync::Arc;

use crate::config::{Config, EmbedderChoice, ModelChoice, VectorStoreChoice};
use crate::error::Result;
use crate::llm::{ChatModel, ExtractiveAnswerer, LeadExtractor};
use crate::rag::{Embedder, LocalIndex, OfflineEmbedder, VectorStore};
use crate::store::{self, Store};

use super::{Chatbot, Components};

/// Builds a [`Chatbot`].
///
/// ```no_run
/// # async fn demo() -> chatbot_core::Result<()> {
/// use chatbot_core::{Chatbot, Config};
/// let bot = Chatbot::builder()
///     .config(Config::offline("chatbot-data".into()))
///     .build()
///     .await?;
/// # let _ = bot; Ok(()) }
/// ```
#[derive(Default)]
#[must_use]
pub struct ChatbotBuilder {
    config: Option<Config>,
    store: Option<Arc<dyn Store>>,
    embedder: Option<Arc<dyn Embedder>>,
    vectors: Option<Arc<dyn VectorStore>>,
    model: Option<Arc<dyn ChatModel>>,
    lead_extractor: Option<Arc<dyn LeadExtractor>>,
}

impl ChatbotBuilder {
    /// The configuration (limits, timeouts, and the components not set here). Default:
    /// [`Config::default`], the embedded set in `./chatbot-data`.
    pub fn config(mut self, config: Config) -> Self {
        self.config = Some(config);
        self
    }

    /// The store (already migrated: [`crate::store::open`] does both).
    pub fn store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = Some(store);
        self
    }

    /// The embedder that turns chunks and questions into vectors.
    pub fn embedder(mut self, embedder: Arc<dyn Embedder>) -> Self {
        self.embedder = Some(embedder);
        self
    }

    /// The vector index.
    pub fn vectors(mut self, vectors: Arc<dyn VectorStore>) -> Self {
        self.vectors = Some(vectors);
        self
    }

    /// The chat model.
    pub fn model(mut self, model: Arc<dyn ChatModel>) -> Self {
        self.model = Some(model);
        self
    }

    /// Structured lead extraction by a model (run after model replies, off the reply's path).
    /// Default: the configured OpenAI-compatible model's, none with the offline answerer.
    pub fn lead_extractor(mut self, extractor: Arc<dyn LeadExtractor>) -> Self {
        self.lead_extractor = Some(extractor);
        self
    }

    /// Open what was not given from the configuration and build the facade.
    ///
    /// # Errors
    /// [`crate::Error::Config`] for a configuration this build cannot serve (a provider whose cargo
    /// feature is off) or that [`Config::validate`] refuses, connection or migration failures.
    pub async fn build(self) -> Result<Chatbot> {
        let config = self.config.unwrap_or_default();
        config.validate()?;
        let store = match self.store {
            Some(s) => s,
            None => open_store(&config).await?,
        };
        let embedder = match self.embedder {
            Some(e) => e,
            None => embedder_from(&config).await?,
        };
        let vectors = match self.vectors {
            Some(v) => v,
            None => vectors_from(&config).await?,
        };
        let model = match self.model {
            Some(m) => m,
            None => model_from(&config)?,
        };
        let lead_extractor = match self.lead_extractor {
            Some(x) => Some(x),
            None => lead_extractor_from(&config),
        };
        let c = Components { store, embedder, vectors, model, lead_extractor };
        Ok(Chatbot::assemble(config, c))
    }
}

/// The HTTP client for the model's lead extraction (the webhook has its own, guarded one).
#[cfg(feature = "openai")]
fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .user_agent(concat!("chatbot-toolkit/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default()
}

#[cfg(not(all(feature = "openai", feature = "pinecone", feature = "local-embed")))]
fn not_built(what: &str, feature: &str) -> crate::Error {
    crate::Error::Config(format!(
        "{what} needs the `{feature}` cargo feature, which this build does not have"
    ))
}

async fn open_store(config: &Config) -> Result<Arc<dyn Store>> {
    if config.database_url.starts_with("sqlite:") {
        std::fs::create_dir_all(&config.data_dir)?;
    }
    store::open_with(&config.database_url, &store::OpenOptions::from_config(config)).await
}

async fn embedder_from(config: &Config) -> Result<Arc<dyn Embedder>> {
    match &config.embedder {
        EmbedderChoice::Offline => Ok(Arc::new(OfflineEmbedder::new())),
        #[cfg(feature = "local-embed")]
        EmbedderChoice::Local { model_dir } => {
            // Reading ~90 MB of weights is blocking work: keep it off the async runtime.
            let dir = model_dir.clone();
            let e = tokio::task::spawn_blocking(move || crate::rag::LocalEmbedder::load(&dir))
                .await
                .map_err(|e| crate::Error::Internal(format!("loading the local embedder: {e}")))?
                .map_err(|e| match e {
                    crate::Error::Config(m) => crate::Error::Config(format!("CHATBOT_LOCAL_MODEL_DIR: {m}")),
                    other => other,
                })?;
            Ok(Arc::new(e))
        }
        #[cfg(not(feature = "local-embed"))]
        EmbedderChoice::Local { .. } => Err(not_built("the local MiniLM embedder", "local-embed")),
        #[cfg(feature = "openai")]
        EmbedderChoice::OpenAi { api_key, base_url, model, dimensions } => {
            let e = crate::rag::OpenAiEmbedder::new(api_key, base_url.as_deref(), model, *dimensions);
            if e.dimension() == 0 {
                // A model we do not know: learn its dimension before anything is indexed.
                e.ensure_dimension().await?;
            }
            Ok(Arc::new(e))
        }
        #[cfg(not(feature = "openai"))]
        EmbedderChoice::OpenAi { .. } => Err(not_built("an OpenAI-compatible embedder", "openai")),
    }
}

async fn vectors_from(config: &Config) -> Result<Arc<dyn VectorStore>> {
    match &config.vector_store {
        VectorStoreChoice::Local { dir } => Ok(Arc::new(LocalIndex::open(dir)?)),
        #[cfg(feature = "pinecone")]
        VectorStoreChoice::Pinecone { api_key, index_host, index_name, environment } => Ok(Arc::new(
            crate::rag::PineconeStore::connect(crate::providers::pinecone::PineconeConfig {
                api_key: api_key.clone(),
                index_host: index_host.clone(),
                index_name: index_name.clone(),
                environment: environment.clone(),
                control_plane_url: None,
            })
            .await?,
        )),
        #[cfg(not(feature = "pinecone"))]
        VectorStoreChoice::Pinecone { .. } => Err(not_built("Pinecone", "pinecone")),
    }
}

fn model_from(config: &Config) -> Result<Arc<dyn ChatModel>> {
    match &config.model {
        ModelChoice::Offline => Ok(Arc::new(ExtractiveAnswerer::new())),
        #[cfg(feature = "openai")]
        ModelChoice::OpenAi { api_key, base_url, model } => Ok(Arc::new(crate::llm::OpenAiChat::new(
            api_key,
            base_url.as_deref(),
            model,
            config.model_timeout,
        ))),
        #[cfg(not(feature = "openai"))]
        ModelChoice::OpenAi { .. } => Err(not_built("an OpenAI-compatible chat model", "openai")),
    }
}

fn lead_extractor_from(config: &Config) -> Option<Arc<dyn LeadExtractor>> {
    match &config.model {
        #[cfg(feature = "openai")]
        ModelChoice::OpenAi { api_key, base_url, model } => Some(Arc::new(
            crate::providers::openai::OpenAiExtractor::new(api_key, base_url.as_deref(), model)
                .with_http_client(http_client()),
        )),
        _ => None,
    }
}
