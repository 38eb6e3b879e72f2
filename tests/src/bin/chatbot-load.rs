//! `chatbot-load`: the client of `bench/load/run.sh`. Runs every session of every company at
//! once against a running server over the session routes, then reads everything back with the
//! operator token and checks it ([`chatbot_tests::load`]). Prints the figures; exits 1 on any
//! error, lost, duplicated or misplaced message.

use chatbot_tests::load::{self, Plan, quantile};
use clap::Parser;

#[derive(Parser, Debug)]
#[command(name = "chatbot-load", about = "Concurrent sessions across companies, then an isolation check")]
struct Args {
    /// Server base URL, e.g. http://127.0.0.1:8080.
    #[arg(long)]
    base: String,
    /// The operator token (reads the stored conversations and leads back).
    #[arg(long, env = "CHATBOT_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: String,
    /// A company and its publishable key, as COMPANY=PK (repeat).
    #[arg(long = "tenant", value_parser = parse_tenant, required = true)]
    tenants: Vec<(String, String)>,
    /// Concurrent sessions per company.
    #[arg(long, default_value_t = 100)]
    sessions: usize,
    /// Messages per session (sent one after another).
    #[arg(long, default_value_t = 10)]
    messages: usize,
}

fn parse_tenant(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(c, k)| (c.to_string(), k.to_string()))
        .filter(|(c, k)| !c.is_empty() && !k.is_empty())
        .ok_or_else(|| "expected COMPANY=PUBLISHABLE_KEY".to_string())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let a = Args::parse();
    let plan = Plan {
        base: a.base.trim_end_matches('/').to_string(),
        admin_token: a.admin_token,
        tenants: a.tenants,
        sessions_per_company: a.sessions,
        messages_per_session: a.messages,
    };
    let companies = plan.tenants.len();
    let sessions = companies * plan.sessions_per_company;
    let chats = sessions * plan.messages_per_session;
    println!(
        "plan: {sessions} concurrent sessions ({companies} companies x {}), {} messages each",
        plan.sessions_per_company, plan.messages_per_session
    );
    let o = load::run(&plan).await;
    println!(
        "requests: {} ({} session + {} chat) in {:.2} s",
        o.requests(),
        o.session_ms.len(),
        o.chat_ms.len(),
        o.elapsed.as_secs_f64()
    );
    println!("requests_per_sec: {:.0}", o.requests_per_sec());
    println!(
        "chat_latency_ms: p50 {:.1} p99 {:.1} max {:.1}",
        quantile(&o.chat_ms, 0.5),
        quantile(&o.chat_ms, 0.99),
        quantile(&o.chat_ms, 1.0)
    );
    println!(
        "session_latency_ms: p50 {:.1} p99 {:.1}",
        quantile(&o.session_ms, 0.5),
        quantile(&o.session_ms, 0.99)
    );
    println!("errors: {}", o.errors.len());
    for e in o.errors.iter().take(10) {
        println!("  error: {e}");
    }
    let c = load::verify(&plan, &o).await;
    println!(
        "stored: conversations {} (want {sessions}), user messages {} (want {chats}), replies {} (want {chats}), leads {} (want {sessions})",
        c.conversations, c.user_messages, c.replies, c.leads
    );
    println!("problems (lost, duplicated, misplaced): {}", c.problems.len());
    for p in c.problems.iter().take(10) {
        println!("  problem: {p}");
    }
    let counts_ok =
        c.conversations == sessions && c.user_messages == chats && c.replies == chats && c.leads == sessions;
    if o.errors.is_empty() && c.problems.is_empty() && counts_ok {
        println!("result: PASS");
        std::process::ExitCode::SUCCESS
    } else {
        println!("result: FAIL");
        std::process::ExitCode::FAILURE
    }
}
