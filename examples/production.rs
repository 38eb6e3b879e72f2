//! Template: the production configuration. PostgreSQL for several server instances, Pinecone for
//! vectors, OpenAI (or any OpenAI-compatible server) for chat and embeddings, all from the
//! environment, the same variables `chatbot serve` reads:
//!
//! ```text
//! DATABASE_URL=postgres://chatbot:secret@db.internal/chatbot
//! OPENAI_API_KEY=sk-...            # OPENAI_BASE_URL for another OpenAI-compatible server
//! PINECONE_API_KEY=...             # PINECONE_INDEX_HOST (or PINECONE_INDEX) names the index
//! CHATBOT_ADMIN_TOKEN=$(openssl rand -hex 32)   # enables the /internal routes (32+ characters)
//! ```
//!
//! `cargo run -p chatbot-examples --example production -- 0.0.0.0:8080`
//!
//! It refuses to start on the embedded defaults, so a missing variable is a clear error at boot
//! instead of a production server quietly answering from SQLite and the offline answerer.

use chatbot_core::Chatbot;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let bind = std::env::args().nth(1).unwrap_or_else(|| "0.0.0.0:8080".into());
    let config = chatbot_core::Config::from_env()?;
    chatbot_examples::require_production(&config)?;
    let bot = Chatbot::from_config(config).await?;
    eprintln!("components: {}", bot.components_info());
    let mut server = chatbot_server::ServerConfig::from_env()?;
    server.bind = bind.parse()?;
    chatbot_server::serve(bot, server).await
}
