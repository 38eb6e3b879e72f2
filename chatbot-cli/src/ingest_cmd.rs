//! `chatbot ingest ...` (placeholder until the ingestion work lands).

/// Ingest commands.
#[derive(clap::Subcommand, Debug)]
pub enum IngestCommand {
    /// Show what a company's knowledge holds.
    Status { company_id: String },
}

/// Run an ingest command.
///
/// # Errors
/// Always, until ingestion lands.
pub async fn run(_bot: &chatbot_core::Chatbot, _cmd: IngestCommand, _json: bool) -> anyhow::Result<()> {
    anyhow::bail!("ingestion is not available yet")
}
