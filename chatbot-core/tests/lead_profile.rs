//! The offline lead profile rules against a labelled corpus (`tests/data/lead_profile.jsonl`:
//! realtor and business-owner visitor messages in en, de, nl, fr), with precision and recall
//! per field on each split (tuning, held-out, two blind batches; the thresholds are asserted on
//! the tuning half, every negative message is asserted free of budgets and timelines); and
//! property tests (any input is safe, amounts read the same in every notation).
//!
//! `cargo test -p chatbot-core --test lead_profile -- --nocapture` prints the tables.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use chatbot_core::ClientType;
use chatbot_core::lead::Lead;
use chatbot_core::lead::extract::{apply_message_for, extract_profile};
use chatbot_core::lead::profile::{extract_budget, extract_profile_for, merge_profile, parse_amount};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

#[derive(Debug)]
struct Case {
    client_type: ClientType,
    lang: String,
    split: String,
    text: String,
    expect: Map<String, Value>,
    negative: bool,
}

fn corpus() -> Vec<Case> {
    let raw = include_str!("data/lead_profile.jsonl");
    raw.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
            Case {
                client_type: ClientType::parse(v["type"].as_str().unwrap()).unwrap(),
                lang: v["lang"].as_str().unwrap().to_string(),
                split: v["split"].as_str().unwrap().to_string(),
                text: v["text"].as_str().unwrap().to_string(),
                expect: v["expect"].as_object().unwrap().clone(),
                negative: v.get("negative").and_then(Value::as_bool).unwrap_or(false),
            }
        })
        .collect()
}

/// Whether a found value is the labelled one: numbers equal, text case-insensitively equal,
/// and for the free-text fields (location, service, timeline) one containing the other.
fn matches(field: &str, got: &Value, want: &Value) -> bool {
    if let (Some(a), Some(b)) = (got.as_f64(), want.as_f64()) {
        return (a - b).abs() < 0.5;
    }
    let (Some(a), Some(b)) = (got.as_str(), want.as_str()) else { return false };
    let (a, b) = (a.trim().to_lowercase(), b.trim().to_lowercase());
    if matches!(field, "location" | "service" | "timeline") {
        !a.is_empty() && !b.is_empty() && (a.contains(&b) || b.contains(&a))
    } else {
        a == b
    }
}

#[derive(Default, Clone, Copy)]
struct Counts {
    tp: u32,
    fp: u32,
    fn_: u32,
}

impl Counts {
    fn precision(self) -> f64 {
        if self.tp + self.fp == 0 { 1.0 } else { f64::from(self.tp) / f64::from(self.tp + self.fp) }
    }

    fn recall(self) -> f64 {
        if self.tp + self.fn_ == 0 { 1.0 } else { f64::from(self.tp) / f64::from(self.tp + self.fn_) }
    }
}

/// Scores one half; prints a table per field and the misses. Returns the overall counts and how
/// many negative messages got a budget or a timeline.
fn score(cases: &[&Case], title: &str) -> (Counts, Vec<String>) {
    let mut per: BTreeMap<String, Counts> = BTreeMap::new();
    let mut misses = Vec::new();
    let mut negatives_hit = Vec::new();
    for c in cases {
        let got = extract_profile_for(c.client_type, &c.text);
        for k in got.keys() {
            assert!(
                c.client_type.profile_fields().contains(&k.as_str()),
                "{k} is not a {} field",
                c.client_type
            );
        }
        if c.negative && ["budget_min", "budget_max", "timeline"].iter().any(|k| got.contains_key(*k)) {
            negatives_hit.push(format!("{:?} -> {got:?}", c.text));
        }
        for &field in c.client_type.profile_fields() {
            let e = per.entry(field.to_string()).or_default();
            match (got.get(field), c.expect.get(field)) {
                (Some(g), Some(w)) if matches(field, g, w) => e.tp += 1,
                (Some(g), Some(w)) => {
                    e.fp += 1;
                    e.fn_ += 1;
                    misses.push(format!("[{}] {field}: got {g} want {w} in {:?}", c.lang, c.text));
                }
                (Some(g), None) => {
                    e.fp += 1;
                    misses.push(format!("[{}] {field}: got {g} (not labelled) in {:?}", c.lang, c.text));
                }
                (None, Some(w)) => {
                    e.fn_ += 1;
                    misses.push(format!("[{}] {field}: missed {w} in {:?}", c.lang, c.text));
                }
                (None, None) => {}
            }
        }
    }
    let mut all = Counts::default();
    println!("\n{title}: {} messages", cases.len());
    println!("{:<24} {:>4} {:>4} {:>4} {:>9} {:>7}", "field", "tp", "fp", "fn", "precision", "recall");
    for (field, c) in &per {
        all.tp += c.tp;
        all.fp += c.fp;
        all.fn_ += c.fn_;
        println!(
            "{field:<24} {:>4} {:>4} {:>4} {:>9.3} {:>7.3}",
            c.tp,
            c.fp,
            c.fn_,
            c.precision(),
            c.recall()
        );
    }
    println!(
        "{:<24} {:>4} {:>4} {:>4} {:>9.3} {:>7.3}",
        "ALL",
        all.tp,
        all.fp,
        all.fn_,
        all.precision(),
        all.recall()
    );
    for m in &misses {
        println!("  {m}");
    }
    (all, negatives_hit)
}

#[test]
fn corpus_is_broad_enough() {
    let cases = corpus();
    assert!(cases.len() >= 160, "{} messages", cases.len());
    for lang in ["en", "de", "nl", "fr"] {
        for t in [ClientType::Realtor, ClientType::BusinessOwner] {
            for split in ["tuning", "heldout", "blind"] {
                let n =
                    cases.iter().filter(|c| c.lang == lang && c.client_type == t && c.split == split).count();
                assert!(n >= 8, "{lang} {t} {split}: {n}");
                let n2 = cases
                    .iter()
                    .filter(|c| c.lang == lang && c.client_type == t && c.split == "blind2")
                    .count();
                assert!(n2 >= 8, "{lang} {t} blind2: {n2}");
            }
        }
    }
    assert!(cases.iter().filter(|c| c.negative).count() >= 40);
    // Every labelled key is a field of its type.
    for c in &cases {
        for k in c.expect.keys() {
            assert!(c.client_type.profile_fields().contains(&k.as_str()), "{k} in {:?}", c.text);
        }
        assert!(!c.negative || c.expect.is_empty(), "{:?}", c.text);
    }
}

#[test]
fn precision_and_recall_per_field() {
    let cases = corpus();
    let tuning: Vec<&Case> = cases.iter().filter(|c| c.split == "tuning").collect();
    let heldout: Vec<&Case> = cases.iter().filter(|c| c.split == "heldout").collect();
    let blind: Vec<&Case> = cases.iter().filter(|c| c.split == "blind").collect();
    let (t, t_neg) = score(&tuning, "tuning half");
    let (h, h_neg) = score(&heldout, "held-out half");
    let (b, b_neg) = score(&blind, "blind batch");
    let blind2: Vec<&Case> = cases.iter().filter(|c| c.split == "blind2").collect();
    let (b2, b2_neg) = score(&blind2, "second blind batch");
    assert!(t.precision() >= 0.95, "tuning precision {:.3}", t.precision());
    assert!(t.recall() >= 0.8, "tuning recall {:.3}", t.recall());
    let hit: Vec<String> = t_neg.into_iter().chain(h_neg).chain(b_neg).chain(b2_neg).collect();
    assert!(hit.is_empty(), "negative messages with a budget or timeline: {hit:#?}");
    // The held-out half and the blind batch are reported, not asserted beyond finding
    // something (their figures before any tuning are in the CHANGELOG and the README).
    assert!(h.tp > 0 && b.tp > 0 && b2.tp > 0);
}

#[test]
fn later_messages_correct_earlier_ones() {
    let mut lead = Lead::new("lead_p".into(), "123", "sess_p", "u");
    let t = ClientType::Realtor;
    assert!(apply_message_for(&mut lead, t, "We want to buy a flat in Utrecht, max 400k").changed);
    assert_eq!(lead.profile["budget_max"], 400_000);
    assert_eq!(lead.profile["location"], "Utrecht");
    assert!(
        apply_message_for(
            &mut lead,
            t,
            "Sorry, our budget is up to 450k and we'd rather look near Amersfoort"
        )
        .changed
    );
    assert_eq!(lead.profile["budget_max"], 450_000);
    assert_eq!(lead.profile["location"], "Amersfoort");
    assert_eq!(lead.profile["intent"], "buy");
    // A message with nothing new changes nothing.
    assert!(!apply_message_for(&mut lead, t, "ok thanks").changed);
    // The legacy entry point keeps the order number.
    assert_eq!(extract_profile("my order number is 123456")["order_number"], "123456");
    // An estate agent's visitor has no order: the same words give no order number there.
    let mut realtor = chatbot_core::lead::Lead::new("lead_r".into(), "c", "s", "u");
    chatbot_core::lead::extract::apply_message_for(
        &mut realtor,
        chatbot_core::ClientType::Realtor,
        "my order number is 123456",
    );
    assert!(!realtor.profile.contains_key("order_number"), "{:?}", realtor.profile);
    let mut p = Map::new();
    assert!(merge_profile(&mut p, json!({"service": "logo"}).as_object().unwrap().clone()));
    assert!(!merge_profile(&mut p, Map::new()));
}

fn styles(n: u64) -> Vec<String> {
    let group = |sep: &str| {
        let s = n.to_string();
        let mut out = String::new();
        for (i, ch) in s.chars().enumerate() {
            if i > 0 && (s.len() - i).is_multiple_of(3) {
                out.push_str(sep);
            }
            out.push(ch);
        }
        out
    };
    let mut v = vec![n.to_string(), group(","), group("."), group(" "), group("\u{a0}")];
    if n.is_multiple_of(1000) {
        v.push(format!("{}k", n / 1000));
        v.push(format!("{} duizend", n / 1000));
    }
    if n.is_multiple_of(100_000) && n >= 1_000_000 {
        let m = n as f64 / 1e6;
        v.push(format!("{m} million"));
        v.push(format!("{} Mio", m.to_string().replace('.', ",")));
    }
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_text_is_safe(text in any::<String>(), extra in "\\PC{0,40}") {
        for t in [ClientType::Realtor, ClientType::BusinessOwner] {
            let p = extract_profile_for(t, &format!("{text} budget max {extra} 400k € in Utrecht {text}"));
            for (k, v) in &p {
                prop_assert!(t.profile_fields().contains(&k.as_str()));
                if ClientType::is_numeric_field(k) {
                    prop_assert!(v.is_number(), "{k}: {v}");
                } else {
                    prop_assert!(v.as_str().is_some_and(|s| !s.trim().is_empty()), "{k}: {v}");
                }
            }
            if let (Some(lo), Some(hi)) = (p.get("budget_min").and_then(Value::as_f64), p.get("budget_max").and_then(Value::as_f64)) {
                prop_assert!(lo <= hi);
            }
        }
        let _ = parse_amount(&text);
        let _ = extract_budget(&text);
    }

    #[test]
    fn amounts_read_the_same_in_every_notation(n in 10u64..20_000_000, cur in 0usize..4) {
        let (sym, code) = [("€", "EUR"), ("$", "USD"), ("£", "GBP"), ("CHF", "CHF")][cur];
        // Symbols are written glued ("$2,500"), codes with a space ("CHF 2500").
        let pre = if sym.len() == 3 { format!("{sym} ") } else { sym.to_string() };
        for s in styles(n) {
            for text in [format!("budget max {s} {sym}"), format!("up to {pre}{s}"), format!("höchstens {s} {sym}")] {
                let b = extract_budget(&text);
                prop_assert_eq!(b.max, Some(n as f64), "{}", text);
                prop_assert_eq!(b.min, None);
                prop_assert_eq!(b.currency, Some(code), "{}", text);
            }
            let b = extract_budget(&format!("at least {s} {sym}"));
            prop_assert_eq!(b.min, Some(n as f64), "{}", s);
            prop_assert_eq!(parse_amount(&s).map(|(v, _)| v), Some(n as f64), "{}", s);
        }
    }

    #[test]
    fn ranges_are_ordered(a in 10u64..5_000, b in 10u64..5_000) {
        let text = format!("budget between {a} and {b}k euro");
        let got = extract_budget(&text);
        let (lo, hi) = if a <= b { (a * 1000, b * 1000) } else { (b * 1000, a) };
        let (lo, hi) = if lo > hi { (hi, lo) } else { (lo, hi) };
        prop_assert_eq!(got.min, Some(lo as f64), "{}", text);
        prop_assert_eq!(got.max, Some(hi as f64), "{}", text);
    }
}

/// Found by the fuzz smoke (lead_profile): a minimum and a maximum read from different
/// sentences came out as budget_min > budget_max.
#[test]
fn budgets_from_different_sentences_stay_in_order() {
    let text = "How much ismijn bestelling00? 59 euros? I ord\u{FFFD}red on 4 May, call +3\u{FFFD}1 6 $23up to 45678, \
                postcofe 101N 2? 59 euros? I ord\u{FFFD}r,AB 1,2 Mio K";
    for t in [chatbot_core::ClientType::Realtor, chatbot_core::ClientType::BusinessOwner] {
        let p = chatbot_core::lead::profile::extract_profile_for(t, text);
        if let (Some(lo), Some(hi)) = (
            p.get("budget_min").and_then(serde_json::Value::as_f64),
            p.get("budget_max").and_then(serde_json::Value::as_f64),
        ) {
            assert!(lo <= hi, "{lo} > {hi}: {p:?}");
        }
    }
}

/// Found by the fuzz smoke in CI (lead_profile): `extract_budget` over a whole message took the
/// minimum of one sentence's range and the maximum of another's, giving min > max.
#[test]
fn extract_budget_keeps_min_below_max_across_sentences() {
    let text = "No&@NousWij zijn Jans nieuwC\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\0m, \
                budget tussen .10 at00 en 2.000wCRo\u{FFFD} M-\u{FFFD}\u{FFFD}!\u{FFFD}eem, \
                budget tussen 1.000 en 2.000 euro, bel me";
    let b = chatbot_core::lead::profile::extract_budget(text);
    if let (Some(lo), Some(hi)) = (b.min, b.max) {
        assert!(lo <= hi, "{lo} > {hi}: {b:?}");
    }
}
