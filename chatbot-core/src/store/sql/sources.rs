//! [`SourceRegistry`] for every SQL backend, and the row decoder of `knowledge_sources`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{Arg, Columns, FromColumns, Read, SqlBackend, Write, json, text};
use crate::error::Result;
use crate::store::common::{to_i64, to_u64};
use crate::store::traits::SourceRegistry;
use crate::store::{KnowledgeSource, SourceRun};

#[async_trait]
impl<B: SqlBackend> SourceRegistry for B {
    async fn register_knowledge_source(&self, s: &KnowledgeSource) -> Result<()> {
        let q = Write::new(text::REGISTER_KNOWLEDGE_SOURCE)
            .bind(&s.company_id)
            .bind(&s.source_id)
            .bind(&s.kind)
            .bind(&s.location)
            .bind(json(Some(&s.options))?)
            .bind(s.interval_secs.max(0))
            .bind(s.next_due_at)
            .bind(s.updated_at);
        self.write(q).await?;
        Ok(())
    }

    async fn get_knowledge_source(
        &self,
        company_id: &str,
        source_id: &str,
    ) -> Result<Option<KnowledgeSource>> {
        self.read_opt(Read::new(text::GET_KNOWLEDGE_SOURCE).bind(company_id).bind(source_id)).await
    }

    async fn list_knowledge_sources(&self, company_id: &str) -> Result<Vec<KnowledgeSource>> {
        self.read_all(Read::new(text::LIST_KNOWLEDGE_SOURCES).bind(company_id)).await
    }

    async fn due_knowledge_sources(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<KnowledgeSource>> {
        self.read_all(Read::new(text::DUE_KNOWLEDGE_SOURCES).bind(now).bind(Arg::Limit(limit))).await
    }

    async fn delete_knowledge_source(&self, company_id: &str, source_id: &str) -> Result<bool> {
        let n =
            self.write(Write::new(text::DELETE_KNOWLEDGE_SOURCE).bind(company_id).bind(source_id)).await?;
        Ok(n > 0)
    }

    async fn take_source_lease(
        &self,
        company_id: &str,
        source_id: &str,
        owner: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool> {
        let q = Write::new(text::TAKE_SOURCE_LEASE)
            .bind(company_id)
            .bind(source_id)
            .bind(owner)
            .bind(now)
            .bind(until);
        Ok(self.write(q).await? > 0)
    }

    async fn finish_source_run(
        &self,
        company_id: &str,
        source_id: &str,
        owner: &str,
        run: &SourceRun,
        next_due_at: Option<DateTime<Utc>>,
    ) -> Result<bool> {
        let q = Write::new(text::FINISH_SOURCE_RUN)
            .bind(company_id)
            .bind(source_id)
            .bind(owner)
            .bind(run.started_at)
            .bind(run.finished_at)
            .bind(to_i64("pages", run.pages)?)
            .bind(to_i64("changed", run.changed)?)
            .bind(to_i64("added", run.added)?)
            .bind(to_i64("removed", run.removed)?)
            .bind(to_i64("failed", run.failed)?)
            .bind(run.error.as_deref())
            .bind(next_due_at);
        Ok(self.write(q).await? > 0)
    }

    async fn release_source_lease(&self, company_id: &str, source_id: &str, owner: &str) -> Result<bool> {
        let q = Write::new(text::RELEASE_SOURCE_LEASE).bind(company_id).bind(source_id).bind(owner);
        Ok(self.write(q).await? > 0)
    }
}

impl FromColumns for KnowledgeSource {
    fn from_columns<R: Columns>(r: &R) -> Result<Self> {
        let last_run = match (r.time_opt("last_started_at")?, r.time_opt("last_finished_at")?) {
            (Some(started_at), Some(finished_at)) => Some(SourceRun {
                started_at,
                finished_at,
                pages: to_u64(r.int("last_pages")?),
                changed: to_u64(r.int("last_changed")?),
                added: to_u64(r.int("last_added")?),
                removed: to_u64(r.int("last_removed")?),
                failed: to_u64(r.int("last_failed")?),
                error: r.text_opt("last_error")?,
            }),
            _ => None,
        };
        Ok(KnowledgeSource {
            company_id: r.text("company_id")?,
            source_id: r.text("source_id")?,
            kind: r.text("kind")?,
            location: r.text("location")?,
            options: r.json("options")?.unwrap_or(serde_json::Value::Null),
            interval_secs: r.int("interval_secs")?,
            next_due_at: r.time_opt("next_due_at")?,
            last_run,
            lease_owner: r.text_opt("lease_owner")?,
            lease_until: r.time_opt("lease_until")?,
            created_at: r.time("created_at")?,
            updated_at: r.time("updated_at")?,
        })
    }
}
