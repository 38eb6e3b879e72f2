//! Who is calling: every way to obtain a [`TenantContext`], and the access rules the other jobs
//! check against it.

use chrono::Utc;

use crate::auth::{self, KeyKind};
use crate::error::{Error, Result};
use crate::guard::LimitKey;
use crate::tenant::{Access, Company, TenantContext, WidgetSettings};

use super::Chatbot;
use super::types::ClientInfo;

impl Chatbot {
    /// A context with operator access (CLI on the database, admin token checked by the caller).
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown company.
    pub async fn operator_context(&self, company_id: &str) -> Result<TenantContext> {
        let (company, settings) = self.company_or_404(company_id).await?;
        Ok(TenantContext::new(company, settings, Access::Operator))
    }

    /// Check the operator credential (`CHATBOT_ADMIN_TOKEN`), in constant time.
    ///
    /// # Errors
    /// [`Error::Unauthorized`] for a wrong token, or when none is configured (the internal
    /// routes are then disabled).
    pub fn check_operator_token(&self, token: &str) -> Result<()> {
        match &self.inner.config.admin_token {
            None => Err(Error::Unauthorized(
                "the internal routes are disabled: CHATBOT_ADMIN_TOKEN is not set".into(),
            )),
            Some(expected) if auth::ct_eq(token, expected) => Ok(()),
            Some(_) => Err(Error::Unauthorized("wrong operator token".into())),
        }
    }

    /// Pass an authentication result through the failed-authentication limit of the client's
    /// IP: a failure ([`Error::Unauthorized`]) spends one of the IP's
    /// [`crate::Config::auth_failures_per_minute`] and, once they are spent, becomes
    /// [`Error::RateLimited`] (429 with `Retry-After`). A success passes untouched and spends
    /// nothing, so a valid credential is never slowed. Front ends call it around every check of
    /// a presented credential (keys, operator token, their own tokens).
    ///
    /// # Errors
    /// The result's own error, or [`Error::RateLimited`].
    pub async fn throttle_failed_auth<T>(&self, client: ClientInfo, result: Result<T>) -> Result<T> {
        match (result, client.ip) {
            (Err(Error::Unauthorized(why)), Some(ip)) => {
                self.rate_check(LimitKey::Auth { ip }, self.inner.config.auth_failures_per_minute).await?;
                Err(Error::Unauthorized(why))
            }
            (result, _) => result,
        }
    }

    /// Operator context from the `CHATBOT_ADMIN_TOKEN` credential (the company must be active).
    ///
    /// # Errors
    /// [`Error::Unauthorized`] for a wrong or unset token, [`Error::NotFound`], [`Error::Forbidden`].
    pub async fn admin_token_context(&self, token: &str, company_id: &str) -> Result<TenantContext> {
        self.check_operator_token(token)?;
        let company = self.active_company(company_id).await?;
        Ok(TenantContext::new(company.0, company.1, Access::Operator))
    }

    /// Context for public widget traffic (no key): the company must exist and be active.
    ///
    /// # Errors
    /// [`Error::NotFound`], [`Error::Forbidden`] (inactive).
    pub async fn public_context(&self, company_id: &str) -> Result<TenantContext> {
        let (company, settings) = self.active_company(company_id).await?;
        Ok(TenantContext::new(company, settings, Access::Public))
    }

    /// Context for a route of one company authorised by either one of its API keys or the
    /// operator token (when one is configured).
    ///
    /// # Errors
    /// As [`Chatbot::authenticate`] and [`Chatbot::admin_token_context`].
    pub async fn company_context(&self, token: &str, company_id: &str) -> Result<TenantContext> {
        if KeyKind::of_token(token).is_none() && self.inner.config.admin_token.is_some() {
            return self.admin_token_context(token, company_id).await;
        }
        self.authenticate(token, Some(company_id)).await
    }

    /// Authenticate an API key. With `company_id`, the key must belong to that company.
    ///
    /// # Errors
    /// [`Error::Unauthorized`] (unknown or revoked key), [`Error::Forbidden`] (key of another
    /// company, inactive company), [`Error::NotFound`] (unknown `company_id`).
    pub async fn authenticate(&self, token: &str, company_id: Option<&str>) -> Result<TenantContext> {
        if KeyKind::of_token(token).is_none() {
            return Err(Error::Unauthorized("not an API key (expected pk_... or sk_...)".into()));
        }
        let key = self
            .store()
            .find_api_key(&auth::hash_key(token))
            .await?
            .filter(|k| k.matches(token))
            .ok_or_else(|| Error::Unauthorized("unknown API key".into()))?;
        if !key.is_active() {
            return Err(Error::Unauthorized("this API key was revoked".into()));
        }
        if let Some(cid) = company_id
            && cid != key.company_id
        {
            // A 404 for an unknown company in the path, a 403 for someone else's key.
            self.company_or_404(cid).await?;
            return Err(Error::Forbidden("this key belongs to another company".into()));
        }
        let (company, settings) = self.active_company(&key.company_id).await?;
        let store = self.store().clone();
        let key_id = key.key_id.clone();
        tokio::spawn(async move {
            let _ = store.touch_api_key(&key_id, Utc::now()).await;
        });
        let access = match key.kind {
            KeyKind::Publishable => Access::Publishable,
            KeyKind::Secret => Access::Secret,
            // Identity secrets live in their own table; a hash match here would be a bug.
            KeyKind::Identity => return Err(Error::Unauthorized("not an API key".into())),
        };
        Ok(TenantContext::new(company, settings, access))
    }

    /// The company and its widget settings (one store round trip).
    pub(super) async fn company_or_404(&self, company_id: &str) -> Result<(Company, Option<WidgetSettings>)> {
        self.store()
            .get_company_with_settings(company_id)
            .await?
            .ok_or_else(|| Error::not_found(format!("company {company_id}")))
    }

    /// [`Chatbot::company_or_404`], and the company must be active.
    pub(super) async fn active_company(&self, company_id: &str) -> Result<(Company, Option<WidgetSettings>)> {
        let (company, settings) = self.company_or_404(company_id).await?;
        ensure_active(&company)?;
        Ok((company, settings))
    }
}

/// An inactive company's widget and keys stop working.
pub(crate) fn ensure_active(company: &Company) -> Result<()> {
    if company.is_active {
        Ok(())
    } else {
        Err(Error::Forbidden(format!("company {} is inactive", company.company_id)))
    }
}

/// Operator-only actions (companies, keys, activation).
pub(super) fn require_operator(ctx: &TenantContext) -> Result<()> {
    if ctx.access() == Access::Operator {
        Ok(())
    } else {
        Err(Error::Unauthorized("this action is for operators".into()))
    }
}

/// Changing settings needs the secret key, an owner token or the operator.
pub(super) fn require_secret(ctx: &TenantContext) -> Result<()> {
    match ctx.access() {
        Access::Secret | Access::Operator | Access::Owner => Ok(()),
        Access::Publishable => Err(Error::Forbidden(
            "a publishable key cannot change settings; use the secret key (sk_...)".into(),
        )),
        Access::Public => Err(Error::Unauthorized(
            "changing settings needs the company's secret key (Authorization: Bearer sk_...)".into(),
        )),
    }
}
