//! Lead extraction from a visitor message: contacts, profile fields, intents, applied to a lead.
#![no_main]

use chatbot_core::lead::Lead;
use chatbot_core::lead::extract::{apply_message, extract_contacts, extract_profile, is_real_request};
use libfuzzer_sys::fuzz_target;

/// Whether `needle`'s characters occur in `hay` in order.
fn subsequence(needle: impl Iterator<Item = char>, hay: &str) -> bool {
    let mut hay = hay.chars();
    needle.into_iter().all(|c| hay.any(|h| h == c))
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let c = extract_contacts(&text);
    if let Some(p) = &c.phone {
        // The digits of the phone number are the visitor's, in their order.
        assert!(subsequence(p.chars().filter(char::is_ascii_digit), &text), "{p:?} not in {text:?}");
        let n = p.chars().filter(char::is_ascii_digit).count();
        assert!((8..=15).contains(&n), "{p:?}");
    }
    if let Some(e) = &c.email {
        let (local, domain) = e.split_once('@').expect("an address has an @");
        assert!(text.contains(local), "{e:?} not in {text:?}");
        assert!(text.to_lowercase().contains(domain) || text.contains(&format!("{local}@")), "{e:?}");
    }
    if let Some(n) = &c.name {
        assert!(!n.trim().is_empty());
    }
    let _ = extract_profile(&text);
    let _ = is_real_request(&text);
    let mut lead = Lead::new("lead_f".into(), "123", "sess_f", "u");
    let _ = apply_message(&mut lead, &text);
    let _ = apply_message(&mut lead, &text);
});
