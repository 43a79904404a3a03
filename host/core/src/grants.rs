//! Outbound network grants: which hosts a function's handler may reach.
//!
//! A grant is `scheme://host[:port]` (the pattern syntax Spin uses for
//! `allowed_outbound_hosts`):
//! - scheme: `http`, `https`, `tcp`, `udp`, or `*` for any of them;
//! - host: an exact name (`api.example.com`), an IP address (`127.0.0.1`,
//!   `[::1]`), `localhost`, `*.suffix` (any name ending in `.suffix`), or `*`;
//! - port: a number, `*`, or nothing for the scheme's own (80 for `http`, 443
//!   for `https`; `tcp`, `udp` and `*` have none, so a grant for them without
//!   a port matches only `http` and `https` requests on their usual ports).
//!
//! Nothing is granted by default. A name that resolves to a loopback,
//! private, link-local (the metadata service at `169.254.169.254` among
//! them) or unspecified address is reachable only through a grant that
//! names that address, `localhost`, or that exact host: a wildcard never
//! reaches the local network, which closes DNS-rebinding and metadata
//! tricks. The check applies to the address actually connected to.
//!
//! ```
//! use wasm_lambda_core::{AllowedHosts, OutboundGrant};
//!
//! let hosts = AllowedHosts::parse(["https://*.amazonaws.com", "http://127.0.0.1:4566"]).unwrap();
//! assert!(hosts.allows_name("https", "dynamodb.us-east-1.amazonaws.com", 443));
//! assert!(!hosts.allows_name("http", "dynamodb.us-east-1.amazonaws.com", 80));
//! assert!("http//x".parse::<OutboundGrant>().is_err());
//! ```

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// One `scheme://host[:port]` grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundGrant {
    scheme: SchemePattern,
    host: HostPattern,
    port: PortPattern,
    text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum SchemePattern {
    Any,
    Named(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    Any,
    Localhost,
    Address(IpAddr),
    Name(String),
    /// `*.suffix`: stored as `.suffix`.
    Suffix(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PortPattern {
    Any,
    /// The scheme's own port.
    Default,
    Number(u16),
}

const SCHEMES: [&str; 4] = ["http", "https", "tcp", "udp"];

/// The port a scheme uses when a URL names none.
pub(crate) fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

impl FromStr for OutboundGrant {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let invalid = |why: &str| format!("invalid outbound grant {text:?}: {why}");
        let (scheme, rest) = text
            .split_once("://")
            .ok_or_else(|| invalid("expected scheme://host[:port]"))?;
        let scheme = match scheme {
            "*" => SchemePattern::Any,
            known if SCHEMES.contains(&known) => SchemePattern::Named(known.to_string()),
            other => {
                return Err(invalid(&format!(
                    "unknown scheme {other:?} (http, https, tcp, udp or *)"
                )));
            }
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains('/') || rest.contains('@') || rest.contains('?') {
            return Err(invalid("a grant names a host and a port, nothing more"));
        }
        // `[v6]:port`, `[v6]`, `host:port` or `host`.
        let (host, port) = if let Some(bracketed) = rest.strip_prefix('[') {
            let (address, after) = bracketed
                .split_once(']')
                .ok_or_else(|| invalid("an IPv6 address needs its closing ]"))?;
            let port = match after {
                "" => None,
                _ => Some(
                    after
                        .strip_prefix(':')
                        .ok_or_else(|| invalid("expected :port after ]"))?,
                ),
            };
            let address: Ipv6Addr = address
                .parse()
                .map_err(|_| invalid(&format!("{address:?} is not an IPv6 address")))?;
            (HostPattern::Address(IpAddr::V6(address)), port)
        } else {
            let (host, port) = match rest.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (rest, None),
            };
            (parse_host(host).map_err(|why| invalid(&why))?, port)
        };
        let port = match port {
            None => PortPattern::Default,
            Some("*") => PortPattern::Any,
            Some(number) => PortPattern::Number(
                number
                    .parse::<u16>()
                    .ok()
                    .filter(|port| *port != 0)
                    .ok_or_else(|| invalid(&format!("port {number:?} is not 1 to 65535 or *")))?,
            ),
        };
        Ok(OutboundGrant {
            scheme,
            host,
            port,
            text: text.to_string(),
        })
    }
}

fn parse_host(host: &str) -> Result<HostPattern, String> {
    if host.is_empty() {
        return Err("the host is empty".into());
    }
    if host == "*" {
        return Ok(HostPattern::Any);
    }
    if let Some(suffix) = host.strip_prefix("*.") {
        if suffix.is_empty() || suffix.starts_with('.') || suffix.contains('*') {
            return Err(format!("{host:?} needs a name after *."));
        }
        valid_name(suffix)?;
        return Ok(HostPattern::Suffix(format!(
            ".{}",
            suffix.to_ascii_lowercase()
        )));
    }
    if host.eq_ignore_ascii_case("localhost") {
        return Ok(HostPattern::Localhost);
    }
    if let Ok(address) = host.parse::<Ipv4Addr>() {
        return Ok(HostPattern::Address(IpAddr::V4(address)));
    }
    valid_name(host)?;
    Ok(HostPattern::Name(host.to_ascii_lowercase()))
}

fn valid_name(name: &str) -> Result<(), String> {
    let ok = name.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && label
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
    });
    if ok && name.len() <= 253 {
        Ok(())
    } else {
        Err(format!("{name:?} is not a host name"))
    }
}

impl fmt::Display for OutboundGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl OutboundGrant {
    fn scheme_matches(&self, scheme: &str) -> bool {
        match &self.scheme {
            SchemePattern::Any => true,
            SchemePattern::Named(named) => named == scheme,
        }
    }

    fn port_matches(&self, scheme: &str, port: u16) -> bool {
        match self.port {
            PortPattern::Any => true,
            PortPattern::Number(number) => number == port,
            PortPattern::Default => default_port(scheme) == Some(port),
        }
    }

    /// Whether this grant matches a request to the name `host`, before any
    /// address is known.
    fn matches_name(&self, scheme: &str, host: &str, port: u16) -> bool {
        if !self.scheme_matches(scheme) || !self.port_matches(scheme, port) {
            return false;
        }
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        match &self.host {
            HostPattern::Any => true,
            HostPattern::Localhost => host == "localhost",
            HostPattern::Address(address) => parse_address(&host) == Some(*address),
            HostPattern::Name(name) => *name == host,
            HostPattern::Suffix(suffix) => host.ends_with(suffix.as_str()),
        }
    }

    /// Whether this grant explicitly names `address` (or the name it was
    /// reached by): what a local-network address needs.
    fn names(&self, host: &str, address: IpAddr) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        match &self.host {
            HostPattern::Address(granted) => *granted == address,
            HostPattern::Localhost => address.is_loopback(),
            HostPattern::Name(name) => *name == host,
            HostPattern::Any | HostPattern::Suffix(_) => false,
        }
    }
}

/// Parses a URL host as an address: `1.2.3.4` or `[::1]`.
fn parse_address(host: &str) -> Option<IpAddr> {
    let host = host
        .strip_prefix('[')
        .and_then(|inner| inner.strip_suffix(']'))
        .unwrap_or(host);
    host.parse().ok()
}

/// Whether an address is on the machine or its local network: loopback,
/// private, link-local, unique-local, unspecified, or such an IPv4 address
/// inside IPv6.
pub fn is_local_address(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                // 100.64.0.0/10, carrier-grade NAT: not reachable from outside either.
                || (v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_local_address(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || (first & 0xfe00) == 0xfc00 // unique local, fc00::/7
                || (first & 0xffc0) == 0xfe80 // link local, fe80::/10
        }
    }
}

/// A function's grants. Empty (nothing reachable) by default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedHosts {
    grants: Vec<OutboundGrant>,
}

impl AllowedHosts {
    /// Parses every pattern; the first bad one is the error.
    pub fn parse<S: AsRef<str>>(patterns: impl IntoIterator<Item = S>) -> Result<Self, String> {
        let grants = patterns
            .into_iter()
            .map(|pattern| pattern.as_ref().parse())
            .collect::<Result<Vec<OutboundGrant>, String>>()?;
        Ok(AllowedHosts { grants })
    }

    /// Everything, as on Lambda itself: `*://*:*`.
    pub fn everything() -> Self {
        AllowedHosts::parse(["*://*:*"]).expect("a valid grant")
    }

    /// Whether no grant was given.
    pub fn is_empty(&self) -> bool {
        self.grants.is_empty()
    }

    /// The grants, as given.
    pub fn patterns(&self) -> impl Iterator<Item = &str> {
        self.grants.iter().map(|grant| grant.text.as_str())
    }

    /// Whether some grant covers `scheme` at all (for example, whether raw
    /// TCP may be used).
    pub fn any_for_scheme(&self, scheme: &str) -> bool {
        self.grants.iter().any(|grant| grant.scheme_matches(scheme))
    }

    /// The exact host names granted for `scheme` on `port` (for socket
    /// checks, which see addresses only).
    pub fn names_for(&self, scheme: &str, port: u16) -> Vec<String> {
        self.grants
            .iter()
            .filter(|grant| grant.scheme_matches(scheme) && grant.port_matches(scheme, port))
            .filter_map(|grant| match &grant.host {
                HostPattern::Name(name) => Some(name.clone()),
                _ => None,
            })
            .collect()
    }

    /// Whether a request by name may start: some grant matches the scheme,
    /// the name and the port. The address it resolves to is checked with
    /// [`allows_address`](Self::allows_address) before connecting.
    pub fn allows_name(&self, scheme: &str, host: &str, port: u16) -> bool {
        self.grants
            .iter()
            .any(|grant| grant.matches_name(scheme, host, port))
    }

    /// Whether `host` (as the guest named it) may be reached at `address`:
    /// a grant matches by name, and a local-network address is also named
    /// explicitly by a matching grant.
    pub fn allows_address(&self, scheme: &str, host: &str, address: IpAddr, port: u16) -> bool {
        let matching = self.grants.iter().filter(|grant| {
            grant.matches_name(scheme, host, port) || {
                // A grant by address also matches a name that resolved to it.
                matches!(grant.host, HostPattern::Address(granted) if granted == address)
                    && grant.scheme_matches(scheme)
                    && grant.port_matches(scheme, port)
            }
        });
        let mut matching = matching.peekable();
        if matching.peek().is_none() {
            return false;
        }
        !is_local_address(address) || matching.any(|grant| grant.names(host, address))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(patterns: &[&str]) -> AllowedHosts {
        AllowedHosts::parse(patterns).unwrap()
    }

    #[test]
    fn bad_grants_are_refused_with_the_pattern_named() {
        for bad in [
            "http//x",
            "https://*.:",
            "http://x:70000",
            "http://x:0",
            "ftp://x",
            "http://",
            "http://a/b",
            "http://[::1",
            "http://*.*.com",
            "http://exa mple.com",
        ] {
            let error = bad.parse::<OutboundGrant>().unwrap_err();
            assert!(error.contains(&format!("{bad:?}")), "{error}");
        }
    }

    #[test]
    fn names_ports_and_schemes_match_as_written() {
        let granted = hosts(&["https://*.amazonaws.com", "http://api.example.com:8080"]);
        assert!(granted.allows_name("https", "s3.amazonaws.com", 443));
        assert!(granted.allows_name("https", "S3.AmazonAWS.com.", 443));
        assert!(!granted.allows_name("https", "amazonaws.com", 443));
        assert!(!granted.allows_name("https", "evilamazonaws.com", 443));
        assert!(!granted.allows_name("https", "s3.amazonaws.com", 8443));
        assert!(granted.allows_name("http", "api.example.com", 8080));
        assert!(!granted.allows_name("http", "api.example.com", 80));
        assert!(!granted.allows_name("https", "api.example.com", 8080));
        let any_port = hosts(&["tcp://db.example.com:*"]);
        assert!(any_port.allows_name("tcp", "db.example.com", 5432));
        assert!(!any_port.allows_name("udp", "db.example.com", 5432));
        let everything = AllowedHosts::everything();
        assert!(everything.allows_name("udp", "anything", 53));
    }

    #[test]
    fn local_addresses_need_a_grant_that_names_them() {
        let wildcard = hosts(&["http://*:*"]);
        let public: IpAddr = "93.184.216.34".parse().unwrap();
        assert!(wildcard.allows_address("http", "example.com", public, 80));
        for local in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.1",
            "169.254.169.254",
            "::1",
            "fd00::1",
            "0.0.0.0",
            "::ffff:127.0.0.1",
        ] {
            let address: IpAddr = local.parse().unwrap();
            assert!(is_local_address(address), "{local}");
            assert!(
                !wildcard.allows_address("http", "rebinding.example.com", address, 80),
                "{local} through a wildcard"
            );
        }
        let loopback: IpAddr = "127.0.0.1".parse().unwrap();
        let by_address = hosts(&["http://127.0.0.1:4566"]);
        assert!(by_address.allows_address("http", "127.0.0.1", loopback, 4566));
        assert!(!by_address.allows_address("http", "127.0.0.1", loopback, 4567));
        let by_localhost = hosts(&["http://localhost:4566"]);
        assert!(by_localhost.allows_address("http", "localhost", loopback, 4566));
        let by_name = hosts(&["http://moto.internal:5000"]);
        assert!(by_name.allows_address("http", "moto.internal", "10.0.0.5".parse().unwrap(), 5000));
        let v6 = hosts(&["http://[::1]:8080"]);
        assert!(v6.allows_name("http", "[::1]", 8080));
        assert!(v6.allows_address("http", "[::1]", "::1".parse().unwrap(), 8080));
    }
}
