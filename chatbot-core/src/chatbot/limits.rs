//! Rate limits, where they live: in this process's memory (one instance, SQLite), or in the
//! database when the store is shared by several instances (PostgreSQL), so a cluster enforces
//! each limit once, not once per instance.

use chrono::Utc;
use tracing::warn;

use crate::error::Result;
use crate::guard::{self, LimitKey};
use crate::store::RateStep;

use super::Chatbot;

impl Chatbot {
    /// One request against `key`'s quota of `per_minute`.
    ///
    /// # Errors
    /// [`crate::Error::RateLimited`] with the wait.
    pub(super) async fn rate_check(&self, key: LimitKey<'_>, per_minute: u32) -> Result<()> {
        self.rate_checks(&[(key, per_minute)]).await
    }

    /// One request against several quotas, in order, stopping at the first that refuses (the
    /// later ones are not charged).
    ///
    /// With a shared store, one statement in the database decides them all (one round trip,
    /// GCRA per key). Should the database fail, this process's own limiter decides instead: a
    /// limit per instance for the moment beats refusing every visitor (the failure is logged and
    /// counted as an upstream error of `rate_limits`).
    ///
    /// # Errors
    /// [`crate::Error::RateLimited`] with the wait.
    pub(super) async fn rate_checks(&self, checks: &[(LimitKey<'_>, u32)]) -> Result<()> {
        let store = self.store();
        let local =
            || checks.iter().try_for_each(|&(key, per_minute)| self.inner.limiter.check(key, per_minute));
        if !store.shares_limits() {
            return local();
        }
        let steps: Vec<RateStep> = checks
            .iter()
            .map(|&(key, per_minute)| {
                let (interval_us, tolerance_us) = guard::gcra_micros(per_minute);
                RateStep { key: key.shared_key(), interval_us, tolerance_us }
            })
            .collect();
        match store.rate_limit_steps(&steps, Utc::now().timestamp_micros()).await {
            Ok(None) => Ok(()),
            Ok(Some((i, wait))) => {
                let kind = checks.get(i).map_or("unknown", |(key, _)| key.kind());
                self.inner.limiter.counted(kind, Err(guard::shared_wait(wait)))
            }
            Err(e) => {
                warn!(error = %e, "shared rate limits unavailable; this instance's limits apply");
                self.inner.metrics.upstream_error("rate_limits");
                local()
            }
        }
    }
}
