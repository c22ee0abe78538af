//! D1 session bookmarks, the read-your-writes token of read replication.
//!
//! Every API response names, in [`BOOKMARK_HEADER`], the point in the
//! database's history that its queries saw (after a send: the send itself).
//! A client that presents the latest bookmark it holds on its next request
//! is served by a replica at least that current, so it always reads its own
//! writes, even when reads go to replicas. A request without one reads
//! wherever is nearest (`first-unconstrained`); a request that writes starts
//! at the primary (`first-primary`).
//!
//! The Worker never interprets a bookmark: D1 makes them. It only refuses
//! what does not have their shape ([`parse`]), with a clear 400, before any
//! query.

/// The request and response header that carries a bookmark.
pub const BOOKMARK_HEADER: &str = "X-D1-Bookmark";

/// The shape of a D1 bookmark: four groups of hex digits, joined by dashes,
/// of these lengths (e.g. `00000085-0000024c-00004c6d-8e61117bf38d7adb71b934ebbf891683`).
const GROUPS: [usize; 4] = [8, 8, 8, 32];

/// The session constraint for a request without a bookmark: writes begin at
/// the primary, reads at the nearest replica.
pub fn default_constraint(writes: bool) -> &'static str {
    if writes {
        "first-primary"
    } else {
        "first-unconstrained"
    }
}

/// A presented bookmark, trimmed, if it has D1's shape ([`GROUPS`]); the
/// constraints `first-primary` and `first-unconstrained` pass too and mean
/// what they say. `None`: refuse with a 400, so that D1 never sees a value
/// it would fail the whole request on.
pub fn parse(raw: &str) -> Option<&str> {
    let b = raw.trim();
    if b == "first-primary" || b == "first-unconstrained" {
        return Some(b);
    }
    let groups: Vec<&str> = b.split('-').collect();
    let ok = groups.len() == GROUPS.len()
        && groups
            .iter()
            .zip(GROUPS)
            .all(|(g, n)| g.len() == n && g.bytes().all(|c| c.is_ascii_hexdigit()));
    ok.then_some(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_bookmarks_and_constraints_pass_trimmed() {
        let real = "0000006b-00000007-00004f31-78fa5ac7d8ab4d0db32e8e5a15a07dcd";
        assert_eq!(parse(real), Some(real));
        assert_eq!(parse(&format!(" {real}\t")), Some(real));
        assert_eq!(parse("first-primary"), Some("first-primary"));
    }

    #[test]
    fn what_cannot_be_a_bookmark_is_refused() {
        let real = "0000006b-00000007-00004f31-78fa5ac7d8ab4d0db32e8e5a15a07dcd";
        for bad in [
            "",
            "   ",
            "garbage",
            "a b",
            "first-anything",
            "0000006b-00000007-00004f31",
            "0000006b-00000007-00004f31-78fa5ac7d8ab4d0db32e8e5a15a07dcd-00",
            "0000006g-00000007-00004f31-78fa5ac7d8ab4d0db32e8e5a15a07dcd",
            "000006b-000000007-00004f31-78fa5ac7d8ab4d0db32e8e5a15a07dcd",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
        assert!(parse(&real.to_uppercase()).is_some());
    }

    #[test]
    fn writes_start_at_the_primary() {
        assert_eq!(default_constraint(true), "first-primary");
        assert_eq!(default_constraint(false), "first-unconstrained");
    }
}
