//! Topic enforcement before any model call: prompt injection and clearly off-topic requests
//! get a short refusal; greetings and contact messages are recognised; everything else is
//! answered (the system prompt enforces the topic for what slips through).
//!
//! A refusal needs evidence in the message itself: an injection, a task a shop assistant does not
//! do, or a general-knowledge subject (patterns in English, German, French, Spanish and Dutch,
//! in `topic_patterns`). Weak retrieval is never a reason: a question in another language than
//! the knowledge, or one the knowledge does not cover, gets the answer or the polite "could not
//! find that" fallback. Retrieval only ever rescues a message a pattern caught ("write the
//! return policy as a short list"), and only together with business words.

use crate::text::{is_contact_message, is_small_talk, lower_words, normalize_message, strip_plural};

use super::topic_evidence::{addresses_business, business_signs, covers, generative_task, open_request};
use super::topic_patterns::{BUSINESS_WORDS, DAN, GENERAL, INJECTION, TASKS};

/// Retrieval relevance at or above which the knowledge is clearly relevant: a task pattern next
/// to business words is then overruled (e.g. "write the return policy as a short list").
pub const STRONG_RELEVANCE: f32 = 0.30;
/// Retrieval relevance at or above which something relevant was found: a general subject next
/// to business words is then answered ("is the weather a problem for delivery?").
pub const WEAK_RELEVANCE: f32 = 0.12;

/// What topic enforcement decided for a message, before any model call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopicDecision {
    /// Answer normally.
    Allow,
    /// A greeting or small talk: answer briefly, no refusal.
    Greeting,
    /// The visitor shares contact details or asks to be contacted.
    Contact,
    /// Off-topic or an injection attempt: refuse politely.
    Refuse { reason: String },
}

fn words(text: &str) -> Vec<String> {
    lower_words(text, &['-', '\'']).collect()
}

/// Whether the message mentions one of the company's allowed topics (any significant word of
/// the topic, singular or plural).
pub fn mentions_allowed_topic(message: &str, allowed_topics: &[String]) -> bool {
    let msg: Vec<String> = words(message);
    allowed_topics.iter().any(|t| {
        let lower = t.to_lowercase();
        if lower.trim().len() >= 3 && message.to_lowercase().contains(lower.trim()) {
            return true;
        }
        words(t)
            .iter()
            .filter(|w| w.chars().count() >= 4)
            .any(|tw| msg.iter().any(|m| strip_plural(m) == strip_plural(tw)))
    })
}

fn business_vocabulary(ws: &[String]) -> bool {
    ws.iter().any(|w| BUSINESS_WORDS.contains(&w.as_str()))
}

/// Why a message is a prompt-injection attempt, if it is one.
pub fn injection_reason(message: &str) -> Option<&'static str> {
    let lower = normalize_message(message);
    if INJECTION.as_ref().is_some_and(|s| s.is_match(&lower)) {
        return Some("prompt injection");
    }
    if DAN.as_ref().is_some_and(|r| r.is_match(message)) {
        return Some("prompt injection (DAN)");
    }
    None
}

/// Decide before the model call. `best_score` is the top retrieval similarity (None: no hits).
pub fn classify_topic(message: &str, best_score: Option<f32>, allowed_topics: &[String]) -> TopicDecision {
    if let Some(reason) = injection_reason(message) {
        return TopicDecision::Refuse { reason: reason.into() };
    }
    if is_small_talk(message) {
        return TopicDecision::Greeting;
    }
    if is_contact_message(message) {
        return TopicDecision::Contact;
    }
    if mentions_allowed_topic(message, allowed_topics) {
        return TopicDecision::Allow;
    }
    let score = best_score.unwrap_or(0.0);
    let lower = normalize_message(message);
    let business = business_vocabulary(&words(&lower));
    if TASKS.as_ref().is_some_and(|s| s.is_match(&lower)) && !(business && score >= STRONG_RELEVANCE) {
        return TopicDecision::Refuse { reason: "off-topic task".into() };
    }
    // "who is X" needs the original case; the other subjects are matched lower-cased.
    let general = GENERAL.as_ref().is_some_and(|s| s.is_match(&lower) || s.is_match(message));
    if general && !(business && score >= WEAK_RELEVANCE) && !addresses_business(&lower) {
        return TopicDecision::Refuse { reason: "off-topic subject".into() };
    }
    // Subjects nobody wrote a pattern for: an open question or a generic task with no sign of
    // the business at all (`topic_evidence`), in a language whose vocabulary is known.
    // A writing task ("write an e-mail to my boss") stays a task unless the visitor asks the
    // business for its own content and the knowledge has it.
    if generative_task(&lower) && !(addresses_business(&lower) && score >= STRONG_RELEVANCE) {
        return TopicDecision::Refuse { reason: "off-topic task".into() };
    }
    if score < WEAK_RELEVANCE
        && open_request(&lower)
        && !business_signs(&lower)
        && lower.split_whitespace().count() >= 3
        && covers(crate::text::detect(message))
    {
        return TopicDecision::Refuse { reason: "off-topic: no sign of the business".into() };
    }
    TopicDecision::Allow
}

/// A short polite refusal that steers back to the company's business (in English; the chat turn
/// answers in the visitor's language where it is detected).
pub fn refusal_message(company_name: &str) -> String {
    crate::text::fixed_text(None, crate::text::FixedText::Refusal, company_name, "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_compile() {
        assert!(INJECTION.is_some() && TASKS.is_some() && GENERAL.is_some() && DAN.is_some());
    }
}
