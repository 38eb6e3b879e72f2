//! [`LimitStore`] for every SQL backend: GCRA in one statement (see [`text::RATE_LIMIT_STEP`]).

use async_trait::async_trait;

use super::{Read, Scalar, SqlBackend, Write, text};
use crate::error::Result;
use crate::store::traits::LimitStore;

#[async_trait]
impl<B: SqlBackend> LimitStore for B {
    fn shares_limits(&self) -> bool {
        // SQLite is one process's file (a second server on it would have its own limits, as
        // it has its own caches); PostgreSQL serves every instance of a deployment.
        B::NAME == "postgres"
    }

    async fn rate_limit_step(
        &self,
        key: &str,
        now_us: i64,
        interval_us: i64,
        tolerance_us: i64,
    ) -> Result<Option<i64>> {
        let step =
            Write::new(text::RATE_LIMIT_STEP).bind(key).bind(now_us).bind(interval_us).bind(tolerance_us);
        if self.write_opt::<Scalar<i64>>(step).await?.is_some() {
            return Ok(None);
        }
        // Refused: the wait is until max(stored, now) + interval fits within the tolerance.
        let tat = self
            .read_opt::<Scalar<i64>>(Read::new(text::RATE_LIMIT_TAT).bind(key))
            .await?
            .map_or(now_us, |t| t.0);
        Ok(Some((tat.max(now_us) + interval_us - tolerance_us - now_us).max(1)))
    }

    async fn purge_rate_limits(&self, now_us: i64) -> Result<u64> {
        self.write(Write::new(text::PURGE_RATE_LIMITS).bind(now_us)).await
    }
}
