//! One retry policy for every remote call: OpenAI-compatible APIs, Pinecone, lead webhooks and
//! ingestion batches.
//!
//! Exponential backoff with jitter, a bounded number of retries (and optionally a bounded total
//! time), the server's `Retry-After` honoured (seconds, HTTP date, or OpenAI's `retry-after-ms`),
//! and only transient failures retried: the caller's `classify` says which those are (HTTP 429
//! except quota errors, 5xx, connection failures; timeouts only when the policy says so).
//!
//! Written here rather than taken from a crate (`backon`, `backoff`): what we need beyond a
//! backoff schedule is small but specific (the server's delay read from each error, a too-long
//! `Retry-After` either clamped or returned to the caller with the error intact, the number of
//! attempts reported with the outcome), and the whole loop is ~60 lines.

use std::future::Future;
use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;

use crate::error::Error;

/// When and how often a failed call is tried again.
///
/// The wait before retry `n` (0-based) is the server's `Retry-After` when the failure carried
/// one, else `initial_backoff * 2^n` capped at `max_backoff`, plus up to `jitter` (a fraction,
/// 10% by default) so that many clients do not retry in lockstep. A `Retry-After` longer than
/// `max_retry_after` is either waited for only up to that bound ([`RetryPolicy::with_clamped_retry_after`])
/// or, by default, not waited for at all: the call fails at once with the failure (which carries
/// the server's delay for the caller).
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    max_retries: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    max_retry_after: Duration,
    clamp_retry_after: bool,
    retry_timeouts: bool,
    jitter: f64,
    max_elapsed: Option<Duration>,
}

impl Default for RetryPolicy {
    /// Two retries, 250 ms doubling to 4 s with 10% jitter, `Retry-After` honoured up to 10 s,
    /// timeouts not retried, no total time bound.
    fn default() -> Self {
        Self {
            max_retries: 2,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(4),
            max_retry_after: Duration::from_secs(10),
            clamp_retry_after: false,
            retry_timeouts: false,
            jitter: 0.1,
            max_elapsed: None,
        }
    }
}

impl RetryPolicy {
    /// `max_retries` extra attempts after the first, with the default backoff.
    pub fn new(max_retries: u32) -> Self {
        Self { max_retries, ..Self::default() }
    }

    /// Never retry.
    pub fn none() -> Self {
        Self::new(0)
    }

    /// Exponential backoff from `initial` doubling up to `max`.
    #[must_use]
    pub fn with_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max.max(initial);
        self
    }

    /// The longest server-requested `Retry-After` waited for.
    #[must_use]
    pub fn with_max_retry_after(mut self, max: Duration) -> Self {
        self.max_retry_after = max;
        self
    }

    /// Whether a longer `Retry-After` is waited for up to [`RetryPolicy::with_max_retry_after`]
    /// (`true`: background work that should not give up) or ends the call at once (`false`, the
    /// default: a chat turn must not be parked for a minute).
    #[must_use]
    pub fn with_clamped_retry_after(mut self, clamp: bool) -> Self {
        self.clamp_retry_after = clamp;
        self
    }

    /// Whether a timed-out attempt is tried again.
    #[must_use]
    pub fn with_retry_timeouts(mut self, retry: bool) -> Self {
        self.retry_timeouts = retry;
        self
    }

    /// Random extra wait, as a fraction of the backoff (0 for an exact schedule; at most 1).
    #[must_use]
    pub fn with_jitter(mut self, fraction: f64) -> Self {
        self.jitter = if fraction.is_finite() { fraction.clamp(0.0, 1.0) } else { 0.0 };
        self
    }

    /// No retry starts when its wait would end more than `max` after the first attempt began.
    #[must_use]
    pub fn with_max_elapsed(mut self, max: Duration) -> Self {
        self.max_elapsed = Some(max);
        self
    }

    pub fn max_retries(&self) -> u32 {
        self.max_retries
    }

    pub fn retries_timeouts(&self) -> bool {
        self.retry_timeouts
    }

    /// The backoff before retry `attempt` (0-based) when the server named no delay, jitter
    /// included.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = self.initial_backoff.saturating_mul(2u32.saturating_pow(attempt.min(16)));
        let base = exp.min(self.max_backoff);
        if self.jitter <= 0.0 {
            return base;
        }
        base + base.mul_f64(self.jitter * rand::random::<f64>())
    }

    /// The wait before retry `attempt` after a failure classified as `t`; `None`: give up.
    fn delay(&self, attempt: u32, t: Transience) -> Option<Duration> {
        let retry_after = match t {
            Transience::Permanent => return None,
            Transience::TimedOut if !self.retry_timeouts => return None,
            Transience::TimedOut => None,
            Transience::Transient { retry_after } => retry_after,
        };
        if attempt >= self.max_retries {
            return None;
        }
        match retry_after {
            Some(d) if d > self.max_retry_after && !self.clamp_retry_after => None,
            Some(d) => Some(d.min(self.max_retry_after)),
            None => Some(self.backoff(attempt)),
        }
    }
}

/// Whether a failure may go away by itself (the caller's `classify` decides per error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transience {
    /// Trying again cannot help (bad request, bad key, quota spent).
    Permanent,
    /// Rate limited, server error, connection failure: try again, after `retry_after` when the
    /// server said.
    Transient { retry_after: Option<Duration> },
    /// The attempt timed out: tried again only when the policy retries timeouts.
    TimedOut,
}

impl Transience {
    /// Transient, with no server-requested delay.
    pub const TRANSIENT: Self = Self::Transient { retry_after: None };

    /// The classification of a core [`Error`]: retryable errors are transient, after their
    /// `retry_after` when they carry one.
    pub fn of_error(e: &Error) -> Self {
        if !e.is_retryable() {
            return Self::Permanent;
        }
        let retry_after = match e {
            Error::Upstream { retry_after, .. } => *retry_after,
            Error::RateLimited { retry_after } => Some(*retry_after),
            _ => None,
        };
        Self::Transient { retry_after }
    }
}

/// Run `op` (given the 0-based attempt number) until it succeeds, `classify` calls its failure
/// permanent, or `policy` says stop. Returns the last outcome and the number of attempts made.
/// `what` names the call in the retry log lines.
pub async fn retry<T, E, F, Fut, C>(
    policy: &RetryPolicy,
    what: &str,
    classify: C,
    mut op: F,
) -> (Result<T, E>, u32)
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, E>>,
    C: Fn(&E) -> Transience,
    E: std::fmt::Display,
{
    let started = Instant::now();
    let mut attempt: u32 = 0;
    loop {
        let err = match op(attempt).await {
            Ok(v) => return (Ok(v), attempt + 1),
            Err(e) => e,
        };
        let delay = policy
            .delay(attempt, classify(&err))
            .filter(|d| policy.max_elapsed.is_none_or(|max| started.elapsed() + *d <= max));
        let Some(delay) = delay else { return (Err(err), attempt + 1) };
        tracing::warn!(
            what,
            attempt = attempt + 1,
            delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            error = %err,
            "transient failure; retrying"
        );
        tokio::time::sleep(delay).await;
        attempt += 1;
    }
}

/// [`retry`] for calls that fail with the core [`Error`], classified by [`Transience::of_error`]
/// (what ingestion uses around embedder and vector-store batches).
///
/// # Errors
/// The first permanent error, or the last one when the policy gives up.
pub async fn retry_transient<T, F, Fut>(policy: &RetryPolicy, what: &str, op: F) -> crate::Result<T>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = crate::Result<T>>,
{
    retry(policy, what, Transience::of_error, op).await.0
}

/// The server's requested delay: OpenAI's `retry-after-ms`, else `Retry-After` in seconds or as
/// an HTTP date (a date in the past means now).
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    if let Some(ms) = get("retry-after-ms").and_then(|v| v.parse::<f64>().ok())
        && ms.is_finite()
        && ms >= 0.0
    {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    let v = get("retry-after")?;
    if let Ok(secs) = v.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(1e9)));
    }
    let at = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let wait = at.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

/// Whether an HTTP status is worth retrying by itself: 429 and 5xx. Callers refine it (OpenAI
/// also retries 408 and 409, and its `insufficient_quota` 429 is permanent).
pub fn is_transient_status(status: u16) -> bool {
    status == 429 || (500..600).contains(&status)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use reqwest::header::HeaderValue;

    use super::*;

    #[test]
    fn retry_after_in_seconds_millis_and_dates() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("2"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
        h.insert("retry-after-ms", HeaderValue::from_static("150"));
        assert_eq!(retry_after(&h), Some(Duration::from_millis(150)));
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"));
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
        let later = (chrono::Utc::now() + chrono::TimeDelta::seconds(30)).to_rfc2822();
        h.insert("retry-after", HeaderValue::from_str(&later).unwrap());
        let d = retry_after(&h).unwrap();
        assert!(d > Duration::from_secs(25) && d <= Duration::from_secs(30), "{d:?}");
        h.insert("retry-after", HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let p = RetryPolicy::new(5).with_backoff(Duration::from_millis(100), Duration::from_millis(350));
        let b0 = p.backoff(0);
        let b1 = p.backoff(1);
        let b5 = p.backoff(5);
        assert!(b0 >= Duration::from_millis(100) && b0 < Duration::from_millis(111), "{b0:?}");
        assert!(b1 >= Duration::from_millis(200) && b1 < Duration::from_millis(221), "{b1:?}");
        assert!(b5 >= Duration::from_millis(350) && b5 < Duration::from_millis(386), "{b5:?}");
        let exact = p.with_jitter(0.0);
        assert_eq!(
            (exact.backoff(0), exact.backoff(1)),
            (Duration::from_millis(100), Duration::from_millis(200))
        );
    }

    #[test]
    fn long_retry_after_gives_up_or_is_clamped() {
        let long = Transience::Transient { retry_after: Some(Duration::from_secs(120)) };
        let p = RetryPolicy::new(3).with_max_retry_after(Duration::from_secs(30));
        assert_eq!(p.delay(0, long), None);
        let p = p.with_clamped_retry_after(true);
        assert_eq!(p.delay(0, long), Some(Duration::from_secs(30)));
        assert_eq!(p.delay(3, long), None, "out of retries");
        assert_eq!(p.delay(0, Transience::Permanent), None);
        assert_eq!(p.delay(0, Transience::TimedOut), None);
        assert!(p.with_retry_timeouts(true).delay(0, Transience::TimedOut).is_some());
    }

    #[tokio::test]
    async fn retries_transient_errors_only_and_counts_attempts() {
        let fast = RetryPolicy::new(3).with_backoff(Duration::from_millis(1), Duration::from_millis(2));
        let calls = AtomicU32::new(0);
        let r = retry_transient(&fast, "test", |_| async {
            if calls.fetch_add(1, Ordering::SeqCst) < 2 {
                Err(Error::upstream("embeddings", "503", true))
            } else {
                Ok(7)
            }
        })
        .await;
        assert_eq!(r.unwrap(), 7);
        assert_eq!(calls.load(Ordering::SeqCst), 3);

        let (r, attempts) = retry(&fast, "test", Transience::of_error, |_| async {
            Err::<(), _>(Error::upstream("embeddings", "400 bad input", false))
        })
        .await;
        assert!(r.is_err());
        assert_eq!(attempts, 1);

        let (r, attempts) = retry(&fast, "test", Transience::of_error, |n| async move {
            Err::<(), _>(Error::upstream("x", format!("try {n}"), true))
        })
        .await;
        assert_eq!((r.unwrap_err().to_string(), attempts), ("x failed: try 3".to_string(), 4));
    }

    #[tokio::test]
    async fn the_total_time_bound_stops_retries() {
        let p = RetryPolicy::new(10)
            .with_backoff(Duration::from_millis(40), Duration::from_millis(40))
            .with_jitter(0.0)
            .with_max_elapsed(Duration::from_millis(100));
        let (_, attempts) = retry(
            &p,
            "test",
            |_: &Error| Transience::TRANSIENT,
            |_| async { Err::<(), _>(Error::Cancelled) },
        )
        .await;
        assert_eq!(attempts, 3, "two 40 ms waits fit in 100 ms, a third does not");
    }
}
