//! Lead-ready webhooks: one signed POST per lead, retried with backoff, recorded.
//! (Skeleton; filled by the leads work.)

use crate::lead::Lead;
use crate::metrics::Metrics;
use crate::store::Store;

/// Deliver the lead to `url`. Never fails the caller; failures are recorded.
pub async fn deliver(
    _http: &reqwest::Client,
    _store: &dyn Store,
    _metrics: &Metrics,
    _company_id: &str,
    _url: &str,
    _lead: &Lead,
) {
}
