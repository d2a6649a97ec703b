//! Who a client is, for the limits: the unit one client usually holds (an IPv4 address, an IPv6
//! /64), and the wider network one organisation, household or server usually holds (an IPv4 /24,
//! an IPv6 /48), which a mailbox's budgets are shared out by (docs/security.md, "Lock-out by
//! strangers"). An IPv4 address written as IPv6 (`::ffff:192.0.2.1`) is the IPv4 address. And
//! whether a host names this machine.

use std::net::{IpAddr, Ipv6Addr};

/// The client `ip` counts as: itself for IPv4, its /64 for IPv6.
pub fn client(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
    }
}

/// The client as the store keys its send limit: `192.0.2.1`, `2001:db8:1:2::/64`.
pub fn client_bucket(ip: IpAddr) -> String {
    match client(ip) {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

/// The network `ip` belongs to: `192.0.2.0/24`, `2001:db8:1::/48`.
pub fn network(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            format!("{}.{}.{}.0/24", o[0], o[1], o[2])
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
        }
    }
}

/// Whether `host_port` (`localhost`, `127.0.0.1:8080`, `[::1]:25`, with or without a port) names
/// this machine, so that what goes there never leaves it: a Redis password in the clear, the
/// development outbox.
pub fn is_loopback_host(host_port: &str) -> bool {
    let host = match host_port.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => host_port,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn ipv6_clients_are_grouped_by_64() {
        assert_eq!(
            client_bucket(ip("2001:db8:1:2:aaaa::1")),
            client_bucket(ip("2001:db8:1:2:bbbb::9"))
        );
        assert_eq!(client_bucket(ip("2001:db8:1:2::1")), "2001:db8:1:2::/64");
        assert_eq!(client_bucket(ip("::ffff:192.0.2.1")), "192.0.2.1");
        assert_eq!(client(ip("::ffff:192.0.2.1")), ip("192.0.2.1"));
        assert_eq!(client(ip("2001:db8:1:2:aaaa::1")), ip("2001:db8:1:2::"));
    }

    #[test]
    fn loopback_hosts_with_or_without_a_port() {
        for host in [
            "localhost",
            "LOCALHOST:8080",
            "127.0.0.1",
            "127.0.0.2:6379",
            "[::1]",
            "[::1]:25",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "relay",
            "10.0.0.1:6379",
            "127.0.0.1.evil.example",
            "[::2]:25",
            "localhost:x",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }

    #[test]
    fn budget_shares_belong_to_a_v4_24_or_a_v6_48() {
        assert_eq!(network(ip("192.0.2.1")), network(ip("192.0.2.254")));
        assert_ne!(network(ip("192.0.2.1")), network(ip("192.0.3.1")));
        assert_eq!(network(ip("::ffff:192.0.2.9")), "192.0.2.0/24");
        assert_eq!(
            network(ip("2001:db8:1:2::1")),
            network(ip("2001:db8:1:ffff::1"))
        );
        assert_ne!(network(ip("2001:db8:1::1")), network(ip("2001:db8:2::1")));
    }
}
