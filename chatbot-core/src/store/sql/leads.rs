//! [`LeadStore`] for every SQL backend.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{Arg, Read, SqlBackend, Write, json, text};
use crate::error::{Error, Result};
use crate::lead::{Lead, LeadFilter};
use crate::store::common::now;
use crate::store::traits::LeadStore;

/// A lead's columns from `source` to `updated_at`, in table order (see `lead_detail_cols!`).
fn detail_args(l: &Lead) -> Result<[Arg<'_>; 12]> {
    Ok([
        Arg::from(&l.source),
        Arg::from(l.status.as_str()),
        Arg::from(l.is_lead_ready),
        Arg::from(&l.name),
        Arg::from(&l.email),
        Arg::from(&l.phone),
        Arg::from(&l.message),
        Arg::from(&l.ai_summary),
        json(Some(&l.profile))?,
        Arg::from(l.notified_at),
        Arg::from(l.created_at),
        Arg::from(l.updated_at),
    ])
}

/// `q` with the arguments of a lead insert that follows the conversation upsert in one
/// statement: lead id, user id, then [`detail_args`] (company and session are the upsert's).
pub(crate) fn with_lead<'a>(q: Write<'a>, l: &'a Lead) -> Result<Write<'a>> {
    Ok(q.bind(&l.lead_id).bind(&l.user_id).bind_all(detail_args(l)?))
}

/// `UPDATE leads` of every mutable field (`updated_at` is now).
fn update(l: &Lead) -> Result<Write<'_>> {
    Ok(Write::new(text::UPDATE_LEAD)
        .bind(&l.lead_id)
        .bind(&l.company_id)
        .bind(&l.user_id)
        .bind(&l.source)
        .bind(l.status.as_str())
        .bind(l.is_lead_ready)
        .bind(&l.name)
        .bind(&l.email)
        .bind(&l.phone)
        .bind(&l.message)
        .bind(&l.ai_summary)
        .bind(json(Some(&l.profile))?)
        .bind(l.notified_at)
        .bind(now()))
}

#[async_trait]
impl<B: SqlBackend> LeadStore for B {
    async fn insert_lead(&self, l: &Lead) -> Result<()> {
        let q = Write::new(text::INSERT_LEAD)
            .bind(&l.lead_id)
            .bind(&l.company_id)
            .bind(&l.session_id)
            .bind(&l.user_id)
            .bind_all(detail_args(l)?);
        self.write(q).await?;
        Ok(())
    }

    async fn get_lead(&self, company_id: &str, lead_id: &str) -> Result<Option<Lead>> {
        self.read_opt(Read::new(text::GET_LEAD).bind(lead_id).bind(company_id)).await
    }

    async fn get_lead_by_session(&self, company_id: &str, session_id: &str) -> Result<Option<Lead>> {
        self.read_opt(Read::new(text::LEAD_BY_SESSION).bind(company_id).bind(session_id)).await
    }

    async fn find_lead_any_company(&self, lead_id: &str) -> Result<Option<Lead>> {
        self.read_opt(Read::new(text::LEAD_ANY_COMPANY).bind(lead_id)).await
    }

    async fn unsent_notifications(&self, before: DateTime<Utc>, limit: u32) -> Result<Vec<Lead>> {
        let q = Read::new(text::UNSENT_NOTIFICATIONS).bind(before).bind(Arg::Limit(limit.max(1)));
        self.read_all(q).await
    }

    async fn claim_notification(
        &self,
        company_id: &str,
        lead_id: &str,
        seen: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let q = Write::new(text::CLAIM_NOTIFICATION).bind(company_id).bind(lead_id).bind(seen).bind(now);
        Ok(self.write(q).await? == 1)
    }

    async fn update_lead(&self, l: &Lead) -> Result<()> {
        if self.write(update(l)?).await? == 0 {
            return Err(Error::not_found(format!("lead {}", l.lead_id)));
        }
        Ok(())
    }

    async fn modify_lead(
        &self,
        company_id: &str,
        lead_id: &str,
        f: &mut (dyn for<'l> FnMut(&'l mut Lead) -> bool + Send),
    ) -> Result<Option<Lead>> {
        let select = Read::new(B::LEAD_FOR_UPDATE).bind(lead_id).bind(company_id);
        self.read_modify_write(select, f, update).await
    }

    async fn list_leads(&self, company_id: &str, filter: &LeadFilter) -> Result<Vec<Lead>> {
        let q = Read::new(B::LIST_LEADS)
            .bind(company_id)
            .bind(filter.status.map(|s| s.as_str()))
            .bind(filter.ready)
            .bind(Arg::Limit(filter.limit))
            .bind(i64::from(filter.offset));
        self.read_all(q).await
    }
}
