//! Contact extraction from what the visitor writes. (Interface; rules filled by the leads work.)

use crate::lead::Lead;

/// What one message revealed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contacts {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// Extract a name, e-mail and phone the visitor stated about themself. Never invents.
pub fn extract_contacts(_text: &str) -> Contacts {
    Contacts::default()
}

/// What applying a visitor message to a lead changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LeadUpdate {
    pub changed: bool,
    pub became_ready: bool,
}

/// Apply a visitor message to the lead: contacts (later ones correct earlier ones), the first
/// real request into `message`, readiness.
pub fn apply_message(lead: &mut Lead, text: &str) -> LeadUpdate {
    let before = lead.is_lead_ready;
    let c = extract_contacts(text);
    let mut changed = false;
    if let Some(n) = c.name {
        lead.name = n;
        changed = true;
    }
    if let Some(e) = c.email {
        lead.email = e;
        changed = true;
    }
    if let Some(p) = c.phone {
        lead.phone = p;
        changed = true;
    }
    if lead.message.is_empty() && !text.trim().is_empty() {
        lead.message = text.trim().to_string();
        changed = true;
    }
    lead.is_lead_ready = lead.compute_ready();
    LeadUpdate {
        changed: changed || before != lead.is_lead_ready,
        became_ready: !before && lead.is_lead_ready,
    }
}

/// A short profile of the lead built from its fields (the offline AI summary).
pub fn offline_summary(lead: &Lead) -> String {
    let mut parts = vec![format!("Name: {}", lead.name)];
    if !lead.email.is_empty() {
        parts.push(format!("Email: {}", lead.email));
    }
    if !lead.phone.is_empty() {
        parts.push(format!("Phone: {}", lead.phone));
    }
    if !lead.message.is_empty() {
        parts.push(format!("Request: {}", lead.message));
    }
    parts.join(". ")
}
