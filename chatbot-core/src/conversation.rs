//! Sessions, conversations (`chat_conversations`) and messages.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Assistant,
    System,
}

/// A source a reply used (a page or document of the company's knowledge).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceRef {
    pub source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub score: f32,
}

/// What a message id starts with.
pub const MESSAGE_ID_PREFIX: &str = "msg_";

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// The message's id (`msg_` + 128 random bits as 32 hex digits). Messages stored before messages had ids
    /// have none; they are addressed by their position (see [`Message::id_at`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub role: Role,
    pub content: String,
    pub timestamp: DateTime<Utc>,
    /// The sources a reply was answered from (stored with the reply, shown with its history).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<SourceRef>,
}

impl Message {
    /// A new message with a fresh id.
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Self {
            // Hex: no character a client or a log scanner could take for punctuation.
            id: Some(format!("{MESSAGE_ID_PREFIX}{}", hex::encode(rand::random::<[u8; 16]>()))),
            role,
            content: content.into(),
            timestamp: Utc::now(),
            sources: Vec::new(),
        }
    }

    /// The message's id as clients see it, given its position in its conversation: its own id,
    /// or for a message stored before messages had ids, `m` and its position (never the shape
    /// of a generated id, so the two cannot meet).
    pub fn id_at(&self, position: usize) -> String {
        self.id.clone().unwrap_or_else(|| format!("m{position}"))
    }
}

/// The message of `messages` whose id (as [`Message::id_at`] gives it) is `id`, with its position.
pub fn find_message<'a>(messages: &'a [Message], id: &str) -> Option<(usize, &'a Message)> {
    messages.iter().enumerate().find(|(i, m)| match &m.id {
        Some(own) => own == id,
        None => id == format!("m{i}"),
    })
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

/// What the conversation id of a partner-chat user signed by the integrator's backend starts
/// with (an unsigned visitor's conversation gets a random id instead).
pub const PARTNER_SESSION_PREFIX: &str = "pc_";

/// The conversation id of a signed partner-chat user (`pc_` + the user id).
pub fn partner_session_id(user_id: &str) -> String {
    format!("{PARTNER_SESSION_PREFIX}{user_id}")
}

/// One page of a listing (leads, conversations): how many rows and how many to skip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    pub limit: u32,
    pub offset: u32,
}

impl Default for Page {
    fn default() -> Self {
        Self { limit: Self::DEFAULT_LIMIT, offset: 0 }
    }
}

impl Page {
    /// Rows a page has when the caller does not say.
    pub const DEFAULT_LIMIT: u32 = 50;
    /// The most rows one page may have.
    pub const MAX_LIMIT: u32 = 500;

    /// A page from what the caller asked for: `None` takes the default; the limit must be from
    /// 1 to [`Page::MAX_LIMIT`].
    ///
    /// # Errors
    /// [`Error::Invalid`] naming `limit` when it is 0 or above the maximum.
    pub fn new(limit: Option<u32>, offset: Option<u32>) -> Result<Self> {
        let limit = limit.unwrap_or(Self::DEFAULT_LIMIT);
        if limit == 0 || limit > Self::MAX_LIMIT {
            return Err(Error::invalid("limit", format!("must be between 1 and {}", Self::MAX_LIMIT)));
        }
        Ok(Self { limit, offset: offset.unwrap_or(0) })
    }

    /// The page with its limit forced into 1..=[`Page::MAX_LIMIT`] (for callers that already
    /// validated, so a stray value never reaches the store).
    #[must_use]
    pub fn clamped(self) -> Self {
        Self { limit: self.limit.clamp(1, Self::MAX_LIMIT), offset: self.offset }
    }
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

    #[test]
    fn message_ids_are_unique_and_legacy_messages_are_found_by_position() {
        let a = Message::new(Role::User, "hi");
        let b = Message::new(Role::Assistant, "hello");
        let (ida, idb) = (a.id.clone().unwrap(), b.id.clone().unwrap());
        assert!(ida.starts_with(MESSAGE_ID_PREFIX) && ida.len() == 4 + 32, "{ida}");
        assert!(ida[4..].bytes().all(|b| b.is_ascii_hexdigit()), "{ida}");
        assert_ne!(ida, idb);
        // A message stored before ids existed (no `id` in its JSON).
        let legacy: Message = serde_json::from_str(
            r#"{"role":"assistant","content":"old","timestamp":"2024-01-01T00:00:00Z"}"#,
        )
        .unwrap();
        assert_eq!((legacy.id.as_deref(), legacy.sources.len()), (None, 0));
        let msgs = vec![a.clone(), legacy.clone(), b.clone()];
        assert_eq!(msgs[1].id_at(1), "m1");
        assert_eq!(find_message(&msgs, "m1").map(|(i, m)| (i, m.content.as_str())), Some((1, "old")));
        assert_eq!(find_message(&msgs, &idb).map(|(i, _)| i), Some(2));
        for miss in ["m0", "m2", "m01", "m+1", "m", "", "msg_nope", "m1 "] {
            assert!(find_message(&msgs, miss).is_none(), "{miss:?}");
        }
        // Without sources or id, the stored JSON keeps its old shape.
        let json = serde_json::to_value(&legacy).unwrap();
        assert_eq!(json.as_object().unwrap().len(), 3, "{json}");
    }

    #[test]
    fn partner_ids() {
        assert_eq!(partner_session_id("jane doe/ü"), "pc_jane doe/ü");
    }

    #[test]
    fn pages_default_and_validate() {
        assert_eq!(Page::new(None, None).ok(), Some(Page { limit: 50, offset: 0 }));
        assert_eq!(Page::new(Some(500), Some(7)).ok(), Some(Page { limit: 500, offset: 7 }));
        for bad in [0, 501] {
            match Page::new(Some(bad), None) {
                Err(Error::Invalid { field, .. }) => assert_eq!(field, "limit"),
                other => panic!("expected an invalid limit, got {other:?}"),
            }
        }
        assert_eq!(Page { limit: 0, offset: 3 }.clamped(), Page { limit: 1, offset: 3 });
        assert_eq!(Page { limit: 9_999, offset: 0 }.clamped().limit, 500);
    }
}
