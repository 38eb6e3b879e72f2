//! Lead profile rules (`lead::profile`) on any text: both client types, the budget and amount
//! readers; the fields keep their types and the names taken as written stay the visitor's.
#![no_main]

use chatbot_core::ClientType;
use chatbot_core::lead::Lead;
use chatbot_core::lead::extract::apply_message_for;
use chatbot_core::lead::profile::{extract_budget, extract_profile_for, merge_profile, parse_amount};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for t in [ClientType::Realtor, ClientType::BusinessOwner] {
        let p = extract_profile_for(t, &text);
        for (k, v) in &p {
            assert!(t.profile_fields().contains(&k.as_str()), "{k}");
            if ClientType::is_numeric_field(k) {
                assert!(v.as_f64().is_some_and(f64::is_finite), "{k}: {v}");
            } else {
                assert!(v.as_str().is_some_and(|s| !s.trim().is_empty()), "{k}: {v}");
            }
        }
        // Place and company names are the visitor's spelling, cut from the text.
        for k in ["location", "company_name"] {
            if let Some(s) = p.get(k).and_then(|v| v.as_str()) {
                assert!(text.contains(s), "{k} {s:?} not in {text:?}");
            }
        }
        if let (Some(lo), Some(hi)) =
            (p.get("budget_min").and_then(|v| v.as_f64()), p.get("budget_max").and_then(|v| v.as_f64()))
        {
            assert!(lo <= hi, "{lo} > {hi}");
        }
        let mut again = p.clone();
        assert!(!merge_profile(&mut again, p), "merging a profile into itself changes nothing");
        let mut lead = Lead::new("lead_f".into(), "123", "sess_f", "u");
        let _ = apply_message_for(&mut lead, t, &text);
        let _ = apply_message_for(&mut lead, t, &text);
    }
    let b = extract_budget(&text);
    if let (Some(lo), Some(hi)) = (b.min, b.max) {
        assert!(lo <= hi);
    }
    if let Some((v, _)) = parse_amount(&text) {
        assert!(v.is_finite() && v >= 0.0);
    }
});
