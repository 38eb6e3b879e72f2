//! Curated answers: the [`Answers`] handle (list, add, update, remove, import, export, test) and
//! the match the chat turn makes before retrieval.
//!
//! A visitor question is compared with every curated answer of the company in the company's
//! question space (`rag::similar`):
//! - **dense** (an embedder with a dense side): the best cosine between the question and the
//!   answer's questions;
//! - **lexical** (the offline default): the best cosine between the question's terms and each of
//!   the answer's questions' terms, every term weighing the same (the paraphrase lexicon,
//!   `rag::paraphrase`, maps words that mean the same to one concept), raised by the part of the
//!   question on words the answer text has and its questions lack ([`ANSWER_WEIGHT`]), lowered
//!   when a second answer comes within [`MARGIN`], and calibrated ([`LEXICAL_CALIBRATION`]) so
//!   that one threshold suits both spaces.
//!
//! The best score at or above `ai_config.curated_threshold()` answers the turn with the curated
//! text. The constants were chosen on the tuning half of `tests/data/curated_paraphrases.jsonl`
//! (and the added triples' tuning half); the figures are in README. The vectors of a company's
//! curated answers are kept in memory, rebuilt after any change made through this instance; a
//! change made through another instance or the CLI is seen on the next turn where the store can
//! tell (PostgreSQL while its `LISTEN/NOTIFY` connection works), otherwise at most
//! [`CURATED_CACHE_AGE`] later.

use std::sync::Arc;

use chrono::{SubsecRound as _, Utc};
use tracing::warn;

use crate::conversation::SourceRef;
use crate::curated::{CuratedAnswer, CuratedInput, CuratedMatch, CuratedPatch, new_answer_id};
use crate::error::{Error, Result};
use crate::rag::similar::{QuestionSpace, QuestionVec, similarity};
use crate::tenant::TenantContext;

use super::Chatbot;

/// How long the vectors of a company's curated questions are served before being read again
/// (changes through this instance, and on PostgreSQL through any writer, invalidate them at
/// once).
pub(super) const CURATED_CACHE_AGE: std::time::Duration = std::time::Duration::from_secs(30);
/// Companies whose curated vectors are kept (per cache generation).
pub(super) const CURATED_CACHE_ENTRIES: usize = 1024;
/// The most curated answers one company may have.
pub(crate) const MAX_CURATED_ANSWERS: usize = 1000;
/// The most bytes an import may have.
pub(crate) const MAX_IMPORT_BYTES: usize = 8 * 1024 * 1024;
/// Line errors an import reports (the rest are counted).
const MAX_REPORTED_LINE_ERRORS: usize = 20;

/// A company's curated questions as vectors, in the space they were made in.
pub(crate) struct CuratedIndex {
    space: QuestionSpace,
    /// The store's [`crate::store::CuratedStore::curated_version`] when it was read.
    version: Option<u64>,
    /// Each answer with the vectors of its questions (in order) and the terms its answer text
    /// adds to them (lexical space; empty in the dense space).
    entries: Vec<(Arc<CuratedAnswer>, Vec<QuestionVec>, Vec<u32>)>,
}

impl CuratedIndex {
    /// The index of `answers` in `space`.
    async fn build(space: QuestionSpace, answers: Vec<CuratedAnswer>) -> Result<Self> {
        let questions: Vec<String> = answers.iter().flat_map(|a| a.questions.iter().cloned()).collect();
        let mut vectors = space.vectors(&questions).await?.into_iter();
        let texts: Vec<String> = answers.iter().map(|a| a.answer.clone()).collect();
        let mut answer_vectors =
            if space.is_dense() { Vec::new() } else { space.vectors(&texts).await? }.into_iter();
        let entries = answers
            .into_iter()
            .map(|a| {
                let vs: Vec<QuestionVec> = vectors.by_ref().take(a.questions.len()).collect();
                let added = match answer_vectors.next() {
                    Some(QuestionVec::Sparse(t)) => {
                        let asked: Vec<u32> = vs
                            .iter()
                            .flat_map(|v| match v {
                                QuestionVec::Sparse(x) => x.iter().map(|(id, _)| *id).collect(),
                                QuestionVec::Dense(_) => Vec::new(),
                            })
                            .collect();
                        t.into_iter().map(|(id, _)| id).filter(|id| !asked.contains(id)).collect()
                    }
                    _ => Vec::new(),
                };
                (Arc::new(a), vs, added)
            })
            .collect();
        Ok(CuratedIndex { space, version: None, entries })
    }

    /// The best match of `question`: the answer, its best question and the score (see the
    /// module docs).
    async fn best(&self, question: &str) -> Result<Option<(Arc<CuratedAnswer>, String, f32)>> {
        if self.entries.is_empty() {
            return Ok(None);
        }
        let v = self.space.vectors(&[question.to_string()]).await?;
        let Some(q) = v.first().filter(|q| !q.is_empty()) else {
            return Ok(None);
        };
        let mut best: Option<(Arc<CuratedAnswer>, String, f32)> = None;
        let mut second = 0f32;
        for (a, vs, answer_terms) in &self.entries {
            let mut entry: Option<(&String, f32)> = None;
            for (text, cv) in a.questions.iter().zip(vs) {
                let s = similarity(q, cv);
                if entry.is_none_or(|(_, b)| s > b) {
                    entry = Some((text, s));
                }
            }
            let Some((text, s)) = entry else { continue };
            let s = s + ANSWER_WEIGHT * share(q, answer_terms) * (1.0 - s);
            let s = if self.space.is_dense() { s } else { s.powf(LEXICAL_CALIBRATION) };
            match &best {
                Some((_, _, b)) if s <= *b => second = second.max(s),
                _ => {
                    if let Some((_, _, b)) = &best {
                        second = second.max(*b);
                    }
                    best = Some((a.clone(), text.clone(), s));
                }
            }
        }
        let margin = if self.space.is_dense() { 0.0 } else { MARGIN };
        Ok(best.map(|(a, t, b)| (a, t, (b - (margin - (b - second)).max(0.0)).max(0.0))))
    }
}

/// How much an answer text's own terms add to a question's match: the similarity `s` of the
/// best question becomes `s + ANSWER_WEIGHT * share * (1 - s)`, `share` being the part of the
/// visitor question (its squared unit weights) on terms the answer has and its questions do
/// not (lexical space; a paraphrase often shares words with the answer rather than with the
/// question: "send it back after a month" / "returns are accepted within 30 days"). Chosen on
/// the tuning half (its added triples, the only ones with real answer texts): 0.5 changed no
/// figure at the default threshold and helped a little below it; 1.0 helped more there, on too
/// few triples to trust.
const ANSWER_WEIGHT: f32 = 0.5;
/// The lead the best answer needs over the next one in the lexical space: a closer second
/// lowers the best score by the shortfall (two answers about equally close to the question:
/// neither is sure). 0.15 on the tuning half. The dense space has none: there it raised the
/// tuning half's precision but lowered the held-out figures (0.900 / 0.562 to 0.895 / 0.531),
/// so the dense match stays as it was.
const MARGIN: f32 = 0.15;
/// The lexical similarity is reported as `cosine^LEXICAL_CALIBRATION`, so that the one
/// threshold means about the same in both spaces: on the tuning half the lexical path's best
/// balance is at a cosine of 0.6 where the dense one's is at 0.7 (`0.6^0.698 = 0.7`). 1 stays 1
/// and the order of matches is unchanged.
const LEXICAL_CALIBRATION: f32 = 0.698_2;

/// The part of the unit vector `q` (its squared weight) on the sorted `terms`.
fn share(q: &QuestionVec, terms: &[u32]) -> f32 {
    match q {
        QuestionVec::Sparse(v) if !terms.is_empty() => v
            .iter()
            .filter(|(id, _)| terms.binary_search(id).is_ok())
            .map(|(_, w)| w * w)
            .sum::<f32>()
            .min(1.0),
        _ => 0.0,
    }
}

/// The curated answers of one company, checked for the secret key or the operator: get one
/// with [`Chatbot::answers`].
pub struct Answers<'a> {
    bot: &'a Chatbot,
    ctx: &'a TenantContext,
}

impl Chatbot {
    /// The company's curated answers.
    pub fn answers<'a>(&'a self, ctx: &'a TenantContext) -> Answers<'a> {
        Answers { bot: self, ctx }
    }

    /// The company's curated questions as vectors (from memory when recent).
    async fn curated_index(&self, ctx: &TenantContext) -> Result<Arc<CuratedIndex>> {
        let cid = ctx.company_id().to_string();
        // Noted before the read: a change committed meanwhile leaves the copy a version behind.
        let version = self.store().curated_version(&cid);
        if let Some(i) = self.inner.curated.get(&cid)
            && (version.is_none() || i.version == version)
        {
            return Ok(i);
        }
        let answers = self.store().list_curated(&cid).await?;
        let mut index = if answers.is_empty() {
            CuratedIndex { space: QuestionSpace::lexical(None), version: None, entries: Vec::new() }
        } else {
            // Lexical: every term weighs the same. IDF from the company's curated questions
            // (tens of short texts) was measured worse on the tuning half than uniform
            // weights: a word in two questions already counts as common there.
            let space = if self.embedder().dimension() > 0 {
                self.question_space(ctx).await
            } else {
                QuestionSpace::lexical(None)
            };
            CuratedIndex::build(space, answers).await?
        };
        index.version = version;
        let index = Arc::new(index);
        self.inner.curated.insert(cid, index.clone());
        Ok(index)
    }

    /// The curated answer the turn gives to `message`, if one matches (its hit counted). A
    /// failure (store, embedder) is logged and means no match: the turn goes on as usual.
    pub(super) async fn curated_reply(&self, ctx: &TenantContext, message: &str) -> Option<CuratedAnswer> {
        let cid = ctx.company_id();
        let best = match self.curated_index(ctx).await {
            Ok(index) => index.best(message.trim()).await,
            Err(e) => Err(e),
        };
        let (answer, _, score) = match best {
            Ok(Some(b)) => b,
            Ok(None) => return None,
            Err(e) => {
                warn!(company = cid, error = %e, "curated answers not checked");
                return None;
            }
        };
        if score < ctx.company().ai_config.curated_threshold() {
            return None;
        }
        if let Err(e) = self.store().record_curated_hit(cid, &answer.id, Utc::now()).await {
            warn!(company = cid, error = %e, "curated answer hit not counted");
        }
        tracing::info!(company = cid, answer = %answer.id, score, "answered with a curated answer");
        Some(answer.as_ref().clone())
    }

    fn forget_curated(&self, cid: &str) {
        self.inner.curated.remove(&cid.to_string());
    }
}

/// The sources a curated reply shows: its own, if any.
pub(super) fn curated_sources(a: &CuratedAnswer) -> Vec<SourceRef> {
    a.source.iter().map(|s| SourceRef { source: s.clone(), title: None, score: 1.0 }).collect()
}

impl Answers<'_> {
    /// The most curated answers one company may have.
    pub const MAX_ANSWERS: usize = MAX_CURATED_ANSWERS;
    /// The most bytes [`Answers::import_jsonl`] reads.
    pub const MAX_IMPORT_BYTES: usize = MAX_IMPORT_BYTES;

    fn cid(&self) -> &str {
        self.ctx.company_id()
    }

    /// Every curated answer of the company, oldest first, with its hits.
    ///
    /// # Errors
    /// [`Error::Unauthorized`] without the secret key or operator access; storage failures.
    pub async fn list(&self) -> Result<Vec<CuratedAnswer>> {
        self.ctx.require_admin()?;
        self.bot.store().list_curated(self.cid()).await
    }

    /// One curated answer.
    ///
    /// # Errors
    /// [`Error::NotFound`] (also for another company's answer), [`Error::Unauthorized`].
    pub async fn get(&self, answer_id: &str) -> Result<CuratedAnswer> {
        self.ctx.require_admin()?;
        self.bot.store().get_curated(self.cid(), answer_id).await?.ok_or_else(|| not_found(answer_id))
    }

    /// Add one curated answer.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the field, [`Error::Conflict`] when the company has
    /// [`Answers::MAX_ANSWERS`] already, [`Error::Unauthorized`].
    pub async fn add(&self, input: CuratedInput) -> Result<CuratedAnswer> {
        let mut added = self.add_many(vec![input]).await?;
        added.pop().ok_or_else(|| Error::Internal("the curated answer was not added".into()))
    }

    /// Add curated answers, all or none.
    ///
    /// # Errors
    /// As [`Answers::add`]; an invalid input is named by its position (`answers[3].answer`).
    pub async fn add_many(&self, inputs: Vec<CuratedInput>) -> Result<Vec<CuratedAnswer>> {
        self.ctx.require_admin()?;
        let many = inputs.len() > 1;
        let checked = inputs
            .into_iter()
            .enumerate()
            .map(|(i, x)| {
                x.validated().map_err(|e| match e {
                    Error::Invalid { field, reason } if many => {
                        Error::invalid(format!("answers[{i}].{field}"), reason)
                    }
                    other => other,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        self.insert_checked(checked).await
    }

    async fn insert_checked(&self, checked: Vec<CuratedInput>) -> Result<Vec<CuratedAnswer>> {
        if checked.is_empty() {
            return Ok(Vec::new());
        }
        let have = self.bot.store().list_curated(self.cid()).await?.len();
        if have + checked.len() > MAX_CURATED_ANSWERS {
            return Err(Error::Conflict(format!(
                "a company may have at most {MAX_CURATED_ANSWERS} curated answers (it has {have})"
            )));
        }
        let now = Utc::now().trunc_subsecs(6);
        // One microsecond apart (what both stores keep), so the list keeps the input's order.
        let answers: Vec<CuratedAnswer> = checked
            .into_iter()
            .zip(0i64..)
            .map(|(x, i)| (x, now + chrono::TimeDelta::microseconds(i)))
            .map(|(x, now)| CuratedAnswer {
                id: new_answer_id(),
                company_id: self.cid().to_string(),
                questions: x.questions,
                answer: x.answer,
                source: x.source,
                hits: 0,
                last_hit_at: None,
                created_at: now,
                updated_at: now,
            })
            .collect();
        let stored = self.bot.store().insert_curated(&answers).await;
        self.bot.forget_curated(self.cid());
        stored?;
        Ok(answers)
    }

    /// Change a curated answer (absent fields stay).
    ///
    /// # Errors
    /// [`Error::NotFound`], [`Error::Invalid`] naming the field, [`Error::Unauthorized`].
    pub async fn update(&self, answer_id: &str, patch: CuratedPatch) -> Result<CuratedAnswer> {
        let mut a = self.get(answer_id).await?;
        if !patch.apply(&mut a)? {
            return Ok(a);
        }
        a.updated_at = Utc::now().trunc_subsecs(6);
        let stored = self.bot.store().update_curated(&a).await;
        self.bot.forget_curated(self.cid());
        stored?.ok_or_else(|| not_found(answer_id))
    }

    /// Remove a curated answer.
    ///
    /// # Errors
    /// [`Error::NotFound`], [`Error::Unauthorized`].
    pub async fn remove(&self, answer_id: &str) -> Result<()> {
        self.ctx.require_admin()?;
        let removed = self.bot.store().delete_curated(self.cid(), answer_id).await;
        self.bot.forget_curated(self.cid());
        if removed? { Ok(()) } else { Err(not_found(answer_id)) }
    }

    /// Import curated answers from JSON Lines: one [`CuratedInput`] object per line
    /// (`{"questions": [...], "answer": "...", "source": "..."}`; blank lines are skipped). All
    /// or nothing: when any line is invalid, nothing is imported and the error lists the bad
    /// lines by number (the first 20, then how many more).
    ///
    /// # Errors
    /// [`Error::Invalid`] with field `file` (bad lines, too large, no answer at all),
    /// [`Error::Conflict`] past [`Answers::MAX_ANSWERS`], [`Error::Unauthorized`].
    pub async fn import_jsonl(&self, text: &str) -> Result<Vec<CuratedAnswer>> {
        self.ctx.require_admin()?;
        let checked = parse_jsonl(text)?;
        self.insert_checked(checked).await
    }

    /// Every curated answer as JSON Lines (what [`Answers::import_jsonl`] reads; hits and ids
    /// are not part of it).
    ///
    /// # Errors
    /// [`Error::Unauthorized`], storage failures.
    pub async fn export_jsonl(&self) -> Result<String> {
        let mut out = String::new();
        for a in self.list().await? {
            let line = CuratedInput { questions: a.questions, answer: a.answer, source: a.source };
            out.push_str(&serde_json::to_string(&line)?);
            out.push('\n');
        }
        Ok(out)
    }

    /// Which curated answer `question` would get, with its similarity (the best match even
    /// below the threshold; `matched` says whether the turn would use it). Counts no hit.
    ///
    /// # Errors
    /// [`Error::Invalid`] for a blank question, [`Error::Unauthorized`], embedder or storage
    /// failures.
    pub async fn test(&self, question: &str) -> Result<Option<CuratedMatch>> {
        self.ctx.require_admin()?;
        if question.trim().is_empty() {
            return Err(Error::invalid("question", "must not be blank"));
        }
        if question.chars().count() > self.bot.inner.config.max_message_chars {
            return Err(Error::invalid("question", "too long"));
        }
        let index = self.bot.curated_index(self.ctx).await?;
        let threshold = self.ctx.company().ai_config.curated_threshold();
        Ok(index.best(question.trim()).await?.map(|(a, q, score)| CuratedMatch {
            answer: a.as_ref().clone(),
            question: q,
            score,
            matched: score >= threshold,
        }))
    }
}

fn not_found(answer_id: &str) -> Error {
    Error::not_found(format!("curated answer {answer_id}"))
}

/// The inputs of a JSON Lines import, checked; every bad line reported by number.
fn parse_jsonl(text: &str) -> Result<Vec<CuratedInput>> {
    if text.len() > MAX_IMPORT_BYTES {
        return Err(Error::invalid("file", format!("larger than {} bytes", MAX_IMPORT_BYTES)));
    }
    let mut ok = Vec::new();
    let mut bad: Vec<String> = Vec::new();
    let mut bad_count = 0usize;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_start_matches('\u{feff}').trim();
        if line.is_empty() {
            continue;
        }
        let parsed = serde_json::from_str::<CuratedInput>(line)
            .map_err(|e| format!("line {}: {e}", i + 1))
            .and_then(|x| x.validated().map_err(|e| format!("line {}: {e}", i + 1)));
        match parsed {
            Ok(x) => ok.push(x),
            Err(e) => {
                bad_count += 1;
                if bad.len() < MAX_REPORTED_LINE_ERRORS {
                    bad.push(e);
                }
            }
        }
    }
    if bad_count > 0 {
        let more = bad_count - bad.len();
        let mut reason = format!("{bad_count} bad line(s), nothing imported: {}", bad.join("; "));
        if more > 0 {
            reason.push_str(&format!("; and {more} more"));
        }
        return Err(Error::invalid("file", reason));
    }
    if ok.is_empty() {
        return Err(Error::invalid("file", "no curated answer in it (one JSON object per line)"));
    }
    Ok(ok)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn answer(questions: &[&str], text: &str) -> CuratedAnswer {
        let now = Utc::now();
        CuratedAnswer {
            id: new_answer_id(),
            company_id: "c".into(),
            questions: questions.iter().map(|q| q.to_string()).collect(),
            answer: text.into(),
            source: None,
            hits: 0,
            last_hit_at: None,
            created_at: now,
            updated_at: now,
        }
    }

    async fn score(answers: Vec<CuratedAnswer>, question: &str) -> (String, f32) {
        let index = CuratedIndex::build(QuestionSpace::lexical(None), answers).await.unwrap();
        let (a, _, s) = index.best(question).await.unwrap().unwrap();
        (a.answer.clone(), s)
    }

    #[tokio::test]
    async fn the_answer_text_helps_a_close_second_costs_and_the_exact_question_scores_one() {
        let returns =
            answer(&["How do I return an item?"], "Returns are accepted within 30 days, with the receipt.");
        let wrap = answer(&["Do you offer gift wrapping?"], "Yes, at checkout.");
        let (_, exact) = score(vec![returns.clone(), wrap.clone()], "How do I return an item?").await;
        assert!((exact - 1.0).abs() < 1e-4, "{exact}");

        // A question sharing a word with the answer text only scores higher with the text.
        let q = "Can I return an item without a receipt?";
        let bare = answer(&["How do I return an item?"], "See our policy.");
        let (_, with_text) = score(vec![returns.clone(), wrap.clone()], q).await;
        let (_, without) = score(vec![bare, wrap.clone()], q).await;
        assert!(with_text > without, "{with_text} <= {without}");

        // The same question in two answers: neither leads, the score drops by the margin.
        let twin = answer(&["How do I return an item?"], "Other text.");
        let (_, tied) = score(vec![returns, twin, wrap], "How do I return an item?").await;
        assert!((tied - (1.0 - MARGIN)).abs() < 1e-4, "{tied}");
    }

    #[test]
    fn share_is_the_questions_weight_on_the_terms() {
        let q = QuestionVec::Sparse(vec![(1, 0.6), (2, 0.8)]);
        assert!((share(&q, &[2, 7]) - 0.64).abs() < 1e-6);
        assert_eq!(share(&q, &[]), 0.0);
        assert_eq!(share(&QuestionVec::Dense(vec![1.0]), &[1]), 0.0);
    }

    #[test]
    fn jsonl_import_reports_every_bad_line_and_takes_all_or_nothing() {
        let good = "{\"questions\": [\"Do you ship?\"], \"answer\": \"Yes.\"}\n\n\
                    {\"questions\": [\"Returns?\", \"Can I return?\"], \"answer\": \"30 days.\", \"source\": \"https://a.example/r\"}\n";
        let v = parse_jsonl(good).unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[1].source.as_deref(), Some("https://a.example/r"));

        let bad = "{\"questions\": [\"ok\"], \"answer\": \"ok\"}\nnot json\n{\"questions\": [], \"answer\": \"a\"}\n\
                   {\"questions\": [\"q\"], \"answer\": \"a\", \"extra\": 1}\n";
        let Error::Invalid { field, reason } = parse_jsonl(bad).unwrap_err() else { panic!() };
        assert_eq!(field, "file");
        assert!(reason.starts_with("3 bad line(s)"), "{reason}");
        for n in ["line 2:", "line 3:", "line 4:"] {
            assert!(reason.contains(n), "{reason}");
        }
        assert!(!reason.contains("line 1:"));

        let many = "x\n".repeat(30);
        let Error::Invalid { reason, .. } = parse_jsonl(&many).unwrap_err() else { panic!() };
        assert!(reason.ends_with("and 10 more"), "{reason}");
        assert!(parse_jsonl("\n  \n").is_err());
        assert!(parse_jsonl(&" ".repeat(MAX_IMPORT_BYTES + 1)).is_err());
    }
}
