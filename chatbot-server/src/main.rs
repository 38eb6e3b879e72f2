//! `chatbot-server`: the HTTP server binary. Configuration from the environment
//! (`CHATBOT_BIND`, `CHATBOT_DATA_DIR`, `DATABASE_URL`, `OPENAI_API_KEY`, ...).
//!
//! ```text
//! chatbot-server [--bind IP:PORT] [--demo]
//! ```

use chatbot_core::{Chatbot, Config};
use chatbot_server::{ServerConfig, parse_bind};
use tracing::info;

const USAGE: &str = "usage: chatbot-server [--bind IP:PORT] [--demo]\n\n\
  --bind IP:PORT  address to listen on (env CHATBOT_BIND, default 127.0.0.1:8080)\n\
  --demo          seed the demo company 123 if it is missing, then serve";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut demo = false;
    let mut bind = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--demo" => demo = true,
            "--bind" => {
                bind = Some(args.next().ok_or_else(|| anyhow::anyhow!("--bind needs IP:PORT\n\n{USAGE}"))?)
            }
            s if s.starts_with("--bind=") => bind = Some(s["--bind=".len()..].to_string()),
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => anyhow::bail!("unknown argument {other:?}\n\n{USAGE}"),
        }
    }
    chatbot_server::init_tracing();
    let mut config = ServerConfig::from_env()?;
    if let Some(b) = bind {
        config.bind = parse_bind(&b)?;
    }
    let bot = Chatbot::from_config(Config::from_env()?).await?;
    info!(components = %bot.components_info(), "chatbot ready");
    if demo {
        let seed = chatbot_core::demo::seed(&bot).await?;
        if seed.created {
            info!(company = %seed.company_id, chunks = seed.chunks, "demo company seeded");
            if let (Some(pk), Some(sk)) = (&seed.publishable_key, &seed.secret_key) {
                // Shown once, so the operator can try the keyed routes.
                println!(
                    "demo company {}: publishable key {pk}\ndemo company {}: secret key {sk}",
                    seed.company_id, seed.company_id
                );
            }
        } else {
            info!(company = %seed.company_id, "demo company already present");
        }
    }
    chatbot_server::serve(bot, config).await
}
