//! The gap report: the questions the bot handled badly, grouped by meaning.
//!
//! A turn is a gap for one or more [`GapKind`]s (see [`gap_kinds`]). Gap turns are grouped by
//! the similarity of their questions (`rag::similar`: the company's dense embedder when one
//! is configured, otherwise stemmed terms with BM25 weights): average-linkage agglomeration in
//! one deterministic pass (questions with the same normalised text are one item; items are
//! taken most frequent first, then most recent, and each joins the group it is on average most
//! similar to if that reaches the space's threshold, or starts a new one).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::TurnRecord;
use crate::chatbot::{AnsweredBy, SourceRef};
use crate::error::Result;
use crate::feedback::Rating;
use crate::guard::WEAK_RELEVANCE;
use crate::rag::similar::{QuestionSpace, QuestionVec, similarity};

/// Why a turn is in the gap report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GapKind {
    /// A question with no relevant knowledge: nothing retrieved, the top relevance below
    /// [`WEAK_RELEVANCE`] (the level the topic guard treats as "something relevant was
    /// found"), or an answer that said it had no information.
    NoKnowledge,
    /// The offline answerer stood in for the configured model (failure, timeout, spent budget).
    Fallback,
    /// Refused as off-topic although the knowledge was close (top relevance at least half the
    /// level the topic guard treats as relevant).
    OffTopicNear,
    /// The answer had sentences its passages do not support (grounding `unsupported > 0`).
    Ungrounded,
    /// The visitor rated the reply thumbs down.
    ThumbsDown,
}

impl GapKind {
    /// Every kind, in report order.
    pub const ALL: [GapKind; 5] =
        [Self::NoKnowledge, Self::Fallback, Self::OffTopicNear, Self::Ungrounded, Self::ThumbsDown];

    /// The label as in the JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NoKnowledge => "no_knowledge",
            Self::Fallback => "fallback",
            Self::OffTopicNear => "off_topic_near",
            Self::Ungrounded => "ungrounded",
            Self::ThumbsDown => "thumbs_down",
        }
    }
}

/// An off-topic refusal whose top relevance reaches this (half of [`WEAK_RELEVANCE`]) was
/// close to the knowledge: perhaps a question the business should answer.
pub const NEAR_RELEVANCE: f32 = WEAK_RELEVANCE / 2.0;
/// Similarity at or above which two questions are grouped, in the lexical space (cosine of
/// IDF-weighted stemmed terms: sharing the rare, meaning-carrying words). Measured without
/// corpus statistics on the curated-answers paraphrase set (question, paraphrase, same-topic
/// unrelated question): on its tuning half 0.4 groups 50% of the paraphrases and 25% of the
/// unrelated pairs (0.3: 63% / 44%; 0.5: 34% / 3%); held out 59% / 41%. Words are all it
/// has: paraphrases in other words need the dense space.
pub const LEXICAL_GROUP_SIMILARITY: f32 = 0.4;
/// Similarity at or above which two questions are grouped, in a dense space (cosine of
/// sentence embeddings). Measured with all-MiniLM-L6-v2 on the curated-answers paraphrase set
/// (question, paraphrase, same-topic unrelated question): on its tuning half 0.6 groups 84% of
/// the paraphrases and 16% of the unrelated pairs (0.5: 91% / 41%; 0.7: 66% / 6%); on the
/// held-out half 78% / 6%.
pub const DENSE_GROUP_SIMILARITY: f32 = 0.6;
/// The most example questions a group shows.
pub const MAX_EXAMPLES: usize = 5;
/// The most gap turns one report groups (the most recent ones).
pub const MAX_GAP_TURNS: usize = 2000;
/// The most turns one report reads.
pub const MAX_TURNS_SCANNED: u32 = 20_000;
/// The default and the largest number of groups a report lists.
pub const DEFAULT_GROUPS: u32 = 50;
pub const MAX_GROUPS: u32 = 500;

/// Why `turn` is a gap (empty: it is not one). A curated answer is a gap only when rated down;
/// a greeting or a contact message only when rated down or when the model failed; an
/// injection refusal never (it is not a question the business should answer).
pub fn gap_kinds(turn: &TurnRecord) -> Vec<GapKind> {
    use crate::turns::TurnTopic;
    let mut out = Vec::new();
    let question = turn.topic == TurnTopic::Allowed && turn.answered_by != AnsweredBy::Curated;
    if question && (turn.no_answer || turn.top_score.is_none_or(|s| s < WEAK_RELEVANCE || !s.is_finite())) {
        out.push(GapKind::NoKnowledge);
    }
    if turn.fell_back && turn.answered_by == AnsweredBy::Fallback {
        out.push(GapKind::Fallback);
    }
    if turn.topic == TurnTopic::OffTopic && turn.top_score.is_some_and(|s| s >= NEAR_RELEVANCE) {
        out.push(GapKind::OffTopicNear);
    }
    if turn.grounding.is_some_and(|g| g.unsupported > 0) {
        out.push(GapKind::Ungrounded);
    }
    if turn.rating == Some(Rating::Down) {
        out.push(GapKind::ThumbsDown);
    }
    out
}

/// A group of similar questions the bot handled badly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GapGroup {
    /// 1..n in report order (stable within one report only).
    pub id: u32,
    /// Gap turns in the group.
    pub count: u32,
    /// Up to five distinct questions, most recent first.
    pub examples: Vec<String>,
    /// Every distinct question of the group, most recent first (what a curated answer for the
    /// group would list as its questions).
    pub questions: Vec<String>,
    /// Why its turns are gaps (each kind once, in [`GapKind::ALL`] order).
    pub reasons: Vec<GapKind>,
    /// The highest-scoring source retrieved for any of its turns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub best_source: Option<SourceRef>,
    pub last_seen: DateTime<Utc>,
}

/// The gap report of one company.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GapReport {
    pub company_id: String,
    /// The window's start (turns since then).
    pub since: DateTime<Utc>,
    /// `dense` (the company's embedder) or `lexical` (stemmed terms with BM25 weights).
    pub grouping: String,
    /// Turns read in the window.
    pub turns: u32,
    /// Of those, gap turns.
    pub gaps: u32,
    /// Groups, largest first (ties: most recently seen first), at most the requested limit.
    pub groups: Vec<GapGroup>,
}

impl GapReport {
    /// The window when none is given (`7d`).
    pub const DEFAULT_SINCE: &'static str = super::DEFAULT_SINCE;
    /// The most groups one report lists.
    pub const MAX_GROUPS: u32 = MAX_GROUPS;

    /// A report window as operators write it: `7d`, `24h`, `30m` (at most 3650 days back), or an
    /// RFC 3339 date or date-time not in the future; the moment it starts.
    ///
    /// # Errors
    /// [`crate::Error::Invalid`] naming `since`.
    pub fn parse_since(s: &str) -> crate::Result<DateTime<Utc>> {
        super::parse_since_now(s)
    }
}

/// One distinct question (by normalised text) among the gap turns.
struct Item<'a> {
    text: &'a str,
    turns: Vec<&'a TurnRecord>,
}

/// A question's text for identity: lower case, white space collapsed.
fn normalise(q: &str) -> String {
    q.split_whitespace().map(str::to_lowercase).collect::<Vec<_>>().join(" ")
}

/// Group the gap turns among `turns` (any order) with `space`; at most `limit` groups.
///
/// # Errors
/// The dense embedder's failures.
pub(crate) async fn build(
    company_id: &str,
    since: DateTime<Utc>,
    turns: &[TurnRecord],
    space: &QuestionSpace,
    limit: usize,
) -> Result<GapReport> {
    let mut gap_turns: Vec<(&TurnRecord, Vec<GapKind>)> =
        turns.iter().map(|t| (t, gap_kinds(t))).filter(|(_, k)| !k.is_empty()).collect();
    gap_turns.sort_by(|a, b| {
        b.0.created_at.cmp(&a.0.created_at).then_with(|| a.0.message_id.cmp(&b.0.message_id))
    });
    let gaps = gap_turns.len();
    gap_turns.truncate(MAX_GAP_TURNS);
    let kinds: HashMap<(&str, &str), &Vec<GapKind>> =
        gap_turns.iter().map(|(t, k)| ((t.session_id.as_str(), t.message_id.as_str()), k)).collect();

    // Distinct questions, most recent first (the text as most recently asked).
    let mut items: Vec<Item<'_>> = Vec::new();
    let mut by_key: HashMap<String, usize> = HashMap::new();
    for (t, _) in &gap_turns {
        let key = normalise(&t.question);
        match by_key.get(&key) {
            Some(&i) => items[i].turns.push(t),
            None => {
                by_key.insert(key, items.len());
                items.push(Item { text: &t.question, turns: vec![t] });
            }
        }
    }
    let texts: Vec<String> = items.iter().map(|i| i.text.to_string()).collect();
    let vecs = space.vectors(&texts).await?;
    let threshold = if space.is_dense() { DENSE_GROUP_SIMILARITY } else { LEXICAL_GROUP_SIMILARITY };
    // CPU work (quadratic in the distinct questions): off the async workers.
    let sizes: Vec<usize> = items.iter().map(|i| i.turns.len()).collect();
    let clusters = tokio::task::spawn_blocking(move || cluster(&sizes, &vecs, threshold))
        .await
        .map_err(|e| crate::error::Error::Internal(format!("gap grouping task failed: {e}")))?;

    let mut groups: Vec<GapGroup> = clusters
        .into_iter()
        .filter_map(|members| {
            let mut ts: Vec<&TurnRecord> =
                members.iter().flat_map(|&i| items[i].turns.iter().copied()).collect();
            ts.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| a.message_id.cmp(&b.message_id)));
            let last_seen = ts.first()?.created_at;
            let mut questions: Vec<String> = Vec::new();
            let mut seen = std::collections::HashSet::new();
            for t in &ts {
                if seen.insert(normalise(&t.question)) {
                    questions.push(t.question.clone());
                }
            }
            let mut reasons: Vec<GapKind> = ts
                .iter()
                .flat_map(|t| {
                    kinds
                        .get(&(t.session_id.as_str(), t.message_id.as_str()))
                        .into_iter()
                        .flat_map(|k| k.iter().copied())
                })
                .collect();
            reasons.sort();
            reasons.dedup();
            let best_source = ts
                .iter()
                .flat_map(|t| t.sources.iter())
                .filter(|s| s.score.is_finite())
                .fold(None::<&SourceRef>, |best, s| match best {
                    Some(b) if b.score >= s.score => Some(b),
                    _ => Some(s),
                })
                .cloned();
            Some(GapGroup {
                id: 0,
                count: u32::try_from(ts.len()).unwrap_or(u32::MAX),
                examples: questions.iter().take(MAX_EXAMPLES).cloned().collect(),
                questions,
                reasons,
                best_source,
                last_seen,
            })
        })
        .collect();
    groups.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| b.last_seen.cmp(&a.last_seen))
            .then_with(|| a.questions.cmp(&b.questions))
    });
    groups.truncate(limit);
    for (i, g) in groups.iter_mut().enumerate() {
        g.id = u32::try_from(i + 1).unwrap_or(u32::MAX);
    }
    Ok(GapReport {
        company_id: company_id.to_string(),
        since,
        grouping: if space.is_dense() { "dense" } else { "lexical" }.to_string(),
        turns: u32::try_from(turns.len()).unwrap_or(u32::MAX),
        gaps: u32::try_from(gaps).unwrap_or(u32::MAX),
        groups,
    })
}

/// Average-linkage grouping of the distinct questions (most recent first; `sizes[i]` turns
/// asked question `i`) in one deterministic pass; each group lists its question indices.
fn cluster(sizes: &[usize], vecs: &[QuestionVec], threshold: f32) -> Vec<Vec<usize>> {
    // Most asked first, then most recent (the questions' own order).
    let mut order: Vec<usize> = (0..sizes.len().min(vecs.len())).collect();
    order.sort_by(|&a, &b| sizes[b].cmp(&sizes[a]).then(a.cmp(&b)));
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for i in order {
        let mut best: Option<(usize, f32)> = None;
        for (g, members) in groups.iter().enumerate() {
            let sum: f32 = members.iter().map(|&m| similarity(&vecs[i], &vecs[m])).sum();
            let avg = sum / members.len().max(1) as f32;
            if avg >= threshold && best.is_none_or(|(_, b)| avg > b) {
                best = Some((g, avg));
            }
        }
        match best.and_then(|(g, _)| groups.get_mut(g)) {
            Some(members) => members.push(i),
            None => groups.push(vec![i]),
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chatbot::Grounding;
    use crate::turns::TurnTopic;

    fn turn(q: &str, minutes_ago: i64) -> TurnRecord {
        TurnRecord {
            company_id: "c".into(),
            session_id: format!("s-{q}-{minutes_ago}"),
            message_id: format!("m-{minutes_ago}"),
            visitor_message_id: format!("v-{minutes_ago}"),
            question: q.into(),
            top_score: Some(0.5),
            sources: vec![],
            answered_by: AnsweredBy::Fallback,
            fell_back: false,
            no_answer: false,
            topic: TurnTopic::Allowed,
            grounding: None,
            latency_ms: 3,
            prompt_tokens: None,
            completion_tokens: None,
            created_at: Utc::now() - chrono::TimeDelta::minutes(minutes_ago),
            rating: None,
        }
    }

    #[test]
    fn each_kind_and_what_is_not_a_gap() {
        let good = turn("opening hours?", 1);
        assert!(gap_kinds(&good).is_empty(), "a relevant offline answer is not a gap");
        let mut t = good.clone();
        t.top_score = None;
        assert_eq!(gap_kinds(&t), [GapKind::NoKnowledge]);
        t.top_score = Some(WEAK_RELEVANCE - 0.01);
        assert_eq!(gap_kinds(&t), [GapKind::NoKnowledge]);
        t.top_score = Some(f32::NAN);
        assert_eq!(gap_kinds(&t), [GapKind::NoKnowledge]);
        let mut t = good.clone();
        t.no_answer = true;
        assert_eq!(gap_kinds(&t), [GapKind::NoKnowledge]);
        let mut t = good.clone();
        t.fell_back = true;
        assert_eq!(gap_kinds(&t), [GapKind::Fallback]);
        let mut t = good.clone();
        t.grounding = Some(Grounding { supported: 2, unsupported: 1 });
        assert_eq!(gap_kinds(&t), [GapKind::Ungrounded]);
        t.grounding = Some(Grounding { supported: 2, unsupported: 0 });
        assert!(gap_kinds(&t).is_empty());
        let mut t = good.clone();
        t.rating = Some(Rating::Down);
        assert_eq!(gap_kinds(&t), [GapKind::ThumbsDown]);
        t.rating = Some(Rating::Up);
        assert!(gap_kinds(&t).is_empty());

        let mut refused = good.clone();
        refused.answered_by = AnsweredBy::Refusal;
        refused.topic = TurnTopic::OffTopic;
        refused.top_score = Some(NEAR_RELEVANCE);
        assert_eq!(gap_kinds(&refused), [GapKind::OffTopicNear]);
        refused.top_score = Some(NEAR_RELEVANCE / 2.0);
        assert!(gap_kinds(&refused).is_empty(), "far from the knowledge: a right refusal");
        refused.topic = TurnTopic::Injection;
        refused.top_score = None;
        assert!(gap_kinds(&refused).is_empty());
        let mut hello = good.clone();
        hello.topic = TurnTopic::Greeting;
        hello.top_score = None;
        assert!(gap_kinds(&hello).is_empty());
        let mut curated = good;
        curated.answered_by = AnsweredBy::Curated;
        curated.top_score = None;
        assert!(gap_kinds(&curated).is_empty());
        curated.rating = Some(Rating::Down);
        assert_eq!(gap_kinds(&curated), [GapKind::ThumbsDown]);
    }

    #[tokio::test]
    async fn groups_are_ordered_counted_and_deterministic() {
        let mut turns = vec![
            turn("Where can I park my bicycle?", 50),
            turn("Is there parking for bicycles?", 40),
            turn("Do you repair car tyres?", 5),
            turn("do you  REPAIR car tyres?", 4),
            turn("Any discount for students?", 3),
        ];
        for t in &mut turns {
            t.top_score = None;
        }
        turns[0].sources = vec![SourceRef { source: "https://x/a".into(), title: None, score: 0.1 }];
        turns[1].sources = vec![SourceRef { source: "https://x/b".into(), title: None, score: 0.11 }];
        turns.push(turn("Opening hours?", 1)); // not a gap
        let space = QuestionSpace::lexical(None);
        let a = build("c", Utc::now(), &turns, &space, 10).await.unwrap();
        turns.reverse();
        let b = build("c", Utc::now(), &turns, &space, 10).await.unwrap();
        assert_eq!(a.groups, b.groups, "input order does not matter");
        assert_eq!((a.turns, a.gaps, a.grouping.as_str()), (6, 5, "lexical"));
        let summary: Vec<(u32, u32, &str)> =
            a.groups.iter().map(|g| (g.id, g.count, g.examples[0].as_str())).collect();
        // Two groups of 2: the most recently seen first.
        assert_eq!(summary[0], (1, 2, "do you  REPAIR car tyres?"));
        assert_eq!(a.groups[0].questions.len(), 1, "same text up to case and spaces: one question");
        assert_eq!(summary[1].1, 2);
        assert_eq!(a.groups[1].questions, ["Is there parking for bicycles?", "Where can I park my bicycle?"]);
        assert_eq!(a.groups[1].best_source.as_ref().map(|s| s.source.as_str()), Some("https://x/b"));
        assert_eq!(summary[2], (3, 1, "Any discount for students?"));
        assert_eq!(a.groups[2].reasons, [GapKind::NoKnowledge]);
        let one = build("c", Utc::now(), &turns, &space, 1).await.unwrap();
        assert_eq!(one.groups.len(), 1);
        assert_eq!(one.gaps, 5);
    }

    #[tokio::test]
    async fn many_hostile_questions_are_bounded_and_never_panic() {
        let odd = ["", "   ", "🙂🙂", "\u{0}\u{202e}abc", "ß", "١٢٣", "x\u{301}", "?!", "漢字の質問"];
        let turns: Vec<TurnRecord> = (0..(MAX_GAP_TURNS as i64 + 500))
            .map(|i| {
                let mut t = turn(
                    &format!(
                        "{} question {} {}",
                        odd[i as usize % odd.len()],
                        i % 7,
                        "é".repeat((i % 50) as usize)
                    ),
                    i,
                );
                t.message_id = format!("m{i}");
                t.top_score = if i % 3 == 0 { None } else { Some(f32::NAN) };
                t.sources = vec![SourceRef {
                    source: "s".into(),
                    title: None,
                    score: if i % 2 == 0 { f32::NAN } else { 0.01 },
                }];
                t
            })
            .collect();
        let r = build("c", Utc::now(), &turns, &QuestionSpace::lexical(None), 5).await.unwrap();
        assert_eq!(r.gaps as usize, turns.len(), "all are gaps");
        assert!(r.groups.len() <= 5 && !r.groups.is_empty());
        let grouped: u32 = r.groups.iter().map(|g| g.count).sum();
        assert!(grouped as usize <= MAX_GAP_TURNS);
        assert!(r.groups.iter().all(|g| g.examples.len() <= MAX_EXAMPLES && !g.questions.is_empty()));
        assert!(r.groups.iter().all(|g| g.best_source.as_ref().is_none_or(|s| s.score.is_finite())));
    }
}
