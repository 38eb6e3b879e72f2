//! Widget settings: what the widget shows and how it behaves, the partial update (patch) with
//! its validation, and the defaults of a new company.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::validate::{
    check_len, validate_color, validate_language, validate_launcher_label, validate_origin,
    validate_public_http_url, validate_suggested_questions,
};
use crate::error::{Error, Result};

/// Widget position, one of the four corners.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Position {
    #[default]
    BottomRight,
    BottomLeft,
    TopRight,
    TopLeft,
}

impl Position {
    pub const ALL: [&'static str; 4] = ["bottom-right", "bottom-left", "top-right", "top-left"];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::BottomRight => "bottom-right",
            Self::BottomLeft => "bottom-left",
            Self::TopRight => "top-right",
            Self::TopLeft => "top-left",
        }
    }

    /// Parse one of the four values.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming `position`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "bottom-right" => Ok(Self::BottomRight),
            "bottom-left" => Ok(Self::BottomLeft),
            "top-right" => Ok(Self::TopRight),
            "top-left" => Ok(Self::TopLeft),
            _ => Err(Error::invalid("position", format!("must be one of {}", Self::ALL.join(", ")))),
        }
    }
}

/// One row of `widget_settings`, plus the `allowed_origins` CORS allowlist.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WidgetSettings {
    pub company_id: String,
    pub primary_color: String,
    pub secondary_color: String,
    pub text_color: String,
    pub background_color: String,
    pub border_radius: i32,
    pub company_name: String,
    pub company_logo: Option<String>,
    pub welcome_message: String,
    pub placeholder_text: String,
    pub position: Position,
    pub auto_open: bool,
    pub show_typing_indicator: bool,
    pub ai_personality: String,
    pub ai_temperature: f64,
    pub max_tokens: i32,
    /// Origins allowed to embed the widget (CORS). Empty means any origin.
    pub allowed_origins: Vec<String>,
    /// Questions the widget offers as chips before the first message (at most
    /// [`WidgetSettings::MAX_SUGGESTED_QUESTIONS`], each 1 to [`WidgetSettings::MAX_SUGGESTED_QUESTION_CHARS`] characters).
    pub suggested_questions: Vec<String>,
    /// The widget's language: `auto` (the browser's) or one of [`WidgetSettings::LANGUAGES`].
    pub language: String,
    /// Whether the widget shows the sources under each answer.
    pub show_sources: bool,
    /// The launcher's text; empty: the widget's own translated "Chat with us".
    pub launcher_label: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl WidgetSettings {
    /// Languages the widget has strings for (besides `auto`, the visitor's browser).
    pub const LANGUAGES: &'static [&'static str] = LANGUAGES;
    /// Suggested questions shown before the first message, at most.
    pub const MAX_SUGGESTED_QUESTIONS: usize = MAX_SUGGESTED_QUESTIONS;
    /// Characters of one suggested question, at most.
    pub const MAX_SUGGESTED_QUESTION_CHARS: usize = MAX_SUGGESTED_QUESTION_CHARS;
    /// Characters of the launcher label, at most.
    pub const MAX_LAUNCHER_LABEL_CHARS: usize = MAX_LAUNCHER_LABEL_CHARS;
}

/// The seed's defaults, in one place.
pub mod defaults {
    pub const PRIMARY_COLOR: &str = "#007bff";
    pub const SECONDARY_COLOR: &str = "#6c757d";
    pub const TEXT_COLOR: &str = "#ffffff";
    pub const BACKGROUND_COLOR: &str = "#ffffff";
    pub const BORDER_RADIUS: i32 = 12;
    pub const PLACEHOLDER_TEXT: &str = "Type your message...";
    pub const POSITION: &str = "bottom-right";
    pub const AUTO_OPEN: bool = false;
    pub const SHOW_TYPING_INDICATOR: bool = true;
    pub const AI_PERSONALITY: &str = "friendly and helpful assistant";
    pub const AI_TEMPERATURE: f64 = 0.7;
    pub const MAX_TOKENS: i32 = 500;
    pub const LANGUAGE: &str = "auto";
    pub const SHOW_SOURCES: bool = true;
    pub const LAUNCHER_LABEL: &str = "";
}

/// The languages the widget can be set to (besides `auto`): those it has strings for.
pub(crate) const LANGUAGES: &[&str] = &["en", "de", "fr", "es", "nl", "ar", "he"];
/// At most this many suggested questions.
pub(crate) const MAX_SUGGESTED_QUESTIONS: usize = 4;
/// Characters of one suggested question.
pub(crate) const MAX_SUGGESTED_QUESTION_CHARS: usize = 120;
/// Characters of the launcher label.
pub(crate) const MAX_LAUNCHER_LABEL_CHARS: usize = 40;

impl WidgetSettings {
    /// Settings for a new company: the seed's defaults, its name, and a welcome message.
    pub fn defaults_for(company_id: &str, company_name: &str, now: DateTime<Utc>) -> Self {
        use defaults as d;
        Self {
            company_id: company_id.to_string(),
            primary_color: d::PRIMARY_COLOR.into(),
            secondary_color: d::SECONDARY_COLOR.into(),
            text_color: d::TEXT_COLOR.into(),
            background_color: d::BACKGROUND_COLOR.into(),
            border_radius: d::BORDER_RADIUS,
            company_name: company_name.to_string(),
            company_logo: None,
            welcome_message: crate::text::fixed_text(None, crate::text::FixedText::Welcome, company_name, ""),
            placeholder_text: d::PLACEHOLDER_TEXT.into(),
            position: Position::BottomRight,
            auto_open: d::AUTO_OPEN,
            show_typing_indicator: d::SHOW_TYPING_INDICATOR,
            ai_personality: d::AI_PERSONALITY.into(),
            ai_temperature: d::AI_TEMPERATURE,
            max_tokens: d::MAX_TOKENS,
            allowed_origins: Vec::new(),
            suggested_questions: Vec::new(),
            language: d::LANGUAGE.into(),
            show_sources: d::SHOW_SOURCES,
            launcher_label: d::LAUNCHER_LABEL.into(),
            created_at: now,
            updated_at: now,
        }
    }

    /// Whether `origin` may embed this widget (empty allowlist: any origin).
    pub fn origin_allowed(&self, origin: &str) -> bool {
        self.allowed_origins.is_empty()
            || self.allowed_origins.iter().any(|o| o == "*" || o.eq_ignore_ascii_case(origin))
    }
}

/// A partial update of [`WidgetSettings`]: only the fields present change. Unknown fields are
/// rejected (`deny_unknown_fields`), so a typo never silently does nothing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WidgetSettingsPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_color: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secondary_color: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_color: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background_color: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub border_radius: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_name: Option<String>,
    /// `Some(None)` clears the logo (JSON `null`).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "double_option")]
    pub company_logo: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub welcome_message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placeholder_text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<Position>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_open: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show_typing_indicator: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ai_personality: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ai_temperature: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_origins: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suggested_questions: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show_sources: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launcher_label: Option<String>,
}

mod double_option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<Option<String>>, s: S) -> Result<S::Ok, S::Error> {
        v.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
        Option::<String>::deserialize(d).map(Some)
    }
}

/// Field names a patch accepts, for messages and the CLI.
pub const SETTINGS_FIELDS: &[&str] = &[
    "primary_color",
    "secondary_color",
    "text_color",
    "background_color",
    "border_radius",
    "company_name",
    "company_logo",
    "welcome_message",
    "placeholder_text",
    "position",
    "auto_open",
    "show_typing_indicator",
    "ai_personality",
    "ai_temperature",
    "max_tokens",
    "allowed_origins",
    "suggested_questions",
    "language",
    "show_sources",
    "launcher_label",
];

impl WidgetSettingsPatch {
    /// Parse a JSON body. Unknown fields and wrong types become [`Error::Invalid`] naming the field.
    ///
    /// # Errors
    /// [`Error::Malformed`] for invalid JSON or a non-object, [`Error::Invalid`] for a bad field.
    pub fn from_json(body: &[u8]) -> Result<Self> {
        let value: serde_json::Value =
            serde_json::from_slice(body).map_err(|e| Error::Malformed(format!("invalid JSON: {e}")))?;
        Self::from_value(value)
    }

    /// Parse from a JSON value, field by field so an error names its field.
    ///
    /// # Errors
    /// [`Error::Malformed`] for a non-object, [`Error::Invalid`] for a bad or unknown field.
    pub fn from_value(value: serde_json::Value) -> Result<Self> {
        let serde_json::Value::Object(mut map) = value else {
            return Err(Error::Malformed("settings must be a JSON object".into()));
        };
        for (k, v) in &mut map {
            if !SETTINGS_FIELDS.contains(&k.as_str()) {
                return Err(Error::invalid(k.clone(), "unknown field"));
            }
            // `null` would read as "absent" and silently change nothing; only the logo can be
            // cleared.
            if v.is_null() && k != "company_logo" {
                return Err(Error::invalid(k.clone(), "must not be null"));
            }
            // JSON has one number type: `25.0` is the whole number 25 (as JSON Schema reads it).
            if matches!(k.as_str(), "border_radius" | "max_tokens")
                && let Some(n) = whole_number(v)
            {
                *v = serde_json::Value::from(n);
            }
            // Type-check each field alone so the error names it.
            let mut one = serde_json::Map::new();
            one.insert(k.clone(), v.clone());
            if let Err(e) = serde_json::from_value::<Self>(serde_json::Value::Object(one)) {
                return Err(Error::invalid(k.clone(), type_reason(k, &e)));
            }
        }
        let patch: Self = serde_json::from_value(serde_json::Value::Object(map))
            .map_err(|e| Error::Malformed(e.to_string()))?;
        patch.validate()?;
        Ok(patch.normalized())
    }

    /// Build a patch from CLI `FIELD=VALUE` pairs (strings converted by the field's type).
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the field.
    pub fn from_pairs<S: AsRef<str>>(pairs: &[S]) -> Result<Self> {
        let mut map = serde_json::Map::new();
        for pair in pairs {
            let pair = pair.as_ref();
            let Some((k, v)) = pair.split_once('=') else {
                return Err(Error::invalid(pair, "expected FIELD=VALUE"));
            };
            let k = k.trim();
            let value = match k {
                "border_radius" | "max_tokens" => serde_json::Value::from(
                    v.trim().parse::<i64>().map_err(|_| Error::invalid(k, "must be a whole number"))?,
                ),
                "ai_temperature" => serde_json::Value::from(
                    v.trim().parse::<f64>().map_err(|_| Error::invalid(k, "must be a number"))?,
                ),
                "auto_open" | "show_typing_indicator" | "show_sources" => serde_json::Value::from(
                    parse_bool(v).ok_or_else(|| Error::invalid(k, "must be true or false"))?,
                ),
                "allowed_origins" => serde_json::Value::from(
                    v.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(String::from)
                        .collect::<Vec<_>>(),
                ),
                // A JSON list, or questions separated by `|` (empty: none).
                "suggested_questions" => match serde_json::from_str::<serde_json::Value>(v) {
                    Ok(list @ serde_json::Value::Array(_)) => list,
                    _ => serde_json::Value::from(
                        v.split('|').map(str::trim).filter(|s| !s.is_empty()).collect::<Vec<_>>(),
                    ),
                },
                "company_logo" if v.is_empty() => serde_json::Value::Null,
                _ => serde_json::Value::from(v),
            };
            map.insert(k.to_string(), value);
        }
        Self::from_value(serde_json::Value::Object(map))
    }

    /// The patch with the free texts of the new fields trimmed (suggested questions and the
    /// launcher label), as they are stored. A valid patch stays valid.
    #[must_use]
    pub fn normalized(mut self) -> Self {
        if let Some(qs) = &mut self.suggested_questions {
            for q in qs.iter_mut() {
                *q = q.trim().to_string();
            }
        }
        if let Some(l) = &mut self.launcher_label {
            *l = l.trim().to_string();
        }
        self
    }

    /// True when the patch changes nothing.
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }

    /// Validate every present field, naming the first bad one.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the field and the reason.
    pub fn validate(&self) -> Result<()> {
        for (field, v) in [
            ("primary_color", &self.primary_color),
            ("secondary_color", &self.secondary_color),
            ("text_color", &self.text_color),
            ("background_color", &self.background_color),
        ] {
            if let Some(c) = v {
                validate_color(field, c)?;
            }
        }
        if let Some(r) = self.border_radius
            && !(0..=64).contains(&r)
        {
            return Err(Error::invalid("border_radius", "must be between 0 and 64"));
        }
        if let Some(n) = &self.company_name {
            check_len("company_name", n, 1, 255)?;
        }
        if let Some(Some(l)) = &self.company_logo {
            check_len("company_logo", l, 1, 500)?;
            validate_public_http_url("company_logo", l)?;
        }
        if let Some(w) = &self.welcome_message {
            check_len("welcome_message", w, 1, 1000)?;
        }
        if let Some(p) = &self.placeholder_text {
            check_len("placeholder_text", p, 1, 255)?;
        }
        if let Some(p) = &self.ai_personality {
            check_len("ai_personality", p, 1, 1000)?;
        }
        if let Some(t) = self.ai_temperature
            && (!(0.0..=2.0).contains(&t) || !t.is_finite())
        {
            return Err(Error::invalid("ai_temperature", "must be between 0.0 and 2.0"));
        }
        if let Some(m) = self.max_tokens
            && !(1..=4096).contains(&m)
        {
            return Err(Error::invalid("max_tokens", "must be between 1 and 4096"));
        }
        if let Some(origins) = &self.allowed_origins {
            if origins.len() > 100 {
                return Err(Error::invalid("allowed_origins", "at most 100 origins"));
            }
            for o in origins {
                validate_origin("allowed_origins", o)?;
            }
        }
        if let Some(qs) = &self.suggested_questions {
            validate_suggested_questions("suggested_questions", qs)?;
        }
        if let Some(l) = &self.language {
            validate_language("language", l)?;
        }
        if let Some(l) = &self.launcher_label {
            validate_launcher_label("launcher_label", l)?;
        }
        Ok(())
    }

    /// Apply this patch to `settings` in memory (the store does the same atomically in SQL).
    pub fn apply_to(&self, s: &mut WidgetSettings) {
        macro_rules! set {
            ($($f:ident),*) => { $( if let Some(v) = &self.$f { s.$f = v.clone(); } )* };
        }
        set!(
            primary_color,
            secondary_color,
            text_color,
            background_color,
            border_radius,
            company_name,
            company_logo,
            welcome_message,
            placeholder_text,
            position,
            auto_open,
            show_typing_indicator,
            ai_personality,
            ai_temperature,
            max_tokens,
            allowed_origins,
            suggested_questions,
            language,
            show_sources,
            launcher_label
        );
    }
}

fn type_reason(field: &str, e: &serde_json::Error) -> String {
    let expected = match field {
        "border_radius" | "max_tokens" => "must be a whole number",
        "ai_temperature" => "must be a number",
        "auto_open" | "show_typing_indicator" | "show_sources" => "must be true or false",
        "allowed_origins" => "must be a list of origins",
        "suggested_questions" => "must be a list of strings",
        "position" => "must be one of bottom-right, bottom-left, top-right, top-left",
        "company_logo" => "must be a URL string or null",
        _ => "must be a string",
    };
    let detail = e.to_string();
    if detail.contains("unknown variant")
        || detail.contains("invalid type")
        || detail.contains("invalid value")
    {
        expected.to_string()
    } else {
        format!("{expected} ({detail})")
    }
}

/// A number with no fractional part (`25.0`, `2.5e1`) as an integer; `None` for anything else
/// (including integers, which need no change, and numbers past the `i64` range).
fn whole_number(v: &serde_json::Value) -> Option<i64> {
    let f = v.as_f64().filter(|_| v.is_f64())?;
    // The range check keeps the cast exact (|f| < 2^63 is representable).
    (f.fract() == 0.0 && f.abs() < 9.2e18).then_some(f as i64)
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" | "on" => Some(true),
        "false" | "no" | "0" | "off" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
#[path = "settings_tests.rs"]
mod tests;
