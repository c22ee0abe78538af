//! One test per rule of the parsers in `validate`.

use super::*;

#[test]
fn names_refuse_invisible_and_direction_characters() {
    for c in [
        '\u{200B}', '\u{200F}', '\u{202A}', '\u{202E}', '\u{2060}', '\u{2064}', '\u{2066}',
        '\u{2069}', '\u{2028}', '\u{2029}', '\u{FEFF}',
    ] {
        let name = format!("cla{c}ude");
        assert_eq!(
            Sender::parse(&name),
            Err(ValidationError::InvisibleChars { field: "sender" }),
            "U+{:04X}",
            c as u32
        );
        assert!(RoomName::parse(&name).is_err());
        assert!(Handle::parse(&name).is_err());
    }
    // At either end too: trimming must not swallow U+2028/2029 or U+FEFF.
    for c in ['\u{2028}', '\u{2029}', '\u{FEFF}', '\u{200B}', '\u{202E}'] {
        for name in [
            format!("{c}claude"),
            format!("claude{c}"),
            format!(" {c} ada"),
        ] {
            assert_eq!(
                Handle::parse(&name),
                Err(ValidationError::InvisibleChars { field: "handle" }),
                "{name:?}"
            );
            assert!(Sender::parse(&name).is_err());
            assert!(RoomName::parse(&name).is_err());
            assert!(Handle::parse_for(&name).is_err());
        }
    }
    // The code a client sees is 400, not 413 or 500.
    assert_eq!(
        ValidationError::InvisibleChars { field: "sender" }.code(),
        crate::ErrorCode::BadRequest
    );
    // Neighbours stay allowed: an en dash, a non-breaking space inside.
    assert!(Sender::parse("a\u{2013}b").is_ok());
    assert!(Handle::parse("zoë").is_ok());
}

#[test]
fn members_parse_handle_and_role() {
    let m = NewMember::from_json(br#"{"handle":" ada ","role":"agent"}"#).unwrap();
    assert_eq!(m.handle.as_ref(), "ada");
    assert_eq!(m.role, Role::Agent);
    assert_eq!(
        NewMember::from_json(br#"{"handle":"ada","role":"admin"}"#),
        Err(ValidationError::Role)
    );
    assert_eq!(
        NewMember::from_json(br#"{"handle":"","role":"human"}"#),
        Err(ValidationError::Empty { field: "handle" })
    );
    assert!(NewMember::from_json(br#"{"handle":"a"}"#).is_err());
    assert!(NewMember::from_json(br#"{"handle":"a","role":"agent","x":1}"#).is_err());
}

#[test]
fn room_update_takes_public_and_or_loop_guard() {
    let u = RoomUpdate::from_json(br#"{"loop_guard":5}"#).unwrap();
    assert_eq!((u.public, u.loop_guard), (None, Some(5)));
    let u = RoomUpdate::from_json(br#"{"public":true,"loop_guard":0}"#).unwrap();
    assert_eq!((u.public, u.loop_guard), (Some(true), Some(0)));
    assert_eq!(
        RoomUpdate::from_json(b"{}"),
        Err(ValidationError::EmptyUpdate)
    );
    assert_eq!(
        RoomUpdate::from_json(br#"{"loop_guard":-1}"#),
        Err(ValidationError::LoopGuard)
    );
    assert_eq!(
        RoomUpdate::from_json(br#"{"loop_guard":1001}"#),
        Err(ValidationError::LoopGuard)
    );
    assert!(RoomUpdate::from_json(br#"{"loop_guard":"5"}"#).is_err());
}

#[test]
fn mark_read_and_wait_options() {
    let id = "0b6f3c1e-8a7d-4f7e-9c55-7f0e0b2c9d11";
    let r = MarkRead::from_json(format!(r#"{{"for":"ada","through":"{id}"}}"#).as_bytes()).unwrap();
    assert_eq!(r.handle.unwrap().as_ref(), "ada");
    assert_eq!(r.through, id);
    let r = MarkRead::from_json(format!(r#"{{"through":"{id}"}}"#).as_bytes()).unwrap();
    assert!(r.handle.is_none());
    assert_eq!(
        MarkRead::from_json(br#"{"through":"nope"}"#),
        Err(ValidationError::Cursor("through"))
    );
    let w = WaitOptions::parse(None, None, None).unwrap();
    assert_eq!(
        (w.timeout_secs, w.any, w.ack),
        (DEFAULT_WAIT_SECS, false, false)
    );
    let w = WaitOptions::parse(Some("999"), Some("1"), Some("true")).unwrap();
    assert_eq!((w.timeout_secs, w.any, w.ack), (MAX_WAIT_SECS, true, true));
    for bad in ["0", "-1", "x", "1.5"] {
        assert_eq!(
            WaitOptions::parse(Some(bad), None, None),
            Err(ValidationError::Timeout)
        );
    }
    assert_eq!(
        WaitOptions::parse(None, Some("yes"), None),
        Err(ValidationError::Flag("any"))
    );
}

#[test]
fn a_message_may_leave_out_its_sender() {
    let m = NewMessage::from_json(br#"{"content":"hi"}"#).unwrap();
    assert_eq!(m.sender, None);
}

#[test]
fn ids_must_be_canonical_uuids() {
    let id = "0b6f3c1e-8a7d-4f7e-9c55-7f0e0b2c9d11";
    assert_eq!(parse_id(id).as_deref(), Some(id));
    assert_eq!(parse_id(&id.to_uppercase()).as_deref(), Some(id));
    assert_eq!(parse_id("0b6f3c1e8a7d4f7e9c557f0e0b2c9d11"), None);
    assert_eq!(parse_id("not-a-uuid"), None);
    assert_eq!(parse_id(""), None);
    assert_eq!(parse_id("zb6f3c1e-8a7d-4f7e-9c55-7f0e0b2c9d11"), None);
}

#[test]
fn room_name_is_trimmed_and_bounded() {
    assert_eq!(RoomName::parse("  general ").unwrap().as_ref(), "general");
    assert_eq!(
        RoomName::parse("   "),
        Err(ValidationError::Empty { field: "name" })
    );
    assert!(RoomName::parse(&"é".repeat(100)).is_ok());
    assert_eq!(
        RoomName::parse(&"é".repeat(101)),
        Err(ValidationError::TooLong {
            field: "name",
            max: 100
        })
    );
    assert_eq!(
        RoomName::parse("a\nb"),
        Err(ValidationError::ControlChars { field: "name" })
    );
}

#[test]
fn sender_counts_characters_not_bytes() {
    assert!(Sender::parse(&"🦀".repeat(64)).is_ok());
    assert!(Sender::parse(&"🦀".repeat(65)).is_err());
    assert_eq!(Sender::parse(" claude ").unwrap().as_ref(), "claude");
}

#[test]
fn content_is_bounded_in_bytes_and_kept_verbatim() {
    let code = "```rust\n  fn main() {}\n```\n".to_string();
    assert_eq!(Content::parse(code.clone()).unwrap().as_ref(), code);
    assert!(Content::parse("x".repeat(MAX_CONTENT_BYTES)).is_ok());
    let err = Content::parse("x".repeat(MAX_CONTENT_BYTES + 1)).unwrap_err();
    assert_eq!(err, ValidationError::ContentTooLarge);
    assert_eq!(err.code(), ErrorCode::PayloadTooLarge);
    assert_eq!(
        Content::parse(" \n\t".into()),
        Err(ValidationError::Empty { field: "content" })
    );
}

#[test]
fn color_is_hash_and_six_hex_digits() {
    assert_eq!(Color::parse("#A1b2C3").unwrap().as_ref(), "#a1b2c3");
    for bad in ["a1b2c3", "#a1b2c", "#a1b2c3d", "#ggg000", "", "#"] {
        assert_eq!(Color::parse(bad), Err(ValidationError::Color), "{bad}");
    }
}

#[test]
fn new_message_parses_defaults_and_rejects_bad_types() {
    let m = NewMessage::from_json(br#"{"sender":"a","content":"b"}"#).unwrap();
    assert_eq!(m.sender_type, SenderType::Human);
    assert_eq!(m.color, None);
    let m = NewMessage::from_json(
        br##"{"sender":"a","content":"b","sender_type":"agent","color":"#ABCDEF"}"##,
    )
    .unwrap();
    assert_eq!(m.sender_type, SenderType::Agent);
    assert_eq!(m.color.unwrap().as_ref(), "#abcdef");

    for bad in [
        &br#"{"sender":"a","content":"b","sender_type":"robot"}"#[..],
        br#"{"sender":1,"content":"b"}"#,
        br#"{"sender":"a"}"#,
        br#"{"sender":"a","content":"b""#,
        br#"{"sender":"cla\u200bude","content":"b"}"#,
        br#"[]"#,
        br#"["a","b"]"#,
        br#""a""#,
        b"",
    ] {
        let err = NewMessage::from_json(bad).unwrap_err();
        assert_eq!(err.code(), ErrorCode::BadRequest, "{err}");
    }
    assert_eq!(
        NewMessage::from_json(b"{\"sender\":\"\xff\",\"content\":\"b\"}"),
        Err(ValidationError::NotUtf8)
    );
}

#[test]
fn room_update_takes_exactly_a_boolean_public() {
    assert_eq!(
        RoomUpdate::from_json(br#"{"public":true}"#),
        Ok(RoomUpdate {
            public: Some(true),
            loop_guard: None
        })
    );
    for bad in [
        &br#"{"public":"yes"}"#[..],
        br#"{}"#,
        br#"{"public":true,"name":"x"}"#,
        br#"{"public":1}"#,
    ] {
        assert_eq!(
            RoomUpdate::from_json(bad).unwrap_err().code(),
            ErrorCode::BadRequest
        );
    }
}

#[test]
fn oversized_bodies_are_refused_before_parsing() {
    let body = vec![b' '; MAX_BODY_BYTES + 1];
    assert_eq!(
        NewMessage::from_json(&body),
        Err(ValidationError::BodyTooLarge)
    );
}

#[test]
fn limit_defaults_caps_and_refuses_nonsense() {
    assert_eq!(Limit::parse(None).unwrap().get(), 100);
    assert_eq!(Limit::parse(Some("1")).unwrap().get(), 1);
    assert_eq!(Limit::parse(Some("500")).unwrap().get(), 500);
    assert_eq!(Limit::parse(Some("501")).unwrap().get(), 500);
    assert_eq!(
        Limit::parse(Some("99999999999999999999999")).unwrap().get(),
        500
    );
    for bad in ["0", "-1", "abc", "", "1.5"] {
        assert_eq!(
            Limit::parse(Some(bad)),
            Err(ValidationError::Limit),
            "{bad}"
        );
    }
}

#[test]
fn the_start_cursor_is_a_valid_id() {
    assert_eq!(parse_id(START).as_deref(), Some(START));
    assert_eq!(
        Page::parse(Some(START), None),
        Ok(Page::After(START.into()))
    );
}

#[test]
fn page_takes_one_cursor_at_most() {
    let id = "0b6f3c1e-8a7d-4f7e-9c55-7f0e0b2c9d11";
    assert_eq!(Page::parse(None, None), Ok(Page::Latest));
    assert_eq!(Page::parse(Some(id), None), Ok(Page::After(id.into())));
    assert_eq!(Page::parse(None, Some(id)), Ok(Page::Before(id.into())));
    assert_eq!(
        Page::parse(Some(id), Some(id)),
        Err(ValidationError::AfterAndBefore)
    );
    assert_eq!(
        Page::parse(Some("x"), None),
        Err(ValidationError::Cursor("after"))
    );
}

#[test]
fn idempotency_key_is_printable_ascii() {
    assert!(IdempotencyKey::parse("retry-1 ok~").is_ok());
    assert!(IdempotencyKey::parse(&"k".repeat(64)).is_ok());
    for bad in ["", "tab\there", "é", &"k".repeat(65)] {
        assert!(IdempotencyKey::parse(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn exclude_is_a_sender_name_named_exclude_in_its_errors() {
    assert_eq!(Sender::parse_exclude(None, true), Ok(None));
    let me = Sender::parse_exclude(Some("  me "), true).unwrap().unwrap();
    assert_eq!(me.as_ref(), "me");
    for bad in ["", "   ", "a\nb", &"x".repeat(65)] {
        let err = Sender::parse_exclude(Some(bad), true).unwrap_err();
        assert!(err.to_string().contains("exclude"), "{bad:?}: {err}");
    }
}

#[test]
fn exclude_needs_a_credential() {
    assert_eq!(Sender::parse_exclude(None, false), Ok(None));
    for raw in ["me", ""] {
        assert_eq!(
            Sender::parse_exclude(Some(raw), false),
            Err(ValidationError::ExcludeNeedsKey)
        );
    }
    assert!(ValidationError::ExcludeNeedsKey
        .to_string()
        .starts_with("exclude needs a key"));
}
