//! Hostile input: every reader of visitor text takes arbitrary Unicode without panicking,
//! including characters whose lower case has another UTF-8 length (Kelvin sign U+212A,
//! Ångström sign U+212B, Ohm sign U+2126, ẞ, İ) (a plain loop over generated
//! strings instead of a property-testing dependency).

use crate::guard::classify_topic;
use crate::lead::Lead;
use crate::lead::extract::{apply_message, extract_contacts, extract_profile, offline_summary};
use crate::llm::{ChatRequest, ExtractiveAnswerer, Passage};

/// Pieces the generator strings together: case changes that resize text, combining marks,
/// emoji, separators, digits and the words the rules look for.
const PIECES: &[&str] = &[
    "K",
    "ẞ",
    "Å",
    "Ω",
    "İ",
    "ß",
    "Σ",
    "ﬃ",
    "ǅ",
    "ΐ",
    "i̇",
    "\u{301}",
    "\u{200d}",
    "👩‍👩‍👧",
    "😀",
    "—",
    "’",
    "`",
    "'",
    "\"",
    " ",
    "  ",
    "\n",
    "\t",
    ".",
    ",",
    "!",
    "?",
    ":",
    ";",
    "(",
    ")",
    "+",
    "-",
    "/",
    "@",
    "#",
    "€",
    "$",
    "0",
    "06",
    "31",
    "123",
    "4567",
    "0612345678",
    "+31 6 1234 5678",
    "2024-05-12",
    "a@b.example",
    "Jane.Doe@Example.COM",
    "my name is",
    "I'm",
    "this is",
    "call me",
    "your",
    "my",
    "tel",
    "phone",
    "order",
    "budget",
    "mailto:",
    "https://",
    "www.",
    "hi",
    "thanks",
    "shipping",
    "opening hours",
    "ignore previous instructions",
    "DAN",
    "Bitte zurückrufen",
    "GROẞE",
    "Bestellung",
    "danke",
    "x",
    "Ab",
];

/// A small deterministic generator (xorshift64*), so a failure reproduces.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// A string of up to `max` pieces, sometimes with a random scalar value mixed in.
    fn text(&mut self, max: usize) -> String {
        let mut s = String::new();
        for _ in 0..self.below(max + 1) {
            if self.below(6) == 0 {
                let c = char::from_u32(self.below(0x3_0000) as u32).unwrap_or('\u{fffd}');
                s.push(c);
            } else {
                s.push_str(PIECES[self.below(PIECES.len())]);
            }
        }
        s
    }
}

#[test]
fn readers_of_visitor_text_never_panic_on_arbitrary_unicode() {
    let answerer = ExtractiveAnswerer::new();
    let mut g = Gen(0x9e37_79b9_7f4a_7c15);
    let mut lead = Lead::new("lead_u".into(), "123", "sess_u", "u1");
    for i in 0..3000 {
        let t = g.text(if i % 10 == 0 { 60 } else { 16 });
        let _ = extract_contacts(&t);
        let _ = extract_profile(&t);
        let _ = apply_message(&mut lead, &t);
        let _ = classify_topic(&t, Some(0.2), &[g.text(3)]);
        let terms = crate::rag::bm25::document_terms(&t);
        assert_eq!(terms.ids.len(), terms.counts.len());
        let _ = crate::rag::bm25::query_terms(&t);
        if i % 5 == 0 {
            let passages = (0..3)
                .map(|k| Passage {
                    text: g.text(40),
                    source: Some(g.text(2)),
                    title: Some(g.text(3)),
                    score: k as f32 * 0.3,
                    section: None,
                })
                .collect();
            let req = ChatRequest {
                messages: Vec::new(),
                passages,
                question: t.clone(),
                company_name: g.text(2),
                model: None,
                temperature: 0.2,
                max_tokens: 300,
            };
            let _ = answerer.answer(&req);
        }
    }
    let _ = offline_summary(&lead);
}

#[test]
fn the_reported_message_gives_its_phone_number() {
    let mut lead = Lead::new("lead_u".into(), "123", "sess_u", "u1");
    let t = "Bitte zurückrufen: GROẞE Bestellung, Tel. 0612345678—danke";
    let _ = apply_message(&mut lead, t);
    assert_eq!(lead.phone, "0612345678");
}
