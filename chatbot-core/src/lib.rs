//! # chatbot-core
//!
//! The library behind multi-tenant website chat widgets that answer from each partner's own
//! knowledge and turn visitors into leads. Every rule lives here; the server and the CLI only
//! translate.
//!
//! ```no_run
//! # async fn demo() -> chatbot_core::Result<()> {
//! use chatbot_core::{Chatbot, Config};
//! let bot = Chatbot::from_config(Config::default()).await?;
//! let ctx = bot.public_context("123").await?;
//! let reply = bot.partner_chat(&ctx, chatbot_core::PartnerChat::new("Do you ship abroad?")).await?;
//! println!("{} ({:?})", reply.message, reply.answered_by);
//! # Ok(()) }
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod auth;
mod cache;
mod chatbot;
mod config;
mod conversation;
mod curated;
mod demo;
mod error;
mod feedback;
pub mod guard;
pub mod ingest;
pub mod lead;
pub mod llm;
mod metrics;
mod net;
pub mod providers;
pub mod rag;
pub mod store;
mod tenant;
mod text;
mod turns;

pub use chatbot::{
    AiConfigPatch, AnsweredBy, Answers, ChatEvent, ChatInput, ChatReply, Chatbot, ChatbotBuilder, ClientInfo,
    Grounding, HistoryItem, HistoryMessage, Knowledge, Leads, PartnerChat, RatedMessage, SessionInfo,
};
pub use config::Config;
pub use conversation::{Conversation, Message, Page, Role};
pub use curated::{CuratedAnswer, CuratedInput, CuratedMatch, CuratedPatch};
pub use demo::{DEMO_COMPANY_ID, DemoSeed};
pub use error::{Error, Result};
pub use feedback::{Feedback, FeedbackInput, FeedbackView, Rating};
pub use metrics::Metrics;
pub use tenant::{
    AiConfig, ClientType, Company, CompanyPatch, GroundingMode, NewCompany, Position, TenantContext,
    WidgetSettings, WidgetSettingsPatch,
};
pub use turns::gaps::{GapGroup, GapKind, GapReport};
pub use turns::{TurnRecord, TurnTopic};
