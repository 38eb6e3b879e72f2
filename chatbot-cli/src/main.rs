//! `chatbot`: the operator command line. Each command maps its arguments to one `Chatbot` call
//! and the core's errors to a one-line message and a non-zero exit code.

use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use chatbot_core::auth::KeyKind;
use chatbot_core::lead::{LeadFilter, LeadStatus};
use chatbot_core::{
    AiConfig, ChatEvent, ChatInput, Chatbot, ClientInfo, Config, NewCompany, WidgetSettingsPatch,
};
use clap::{Args, Parser, Subcommand};
use futures::StreamExt as _;
use serde_json::json;

mod ingest_cmd;

/// Operate multi-tenant chat widgets: companies, keys, settings, knowledge, chat, leads, server.
#[derive(Parser, Debug)]
#[command(name = "chatbot", version, about, propagate_version = true)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Debug, Clone)]
struct Global {
    /// Database URL (sqlite://path?mode=rwc or postgres://...). Default: SQLite under the data dir.
    #[arg(long, env = "DATABASE_URL", global = true)]
    database_url: Option<String>,
    /// Folder for the embedded defaults (SQLite file, local vector index).
    #[arg(long, env = "CHATBOT_DATA_DIR", global = true, default_value = "chatbot-data")]
    data_dir: PathBuf,
    /// Print data as JSON.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Database maintenance.
    #[command(subcommand)]
    Db(DbCommand),
    /// Manage companies (tenants).
    #[command(subcommand)]
    Company(CompanyCommand),
    /// Manage API keys (publishable pk_... for the widget, secret sk_... for settings and admin).
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Read and change a company's widget settings.
    #[command(subcommand)]
    Settings(SettingsCommand),
    /// The demo company `123`.
    #[command(subcommand)]
    Demo(DemoCommand),
    /// Ingest a website or files into a company's knowledge.
    #[command(subcommand)]
    Ingest(ingest_cmd::IngestCommand),
    /// Search a company's knowledge.
    Search {
        /// Company id.
        company_id: String,
        /// What to look for.
        query: String,
        /// How many results.
        #[arg(long, default_value_t = 5)]
        top_k: usize,
    },
    /// Chat with a company's bot in the terminal (streams the reply).
    Chat {
        /// Company id.
        company_id: String,
        /// Send one message and exit (with --json: {"message","answered_by","sources"}).
        #[arg(long, short)]
        message: Option<String>,
        /// Resume this session instead of starting one.
        #[arg(long)]
        session: Option<String>,
    },
    /// Leads collected by the bots.
    #[command(subcommand)]
    Leads(LeadsCommand),
    /// Start the HTTP server (the documented API and the widget script).
    Serve {
        /// Address to listen on.
        #[arg(long, env = "CHATBOT_BIND", default_value = "127.0.0.1:8080")]
        bind: std::net::SocketAddr,
        /// Seed the demo company 123 if it is missing, then serve.
        #[arg(long)]
        demo: bool,
    },
}

#[derive(Subcommand, Debug)]
enum DbCommand {
    /// Create or upgrade the tables (safe to run again).
    Migrate,
}

#[derive(Subcommand, Debug)]
enum CompanyCommand {
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
    },
}

#[derive(Subcommand, Debug)]
enum KeysCommand {
    /// Create a key; it is printed once and only its hash is stored.
    Create {
        company_id: String,
        #[arg(long, value_parser = ["publishable", "secret"])]
        kind: String,
    },
    /// List a company's keys (prefixes only).
    List { company_id: String },
    /// Revoke a key by its id (key_...).
    Revoke { key_id: String },
}

#[derive(Subcommand, Debug)]
enum SettingsCommand {
    /// Print the widget settings.
    Get { company_id: String },
    /// Change fields: FIELD=VALUE ... (validated; nothing changes if one is invalid).
    Set {
        company_id: String,
        #[arg(required = true, value_name = "FIELD=VALUE")]
        pairs: Vec<String>,
    },
}

#[derive(Subcommand, Debug)]
enum DemoCommand {
    /// Create company 123 with settings, keys and a small knowledge base (harmless to repeat).
    Seed,
}

#[derive(Subcommand, Debug)]
enum LeadsCommand {
    /// List a company's leads, newest first.
    List {
        company_id: String,
        #[arg(long, value_parser = LeadStatus::ALL)]
        status: Option<String>,
        /// Only leads with a name and a contact.
        #[arg(long)]
        ready: bool,
        /// Print CSV.
        #[arg(long, conflicts_with = "json")]
        csv: bool,
        #[arg(long, default_value_t = 100)]
        limit: u32,
        #[arg(long, default_value_t = 0)]
        offset: u32,
    },
    /// Show one lead with its conversation.
    Show { lead_id: String },
    /// Move a lead along new -> contacted -> qualified -> converted.
    SetStatus {
        lead_id: String,
        #[arg(value_parser = LeadStatus::ALL)]
        status: String,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(matches!(cli.command, Command::Serve { .. }));
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let code = exit_code(&e);
            eprintln!("error: {}", one_line(&e));
            ExitCode::from(code)
        }
    }
}

fn init_tracing(serving: bool) {
    let default = if serving { "info" } else { "warn,chatbot=info" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if std::env::var("CHATBOT_LOG_FORMAT").is_ok_and(|f| f == "json") {
        builder.json().init();
    } else if serving {
        builder.init();
    } else {
        builder.without_time().with_target(false).init();
    }
}

/// Exit codes: 2 bad input, 3 not found, 4 not allowed, 5 conflict, 1 anything else.
fn exit_code(e: &anyhow::Error) -> u8 {
    use chatbot_core::Error as E;
    match e.downcast_ref::<E>() {
        Some(E::Invalid { .. } | E::Malformed(_)) => 2,
        Some(E::NotFound { .. }) => 3,
        Some(E::Unauthorized(_) | E::Forbidden(_)) => 4,
        Some(E::Conflict(_)) => 5,
        _ => 1,
    }
}

fn one_line(e: &anyhow::Error) -> String {
    format!("{e:#}").replace('\n', " ")
}

fn config(g: &Global) -> anyhow::Result<Config> {
    let mut c = Config::from_env()?;
    if c.data_dir != g.data_dir {
        let fresh = Config::offline(g.data_dir.clone());
        c.data_dir = g.data_dir.clone();
        if let chatbot_core::config::VectorStoreChoice::Local { .. } = c.vector_store {
            c.vector_store = fresh.vector_store;
        }
        c.database_url = fresh.database_url;
    }
    if let Some(url) = &g.database_url {
        c.database_url = url.clone();
    }
    Ok(c)
}

async fn open(g: &Global) -> anyhow::Result<Chatbot> {
    let bot = Chatbot::from_config(config(g)?).await?;
    tracing::debug!(target: "chatbot", "components: {}", bot.components_info());
    Ok(bot)
}

fn print_json(v: &impl serde::Serialize) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, v)?;
    writeln!(out)?;
    Ok(())
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let g = cli.global;
    match cli.command {
        Command::Db(DbCommand::Migrate) => {
            let bot = open(&g).await?;
            if g.json {
                print_json(&json!({"migrated": true, "backend": bot.components_info().store}))?;
            } else {
                println!("database is up to date ({})", bot.components_info().store);
            }
        }
        Command::Company(cmd) => company(&g, cmd).await?,
        Command::Keys(cmd) => keys(&g, cmd).await?,
        Command::Settings(cmd) => settings(&g, cmd).await?,
        Command::Demo(DemoCommand::Seed) => {
            let bot = open(&g).await?;
            let seeded = chatbot_core::demo::seed(&bot).await?;
            if g.json {
                print_json(&seeded)?;
            } else {
                print_seed(&seeded);
            }
        }
        Command::Ingest(cmd) => {
            let bot = open(&g).await?;
            tracing::info!(target: "chatbot", "components: {}", bot.components_info());
            ingest_cmd::run(&bot, cmd, g.json).await?;
        }
        Command::Search { company_id, query, top_k } => {
            let bot = open(&g).await?;
            let ctx = bot.operator_context(&company_id).await?;
            let hits = bot.search(&ctx, &query, top_k).await?;
            if g.json {
                let results: Vec<_> = hits
                    .iter()
                    .map(|h| json!({"score": h.score, "source": h.source, "title": h.title, "text": h.text}))
                    .collect();
                print_json(&json!({ "results": results }))?;
            } else if hits.is_empty() {
                println!("no matches in {company_id}'s knowledge");
            } else {
                for (i, h) in hits.iter().enumerate() {
                    println!("{}. [{:.3}] {}", i + 1, h.score, h.source);
                    println!("   {}\n", h.text.replace('\n', " "));
                }
            }
        }
        Command::Chat { company_id, message, session } => chat(&g, &company_id, message, session).await?,
        Command::Leads(cmd) => leads(&g, cmd).await?,
        Command::Serve { bind, demo } => {
            let bot = open(&g).await?;
            if demo {
                let seeded = chatbot_core::demo::seed(&bot).await?;
                if seeded.created {
                    print_seed(&seeded);
                }
            }
            tracing::info!("components: {}", bot.components_info());
            let mut config = chatbot_server::ServerConfig::from_env()?;
            config.bind = bind;
            chatbot_server::serve(bot, config).await?;
        }
    }
    Ok(())
}

fn print_seed(s: &chatbot_core::demo::DemoSeed) {
    if s.created {
        println!("created demo company {} with {} knowledge chunks", s.company_id, s.chunks);
        if let (Some(pk), Some(sk)) = (&s.publishable_key, &s.secret_key) {
            println!("publishable key (widget, shown once): {pk}");
            println!("secret key (settings and admin, shown once): {sk}");
        }
    } else {
        println!(
            "demo company {} already exists; knowledge refreshed ({} chunks). Create keys with `chatbot keys create {} --kind publishable`.",
            s.company_id, s.chunks, s.company_id
        );
    }
}

async fn company(g: &Global, cmd: CompanyCommand) -> anyhow::Result<()> {
    let bot = open(g).await?;
    match cmd {
        CompanyCommand::Create { company_id, name, email, phone, website, allowed_origins } => {
            let c = bot
                .create_company(NewCompany {
                    company_id,
                    company_name: name,
                    email,
                    phone,
                    website,
                    allowed_origins,
                    ..NewCompany::default()
                })
                .await?;
            if g.json {
                print_json(&c)?;
            } else {
                println!("created company {} ({})", c.company_id, c.company_name);
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
            let (sources, chunks) = (knowledge.sources, knowledge.chunks);
            let c = ctx.company();
            if g.json {
                print_json(
                    &json!({"company": c, "budget": budget, "knowledge": {"sources": sources.len(), "chunks": chunks}}),
                )?;
            } else {
                println!("company_id:   {}", c.company_id);
                println!("name:         {}", c.company_name);
                println!("email:        {}", c.email);
                println!("phone:        {}", c.phone.as_deref().unwrap_or("-"));
                println!("website:      {}", c.website.as_deref().unwrap_or("-"));
                println!("active:       {}", c.is_active);
                println!("ai_config:    {}", serde_json::to_string(&c.ai_config)?);
                let limit = budget.daily_budget.map_or("no budget".to_string(), |b| format!("of {b}"));
                let spent = if budget.exhausted { " (spent: chats use the offline fallback)" } else { "" };
                println!("tokens today: {} {limit}{spent}", budget.used_today);
                println!("knowledge:    {} sources, {} chunks", sources.len(), chunks);
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
        } => {
            let ctx = bot.operator_context(&company_id).await?;
            let mut c: AiConfig = ctx.company().ai_config.clone();
            if !allowed_topics.is_empty() {
                c.allowed_topics = allowed_topics;
            }
            if let Some(m) = model {
                c.model = Some(m).filter(|m| !m.is_empty());
            }
            if let Some(b) = daily_token_budget {
                c.daily_token_budget = Some(b).filter(|b| *b > 0);
            }
            if let Some(u) = webhook_url {
                c.lead_webhook_url = Some(u).filter(|u| !u.is_empty());
            }
            if !profile_fields.is_empty() {
                c.lead_profile_fields = profile_fields;
            }
            if rate_limit_per_session.is_some() {
                c.rate_limit_per_session = rate_limit_per_session;
            }
            if rate_limit_per_ip.is_some() {
                c.rate_limit_per_ip = rate_limit_per_ip;
            }
            bot.set_ai_config(&ctx, &c).await?;
            if g.json {
                print_json(&c)?;
            } else {
                println!("ai_config of {company_id}: {}", serde_json::to_string(&c)?);
            }
        }
    }
    Ok(())
}

async fn keys(g: &Global, cmd: KeysCommand) -> anyhow::Result<()> {
    let bot = open(g).await?;
    match cmd {
        KeysCommand::Create { company_id, kind } => {
            let ctx = bot.operator_context(&company_id).await?;
            let issued = bot.create_key(&ctx, KeyKind::parse(&kind)?).await?;
            if g.json {
                print_json(
                    &json!({"key": issued.token, "key_id": issued.record.key_id, "kind": kind, "company_id": company_id}),
                )?;
            } else {
                println!("{}", issued.token);
                eprintln!(
                    "key id {} ({kind}, company {company_id}): store the key now, it is not shown again",
                    issued.record.key_id
                );
            }
        }
        KeysCommand::List { company_id } => {
            let ctx = bot.operator_context(&company_id).await?;
            let list = bot.list_keys(&ctx).await?;
            if g.json {
                print_json(&list)?;
            } else {
                for k in list {
                    let state = if k.is_active() { "active" } else { "revoked" };
                    let used = k
                        .last_used_at
                        .map_or("never used".into(), |t| format!("last used {}", t.to_rfc3339()));
                    println!("{}\t{}\t{}…\t{}\t{}", k.key_id, k.kind.as_str(), k.prefix, state, used);
                }
            }
        }
        KeysCommand::Revoke { key_id } => {
            bot.revoke_key(&key_id).await?;
            println!("revoked {key_id}");
        }
    }
    Ok(())
}

async fn settings(g: &Global, cmd: SettingsCommand) -> anyhow::Result<()> {
    let bot = open(g).await?;
    match cmd {
        SettingsCommand::Get { company_id } => {
            let ctx = bot.operator_context(&company_id).await?;
            let s = bot.widget_settings(&ctx).await?;
            print_settings(g, &s)?;
        }
        SettingsCommand::Set { company_id, pairs } => {
            let patch = WidgetSettingsPatch::from_pairs(&pairs)?;
            let ctx = bot.operator_context(&company_id).await?;
            let s = bot.update_widget_settings(&ctx, &patch).await?;
            print_settings(g, &s)?;
        }
    }
    Ok(())
}

fn print_settings(g: &Global, s: &chatbot_core::WidgetSettings) -> anyhow::Result<()> {
    if g.json {
        return print_json(s);
    }
    let v = serde_json::to_value(s)?;
    if let Some(map) = v.as_object() {
        for (k, v) in map {
            let shown = match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            println!("{k:<22} {shown}");
        }
    }
    Ok(())
}

async fn chat(
    g: &Global,
    company_id: &str,
    message: Option<String>,
    session: Option<String>,
) -> anyhow::Result<()> {
    let bot = open(g).await?;
    tracing::info!(target: "chatbot", "components: {}", bot.components_info());
    let ctx = bot.operator_context(company_id).await?;
    if !ctx.company().is_active {
        anyhow::bail!(chatbot_core::Error::Forbidden(format!("company {company_id} is inactive")));
    }
    let info = bot.open_session(&ctx, Some("terminal".into()), session, ClientInfo::default()).await?;
    if let Some(m) = message {
        let input =
            ChatInput { session_id: info.session_id.clone(), message: m, client: ClientInfo::default() };
        if g.json {
            let reply = bot.chat(&ctx, input).await?;
            print_json(&json!({
                "message": reply.message,
                "answered_by": reply.answered_by,
                "sources": reply.sources,
                "session_id": reply.session_id,
                "lead": reply.lead,
            }))?;
        } else {
            stream_reply(&bot, &ctx, input).await?;
        }
        return Ok(());
    }
    let settings = bot.widget_settings(&ctx).await?;
    let stdin = std::io::stdin();
    let interactive = stdin.is_terminal();
    if interactive {
        println!("{} (session {}; Ctrl-D to quit)", settings.welcome_message, info.session_id);
    }
    let mut line = String::new();
    loop {
        if interactive {
            print!("you> ");
            std::io::stdout().flush()?;
        }
        line.clear();
        let n =
            tokio::task::block_in_place(|| stdin.read_line(&mut line)).context("reading standard input")?;
        if n == 0 {
            break;
        }
        let text = line.trim();
        if text.is_empty() {
            continue;
        }
        if matches!(text, "/quit" | "/exit") {
            break;
        }
        let input = ChatInput {
            session_id: info.session_id.clone(),
            message: text.to_string(),
            client: ClientInfo::default(),
        };
        // A fresh context per turn (a context is a snapshot): settings or AI config changed
        // while chatting are seen at the next message.
        let turn = async {
            let ctx = bot.operator_context(company_id).await?;
            stream_reply(&bot, &ctx, input).await
        };
        if let Err(e) = turn.await {
            eprintln!("error: {}", one_line(&e));
        }
    }
    Ok(())
}

async fn stream_reply(
    bot: &Chatbot,
    ctx: &chatbot_core::TenantContext,
    input: ChatInput,
) -> anyhow::Result<()> {
    let mut stream = bot.chat_stream(ctx, input).await?;
    let mut out = std::io::stdout();
    if out.is_terminal() {
        print!("bot> ");
    }
    while let Some(ev) = stream.next().await {
        match ev {
            ChatEvent::Delta(d) => {
                print!("{d}");
                out.flush()?;
            }
            ChatEvent::Done(reply) => {
                println!();
                if !reply.sources.is_empty() && out.is_terminal() {
                    let list: Vec<&str> = reply.sources.iter().map(|s| s.source.as_str()).collect();
                    println!("     [{} | sources: {}]", reply.answered_by.as_str(), list.join(", "));
                }
            }
            ChatEvent::Error(e) => {
                println!();
                return Err(e.into());
            }
        }
    }
    Ok(())
}

async fn leads(g: &Global, cmd: LeadsCommand) -> anyhow::Result<()> {
    let bot = open(g).await?;
    match cmd {
        LeadsCommand::List { company_id, status, ready, csv, limit, offset } => {
            let ctx = bot.operator_context(&company_id).await?;
            let filter = LeadFilter {
                status: status.as_deref().map(LeadStatus::parse).transpose()?,
                ready: ready.then_some(true),
                limit,
                offset,
            };
            let list = bot.list_leads(&ctx, &filter).await?;
            if g.json {
                print_json(&list)?;
            } else if csv {
                let mut out = std::io::stdout().lock();
                writeln!(out, "lead_id,status,is_lead_ready,name,email,phone,message,ai_summary,created_at")?;
                for l in &list {
                    let row = [
                        l.lead_id.as_str(),
                        l.status.as_str(),
                        if l.is_lead_ready { "true" } else { "false" },
                        &l.name,
                        &l.email,
                        &l.phone,
                        &l.message,
                        &l.ai_summary,
                        &l.created_at.to_rfc3339(),
                    ];
                    writeln!(out, "{}", row.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(","))?;
                }
            } else {
                for l in &list {
                    let ready = if l.is_lead_ready { "ready" } else { "not ready" };
                    println!(
                        "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                        l.lead_id,
                        l.status.as_str(),
                        ready,
                        l.name,
                        if l.email.is_empty() { "-" } else { &l.email },
                        if l.phone.is_empty() { "-" } else { &l.phone },
                        l.created_at.to_rfc3339()
                    );
                }
            }
        }
        LeadsCommand::Show { lead_id } => {
            let lead = find_lead(&bot, &lead_id).await?;
            if g.json {
                print_json(&lead)?;
            } else {
                println!(
                    "{} [{}] {} <{}> {}",
                    lead.lead_id,
                    lead.status.as_str(),
                    lead.name,
                    lead.email,
                    lead.phone
                );
                println!("summary: {}", lead.ai_summary);
                for m in &lead.messages {
                    println!("  {:?}: {}", m.role, m.content);
                }
            }
        }
        LeadsCommand::SetStatus { lead_id, status } => {
            let lead = find_lead(&bot, &lead_id).await?;
            let ctx = bot.operator_context(&lead.company_id).await?;
            let updated = bot.set_lead_status(&ctx, &lead_id, LeadStatus::parse(&status)?).await?;
            if g.json {
                print_json(&updated)?;
            } else {
                println!("lead {} is now {}", updated.lead_id, updated.status.as_str());
            }
        }
    }
    Ok(())
}

async fn find_lead(bot: &Chatbot, lead_id: &str) -> anyhow::Result<chatbot_core::lead::Lead> {
    Ok(bot.find_lead_as_operator(lead_id).await?)
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
}
