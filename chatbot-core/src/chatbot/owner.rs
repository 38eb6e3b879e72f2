//! Owner mode: the company's owner edits the widget settings from the widget itself. The secret
//! key (or a one-time code from `chatbot settings owner-link`) is exchanged at once for a
//! short-lived owner token that changes the company's widget settings and nothing else. Tokens and
//! codes are stored hashed in the database, so every server instance accepts them.

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use crate::auth::{self, Access, OwnerToken, OwnerTokenKind};
use crate::error::{Error, Result};
use crate::tenant::{TenantContext, WidgetSettings};

use super::Chatbot;

/// How long an owner token lasts.
pub const OWNER_TOKEN_TTL: TimeDelta = TimeDelta::minutes(15);
/// How long a one-time owner code can be exchanged.
pub const OWNER_CODE_TTL: TimeDelta = TimeDelta::minutes(15);
/// Where an owner link points when the company allows every origin and no URL is given: the
/// demo page of a server run with the defaults.
pub const DEFAULT_OWNER_LINK_URL: &str = "http://127.0.0.1:8080/";
/// The fragment the widget opens owner mode on (`#chatbot-admin=oc_...`).
pub const OWNER_LINK_FRAGMENT: &str = "chatbot-admin";
/// Longer presented credentials are refused without a look-up (ours have 46 characters).
const MAX_PRESENTED_LEN: usize = 128;

/// An owner token, shown once: `{"token","expires_at","expires_in"}` on the wire.
#[derive(Debug, Clone, Serialize)]
pub struct OwnerGrant {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    /// Seconds until `expires_at`.
    pub expires_in: i64,
}

/// A one-time owner code and the link that carries it.
#[derive(Debug, Clone, Serialize)]
pub struct OwnerLink {
    pub company_id: String,
    pub code: String,
    /// `<page>#chatbot-admin=<code>`.
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

impl Chatbot {
    /// Exchange the company's secret key (`sk_...`), or the operator token, for an owner token,
    /// from `origin` (the request's `Origin`, when it has one).
    ///
    /// # Errors
    /// [`Error::NotFound`] (unknown company), [`Error::Forbidden`] (inactive, or a key of another
    /// company), [`Error::OriginNotAllowed`], [`Error::Unauthorized`] (not the company's secret
    /// key).
    pub async fn owner_token_from_key(
        &self,
        company_id: &str,
        key: &str,
        origin: Option<&str>,
    ) -> Result<OwnerGrant> {
        let public = self.public_context(company_id).await?;
        check_owner_origin(public.widget_settings(), origin)?;
        let ctx = self.company_context(key, company_id).await?;
        if !matches!(ctx.access(), Access::Secret | Access::Operator) {
            return Err(Error::Unauthorized("owner mode needs the company's secret key (sk_...)".into()));
        }
        self.issue_owner(company_id, OwnerTokenKind::Token).await.map(|(token, rec)| OwnerGrant {
            token,
            expires_at: rec.expires_at,
            expires_in: OWNER_TOKEN_TTL.num_seconds(),
        })
    }

    /// Exchange a one-time owner code (`oc_...`) of the company for an owner token; the code is
    /// spent (a second exchange fails, also when two race).
    ///
    /// # Errors
    /// As [`Chatbot::owner_token_from_key`]; [`Error::Unauthorized`] for a code that is unknown,
    /// of another company, expired or spent.
    pub async fn owner_token_from_code(
        &self,
        company_id: &str,
        code: &str,
        origin: Option<&str>,
    ) -> Result<OwnerGrant> {
        let public = self.public_context(company_id).await?;
        check_owner_origin(public.widget_settings(), origin)?;
        let code = code.trim();
        let shaped = code.starts_with(auth::OWNER_CODE_PREFIX) && code.len() <= MAX_PRESENTED_LEN;
        let spent =
            shaped && self.store().spend_owner_code(company_id, &auth::hash_key(code), Utc::now()).await?;
        if !spent {
            return Err(Error::Unauthorized(
                "unknown, expired or already used owner code; create a new link with \
                 `chatbot settings owner-link`"
                    .into(),
            ));
        }
        self.issue_owner(company_id, OwnerTokenKind::Token).await.map(|(token, rec)| OwnerGrant {
            token,
            expires_at: rec.expires_at,
            expires_in: OWNER_TOKEN_TTL.num_seconds(),
        })
    }

    /// The context an owner token (`ot_...`) gives: the company's widget settings and nothing
    /// else ([`Access::Owner`]).
    ///
    /// # Errors
    /// [`Error::Unauthorized`] for a token that is unknown, of another company or expired;
    /// [`Error::NotFound`], [`Error::Forbidden`] (inactive company).
    pub async fn owner_context(&self, company_id: &str, token: &str) -> Result<TenantContext> {
        let token = token.trim();
        let rec = if token.starts_with(auth::OWNER_TOKEN_PREFIX) && token.len() <= MAX_PRESENTED_LEN {
            self.store().find_owner_token(company_id, OwnerTokenKind::Token, &auth::hash_key(token)).await?
        } else {
            None
        };
        let Some(rec) = rec else {
            return Err(Error::Unauthorized("unknown owner token".into()));
        };
        if rec.is_expired(Utc::now()) {
            return Err(Error::Unauthorized("this owner token expired; open owner mode again".into()));
        }
        let (company, settings) = self.active_company(company_id).await?;
        Ok(TenantContext::new(company, settings, Access::Owner))
    }

    /// A one-time owner code for the company (valid [`OWNER_CODE_TTL`], usable once) and the
    /// link that opens owner mode with it: `url` (an http(s) page embedding the widget), else
    /// the company's first allowed origin, else [`DEFAULT_OWNER_LINK_URL`].
    ///
    /// # Errors
    /// [`Error::Unauthorized`] unless the context has the secret key or operator access;
    /// [`Error::Invalid`] naming `url`.
    pub async fn create_owner_link(&self, ctx: &TenantContext, url: Option<&str>) -> Result<OwnerLink> {
        ctx.require_admin()?;
        let settings = self.widget_settings(ctx).await?;
        let page = owner_link_page(&settings, url)?;
        let (code, rec) = self.issue_owner(ctx.company_id(), OwnerTokenKind::Code).await?;
        let mut link = page;
        link.set_fragment(Some(&format!("{OWNER_LINK_FRAGMENT}={code}")));
        Ok(OwnerLink {
            company_id: ctx.company_id().to_string(),
            code,
            url: link.to_string(),
            expires_at: rec.expires_at,
        })
    }

    /// Store a new owner credential of `kind` (and purge expired ones: owner actions are rare,
    /// so one small DELETE each is cheap and keeps the table small).
    async fn issue_owner(&self, company_id: &str, kind: OwnerTokenKind) -> Result<(String, OwnerToken)> {
        let ttl = match kind {
            OwnerTokenKind::Token => OWNER_TOKEN_TTL,
            OwnerTokenKind::Code => OWNER_CODE_TTL,
        };
        let now = chrono::SubsecRound::trunc_subsecs(Utc::now(), 6);
        let (text, rec) = OwnerToken::generate(company_id, kind, now, ttl);
        self.store().insert_owner_token(&rec).await?;
        let store = self.store().clone();
        tokio::spawn(async move {
            if let Err(e) = store.purge_owner_tokens(Utc::now()).await {
                tracing::warn!(error = %e, "could not purge expired owner tokens");
            }
        });
        Ok((text, rec))
    }
}

/// Owner mode is offered only on the company's allowed origins (any origin when the list is
/// empty), as CORS allows them. A request without an `Origin` (not from a browser page) passes.
fn check_owner_origin(settings: Option<&WidgetSettings>, origin: Option<&str>) -> Result<()> {
    match (settings, origin) {
        (Some(s), Some(o)) if !s.origin_allowed(o) => Err(Error::OriginNotAllowed(format!(
            "owner mode is not offered on {o}: it is not among the company's allowed origins"
        ))),
        _ => Ok(()),
    }
}

/// The page an owner link opens.
fn owner_link_page(settings: &WidgetSettings, url: Option<&str>) -> Result<url::Url> {
    let chosen = match url {
        Some(u) => {
            crate::tenant::validate_http_url("url", u)?;
            u.to_string()
        }
        None => settings
            .allowed_origins
            .iter()
            .find(|o| o.as_str() != "*")
            .cloned()
            .unwrap_or_else(|| DEFAULT_OWNER_LINK_URL.to_string()),
    };
    url::Url::parse(&chosen).map_err(|e| Error::invalid("url", format!("not a URL: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_origin_rule_is_the_cors_rule() {
        let mut s = WidgetSettings::defaults_for("c", "C", Utc::now());
        assert!(check_owner_origin(Some(&s), Some("https://any.example")).is_ok(), "empty list: any");
        s.allowed_origins = vec!["https://shop.example".into()];
        assert!(check_owner_origin(Some(&s), Some("https://shop.example")).is_ok());
        assert!(check_owner_origin(Some(&s), None).is_ok(), "no Origin: not a browser page");
        let e = check_owner_origin(Some(&s), Some("https://evil.example")).unwrap_err();
        assert_eq!(e.code(), "origin_not_allowed");
    }

    #[test]
    fn owner_link_pages() {
        let mut s = WidgetSettings::defaults_for("c", "C", Utc::now());
        assert_eq!(owner_link_page(&s, None).unwrap().as_str(), DEFAULT_OWNER_LINK_URL);
        s.allowed_origins = vec!["*".into(), "https://shop.example".into()];
        assert_eq!(owner_link_page(&s, None).unwrap().as_str(), "https://shop.example/");
        let u = owner_link_page(&s, Some("https://partner.example/page?x=1")).unwrap();
        assert_eq!(u.as_str(), "https://partner.example/page?x=1");
        assert_eq!(owner_link_page(&s, Some("javascript:alert(1)")).unwrap_err().field(), Some("url"));
    }
}
