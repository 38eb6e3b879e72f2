//! The public-address guard, shared by the crawler and the lead webhook: only publicly routable
//! addresses are contacted (unless the operator allows private ones). It is applied twice: to a
//! URL's literal IP host, and at connect time through [`GuardedResolver`], a DNS resolver that
//! drops every non-public address a name resolves to, so a public name that resolves (or is
//! re-bound) to 127.0.0.1 or 169.254.169.254 is refused on every request.
//!
//! IPv6 addresses that embed or reach an IPv4 address (IPv4-mapped and -translated, NAT64,
//! 6to4, Teredo) are judged by the IPv4 address they carry; the deprecated IPv4-compatible
//! form and local-use NAT64 are refused outright.
//!
//! Hand-written over a table of prefixes (`ipnet`): the standard library's `is_global` is
//! unstable, and no maintained crate covers the embedded-IPv4 forms.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use ipnet::{Ipv4Net, Ipv6Net};
use url::{Host, Url};

const fn v4(a: u8, b: u8, c: u8, d: u8, len: u8) -> Ipv4Net {
    Ipv4Net::new_assert(Ipv4Addr::new(a, b, c, d), len)
}

const fn v6(s: [u16; 8], len: u8) -> Ipv6Net {
    Ipv6Net::new_assert(Ipv6Addr::new(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]), len)
}

/// IPv4 ranges that are not publicly routable, with the name an error message gives them.
const BLOCKED_V4: &[(Ipv4Net, &str)] = &[
    (v4(0, 0, 0, 0, 8), "\"this network\" (0.0.0.0/8)"),
    (v4(10, 0, 0, 0, 8), "private (10.0.0.0/8)"),
    (v4(100, 64, 0, 0, 10), "carrier-grade NAT (100.64.0.0/10)"),
    (v4(127, 0, 0, 0, 8), "loopback (127.0.0.0/8)"),
    (v4(169, 254, 0, 0, 16), "link-local / cloud metadata (169.254.0.0/16)"),
    (v4(172, 16, 0, 0, 12), "private (172.16.0.0/12)"),
    (v4(192, 0, 0, 0, 24), "IETF protocol assignments (192.0.0.0/24)"),
    (v4(192, 0, 2, 0, 24), "documentation (192.0.2.0/24)"),
    (v4(192, 88, 99, 0, 24), "6to4 relay anycast (192.88.99.0/24)"),
    (v4(192, 168, 0, 0, 16), "private (192.168.0.0/16)"),
    (v4(198, 18, 0, 0, 15), "benchmarking (198.18.0.0/15)"),
    (v4(198, 51, 100, 0, 24), "documentation (198.51.100.0/24)"),
    (v4(203, 0, 113, 0, 24), "documentation (203.0.113.0/24)"),
    (v4(224, 0, 0, 0, 4), "multicast (224.0.0.0/4)"),
    (v4(240, 0, 0, 0, 4), "reserved or broadcast (240.0.0.0/4)"),
];

/// IPv6 ranges that are not publicly routable (after the embedded-IPv4 forms were judged).
const BLOCKED_V6: &[(Ipv6Net, &str)] = &[
    (v6([0, 0, 0, 0, 0, 0, 0, 0], 128), "unspecified (::)"),
    (v6([0, 0, 0, 0, 0, 0, 0, 1], 128), "loopback (::1)"),
    (v6([0, 0, 0, 0, 0, 0, 0, 0], 96), "IPv4-compatible (::/96)"),
    (v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48), "local-use NAT64 (64:ff9b:1::/48)"),
    (v6([0x100, 0, 0, 0, 0, 0, 0, 0], 64), "discard-only (100::/64)"),
    (v6([0x2001, 0x2, 0, 0, 0, 0, 0, 0], 48), "benchmarking (2001:2::/48)"),
    (v6([0x2001, 0x10, 0, 0, 0, 0, 0, 0], 28), "ORCHID (2001:10::/28)"),
    (v6([0x2001, 0x20, 0, 0, 0, 0, 0, 0], 28), "ORCHIDv2 (2001:20::/28)"),
    (v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32), "documentation (2001:db8::/32)"),
    (v6([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20), "documentation (3fff::/20)"),
    (v6([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7), "unique-local (fc00::/7)"),
    (v6([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10), "link-local (fe80::/10)"),
    (v6([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10), "site-local (fec0::/10)"),
    (v6([0xff00, 0, 0, 0, 0, 0, 0, 0], 8), "multicast (ff00::/8)"),
];

const MAPPED: Ipv6Net = v6([0, 0, 0, 0, 0, 0xffff, 0, 0], 96);
const TRANSLATED: Ipv6Net = v6([0, 0, 0, 0, 0xffff, 0, 0, 0], 96);
const NAT64: Ipv6Net = v6([0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96);
const SIX_TO_FOUR: Ipv6Net = v6([0x2002, 0, 0, 0, 0, 0, 0, 0], 16);
const TEREDO: Ipv6Net = v6([0x2001, 0, 0, 0, 0, 0, 0, 0], 32);

fn pair(hi: u16, lo: u16) -> Ipv4Addr {
    let [a, b] = hi.to_be_bytes();
    let [c, d] = lo.to_be_bytes();
    Ipv4Addr::new(a, b, c, d)
}

/// The IPv4 addresses an IPv6 address reaches or carries (mapped, translated, NAT64, 6to4, and
/// both the server and the obfuscated client address of Teredo).
fn embedded_v4(ip: Ipv6Addr) -> Vec<Ipv4Addr> {
    let s = ip.segments();
    if MAPPED.contains(&ip) || TRANSLATED.contains(&ip) || NAT64.contains(&ip) {
        vec![pair(s[6], s[7])]
    } else if SIX_TO_FOUR.contains(&ip) {
        vec![pair(s[1], s[2])]
    } else if TEREDO.contains(&ip) {
        vec![pair(s[2], s[3]), pair(!s[6], !s[7])]
    } else {
        Vec::new()
    }
}

/// Why `ip` is not publicly routable (`None`: it is): the name of its range, e.g.
/// `loopback (127.0.0.0/8)`.
pub fn non_public_reason(ip: IpAddr) -> Option<String> {
    match ip {
        IpAddr::V4(ip) => {
            BLOCKED_V4.iter().find(|(net, _)| net.contains(&ip)).map(|(_, why)| (*why).to_string())
        }
        IpAddr::V6(ip) => {
            for inner in embedded_v4(ip) {
                if let Some(why) = non_public_reason(IpAddr::V4(inner)) {
                    return Some(format!("an IPv6 form of {inner}, which is {why}"));
                }
            }
            BLOCKED_V6.iter().find(|(net, _)| net.contains(&ip)).map(|(_, why)| (*why).to_string())
        }
    }
}

/// Whether an address is publicly routable (not loopback, private, link-local, CGNAT,
/// multicast, documentation, reserved or unspecified, nor an IPv6 form of one).
pub fn is_public_ip(ip: IpAddr) -> bool {
    non_public_reason(ip).is_none()
}

/// The URL's host when it is a literal IP address.
pub fn literal_ip(url: &Url) -> Option<IpAddr> {
    match url.host()? {
        Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
        Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
        Host::Domain(_) => None,
    }
}

/// Check a URL's literal IP host (a name is checked when it is resolved): `Err` says why it is
/// refused.
///
/// # Errors
/// A message naming the address and its range.
pub fn check_literal_host(url: &Url, allow_private: bool) -> std::result::Result<(), String> {
    if url.host().is_none() {
        return Err("URL has no host".into());
    }
    match literal_ip(url).and_then(non_public_reason) {
        Some(why) if !allow_private => {
            Err(format!("{} is a {why} address", url.host_str().unwrap_or_default()))
        }
        _ => Ok(()),
    }
}

/// Resolve `host` and keep the public addresses (all of them when `allow_private`).
///
/// # Errors
/// The lookup's own error, or `PermissionDenied` when the name resolves only to refused
/// addresses.
pub async fn resolve_public(host: &str, port: u16, allow_private: bool) -> std::io::Result<Vec<SocketAddr>> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port)).await?.collect();
    let mut refused = None;
    let ok: Vec<SocketAddr> = addrs
        .into_iter()
        .filter(|a| match non_public_reason(a.ip()) {
            Some(why) if !allow_private => {
                refused.get_or_insert_with(|| {
                    format!("{host} resolves to {}, a {why} address (private addresses are refused)", a.ip())
                });
                false
            }
            _ => true,
        })
        .collect();
    if ok.is_empty() {
        let why = refused.unwrap_or_else(|| format!("{host} resolves to no address"));
        return Err(std::io::Error::new(std::io::ErrorKind::PermissionDenied, why));
    }
    Ok(ok)
}

/// A DNS resolver for reqwest that drops non-public addresses (unless allowed), so a connection
/// can only be made to a public address, whatever the name resolves to at that moment.
#[derive(Debug, Clone, Copy)]
pub struct GuardedResolver {
    pub allow_private: bool,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow = self.allow_private;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let ok = resolve_public(&host, 0, allow).await?;
            let it: reqwest::dns::Addrs = Box::new(ok.into_iter());
            Ok(it)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (address, public?) — one row per range and per IPv6 form that can reach IPv4.
    const TABLE: &[(&str, bool)] = &[
        // IPv4
        ("127.0.0.1", false),
        ("127.255.255.254", false),
        ("10.1.2.3", false),
        ("172.16.5.5", false),
        ("172.31.255.255", false),
        ("192.168.0.1", false),
        ("169.254.169.254", false),
        ("100.64.0.1", false),
        ("100.127.255.255", false),
        ("0.0.0.0", false),
        ("0.1.2.3", false),
        ("255.255.255.255", false),
        ("224.0.0.1", false),
        ("239.255.255.250", false),
        ("198.18.0.1", false),
        ("198.19.255.255", false),
        ("240.0.0.1", false),
        ("192.0.2.1", false),
        ("198.51.100.7", false),
        ("203.0.113.9", false),
        ("192.0.0.8", false),
        ("93.184.216.34", true),
        ("8.8.8.8", true),
        ("100.63.255.255", true),
        ("100.128.0.1", true),
        ("172.32.0.1", true),
        ("198.20.0.1", true),
        ("1.1.1.1", true),
        // IPv6 plain ranges
        ("::", false),
        ("::1", false),
        ("fc00::1", false),
        ("fd12:3456::1", false),
        ("fe80::1", false),
        ("febf::1", false),
        ("fec0::1", false),
        ("feff::1", false),
        ("ff02::1", false),
        ("2001:db8::1", false),
        ("3fff::1", false),
        ("100::1", false),
        ("2001:2::1", false),
        ("2001:10::1", false),
        ("2606:4700::1111", true),
        ("2a00:1450:4001::200e", true),
        // IPv4-mapped and -translated
        ("::ffff:127.0.0.1", false),
        ("::ffff:169.254.169.254", false),
        ("::ffff:10.0.0.1", false),
        ("::ffff:8.8.8.8", true),
        ("::ffff:0:127.0.0.1", false),
        ("::ffff:0:8.8.8.8", true),
        // IPv4-compatible (deprecated): refused whatever it embeds
        ("::127.0.0.1", false),
        ("::169.254.169.254", false),
        ("::8.8.8.8", false),
        // NAT64 well-known prefix: judged by the IPv4 address
        ("64:ff9b::127.0.0.1", false),
        ("64:ff9b::a9fe:a9fe", false),
        ("64:ff9b::10.0.0.1", false),
        ("64:ff9b::8.8.8.8", true),
        // local-use NAT64: refused
        ("64:ff9b:1::8.8.8.8", false),
        ("64:ff9b:1:abcd::1", false),
        // 6to4: the IPv4 address in bits 16..48
        ("2002:7f00:1::1", false),
        ("2002:a9fe:a9fe::1", false),
        ("2002:c0a8:101::1", false),
        ("2002:808:808::1", true),
        // Teredo: server in bits 32..64, client obfuscated (inverted) in the last 32 bits
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", false), // client !80ff:fffe = 127.0.0.1
        ("2001:0:4136:e378:8000:63bf:5601:5656", false), // client = 169.254.169.169
        ("2001:0:7f00:1:8000:63bf:f7f7:f7f7", false),    // server = 127.0.0.1
        ("2001:0:4136:e378:8000:63bf:f7f7:f7f7", true),  // client = 8.8.8.8, server public
    ];

    #[test]
    fn the_address_table() {
        for (ip, public) in TABLE {
            let addr: IpAddr = ip.parse().unwrap();
            assert_eq!(is_public_ip(addr), *public, "{ip}: {:?}", non_public_reason(addr));
        }
    }

    #[test]
    fn reasons_name_the_range_and_the_embedded_address() {
        let why = non_public_reason("169.254.169.254".parse().unwrap()).unwrap();
        assert!(why.contains("metadata"), "{why}");
        let why = non_public_reason("64:ff9b::7f00:1".parse().unwrap()).unwrap();
        assert!(why.contains("127.0.0.1") && why.contains("loopback"), "{why}");
    }

    #[test]
    fn literal_hosts_in_every_spelling() {
        for u in [
            "http://127.0.0.1:8080/",
            "http://2130706433/",
            "http://0x7f.1/",
            "http://[::ffff:7f00:1]/",
            "http://[64:ff9b::a9fe:a9fe]/latest/meta-data/",
            "http://169.254.169.254/latest/meta-data/",
            "http://[fec0::1]/",
        ] {
            let url = Url::parse(u).unwrap();
            assert!(check_literal_host(&url, false).is_err(), "{u}");
            assert!(check_literal_host(&url, true).is_ok(), "{u}");
        }
        for u in ["https://example.com/", "https://8.8.8.8/", "https://[2606:4700::1111]/"] {
            assert!(check_literal_host(&Url::parse(u).unwrap(), false).is_ok(), "{u}");
        }
    }

    #[tokio::test]
    async fn names_resolving_to_loopback_are_refused() {
        let err = resolve_public("localhost", 80, false).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::PermissionDenied, "{err}");
        assert!(!resolve_public("localhost", 80, true).await.unwrap().is_empty());
        assert!(resolve_public("127.0.0.1", 80, false).await.is_err());
        assert!(resolve_public("[::1]", 80, false).await.is_err());
    }
}
