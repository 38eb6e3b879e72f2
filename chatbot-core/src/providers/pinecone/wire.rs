//! Pinecone's data rules and shapes: base URLs, error bodies, metadata limits, filters, ids.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::MAX_METADATA_BYTES;
use crate::error::{Error, Result};
use crate::rag::{Metadata, MetadataFilter};

/// `host` -> `https://host`; full URLs are kept; trailing slashes dropped.
pub(super) fn base_url(host: &str) -> String {
    let h = host.trim().trim_end_matches('/');
    if h.starts_with("http://") || h.starts_with("https://") { h.to_string() } else { format!("https://{h}") }
}

/// `HTTP 400 Bad Request (code 3): message`, from `{"code","message"}` JSON or plain text.
pub(super) fn error_message(status: StatusCode, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let detail = match serde_json::from_slice::<Value>(body) {
        Ok(v) => {
            let obj = v.get("error").filter(|e| e.is_object()).unwrap_or(&v);
            match obj.get("message").and_then(Value::as_str) {
                Some(m) => match obj.get("code") {
                    Some(c) if !c.is_null() => {
                        format!("(code {}) {m}", c.as_str().map_or(c.to_string(), String::from))
                    }
                    _ => m.to_string(),
                },
                None => v.as_str().map_or_else(|| text.trim().to_string(), String::from),
            }
        }
        Err(_) => text.trim().to_string(),
    };
    let mut detail: String = detail.chars().take(500).collect();
    if detail.is_empty() {
        detail = "no body".into();
    }
    let hint = if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
        " (check PINECONE_API_KEY)"
    } else {
        ""
    };
    format!("HTTP {status}{hint}: {detail}")
}

/// Make metadata follow Pinecone's rules: drop nulls, nested objects and non-string lists;
/// shorten the longest strings until the JSON is under [`MAX_METADATA_BYTES`].
pub fn sanitize_metadata(meta: &Metadata) -> Metadata {
    let mut out = Metadata::new();
    for (k, v) in meta {
        match v {
            Value::Null | Value::Object(_) => {}
            Value::Array(items) => {
                if items.iter().all(Value::is_string) {
                    out.insert(k.clone(), v.clone());
                }
            }
            _ => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    loop {
        let size = serde_json::to_vec(&out).map_or(0, |b| b.len());
        if size <= MAX_METADATA_BYTES {
            return out;
        }
        let over = size - MAX_METADATA_BYTES;
        let longest = out
            .iter()
            .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.len())))
            .max_by_key(|(_, len)| *len);
        match longest {
            Some((key, len)) if len > 0 => {
                if let Some(Value::String(s)) = out.get_mut(&key) {
                    let mut cut = len.saturating_sub(over + 16);
                    while cut > 0 && !s.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    s.truncate(cut);
                }
            }
            _ => {
                // Only lists/numbers left: drop the largest list.
                let key = out
                    .iter()
                    .filter(|(_, v)| v.is_array())
                    .max_by_key(|(_, v)| v.to_string().len())
                    .map(|(k, _)| k.clone());
                match key {
                    Some(k) => {
                        out.remove(&k);
                    }
                    None => return out,
                }
            }
        }
    }
}

/// Pinecone filter for equality on every pair.
pub(super) fn filter_json(filter: &MetadataFilter) -> Option<Value> {
    let clauses: Vec<Value> = filter.equals.iter().map(|(k, v)| json!({ k.clone(): { "$eq": v } })).collect();
    match clauses.len() {
        0 => None,
        1 => clauses.into_iter().next(),
        _ => Some(json!({ "$and": clauses })),
    }
}

pub(super) fn metadata_of(v: &Value) -> Metadata {
    v.get("metadata").and_then(Value::as_object).cloned().unwrap_or_default()
}

pub(super) fn values_of(v: &Value) -> Vec<f32> {
    v.get("values")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_f64).map(|x| x as f32).collect())
        .unwrap_or_default()
}

pub(super) fn check_id(id: &str) -> Result<()> {
    if id.is_empty() || id.chars().count() > 512 {
        return Err(Error::invalid("id", format!("Pinecone ids must be 1 to 512 characters (got {:?})", id)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        assert_eq!(base_url("idx-1.svc.aped.pinecone.io"), "https://idx-1.svc.aped.pinecone.io");
        assert_eq!(base_url("http://127.0.0.1:5081/"), "http://127.0.0.1:5081");
    }

    #[test]
    fn metadata_follows_pinecone_rules() {
        let mut m = Metadata::new();
        m.insert("keep".into(), json!("x"));
        m.insert("n".into(), json!(3));
        m.insert("null".into(), Value::Null);
        m.insert("nested".into(), json!({"a": 1}));
        m.insert("tags".into(), json!(["a", "b"]));
        m.insert("mixed".into(), json!([1, "b"]));
        m.insert("text".into(), json!("é".repeat(50_000)));
        let s = sanitize_metadata(&m);
        assert!(!s.contains_key("null") && !s.contains_key("nested") && !s.contains_key("mixed"));
        assert_eq!(s["tags"], json!(["a", "b"]));
        assert_eq!(s["n"], json!(3));
        assert!(serde_json::to_vec(&s).unwrap().len() <= MAX_METADATA_BYTES);
        assert!(s["text"].as_str().unwrap().len() > 30_000);
    }

    #[test]
    fn error_messages() {
        let m = error_message(StatusCode::BAD_REQUEST, br#"{"code":3,"message":"Vector dimension 2 does not match the dimension of the index 8","details":[]}"#);
        assert!(m.contains("400") && m.contains("code 3") && m.contains("does not match"), "{m}");
        let m = error_message(StatusCode::UNAUTHORIZED, b"Unauthorized");
        assert!(m.contains("401") && m.contains("PINECONE_API_KEY") && m.contains("Unauthorized"), "{m}");
    }
}
