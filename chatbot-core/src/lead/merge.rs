//! Merging a model's profile extraction into the offline one: the rules' values stay (they are
//! read from the visitor's words), the model may add fields the rules did not find, and every
//! value it adds must be supported by what the visitor wrote (as its contact details are):
//! numbers by their digits, text by its words. Nothing the visitor never wrote is kept.

use serde_json::{Map, Number, Value};

use crate::tenant::ClientType;

/// The model's profile values the visitor's text supports, with numeric fields as numbers.
/// `visitor_text` is everything the visitor wrote.
pub fn supported_profile(model: &Map<String, Value>, visitor_text: &str) -> Map<String, Value> {
    let lower = visitor_text.to_lowercase();
    let digits_in_text = digit_runs(&lower);
    let mut out = Map::new();
    for (k, v) in model {
        let kept = if ClientType::is_numeric_field(k) {
            number_of(v).filter(|n| number_supported(*n, &digits_in_text)).and_then(to_json_number)
        } else {
            text_of(v).filter(|s| words_supported(s, &lower)).map(Value::String)
        };
        if let Some(v) = kept {
            out.insert(k.clone(), v);
        }
    }
    out
}

/// Merge `found` into `profile`: keys `profile` lacks are added; the rules' own values stay.
/// Returns whether anything was added.
pub fn add_missing(profile: &mut Map<String, Value>, found: Map<String, Value>) -> bool {
    let mut changed = false;
    for (k, v) in found {
        if !profile.contains_key(&k) {
            profile.insert(k, v);
            changed = true;
        }
    }
    changed
}

fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().chars().take(200).collect::<String>()).filter(|s| !s.is_empty()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A number from a JSON number or a string as a visitor or a model writes it ("400000", "400k",
/// "1,5 Mio", "€ 5.000"), read by the profile rules' amount parser.
fn number_of(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => super::profile::parse_amount(s).map(|(n, _)| n),
        _ => None,
    }
    .filter(|n| n.is_finite() && *n >= 0.0)
}

fn to_json_number(n: f64) -> Option<Value> {
    if n.fract() == 0.0 && n <= 9.0e15 {
        // Whole numbers as integers (export columns read better). The cast is exact below 2^53.
        #[allow(clippy::cast_possible_truncation)]
        return Some(Value::Number(Number::from(n as i64)));
    }
    Number::from_f64(n).map(Value::Number)
}

/// The runs of digits in the text ("400", "000" in "400.000"; "400" in "400k").
fn digit_runs(lower: &str) -> Vec<String> {
    lower.split(|c: char| !c.is_ascii_digit()).filter(|r| !r.is_empty()).map(String::from).collect()
}

/// A number is supported when its significant digits were written: 400000 by "400000",
/// "400.000", "400k" or "400 duizend"; 3 by "3".
fn number_supported(n: f64, runs: &[String]) -> bool {
    if n.fract() != 0.0 {
        return false;
    }
    #[allow(clippy::cast_possible_truncation)]
    let whole = format!("{}", n as i64);
    let significant = whole.trim_end_matches('0');
    let significant = if significant.is_empty() { "0" } else { significant };
    let joined = runs.concat();
    runs.iter().any(|r| r == &whole || r.trim_end_matches('0') == significant) || joined.contains(&whole)
}

/// Text is supported when each of its words of three or more letters occurs in the visitor's
/// text (so "Utrecht" or "logo design" is kept, a translation or a guess is not).
fn words_supported(value: &str, lower: &str) -> bool {
    let words: Vec<String> = value
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 3)
        .map(str::to_lowercase)
        .collect();
    !words.is_empty() && words.iter().all(|w| lower.contains(w.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn only_what_the_visitor_wrote_is_kept() {
        let text =
            "We zoeken een appartement in Utrecht, max 400k, 3 slaapkamers. Budget 5.000 voor de verhuizing";
        let got = supported_profile(
            &map(json!({
                "location": "Utrecht", "budget_max": "400000", "bedrooms": 3, "property_type": "apartment",
                "timeline": "spring", "company_size": "12", "size_m2": "5000"
            })),
            text,
        );
        assert_eq!(got.get("location"), Some(&json!("Utrecht")));
        assert_eq!(got.get("budget_max"), Some(&json!(400000)));
        assert_eq!(got.get("bedrooms"), Some(&json!(3)));
        assert_eq!(got.get("size_m2"), Some(&json!(5000)), "5.000 was written");
        assert!(!got.contains_key("property_type"), "a translation the visitor did not write");
        assert!(!got.contains_key("timeline"), "never written");
        assert!(!got.contains_key("company_size"), "12 was never written");
    }

    #[test]
    fn the_rules_values_stay_and_the_model_adds() {
        let mut p = map(json!({"location": "Utrecht"}));
        assert!(add_missing(&mut p, map(json!({"location": "Amsterdam", "bedrooms": 3}))));
        assert_eq!(p, map(json!({"location": "Utrecht", "bedrooms": 3})));
        assert!(!add_missing(&mut p, map(json!({"location": "Delft"}))));
    }

    #[test]
    fn numbers_read_from_strings() {
        assert_eq!(number_of(&json!("400k")), Some(400_000.0));
        assert_eq!(number_of(&json!("1,5 Mio")), Some(1_500_000.0));
        assert_eq!(number_of(&json!("€ 5.000")), Some(5000.0));
        assert_eq!(number_of(&json!("lots")), None);
        assert_eq!(number_of(&json!([1])), None);
    }
}
