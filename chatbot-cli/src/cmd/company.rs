//! `chatbot company ...`: companies (tenants), their activation and AI configuration.

use chatbot_core::{AiConfigPatch, ClientType, CompanyPatch, GroundingMode, NewCompany};
use clap::Subcommand;
use serde_json::json;

use super::{open, print_json};
use crate::Global;

#[derive(Subcommand, Debug)]
pub(crate) enum CompanyCommand {
    /// Create a company with default widget settings.
    Create {
        /// Company id, e.g. 123 or acme.
        company_id: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        phone: Option<String>,
        #[arg(long)]
        website: Option<String>,
        /// Origins allowed to embed the widget (repeat). None: any origin.
        #[arg(long = "allowed-origin")]
        allowed_origins: Vec<String>,
        /// What kind of business: realtor or business_owner (decides the lead profile).
        #[arg(long, default_value = "business_owner", value_parser = client_type)]
        client_type: ClientType,
    },
    /// Change a company's own fields or client type (only the options given change).
    Update {
        company_id: String,
        #[arg(long)]
        name: Option<String>,
        /// Phone number ("" removes it).
        #[arg(long)]
        phone: Option<String>,
        /// Website ("" removes it).
        #[arg(long)]
        website: Option<String>,
        /// realtor or business_owner.
        #[arg(long, value_parser = client_type)]
        client_type: Option<ClientType>,
    },
    /// List companies.
    List,
    /// Show a company, its AI config and today's token usage.
    Show { company_id: String },
    /// Deactivate a company: its widget and keys stop working.
    Deactivate { company_id: String },
    /// Reactivate a company.
    Activate { company_id: String },
    /// Change the AI configuration (only the options given change).
    AiConfig {
        company_id: String,
        /// Topics the bot may discuss besides the company's knowledge (repeat; replaces the list).
        #[arg(long = "allowed-topic")]
        allowed_topics: Vec<String>,
        /// Chat model name.
        #[arg(long)]
        model: Option<String>,
        /// Tokens per UTC day for the paid model (0 removes the budget).
        #[arg(long)]
        daily_token_budget: Option<u64>,
        /// URL that receives a signed POST when a lead becomes ready ("" removes it).
        #[arg(long)]
        webhook_url: Option<String>,
        /// Lead profile fields to extract (repeat; replaces the list).
        #[arg(long = "profile-field")]
        profile_fields: Vec<String>,
        /// Chat requests per minute per session.
        #[arg(long)]
        rate_limit_per_session: Option<u32>,
        /// Requests per minute per client IP.
        #[arg(long)]
        rate_limit_per_ip: Option<u32>,
        /// New visitor conversations per minute for the whole company, on PostgreSQL across all
        /// server instances (default 100000; the terminal's `chatbot chat` is exempt).
        #[arg(long)]
        max_new_conversations_per_minute: Option<u32>,
        /// Fuse dense (semantic) search with lexical search when a dense embedder is
        /// configured (`true`, the default) or search lexically only (`false`).
        #[arg(long)]
        hybrid_search: Option<bool>,
        /// Model answer sentences the passages do not support: strict (removed), flag (kept
        /// and recorded, the default) or off.
        #[arg(long, value_parser = grounding_mode)]
        grounding: Option<GroundingMode>,
        /// How close (0 to 1) a question must be to a curated question to get its answer
        /// (default 0.7).
        #[arg(long)]
        curated_threshold: Option<f64>,
        /// Days turn records (the gap report's material) are kept (default 90).
        #[arg(long)]
        turn_retention_days: Option<u32>,
    },
}

/// # Errors
/// Invalid fields (naming the field), unknown company, duplicate id, storage failures.
pub(crate) async fn run(g: &Global, cmd: CompanyCommand) -> anyhow::Result<()> {
    let bot = open(g).await?;
    match cmd {
        CompanyCommand::Create { company_id, name, email, phone, website, allowed_origins, client_type } => {
            let c = bot
                .create_company(NewCompany {
                    company_id,
                    company_name: name,
                    email,
                    phone,
                    website,
                    allowed_origins,
                    client_type,
                    ..NewCompany::default()
                })
                .await?;
            if g.json {
                print_json(&c)?;
            } else {
                println!("created company {} ({}, {})", c.company_id, c.company_name, c.client_type);
            }
        }
        CompanyCommand::Update { company_id, name, phone, website, client_type } => {
            let ctx = bot.operator_context(&company_id).await?;
            let patch = CompanyPatch { company_name: name, phone, website, client_type };
            anyhow::ensure!(
                !patch.is_empty(),
                "nothing to change: give --name, --phone, --website or --client-type"
            );
            let c = bot.update_company(&ctx, &patch).await?;
            if g.json {
                print_json(&c)?;
            } else {
                println!("updated company {} ({}, {})", c.company_id, c.company_name, c.client_type);
            }
        }
        CompanyCommand::List => {
            let list = bot.list_companies().await?;
            if g.json {
                print_json(&list)?;
            } else {
                for c in list {
                    let state = if c.is_active { "active" } else { "inactive" };
                    println!("{}\t{}\t{}\t{}", c.company_id, c.company_name, c.email, state);
                }
            }
        }
        CompanyCommand::Show { company_id } => {
            let ctx = bot.operator_context(&company_id).await?;
            let budget = bot.budget_status(&ctx).await?;
            let knowledge = bot.knowledge(&ctx).status().await?;
            let (sources, chunks) = (knowledge.sources.len(), knowledge.chunks);
            let c = ctx.company();
            if g.json {
                print_json(
                    &json!({"company": c, "budget": budget, "knowledge": {"sources": sources, "chunks": chunks}}),
                )?;
            } else {
                println!("company_id:   {}", c.company_id);
                println!("name:         {}", c.company_name);
                println!("email:        {}", c.email);
                println!("phone:        {}", c.phone.as_deref().unwrap_or("-"));
                println!("website:      {}", c.website.as_deref().unwrap_or("-"));
                println!("client type:  {}", c.client_type);
                println!("active:       {}", c.is_active);
                println!("ai_config:    {}", serde_json::to_string(&c.ai_config)?);
                let limit = budget.daily_budget.map_or("no budget".to_string(), |b| format!("of {b}"));
                let spent = if budget.exhausted { " (spent: chats use the offline fallback)" } else { "" };
                println!("tokens today: {} {limit}{spent}", budget.used_today);
                println!("knowledge:    {sources} sources, {chunks} chunks");
                println!("created:      {}", c.created_at.to_rfc3339());
            }
        }
        CompanyCommand::Deactivate { company_id } => {
            let ctx = bot.operator_context(&company_id).await?;
            bot.set_company_active(&ctx, false).await?;
            println!("deactivated {company_id}");
        }
        CompanyCommand::Activate { company_id } => {
            let ctx = bot.operator_context(&company_id).await?;
            bot.set_company_active(&ctx, true).await?;
            println!("activated {company_id}");
        }
        CompanyCommand::AiConfig {
            company_id,
            allowed_topics,
            model,
            daily_token_budget,
            webhook_url,
            profile_fields,
            rate_limit_per_session,
            rate_limit_per_ip,
            max_new_conversations_per_minute,
            hybrid_search,
            grounding,
            curated_threshold,
            turn_retention_days,
        } => {
            let ctx = bot.operator_context(&company_id).await?;
            // The merge rules (0 removes the budget, "" the webhook) are the core's.
            let patch = AiConfigPatch {
                allowed_topics: (!allowed_topics.is_empty()).then_some(allowed_topics),
                model,
                daily_token_budget,
                lead_webhook_url: webhook_url,
                lead_profile_fields: (!profile_fields.is_empty()).then_some(profile_fields),
                rate_limit_per_session,
                rate_limit_per_ip,
                max_new_conversations_per_minute,
                hybrid_search,
                grounding,
                curated_threshold,
                turn_retention_days,
            };
            let c = bot.update_ai_config(&ctx, &patch).await?;
            if g.json {
                print_json(&c)?;
            } else {
                println!("ai_config of {company_id}: {}", serde_json::to_string(&c)?);
            }
        }
    }
    Ok(())
}

/// `--client-type`: the core's parser, so the CLI accepts exactly what the API does.
fn client_type(s: &str) -> Result<ClientType, String> {
    ClientType::parse(s).map_err(|e| e.to_string())
}

/// `--grounding`: the core's parser.
fn grounding_mode(s: &str) -> Result<GroundingMode, String> {
    GroundingMode::parse(s).map_err(|e| e.to_string())
}
