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

fn latency_histogram() -> Histogram {
    // 0.25 ms .. ~8 s
    Histogram::new(exponential_buckets(0.000_25, 2.0, 16))
}

pub(crate) struct HttpMetrics {
    pub requests: Family<RequestLabels, Counter>,
    pub latency: Family<RouteLabels, Histogram>,
    pub streams_open: Gauge,
    pub panics: Counter,
}

impl HttpMetrics {
    pub fn new() -> Self {
        Self {
            requests: Family::default(),
            latency: Family::new_with_constructor(latency_histogram),
            streams_open: Gauge::default(),
            panics: Counter::default(),
        }
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
    }
}
