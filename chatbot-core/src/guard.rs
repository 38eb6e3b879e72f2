//! Guards: rate limits (per session, per client IP, new conversations per company), topic
//! enforcement, the screening of a client's `history`, and the grounding check of a model's
//! answer. Message size limits are checked by the engine (`Config::max_message_chars`).

mod grounding;
mod history;
mod rate;
mod topic;
mod topic_evidence;
mod topic_patterns;

pub use grounding::{
    ANCHOR_BONUS, DENSE_WEIGHT, GroundingCheck, GroundingReport, LEXICAL_MIN, MIXED_MIN, Reason,
    SentenceCheck, Verdict, grounded_by_construction, strict_text,
};
pub use history::{MAX_HISTORY_CHARS, MAX_HISTORY_ITEMS, screen_history};
pub use rate::{
    DEFAULT_AUTH_FAILURES_PER_MINUTE, DEFAULT_NEW_CONVERSATIONS_PER_MINUTE, DEFAULT_PER_IP,
    DEFAULT_PER_SESSION, LimitKey, RateLimiter, client_ip, gcra_micros, parse_trusted_proxies, shared_wait,
};
pub use topic::{
    STRONG_RELEVANCE, TopicDecision, WEAK_RELEVANCE, classify_topic, injection_reason,
    mentions_allowed_topic, refusal_message,
};

/// Re-exported so front ends can hold parsed `CHATBOT_TRUSTED_PROXIES` without naming the crate.
pub use ipnet::IpNet;

/// The text rules of the public API as regular expressions (what `docs/openapi.yaml` publishes).
pub use crate::tenant::patterns;
