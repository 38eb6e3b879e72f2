//! Leads: one per session, built from what the visitor says.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::conversation::Message;
use crate::error::{Error, Result};

pub mod extract;
pub mod merge;
pub mod profile;
pub mod summary;

/// Lead pipeline status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LeadStatus {
    #[default]
    New,
    Contacted,
    Qualified,
    Converted,
}

impl LeadStatus {
    pub const ALL: [&'static str; 4] = ["new", "contacted", "qualified", "converted"];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Contacted => "contacted",
            Self::Qualified => "qualified",
            Self::Converted => "converted",
        }
    }

    /// # Errors
    /// [`Error::Invalid`] naming `status`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "new" => Ok(Self::New),
            "contacted" => Ok(Self::Contacted),
            "qualified" => Ok(Self::Qualified),
            "converted" => Ok(Self::Converted),
            _ => Err(Error::invalid("status", format!("must be one of {}", Self::ALL.join(", ")))),
        }
    }

    /// Forward one step at a time (new -> contacted -> qualified -> converted), or back one step
    /// to correct a mistake. A converted lead is final. Staying put is allowed (idempotent).
    pub fn can_move_to(self, to: Self) -> bool {
        let (a, b) = (self as i32, to as i32);
        if self == Self::Converted {
            return to == Self::Converted;
        }
        b == a || b == a + 1 || b + 1 == a
    }

    /// # Errors
    /// [`Error::Conflict`] when the transition is not allowed.
    pub fn transition(self, to: Self) -> Result<Self> {
        if self.can_move_to(to) {
            Ok(to)
        } else {
            Err(Error::Conflict(format!(
                "a lead cannot move from {} to {} (allowed: one step forward, or one step back before converted)",
                self.as_str(),
                to.as_str()
            )))
        }
    }
}

/// A lead, with the seed's defaults (`source: 'chatbot'`, `status: 'new'`, `name: 'Anonymous'`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lead {
    pub lead_id: String,
    pub company_id: String,
    pub session_id: String,
    pub user_id: String,
    pub source: String,
    pub status: LeadStatus,
    pub is_lead_ready: bool,
    pub name: String,
    pub email: String,
    pub phone: String,
    /// The visitor's first real request.
    pub message: String,
    /// The conversation (loaded from `chat_conversations`, the one source of truth).
    pub messages: Vec<Message>,
    pub ai_summary: String,
    /// Company-specific profile fields (budget, area, order number, ...).
    pub profile: serde_json::Map<String, serde_json::Value>,
    /// Whether the key profile fields of the company's client type are known (realtor: the
    /// intent and a location or budget; business owner: the service). Derived from `profile` on
    /// every read of the admin view and the webhook; not stored.
    #[serde(default)]
    pub profile_complete: bool,
    /// When the company's webhook was notified (once, on readiness).
    pub notified_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub const ANONYMOUS: &str = "Anonymous";

impl Lead {
    /// A new lead for a new session, exactly as the seed's "Lead Creation Logic".
    pub fn new(lead_id: String, company_id: &str, session_id: &str, user_id: &str) -> Self {
        let now = Utc::now();
        Self {
            lead_id,
            company_id: company_id.to_string(),
            session_id: session_id.to_string(),
            user_id: user_id.to_string(),
            source: "chatbot".into(),
            status: LeadStatus::New,
            is_lead_ready: false,
            name: ANONYMOUS.into(),
            email: String::new(),
            phone: String::new(),
            message: String::new(),
            messages: Vec::new(),
            ai_summary: String::new(),
            profile: serde_json::Map::new(),
            profile_complete: false,
            notified_at: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// Ready when a name and at least one contact (email or phone) are known.
    pub fn compute_ready(&self) -> bool {
        self.name != ANONYMOUS
            && !self.name.trim().is_empty()
            && (!self.email.is_empty() || !self.phone.is_empty())
    }
}

/// What a visitor may see of their own lead in a chat reply: the contact details they gave in
/// this conversation and where the lead stands. Internal fields (the summary, the profile, the
/// conversation, webhook state) stay on the admin view ([`Lead`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VisitorLead {
    pub lead_id: String,
    pub name: String,
    pub email: String,
    pub phone: String,
    pub is_lead_ready: bool,
    pub status: LeadStatus,
    pub source: String,
}

impl From<&Lead> for VisitorLead {
    fn from(l: &Lead) -> Self {
        Self {
            lead_id: l.lead_id.clone(),
            name: l.name.clone(),
            email: l.email.clone(),
            phone: l.phone.clone(),
            is_lead_ready: l.is_lead_ready,
            status: l.status,
            source: l.source.clone(),
        }
    }
}

/// Filter for listing leads.
#[derive(Debug, Clone, Default)]
pub struct LeadFilter {
    pub status: Option<LeadStatus>,
    pub ready: Option<bool>,
    pub limit: u32,
    pub offset: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transitions() {
        use LeadStatus::*;
        assert!(New.can_move_to(Contacted));
        assert!(Contacted.can_move_to(Qualified));
        assert!(Qualified.can_move_to(Converted));
        assert!(Contacted.can_move_to(New));
        assert!(!New.can_move_to(Converted));
        assert!(!New.can_move_to(Qualified));
        assert!(!Converted.can_move_to(Qualified));
        assert!(New.transition(Converted).is_err());
    }

    #[test]
    fn new_lead_defaults() {
        let l = Lead::new("lead_1".into(), "123", "s", "u");
        assert_eq!((l.source.as_str(), l.status, l.is_lead_ready), ("chatbot", LeadStatus::New, false));
        assert_eq!(
            (l.name.as_str(), l.email.as_str(), l.phone.as_str(), l.message.as_str()),
            ("Anonymous", "", "", "")
        );
        assert!(l.messages.is_empty());
        assert!(!l.compute_ready());
    }
}
