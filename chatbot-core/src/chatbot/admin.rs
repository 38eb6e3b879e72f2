//! Companies, API keys, AI configuration and widget settings.

use serde::{Deserialize, Serialize};

use crate::auth::{self, ApiKey, IdentitySecret, IssuedKey, KeyKind};
use crate::error::{Error, Result};
use crate::tenant::{
    Access, AiConfig, ClientType, Company, CompanyPatch, GroundingMode, NewCompany, TenantContext,
    WidgetSettings, WidgetSettingsPatch,
};

use super::Chatbot;
use super::access::{ensure_active, require_operator, require_secret};

/// A change to a company's [`AiConfig`]: only the fields given change.
///
/// The clearing rules: an empty `model` or `lead_webhook_url` removes it, a `daily_token_budget`
/// of 0 removes the budget; a non-empty list replaces the list.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AiConfigPatch {
    #[serde(default)]
    pub allowed_topics: Option<Vec<String>>,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default, deserialize_with = "whole_number")]
    pub daily_token_budget: Option<u64>,
    #[serde(default)]
    pub lead_webhook_url: Option<String>,
    #[serde(default)]
    pub lead_profile_fields: Option<Vec<String>>,
    #[serde(default, deserialize_with = "whole_number")]
    pub rate_limit_per_session: Option<u32>,
    #[serde(default, deserialize_with = "whole_number")]
    pub rate_limit_per_ip: Option<u32>,
    #[serde(default, deserialize_with = "whole_number")]
    pub max_new_conversations_per_minute: Option<u32>,
    #[serde(default)]
    pub hybrid_search: Option<bool>,
    #[serde(default)]
    pub grounding: Option<GroundingMode>,
    #[serde(default)]
    pub curated_threshold: Option<f64>,
    #[serde(default, deserialize_with = "whole_number")]
    pub turn_retention_days: Option<u32>,
}

/// An optional whole number that may be written as a decimal (`25.0`, `2.5e1`): JSON has one
/// number type and JSON Schema's `integer` includes them. Fractions, negatives and values out of
/// range are refused.
fn whole_number<'de, D, T>(d: D) -> std::result::Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: TryFrom<u64>,
{
    let Some(n) = Option::<serde_json::Number>::deserialize(d)? else { return Ok(None) };
    let whole = n
        .as_u64()
        .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f < 1.8e19).map(|f| f as u64));
    whole
        .and_then(|w| T::try_from(w).ok())
        .map(Some)
        .ok_or_else(|| serde::de::Error::custom(format!("must be a whole number in range, got {n}")))
}

impl AiConfigPatch {
    /// `config` with this patch applied.
    pub fn apply_to(&self, config: &AiConfig) -> AiConfig {
        let mut c = config.clone();
        if let Some(t) = self.allowed_topics.as_ref().filter(|t| !t.is_empty()) {
            c.allowed_topics.clone_from(t);
        }
        if let Some(m) = &self.model {
            c.model = Some(m.clone()).filter(|m| !m.is_empty());
        }
        if let Some(b) = self.daily_token_budget {
            c.daily_token_budget = Some(b).filter(|b| *b > 0);
        }
        if let Some(u) = &self.lead_webhook_url {
            c.lead_webhook_url = Some(u.clone()).filter(|u| !u.is_empty());
        }
        if let Some(f) = self.lead_profile_fields.as_ref().filter(|f| !f.is_empty()) {
            c.lead_profile_fields.clone_from(f);
        }
        if self.rate_limit_per_session.is_some() {
            c.rate_limit_per_session = self.rate_limit_per_session;
        }
        if self.rate_limit_per_ip.is_some() {
            c.rate_limit_per_ip = self.rate_limit_per_ip;
        }
        if self.max_new_conversations_per_minute.is_some() {
            c.max_new_conversations_per_minute = self.max_new_conversations_per_minute;
        }
        if let Some(h) = self.hybrid_search {
            // The default (on) is stored as absent.
            c.hybrid_search = Some(h).filter(|h| !h);
        }
        if let Some(g) = self.grounding {
            // The default (flag) is stored as absent.
            c.grounding = Some(g).filter(|g| *g != GroundingMode::default());
        }
        if self.curated_threshold.is_some() {
            c.curated_threshold = self.curated_threshold;
        }
        if self.turn_retention_days.is_some() {
            c.turn_retention_days = self.turn_retention_days;
        }
        c
    }
}

/// Active identity secrets a company may have at once (two: the current one and its successor
/// during a rotation).
pub(crate) const MAX_ACTIVE_IDENTITY_SECRETS: u32 = 2;

impl Chatbot {
    /// # Errors
    /// [`Error::Invalid`] naming the field; [`Error::Conflict`] when the id exists.
    pub async fn create_company(&self, new: NewCompany) -> Result<Company> {
        new.validate()?;
        new.ai_config.validate_with(&self.inner.config.webhooks).await?;
        self.store().create_company(&new).await
    }

    /// # Errors
    /// Storage failures.
    pub async fn list_companies(&self) -> Result<Vec<Company>> {
        self.store().list_companies().await
    }

    /// Deactivate (or reactivate) a company: its widget stops answering.
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub async fn set_company_active(&self, ctx: &TenantContext, active: bool) -> Result<()> {
        require_operator(ctx)?;
        self.store().set_company_active(ctx.company_id(), active).await
    }

    /// The company as the caller's key or token sees it (its secret key or the operator).
    ///
    /// # Errors
    /// [`Error::Unauthorized`] for anything but the secret key or the operator.
    pub fn company_details(&self, ctx: &TenantContext) -> Result<Company> {
        // The secret key or the operator; an owner token is for the widget settings only.
        ctx.require_admin()?;
        Ok(ctx.company().clone())
    }

    /// Change the company's own fields (name, e-mail, phone, website, client type): with its
    /// secret key or as the operator. The AI configuration has its own operator-only call.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the field;
    /// [`Error::Forbidden`]/[`Error::Unauthorized`] as [`Chatbot::company_details`].
    pub async fn update_company(&self, ctx: &TenantContext, patch: &CompanyPatch) -> Result<Company> {
        ctx.require_admin()?;
        patch.validate()?;
        if patch.is_empty() {
            // Nothing to change (`{}`, or only nulls): the company as it is.
            return Ok(ctx.company().clone());
        }
        self.store().update_company(ctx.company_id(), patch).await
    }

    /// Replace the company's AI configuration (an operator action: it sets the model, the
    /// budget, the limits and where leads are sent). A lead webhook URL must be https to a
    /// public address (see [`Config::webhooks`](crate::Config::webhooks) for the opt-ins).
    ///
    /// # Errors
    /// [`Error::Forbidden`] for a company's own key, [`Error::Unauthorized`] without one;
    /// [`Error::Invalid`] naming the field.
    pub async fn set_ai_config(&self, ctx: &TenantContext, config: &AiConfig) -> Result<()> {
        match ctx.access() {
            Access::Operator => {}
            Access::Secret | Access::Publishable | Access::Owner => {
                return Err(Error::Forbidden(
                    "the AI configuration is changed by the operator (CHATBOT_ADMIN_TOKEN or the CLI)".into(),
                ));
            }
            Access::Public => return Err(Error::Unauthorized("this action is for operators".into())),
        }
        config.validate_with(&self.inner.config.webhooks).await?;
        self.store().update_ai_config(ctx.company_id(), config).await
    }

    /// Change some fields of the company's AI configuration (see [`AiConfigPatch`] for the
    /// clearing rules) and return the new configuration (operator, as
    /// [`Chatbot::set_ai_config`]).
    ///
    /// # Errors
    /// As [`Chatbot::set_ai_config`].
    pub async fn update_ai_config(&self, ctx: &TenantContext, patch: &AiConfigPatch) -> Result<AiConfig> {
        let c = patch.apply_to(&ctx.company().ai_config);
        self.set_ai_config(ctx, &c).await?;
        Ok(c)
    }

    /// Issue a key (the token is returned once). API keys are stored only hashed; an identity
    /// secret ([`KeyKind::Identity`]) is stored as the webhook secret is, since verifying a
    /// signature needs it, and a company has at most two active (for rotation).
    ///
    /// # Errors
    /// Storage failures; [`Error::Unauthorized`] without operator access; [`Error::Conflict`]
    /// when the company already has two active identity secrets.
    pub async fn create_key(&self, ctx: &TenantContext, kind: KeyKind) -> Result<IssuedKey> {
        require_operator(ctx)?;
        let issued = auth::generate_key(ctx.company_id(), kind);
        if kind == KeyKind::Identity {
            let secret = IdentitySecret::from_issued(&issued);
            if !self.store().insert_identity_secret(&secret, MAX_ACTIVE_IDENTITY_SECRETS).await? {
                return Err(Error::Conflict(format!(
                    "company {} already has {MAX_ACTIVE_IDENTITY_SECRETS} active identity secrets; \
                     revoke one first (chatbot keys revoke KEY_ID)",
                    ctx.company_id()
                )));
            }
            return Ok(issued);
        }
        self.store().insert_api_key(&issued.record).await?;
        Ok(issued)
    }

    /// The company's keys, identity secrets included (never a secret or a hash).
    ///
    /// # Errors
    /// Storage failures.
    pub async fn list_keys(&self, ctx: &TenantContext) -> Result<Vec<ApiKey>> {
        require_operator(ctx)?;
        let mut keys = self.store().list_api_keys(ctx.company_id()).await?;
        let ids = self.store().list_identity_secrets(ctx.company_id()).await?;
        keys.extend(ids.iter().map(IdentitySecret::as_api_key));
        keys.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| b.key_id.cmp(&a.key_id)));
        Ok(keys)
    }

    /// Revoke a key or an identity secret by its id (operator).
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown key id.
    pub async fn revoke_key(&self, key_id: &str) -> Result<()> {
        if self.store().revoke_api_key(key_id).await? || self.store().revoke_identity_secret(key_id).await? {
            Ok(())
        } else {
            Err(Error::not_found(format!("key {key_id}")))
        }
    }

    /// The widget settings (public).
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub async fn widget_settings(&self, ctx: &TenantContext) -> Result<WidgetSettings> {
        self.store()
            .get_widget_settings(ctx.company_id())
            .await?
            .ok_or_else(|| Error::not_found(format!("widget settings of {}", ctx.company_id())))
    }

    /// The public widget settings of an active company in one store round trip (the widget's
    /// first request; never stale: a store caches only what it can prove current, so every
    /// instance sees a write at once).
    ///
    /// # Errors
    /// [`Error::NotFound`] (unknown company), [`Error::Forbidden`] (inactive).
    pub async fn public_widget_settings(&self, company_id: &str) -> Result<WidgetSettings> {
        match self.store().get_public_widget_settings(company_id).await? {
            None => Err(Error::not_found(format!("company {company_id}"))),
            Some((false, _)) => Err(Error::Forbidden(format!("company {company_id} is inactive"))),
            Some((true, s)) => Ok(s),
        }
    }

    /// The public widget settings together with the company's client type (what the widget
    /// needs to adapt its wording), in one read.
    ///
    /// # Errors
    /// As [`Chatbot::public_widget_settings`].
    pub async fn public_widget_view(&self, company_id: &str) -> Result<(WidgetSettings, ClientType)> {
        match self.store().get_company_with_settings(company_id).await? {
            None | Some((_, None)) => Err(Error::not_found(format!("company {company_id}"))),
            Some((c, _)) if !c.is_active => {
                Err(Error::Forbidden(format!("company {company_id} is inactive")))
            }
            Some((c, Some(s))) => Ok((s, c.client_type)),
        }
    }

    /// Partial update, visible to the next read on every instance.
    ///
    /// # Errors
    /// [`Error::Unauthorized`] without a secret key or owner token; [`Error::Invalid`] naming
    /// the field.
    pub async fn update_widget_settings(
        &self,
        ctx: &TenantContext,
        patch: &WidgetSettingsPatch,
    ) -> Result<WidgetSettings> {
        require_secret(ctx)?;
        patch.validate()?;
        let patch = patch.clone().normalized();
        if patch.is_empty() {
            return self.widget_settings(ctx).await;
        }
        self.store().update_widget_settings(ctx.company_id(), &patch).await
    }

    /// An operator context for a company that must be active (operator commands that act for
    /// the company's visitors, such as the terminal chat).
    ///
    /// # Errors
    /// [`Error::NotFound`], [`Error::Forbidden`] (inactive).
    pub async fn active_operator_context(&self, company_id: &str) -> Result<TenantContext> {
        let ctx = self.operator_context(company_id).await?;
        ensure_active(ctx.company())?;
        Ok(ctx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_numbers_may_be_written_as_decimals() {
        let p: AiConfigPatch = serde_json::from_str(
            r#"{"max_new_conversations_per_minute": 6118.0, "daily_token_budget": 2.5e1}"#,
        )
        .unwrap();
        assert_eq!((p.max_new_conversations_per_minute, p.daily_token_budget), (Some(6118), Some(25)));
        let p: AiConfigPatch = serde_json::from_str(r#"{"rate_limit_per_ip": null}"#).unwrap();
        assert_eq!(p.rate_limit_per_ip, None);
        for bad in [
            r#"{"rate_limit_per_ip": 1.5}"#,
            r#"{"rate_limit_per_ip": -1}"#,
            r#"{"rate_limit_per_ip": 4294967296}"#,
            r#"{"rate_limit_per_ip": "7"}"#,
        ] {
            assert!(serde_json::from_str::<AiConfigPatch>(bad).is_err(), "{bad}");
        }
    }
}
