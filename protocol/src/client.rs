//! Who a client is on the network, for limits counted per client: its IPv4
//! address, or the /64 its IPv6 address sits in. One IPv6 subscriber is given
//! at least a /64, so counting single IPv6 addresses would let it take as many
//! keys as it likes.

use std::net::{IpAddr, Ipv6Addr};

/// The network a client address counts as: the IPv4 address itself (an
/// IPv4-mapped IPv6 address counts as its IPv4), or the IPv6 /64 prefix
/// written `a:b:c:d::/64`. Anything unparsable (a missing header reads as
/// `unknown`) is returned trimmed and lowercased, so it still counts as one
/// network.
pub fn network_of(ip: &str) -> String {
    let raw = ip.trim();
    match raw.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                let prefix = Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
                format!("{prefix}/64")
            }
        },
        Err(_) => raw.to_ascii_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_is_the_address() {
        assert_eq!(network_of("203.0.113.7"), "203.0.113.7");
        assert_eq!(network_of(" 203.0.113.7 "), "203.0.113.7");
        assert_eq!(network_of("::ffff:203.0.113.7"), "203.0.113.7");
    }

    #[test]
    fn ipv6_counts_per_64() {
        let a = network_of("2001:db8:1:2:aaaa::1");
        let b = network_of("2001:DB8:1:2:ffff:ffff:ffff:ffff");
        assert_eq!(a, "2001:db8:1:2::/64");
        assert_eq!(a, b, "one /64 is one network");
        assert_ne!(a, network_of("2001:db8:1:3::1"), "the next /64 is another");
        assert_eq!(network_of("::1"), "::/64");
    }

    #[test]
    fn garbage_is_its_own_network() {
        assert_eq!(network_of("unknown"), "unknown");
        assert_eq!(network_of("Not-An-IP"), "not-an-ip");
    }
}
