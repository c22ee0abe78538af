//! API keys: `mai_` followed by 24 characters of `A-Za-z0-9_-` (144 bits).
//! Member tokens (one room, one handle) have the same body behind `mem_`, so a
//! person can tell at a glance which of the two they are about to paste.
//!
//! The key is made from caller-supplied entropy (the Worker passes CSPRNG bytes),
//! so this module stays pure and testable. Only [`hash`] and [`prefix`] are ever
//! stored; the plaintext is shown once and forgotten.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

pub const KEY_PREFIX: &str = "mai_";
/// A member token's prefix: same length and alphabet as a key otherwise.
pub const MEMBER_PREFIX: &str = "mem_";
/// 18 bytes encode to exactly 24 base64url characters, with no padding.
pub const ENTROPY_BYTES: usize = 18;
pub const KEY_BODY_CHARS: usize = 24;
pub const KEY_LEN: usize = KEY_PREFIX.len() + KEY_BODY_CHARS;
/// How much of the key is kept to let a person recognise it.
pub const PREFIX_CHARS: usize = 8;

/// A stream ticket's prefix (`POST /api/rooms/:id/ticket`): a short-lived,
/// single-use pass to one room's stream, made to go in a URL instead of a key.
pub const TICKET_PREFIX: &str = "tkt_";

/// Builds a stream ticket from random bytes.
pub fn ticket_from_entropy(bytes: &[u8; ENTROPY_BYTES]) -> String {
    with_prefix(TICKET_PREFIX, bytes)
}

/// Whether a string has the shape of a stream ticket (checked before hashing).
pub fn is_ticket(candidate: &str) -> bool {
    candidate.len() == KEY_LEN
        && candidate.starts_with(TICKET_PREFIX)
        && candidate[TICKET_PREFIX.len()..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Builds a key from random bytes.
pub fn from_entropy(bytes: &[u8; ENTROPY_BYTES]) -> String {
    with_prefix(KEY_PREFIX, bytes)
}

/// Builds a member token from random bytes.
pub fn member_token_from_entropy(bytes: &[u8; ENTROPY_BYTES]) -> String {
    with_prefix(MEMBER_PREFIX, bytes)
}

fn with_prefix(prefix: &str, bytes: &[u8; ENTROPY_BYTES]) -> String {
    let mut key = String::with_capacity(KEY_LEN);
    key.push_str(prefix);
    URL_SAFE_NO_PAD.encode_string(bytes, &mut key);
    key
}

/// What a well-formed credential is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialKind {
    /// An owner key (`mai_`): all of its rooms.
    Owner,
    /// A member token (`mem_`): one room, one handle.
    Member,
}

/// The kind of a presented credential, or None if it has the shape of
/// neither. Checked before hashing so obvious garbage never costs a lookup.
pub fn kind(candidate: &str) -> Option<CredentialKind> {
    let body_ok = |prefix: &str| {
        candidate.len() == KEY_LEN
            && candidate.starts_with(prefix)
            && candidate[prefix.len()..]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    };
    if body_ok(KEY_PREFIX) {
        Some(CredentialKind::Owner)
    } else if body_ok(MEMBER_PREFIX) {
        Some(CredentialKind::Member)
    } else {
        None
    }
}

/// Whether a presented string has the shape of a key or a member token.
pub fn is_well_formed(candidate: &str) -> bool {
    kind(candidate).is_some()
}

/// Whether a presented string has the shape of a member token.
pub fn is_member_token(candidate: &str) -> bool {
    kind(candidate) == Some(CredentialKind::Member)
}

/// Lowercase hex SHA-256 of the whole key: what the database stores and looks up.
pub fn hash(key: &str) -> String {
    format!("{:x}", Sha256::digest(key.as_bytes()))
}

/// The first eight characters (`mai_` and four more), safe to show and store.
pub fn prefix(key: &str) -> &str {
    key.get(..PREFIX_CHARS).unwrap_or(key)
}

/// Reads the key from an `Authorization: Bearer <key>` header value.
pub fn from_bearer(header: &str) -> Option<&str> {
    let (scheme, rest) = header.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| rest.trim())
        .filter(|k| !k.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn tickets_are_neither_keys_nor_tokens() {
        let t = ticket_from_entropy(&[7; ENTROPY_BYTES]);
        assert!(is_ticket(&t));
        assert_eq!(kind(&t), None, "a ticket is never accepted as a credential");
        assert!(!is_ticket(&from_entropy(&[7; ENTROPY_BYTES])));
        assert!(!is_ticket("tkt_short"));
        assert!(!is_ticket(&format!("{}!", &t[..KEY_LEN - 1])));
    }

    #[test]
    fn key_has_the_documented_shape() {
        let key = from_entropy(&[0xff; ENTROPY_BYTES]);
        assert_eq!(key, "mai_________________________");
        assert!(is_well_formed(&key));
        assert_eq!(prefix(&key), "mai_____");
        let key = from_entropy(&[0; ENTROPY_BYTES]);
        assert_eq!(key, "mai_AAAAAAAAAAAAAAAAAAAAAAAA");
    }

    #[test]
    fn member_tokens_are_told_apart_from_keys() {
        let token = member_token_from_entropy(&[0; ENTROPY_BYTES]);
        assert_eq!(token, "mem_AAAAAAAAAAAAAAAAAAAAAAAA");
        assert_eq!(kind(&token), Some(CredentialKind::Member));
        assert!(is_member_token(&token));
        let key = from_entropy(&[0; ENTROPY_BYTES]);
        assert_eq!(kind(&key), Some(CredentialKind::Owner));
        assert!(!is_member_token(&key));
        assert_ne!(hash(&token), hash(&key));
        assert_eq!(kind("mem_AAAA"), None);
        assert_eq!(kind("mex_AAAAAAAAAAAAAAAAAAAAAAAA"), None);
    }

    #[test]
    fn malformed_keys_are_refused() {
        for bad in [
            "",
            "mai_",
            "mai_AAAAAAAAAAAAAAAAAAAAAAA",
            "mai_AAAAAAAAAAAAAAAAAAAAAAAAA",
            "sk_AAAAAAAAAAAAAAAAAAAAAAAAAA",
            "mai_AAAAAAAAAAAAAAAAAAAAAAA=",
            "mai_AAAAAAAAAAAAAAAAAAAAAAé",
        ] {
            assert!(!is_well_formed(bad), "{bad}");
        }
    }

    #[test]
    fn hash_is_sha256_hex() {
        // sha256("abc"), from FIPS 180-2.
        assert_eq!(
            hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn bearer_header_is_parsed_leniently_about_case_and_space() {
        assert_eq!(from_bearer("Bearer mai_x"), Some("mai_x"));
        assert_eq!(from_bearer("bearer   mai_x "), Some("mai_x"));
        assert_eq!(from_bearer("Basic abc"), None);
        assert_eq!(from_bearer("Bearer"), None);
        assert_eq!(from_bearer("Bearer "), None);
    }

    proptest! {
        #[test]
        fn every_entropy_makes_a_well_formed_key(bytes in proptest::array::uniform18(any::<u8>())) {
            let key = from_entropy(&bytes);
            prop_assert!(is_well_formed(&key));
            prop_assert_eq!(key.len(), KEY_LEN);
            prop_assert_eq!(hash(&key).len(), 64);
        }
    }
}
