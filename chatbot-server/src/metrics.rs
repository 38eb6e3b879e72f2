//! HTTP metrics, registered next to the core's counters in one Prometheus registry.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct RequestLabels {
    pub method: &'static str,
    /// The route template (`/api/widget-settings/{companyId}`), or `unmatched`.
    pub route: &'static str,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct RouteLabels {
    pub route: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct RefusalLabels {
    pub reason: &'static str,
}

/// Why the server refused a connection or a request (429s are counted by the core, by limit:
/// `chatbot_rate_limited_total`; handler panics in `chatbot_http_panics_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// No complete request head within the header deadline.
    Deadline,
    /// At the connection cap with every connection in use: the new one was closed at once.
    Cap,
    /// At the connection cap (or out of file descriptors): the oldest connection that had not
    /// sent a request yet was closed to make room.
    Evicted,
    /// 413.
    PayloadTooLarge,
}

impl Refusal {
    pub const ALL: [Refusal; 4] =
        [Refusal::Deadline, Refusal::Cap, Refusal::Evicted, Refusal::PayloadTooLarge];

    pub const fn label(self) -> &'static str {
        match self {
            Refusal::Deadline => "header_deadline",
            Refusal::Cap => "connection_cap",
            Refusal::Evicted => "silent_evicted",
            Refusal::PayloadTooLarge => "payload_too_large",
        }
    }
}

fn latency_histogram() -> Histogram {
    // 0.25 ms .. ~8 s
    Histogram::new(exponential_buckets(0.000_25, 2.0, 16))
}

pub(crate) struct HttpMetrics {
    pub requests: Family<RequestLabels, Counter>,
    pub latency: Family<RouteLabels, Histogram>,
    pub streams_open: Gauge,
    pub panics: Counter,
    pub refusals: Family<RefusalLabels, Counter>,
    pub connections_open: Gauge,
    pub accept_errors: Counter,
}

impl HttpMetrics {
    pub fn new() -> Self {
        Self {
            requests: Family::default(),
            latency: Family::new_with_constructor(latency_histogram),
            streams_open: Gauge::default(),
            panics: Counter::default(),
            refusals: Family::default(),
            connections_open: Gauge::default(),
            accept_errors: Counter::default(),
        }
    }

    pub fn refused(&self, why: Refusal) {
        self.refusals.get_or_create(&RefusalLabels { reason: why.label() }).inc();
    }

    pub fn register(&self, r: &mut Registry) {
        r.register("chatbot_http_requests", "HTTP requests by route and status", self.requests.clone());
        r.register(
            "chatbot_http_request_duration_seconds",
            "Time to the response head, by route (streams: until the stream starts)",
            self.latency.clone(),
        );
        r.register(
            "chatbot_http_streams_open",
            "Server-sent-event streams now open",
            self.streams_open.clone(),
        );
        r.register("chatbot_http_panics", "Handlers that panicked (answered 500)", self.panics.clone());
        for why in Refusal::ALL {
            let _ = self.refusals.get_or_create(&RefusalLabels { reason: why.label() });
        }
        r.register(
            "chatbot_http_refusals",
            "Connections and requests refused, by reason (header_deadline, connection_cap, \
             silent_evicted, payload_too_large)",
            self.refusals.clone(),
        );
        r.register(
            "chatbot_http_connections_open",
            "Client connections now open (chatbot serve's accept loop)",
            self.connections_open.clone(),
        );
        r.register(
            "chatbot_http_accept_errors",
            "Failed accepts (e.g. out of file descriptors), retried with back-off",
            self.accept_errors.clone(),
        );
    }
}
