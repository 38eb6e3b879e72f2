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

/// CPU time (user + system) of this process so far, from /proc (Linux; None elsewhere). Under
/// a shared machine's load this is steadier than wall-clock throughput.
fn process_cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async {
        let dir = tempfile::tempdir()?;
        let bot = Chatbot::from_config(Config::offline(dir.path().to_path_buf())).await?;
        bot.seed_demo().await?;
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
        // Throughput: 64 concurrent visitors, each turn a new one (a lead and a conversation
        // created, four writes), for a few seconds on the multi-threaded runtime.
        let secs = std::env::var("CHAT_LOAD_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(5u64);
        let deadline = Instant::now() + Duration::from_secs(secs);
        let counter = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let started = Instant::now();
        let cpu0 = process_cpu_secs();
        let mut tasks = Vec::new();
        for t in 0..64u64 {
            let (bot, ctx, counter) = (bot.clone(), ctx.clone(), counter.clone());
            tasks.push(tokio::spawn(async move {
                let mut lat = Vec::new();
                let mut i = 0u64;
                while Instant::now() < deadline {
                    let input = PartnerChat {
                        user_id: Some(format!("load-{t}-{i}")),
                        ..PartnerChat::new(QUESTIONS[(i as usize) % QUESTIONS.len()])
                    };
                    let s = Instant::now();
                    bot.partner_chat(&ctx, input).await.map_err(|e| e.to_string())?;
                    lat.push(s.elapsed());
                    counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    i += 1;
                }
                Ok::<_, String>(lat)
            }));
        }
        let mut lat = Vec::new();
        for t in tasks {
            lat.extend(t.await??);
        }
        let elapsed = started.elapsed().as_secs_f64();
        let cpu = process_cpu_secs().zip(cpu0).map(|(b, a)| b - a);
        let done = counter.load(std::sync::atomic::Ordering::Relaxed);
        let (l50, l99) = stats(lat);
        println!(
            "partner_chat load (64 concurrent new visitors, {secs} s): {:.0} turns/s, median {l50:.2} ms, p99 {l99:.2} ms, CPU {} per turn",
            done as f64 / elapsed,
            cpu.map_or("n/a".to_string(), |c| format!("{:.3} ms", c * 1000.0 / done.max(1) as f64))
        );

        let (p50, p99) = stats(partner);
        println!("partner_chat turn (offline defaults, {n} turns): median {p50:.2} ms, p99 {p99:.2} ms");
        let count = session.len();
        let (p50, p99) = stats(session);
        println!("session chat turn (offline defaults, {count} turns): median {p50:.2} ms, p99 {p99:.2} ms");
        Ok::<_, Box<dyn std::error::Error>>(())
    })
}
