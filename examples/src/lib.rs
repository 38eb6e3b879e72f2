//! Integration templates for developers who embed `chatbot-core`.
//!
//! Each example in this package is a compiled target (`cargo run -p chatbot-examples --example NAME`):
//! - `embedded`: the embedded defaults from Rust: create a company, ingest a folder, ask, print
//!   the answer and its sources (runs offline; the tests run it).
//! - `production`: PostgreSQL, Pinecone and OpenAI from the environment, served over HTTP.
//! - `embed_chat`: the embedded defaults in a folder of your choice, the demo company, one chat turn.
//! - `custom_provider`: a hand-written [`chatbot_core::llm::ChatModel`], or any OpenAI-compatible
//!   server by its base URL (chat and lead extraction sharing one client).
//! - `axum_mount`: the chat routes nested in an existing axum application, next to its routes.
//! - `own_server`: mount the HTTP API of `chatbot-server` with your own bind address and data folder.
//!
//! The functions here are what the examples run; the tests below run them too, so the templates
//! cannot rot.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chatbot_core::ingest::IngestOptions;
use chatbot_core::providers::{EmbedderChoice, ModelChoice, VectorStoreChoice};
use chatbot_core::{ChatReply, Chatbot, Config, NewCompany, PartnerChat};
use tokio_util::sync::CancellationToken;

use async_trait::async_trait;
use chatbot_core::llm::{ChatModel, ChatRequest, Completion, LeadExtractor, ModelCapabilities, StreamEvent};
use futures::stream::BoxStream;

/// A hand-written chat model for the `custom_provider` template: it quotes the best passage
/// (a real one would call your provider's API here).
pub struct Quoting;

#[async_trait]
impl ChatModel for Quoting {
    fn provider(&self) -> &'static str {
        "quoting"
    }

    fn capabilities(&self) -> ModelCapabilities {
        // Generative: the turn goes through budgets, timeouts and the fallback, as with a remote
        // model. This one reports no token usage.
        ModelCapabilities::generative().with_token_counts(false)
    }

    async fn complete(&self, req: &ChatRequest) -> chatbot_core::Result<Completion> {
        let text =
            req.passages.first().map_or("I don't know.".to_string(), |p| format!("\"{}\"", p.text.trim()));
        Ok(Completion { text, model: "quoting-1".into(), usage: None })
    }

    async fn stream(
        &self,
        req: &ChatRequest,
    ) -> chatbot_core::Result<BoxStream<'static, chatbot_core::Result<StreamEvent>>> {
        let c = self.complete(req).await?;
        Ok(Box::pin(futures::stream::iter([
            Ok(StreamEvent::Delta(c.text)),
            Ok(StreamEvent::Done { model: c.model, usage: None }),
        ])))
    }
}

/// The `custom_provider` template's remote path: chat and lead extraction on any
/// OpenAI-compatible server, sharing one client (one connection pool, one retry policy).
pub fn openai_compatible(base_url: &str, model: &str) -> (Arc<dyn ChatModel>, Arc<dyn LeadExtractor>) {
    use chatbot_core::providers::openai::{OpenAiChat, OpenAiClient, OpenAiExtractor};
    let key = std::env::var("OPENAI_API_KEY").unwrap_or_else(|_| "none".into());
    let client = OpenAiClient::new(&key, Some(base_url));
    let chat = OpenAiChat::from_client(client.clone(), model, std::time::Duration::from_secs(30));
    (Arc::new(chat), Arc::new(OpenAiExtractor::from_client(client, model)))
}

/// The `axum_mount` template's application: its own route at `/`, the chat routes under
/// `/chat`, and the client address handed to the per-IP limits.
pub fn host_app(bot: Chatbot) -> axum::Router {
    use axum::extract::{ConnectInfo, Request};
    use chatbot_server::{PeerAddr, ServerConfig};
    axum::Router::new()
        .route("/", axum::routing::get(|| async { "the host application" }))
        .nest_service("/chat", chatbot_server::service(bot, ServerConfig::default()))
        .layer(axum::middleware::map_request(
            |ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>, mut req: Request| async move {
                req.extensions_mut().insert(PeerAddr(peer));
                req
            },
        ))
}

/// What [`ingest_and_ask`] did.
pub struct Answer {
    /// Chunks the folder gave.
    pub chunks: usize,
    /// The reply, with its sources.
    pub reply: ChatReply,
}

/// The `embedded` template: open the embedded defaults in `data`, create a company, ingest the
/// documents under `docs`, and ask `question` as a visitor of the company's widget would.
///
/// # Errors
/// Any core error (storage, indexing, a bad folder).
pub async fn ingest_and_ask(data: &Path, docs: &Path, question: &str) -> chatbot_core::Result<Answer> {
    let bot = Chatbot::from_config(Config::offline(data.to_path_buf())).await?;
    let company = NewCompany {
        company_id: "acme".into(),
        company_name: "Acme Appliances".into(),
        email: "support@acme.example".into(),
        ..NewCompany::default()
    };
    if let Err(e) = bot.create_company(company).await {
        // Running the template twice on one folder: the company is there already.
        if !matches!(e, chatbot_core::Error::Conflict(_)) {
            return Err(e);
        }
    }
    // Ingesting is an operator's (or the company's secret key's) job.
    let admin = bot.operator_context("acme").await?;
    let summary = bot
        .knowledge(&admin)
        .ingest_files(
            &[docs.to_path_buf()],
            &IngestOptions::default(),
            Arc::new(|_| {}),
            &CancellationToken::new(),
        )
        .await?;
    // Visitors come in through the public context of an active company.
    let visitor = bot.public_context("acme").await?;
    let reply = bot.partner_chat(&visitor, PartnerChat::new(question)).await?;
    Ok(Answer { chunks: summary.chunks, reply })
}

/// Two small documents for the `embedded` template to ingest when it is given no folder.
///
/// # Errors
/// I/O failures.
pub fn write_sample_docs(dir: &Path) -> std::io::Result<PathBuf> {
    let docs = dir.join("docs");
    std::fs::create_dir_all(&docs)?;
    std::fs::write(
        docs.join("warranty.md"),
        "# Warranty\n\nEvery Acme appliance comes with a two-year warranty. Repairs under warranty are free; \
         send the appliance with its receipt to our service centre in Utrecht.\n",
    )?;
    std::fs::write(
        docs.join("delivery.md"),
        "# Delivery\n\nWe deliver within the Netherlands in two business days. Delivery to Belgium and \
         Germany takes four business days and costs 9 euros.\n",
    )?;
    Ok(docs)
}

/// The `production` template's boot check: every seam must be the remote one.
///
/// # Errors
/// A message naming the variable to set.
pub fn require_production(config: &Config) -> anyhow::Result<()> {
    if !config.database_url.starts_with("postgres") {
        anyhow::bail!("set DATABASE_URL=postgres://... (several instances share one PostgreSQL)");
    }
    if matches!(config.model, ModelChoice::Offline) {
        anyhow::bail!("set OPENAI_API_KEY (and OPENAI_BASE_URL for another OpenAI-compatible server)");
    }
    if matches!(config.embedder, EmbedderChoice::Offline) {
        anyhow::bail!("set OPENAI_API_KEY for the embeddings");
    }
    if matches!(config.vector_store, VectorStoreChoice::Local { .. }) {
        anyhow::bail!("set PINECONE_API_KEY and PINECONE_INDEX_HOST");
    }
    Ok(())
}

/// Open the embedded defaults (SQLite, local index, offline embedder and answerer) in `dir`,
/// seed the demo company `123`, and ask it one question.
///
/// # Errors
/// Any core error (storage, indexing).
pub async fn ask_demo_shop(dir: &Path, question: &str) -> chatbot_core::Result<ChatReply> {
    let bot = Chatbot::from_config(Config::offline(dir.to_path_buf())).await?;
    bot.seed_demo().await?;
    let ctx = bot.public_context(chatbot_core::DEMO_COMPANY_ID).await?;
    bot.partner_chat(&ctx, PartnerChat::new(question)).await
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn the_embedded_template_answers_from_the_ingested_folder() {
        let dir = tempfile::tempdir().unwrap();
        let docs = super::write_sample_docs(dir.path()).unwrap();
        let a = super::ingest_and_ask(&dir.path().join("data"), &docs, "How long is the warranty?")
            .await
            .unwrap();
        assert!(a.chunks >= 2, "{}", a.chunks);
        assert!(a.reply.message.contains("two-year warranty"), "{}", a.reply.message);
        assert!(a.reply.sources.iter().any(|s| s.source.ends_with("warranty.md")), "{:?}", a.reply.sources);
        // A second run on the same folder reuses the company and re-indexes nothing.
        let again = super::ingest_and_ask(&dir.path().join("data"), &docs, "Do you deliver to Belgium?")
            .await
            .unwrap();
        assert!(again.reply.message.contains("four business days"), "{}", again.reply.message);
    }

    #[tokio::test]
    async fn the_custom_provider_template_answers_through_the_hand_written_model() {
        let dir = tempfile::tempdir().unwrap();
        let bot = super::Chatbot::builder()
            .config(super::Config::offline(dir.path().to_path_buf()))
            .model(std::sync::Arc::new(super::Quoting))
            .build()
            .await
            .unwrap();
        bot.seed_demo().await.unwrap();
        let ctx = bot.public_context("123").await.unwrap();
        let r =
            bot.partner_chat(&ctx, super::PartnerChat::new("How long does delivery take?")).await.unwrap();
        assert_eq!(r.answered_by, chatbot_core::AnsweredBy::Model);
        assert!(r.message.starts_with('"'), "{}", r.message);
        // the OpenAI-compatible path builds without a server (it is only called on a turn)
        let (chat, _) = super::openai_compatible("http://127.0.0.1:9/v1", "m");
        assert!(chat.capabilities().generative);
    }

    #[tokio::test]
    async fn the_axum_template_serves_its_own_route_and_the_chat_routes() {
        let dir = tempfile::tempdir().unwrap();
        let bot =
            super::Chatbot::from_config(super::Config::offline(dir.path().to_path_buf())).await.unwrap();
        bot.seed_demo().await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = super::host_app(bot).into_make_service_with_connect_info::<std::net::SocketAddr>();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let get = |path: &str| {
            let path = path.to_string();
            async move {
                let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
                let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
                tokio::io::AsyncWriteExt::write_all(&mut s, req.as_bytes()).await.unwrap();
                let mut out = String::new();
                tokio::io::AsyncReadExt::read_to_string(&mut s, &mut out).await.unwrap();
                out
            }
        };
        let own = get("/").await;
        assert!(own.starts_with("HTTP/1.1 200") && own.ends_with("the host application"), "{own}");
        let settings = get("/chat/api/widget-settings/123").await;
        assert!(settings.starts_with("HTTP/1.1 200") && settings.contains("primary_color"), "{settings}");
        assert!(get("/chat/api/widget-settings/nope").await.starts_with("HTTP/1.1 404"));
    }

    #[test]
    fn the_production_template_refuses_the_embedded_defaults() {
        let err = super::require_production(&chatbot_core::Config::default()).unwrap_err();
        assert!(err.to_string().contains("DATABASE_URL"), "{err}");
    }

    #[tokio::test]
    async fn the_embed_template_answers_from_the_demo_knowledge() {
        let dir = tempfile::tempdir().unwrap();
        let reply = super::ask_demo_shop(dir.path(), "How long does delivery take in the Netherlands?")
            .await
            .unwrap();
        assert_eq!(reply.company_id, "123");
        assert!(reply.message.contains("business days"), "{}", reply.message);
        assert!(reply.sources.iter().any(|s| s.source.ends_with("/shipping")), "{:?}", reply.sources);
    }
}
