//! [`StoreAdmin`] and [`TenantStore`] for every SQL backend.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{Read, SqlBackend, Write, json, returned, text};
use crate::auth::ApiKey;
use crate::error::{Error, Result};
use crate::store::common::now;
use crate::store::traits::{StoreAdmin, TenantStore};
use crate::tenant::{AiConfig, Company, CompanyPatch, NewCompany, WidgetSettings, WidgetSettingsPatch};

#[async_trait]
impl<B: SqlBackend> StoreAdmin for B {
    fn backend(&self) -> &'static str {
        B::NAME
    }

    async fn migrate(&self) -> Result<()> {
        self.run_migrations().await
    }

    async fn ping(&self) -> Result<()> {
        self.read_opt::<super::Scalar<i64>>(Read::new("SELECT CAST(1 AS BIGINT) AS v")).await?;
        Ok(())
    }

    fn settings_cache(&self) -> &'static str {
        self.tenant_cache_state()
    }
}

#[async_trait]
impl<B: SqlBackend> TenantStore for B {
    async fn create_company(&self, new: &NewCompany) -> Result<Company> {
        let now = now();
        let defaults = WidgetSettings::defaults_for(&new.company_id, &new.company_name, now);
        let company = Write::new(text::INSERT_COMPANY)
            .bind(&new.company_id)
            .bind(&new.company_name)
            .bind(&new.email)
            .bind(&new.phone)
            .bind(&new.website)
            .bind(&new.logo_url)
            .bind(json(Some(&new.ai_config))?)
            .bind(true)
            .bind(now)
            .bind(new.client_type.as_str());
        let settings = Write::new(text::INSERT_DEFAULT_SETTINGS)
            .bind(&new.company_id)
            .bind(&new.company_name)
            .bind(&defaults.welcome_message)
            .bind(json(Some(&new.allowed_origins))?)
            .bind(now);
        match self.write_tx::<Company>(company, vec![settings]).await {
            Ok(row) => returned(row, "company insert"),
            Err(Error::Conflict(_)) => {
                Err(Error::Conflict(format!("company {} already exists", new.company_id)))
            }
            Err(e) => Err(e),
        }
    }

    async fn get_company(&self, company_id: &str) -> Result<Option<Company>> {
        self.read_opt(Read::new(text::GET_COMPANY).bind(company_id)).await
    }

    async fn get_company_with_settings(
        &self,
        company_id: &str,
    ) -> Result<Option<(Company, Option<WidgetSettings>)>> {
        Ok(self.tenant(company_id).await?.map(|t| (t.0.clone(), t.1.clone())))
    }

    async fn list_companies(&self) -> Result<Vec<Company>> {
        self.read_all(Read::new(text::LIST_COMPANIES)).await
    }

    async fn set_company_active(&self, company_id: &str, active: bool) -> Result<()> {
        let q = Write::new(text::SET_COMPANY_ACTIVE).bind(company_id).bind(active).bind(now());
        let changed = self.write(q).await?;
        self.tenant_changed(company_id);
        if changed == 0 {
            return Err(Error::not_found(format!("company {company_id}")));
        }
        Ok(())
    }

    async fn update_company(&self, company_id: &str, patch: &CompanyPatch) -> Result<Company> {
        let q = Write::new(text::PATCH_COMPANY)
            .bind(company_id)
            .bind(&patch.company_name)
            .bind(patch.phone.is_some())
            .bind(patch.phone.as_deref().filter(|p| !p.is_empty()))
            .bind(patch.website.is_some())
            .bind(patch.website.as_deref().filter(|w| !w.is_empty()))
            .bind(patch.client_type.map(|t| t.as_str()))
            .bind(now());
        let row = self.write_opt(q).await?;
        self.tenant_changed(company_id);
        row.ok_or_else(|| Error::not_found(format!("company {company_id}")))
    }

    async fn update_ai_config(&self, company_id: &str, config: &AiConfig) -> Result<()> {
        let q = Write::new(text::SET_AI_CONFIG).bind(company_id).bind(json(Some(config))?).bind(now());
        let changed = self.write(q).await?;
        self.tenant_changed(company_id);
        if changed == 0 {
            return Err(Error::not_found(format!("company {company_id}")));
        }
        Ok(())
    }

    async fn get_widget_settings(&self, company_id: &str) -> Result<Option<WidgetSettings>> {
        Ok(self.tenant(company_id).await?.and_then(|t| t.1.clone()))
    }

    async fn get_public_widget_settings(&self, company_id: &str) -> Result<Option<(bool, WidgetSettings)>> {
        Ok(self.tenant(company_id).await?.and_then(|t| t.1.as_ref().map(|s| (t.0.is_active, s.clone()))))
    }

    async fn update_widget_settings(
        &self,
        company_id: &str,
        patch: &WidgetSettingsPatch,
    ) -> Result<WidgetSettings> {
        let q = Write::new(text::PATCH_SETTINGS)
            .bind(&patch.primary_color)
            .bind(&patch.secondary_color)
            .bind(&patch.text_color)
            .bind(&patch.background_color)
            .bind(patch.border_radius)
            .bind(&patch.company_name)
            .bind(patch.company_logo.is_some())
            .bind(patch.company_logo.as_ref().and_then(|l| l.as_deref()))
            .bind(&patch.welcome_message)
            .bind(&patch.placeholder_text)
            .bind(patch.position.map(|p| p.as_str()))
            .bind(patch.auto_open)
            .bind(patch.show_typing_indicator)
            .bind(&patch.ai_personality)
            .bind(patch.ai_temperature)
            .bind(patch.max_tokens)
            .bind(json(patch.allowed_origins.as_ref())?)
            .bind(now())
            .bind(company_id)
            .bind(json(patch.suggested_questions.as_ref())?)
            .bind(&patch.language)
            .bind(patch.show_sources)
            .bind(&patch.launcher_label);
        let row = self.write_opt(q).await?;
        self.tenant_changed(company_id);
        row.ok_or_else(|| Error::not_found(format!("widget settings of company {company_id}")))
    }

    async fn insert_api_key(&self, key: &ApiKey) -> Result<()> {
        let q = Write::new(text::INSERT_KEY)
            .bind(&key.key_id)
            .bind(&key.company_id)
            .bind(key.kind.as_str())
            .bind(&key.prefix)
            .bind(&key.key_hash)
            .bind(key.created_at)
            .bind(key.last_used_at)
            .bind(key.revoked_at);
        self.write(q).await?;
        Ok(())
    }

    async fn find_api_key(&self, key_hash: &str) -> Result<Option<ApiKey>> {
        self.read_opt(Read::new(text::FIND_KEY).bind(key_hash)).await
    }

    async fn list_api_keys(&self, company_id: &str) -> Result<Vec<ApiKey>> {
        self.read_all(Read::new(text::LIST_KEYS).bind(company_id)).await
    }

    async fn revoke_api_key(&self, key_id: &str) -> Result<bool> {
        let done = self.write(Write::new(text::REVOKE_KEY).bind(key_id).bind(now())).await?;
        self.touch_throttle().forget(key_id);
        Ok(done > 0)
    }

    async fn touch_api_key(&self, key_id: &str, at: DateTime<Utc>) -> Result<()> {
        if !self.touch_throttle().should_write(key_id, at) {
            return Ok(());
        }
        self.write(Write::new(text::TOUCH_KEY).bind(key_id).bind(at)).await?;
        Ok(())
    }
}
