//! Idempotent sends (the `Idempotency-Key` header), decided once.
//!
//! - The key decides the message's id: [`message_id`] hashes the room and the
//!   key into a UUID, so the id's UNIQUE index is also the idempotency check
//!   and a key costs no index entry of its own (issue 16: 3 rows per send).
//! - [`fingerprint`] is stored with such a message; a retry whose body has a
//!   different fingerprint is a reused key, refused with
//!   [`ErrorCode::IdempotencyConflict`](crate::ErrorCode::IdempotencyConflict)
//!   instead of answering with a message the client did not send.

use sha2::{Digest, Sha256};

use crate::validate::NewMessage;

/// The id of the message sent to `room_id` with Idempotency-Key `key`: a
/// version 8 (custom) UUID from SHA-256 of both. Distinct rooms give distinct
/// ids for the same key; a random v4 id never equals one (the version differs).
pub fn message_id(room_id: &str, key: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"meet-ai idempotency v1\0");
    h.update(room_id.as_bytes());
    h.update(b"\0");
    h.update(key.as_bytes());
    let digest = h.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes)
        .into_uuid()
        .hyphenated()
        .to_string()
}

/// The fingerprint of a send body as validated: what a retry must repeat.
/// Hex of the first 16 bytes of SHA-256 over the fields, each length-prefixed
/// so no two bodies share an encoding. Absent optional fields differ from
/// empty ones.
pub fn fingerprint(m: &NewMessage) -> String {
    let mut h = Sha256::new();
    let mut field = |v: Option<&str>| match v {
        None => h.update([0u8]),
        Some(s) => {
            h.update([1u8]);
            h.update((s.len() as u64).to_be_bytes());
            h.update(s.as_bytes());
        }
    };
    field(m.sender.as_ref().map(AsRef::as_ref));
    field(Some(m.sender_type.as_str()));
    field(m.color.as_ref().map(AsRef::as_ref));
    field(Some(m.content.as_ref()));
    h.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether a retry with `body` repeats the original, whose stored fingerprint
/// is `stored`. A message stored without one (before migration 0005, or by
/// another route) cannot be compared, and is returned as before.
pub fn same_body(stored: Option<&str>, body: &NewMessage) -> bool {
    stored.is_none_or(|s| s == fingerprint(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(sender: Option<&str>, content: &str, color: Option<&str>) -> NewMessage {
        NewMessage::from_parts(
            sender.map(str::to_owned),
            content.to_owned(),
            None,
            color.map(str::to_owned),
        )
        .unwrap()
    }

    #[test]
    fn ids_are_stable_uuids_scoped_by_room() {
        let a = message_id("room-1", "k");
        assert_eq!(a, message_id("room-1", "k"));
        assert_ne!(a, message_id("room-2", "k"));
        assert_ne!(a, message_id("room-1", "k2"));
        // No ambiguity between the room and the key.
        assert_ne!(message_id("ab", "c"), message_id("a", "bc"));
        let parsed = uuid::Uuid::parse_str(&a).unwrap();
        assert_eq!(parsed.get_version_num(), 8);
        assert_eq!(parsed.hyphenated().to_string(), a);
    }

    #[test]
    fn the_fingerprint_covers_every_field() {
        let base = msg(Some("ada"), "hello", None);
        assert_eq!(fingerprint(&base), fingerprint(&base.clone()));
        assert_eq!(fingerprint(&base).len(), 32);
        for other in [
            msg(Some("bob"), "hello", None),
            msg(Some("ada"), "hello!", None),
            msg(Some("ada"), "hello", Some("#aabbcc")),
            msg(None, "hello", None),
        ] {
            assert_ne!(fingerprint(&base), fingerprint(&other), "{other:?}");
        }
        let mut human = base.clone();
        human.sender_type = crate::role::SenderType::Human;
        let mut agent = base.clone();
        agent.sender_type = crate::role::SenderType::Agent;
        assert_ne!(fingerprint(&human), fingerprint(&agent));
        // Length prefixes: moving a boundary changes the fingerprint.
        assert_ne!(
            fingerprint(&msg(Some("ab"), "c", None)),
            fingerprint(&msg(Some("a"), "bc", None))
        );
    }

    #[test]
    fn a_retry_matches_only_its_own_body() {
        let body = msg(Some("ada"), "hello", None);
        let stored = fingerprint(&body);
        assert!(same_body(Some(&stored), &body));
        assert!(!same_body(Some(&stored), &msg(Some("ada"), "bye", None)));
        assert!(same_body(None, &body));
    }
}
