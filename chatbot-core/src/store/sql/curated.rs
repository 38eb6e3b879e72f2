//! [`CuratedStore`] for every SQL backend, its SQL text, and the row decoder of
//! `curated_answers` (`questions` is a JSON array: TEXT on SQLite, JSONB on PostgreSQL).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{Columns, FromColumns, Read, SqlBackend, Write, json, returned};
use crate::curated::CuratedAnswer;
use crate::error::{Error, Result};
use crate::store::common::to_i64;
use crate::store::traits::CuratedStore;

/// Columns of `curated_answers`, in table order.
macro_rules! curated_cols {
    () => {
        "company_id, answer_id, questions, answer, source, hits, last_hit_at, created_at, updated_at"
    };
}

const INSERT: &str = concat!(
    "INSERT INTO curated_answers (",
    curated_cols!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ",
    curated_cols!()
);
const GET: &str =
    concat!("SELECT ", curated_cols!(), " FROM curated_answers WHERE company_id = $1 AND answer_id = $2");
const LIST: &str = concat!(
    "SELECT ",
    curated_cols!(),
    " FROM curated_answers WHERE company_id = $1 ORDER BY created_at, answer_id"
);
const UPDATE: &str = concat!(
    "UPDATE curated_answers SET questions = $3, answer = $4, source = $5, updated_at = $6 \
     WHERE company_id = $1 AND answer_id = $2 RETURNING ",
    curated_cols!()
);
const DELETE: &str = "DELETE FROM curated_answers WHERE company_id = $1 AND answer_id = $2";
const HIT: &str = "UPDATE curated_answers SET hits = hits + 1, last_hit_at = $3 \
                   WHERE company_id = $1 AND answer_id = $2";

fn insert(a: &CuratedAnswer) -> Result<Write<'_>> {
    Ok(Write::new(INSERT)
        .bind(&a.company_id)
        .bind(&a.id)
        .bind(json(Some(&a.questions))?)
        .bind(&a.answer)
        .bind(&a.source)
        .bind(to_i64("hits", a.hits)?)
        .bind(a.last_hit_at)
        .bind(a.created_at)
        .bind(a.updated_at))
}

#[async_trait]
impl<B: SqlBackend> CuratedStore for B {
    fn curated_version(&self, company_id: &str) -> Option<u64> {
        SqlBackend::curated_version(self, company_id)
    }

    async fn insert_curated(&self, answers: &[CuratedAnswer]) -> Result<()> {
        let Some((first, rest)) = answers.split_first() else {
            return Ok(());
        };
        let rest = rest.iter().map(insert).collect::<Result<Vec<_>>>()?;
        let row: Option<CuratedAnswer> = self.write_tx(insert(first)?, rest).await?;
        returned(row, "the curated answer insert").map(|_| ())
    }

    async fn get_curated(&self, company_id: &str, answer_id: &str) -> Result<Option<CuratedAnswer>> {
        self.read_opt(Read::new(GET).bind(company_id).bind(answer_id)).await
    }

    async fn list_curated(&self, company_id: &str) -> Result<Vec<CuratedAnswer>> {
        self.read_all(Read::new(LIST).bind(company_id)).await
    }

    async fn update_curated(&self, a: &CuratedAnswer) -> Result<Option<CuratedAnswer>> {
        let q = Write::new(UPDATE)
            .bind(&a.company_id)
            .bind(&a.id)
            .bind(json(Some(&a.questions))?)
            .bind(&a.answer)
            .bind(&a.source)
            .bind(a.updated_at);
        self.write_opt(q).await
    }

    async fn delete_curated(&self, company_id: &str, answer_id: &str) -> Result<bool> {
        Ok(self.write(Write::new(DELETE).bind(company_id).bind(answer_id)).await? > 0)
    }

    async fn record_curated_hit(&self, company_id: &str, answer_id: &str, at: DateTime<Utc>) -> Result<bool> {
        Ok(self.write(Write::new(HIT).bind(company_id).bind(answer_id).bind(at)).await? > 0)
    }
}

impl FromColumns for CuratedAnswer {
    fn from_columns<R: Columns>(r: &R) -> Result<Self> {
        Ok(CuratedAnswer {
            company_id: r.text("company_id")?,
            id: r.text("answer_id")?,
            questions: r
                .json("questions")?
                .ok_or_else(|| Error::Storage("stored questions are NULL".into()))?,
            answer: r.text("answer")?,
            source: r.text_opt("source")?,
            hits: u64::try_from(r.int("hits")?).unwrap_or(0),
            last_hit_at: r.time_opt("last_hit_at")?,
            created_at: r.time("created_at")?,
            updated_at: r.time("updated_at")?,
        })
    }
}
