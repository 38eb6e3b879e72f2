//! Visitors' ratings of bot replies: thumbs up or down with an optional comment, one per reply
//! (a second rating replaces the first), only for replies of the visitor's own conversation;
//! and a visitor's own history, where replies show their ratings.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The most characters a feedback comment may have.
pub(crate) const MAX_COMMENT_CHARS: usize = 2000;

/// A thumbs up or down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Rating {
    Up,
    Down,
}

impl Rating {
    /// Both ratings, in a stable order (the metrics series).
    pub const ALL: [Rating; 2] = [Self::Up, Self::Down];

    /// `up` or `down`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Up => "up",
            Self::Down => "down",
        }
    }

    /// `up` or `down`, exactly.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming `rating` for anything else.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "up" => Ok(Self::Up),
            "down" => Ok(Self::Down),
            _ => Err(Error::invalid("rating", "must be \"up\" or \"down\"")),
        }
    }
}

/// A rating as a visitor sends it, checked (see [`FeedbackInput::new`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedbackInput {
    pub message_id: String,
    pub rating: Rating,
    /// Trimmed; `None` when absent or blank.
    pub comment: Option<String>,
}

impl FeedbackInput {
    /// The most characters a comment may have.
    pub const MAX_COMMENT_CHARS: usize = MAX_COMMENT_CHARS;
    /// What [`crate::Error::NotFound`] names when a rated message is not a reply of the caller's
    /// own conversation (front ends map it to their own "message not found").
    pub const UNKNOWN_MESSAGE: &'static str = crate::chatbot::UNKNOWN_MESSAGE;
}

impl FeedbackInput {
    /// Check a rating: a `message_id` (not empty; any other text is only looked up, and one
    /// that names no reply is "not found"), `rating` `up` or `down`, and an optional comment of
    /// at most [`FeedbackInput::MAX_COMMENT_CHARS`] characters without control characters other than line
    /// breaks and tabs.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the field.
    pub fn new(message_id: &str, rating: &str, comment: Option<&str>) -> Result<Self> {
        if message_id.is_empty() {
            return Err(Error::invalid("message_id", "must not be empty"));
        }
        let rating = Rating::parse(rating)?;
        let comment = match comment.map(str::trim).filter(|c| !c.is_empty()) {
            None => None,
            Some(c) => {
                let n = c.chars().count();
                if n > MAX_COMMENT_CHARS {
                    return Err(Error::invalid(
                        "comment",
                        format!("at most {MAX_COMMENT_CHARS} characters, got {n}"),
                    ));
                }
                // The rule of `guard::patterns::TEXT_NO_CONTROL` (the published pattern).
                if c.chars().any(|ch| ch.is_control() && !matches!(ch, '\n' | '\r' | '\t')) {
                    return Err(Error::invalid("comment", "must not contain control characters"));
                }
                Some(c.to_string())
            }
        };
        Ok(Self { message_id: message_id.to_string(), rating, comment })
    }
}

/// A stored rating of one bot reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Feedback {
    pub company_id: String,
    /// The conversation the reply belongs to.
    pub session_id: String,
    pub message_id: String,
    pub rating: Rating,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// The rated reply's text.
    pub message: String,
    /// The visitor's message the reply answered (empty when there was none before it).
    pub question: String,
    /// When the reply was first rated.
    pub created_at: DateTime<Utc>,
    /// When it was last rated (a second rating replaces the first).
    pub updated_at: DateTime<Utc>,
}

/// What a rating route answers, and what a history item shows of its message's rating.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedbackView {
    pub rating: Rating,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

impl From<&Feedback> for FeedbackView {
    fn from(f: &Feedback) -> Self {
        Self { rating: f.rating, comment: f.comment.clone() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(r: Result<FeedbackInput>) -> String {
        match r {
            Err(Error::Invalid { field, .. }) => field,
            other => format!("not invalid: {other:?}"),
        }
    }

    #[test]
    fn input_is_checked_field_by_field() {
        let ok = FeedbackInput::new("msg_abc", "down", Some("  wrong price \n")).unwrap();
        assert_eq!(ok.message_id, "msg_abc");
        // Any other id is only looked up (and found or not).
        assert_eq!(FeedbackInput::new(" m\u{0}1 ", "up", None).unwrap().message_id, " m\u{0}1 ");
        assert_eq!(ok.rating, Rating::Down);
        assert_eq!(ok.comment.as_deref(), Some("wrong price"));
        assert_eq!(FeedbackInput::new("m1", "up", Some("   ")).unwrap().comment, None);
        assert_eq!(field(FeedbackInput::new("", "up", None)), "message_id");
        for bad in ["UP", "", "thumbs", "up ", "👍"] {
            assert_eq!(field(FeedbackInput::new("m1", bad, None)), "rating", "{bad:?}");
        }
        let at_limit = "é".repeat(MAX_COMMENT_CHARS);
        assert!(FeedbackInput::new("m1", "up", Some(&at_limit)).is_ok());
        let over = "é".repeat(MAX_COMMENT_CHARS + 1);
        assert_eq!(field(FeedbackInput::new("m1", "up", Some(&over))), "comment");
        assert_eq!(field(FeedbackInput::new("m1", "up", Some("a\u{7}b"))), "comment");
        assert!(FeedbackInput::new("m1", "up", Some("line\r\nnext\tcol")).is_ok());
    }

    #[test]
    fn the_comment_rule_is_the_published_pattern() {
        let re = regex::Regex::new(crate::guard::patterns::TEXT_NO_CONTROL).unwrap();
        for ch in (0u32..0x200).chain([0x2028, 0xFEFF, 0x1F600]).filter_map(char::from_u32) {
            let text = format!("a{ch}b");
            assert_eq!(
                FeedbackInput::new("m1", "up", Some(&text)).is_ok(),
                re.is_match(&text),
                "U+{:04X}",
                ch as u32
            );
        }
    }

    #[test]
    fn ratings_round_trip() {
        for r in Rating::ALL {
            assert_eq!(Rating::parse(r.as_str()).unwrap(), r);
            assert_eq!(serde_json::to_value(r).unwrap(), serde_json::json!(r.as_str()));
        }
    }
}
