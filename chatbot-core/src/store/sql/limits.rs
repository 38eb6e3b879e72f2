//! [`LimitStore`] for every SQL backend: GCRA in one statement (see [`text::RATE_LIMIT_STEP`]).

use async_trait::async_trait;

use super::{Read, Scalar, SqlBackend, Write, text};
use crate::error::Result;
use crate::store::RateStep;
use crate::store::traits::LimitStore;

/// Most steps chained in one statement (a request takes at most four: IP, new conversation,
/// session, failed authentication).
const MAX_CHAINED: usize = 4;

/// `$1` now, then per step `key, interval, tolerance`: step k's upsert
/// ([`text::RATE_LIMIT_STEP`]'s) runs only on the row step k-1 returned, so the chain stops at
/// the first refusal; the one row counts the steps taken (= the refused step's index, or all).
fn chained_steps_sql(n: usize) -> String {
    let mut sql = String::from("WITH ");
    for k in 0..n {
        let (key, iv, tol) = (3 * k + 2, 3 * k + 3, 3 * k + 4);
        let next = format!("(CASE WHEN rate_limits.tat_us > $1 THEN rate_limits.tat_us ELSE $1 END) + ${iv}");
        let from = if k == 0 { String::new() } else { format!(" FROM s{}", k - 1) };
        sql.push_str(&format!(
            "{}s{k} AS (INSERT INTO rate_limits (key, tat_us) SELECT ${key}, $1 + ${iv}{from} \
             ON CONFLICT (key) DO UPDATE SET tat_us = {next} WHERE {next} <= $1 + ${tol} RETURNING 1 AS one)",
            if k == 0 { "" } else { ", " }
        ));
    }
    let counts: Vec<String> = (0..n).map(|k| format!("(SELECT count(*) FROM s{k})")).collect();
    sql.push_str(&format!(" SELECT {} AS v", counts.join(" + ")));
    sql
}

/// The wait of a refused step: until max(stored, now) + interval fits within the tolerance.
async fn wait<B: SqlBackend>(
    b: &B,
    key: &str,
    now_us: i64,
    interval_us: i64,
    tolerance_us: i64,
) -> Result<i64> {
    let tat =
        b.read_opt::<Scalar<i64>>(Read::new(text::RATE_LIMIT_TAT).bind(key)).await?.map_or(now_us, |t| t.0);
    Ok((tat.max(now_us) + interval_us - tolerance_us - now_us).max(1))
}

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
        Ok(Some(wait(self, key, now_us, interval_us, tolerance_us).await?))
    }

    async fn rate_limit_steps(&self, steps: &[RateStep], now_us: i64) -> Result<Option<(usize, i64)>> {
        let distinct = steps.iter().map(|s| s.key.as_str()).collect::<std::collections::HashSet<_>>().len();
        if !B::WRITING_CTES || steps.len() < 2 || steps.len() > MAX_CHAINED || distinct < steps.len() {
            for (i, s) in steps.iter().enumerate() {
                if let Some(wait) =
                    self.rate_limit_step(&s.key, now_us, s.interval_us, s.tolerance_us).await?
                {
                    return Ok(Some((i, wait)));
                }
            }
            return Ok(None);
        }
        let mut q = Write::new(chained_steps_sql(steps.len())).bind(now_us);
        for s in steps {
            q = q.bind(s.key.as_str()).bind(s.interval_us).bind(s.tolerance_us);
        }
        let taken = self.write_opt::<Scalar<i64>>(q).await?.map_or(0, |v| v.0);
        let Some(refused) = usize::try_from(taken).ok().and_then(|i| steps.get(i).map(|s| (i, s))) else {
            return Ok(None);
        };
        let (i, s) = refused;
        Ok(Some((i, wait(self, &s.key, now_us, s.interval_us, s.tolerance_us).await?)))
    }

    async fn purge_rate_limits(&self, now_us: i64) -> Result<u64> {
        self.write(Write::new(text::PURGE_RATE_LIMITS).bind(now_us)).await
    }
}
