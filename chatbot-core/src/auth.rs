//! API keys: publishable (`pk_...`, for the public widget) and secret (`sk_...`, for settings
//! writes and the company admin API). A key is shown once; only its SHA-256 hash and a short
//! display prefix are stored. Lookups go by hash, and the final comparison is constant-time.

use base64::Engine as _;
use chrono::{DateTime, Utc};
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::{Error, Result};

/// The two kinds of key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyKind {
    Publishable,
    Secret,
}

impl KeyKind {
    pub fn prefix(self) -> &'static str {
        match self {
            Self::Publishable => "pk_",
            Self::Secret => "sk_",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Publishable => "publishable",
            Self::Secret => "secret",
        }
    }

    /// # Errors
    /// [`Error::Invalid`] naming `kind`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "publishable" | "pk" => Ok(Self::Publishable),
            "secret" | "sk" => Ok(Self::Secret),
            _ => Err(Error::invalid("kind", "must be publishable or secret")),
        }
    }

    /// The kind a presented key claims by its prefix.
    pub fn of_token(token: &str) -> Option<Self> {
        if token.starts_with("pk_") {
            Some(Self::Publishable)
        } else if token.starts_with("sk_") {
            Some(Self::Secret)
        } else {
            None
        }
    }
}

/// A stored key (never the key itself).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiKey {
    /// Public identifier, e.g. `key_3f9a...`; used to list and revoke.
    pub key_id: String,
    pub company_id: String,
    pub kind: KeyKind,
    /// First characters of the key, for display (`sk_AbCd…`).
    pub prefix: String,
    /// Hex SHA-256 of the full key.
    #[serde(skip_serializing)]
    pub key_hash: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl ApiKey {
    pub fn is_active(&self) -> bool {
        self.revoked_at.is_none()
    }

    /// Constant-time check that `token` is this key.
    pub fn matches(&self, token: &str) -> bool {
        let presented = hash_key(token);
        presented.as_bytes().ct_eq(self.key_hash.as_bytes()).into()
    }
}

/// A freshly generated key: the secret is in `token`, shown once.
#[derive(Debug, Clone)]
pub struct IssuedKey {
    pub token: String,
    pub record: ApiKey,
}

/// Generate a key of `kind` for `company_id`: 256 random bits, base64url.
pub fn generate_key(company_id: &str, kind: KeyKind) -> IssuedKey {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token =
        format!("{}{}", kind.prefix(), base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes));
    let mut id = [0u8; 8];
    rand::rng().fill_bytes(&mut id);
    let record = ApiKey {
        key_id: format!("key_{}", hex::encode(id)),
        company_id: company_id.to_string(),
        kind,
        prefix: token.chars().take(10).collect(),
        key_hash: hash_key(&token),
        created_at: Utc::now(),
        last_used_at: None,
        revoked_at: None,
    };
    IssuedKey { token, record }
}

/// Hex SHA-256 of a key. Keys carry 256 random bits, so a fast hash is enough (no password KDF).
pub fn hash_key(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Random URL-safe token with `bits` of entropy (sessions, webhook secrets).
pub fn random_token(prefix: &str, bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    format!("{prefix}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf))
}

/// Constant-time string equality (operator token checks).
pub fn ct_eq(a: &str, b: &str) -> bool {
    let ha = Sha256::digest(a.as_bytes());
    let hb = Sha256::digest(b.as_bytes());
    ha.ct_eq(&hb).into()
}

/// Take the token out of an `Authorization: Bearer ...` header value.
///
/// # Errors
/// [`Error::Unauthorized`] when the header is not a bearer token.
pub fn parse_bearer(header: Option<&str>) -> Result<&str> {
    let h = header.ok_or_else(|| Error::Unauthorized("missing Authorization: Bearer <key>".into()))?;
    let (scheme, token) =
        h.trim().split_once(' ').ok_or_else(|| Error::Unauthorized("expected Bearer <key>".into()))?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(Error::Unauthorized("expected Authorization: Bearer <key>".into()));
    }
    Ok(token.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_random_prefixed_and_hashed() {
        let a = generate_key("123", KeyKind::Secret);
        let b = generate_key("123", KeyKind::Secret);
        assert!(a.token.starts_with("sk_"));
        assert_ne!(a.token, b.token);
        assert!(a.token.len() >= 3 + 43);
        assert!(a.record.matches(&a.token));
        assert!(!a.record.matches(&b.token));
        assert!(!a.record.key_hash.contains(&a.token[3..]));
        assert_eq!(
            KeyKind::of_token(&generate_key("1", KeyKind::Publishable).token),
            Some(KeyKind::Publishable)
        );
    }

    #[test]
    fn bearer() {
        assert_eq!(parse_bearer(Some("Bearer sk_x")).unwrap(), "sk_x");
        assert_eq!(parse_bearer(Some("bearer  sk_x ")).unwrap(), "sk_x");
        assert!(parse_bearer(None).is_err());
        assert!(parse_bearer(Some("Basic abc")).is_err());
    }
}
