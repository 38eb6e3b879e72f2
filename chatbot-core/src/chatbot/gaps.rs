//! Turn records and the gap report: every chat turn is recorded when its reply is stored (a
//! failure is logged and counted, never the turn's failure); records older than the company's
//! `ai_config.turn_retention_days` are purged in the background; [`Chatbot::gaps`] groups the
//! turns the bot handled badly.

use std::sync::atomic::Ordering;
use std::time::Instant;

use chrono::{DateTime, TimeDelta, Utc};
use tracing::{info, warn};

use crate::conversation::Message;
use crate::curated::{CuratedAnswer, CuratedInput};
use crate::error::Result;
use crate::guard::TopicDecision;
use crate::tenant::TenantContext;
use crate::text::{FixedText, Lang, fixed_text};
use crate::turns::gaps::{self, GapReport, MAX_GROUPS, MAX_TURNS_SCANNED};
use crate::turns::{TurnRecord, TurnTopic};

use super::Chatbot;
use super::types::{AnsweredBy, ChatReply};

/// Turn records are purged at most this often per instance (on the first turn after it passed).
const PURGE_TURNS_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// What the chat turn knows of itself before its reply is built (see [`Chatbot::save_reply`]).
pub(super) struct TurnFacts {
    pub(super) started: Instant,
    pub(super) visitor_message_id: String,
    pub(super) question: String,
    pub(super) top_score: Option<f32>,
    pub(super) topic: TurnTopic,
    pub(super) fell_back: bool,
    pub(super) no_answer: bool,
}

impl TurnFacts {
    /// The topic guard's decision as recorded (`injection`: the injection check matched).
    pub(super) fn topic(decision: &TopicDecision, injection: bool) -> TurnTopic {
        match decision {
            TopicDecision::Refuse { .. } if injection => TurnTopic::Injection,
            TopicDecision::Refuse { reason } if reason.starts_with("prompt injection") => {
                TurnTopic::Injection
            }
            TopicDecision::Refuse { .. } => TurnTopic::OffTopic,
            TopicDecision::Greeting => TurnTopic::Greeting,
            TopicDecision::Contact => TurnTopic::Contact,
            TopicDecision::Allow => TurnTopic::Allowed,
        }
    }

    /// Whether the reply `text` begins with a "could not find that" answer: the extractive
    /// answerer's (in the question's language) or the turn's own (in the visitor's `lang`).
    pub(super) fn no_answer(text: &str, question: &str, company_name: &str, lang: Option<Lang>) -> bool {
        crate::llm::extractive::says_no_information(text, question, company_name)
            || text.starts_with(&fixed_text(lang, FixedText::NoInformation, company_name, ""))
    }

    /// Whether `answered_by` is the offline answerer standing in for a generative model.
    pub(super) fn fell_back(bot: &Chatbot, answered_by: AnsweredBy) -> bool {
        answered_by == AnsweredBy::Fallback && bot.model().capabilities().generative
    }
}

impl Chatbot {
    /// Store the reply with its turn record, in one write. The record never fails the turn:
    /// when the write with it fails, the reply is stored alone and the lost record is logged and
    /// counted (`chatbot_turn_record_failures`); only a reply that cannot be stored is an error.
    ///
    /// # Errors
    /// As [`crate::store::ConversationStore::append_messages`].
    pub(super) async fn save_reply(
        &self,
        ctx: &TenantContext,
        reply_msg: &Message,
        facts: TurnFacts,
        reply: &ChatReply,
    ) -> Result<()> {
        let rec = TurnRecord {
            company_id: ctx.company_id().to_string(),
            session_id: reply.session_id.clone(),
            message_id: reply.message_id.clone(),
            visitor_message_id: facts.visitor_message_id,
            question: facts.question,
            top_score: facts.top_score.filter(|s| s.is_finite()),
            sources: reply.sources.clone(),
            answered_by: reply.answered_by,
            fell_back: facts.fell_back,
            no_answer: facts.no_answer,
            topic: facts.topic,
            grounding: reply.grounding,
            latency_ms: u64::try_from(facts.started.elapsed().as_millis()).unwrap_or(u64::MAX),
            prompt_tokens: reply.usage.map(|u| u.prompt_tokens),
            completion_tokens: reply.usage.map(|u| u.completion_tokens),
            created_at: Utc::now(),
            rating: None,
        };
        let store = self.store();
        let reply_slice = std::slice::from_ref(reply_msg);
        if let Err(e) = store.append_with_turn(&rec.company_id, &rec.session_id, reply_slice, &rec).await {
            store.append_messages(&rec.company_id, &rec.session_id, reply_slice).await?;
            self.inner.metrics.turn_record_failures.inc();
            warn!(company = rec.company_id, error = %e, "could not record the chat turn; the reply was stored");
        }
        self.purge_turns_when_due();
        Ok(())
    }

    /// Start a purge of old turn records in the background when the last one is
    /// [`PURGE_TURNS_EVERY`] old (one atomic read on the hot path otherwise).
    fn purge_turns_when_due(&self) {
        let now = self.inner.started.elapsed().as_secs();
        let last = self.inner.last_turn_purge.load(Ordering::Relaxed);
        // The first purge waits a minute after start (a short-lived command never purges, and a
        // purge never races the first turns of a process), then one every PURGE_TURNS_EVERY.
        let due = if last == 0 { now >= 60 } else { now.saturating_sub(last) >= PURGE_TURNS_EVERY.as_secs() };
        if !due {
            return;
        }
        // One caller wins the slot; the stamp is at least 1, so 0 means "never".
        if self
            .inner
            .last_turn_purge
            .compare_exchange(last, now.max(1), Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
        {
            return;
        }
        let bot = self.clone();
        tokio::spawn(async move {
            if let Err(e) = bot.purge_old_turns().await {
                warn!(error = %e, "purging old turn records failed");
            }
        });
    }

    /// Delete the turn records each company keeps no longer (older than its
    /// `ai_config.turn_retention_days`); how many. One statement per company: the retention
    /// lives in each company's `ai_config` JSON, which SQL cannot read alike on both databases,
    /// and companies are few next to turns. Runs by itself at most hourly while turns are
    /// recorded; operators can run it too (`chatbot db purge-turns`).
    ///
    /// # Errors
    /// Storage failures (companies purged before the failure stay purged).
    pub async fn purge_old_turns(&self) -> Result<u64> {
        let now = Utc::now();
        let mut n = 0;
        for c in self.store().list_companies().await? {
            let days = i64::from(c.ai_config.turn_retention_days());
            let before = now.checked_sub_signed(TimeDelta::days(days)).unwrap_or(DateTime::<Utc>::MIN_UTC);
            n += self.store().purge_turns(Some(&c.company_id), before).await?;
        }
        if n > 0 {
            info!(turns = n, "purged old turn records");
        }
        Ok(n)
    }

    /// The company's recorded turns since `since`, newest first (at most `limit`, 0: every
    /// one), each with the visitor's rating of its reply.
    ///
    /// # Errors
    /// [`crate::Error::Unauthorized`] without the secret key or the operator credential;
    /// storage failures.
    pub async fn turns(
        &self,
        ctx: &TenantContext,
        since: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<TurnRecord>> {
        ctx.require_admin()?;
        self.store().list_turns(ctx.company_id(), since, limit).await
    }

    /// The gap report: the questions asked since `since` that the bot handled badly (see
    /// [`crate::GapKind`]), grouped by meaning, at most `limit` groups (0: the default 50; at
    /// most [`GapReport::MAX_GROUPS`]). Reads the most recent 20,000 turns of the window.
    ///
    /// # Errors
    /// [`crate::Error::Unauthorized`] without the secret key or the operator credential;
    /// storage failures; the dense embedder's failures.
    pub async fn gaps(&self, ctx: &TenantContext, since: DateTime<Utc>, limit: u32) -> Result<GapReport> {
        ctx.require_admin()?;
        let limit = if limit == 0 { gaps::DEFAULT_GROUPS } else { limit.min(MAX_GROUPS) };
        let turns = self.store().list_turns(ctx.company_id(), since, MAX_TURNS_SCANNED).await?;
        let space = self.question_space(ctx).await;
        gaps::build(ctx.company_id(), since, &turns, &space, limit as usize).await
    }

    /// "Answer this gap group": a curated answer whose questions are group `group_id` of the
    /// gap report of `since` (its distinct questions, most recent first: the first
    /// [`CuratedInput::MAX_QUESTIONS`] of at most [`CuratedInput::MAX_QUESTION_CHARS`]
    /// characters), with `answer` and an optional `source`. From then on those questions, and
    /// others like them, get the curated answer.
    ///
    /// # Errors
    /// [`crate::Error::NotFound`] for a group the report does not have; as [`Chatbot::gaps`] and
    /// [`crate::Answers::add`].
    pub async fn answer_gap_group(
        &self,
        ctx: &TenantContext,
        since: DateTime<Utc>,
        group_id: u32,
        answer: String,
        source: Option<String>,
    ) -> Result<CuratedAnswer> {
        let report = self.gaps(ctx, since, MAX_GROUPS).await?;
        let group = report.groups.into_iter().find(|g| g.id == group_id).ok_or_else(|| {
            crate::Error::not_found(format!("gap group {group_id} (the report has no such group)"))
        })?;
        let questions: Vec<String> = group
            .questions
            .into_iter()
            .filter(|q| q.chars().count() <= CuratedInput::MAX_QUESTION_CHARS)
            .take(CuratedInput::MAX_QUESTIONS)
            .collect();
        self.answers(ctx).add(CuratedInput { questions, answer, source }).await
    }
}
