//! Lead-ready webhooks: one signed POST per lead, retried with backoff, recorded.
//!
//! Body: `{"event":"lead.ready","company_id",...,"lead":{lead_id,name,email,phone,message,
//! ai_summary,profile,profile_complete,status,created_at},"sent_at"}`. Headers: `Content-Type: application/json`,
//! `X-Chatbot-Event: lead.ready`, `X-Chatbot-Signature: sha256=<hex HMAC-SHA256(body, secret)>`
//! with the company's webhook secret. Network errors, 5xx and 429 are retried with exponential
//! backoff under [`crate::net::retry`] (a `Retry-After` is honoured up to the cap); other 4xx
//! are final. The outcome is stored as a [`WebhookDelivery`]; the chat never waits for it (the
//! engine spawns it).
//!
//! The webhook has its own client ([`WebhookClient`]): redirects are not followed (a 3xx is a
//! failed delivery), no proxy is used, and the public-address guard ([`super::guard`]) runs at
//! connect time, so a URL that names or resolves (now, or after a DNS re-binding) to a loopback,
//! private, link-local, CGNAT or metadata address is never contacted. [`WebhookRules`] decide
//! which URLs may be saved and used: https to a public address, unless the operator opts in
//! (`CHATBOT_ALLOW_PRIVATE_WEBHOOKS`, `CHATBOT_ALLOW_HTTP_WEBHOOKS`).

use std::time::Duration;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;
use tracing::{info, warn};

use super::guard::{GuardedResolver, check_literal_host, non_public_reason};
use super::retry::{RetryPolicy, Transience, is_transient_status, retry, retry_after};
use crate::error::{Error, Result};
use crate::lead::Lead;
use crate::metrics::Metrics;
use crate::store::{Store, WebhookDelivery};

/// The event name in the body and the `X-Chatbot-Event` header.
pub const EVENT_LEAD_READY: &str = "lead.ready";
/// Header carrying `sha256=<hex>`.
pub const SIGNATURE_HEADER: &str = "X-Chatbot-Signature";
/// Header carrying the event name.
pub const EVENT_HEADER: &str = "X-Chatbot-Event";

/// Which webhook URLs are allowed: by default https to a public address only.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WebhookRules {
    /// Allow loopback, private, link-local, CGNAT and other internal addresses
    /// (`CHATBOT_ALLOW_PRIVATE_WEBHOOKS=1`; development only: it also allows plain http).
    pub allow_private: bool,
    /// Allow plain `http://` URLs (`CHATBOT_ALLOW_HTTP_WEBHOOKS=1`).
    pub allow_http: bool,
}

impl WebhookRules {
    /// Everything allowed (development and tests with a receiver on 127.0.0.1).
    pub const DEVELOPMENT: Self = Self { allow_private: true, allow_http: true };

    /// The checks that need no network: an absolute URL, its scheme, and a literal IP host.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming `field`.
    pub fn check_url(&self, field: &str, url: &str) -> Result<url::Url> {
        let parsed = url::Url::parse(url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            .ok_or_else(|| Error::invalid(field, format!("must be an https URL, got {url:?}")))?;
        check_literal_host(&parsed, self.allow_private).map_err(|why| {
            Error::invalid(
                field,
                format!("{why}: webhooks go to public addresses only (CHATBOT_ALLOW_PRIVATE_WEBHOOKS=1 allows others for development)"),
            )
        })?;
        if parsed.scheme() != "https" && !self.allow_http {
            return Err(Error::invalid(
                field,
                "must be an https URL (CHATBOT_ALLOW_HTTP_WEBHOOKS=1 allows plain http)",
            ));
        }
        Ok(parsed)
    }

    /// [`WebhookRules::check_url`], then resolve the host: a name that resolves to any refused
    /// address is refused. A name that does not resolve (yet) is accepted: the connect-time
    /// guard still checks every address it resolves to later.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming `field`.
    pub async fn validate(&self, field: &str, url: &str) -> Result<()> {
        let parsed = self.check_url(field, url)?;
        if self.allow_private {
            return Ok(());
        }
        let (Some(url::Host::Domain(host)), Some(port)) = (parsed.host(), parsed.port_or_known_default())
        else {
            return Ok(());
        };
        let lookup =
            tokio::time::timeout(Duration::from_secs(5), tokio::net::lookup_host((host, port))).await;
        let Ok(Ok(addrs)) = lookup else { return Ok(()) };
        // Every address must be public: a name with one internal address is refused outright.
        for a in addrs {
            if let Some(why) = non_public_reason(a.ip()) {
                return Err(Error::invalid(
                    field,
                    format!(
                        "{host} resolves to {}, a {why} address: webhooks go to public addresses only \
                         (CHATBOT_ALLOW_PRIVATE_WEBHOOKS=1 allows others for development)",
                        a.ip()
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// The webhook's own HTTP client: no redirects, no proxy, the public-address guard at connect
/// time (unless [`WebhookRules::allow_private`]). Cheap to clone.
#[derive(Debug, Clone)]
pub struct WebhookClient {
    /// `None` when the client could not be built: deliveries then fail (never a client
    /// without the guard).
    http: Option<reqwest::Client>,
    rules: WebhookRules,
}

impl WebhookClient {
    /// A client under `rules` (10 s per attempt).
    pub fn new(rules: WebhookRules) -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(5))
            .user_agent(concat!("chatbot-toolkit/", env!("CARGO_PKG_VERSION"), " (lead webhook)"))
            .dns_resolver(std::sync::Arc::new(GuardedResolver { allow_private: rules.allow_private }))
            .build();
        if let Err(e) = &http {
            tracing::error!(error = %e, "the webhook HTTP client could not be built; deliveries will fail");
        }
        Self { http: http.ok(), rules }
    }

    /// The rules this client enforces.
    pub fn rules(&self) -> WebhookRules {
        self.rules
    }
}

/// Retry policy: `attempts` tries in all; the n-th retry waits `base_delay * 2^(n-1)`, at most
/// `max_delay` (or the receiver's `Retry-After`, at most `max_delay`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookPolicy {
    pub attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for WebhookPolicy {
    /// 4 attempts: at once, then after 0.5 s, 1 s and 2 s.
    fn default() -> Self {
        Self { attempts: 4, base_delay: Duration::from_millis(500), max_delay: Duration::from_secs(30) }
    }
}

impl WebhookPolicy {
    /// The wait before retry number `retry` (1-based).
    pub fn delay(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry.saturating_sub(1));
        self.base_delay.saturating_mul(factor).min(self.max_delay)
    }

    /// The shared retry policy this describes (an exact schedule: receivers differ, so retries
    /// do not need jitter to spread out).
    pub fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy::new(self.attempts.max(1) - 1)
            .with_backoff(self.base_delay, self.max_delay)
            .with_jitter(0.0)
            .with_max_retry_after(self.max_delay)
            .with_clamped_retry_after(true)
    }
}

/// The JSON body for a ready lead.
pub fn payload(company_id: &str, lead: &Lead, sent_at: DateTime<Utc>) -> serde_json::Value {
    json!({
        "event": EVENT_LEAD_READY,
        "company_id": company_id,
        "lead": {
            "lead_id": lead.lead_id,
            "name": lead.name,
            "email": lead.email,
            "phone": lead.phone,
            "message": lead.message,
            "ai_summary": lead.ai_summary,
            "profile": lead.profile,
            "profile_complete": lead.profile_complete,
            "status": lead.status.as_str(),
            "created_at": lead.created_at,
        },
        "sent_at": sent_at,
    })
}

fn mac(secret: &str) -> Option<Hmac<Sha256>> {
    <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).ok()
}

/// `sha256=<hex HMAC-SHA256(body, secret)>`, the `X-Chatbot-Signature` value.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let Some(mut m) = mac(secret) else { return String::new() };
    m.update(body);
    format!("sha256={}", hex::encode(m.finalize().into_bytes()))
}

/// Check a signature header in constant time (for receivers written in Rust, and the tests).
pub fn verify(secret: &str, body: &[u8], header: &str) -> bool {
    let Some(hex_sig) = header.trim().strip_prefix("sha256=") else { return false };
    let Ok(sig) = hex::decode(hex_sig) else { return false };
    let Some(mut m) = mac(secret) else { return false };
    m.update(body);
    m.verify_slice(&sig).is_ok()
}

/// What a delivery attempt series ended with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub attempts: i32,
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub delivered: bool,
}

/// One failed POST.
struct Failure {
    status: Option<u16>,
    message: String,
    transience: Transience,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// POST `body` signed with `secret` to `url` under `policy` (no store involved). A URL the
/// client's rules refuse is not contacted; a redirect is a failure, never followed.
pub async fn send_signed(
    client: &WebhookClient,
    url: &str,
    secret: &str,
    body: &[u8],
    policy: &WebhookPolicy,
) -> Outcome {
    if let Err(e) = client.rules.check_url("lead_webhook_url", url) {
        return Outcome { attempts: 0, status_code: None, error: Some(e.to_string()), delivered: false };
    }
    let Some(http) = client.http.as_ref() else {
        return Outcome {
            attempts: 0,
            status_code: None,
            error: Some("the webhook HTTP client is unavailable".into()),
            delivered: false,
        };
    };
    let signature = sign(secret, body);
    let signature = signature.as_str();
    let (result, attempts) = retry(
        &policy.retry_policy(),
        "webhook",
        |f: &Failure| f.transience,
        |_| async move {
            let resp = http
                .post(url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header(SIGNATURE_HEADER, signature)
                .header(EVENT_HEADER, EVENT_LEAD_READY)
                .body(body.to_vec())
                .send()
                .await
                .map_err(|e| Failure {
                    status: None,
                    message: format!("request failed: {e}"),
                    // Timeouts included: the receiver may just be slow to wake.
                    transience: Transience::TRANSIENT,
                })?;
            let status = resp.status();
            if status.is_success() {
                return Ok(status.as_u16());
            }
            if status.is_redirection() {
                // Following it would re-send the signed lead to a URL nobody validated.
                return Err(Failure {
                    status: Some(status.as_u16()),
                    message: format!("HTTP {status}: webhook redirects are not followed"),
                    transience: Transience::Permanent,
                });
            }
            let transience = if is_transient_status(status.as_u16()) {
                Transience::Transient { retry_after: retry_after(resp.headers()) }
            } else {
                Transience::Permanent
            };
            Err(Failure { status: Some(status.as_u16()), message: format!("HTTP {status}"), transience })
        },
    )
    .await;
    let attempts = i32::try_from(attempts).unwrap_or(i32::MAX);
    match result {
        Ok(code) => Outcome { attempts, status_code: Some(i32::from(code)), error: None, delivered: true },
        Err(f) => Outcome {
            attempts,
            status_code: f.status.map(i32::from),
            error: Some(f.message),
            delivered: false,
        },
    }
}

/// Deliver the lead to `url`. Never fails the caller; failures are recorded.
pub async fn deliver(
    http: &WebhookClient,
    store: &dyn Store,
    metrics: &Metrics,
    company_id: &str,
    url: &str,
    lead: &Lead,
) {
    deliver_with(http, store, metrics, company_id, url, lead, &WebhookPolicy::default()).await;
}

/// [`deliver`] with an explicit retry policy; returns the recorded delivery.
pub async fn deliver_with(
    http: &WebhookClient,
    store: &dyn Store,
    metrics: &Metrics,
    company_id: &str,
    url: &str,
    lead: &Lead,
    policy: &WebhookPolicy,
) -> WebhookDelivery {
    let created_at = Utc::now();
    let outcome = match store.webhook_secret(company_id).await {
        Ok(secret) => match serde_json::to_vec(&payload(company_id, lead, created_at)) {
            Ok(body) => send_signed(http, url, &secret, &body, policy).await,
            Err(e) => Outcome {
                attempts: 0,
                status_code: None,
                error: Some(format!("could not encode the body: {e}")),
                delivered: false,
            },
        },
        Err(e) => Outcome {
            attempts: 0,
            status_code: None,
            error: Some(format!("no webhook secret: {e}")),
            delivered: false,
        },
    };
    if outcome.delivered {
        info!(
            company = company_id,
            lead = lead.lead_id,
            attempts = outcome.attempts,
            "lead webhook delivered"
        );
    } else {
        warn!(
            company = company_id,
            lead = lead.lead_id,
            attempts = outcome.attempts,
            error = outcome.error.as_deref().unwrap_or(""),
            "lead webhook failed"
        );
        metrics.webhook_failures.inc();
        metrics.upstream_error("webhook");
    }
    let delivery = WebhookDelivery {
        company_id: company_id.to_string(),
        lead_id: lead.lead_id.clone(),
        url: url.to_string(),
        attempts: outcome.attempts,
        status_code: outcome.status_code,
        error: outcome.error,
        delivered: outcome.delivered,
        created_at,
    };
    if let Err(e) = store.record_webhook_delivery(&delivery).await {
        warn!(company = company_id, lead = lead.lead_id, error = %e, "could not record the webhook delivery");
    }
    delivery
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let p = WebhookPolicy::default();
        assert_eq!(
            (p.delay(1), p.delay(2), p.delay(3)),
            (Duration::from_millis(500), Duration::from_secs(1), Duration::from_secs(2))
        );
        assert_eq!(p.delay(40), p.max_delay);
    }

    #[test]
    fn signatures_verify() {
        let s = sign("secret", b"{}");
        assert!(s.starts_with("sha256=") && s.len() == 7 + 64);
        assert!(verify("secret", b"{}", &s));
        assert!(!verify("other", b"{}", &s));
        assert!(!verify("secret", b"{ }", &s));
        assert!(!verify("secret", b"{}", "sha1=00"));
    }
}
