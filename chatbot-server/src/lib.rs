//! The HTTP server: the documented API over hyper, on top of [`chatbot_core::Chatbot`].
//! (Skeleton; filled by the server work.)

use std::net::SocketAddr;

use chatbot_core::Chatbot;

/// Server options.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub bind: SocketAddr,
}

/// Serve until Ctrl-C or SIGTERM.
///
/// # Errors
/// When the address cannot be bound.
pub async fn serve(_bot: Chatbot, _config: ServerConfig) -> anyhow::Result<()> {
    anyhow::bail!("the server is not implemented yet")
}
