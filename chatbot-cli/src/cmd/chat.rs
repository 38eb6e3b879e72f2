//! `chatbot chat`: chat with a company's bot in the terminal, streaming the reply; one message
//! with `--message`, else a conversation read line by line from standard input.

use std::io::{IsTerminal as _, Write as _};

use anyhow::Context as _;
use chatbot_core::{ChatEvent, ChatInput, Chatbot, ClientInfo, TenantContext};
use clap::Args;
use futures::StreamExt as _;
use serde_json::json;

use super::{open, print_json};
use crate::{Global, one_line};

#[derive(Args, Debug)]
pub(crate) struct ChatArgs {
    /// Company id.
    company_id: String,
    /// Send one message and exit (with --json: {"message","answered_by","sources","grounding",...}).
    #[arg(long, short)]
    message: Option<String>,
    /// Resume this session instead of starting one.
    #[arg(long)]
    session: Option<String>,
}

/// # Errors
/// Unknown or inactive company, unknown session, chat failures (one message), reading stdin.
pub(crate) async fn run(g: &Global, args: ChatArgs) -> anyhow::Result<()> {
    let ChatArgs { company_id, message, session } = args;
    let bot = open(g).await?;
    tracing::info!(target: "chatbot", "components: {}", bot.components_info());
    let ctx = bot.active_operator_context(&company_id).await?;
    let info = bot.open_session(&ctx, Some("terminal".into()), session, ClientInfo::default()).await?;
    if let Some(m) = message {
        let input =
            ChatInput { session_id: info.session_id.clone(), message: m, client: ClientInfo::default() };
        if g.json {
            let reply = bot.chat(&ctx, input).await?;
            print_json(&json!({
                "message": reply.message,
                "message_id": reply.message_id,
                "answered_by": reply.answered_by,
                "sources": reply.sources,
                "session_id": reply.session_id,
                "lead": reply.lead,
                "grounding": reply.grounding,
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
            let ctx = bot.operator_context(&company_id).await?;
            stream_reply(&bot, &ctx, input).await
        };
        if let Err(e) = turn.await {
            eprintln!("error: {}", one_line(&e));
        }
    }
    Ok(())
}

/// Print the reply as it streams; on a terminal, then the sources it came from.
async fn stream_reply(bot: &Chatbot, ctx: &TenantContext, input: ChatInput) -> anyhow::Result<()> {
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
