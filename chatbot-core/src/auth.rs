//! API keys: publishable (`pk_...`, for the public widget) and secret (`sk_...`, for settings
//! writes and the company admin API). A key is shown once; only its SHA-256 hash and a short
//! display prefix are stored. Lookups go by hash, and the final comparison is constant-time.
//!
//! Owner mode: [`OwnerToken`]s (`ot_...`, settings-only, 15 minutes) and one-time codes
//! (`oc_...`), stored hashed like keys.
//!
//! Visitor identity on partner chat: [`VisitorToken`]s (`vt_...`, issued with a visitor's first
//! reply, stored hashed like keys) and per-company identity secrets (`idsec_...`,
//! [`KeyKind::Identity`]) with which an integrator's backend signs a known user id
//! ([`identity_signature`]).

pub use crate::chatbot::{
    DEFAULT_OWNER_LINK_URL, OWNER_CODE_TTL, OWNER_LINK_FRAGMENT, OWNER_TOKEN_TTL, OwnerGrant, OwnerLink,
};
pub use crate::tenant::Access;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
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
    /// An identity secret (`idsec_...`): signs visitor user ids for partner chat. Not a bearer
    /// credential; kept readable (it must be, to compute HMACs), at most two active per company.
    Identity,
}

impl KeyKind {
    pub fn prefix(self) -> &'static str {
        match self {
            Self::Publishable => "pk_",
            Self::Secret => "sk_",
            Self::Identity => "idsec_",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Publishable => "publishable",
            Self::Secret => "secret",
            Self::Identity => "identity",
        }
    }

    /// # Errors
    /// [`Error::Invalid`] naming `kind`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "publishable" | "pk" => Ok(Self::Publishable),
            "secret" | "sk" => Ok(Self::Secret),
            "identity" => Ok(Self::Identity),
            _ => Err(Error::invalid("kind", "must be publishable, secret or identity")),
        }
    }

    /// The kind a presented bearer key claims by its prefix (identity secrets are never bearer
    /// credentials: `None` for them).
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

/// Generate a key of `kind` for `company_id`: 256 random bits, base64url. For
/// [`KeyKind::Identity`] the record's `key_hash` is the hash as for any key (the secret itself is
/// stored by [`crate::Chatbot::create_key`] as an [`IdentitySecret`]).
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

/// What a visitor token starts with.
pub const VISITOR_TOKEN_PREFIX: &str = "vt_";
/// Random bytes in a visitor token (256 bits).
const VISITOR_TOKEN_BYTES: usize = 32;
/// Characters of a visitor token: the prefix and 43 base64url characters.
pub const VISITOR_TOKEN_LEN: usize = 3 + 43;

/// A visitor token as stored: its hash, never the token. Valid only for `company_id`, until
/// `expires_at` (which slides on use).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VisitorToken {
    /// Hex SHA-256 of the token.
    pub token_hash: String,
    pub company_id: String,
    /// The conversation the token continues.
    pub session_id: String,
    /// The visitor's `user_id` label (or the signed user id).
    pub user_id: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl VisitorToken {
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        now >= self.expires_at
    }
}

/// A new visitor token (`vt_` + 256 random bits, base64url); shown to the visitor once.
pub fn generate_visitor_token() -> String {
    random_token(VISITOR_TOKEN_PREFIX, VISITOR_TOKEN_BYTES)
}

/// Whether `token` has the shape of a token this server issues (`vt_` + 43 base64url
/// characters). Says nothing about whether it is valid.
pub fn is_visitor_token_shaped(token: &str) -> bool {
    token.len() == VISITOR_TOKEN_LEN
        && token.starts_with(VISITOR_TOKEN_PREFIX)
        && token[VISITOR_TOKEN_PREFIX.len()..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// What an owner token starts with (settings-only, short-lived, `ot_...`).
pub const OWNER_TOKEN_PREFIX: &str = "ot_";
/// What a one-time owner code starts with (`oc_...`, from `chatbot settings owner-link`).
pub const OWNER_CODE_PREFIX: &str = "oc_";

/// The two kinds of owner credential, stored in one table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OwnerTokenKind {
    /// `ot_...`: changes one company's widget settings until it expires (nothing else).
    Token,
    /// `oc_...`: exchanged once for a [`OwnerTokenKind::Token`], before it expires.
    Code,
}

impl OwnerTokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Token => "token",
            Self::Code => "code",
        }
    }

    pub fn prefix(self) -> &'static str {
        match self {
            Self::Token => OWNER_TOKEN_PREFIX,
            Self::Code => OWNER_CODE_PREFIX,
        }
    }

    /// # Errors
    /// [`Error::Storage`] for a value no version of this crate writes.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "token" => Ok(Self::Token),
            "code" => Ok(Self::Code),
            other => Err(Error::Storage(format!("unknown owner token kind {other:?}"))),
        }
    }
}

/// An owner token or one-time code as stored: its hash, never the token. Valid only for
/// `company_id`, until `expires_at`; a code also only while `used_at` is unset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OwnerToken {
    /// Hex SHA-256 of the token.
    pub token_hash: String,
    pub company_id: String,
    pub kind: OwnerTokenKind,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// When a code was exchanged (tokens: never set).
    pub used_at: Option<DateTime<Utc>>,
}

impl OwnerToken {
    /// A new credential of `kind` for `company_id`, valid for `ttl`: the text (shown once) and
    /// the record to store.
    pub fn generate(
        company_id: &str,
        kind: OwnerTokenKind,
        now: DateTime<Utc>,
        ttl: chrono::TimeDelta,
    ) -> (String, Self) {
        let token = random_token(kind.prefix(), 32);
        let rec = Self {
            token_hash: hash_key(&token),
            company_id: company_id.to_string(),
            kind,
            created_at: now,
            expires_at: now + ttl,
            used_at: None,
        };
        (token, rec)
    }

    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        now >= self.expires_at
    }
}

/// A company's identity secret as stored. Unlike API keys it cannot be stored only hashed: the
/// server needs the secret itself to compute HMACs, so it is stored as the webhook signing
/// secret is (plain, in the database, never shown by listings).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdentitySecret {
    /// Public identifier (`key_...`), listed and revoked like API keys.
    pub key_id: String,
    pub company_id: String,
    /// First characters, for display.
    pub prefix: String,
    #[serde(skip_serializing)]
    pub secret: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl IdentitySecret {
    /// The identity secret an [`IssuedKey`] of kind [`KeyKind::Identity`] holds.
    pub fn from_issued(issued: &IssuedKey) -> Self {
        Self {
            key_id: issued.record.key_id.clone(),
            company_id: issued.record.company_id.clone(),
            prefix: issued.record.prefix.clone(),
            secret: issued.token.clone(),
            created_at: issued.record.created_at,
            revoked_at: None,
        }
    }

    /// The listing view (an [`ApiKey`] of kind [`KeyKind::Identity`]; no hash, no secret).
    pub fn as_api_key(&self) -> ApiKey {
        ApiKey {
            key_id: self.key_id.clone(),
            company_id: self.company_id.clone(),
            kind: KeyKind::Identity,
            prefix: self.prefix.clone(),
            key_hash: String::new(),
            created_at: self.created_at,
            last_used_at: None,
            revoked_at: self.revoked_at,
        }
    }
}

/// The identity signature of `user_id`: lowercase hex HMAC-SHA256 keyed with the identity
/// secret's text (as printed by `chatbot keys create ID --kind identity`). What an integrator's
/// backend computes and sends as `user_signature`.
pub fn identity_signature(secret: &str, user_id: &str) -> String {
    match <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()) {
        Ok(mut mac) => {
            mac.update(user_id.as_bytes());
            hex::encode(mac.finalize().into_bytes())
        }
        // HMAC takes keys of any length; this arm is never taken.
        Err(_) => String::new(),
    }
}

/// Whether `signature` (hex, either case) is `user_id`'s identity signature under `secret`;
/// compared in constant time (hmac's `verify_slice`).
pub fn verify_identity_signature(secret: &str, user_id: &str, signature: &str) -> bool {
    let Ok(sig) = hex::decode(signature.trim()) else { return false };
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()) else { return false };
    mac.update(user_id.as_bytes());
    mac.verify_slice(&sig).is_ok()
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
    fn visitor_tokens_and_identity_signatures() {
        let t = generate_visitor_token();
        assert!(is_visitor_token_shaped(&t), "{t}");
        assert_ne!(t, generate_visitor_token());
        for bad in ["", "vt_", "vt_short", &format!("xx{}", &t[2..]), &format!("{}=", &t[..t.len() - 1])] {
            assert!(!is_visitor_token_shaped(bad), "{bad}");
        }
        assert!(!is_visitor_token_shaped(&format!("{}é", &t[..t.len() - 2])));
        let k = generate_key("c", KeyKind::Identity);
        assert!(k.token.starts_with("idsec_"));
        assert_eq!(KeyKind::of_token(&k.token), None, "not a bearer key");
        let sig = identity_signature(&k.token, "user-42");
        assert_eq!(sig.len(), 64);
        assert!(sig.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        assert!(verify_identity_signature(&k.token, "user-42", &sig));
        assert!(verify_identity_signature(&k.token, "user-42", &sig.to_uppercase()));
        assert!(!verify_identity_signature(&k.token, "user-43", &sig));
        assert!(!verify_identity_signature("idsec_other", "user-42", &sig));
        assert!(!verify_identity_signature(&k.token, "user-42", "zz"));
        assert!(!verify_identity_signature(&k.token, "user-42", &sig[..62]));
        // RFC 4231 test case 2 (key "Jefe").
        assert_eq!(
            identity_signature("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn owner_tokens_are_prefixed_hashed_and_expire() {
        let now = Utc::now();
        let (t, rec) = OwnerToken::generate("c", OwnerTokenKind::Token, now, chrono::TimeDelta::minutes(15));
        assert!(t.starts_with("ot_") && t.len() == 3 + 43, "{t}");
        assert_eq!(rec.token_hash, hash_key(&t));
        assert!(!rec.token_hash.contains(&t[3..]));
        assert!(!rec.is_expired(now + chrono::TimeDelta::minutes(14)));
        assert!(rec.is_expired(now + chrono::TimeDelta::minutes(15)));
        let (c, _) = OwnerToken::generate("c", OwnerTokenKind::Code, now, chrono::TimeDelta::minutes(1));
        assert!(c.starts_with("oc_") && c != t);
        assert_eq!(KeyKind::of_token(&t), None, "an owner token is not an API key");
        for k in [OwnerTokenKind::Token, OwnerTokenKind::Code] {
            assert_eq!(OwnerTokenKind::parse(k.as_str()).unwrap(), k);
        }
        assert!(OwnerTokenKind::parse("other").is_err());
    }

    #[test]
    fn bearer() {
        assert_eq!(parse_bearer(Some("Bearer sk_x")).unwrap(), "sk_x");
        assert_eq!(parse_bearer(Some("bearer  sk_x ")).unwrap(), "sk_x");
        assert!(parse_bearer(None).is_err());
        assert!(parse_bearer(Some("Basic abc")).is_err());
    }
}
