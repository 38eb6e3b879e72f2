//! The client's IP for rate limits: HTTP header plumbing around the core's rule
//! ([`chatbot_core::guard::client_ip`]), which trusts `X-Forwarded-For` only from trusted proxies.

use std::net::IpAddr;

use http::HeaderMap;

pub use chatbot_core::guard::IpNet;

/// The client's IP: the peer, unless the peer is a trusted proxy; then the right-most address in
/// `X-Forwarded-For` (all such headers, in order) that is not itself a trusted proxy.
pub(crate) fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let mut values = Vec::new();
    for v in headers.get_all("x-forwarded-for") {
        let Ok(s) = v.to_str() else { return peer };
        values.push(s);
    }
    let joined = values.join(",");
    chatbot_core::guard::client_ip(peer, (!joined.is_empty()).then_some(joined.as_str()), trusted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_only_from_trusted_peers() {
        let trusted = chatbot_core::guard::parse_trusted_proxies("127.0.0.1,10.0.0.0/8").unwrap();
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "203.0.113.9, 10.0.0.5".parse().unwrap());
        assert_eq!(client_ip(ip("127.0.0.1"), &h, &trusted), ip("203.0.113.9"));
        assert_eq!(client_ip(ip("192.0.2.1"), &h, &trusted), ip("192.0.2.1"));
        assert_eq!(client_ip(ip("127.0.0.1"), &HeaderMap::new(), &trusted), ip("127.0.0.1"));
        h.append("x-forwarded-for", "198.51.100.7".parse().unwrap());
        assert_eq!(client_ip(ip("127.0.0.1"), &h, &trusted), ip("198.51.100.7"));
    }
}
