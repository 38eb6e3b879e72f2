//! `chatbot-server`: the HTTP server binary, the same entry point as `chatbot serve`
//! ([`chatbot_server::cli`]). Configuration from flags and the environment (`CHATBOT_BIND`,
//! `CHATBOT_DATA_DIR`, `DATABASE_URL`, `OPENAI_API_KEY`, ...); `--help` lists them.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    chatbot_server::cli::main().await
}
