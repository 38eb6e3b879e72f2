//! The lead rules for one visitor message: the contact details and profile fields it states
//! (rules that never invent), applied to the lead; the offline summary of a lead. Pure: no I/O.
//!
//! Recognising contact details and the message's intent is text analysis (`crate::text`); the
//! functions are re-exported here under their long-standing paths. Later messages correct
//! earlier ones; `message` keeps the visitor's first real request.

use std::sync::LazyLock;

use regex::Regex;

use crate::lead::{Lead, profile};
use crate::tenant::ClientType;
use crate::text::built_in_regex;
pub use crate::text::{
    asks_for_contact, extract_email, extract_name, extract_phone, is_contact_message, is_real_request,
    is_small_talk, reveals_contact,
};

/// What one message revealed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contacts {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

impl Contacts {
    pub fn is_empty(&self) -> bool {
        self.name.is_none() && self.email.is_none() && self.phone.is_none()
    }
}

/// Extract a name, e-mail and phone the visitor stated about themself. Never invents.
pub fn extract_contacts(text: &str) -> Contacts {
    Contacts { name: extract_name(text), email: extract_email(text), phone: extract_phone(text) }
}

static ORDER_NO: LazyLock<Option<Regex>> = LazyLock::new(|| {
    built_in_regex(
        r"(?i)\border(?:\s*(?:number|no\.?|nr\.?|#|id))?\s*(?:is|:)?\s*#?\s*([A-Z]{0,4}-?\d[\dA-Z\-]{3,19})\b",
    )
});
/// The order number a visitor gives ("order A-1001", "order number: 123456").
pub fn extract_order_number(text: &str) -> Option<String> {
    ORDER_NO.as_ref().and_then(|r| r.captures(text)).and_then(|c| c.get(1)).map(|m| m.as_str().to_string())
}

/// Profile fields the rules can read without a model (what the visitor literally wrote): the
/// business-owner fields ([`profile::extract_profile_for`]) and an order number. Kept for
/// callers that do not know the company's client type.
pub fn extract_profile(text: &str) -> serde_json::Map<String, serde_json::Value> {
    extract_profile_with_order(ClientType::BusinessOwner, text)
}

/// The client type's profile fields, and for a business owner an order number (an estate
/// agent's visitors have no orders).
pub fn extract_profile_with_order(
    client_type: ClientType,
    text: &str,
) -> serde_json::Map<String, serde_json::Value> {
    let mut out = profile::extract_profile_for(client_type, text);
    if client_type == ClientType::BusinessOwner
        && let Some(n) = extract_order_number(text)
    {
        out.insert("order_number".into(), n.into());
    }
    out
}

/// What applying a visitor message to a lead changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LeadUpdate {
    pub changed: bool,
    pub became_ready: bool,
}

/// Apply a visitor message to the lead: contacts (later ones correct earlier ones), the first
/// real request into `message`, profile fields the rules can read, readiness.
pub fn apply_message(lead: &mut Lead, text: &str) -> LeadUpdate {
    apply_message_for(lead, ClientType::default(), text)
}

/// [`apply_message`] with the profile fields of the company's client type.
pub fn apply_message_for(lead: &mut Lead, client_type: ClientType, text: &str) -> LeadUpdate {
    let c = extract_contacts(text);
    let profile = extract_profile_with_order(client_type, text);
    apply_extracted(lead, text, &c, &profile)
}

/// Apply contacts and profile fields found by any extractor (rules or a model). Only non-empty
/// values overwrite (a later value for a key replaces the earlier one, see
/// [`profile::merge_profile`]); readiness follows [`Lead::compute_ready`].
pub fn apply_extracted(
    lead: &mut Lead,
    text: &str,
    c: &Contacts,
    profile: &serde_json::Map<String, serde_json::Value>,
) -> LeadUpdate {
    let before = lead.is_lead_ready;
    let mut changed = false;
    let mut set = |field: &mut String, v: &Option<String>| {
        if let Some(v) = v.as_deref().map(str::trim).filter(|v| !v.is_empty() && field != v) {
            *field = v.to_string();
            changed = true;
        }
    };
    set(&mut lead.name, &c.name);
    set(&mut lead.email, &c.email);
    set(&mut lead.phone, &c.phone);
    changed |= profile::merge_profile(&mut lead.profile, profile.clone());
    if lead.message.is_empty() && is_real_request(text) {
        lead.message = text.trim().to_string();
        changed = true;
    }
    lead.is_lead_ready = lead.compute_ready();
    LeadUpdate {
        changed: changed || before != lead.is_lead_ready,
        became_ready: !before && lead.is_lead_ready,
    }
}

/// A short profile of the lead built from its fields (the offline AI summary), for a business
/// owner; [`super::summary::summarize`] takes the company's client type.
pub fn offline_summary(lead: &Lead) -> String {
    super::summary::summarize(lead, crate::tenant::ClientType::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_compile() {
        assert!(ORDER_NO.is_some());
    }
}
