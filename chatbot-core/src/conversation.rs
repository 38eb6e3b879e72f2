//! Sessions, conversations (`chat_conversations`) and messages.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Assistant,
    System,
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: String,
    pub timestamp: DateTime<Utc>,
}

impl Message {
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Self { role, content: content.into(), timestamp: Utc::now() }
    }
}

/// A chat session: an unguessable token bound to one company, with an expiry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// The session token (`sess_...`, 256 random bits). Valid only for `company_id`.
    pub session_id: String,
    pub company_id: String,
    pub user_id: String,
    pub lead_id: Option<String>,
    pub client_ip: Option<String>,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}

impl Session {
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        now >= self.expires_at
    }
}

/// One row of `chat_conversations`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conversation {
    pub id: i64,
    pub company_id: String,
    pub user_id: String,
    pub session_id: String,
    pub messages: Vec<Message>,
    pub metadata: Option<serde_json::Value>,
    pub last_activity_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Rough token count (about four characters a token), used to window history without a
/// tokenizer on the hot path.
pub fn approx_tokens(text: &str) -> usize {
    text.chars().count().div_ceil(4) + 1
}

/// The most recent messages whose estimated tokens fit in `budget`, oldest first.
pub fn history_window(messages: &[Message], budget: usize) -> &[Message] {
    let mut used = 0usize;
    let mut start = messages.len();
    for (i, m) in messages.iter().enumerate().rev() {
        let t = approx_tokens(&m.content) + 4;
        if used + t > budget {
            break;
        }
        used += t;
        start = i;
    }
    &messages[start..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_keeps_most_recent_within_budget() {
        let msgs: Vec<Message> = (0..10).map(|i| Message::new(Role::User, "x".repeat(40 + i))).collect();
        let w = history_window(&msgs, 50);
        assert!(!w.is_empty() && w.len() < 10);
        assert_eq!(w.last(), msgs.last());
        assert!(history_window(&msgs, 0).is_empty());
        assert_eq!(history_window(&msgs, 100_000).len(), 10);
    }
}
