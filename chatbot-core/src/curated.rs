//! Curated answers: an operator's own answer to a set of questions. A visitor question that
//! matches one of the questions by meaning (see `Chatbot::answers` and the chat turn) is
//! answered with the curated text, before retrieval and without any model call.
//!
//! This module holds the types and their validation (no I/O): [`CuratedAnswer`] as stored,
//! [`CuratedInput`] (a new answer, also one line of a JSONL import), [`CuratedPatch`] (a change).

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use regex::Regex;
use serde::{Deserialize, Deserializer, Serialize};

use crate::error::{Error, Result};

/// A curated answer as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CuratedAnswer {
    /// `ca_` and random hex.
    pub id: String,
    pub company_id: String,
    /// The questions it answers (1 to [`CuratedInput::MAX_QUESTIONS`]).
    pub questions: Vec<String>,
    pub answer: String,
    /// An `http(s)` URL shown as the reply's source.
    pub source: Option<String>,
    /// Visitor questions it answered.
    pub hits: u64,
    pub last_hit_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A new curated answer (the API's `POST` body, one line of `answers import`): checked by
/// [`CuratedInput::validated`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CuratedInput {
    pub questions: Vec<String>,
    pub answer: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

impl CuratedInput {
    /// The most questions one answer may have.
    pub const MAX_QUESTIONS: usize = 20;
    /// The most characters a question may have.
    pub const MAX_QUESTION_CHARS: usize = 500;
    /// The most characters an answer may have.
    pub const MAX_ANSWER_CHARS: usize = 4000;
    /// The most characters a source URL may have.
    pub const MAX_SOURCE_CHARS: usize = 500;

    /// The input trimmed and checked: 1 to [`Self::MAX_QUESTIONS`] questions of 1 to
    /// [`Self::MAX_QUESTION_CHARS`] characters (blank ones are refused, repeats dropped), an
    /// answer of 1 to [`Self::MAX_ANSWER_CHARS`] characters, a source that is an `http(s)` URL
    /// (blank: none).
    ///
    /// # Errors
    /// [`Error::Invalid`] naming `questions`, `answer` or `source`.
    pub fn validated(self) -> Result<Self> {
        Ok(Self {
            questions: check_questions(self.questions)?,
            answer: check_answer(&self.answer)?,
            source: check_source(self.source.as_deref())?,
        })
    }
}

/// A change to a curated answer (the API's `PATCH` body, `answers update`): absent fields stay
/// as they are; `source: null` (or blank) removes the source.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CuratedPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub questions: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
    /// `None`: unchanged; `Some(None)`: removed; `Some(Some(url))`: replaced.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub source: Option<Option<String>>,
}

impl CuratedPatch {
    /// Whether the patch changes nothing.
    pub fn is_empty(&self) -> bool {
        self.questions.is_none() && self.answer.is_none() && self.source.is_none()
    }

    /// Apply the patch to `a` (checked as [`CuratedInput::validated`] checks); whether anything
    /// changed (an empty patch, `{}` or nulls, changes nothing).
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the field.
    pub fn apply(self, a: &mut CuratedAnswer) -> Result<bool> {
        let before = (a.questions.clone(), a.answer.clone(), a.source.clone());
        if let Some(q) = self.questions {
            a.questions = check_questions(q)?;
        }
        if let Some(t) = self.answer {
            a.answer = check_answer(&t)?;
        }
        if let Some(s) = self.source {
            a.source = check_source(s.as_deref())?;
        }
        Ok(before != (a.questions.clone(), a.answer.clone(), a.source.clone()))
    }
}

/// A field that is present (even as `null`) deserialises to `Some(..)`.
fn present<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// Which curated answer a question matches, with what similarity (see `Answers::test`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CuratedMatch {
    /// The best-matching answer.
    pub answer: CuratedAnswer,
    /// Its question that matched best.
    pub question: String,
    /// The similarity, 0 to 1.
    pub score: f32,
    /// Whether `score` reaches the company's `curated_threshold` (the turn would answer with it).
    pub matched: bool,
}

/// A new curated answer's id.
pub(crate) fn new_answer_id() -> String {
    format!("ca_{}", hex::encode(rand::random::<[u8; 12]>()))
}

fn check_questions(questions: Vec<String>) -> Result<Vec<String>> {
    if questions.is_empty() {
        return Err(Error::invalid("questions", "at least one question is needed"));
    }
    if questions.len() > CuratedInput::MAX_QUESTIONS {
        return Err(Error::invalid(
            "questions",
            format!("at most {} questions per answer", CuratedInput::MAX_QUESTIONS),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(questions.len());
    for (i, raw) in questions.iter().enumerate() {
        if raw.chars().any(char::is_control) {
            return Err(Error::invalid(format!("questions[{i}]"), "must not contain control characters"));
        }
        let q = raw.trim();
        if q.is_empty() {
            return Err(Error::invalid(format!("questions[{i}]"), "must not be blank"));
        }
        if raw.chars().count() > CuratedInput::MAX_QUESTION_CHARS {
            return Err(Error::invalid(
                format!("questions[{i}]"),
                format!("at most {} characters", CuratedInput::MAX_QUESTION_CHARS),
            ));
        }
        if !out.iter().any(|o| o == q) {
            out.push(q.to_string());
        }
    }
    Ok(out)
}

fn check_answer(answer: &str) -> Result<String> {
    if answer.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r')) {
        return Err(Error::invalid("answer", "must not contain control characters"));
    }
    let a = answer.trim();
    if a.is_empty() {
        return Err(Error::invalid("answer", "must not be blank"));
    }
    if answer.chars().count() > CuratedInput::MAX_ANSWER_CHARS {
        return Err(Error::invalid(
            "answer",
            format!("at most {} characters", CuratedInput::MAX_ANSWER_CHARS),
        ));
    }
    Ok(a.to_string())
}

fn check_source(source: Option<&str>) -> Result<Option<String>> {
    let Some(s) = source else {
        return Ok(None);
    };
    if s.chars().count() > CuratedInput::MAX_SOURCE_CHARS {
        return Err(Error::invalid(
            "source",
            format!("at most {} characters", CuratedInput::MAX_SOURCE_CHARS),
        ));
    }
    // The published `HttpUrl` pattern, then a URL parser's opinion.
    static HTTP_URL: LazyLock<Option<Regex>> =
        LazyLock::new(|| crate::text::built_in_regex(crate::tenant::patterns::HTTP_URL));
    let shaped = HTTP_URL.as_ref().is_some_and(|r| r.is_match(s));
    if !shaped || crate::tenant::validate_http_url("source", s).is_err() {
        return Err(Error::invalid(
            "source",
            format!("must be an http(s) URL like https://shop.example/page, got {s:?}"),
        ));
    }
    Ok(Some(s.to_string()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn input(q: &[&str], a: &str, s: Option<&str>) -> CuratedInput {
        CuratedInput {
            questions: q.iter().map(|x| x.to_string()).collect(),
            answer: a.into(),
            source: s.map(String::from),
        }
    }

    fn field(e: Error) -> String {
        match e {
            Error::Invalid { field, .. } => field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn validation_trims_dedups_and_names_the_field() {
        let ok =
            input(&[" Do you ship? ", "Do you ship?", "Shipping?"], " Yes. ", Some("https://a.example/x"))
                .validated()
                .unwrap();
        assert_eq!(ok.questions, vec!["Do you ship?", "Shipping?"]);
        assert_eq!(ok.answer, "Yes.");
        assert_eq!(ok.source.as_deref(), Some("https://a.example/x"));
        assert_eq!(input(&["q"], "a", None).validated().unwrap().source, None);
        assert_eq!(field(input(&["q\n"], "a", None).validated().unwrap_err()), "questions[0]");

        assert_eq!(field(input(&[], "a", None).validated().unwrap_err()), "questions");
        let many: Vec<String> = (0..21).map(|i| format!("q{i}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(field(input(&many, "a", None).validated().unwrap_err()), "questions");
        assert_eq!(field(input(&["ok", "  "], "a", None).validated().unwrap_err()), "questions[1]");
        let long = "é".repeat(501);
        assert_eq!(field(input(&[&long], "a", None).validated().unwrap_err()), "questions[0]");
        assert!(input(&[&"é".repeat(500)], "a", None).validated().is_ok());
        assert_eq!(field(input(&["q\u{0}"], "a", None).validated().unwrap_err()), "questions[0]");
        assert_eq!(field(input(&["q"], " ", None).validated().unwrap_err()), "answer");
        assert_eq!(field(input(&["q"], &"x".repeat(4001), None).validated().unwrap_err()), "answer");
        assert!(input(&["q"], "line one\nline two", None).validated().is_ok());
        for bad in
            ["ftp://a.example", "javascript:alert(1)", "not a url", "https://", "", " https://a.example"]
        {
            assert_eq!(field(input(&["q"], "a", Some(bad)).validated().unwrap_err()), "source", "{bad}");
        }
    }

    #[test]
    fn patches_distinguish_absent_null_and_value() {
        let p: CuratedPatch = serde_json::from_str(r#"{"answer": "New"}"#).unwrap();
        assert_eq!(p.source, None);
        let p: CuratedPatch = serde_json::from_str(r#"{"source": null}"#).unwrap();
        assert_eq!(p.source, Some(None));
        let p: CuratedPatch = serde_json::from_str(r#"{"source": "https://b.example"}"#).unwrap();
        assert_eq!(p.source, Some(Some("https://b.example".into())));
        assert!(serde_json::from_str::<CuratedPatch>(r#"{"answr": "x"}"#).is_err());
        assert!(
            serde_json::from_str::<CuratedInput>(r#"{"questions": ["q"], "answer": "a", "x": 1}"#).is_err()
        );

        let t = Utc::now();
        let mut a = CuratedAnswer {
            id: new_answer_id(),
            company_id: "c".into(),
            questions: vec!["q".into()],
            answer: "a".into(),
            source: Some("https://a.example".into()),
            hits: 0,
            last_hit_at: None,
            created_at: t,
            updated_at: t,
        };
        // An empty patch changes nothing (the API answers with the answer as it is).
        assert!(!CuratedPatch::default().apply(&mut a).unwrap());
        assert_eq!(a.source.as_deref(), Some("https://a.example"));
        assert!(CuratedPatch { source: Some(None), ..Default::default() }.apply(&mut a).unwrap());
        assert_eq!(a.source, None);
        assert!(!CuratedPatch { answer: Some(" a ".into()), ..Default::default() }.apply(&mut a).unwrap());
        let bad = CuratedPatch { questions: Some(vec![]), ..Default::default() };
        assert_eq!(field(bad.apply(&mut a).unwrap_err()), "questions");
        assert!(a.id.starts_with("ca_") && a.id.len() == 27);
    }
}
