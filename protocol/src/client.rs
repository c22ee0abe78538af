//! Who a client is, for limits counted per client.
//!
//! An IPv4 address is one client. An IPv6 client is usually handed a whole
//! /64 (one LAN), and can pick any address inside it at will, so counting per
//! IPv6 address would give it 2^64 budgets: a /64 counts as one client.

use std::net::{IpAddr, Ipv6Addr};

use crate::route::Endpoint;

/// The network a client address counts as: the IPv4 address itself, or the
/// IPv6 /64 prefix written as `a:b:c:d::/64`. An IPv4-mapped IPv6 address
/// (`::ffff:1.2.3.4`) is the IPv4 client it maps. Anything that does not
/// parse as an address is returned trimmed as it came (Cloudflare always sets
/// a valid one; locally a missing header shows up as `unknown`), so it is
/// still one bucket and never a panic.
pub fn network_of(ip: &str) -> String {
    let ip = ip.trim();
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => prefix64(&v6),
        },
        Err(_) => ip.to_owned(),
    }
}

fn prefix64(v6: &Ipv6Addr) -> String {
    let s = v6.segments();
    format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
}

/// Which per-client limits a request is counted against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counted {
    /// Anonymous reads of public rooms and the featured room (and the usage
    /// report), per client network: `read_rate_limited`.
    pub reads: bool,
    /// Stream opens (SSE and WebSocket), per client network when anonymous
    /// and per credential otherwise: `stream_rate_limited`.
    pub stream: bool,
}

/// The per-client limits for an endpoint. A keyed reader is accountable
/// through its key (and its reads of its own rooms are its business), so only
/// anonymous reads count per network; stream opens count for everyone, since
/// every open stream polls D1 for its whole life.
pub fn counted(endpoint: &Endpoint, anonymous: bool) -> Counted {
    use Endpoint::*;
    match endpoint {
        // A stream's opens have their own limit; counting them as reads too
        // would let the read limit (the lower one) cap an anonymous
        // client's streams before the stream limit does.
        Events(_) | Socket(_) => Counted {
            reads: false,
            stream: true,
        },
        // The usage report checks no credential, so a header cannot exempt it.
        Usage => Counted {
            reads: true,
            stream: false,
        },
        GetRoom(_) | ListMessages(_) | Featured => Counted {
            reads: anonymous,
            stream: false,
        },
        _ => Counted::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_counts_per_client() {
        let room = || "r".to_owned();
        assert_eq!(
            counted(&Endpoint::Events(room()), true),
            Counted {
                reads: false,
                stream: true
            }
        );
        assert_eq!(
            counted(&Endpoint::Socket(room()), false),
            Counted {
                reads: false,
                stream: true
            }
        );
        assert!(counted(&Endpoint::Usage, false).reads);
        for ep in [
            Endpoint::ListMessages(room()),
            Endpoint::GetRoom(room()),
            Endpoint::Featured,
        ] {
            assert!(counted(&ep, true).reads, "{ep:?}");
            assert_eq!(counted(&ep, false), Counted::default(), "{ep:?}");
        }
        assert_eq!(
            counted(&Endpoint::SendMessage(room()), true),
            Counted::default()
        );
        assert_eq!(counted(&Endpoint::CreateKey, true), Counted::default());
    }

    #[test]
    fn ipv4_is_its_own_network() {
        assert_eq!(network_of("198.51.100.7"), "198.51.100.7");
        assert_eq!(network_of(" 198.51.100.7 "), "198.51.100.7");
        assert_ne!(network_of("198.51.100.7"), network_of("198.51.100.8"));
    }

    #[test]
    fn ipv6_counts_per_64() {
        let a = network_of("2001:db8:1:2::1");
        assert_eq!(a, "2001:db8:1:2::/64");
        // Any address in the same /64, however written, is the same client.
        assert_eq!(network_of("2001:0db8:0001:0002:ffff:ffff:ffff:ffff"), a);
        assert_eq!(network_of("2001:DB8:1:2:abcd::9"), a);
        // The next /64 is another client.
        assert_eq!(network_of("2001:db8:1:3::1"), "2001:db8:1:3::/64");
        assert_eq!(network_of("::1"), "0:0:0:0::/64");
    }

    #[test]
    fn mapped_ipv4_is_the_ipv4_client() {
        assert_eq!(network_of("::ffff:198.51.100.7"), "198.51.100.7");
    }

    #[test]
    fn garbage_is_one_bucket_not_a_panic() {
        assert_eq!(network_of("unknown"), "unknown");
        assert_eq!(network_of(""), "");
        assert_eq!(network_of("1.2.3"), "1.2.3");
    }
}
