//! The fence around outgoing webhook calls: which URLs and addresses a provider's webhook may
//! reach. In production a webhook goes only to `https` on a public address — checked when it is
//! registered, before each delivery, and on every name resolution (no redirects are followed, and
//! the client ignores proxy variables, so nothing else chooses where a request goes).
//!
//! Addresses are classified by one table per family: the IANA IPv4 and IPv6 special-purpose
//! address registries (RFC 6890 and successors) plus the deprecated and transition ranges. An
//! IPv6 address that embeds an IPv4 one (mapped, NAT64, 6to4) is as public as the address it
//! embeds; IPv4-compatible and Teredo addresses are refused outright, whatever they embed.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// IPv4 ranges that are not public receivers, with why.
const V4_RANGES: &[(Ipv4Addr, u8, &str)] = &[
    (Ipv4Addr::UNSPECIFIED, 8, "\"this network\" (RFC 791)"),
    (Ipv4Addr::new(10, 0, 0, 0), 8, "private-use (RFC 1918)"),
    (Ipv4Addr::new(100, 64, 0, 0), 10, "shared address space (CGNAT, RFC 6598)"),
    (Ipv4Addr::new(127, 0, 0, 0), 8, "loopback"),
    (Ipv4Addr::new(169, 254, 0, 0), 16, "link-local (cloud metadata services live here)"),
    (Ipv4Addr::new(172, 16, 0, 0), 12, "private-use (RFC 1918)"),
    (Ipv4Addr::new(192, 0, 0, 0), 24, "IETF protocol assignments (RFC 6890)"),
    (Ipv4Addr::new(192, 0, 2, 0), 24, "documentation (TEST-NET-1)"),
    (Ipv4Addr::new(192, 31, 196, 0), 24, "AS112 DNS sink (RFC 7535)"),
    (Ipv4Addr::new(192, 88, 99, 0), 24, "6to4 relay anycast (deprecated, RFC 7526)"),
    (Ipv4Addr::new(192, 168, 0, 0), 16, "private-use (RFC 1918)"),
    (Ipv4Addr::new(192, 175, 48, 0), 24, "AS112 direct delegation (RFC 7534)"),
    (Ipv4Addr::new(198, 18, 0, 0), 15, "benchmarking (RFC 2544)"),
    (Ipv4Addr::new(198, 51, 100, 0), 24, "documentation (TEST-NET-2)"),
    (Ipv4Addr::new(203, 0, 113, 0), 24, "documentation (TEST-NET-3)"),
    (Ipv4Addr::new(224, 0, 0, 0), 4, "multicast"),
    (Ipv4Addr::new(240, 0, 0, 0), 4, "reserved (and the limited broadcast address)"),
];

/// What an IPv6 range means for a webhook target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum V6Rule {
    /// Never a public receiver.
    Refused,
    /// As public as the IPv4 address in its last 32 bits.
    EmbedsLast32,
    /// 6to4: as public as the IPv4 address in bits 16–47.
    Embeds6to4,
}

/// IPv6 ranges with a special meaning, most specific first; anything else outside global
/// unicast (2000::/3) is refused too.
const V6_RANGES: &[(Ipv6Addr, u8, V6Rule, &str)] = &[
    (Ipv6Addr::UNSPECIFIED, 128, V6Rule::Refused, "the unspecified address"),
    (Ipv6Addr::LOCALHOST, 128, V6Rule::Refused, "loopback"),
    (Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0, 0), 96, V6Rule::EmbedsLast32, "IPv4-mapped"),
    (Ipv6Addr::new(0, 0, 0, 0, 0xffff, 0, 0, 0), 96, V6Rule::Refused, "IPv4-translated (RFC 2765)"),
    (Ipv6Addr::UNSPECIFIED, 96, V6Rule::Refused, "IPv4-compatible (deprecated, RFC 4291)"),
    (Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0), 96, V6Rule::EmbedsLast32, "NAT64 well-known prefix"),
    (Ipv6Addr::new(0x64, 0xff9b, 1, 0, 0, 0, 0, 0), 48, V6Rule::Refused, "local-use NAT64 (RFC 8215)"),
    (Ipv6Addr::new(0x100, 0, 0, 0, 0, 0, 0, 0), 64, V6Rule::Refused, "discard-only (RFC 6666)"),
    (Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0), 32, V6Rule::Refused, "Teredo (RFC 4380)"),
    (Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 0), 48, V6Rule::Refused, "benchmarking (RFC 5180)"),
    (Ipv6Addr::new(0x2001, 0x10, 0, 0, 0, 0, 0, 0), 28, V6Rule::Refused, "ORCHID (deprecated, RFC 4843)"),
    (Ipv6Addr::new(0x2001, 0x20, 0, 0, 0, 0, 0, 0), 28, V6Rule::Refused, "ORCHIDv2 (RFC 7343)"),
    (Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0), 23, V6Rule::Refused, "IETF protocol assignments (RFC 2928)"),
    (Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0), 32, V6Rule::Refused, "documentation (RFC 3849)"),
    (Ipv6Addr::new(0x2002, 0, 0, 0, 0, 0, 0, 0), 16, V6Rule::Embeds6to4, "6to4 (RFC 3056)"),
    (Ipv6Addr::new(0x3fff, 0, 0, 0, 0, 0, 0, 0), 20, V6Rule::Refused, "documentation (RFC 9637)"),
    (Ipv6Addr::new(0x5f00, 0, 0, 0, 0, 0, 0, 0), 16, V6Rule::Refused, "SRv6 SIDs (RFC 9602)"),
    (Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0), 7, V6Rule::Refused, "unique local (RFC 4193)"),
    (Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0), 10, V6Rule::Refused, "link-local"),
    (Ipv6Addr::new(0xfec0, 0, 0, 0, 0, 0, 0, 0), 10, V6Rule::Refused, "site-local (deprecated, RFC 3879)"),
    (Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0), 8, V6Rule::Refused, "multicast"),
];

fn in_v4(ip: Ipv4Addr, net: Ipv4Addr, len: u8) -> bool {
    let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
    u32::from(ip) & mask == u32::from(net) & mask
}

fn in_v6(ip: Ipv6Addr, net: Ipv6Addr, len: u8) -> bool {
    let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
    u128::from(ip) & mask == u128::from(net) & mask
}

/// Why `ip` is not a public receiver; `None` when it is.
pub fn non_public_reason(ip: IpAddr) -> Option<String> {
    match ip {
        IpAddr::V4(v4) => V4_RANGES
            .iter()
            .find(|(net, len, _)| in_v4(v4, *net, *len))
            .map(|(net, len, why)| format!("{net}/{len}: {why}")),
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            for (net, len, rule, why) in V6_RANGES {
                if !in_v6(v6, *net, *len) {
                    continue;
                }
                #[allow(clippy::cast_possible_truncation)] // the 32 bits taken
                let embedded = match rule {
                    V6Rule::Refused => return Some(format!("{net}/{len}: {why}")),
                    V6Rule::EmbedsLast32 => Ipv4Addr::from(bits as u32),
                    V6Rule::Embeds6to4 => Ipv4Addr::from((bits >> 80) as u32),
                };
                return non_public_reason(IpAddr::V4(embedded))
                    .map(|inner| format!("{net}/{len} ({why}) embeds {embedded}, {inner}"));
            }
            (!in_v6(v6, Ipv6Addr::new(0x2000, 0, 0, 0, 0, 0, 0, 0), 3))
                .then(|| format!("{v6} is outside global unicast (2000::/3)"))
        }
    }
}

/// Whether `ip` is reachable on the public internet.
pub fn is_public(ip: IpAddr) -> bool {
    non_public_reason(ip).is_none()
}

/// Names that never leave the machine or the site.
fn is_local_name(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    ["localhost", "local", "internal", "localdomain", "home.arpa"]
        .iter()
        .any(|suffix| name == *suffix || name.ends_with(&format!(".{suffix}")))
}

/// Why a provider's systems may not be called at `url`, if they may not: `https` to a public
/// host, unless private targets are allowed (development and tests). Names are checked again
/// when they are resolved, by [`PublicAddressesOnly`].
pub(crate) fn url_problem(url: &str, allow_private: bool) -> Option<String> {
    let parsed = match reqwest::Url::parse(url) {
        Ok(parsed) => parsed,
        Err(error) => return Some(error.to_string()),
    };
    if allow_private {
        return (!matches!(parsed.scheme(), "https" | "http")).then(|| "use https".to_owned());
    }
    if parsed.scheme() != "https" {
        return Some("use https".to_owned());
    }
    match parsed.host() {
        Some(url::Host::Ipv4(ip)) => non_public_reason(IpAddr::V4(ip)).map(|why| format!("{ip} is not public: {why}")),
        Some(url::Host::Ipv6(ip)) => non_public_reason(IpAddr::V6(ip)).map(|why| format!("{ip} is not public: {why}")),
        Some(url::Host::Domain(name)) if is_local_name(name) => Some(format!("{name} is not a public host")),
        None => Some("the URL names no host".to_owned()),
        Some(url::Host::Domain(_)) => None,
    }
}

/// The resolver of the client that calls webhooks when private targets are not allowed: a name
/// that resolves only to non-public addresses is refused, so DNS cannot point a webhook inside.
pub(crate) struct PublicAddressesOnly;

impl reqwest::dns::Resolve for PublicAddressesOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let public: Vec<SocketAddr> = found.filter(|address| is_public(address.ip())).collect();
            if public.is_empty() {
                return Err(format!("{host} resolves to no public address").into());
            }
            Ok(Box::new(public.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(text: &str) -> bool {
        !is_public(text.parse().unwrap())
    }

    #[test]
    fn every_ipv4_range_is_refused_at_both_ends_and_its_neighbours_are_not() {
        for (net, len, _) in V4_RANGES {
            let first = u32::from(*net);
            let last = first | (u32::MAX.checked_shr(u32::from(*len)).unwrap_or(0));
            for inside in [first, last] {
                assert!(!is_public(IpAddr::V4(Ipv4Addr::from(inside))), "{} in {net}/{len}", Ipv4Addr::from(inside));
            }
        }
        for public in [
            "1.1.1.1",
            "8.8.8.8",
            "9.255.255.255",
            "11.0.0.0",
            "100.63.255.255",
            "100.128.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "192.0.3.0",
            "192.167.255.255",
            "198.17.255.255",
            "198.20.0.0",
            "223.255.255.255",
        ] {
            assert!(!refused(public), "{public} is public");
        }
    }

    #[test]
    fn every_ipv6_range_is_refused_unless_it_embeds_a_public_ipv4_address() {
        for (net, len, rule, _) in V6_RANGES {
            let first = u128::from(*net);
            let last = first | u128::MAX.checked_shr(u32::from(*len)).unwrap_or(0);
            for inside in [first, last] {
                let ip = Ipv6Addr::from(inside);
                match rule {
                    V6Rule::Refused => assert!(!is_public(IpAddr::V6(ip)), "{ip} in {net}/{len}"),
                    // First: embeds 0.0.0.0; last: embeds 255.255.255.255.
                    V6Rule::EmbedsLast32 | V6Rule::Embeds6to4 => {
                        assert!(!is_public(IpAddr::V6(ip)), "{ip} embeds a non-public address");
                    }
                }
            }
        }
        // The embedding forms carry the embedded address's verdict.
        for (public, private) in [
            ("::ffff:8.8.8.8", "::ffff:10.0.0.1"),
            ("64:ff9b::808:808", "64:ff9b::a9fe:a9fe"),
            ("2002:808:808::", "2002:7f00:1::"),
            ("2002:808:808::1", "2002:a9fe:a9fe::"),
            ("2002:808:808::1", "2002:c0a8:101::"),
        ] {
            assert!(!refused(public), "{public} embeds a public address");
            assert!(refused(private), "{private} embeds a private address");
        }
        for public in ["2606:4700:4700::1111", "2001:4860:4860::8888", "2a00:1450:4001:80b::200e", "2001:200::1"] {
            assert!(!refused(public), "{public} is public");
        }
    }

    #[test]
    fn the_addresses_the_security_review_got_through_are_refused() {
        for url in [
            "https://[::127.0.0.1]/",
            "https://[2002:7f00:1::]/",
            "https://[2002:a9fe:a9fe::]/",
            "https://[fec0::1]/",
            "https://[100::1]/",
            "https://[2001:0::a9fe:a9fe]/",
            "https://[::a9fe:a9fe]/",
            "https://[2001:db8::1]/",
            "https://[3fff::1]/",
            "https://[64:ff9b:1::1]/",
            "https://[2001:2::1]/",
            "https://[2001:10::1]/",
            "https://[2001:20::1]/",
            "https://[ff02::1]/",
            "https://[::ffff:169.254.169.254]/",
            "https://[::]/",
        ] {
            let problem = url_problem(url, false);
            assert!(problem.is_some(), "{url} must be refused");
        }
        let teredo = url_problem("https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/", false).unwrap();
        assert!(teredo.contains("Teredo"), "{teredo}");
    }

    #[test]
    fn production_webhooks_are_https_to_public_hosts() {
        for url in [
            "https://hooks.carrier.example/tracehop",
            "https://203.0.114.9/",
            "https://8.8.8.8/x",
            "https://[2606:4700::1]/",
        ] {
            assert_eq!(url_problem(url, false), None, "{url}");
        }
        for url in [
            "http://hooks.carrier.example/",
            "https://127.0.0.1/",
            "https://10.1.2.3/",
            "https://172.16.0.1/",
            "https://192.168.1.1/",
            "https://169.254.169.254/latest/meta-data",
            "https://100.64.0.1/",
            "https://0.0.0.0/",
            "https://[::1]/",
            "https://[fd00::1]/",
            "https://[fe80::1]/",
            "https://[::ffff:10.0.0.1]/",
            "https://localhost:8443/",
            "https://metadata.google.internal/",
            "https://printer.local/",
            "not a url",
        ] {
            assert!(url_problem(url, false).is_some(), "{url} must be refused");
        }
    }

    #[test]
    fn private_targets_are_allowed_only_when_configured() {
        assert_eq!(url_problem("http://127.0.0.1:9000/hook", true), None);
        assert_eq!(url_problem("https://10.0.0.5/hook", true), None);
        assert!(url_problem("ftp://127.0.0.1/hook", true).is_some());
    }

    #[tokio::test]
    async fn names_resolving_only_to_private_addresses_are_refused() {
        use reqwest::dns::Resolve;
        let name: reqwest::dns::Name = "localhost".parse().unwrap();
        let resolved = PublicAddressesOnly.resolve(name).await;
        assert!(resolved.is_err(), "localhost resolves only to loopback");
    }
}
