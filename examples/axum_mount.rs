//! Template: mount the chat routes inside an existing axum application, next to its own routes.
//! The routes behave exactly as under `chatbot serve` (CORS per company, body limits, the JSON
//! error shape, server-sent events); only the prefix is yours.
//!
//! `cargo run -p chatbot-examples --example axum_mount -- 127.0.0.1:3000`, then
//! `curl http://127.0.0.1:3000/chat/api/widget-settings/123` and
//! `curl http://127.0.0.1:3000/` (the host application's own route).

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let bind = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:3000".into());
    let data = tempfile::tempdir()?;
    let bot =
        chatbot_core::Chatbot::from_config(chatbot_core::Config::offline(data.path().join("data"))).await?;
    bot.seed_demo().await?;
    let app = chatbot_examples::host_app(bot);
    let listener = tokio::net::TcpListener::bind(&bind).await?;
    eprintln!("host app on http://{bind}/ with the chat routes under /chat/");
    axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>()).await?;
    Ok(())
}
