//! The HTTP server: the documented API over hyper, on top of [`chatbot_core::Chatbot`].
//! (Skeleton; filled by the server work.)

use std::net::SocketAddr;

use chatbot_core::Chatbot;

/// Server options.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub bind: SocketAddr,
}

impl ServerConfig {
    /// # Errors
    /// When `CHATBOT_BIND` is not an address.
    pub fn from_env() -> anyhow::Result<Self> {
        let bind = std::env::var("CHATBOT_BIND").unwrap_or_else(|_| "127.0.0.1:8080".into()).parse()?;
        Ok(Self { bind })
    }
}

/// Serve until Ctrl-C or SIGTERM.
///
/// # Errors
/// When the address cannot be bound.
pub async fn serve(_bot: Chatbot, _config: ServerConfig) -> anyhow::Result<()> {
    anyhow::bail!("the server is not implemented yet")
}
