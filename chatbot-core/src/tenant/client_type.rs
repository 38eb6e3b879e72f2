//! A company's client type (the widget-flow seed's `clientType`): what kind of business the
//! widget serves, which decides the lead profile the bot collects.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// What kind of business a company is. Decides the default lead profile fields, which of them
/// make a profile complete, and what the bot asks for next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ClientType {
    /// An estate agent: visitors buy, rent or sell property.
    Realtor,
    /// Any other business: visitors want a product or a service.
    #[default]
    BusinessOwner,
}

/// The realtor's profile fields, in export-column order.
pub const REALTOR_FIELDS: &[&str] = &[
    "intent",
    "property_type",
    "location",
    "budget_min",
    "budget_max",
    "currency",
    "bedrooms",
    "size_m2",
    "timeline",
    "financing",
];

/// The business owner's profile fields, in export-column order.
pub const BUSINESS_OWNER_FIELDS: &[&str] = &[
    "service",
    "company_name",
    "company_size",
    "budget_min",
    "budget_max",
    "currency",
    "timeline",
    "preferred_contact_time",
];

/// Fields whose values are numbers (amounts, counts, areas); every other field is text.
pub(crate) const NUMERIC_FIELDS: &[&str] =
    &["budget_min", "budget_max", "bedrooms", "size_m2", "company_size"];

impl ClientType {
    /// Whether `field`'s values are numbers (amounts, counts, areas) rather than text.
    pub fn is_numeric_field(field: &str) -> bool {
        NUMERIC_FIELDS.contains(&field)
    }

    pub const ALL: [&'static str; 2] = ["realtor", "business_owner"];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Realtor => "realtor",
            Self::BusinessOwner => "business_owner",
        }
    }

    /// Parse one of [`ClientType::ALL`].
    ///
    /// # Errors
    /// [`Error::Invalid`] naming `client_type`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "realtor" => Ok(Self::Realtor),
            "business_owner" => Ok(Self::BusinessOwner),
            _ => Err(Error::invalid("client_type", format!("must be one of {}", Self::ALL.join(", ")))),
        }
    }

    /// The type's profile fields with fixed keys (export columns), in order.
    pub fn profile_fields(self) -> &'static [&'static str] {
        match self {
            Self::Realtor => REALTOR_FIELDS,
            Self::BusinessOwner => BUSINESS_OWNER_FIELDS,
        }
    }

    /// Whether the type's key fields are known: realtor, the intent and a location or budget;
    /// business owner, the service.
    pub fn profile_complete(self, profile: &serde_json::Map<String, serde_json::Value>) -> bool {
        let has = |k: &str| {
            profile.get(k).is_some_and(|v| !v.is_null() && v.as_str().is_none_or(|s| !s.trim().is_empty()))
        };
        match self {
            Self::Realtor => has("intent") && (has("location") || has("budget_min") || has("budget_max")),
            Self::BusinessOwner => has("service"),
        }
    }

    /// The missing field most worth asking for next, in the order that matters to the type.
    pub fn next_missing_field(
        self,
        profile: &serde_json::Map<String, serde_json::Value>,
    ) -> Option<&'static str> {
        let order: &[&str] = match self {
            Self::Realtor => &["intent", "location", "budget_max", "property_type", "bedrooms", "timeline"],
            Self::BusinessOwner => &["service", "budget_max", "timeline", "company_name"],
        };
        order.iter().copied().find(|k| profile.get(*k).is_none_or(serde_json::Value::is_null))
    }
}

impl std::fmt::Display for ClientType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parse_round_trips_and_rejects_others() {
        for s in ClientType::ALL {
            assert_eq!(ClientType::parse(s).unwrap().as_str(), s);
            assert_eq!(serde_json::to_value(ClientType::parse(s).unwrap()).unwrap(), json!(s));
        }
        assert!(ClientType::parse("Realtor").is_err());
        assert!(ClientType::parse("").is_err());
        assert_eq!(ClientType::default(), ClientType::BusinessOwner);
    }

    #[test]
    fn completeness_by_type() {
        let p = |v: serde_json::Value| v.as_object().unwrap().clone();
        assert!(!ClientType::Realtor.profile_complete(&p(json!({"intent": "buy"}))));
        assert!(ClientType::Realtor.profile_complete(&p(json!({"intent": "buy", "location": "Utrecht"}))));
        assert!(ClientType::Realtor.profile_complete(&p(json!({"intent": "rent", "budget_max": 1500}))));
        assert!(!ClientType::BusinessOwner.profile_complete(&p(json!({"budget_max": 5000}))));
        assert!(ClientType::BusinessOwner.profile_complete(&p(json!({"service": "website"}))));
        assert_eq!(ClientType::Realtor.next_missing_field(&p(json!({"intent": "buy"}))), Some("location"));
        assert_eq!(ClientType::BusinessOwner.next_missing_field(&p(json!({}))), Some("service"));
    }
}
