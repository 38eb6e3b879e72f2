//! Offline lead profile extraction: the fields of a company's client type
//! ([`ClientType::profile_fields`]) read from what a visitor writes, in English, German, Dutch
//! and French. Pure functions, no I/O. Rules never invent: a field is set only when the words
//! state it, and when unsure it is left out (precision first).
//!
//! - realtor: `intent` (buy, rent, sell), `property_type` (apartment, house, studio, villa,
//!   land, commercial), `location` (as written), `budget_min`, `budget_max`, `currency`,
//!   `bedrooms`, `size_m2`, `timeline`, `financing` (mortgage approved, needs mortgage, cash);
//! - business owner: `service` (the visitor's words), `company_name`, `company_size`,
//!   `budget_min`, `budget_max`, `currency`, `timeline`, `preferred_contact_time`.
//!
//! Guards: a question about a listed property ("is the house on Main St still 450k?") says
//! nothing about the visitor's search; a sentence about an order ("I ordered on 3 May") gives
//! no budget or timeline; a price asked about is not a budget (an amount is a budget only with
//! a cue: "budget", "max", "up to", "at least", "between ... and"...); phone numbers, postcodes,
//! areas, room counts and dates are never amounts.

mod amounts;
mod business;
mod lex;
mod places;
mod realtor;
mod timeline;

use serde_json::{Map, Value};

pub use amounts::{Budget, parse_amount};
use lex::{Tok, sentences, tokens};

use crate::tenant::ClientType;

/// Only the start of a very long message is read (the rules are linear, this bounds the work).
const MAX_CHARS: usize = 4000;

pub(super) fn head(text: &str) -> &str {
    text.char_indices().nth(MAX_CHARS).map_or(text, |(i, _)| &text[..i])
}

/// Whether the sentence is about an order the visitor placed (its dates and amounts are not a
/// budget or a timeline).
fn about_an_order(sentence: &str) -> bool {
    const PHRASES: &[&str] = &[
        "my order",
        "our order",
        "the order",
        "order number",
        "order #",
        "order no",
        "placed an order",
        "mijn bestelling",
        "onze bestelling",
        "de bestelling",
        "meine bestellung",
        "unsere bestellung",
        "die bestellung",
        "ma commande",
        "notre commande",
        "la commande",
        "numéro de commande",
    ];
    const WORDS: &[&str] = &[
        "ordered",
        "besteld",
        "bestelde",
        "bestellt",
        "bestellnummer",
        "bestelnummer",
        "ordernummer",
        "commandé",
        "commandée",
        "commandés",
        "shipped",
        "verzonden",
        "versandt",
        "bought",
        "gekocht",
        "gekauft",
        "acheté",
        "achetée",
    ];
    let lower = sentence.to_lowercase();
    PHRASES.iter().any(|p| lower.contains(p))
        || crate::text::lower_words(sentence, &[]).any(|w| WORDS.contains(&w.as_str()))
}

fn number(v: f64) -> Value {
    let r = v.round();
    if (v - r).abs() < 1e-9 && r.abs() < 9.0e15 {
        Value::from(r as i64)
    } else {
        serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
    }
}

/// The fields shared by both types, gathered sentence by sentence (the first statement of
/// each field wins within one message).
#[derive(Default)]
struct Found {
    out: Map<String, Value>,
}

impl Found {
    fn set(&mut self, key: &str, v: Option<Value>) {
        if let Some(v) = v.filter(|v| !v.is_null())
            && !self.out.contains_key(key)
        {
            self.out.insert(key.to_string(), v);
        }
    }

    fn budget_and_timeline(&mut self, sentence: &str) {
        if about_an_order(sentence) {
            return;
        }
        let b = amounts::budget_in_sentence(sentence);
        if !b.is_empty() {
            self.set("budget_min", b.min.map(number));
            self.set("budget_max", b.max.map(number));
            self.set("currency", b.currency.map(Value::from));
        }
        self.set("timeline", timeline::timeline(sentence).map(Value::from));
    }

    /// The fields found. A minimum and a maximum stated in different sentences are put in order
    /// (as one sentence's range is), so `budget_min <= budget_max` always holds.
    fn into_map(mut self) -> Map<String, Value> {
        let amount = |k: &str, m: &Map<String, Value>| m.get(k).and_then(Value::as_f64);
        if let (Some(lo), Some(hi)) = (amount("budget_min", &self.out), amount("budget_max", &self.out))
            && lo > hi
            && let (Some(a), Some(b)) = (self.out.remove("budget_min"), self.out.remove("budget_max"))
        {
            self.out.insert("budget_min".into(), b);
            self.out.insert("budget_max".into(), a);
        }
        self.out
    }
}

fn realtor_profile(text: &str) -> Map<String, Value> {
    let mut f = Found::default();
    let mut all: Vec<Tok> = Vec::new();
    let mut kept = String::new();
    for s in sentences(text) {
        let toks = tokens(s);
        if realtor::is_listing_question(s, &toks) {
            continue;
        }
        f.budget_and_timeline(s);
        f.set("location", places::location(s).map(Value::from));
        f.set("property_type", realtor::property_type(&toks).map(Value::from));
        f.set("bedrooms", realtor::bedrooms(&toks).map(Value::from));
        f.set("size_m2", realtor::size_m2(&toks).map(number));
        kept.push_str(s);
        kept.push('\n');
        all.extend(toks);
    }
    f.set("intent", realtor::intent(&all).map(Value::from));
    f.set("financing", realtor::financing(&kept).map(Value::from));
    f.into_map()
}

fn business_profile(text: &str) -> Map<String, Value> {
    let mut f = Found::default();
    for s in sentences(text) {
        let toks = tokens(s);
        f.budget_and_timeline(s);
        if !about_an_order(s) {
            f.set("service", business::service(s).map(Value::from));
        }
        f.set("company_name", business::company_name(s).map(Value::from));
        f.set("company_size", business::company_size(&toks).map(Value::from));
        f.set("preferred_contact_time", business::contact_time(s).map(Value::from));
    }
    f.into_map()
}

/// The profile fields of `client_type` that `text` (one visitor message) states. Amounts and
/// counts are JSON numbers (whole currency units), the rest short text.
pub fn extract_profile_for(client_type: ClientType, text: &str) -> Map<String, Value> {
    let text = head(text);
    match client_type {
        ClientType::Realtor => realtor_profile(text),
        ClientType::BusinessOwner => business_profile(text),
    }
}

/// What one sentence or message says about the visitor's budget (the amounts rules alone).
/// A minimum and a maximum taken from different sentences are put in order, as in
/// [`extract_profile_for`], so `min <= max` always holds.
pub fn extract_budget(text: &str) -> Budget {
    let mut out = Budget::default();
    for s in sentences(head(text)).into_iter().filter(|s| !about_an_order(s)) {
        let b = amounts::budget_in_sentence(s);
        out.min = out.min.or(b.min);
        out.max = out.max.or(b.max);
        out.currency = out.currency.or(b.currency);
    }
    if let (Some(lo), Some(hi)) = (out.min, out.max)
        && lo > hi
    {
        (out.min, out.max) = (Some(hi), Some(lo));
    }
    out
}

/// Whether two profile values are the same (numbers by value: `400000` equals `400000.0`).
fn same(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// Merge newly found fields into a profile: later messages correct earlier ones, so a new
/// non-empty value replaces the old one; empty values (null, blank text) change nothing.
/// Returns whether anything changed.
pub fn merge_profile(existing: &mut Map<String, Value>, found: Map<String, Value>) -> bool {
    let mut changed = false;
    for (k, v) in found {
        let empty = v.is_null() || v.as_str().is_some_and(|s| s.trim().is_empty());
        if !empty && !existing.get(&k).is_some_and(|old| same(old, &v)) {
            existing.insert(k, v);
            changed = true;
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn realtor_message() {
        let p = extract_profile_for(
            ClientType::Realtor,
            "Hi, we're looking to buy a 3-bedroom house in Utrecht, budget up to €400k. Moving next spring.",
        );
        assert_eq!(
            Value::Object(p),
            json!({"intent": "buy", "property_type": "house", "bedrooms": 3, "location": "Utrecht",
                   "budget_max": 400000, "currency": "EUR", "timeline": "next spring"})
        );
    }

    #[test]
    fn business_message() {
        let p = extract_profile_for(
            ClientType::BusinessOwner,
            "We need a new website for our 12-person dental practice, budget around 5k.",
        );
        assert_eq!(Value::Object(p), json!({"service": "website", "company_size": 12, "budget_max": 5000}));
    }

    #[test]
    fn orders_and_listings_give_nothing() {
        for t in ["I ordered on 3 May, order A-1001 for 59 euros.", "My order from last week, max 2 items."] {
            assert!(extract_profile_for(ClientType::BusinessOwner, t).is_empty(), "{t}");
        }
        let p = extract_profile_for(ClientType::Realtor, "Is the villa in Bloemendaal still 1.2 million?");
        assert!(p.is_empty(), "{p:?}");
    }

    #[test]
    fn merge_replaces_and_reports() {
        let mut p = Map::new();
        assert!(merge_profile(
            &mut p,
            json!({"budget_max": 400000, "location": "Utrecht"}).as_object().unwrap().clone()
        ));
        assert!(!merge_profile(&mut p, json!({"budget_max": 400000.0}).as_object().unwrap().clone()));
        assert!(!merge_profile(
            &mut p,
            json!({"location": " ", "intent": null}).as_object().unwrap().clone()
        ));
        assert!(merge_profile(&mut p, json!({"budget_max": 450000}).as_object().unwrap().clone()));
        assert_eq!(p["budget_max"], 450000);
        assert_eq!(p["location"], "Utrecht");
    }
}
