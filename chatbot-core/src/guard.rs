//! Guards: rate limits (per session, per client IP), topic enforcement, input limits.
//! (Interface; the rules are filled by the guards work.)

use std::net::IpAddr;

use crate::error::Result;

/// Default chat requests per minute per session.
pub const DEFAULT_PER_SESSION: u32 = 20;
/// Default requests per minute per client IP (chat and session creation).
pub const DEFAULT_PER_IP: u32 = 60;

/// Rate limiter state shared by every front end.
#[derive(Default)]
pub struct RateLimiter {}

impl RateLimiter {
    pub fn new() -> Self {
        Self {}
    }

    /// # Errors
    /// [`crate::Error::RateLimited`] with the wait.
    pub fn check_ip(&self, _company_id: &str, _ip: IpAddr, _per_minute: u32) -> Result<()> {
        Ok(())
    }

    /// # Errors
    /// [`crate::Error::RateLimited`] with the wait.
    pub fn check_session(&self, _company_id: &str, _session_id: &str, _per_minute: u32) -> Result<()> {
        Ok(())
    }
}

/// What topic enforcement decided for a message, before any model call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopicDecision {
    /// Answer normally.
    Allow,
    /// A greeting or small talk: answer briefly, no refusal.
    Greeting,
    /// The visitor shares contact details or asks to be contacted.
    Contact,
    /// Off-topic or an injection attempt: refuse politely.
    Refuse { reason: String },
}

/// Decide before the model call. `best_score` is the top retrieval similarity (None: no hits).
pub fn classify_topic(_message: &str, _best_score: Option<f32>, _allowed_topics: &[String]) -> TopicDecision {
    TopicDecision::Allow
}

/// A short polite refusal that steers back to the company's business.
pub fn refusal_message(company_name: &str) -> String {
    format!(
        "I'm sorry, I can only help with questions about {company_name}. Is there anything about our products or services I can help you with?"
    )
}
