//! The offline AI summary of a lead: who, how to reach them, what they asked, and the profile
//! fields found, in the order that matters to the company's client type. Built without a model
//! when the lead becomes ready and again whenever it changes; a model's summary, when one is
//! configured, replaces it.

use serde_json::Value;

use super::{ANONYMOUS, Lead};
use crate::conversation::Role;
use crate::tenant::ClientType;

/// Longest request quoted, in characters.
const REQUEST_CHARS: usize = 160;
/// Longest profile value shown, in characters.
const VALUE_CHARS: usize = 60;

/// The summary: `Jane Doe (jane@example.com, +31 6 1234 5678). Asked: "...". Profile (realtor):
/// intent: buy; location: Utrecht; budget: up to 400000 EUR. 3 visitor messages so far.`
pub fn summarize(lead: &Lead, client_type: ClientType) -> String {
    summarize_with(lead, client_type, None)
}

/// As [`summarize`], with the model's own summary of the request in place of the quoted first
/// request (the model's words, then the profile fields as found and checked).
pub fn summarize_with(lead: &Lead, client_type: ClientType, model_summary: Option<&str>) -> String {
    let who = if lead.name == ANONYMOUS || lead.name.trim().is_empty() {
        "Anonymous visitor".to_string()
    } else {
        lead.name.clone()
    };
    let contacts: Vec<&str> =
        [lead.email.as_str(), lead.phone.as_str()].into_iter().filter(|s| !s.is_empty()).collect();
    let mut out = if contacts.is_empty() {
        format!("{who} (no contact details yet).")
    } else {
        format!("{who} ({}).", contacts.join(", "))
    };
    match model_summary.map(str::trim).filter(|m| !m.is_empty()) {
        Some(m) => {
            out.push(' ');
            out.push_str(&shorten(m, 2 * REQUEST_CHARS));
        }
        None if !lead.message.is_empty() => {
            out.push_str(&format!(" Asked: \"{}\".", shorten(&lead.message, REQUEST_CHARS)));
        }
        None => {}
    }
    let fields = profile_line(lead, client_type);
    if !fields.is_empty() {
        out.push_str(&format!(
            " Profile ({}): {}.",
            client_type.as_str().replace('_', " "),
            fields.join("; ")
        ));
    }
    let visitor_msgs = lead.messages.iter().filter(|m| m.role == Role::User).count();
    if visitor_msgs > 0 {
        out.push_str(&format!(" {visitor_msgs} visitor messages so far."));
    }
    out
}

/// The profile as `key: value` items: the client type's fields in their order (a budget range
/// and its currency as one item), then any other field.
fn profile_line(lead: &Lead, client_type: ClientType) -> Vec<String> {
    let p = &lead.profile;
    let currency = p.get("currency").and_then(Value::as_str).map(|c| format!(" {c}")).unwrap_or_default();
    let amount = |k: &str| p.get(k).and_then(text);
    let budget = match (amount("budget_min"), amount("budget_max")) {
        (Some(a), Some(b)) if a == b => Some(format!("{a}{currency}")),
        (Some(a), Some(b)) => Some(format!("{a} to {b}{currency}")),
        (Some(a), None) => Some(format!("from {a}{currency}")),
        (None, Some(b)) => Some(format!("up to {b}{currency}")),
        (None, None) => None,
    };
    let mut items = Vec::new();
    let mut budget_done = false;
    let typed = client_type.profile_fields();
    for &k in typed {
        match k {
            "budget_min" | "budget_max" | "currency" => {
                if !budget_done && let Some(b) = &budget {
                    items.push(format!("budget: {b}"));
                }
                budget_done = true;
            }
            _ => {
                if let Some(v) = p.get(k).and_then(text) {
                    items.push(format!("{}: {}", k.replace('_', " "), shorten(&v, VALUE_CHARS)));
                }
            }
        }
    }
    for (k, v) in p {
        if typed.contains(&k.as_str()) {
            continue;
        }
        if let Some(v) = text(v) {
            items.push(format!("{}: {}", k.replace('_', " "), shorten(&v, VALUE_CHARS)));
        }
    }
    items
}

/// A profile value as text (strings, numbers and booleans; nothing for empty or nested values).
fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `s` on one line, cut at a word boundary to at most `max` characters (with an ellipsis).
pub(super) fn shorten(s: &str, max: usize) -> String {
    let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.chars().count() <= max {
        return s;
    }
    let cut: String = s.chars().take(max).collect();
    let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(a, _)| a).to_string();
    format!("{cut}…")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn lead(profile: Value) -> Lead {
        let mut l = Lead::new("lead_x".into(), "c", "s", "u");
        l.name = "Jane Doe".into();
        l.email = "jane@example.com".into();
        l.message = "We want to buy a flat in Utrecht".into();
        l.profile = profile.as_object().cloned().unwrap_or_default();
        l
    }

    #[test]
    fn the_profile_reads_in_the_types_order_with_one_budget_item() {
        let l = lead(json!({
            "location": "Utrecht", "intent": "buy", "budget_max": 400000, "currency": "EUR",
            "bedrooms": 3, "timeline": "next spring", "order_number": "A-1234"
        }));
        let s = summarize(&l, ClientType::Realtor);
        assert_eq!(
            s,
            "Jane Doe (jane@example.com). Asked: \"We want to buy a flat in Utrecht\". Profile (realtor): \
             intent: buy; location: Utrecht; budget: up to 400000 EUR; bedrooms: 3; timeline: next spring; \
             order number: A-1234."
        );
        let l =
            lead(json!({"service": "website", "budget_min": 3000, "budget_max": 5000, "currency": "EUR"}));
        let s = summarize(&l, ClientType::BusinessOwner);
        assert!(s.ends_with("Profile (business owner): service: website; budget: 3000 to 5000 EUR."), "{s}");
    }

    #[test]
    fn no_profile_no_profile_part_and_long_values_are_cut() {
        let mut l = lead(json!({}));
        l.name = ANONYMOUS.into();
        l.email.clear();
        assert_eq!(
            summarize(&l, ClientType::BusinessOwner),
            "Anonymous visitor (no contact details yet). Asked: \"We want to buy a flat in Utrecht\"."
        );
        let l = lead(json!({"service": "website"}));
        let s = summarize_with(&l, ClientType::BusinessOwner, Some("Wants a new website soon."));
        assert_eq!(
            s,
            "Jane Doe (jane@example.com). Wants a new website soon. Profile (business owner): service: website."
        );
        let l = lead(json!({"service": "x ".repeat(100)}));
        let s = summarize(&l, ClientType::BusinessOwner);
        assert!(s.contains('…') && s.chars().count() < 300, "{s}");
    }
}
