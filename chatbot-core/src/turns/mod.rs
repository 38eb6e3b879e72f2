//! Turn records: one row per chat turn (both route families and the terminal chat), written
//! beside the conversation's messages when the reply is stored, kept for the company's
//! `ai_config.turn_retention_days`; and the gap report built from them ([`gaps`]).

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::chatbot::{AnsweredBy, Grounding, SourceRef};
use crate::error::{Error, Result};
use crate::feedback::Rating;

pub mod gaps;

/// What the topic guard decided for a turn's message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TurnTopic {
    /// Answered as a question about the business.
    Allowed,
    /// A greeting or small talk.
    Greeting,
    /// The visitor shared contact details or asked to be contacted.
    Contact,
    /// Refused as off-topic.
    OffTopic,
    /// Refused as a prompt-injection attempt.
    Injection,
}

impl TurnTopic {
    /// Every value, in a stable order.
    pub const ALL: [TurnTopic; 5] =
        [Self::Allowed, Self::Greeting, Self::Contact, Self::OffTopic, Self::Injection];

    /// The stored label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allowed => "allowed",
            Self::Greeting => "greeting",
            Self::Contact => "contact",
            Self::OffTopic => "off_topic",
            Self::Injection => "injection",
        }
    }

    /// A stored label.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming `topic` for an unknown label.
    pub fn parse(s: &str) -> Result<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s).ok_or_else(|| Error::invalid("topic", "unknown"))
    }

    /// Whether the topic guard refused the message.
    pub fn refused(self) -> bool {
        matches!(self, Self::OffTopic | Self::Injection)
    }
}

/// Parse a stored `answered_by` label.
pub(crate) fn parse_answered_by(s: &str) -> Result<AnsweredBy> {
    AnsweredBy::ALL
        .into_iter()
        .find(|a| a.as_str() == s)
        .ok_or_else(|| Error::invalid("answered_by", "unknown"))
}

/// One chat turn as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TurnRecord {
    pub company_id: String,
    /// The conversation.
    pub session_id: String,
    /// The reply's message id (what feedback names).
    pub message_id: String,
    /// The visitor's message id.
    pub visitor_message_id: String,
    /// The visitor's message (trimmed).
    pub question: String,
    /// The top retrieval relevance (`None`: nothing retrieved, or retrieval skipped).
    pub top_score: Option<f32>,
    /// The sources retrieved for the answer (none for refusals).
    pub sources: Vec<SourceRef>,
    pub answered_by: AnsweredBy,
    /// The offline answerer stood in for a configured model (failure, timeout, spent budget).
    pub fell_back: bool,
    /// The answer said the knowledge has no information on the question.
    pub no_answer: bool,
    /// The topic guard's decision.
    pub topic: TurnTopic,
    /// The reply's grounding check, as the reply carried it.
    pub grounding: Option<Grounding>,
    /// From the visitor's message to the stored reply.
    pub latency_ms: u64,
    pub prompt_tokens: Option<u32>,
    pub completion_tokens: Option<u32>,
    pub created_at: DateTime<Utc>,
    /// The visitor's rating of the reply: read from the feedback (joined by `message_id`),
    /// never written with the turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<Rating>,
}

/// The most a `since` may reach back (ten years).
pub const MAX_SINCE_DAYS: i64 = 3650;
/// The default window of a gap report.
pub const DEFAULT_SINCE: &str = "7d";

/// [`parse_since`] at the current time.
///
/// # Errors
/// As [`parse_since`].
pub fn parse_since_now(s: &str) -> Result<DateTime<Utc>> {
    parse_since(s, Utc::now())
}

/// Parse a report window: `7d`, `24h`, `30m` (one to seven ASCII digits and one unit) or an
/// RFC 3339 date-time (`2026-01-31T00:00:00Z`) or date (`2026-01-31`, midnight UTC); the moment
/// the window starts. A window reaching further back than [`MAX_SINCE_DAYS`] (longer than any
/// record is kept) starts that far back; a start in the future is now (an empty window).
///
/// # Errors
/// [`Error::Invalid`] naming `since` for anything else (never panics on any input).
pub fn parse_since(s: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>> {
    let bad = |reason: &str| Error::invalid("since", reason.to_string());
    let s = s.trim();
    if s.is_empty() {
        return Err(bad("must not be empty (e.g. 7d, 24h, 30m or an RFC 3339 date)"));
    }
    if s.len() > 40 {
        return Err(bad("too long (e.g. 7d, 24h, 30m or an RFC 3339 date)"));
    }
    let earliest = now - TimeDelta::days(MAX_SINCE_DAYS);
    let relative = ['d', 'h', 'm'].into_iter().find_map(|u| s.strip_suffix(u).map(|n| (n, u)));
    if let Some((digits, unit)) = relative
        && (1..=7).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
    {
        // Seven digits at most: no overflow below.
        let n: i64 = digits.parse().map_err(|_| bad("number too large"))?;
        let minutes = match unit {
            'd' => n * 24 * 60,
            'h' => n * 60,
            _ => n,
        };
        let minutes = minutes.min(MAX_SINCE_DAYS * 24 * 60);
        return Ok(now - TimeDelta::minutes(minutes));
    }
    let at = if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        t.with_timezone(&Utc)
    } else if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        d.and_time(chrono::NaiveTime::MIN).and_utc()
    } else {
        return Err(bad("expected e.g. 7d, 24h, 30m, 2026-01-31 or 2026-01-31T00:00:00Z"));
    };
    Ok(at.clamp(earliest, now))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_accepts_the_documented_forms() {
        let now = DateTime::parse_from_rfc3339("2026-03-10T12:00:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(parse_since("7d", now).unwrap(), now - TimeDelta::days(7));
        assert_eq!(parse_since(" 24h ", now).unwrap(), now - TimeDelta::hours(24));
        assert_eq!(parse_since("30m", now).unwrap(), now - TimeDelta::minutes(30));
        assert_eq!(parse_since("0d", now).unwrap(), now);
        assert_eq!(parse_since("3650d", now).unwrap(), now - TimeDelta::days(3650));
        // Further back than anything is kept: from the oldest day; a future start: now.
        assert_eq!(parse_since("9999999d", now).unwrap(), now - TimeDelta::days(3650));
        assert_eq!(parse_since("1900-01-01", now).unwrap(), now - TimeDelta::days(3650));
        assert_eq!(parse_since("2099-01-01", now).unwrap(), now);
        assert_eq!(
            parse_since("2026-03-01T06:30:00+01:00", now).unwrap(),
            DateTime::parse_from_rfc3339("2026-03-01T05:30:00Z").unwrap().with_timezone(&Utc)
        );
        assert_eq!(
            parse_since("2026-03-01", now).unwrap(),
            DateTime::parse_from_rfc3339("2026-03-01T00:00:00Z").unwrap().with_timezone(&Utc)
        );
    }

    /// The relative form is exactly the published pattern (the date forms are OpenAPI formats).
    #[test]
    fn relative_since_is_the_published_pattern() {
        let re = regex::Regex::new(crate::guard::patterns::SINCE_RELATIVE).unwrap();
        let now = Utc::now();
        for s in [
            "7d",
            "0m",
            "1234567h",
            "12345678d",
            "7w",
            "d",
            "7",
            "-7d",
            "٣d",
            "７d",
            "7dd",
            "07d",
            "9999999m",
        ] {
            assert_eq!(re.is_match(s), parse_since(s, now).is_ok(), "{s:?}");
        }
    }

    #[test]
    fn since_refuses_garbage_without_panicking() {
        let now = Utc::now();
        for bad in [
            "",
            " ",
            "d",
            "7",
            "7w",
            "-7d",
            "+7d",
            "7 d",
            "7D",
            "99999999d",
            "999999999999d",
            "99999999999999999999999999d",
            "١٢d",
            "７d",
            "7d🙂",
            "🙂",
            "2026-02-30",
            "2026-03-01T25:00:00Z",
            "\u{0}",
            "7dd",
            "x".repeat(10_000).as_str(),
        ] {
            match parse_since(bad, now) {
                Err(Error::Invalid { field, .. }) => assert_eq!(field, "since", "{bad:?}"),
                other => panic!("{bad:?} gave {other:?}"),
            }
        }
    }
}
