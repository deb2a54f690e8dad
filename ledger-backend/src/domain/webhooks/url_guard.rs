//! The SSRF guard for webhook URLs. Live mode sends only to https URLs whose host resolves to public
//! addresses, checked when the endpoint is configured (literal addresses, `localhost`) and again at every
//! delivery (`PublicOnly`, the resolver of the live client: it resolves, drops every non-public address and
//! hands only the public ones to the connection, so a DNS answer that changes between check and connect
//! cannot reach an internal host). Test mode may use http and loopback, for local development.

use paygate_core::Mode;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

pub const URL_CHARS_MAX: usize = 2048;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("url is not a valid absolute URL")]
    Malformed,
    #[error("url is longer than {URL_CHARS_MAX} characters")]
    TooLong,
    #[error("live webhook URLs must use https")]
    NotHttps,
    #[error("url must use http or https")]
    Scheme,
    #[error("url must not carry a user name or password")]
    Credentials,
    #[error("live webhook URLs must point at a public host")]
    NotPublic,
}

/// Checks a URL a merchant configures for `mode`.
pub fn check_configured(url: &str, mode: Mode) -> Result<reqwest::Url, UrlError> {
    if url.len() > URL_CHARS_MAX {
        return Err(UrlError::TooLong);
    }
    let parsed = reqwest::Url::parse(url).map_err(|_| UrlError::Malformed)?;
    match (parsed.scheme(), mode) {
        ("https", _) | ("http", Mode::Test) => {}
        ("http", Mode::Live) => return Err(UrlError::NotHttps),
        _ => return Err(UrlError::Scheme),
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(UrlError::Credentials);
    }
    let host = parsed.host().ok_or(UrlError::Malformed)?;
    if mode == Mode::Live {
        let public = match host {
            url::Host::Ipv4(ip) => is_public(IpAddr::V4(ip)),
            url::Host::Ipv6(ip) => is_public(IpAddr::V6(ip)),
            url::Host::Domain(name) => {
                let name = name.trim_end_matches('.').to_ascii_lowercase();
                name != "localhost" && !name.ends_with(".localhost") && name.contains('.')
            }
        };
        if !public {
            return Err(UrlError::NotPublic);
        }
    }
    Ok(parsed)
}

/// Whether `ip` is a globally routable unicast address (not private, loopback, link-local, shared,
/// documentation, benchmark, multicast, reserved or unspecified; IPv4 inside IPv6 judged as IPv4).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let s = v6.segments();
            let nat64 = s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0];
            if nat64 {
                return is_public_v4(Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8));
            }
            !(v6.is_unspecified()
                || v6.is_loopback()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local
                || (s[0] & 0xffc0) == 0xfe80 // link local
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                || v6 == Ipv6Addr::from([0u8; 16]))
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_unspecified()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..=127).contains(&b)) // shared address space (CGNAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (18..=19).contains(&b)) // benchmarking
        || a >= 240) // reserved
}

/// The live client's resolver: public addresses only, or an error naming the host.
#[derive(Debug, Clone, Default)]
pub struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = found.into_iter().filter(|a| is_public(a.ip())).collect();
            if public.is_empty() {
                let error: Box<dyn std::error::Error + Send + Sync> =
                    format!("{host} resolves to no public address").into();
                return Err(error);
            }
            Ok(Box::new(public.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_takes_only_https_to_public_hosts() {
        assert!(check_configured("https://shop.example.com/hooks", Mode::Live).is_ok());
        assert_eq!(check_configured("http://shop.example.com/hooks", Mode::Live), Err(UrlError::NotHttps));
        for internal in [
            "https://localhost/x",
            "https://127.0.0.1/x",
            "https://10.0.0.5/x",
            "https://169.254.169.254/latest/meta-data",
            "https://[::1]/x",
            "https://[fd00::1]/x",
            "https://[::ffff:192.168.1.1]/x",
            "https://100.64.0.1/x",
            "https://intranet/x",
        ] {
            assert_eq!(check_configured(internal, Mode::Live), Err(UrlError::NotPublic), "{internal}");
        }
        assert_eq!(check_configured("https://user:pw@shop.example.com/", Mode::Live), Err(UrlError::Credentials));
        assert_eq!(check_configured("ftp://shop.example.com/", Mode::Live), Err(UrlError::Scheme));
        assert_eq!(check_configured("not a url", Mode::Test), Err(UrlError::Malformed));
    }

    #[test]
    fn test_mode_may_use_http_and_loopback() {
        assert!(check_configured("http://127.0.0.1:4242/webhooks", Mode::Test).is_ok());
        assert!(check_configured("http://localhost:3000/webhooks", Mode::Test).is_ok());
    }

    #[tokio::test]
    async fn at_delivery_the_live_resolver_hands_out_no_internal_address() {
        use reqwest::dns::{Name, Resolve};
        use std::str::FromStr;
        // `localhost` resolves (to loopback) but is never connected to.
        let refused = PublicOnly.resolve(Name::from_str("localhost").unwrap()).await;
        assert!(refused.is_err());
        let error = refused.err().unwrap().to_string();
        assert!(error.contains("no public address"), "{error}");
    }

    #[test]
    fn public_means_globally_routable() {
        for public in ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "64:ff9b::808:808"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
        for private in
            ["192.168.0.1", "172.16.0.1", "0.0.0.0", "255.255.255.255", "198.18.0.1", "::", "fe80::1", "64:ff9b::a00:1"]
        {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
    }
}
