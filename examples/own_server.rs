//! Run the HTTP API inside your own binary, with your own data folder and address.
//!
//! `cargo run -p chatbot-examples --example own_server -- 127.0.0.1:3000`

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let bind = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:3000".into());
    let config = chatbot_core::Config::offline(std::env::temp_dir().join("chatbot-example-server"));
    let bot = chatbot_core::Chatbot::from_config(config).await?;
    bot.seed_demo().await?;
    let mut server = chatbot_server::ServerConfig::from_env()?;
    server.bind = bind.parse()?;
    println!("try: curl http://{bind}/api/widget-settings/123");
    chatbot_server::serve(bot, server).await
}
