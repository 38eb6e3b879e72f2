//! `chatbot serve`: the HTTP server (the documented API and the widget script), through the
//! same entry point, flags and logging as the `chatbot-server` binary
//! ([`chatbot_server::cli`]).

pub(crate) use chatbot_server::cli::ServeArgs;

use crate::Global;

/// # Errors
/// As [`chatbot_server::cli::serve`], and when the data flags or the environment are wrong.
pub(crate) async fn run(g: &Global, args: ServeArgs) -> anyhow::Result<()> {
    chatbot_server::cli::serve(g.data.config()?, args).await
}
