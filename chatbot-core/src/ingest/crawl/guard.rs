//! The SSRF guard: only public addresses are crawled (unless allowed), checked for literal IP
//! hosts and, through the resolver, for every name on every request and redirect hop.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use url::{Host, Url};

use super::SiteOptions;
use crate::error::{Error, Result};

/// Whether an address is publicly routable (not loopback, private, link-local, CGNAT,
/// multicast, documentation or unspecified).
pub fn is_public_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (o[1] & 0xC0) == 64)
                || (o[0] == 198 && (o[1] & 0xFE) == 18)
                || o[0] >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_ip(IpAddr::V4(v4));
            }
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xFE00) == 0xFC00
                || (s[0] & 0xFFC0) == 0xFE80
                || (s[0] == 0x2001 && s[1] == 0x0DB8))
        }
    }
}

/// DNS resolver that drops non-public addresses (unless allowed), so a public name that
/// resolves to 127.0.0.1 or 169.254.169.254 is refused, on every request and redirect hop.
struct GuardedResolver {
    allow_private: bool,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow = self.allow_private;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let ok: Vec<SocketAddr> =
                addrs.iter().copied().filter(|a| allow || is_public_ip(a.ip())).collect();
            if ok.is_empty() {
                let err: Box<dyn std::error::Error + Send + Sync> = Box::new(std::io::Error::new(
                    std::io::ErrorKind::PermissionDenied,
                    format!(
                        "{host} resolves only to private or loopback addresses (use --allow-private to crawl them)"
                    ),
                ));
                return Err(err);
            }
            let it: reqwest::dns::Addrs = Box::new(ok.into_iter());
            Ok(it)
        })
    }
}

pub(super) fn check_literal_host(url: &Url, allow_private: bool) -> std::result::Result<(), String> {
    let ip = match url.host() {
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip),
        Some(Host::Domain(_)) => return Ok(()),
        None => return Err("URL has no host".into()),
    };
    if allow_private || is_public_ip(ip) {
        Ok(())
    } else {
        Err(format!("{ip} is a private or loopback address (use --allow-private to crawl it)"))
    }
}

pub(super) fn build_client(site: &SiteOptions) -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(site.timeout)
        .connect_timeout(site.timeout.min(Duration::from_secs(10)))
        .user_agent(site.user_agent.clone())
        .dns_resolver(Arc::new(GuardedResolver { allow_private: site.allow_private }))
        .build()
        .map_err(|e| Error::Internal(format!("HTTP client: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_addresses_are_refused() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.1",
            "172.16.5.5",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!is_public_ip(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "8.8.8.8", "2606:4700::1111"] {
            assert!(is_public_ip(ip.parse().unwrap()), "{ip}");
        }
        let u = Url::parse("http://127.0.0.1:8080/").unwrap();
        assert!(check_literal_host(&u, false).is_err());
        assert!(check_literal_host(&u, true).is_ok());
    }
}
