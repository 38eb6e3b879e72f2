//! Counters the core keeps for operators (Prometheus, via `prometheus-client`). The server adds
//! its HTTP metrics to the same registry and serves `/metrics`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReplyLabels {
    /// `model`, `fallback` or `refusal`.
    pub answered_by: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ServiceLabels {
    /// `openai`, `pinecone`, `embeddings`, `webhook`.
    pub service: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FeedbackLabels {
    /// `up` or `down`.
    pub rating: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LimitLabels {
    /// `ip`, `session` (requests per minute) or `auth` (failed authentications per IP).
    pub limit: String,
}

/// The rate-limit kinds [`crate::guard::RateLimiter`] counts (present at 0 from the start).
pub const LIMIT_KINDS: &[&str] = &["ip", "session", "auth"];

/// Core counters.
#[derive(Debug, Default)]
pub struct Metrics {
    pub replies: Family<ReplyLabels, Counter>,
    pub upstream_errors: Family<ServiceLabels, Counter>,
    pub tokens_used: Counter,
    pub budget_exhausted: Counter,
    pub leads_ready: Counter,
    pub webhook_failures: Counter,
    /// Requests refused with 429, by limit kind.
    pub rate_limited: Family<LimitLabels, Counter>,
    /// Streamed chat turns that panicked (answered with an `error` event, nothing stored empty).
    pub turn_panics: Counter,
    /// Visitors' ratings of replies, by rating (a replaced rating counts again).
    pub feedback: Family<FeedbackLabels, Counter>,
    /// Chat turns whose turn record could not be stored (the reply was still given).
    pub turn_record_failures: Counter,
}

impl Metrics {
    /// Counters with every series present from the start (at 0): each reply label and each
    /// upstream service named, so dashboards and alerts see them before the first event.
    pub(crate) fn with_series(reply_labels: &[&str], services: &[&str]) -> Self {
        let m = Self::default();
        for by in reply_labels {
            let _ = m.replies.get_or_create(&ReplyLabels { answered_by: (*by).into() });
        }
        for service in services {
            let _ = m.upstream_errors.get_or_create(&ServiceLabels { service: (*service).into() });
        }
        for limit in LIMIT_KINDS {
            let _ = m.rate_limited.get_or_create(&LimitLabels { limit: (*limit).into() });
        }
        for rating in crate::feedback::Rating::ALL {
            let _ = m.feedback.get_or_create(&FeedbackLabels { rating: rating.as_str().into() });
        }
        m
    }

    /// Register every counter under `chatbot_` in `registry`.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "chatbot_replies",
            "Chat replies by the path that produced them",
            self.replies.clone(),
        );
        registry.register(
            "chatbot_upstream_errors",
            "Failures of outside services (OpenAI, Pinecone, webhooks)",
            self.upstream_errors.clone(),
        );
        registry.register(
            "chatbot_model_tokens",
            "Tokens spent on the paid chat model",
            self.tokens_used.clone(),
        );
        registry.register(
            "chatbot_budget_exhausted",
            "Chat turns answered by the fallback because the daily token budget was spent",
            self.budget_exhausted.clone(),
        );
        registry.register("chatbot_leads_ready", "Leads that became ready", self.leads_ready.clone());
        registry.register(
            "chatbot_webhook_failures",
            "Lead webhooks that failed after retries",
            self.webhook_failures.clone(),
        );
        registry.register(
            "chatbot_rate_limited",
            "Requests refused with 429, by limit (ip, session, auth = failed authentications per IP)",
            self.rate_limited.clone(),
        );
        registry.register(
            "chatbot_turn_panics",
            "Streamed chat turns that panicked (answered with an error event)",
            self.turn_panics.clone(),
        );
        registry.register(
            "chatbot_feedback",
            "Visitors' ratings of replies, by rating (up, down; a replaced rating counts again)",
            self.feedback.clone(),
        );
        registry.register(
            "chatbot_turn_record_failures",
            "Chat turns whose turn record (gap report data) could not be stored",
            self.turn_record_failures.clone(),
        );
    }

    pub fn reply(&self, answered_by: &str) {
        self.replies.get_or_create(&ReplyLabels { answered_by: answered_by.into() }).inc();
    }

    pub fn feedback(&self, rating: &str) {
        self.feedback.get_or_create(&FeedbackLabels { rating: rating.into() }).inc();
    }

    pub fn upstream_error(&self, service: &str) {
        self.upstream_errors.get_or_create(&ServiceLabels { service: service.into() }).inc();
    }
}
