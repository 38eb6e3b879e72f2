//! The chat turn's own overhead with the embedded defaults (SQLite, local index, offline embedder,
//! extractive answerer): everything a turn does except a remote model call. Prints the median and
//! p99 of `partner_chat` and of the `chat` session route over the demo company.
//!
//! `cargo bench -p chatbot-core --bench chat_turn`

use std::time::{Duration, Instant};

use chatbot_core::{ChatInput, Chatbot, ClientInfo, Config, PartnerChat};

const QUESTIONS: &[&str] = &[
    "What are your opening hours?",
    "Do you ship to Germany?",
    "How do I return an item?",
    "How much is the stoneware mug?",
    "Can I pay with PayPal?",
    "Hello, I need help with my order",
];

fn stats(mut v: Vec<Duration>) -> (f64, f64) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    (ms(v[v.len() / 2]), ms(v[(v.len() * 99 / 100).min(v.len() - 1)]))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async {
        let dir = tempfile::tempdir()?;
        let bot = Chatbot::from_config(Config::offline(dir.path().to_path_buf())).await?;
        chatbot_core::demo::seed(&bot).await?;
        let ctx = bot.public_context("123").await?;
        let n = 400;
        // Warm up caches and prepared statements.
        for q in QUESTIONS {
            bot.partner_chat(&ctx, PartnerChat::new(*q)).await?;
        }
        let mut partner = Vec::with_capacity(n);
        for i in 0..n {
            let input = PartnerChat {
                user_id: Some(format!("bench-{}", i % 50)),
                ..PartnerChat::new(QUESTIONS[i % QUESTIONS.len()])
            };
            let t = Instant::now();
            bot.partner_chat(&ctx, input).await?;
            partner.push(t.elapsed());
        }
        let mut session = Vec::with_capacity(n);
        let mut sessions = Vec::new();
        for _ in 0..50 {
            sessions.push(bot.open_session(&ctx, None, None, ClientInfo::default()).await?.session_id);
        }
        for i in 0..n {
            let input = ChatInput {
                session_id: sessions[i % sessions.len()].clone(),
                message: QUESTIONS[i % QUESTIONS.len()].to_string(),
                client: ClientInfo::default(),
            };
            let t = Instant::now();
            // The session route's per-session rate limit (20/min) is part of the turn; space the
            // 50 sessions so none is limited.
            match bot.chat(&ctx, input).await {
                Ok(_) => session.push(t.elapsed()),
                Err(chatbot_core::Error::RateLimited { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let (p50, p99) = stats(partner);
        println!("partner_chat turn (offline defaults, {n} turns): median {p50:.2} ms, p99 {p99:.2} ms");
        let count = session.len();
        let (p50, p99) = stats(session);
        println!("session chat turn (offline defaults, {count} turns): median {p50:.2} ms, p99 {p99:.2} ms");
        Ok::<_, Box<dyn std::error::Error>>(())
    })
}
