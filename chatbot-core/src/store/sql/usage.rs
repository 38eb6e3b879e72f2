//! [`UsageStore`] for every SQL backend.

use async_trait::async_trait;
use chrono::NaiveDate;

use super::{Arg, Read, Scalar, SqlBackend, Write, returned, text};
use crate::error::Result;
use crate::store::WebhookDelivery;
use crate::store::common::{to_i64, to_u64};
use crate::store::traits::UsageStore;

#[async_trait]
impl<B: SqlBackend> UsageStore for B {
    async fn add_token_usage(&self, company_id: &str, day: NaiveDate, tokens: u64) -> Result<u64> {
        let q = Write::new(text::ADD_TOKENS).bind(company_id).bind(day).bind(to_i64("tokens", tokens)?);
        let total = returned(self.write_opt::<Scalar<i64>>(q).await?, "token usage upsert")?;
        Ok(to_u64(total.0))
    }

    async fn token_usage(&self, company_id: &str, day: NaiveDate) -> Result<u64> {
        let q = Read::new(text::GET_TOKENS).bind(company_id).bind(day);
        Ok(self.read_opt::<Scalar<i64>>(q).await?.map_or(0, |t| to_u64(t.0)))
    }

    async fn webhook_secret(&self, company_id: &str) -> Result<String> {
        let select = || Read::new(text::GET_WEBHOOK_SECRET).bind(company_id);
        if let Some(s) = self.read_opt::<Scalar<String>>(select()).await? {
            return Ok(s.0);
        }
        let secret = crate::auth::random_token("whsec_", 32);
        self.write(Write::new(text::INSERT_WEBHOOK_SECRET).bind(company_id).bind(&secret)).await?;
        Ok(returned(self.read_opt::<Scalar<String>>(select()).await?, "webhook secret")?.0)
    }

    async fn record_webhook_delivery(&self, d: &WebhookDelivery) -> Result<()> {
        let q = Write::new(text::INSERT_DELIVERY)
            .bind(&d.company_id)
            .bind(&d.lead_id)
            .bind(&d.url)
            .bind(d.attempts)
            .bind(d.status_code)
            .bind(&d.error)
            .bind(d.delivered)
            .bind(d.created_at);
        self.write(q).await?;
        Ok(())
    }

    async fn list_webhook_deliveries(&self, company_id: &str, limit: u32) -> Result<Vec<WebhookDelivery>> {
        self.read_all(Read::new(text::LIST_DELIVERIES).bind(company_id).bind(Arg::Limit(limit))).await
    }
}
