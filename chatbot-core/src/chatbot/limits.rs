//! Rate limits, where they live: in this process's memory (one instance, SQLite), or in the
//! database when the store is shared by several instances (PostgreSQL), so a cluster enforces
//! each limit once, not once per instance.

use chrono::Utc;
use tracing::warn;

use crate::error::Result;
use crate::guard::{self, LimitKey};

use super::Chatbot;

impl Chatbot {
    /// One request against `key`'s quota of `per_minute`.
    ///
    /// With a shared store, one GCRA statement in the database decides (about one round trip).
    /// Should the database fail, this process's own limiter decides instead: a limit per
    /// instance for the moment beats refusing every visitor (the failure is logged and
    /// counted as an upstream error of `rate_limits`).
    ///
    /// # Errors
    /// [`crate::Error::RateLimited`] with the wait.
    pub(super) async fn rate_check(&self, key: LimitKey<'_>, per_minute: u32) -> Result<()> {
        let store = self.store();
        if !store.shares_limits() {
            return self.inner.limiter.check(key, per_minute);
        }
        let (interval, tolerance) = guard::gcra_micros(per_minute);
        let now = Utc::now().timestamp_micros();
        match store.rate_limit_step(&key.shared_key(), now, interval, tolerance).await {
            Ok(None) => Ok(()),
            Ok(Some(wait)) => self.inner.limiter.counted(key.kind(), Err(guard::shared_wait(wait))),
            Err(e) => {
                warn!(error = %e, limit = key.kind(), "shared rate limit unavailable; this instance's limit applies");
                self.inner.metrics.upstream_error("rate_limits");
                self.inner.limiter.check(key, per_minute)
            }
        }
    }
}
