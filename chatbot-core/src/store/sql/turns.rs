//! [`TurnStore`] for every SQL backend, and the row decoder of `chat_turns`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{Arg, Columns, FromColumns, Read, SqlBackend, Write, json, text};
use crate::chatbot::Grounding;
use crate::error::{Error, Result};
use crate::feedback::Rating;
use crate::store::traits::TurnStore;
use crate::turns::{TurnRecord, TurnTopic, parse_answered_by};

#[async_trait]
impl<B: SqlBackend> TurnStore for B {
    async fn record_turn(&self, t: &TurnRecord) -> Result<()> {
        self.write(record_stmt(t)?).await.map(|_| ())
    }

    async fn list_turns(
        &self,
        company_id: &str,
        since: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<TurnRecord>> {
        self.read_all(Read::new(text::LIST_TURNS).bind(company_id).bind(since).bind(Arg::Limit(limit))).await
    }

    async fn purge_turns(&self, company_id: Option<&str>, before: DateTime<Utc>) -> Result<u64> {
        let q = match company_id {
            Some(cid) => Write::new(text::PURGE_COMPANY_TURNS).bind(cid).bind(before),
            None => Write::new(text::PURGE_ALL_TURNS).bind(before),
        };
        self.write(q).await
    }
}

/// The turn record's upsert ([`text::RECORD_TURN`]'s `$1`-`$17`): `$1` company, `$2` session,
/// `$3` message id, then the record's other columns.
pub(crate) fn record_stmt(t: &TurnRecord) -> Result<Write<'_>> {
    Ok(Write::new(text::RECORD_TURN)
        .bind(&t.company_id)
        .bind(&t.session_id)
        .bind(&t.message_id)
        .bind(&t.visitor_message_id)
        .bind(&t.question)
        .bind(t.top_score.filter(|s| s.is_finite()).map(f64::from))
        .bind_all([json(Some(&t.sources))?])
        .bind(t.answered_by.as_str())
        .bind(t.fell_back)
        .bind(t.no_answer)
        .bind(t.topic.as_str())
        .bind(t.grounding.map(|g| i64::from(g.supported)))
        .bind(t.grounding.map(|g| i64::from(g.unsupported)))
        .bind(i64::try_from(t.latency_ms).unwrap_or(i64::MAX))
        .bind(t.prompt_tokens.map(i64::from))
        .bind(t.completion_tokens.map(i64::from))
        .bind(t.created_at))
}

/// A stored count as `u32` (a negative or oversized one is a storage error).
fn count(v: Option<i64>, col: &str) -> Result<Option<u32>> {
    v.map(|n| u32::try_from(n).map_err(|_| Error::Storage(format!("chat_turns.{col} out of range: {n}"))))
        .transpose()
}

impl FromColumns for TurnRecord {
    fn from_columns<R: Columns>(r: &R) -> Result<Self> {
        let storage = |col: &'static str| move |e: Error| Error::Storage(format!("chat_turns.{col}: {e}"));
        let grounding = match (
            count(r.int_opt("grounding_supported")?, "grounding_supported")?,
            count(r.int_opt("grounding_unsupported")?, "grounding_unsupported")?,
        ) {
            (Some(supported), Some(unsupported)) => Some(Grounding { supported, unsupported }),
            _ => None,
        };
        Ok(TurnRecord {
            company_id: r.text("company_id")?,
            session_id: r.text("session_id")?,
            message_id: r.text("message_id")?,
            visitor_message_id: r.text("visitor_message_id")?,
            question: r.text("question")?,
            #[allow(clippy::cast_possible_truncation)]
            top_score: r.float_opt("top_score")?.map(|s| s as f32),
            sources: r.json("sources")?.unwrap_or_default(),
            answered_by: parse_answered_by(&r.text("answered_by")?).map_err(storage("answered_by"))?,
            fell_back: r.flag("fell_back")?,
            no_answer: r.flag("no_answer")?,
            topic: TurnTopic::parse(&r.text("topic")?).map_err(storage("topic"))?,
            grounding,
            latency_ms: u64::try_from(r.int("latency_ms")?).unwrap_or(0),
            prompt_tokens: count(r.int_opt("prompt_tokens")?, "prompt_tokens")?,
            completion_tokens: count(r.int_opt("completion_tokens")?, "completion_tokens")?,
            created_at: r.time("created_at")?,
            rating: r
                .text_opt("rating")?
                .map(|s| Rating::parse(&s))
                .transpose()
                .map_err(storage("rating"))?,
        })
    }
}
