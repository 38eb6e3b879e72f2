//! Rate limits per (company, client IP) and per (company, session), and failed authentications
//! per client IP, with governor's keyed GCRA limiters. Each distinct quota (requests per minute)
//! gets its own limiter, so companies can have different limits; idle keys are dropped
//! periodically so memory stays bounded. Every refusal is counted by limit kind
//! (`chatbot_rate_limited_total{limit}`).

use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter as Governor};
use ipnet::IpNet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;

use crate::error::{Error, Result};
use crate::metrics::LimitLabels;

/// Default chat requests per minute per session.
pub const DEFAULT_PER_SESSION: u32 = 20;
/// Default requests per minute per client IP (chat and session creation).
pub const DEFAULT_PER_IP: u32 = 60;
/// Default new visitor conversations per minute per company (per server instance): generous
/// enough for load tests, low enough that a flood cannot fill the database at full speed.
pub const DEFAULT_NEW_CONVERSATIONS_PER_MINUTE: u32 = 100_000;
/// Default failed authentications per minute per client IP (a burst of this many, then one
/// every `60 / n` seconds); `Config::auth_failures_per_minute` overrides it.
pub const DEFAULT_AUTH_FAILURES_PER_MINUTE: u32 = 30;
/// Drop idle keys every this many checks.
const RETAIN_EVERY: u64 = 4096;

type Keyed<K> = Governor<K, DashMapStateStore<K>, DefaultClock>;

/// Keyed limiters, one per distinct quota.
struct ByQuota<K: Hash + Eq + Clone> {
    limiters: Mutex<HashMap<u32, Arc<Keyed<K>>>>,
}

impl<K: Hash + Eq + Clone> Default for ByQuota<K> {
    fn default() -> Self {
        Self { limiters: Mutex::new(HashMap::new()) }
    }
}

impl<K: Hash + Eq + Clone> ByQuota<K> {
    fn map(&self) -> MutexGuard<'_, HashMap<u32, Arc<Keyed<K>>>> {
        // A poisoned lock only means another thread panicked while holding it; the map is still
        // consistent (inserts are atomic), so keep using it.
        self.limiters.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn limiter(&self, per_minute: u32) -> Arc<Keyed<K>> {
        let per_minute = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
        self.map()
            .entry(per_minute.get())
            .or_insert_with(|| Arc::new(Governor::dashmap(Quota::per_minute(per_minute))))
            .clone()
    }

    fn check(&self, key: &K, per_minute: u32, what: &str) -> Result<()> {
        let limiter = self.limiter(per_minute);
        match limiter.check_key(key) {
            Ok(()) => Ok(()),
            Err(not_until) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                tracing::debug!(what, per_minute, wait_ms = wait.as_millis() as u64, "rate limited");
                Err(Error::RateLimited { retry_after: round_up_secs(wait) })
            }
        }
    }

    fn retain_recent(&self) {
        for l in self.map().values() {
            l.retain_recent();
            l.shrink_to_fit();
        }
    }

    fn len(&self) -> usize {
        self.map().values().map(|l| l.len()).sum()
    }
}

/// What one rate-limit check counts against.
#[derive(Debug, Clone, Copy)]
pub enum LimitKey<'a> {
    /// Requests (chat and session creation) from one client IP to one company.
    Ip { company_id: &'a str, ip: IpAddr },
    /// Chat requests in one conversation of one company.
    Session { company_id: &'a str, session_id: &'a str },
    /// Failed authentications from one client IP (any company).
    Auth { ip: IpAddr },
    /// New visitor conversations of one company.
    NewConversation { company_id: &'a str },
}

impl LimitKey<'_> {
    /// The limit's kind, as counted in `chatbot_rate_limited_total{limit}`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Ip { .. } => "ip",
            Self::Session { .. } => "session",
            Self::Auth { .. } => "auth",
            Self::NewConversation { .. } => "new_conversation",
        }
    }

    /// The key as stored in a shared limit table (`rate_limits.key`). Addresses are canonical
    /// (an IPv6 client by its /64), so every instance counts one client alike.
    pub fn shared_key(&self) -> String {
        match self {
            Self::Ip { company_id, ip } => format!("ip:{company_id}:{}", canonical(*ip)),
            Self::Session { company_id, session_id } => format!("session:{company_id}:{session_id}"),
            Self::Auth { ip } => format!("auth:{}", canonical(*ip)),
            Self::NewConversation { company_id } => format!("new_conversation:{company_id}"),
        }
    }
}

/// The GCRA parameters of a per-minute quota, as governor's `Quota::per_minute(n)` has them: one
/// request every `60 s / n`, a burst of `n`. In microseconds: `(interval, tolerance)`, where a
/// request is allowed while the key's arrival time stays within now + tolerance.
pub fn gcra_micros(per_minute: u32) -> (i64, i64) {
    let n = i64::from(per_minute.max(1));
    let interval = 60_000_000 / n;
    (interval, interval * n)
}

/// The `Retry-After` wait of a refused shared-limit step.
pub fn shared_wait(wait_us: i64) -> Error {
    Error::RateLimited { retry_after: round_up_secs(Duration::from_micros(wait_us.max(1).unsigned_abs())) }
}

/// Whole seconds, at least one (what `Retry-After` carries).
fn round_up_secs(d: Duration) -> Duration {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    Duration::from_secs(secs.max(1))
}

/// Rate limiter state shared by every front end.
#[derive(Default)]
pub struct RateLimiter {
    ip: ByQuota<(String, IpAddr)>,
    session: ByQuota<(String, String)>,
    new_conversations: ByQuota<String>,
    auth: ByQuota<IpAddr>,
    checks: AtomicU64,
    refused: Family<LimitLabels, Counter>,
}

impl RateLimiter {
    pub fn new() -> Self {
        Self::default()
    }

    /// A limiter that counts its refusals by limit kind (`ip`, `session`, `auth`) in `refused`
    /// (the core's [`crate::Metrics::rate_limited`]).
    pub fn counting(refused: Family<LimitLabels, Counter>) -> Self {
        Self { refused, ..Self::default() }
    }

    /// One check of `key` against a quota of `per_minute`, in this process's memory.
    ///
    /// # Errors
    /// [`crate::Error::RateLimited`] with the wait.
    pub fn check(&self, key: LimitKey<'_>, per_minute: u32) -> Result<()> {
        match key {
            LimitKey::Ip { company_id, ip } => self.check_ip(company_id, ip, per_minute),
            LimitKey::Session { company_id, session_id } => {
                self.check_session(company_id, session_id, per_minute)
            }
            LimitKey::Auth { ip } => self.failed_auth(ip, per_minute),
            LimitKey::NewConversation { company_id } => self.check_new_conversation(company_id, per_minute),
        }
    }

    /// Count a refusal of `limit`.
    pub(crate) fn counted(&self, limit: &str, r: Result<()>) -> Result<()> {
        if r.is_err() {
            self.refused.get_or_create(&LimitLabels { limit: limit.into() }).inc();
        }
        r
    }

    fn tick(&self) {
        if self.checks.fetch_add(1, Ordering::Relaxed) % RETAIN_EVERY == RETAIN_EVERY - 1 {
            self.retain_recent();
        }
    }

    /// Requests (chat and session creation) from one client IP to one company.
    ///
    /// # Errors
    /// [`crate::Error::RateLimited`] with the wait.
    pub fn check_ip(&self, company_id: &str, ip: IpAddr, per_minute: u32) -> Result<()> {
        self.tick();
        self.counted("ip", self.ip.check(&(company_id.to_string(), canonical(ip)), per_minute, "ip"))
    }

    /// Chat requests in one session.
    ///
    /// # Errors
    /// [`crate::Error::RateLimited`] with the wait.
    pub fn check_session(&self, company_id: &str, session_id: &str, per_minute: u32) -> Result<()> {
        self.tick();
        let key = (company_id.to_string(), session_id.to_string());
        self.counted("session", self.session.check(&key, per_minute, "session"))
    }

    /// One failed authentication from `ip` (any company, any credential kind). Only failures
    /// call this, so a valid credential never spends the quota and is never slowed.
    ///
    /// # Errors
    /// [`crate::Error::RateLimited`] with the wait once `ip` failed more than `per_minute` times.
    pub fn failed_auth(&self, ip: IpAddr, per_minute: u32) -> Result<()> {
        self.tick();
        self.counted("auth", self.auth.check(&canonical(ip), per_minute, "auth"))
    }

    /// New visitor conversations of one company.
    ///
    /// # Errors
    /// [`crate::Error::RateLimited`] with the wait.
    pub fn check_new_conversation(&self, company_id: &str, per_minute: u32) -> Result<()> {
        self.tick();
        self.counted(
            "new_conversation",
            self.new_conversations.check(&company_id.to_string(), per_minute, "new conversation"),
        )
    }

    /// Forget keys whose state is indistinguishable from fresh (called every few thousand checks).
    pub fn retain_recent(&self) {
        self.ip.retain_recent();
        self.session.retain_recent();
        self.new_conversations.retain_recent();
        self.auth.retain_recent();
    }

    /// Keys currently tracked (IP keys, session keys).
    pub fn tracked_keys(&self) -> (usize, usize) {
        (self.ip.len(), self.session.len())
    }
}

/// IPv4-mapped IPv6 addresses count as their IPv4 address; an IPv6 client is limited by its
/// /64 (one host usually owns the whole prefix, so rotating addresses must not escape the limit).
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        v4 => v4,
    }
}

/// Parse `CHATBOT_TRUSTED_PROXIES`: IPs and CIDRs separated by commas or whitespace.
///
/// # Errors
/// [`Error::Config`] naming the entry that is neither.
pub fn parse_trusted_proxies(s: &str) -> Result<Vec<IpNet>> {
    s.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|t| !t.is_empty())
        .map(|t| {
            t.parse::<IpNet>().or_else(|_| t.parse::<IpAddr>().map(IpNet::from)).map_err(|_| {
                Error::Config(format!("CHATBOT_TRUSTED_PROXIES: {t:?} is neither an IP address nor a CIDR"))
            })
        })
        .collect()
}

fn parse_hop(s: &str) -> Option<IpAddr> {
    let s = s.trim().trim_matches('"');
    s.parse::<IpAddr>()
        .ok()
        .or_else(|| s.parse::<SocketAddr>().ok().map(|a| a.ip()))
        .or_else(|| s.strip_prefix('[').and_then(|r| r.strip_suffix(']')).and_then(|r| r.parse().ok()))
}

fn trusted_ip(ip: IpAddr, trusted: &[IpNet]) -> bool {
    let ip = canonical_host(ip);
    trusted.iter().any(|n| n.contains(&ip))
}

fn canonical_host(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The client's IP: the socket peer, unless the peer is a trusted proxy; then the right-most
/// `X-Forwarded-For` hop that is not itself a trusted proxy (hops further left are written by
/// the client and cannot be believed).
pub fn client_ip(peer: IpAddr, forwarded_for: Option<&str>, trusted: &[IpNet]) -> IpAddr {
    let peer = canonical_host(peer);
    if !trusted_ip(peer, trusted) {
        return peer;
    }
    let Some(xff) = forwarded_for else { return peer };
    let mut client = peer;
    for hop in xff.rsplit(',') {
        let Some(ip) = parse_hop(hop).map(canonical_host) else {
            // Garbage from here on was not written by a proxy we trust.
            return client;
        };
        client = ip;
        if !trusted_ip(ip, trusted) {
            return ip;
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_conversations_are_capped_per_company() {
        let l = RateLimiter::new();
        for _ in 0..3 {
            l.check_new_conversation("a", 3).unwrap();
        }
        assert!(matches!(l.check_new_conversation("a", 3), Err(Error::RateLimited { .. })));
        l.check_new_conversation("b", 3).unwrap();
    }

    #[test]
    fn failed_authentications_are_limited_per_ip_and_counted() {
        let refused = Family::<LimitLabels, Counter>::default();
        let l = RateLimiter::counting(refused.clone());
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..3 {
            l.failed_auth(a, 3).unwrap();
        }
        let Err(Error::RateLimited { retry_after }) = l.failed_auth(a, 3) else {
            panic!("the fourth failure within a minute is limited")
        };
        assert!(retry_after >= Duration::from_secs(1));
        l.failed_auth(b, 3).unwrap();
        assert_eq!(refused.get_or_create(&LimitLabels { limit: "auth".into() }).get(), 1);
        assert_eq!(refused.get_or_create(&LimitLabels { limit: "ip".into() }).get(), 0);
    }

    #[test]
    fn rounding() {
        assert_eq!(round_up_secs(Duration::from_millis(1)), Duration::from_secs(1));
        assert_eq!(round_up_secs(Duration::from_millis(2500)), Duration::from_secs(3));
        assert_eq!(round_up_secs(Duration::ZERO), Duration::from_secs(1));
    }
}
