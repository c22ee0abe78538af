//! JSON fixtures of the wire types the web UI reads, written from the Rust
//! types by this test and committed in protocol/fixtures/. Each value
//! round-trips (what the server writes, a client reads back unchanged), and
//! web/src/fixtures.ts assigns each file to its hand-written TypeScript type,
//! so `tsc -p web` (make build, make lint) fails when a field drifts.
//!
//! A committed file that differs from what this test writes fails the test
//! (and is rewritten: commit the new one), so the fixtures cannot go stale.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::path::PathBuf;

use meet_ai_protocol::decision::{
    AnswerValue, Decision, DecisionKind, DecisionStatus, Outcome, Question, QuestionOption,
};
use meet_ai_protocol::role::{Role, SenderType};
use meet_ai_protocol::wire::{ErrorBody, Inbox, Member, Message, MessageKind, Room};
use meet_ai_protocol::ws::{message_frame, ServerFrame};
use meet_ai_protocol::ErrorCode;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::json;

const ROOM: &str = "6f1c2d3e-4a5b-4c6d-8e7f-901234567890";

fn message(id: &str, sender: &str, content: &str) -> Message {
    Message {
        id: id.into(),
        room_id: ROOM.into(),
        sender: sender.into(),
        sender_type: SenderType::Agent,
        color: Some("#a0b1c2".into()),
        content: content.into(),
        created_at: "2026-01-02T03:04:05.678Z".into(),
        verified: true,
        mentions: vec!["ada".into()],
        kind: MessageKind::Message,
        decision: None,
    }
}

fn decision() -> Decision {
    let mut answers = BTreeMap::new();
    answers.insert("Which database?".to_owned(), AnswerValue::One("D1".into()));
    answers.insert(
        "Which checks?".to_owned(),
        AnswerValue::Many(vec!["lint".into(), "tests".into()]),
    );
    Decision {
        id: "0190b6f4-58a0-7c3e-9a1b-2c3d4e5f6a7b".into(),
        room_id: ROOM.into(),
        kind: DecisionKind::Question,
        requester: "claude".into(),
        requester_verified: true,
        tool_name: Some("AskUserQuestion".into()),
        tool_input: Some(json!({ "questions": [] })),
        plan: None,
        questions: Some(vec![Question {
            question: "Which database?".into(),
            header: Some("Storage".into()),
            options: vec![
                QuestionOption {
                    label: "D1".into(),
                    description: Some("SQLite at the edge".into()),
                },
                QuestionOption {
                    label: "KV".into(),
                    description: None,
                },
            ],
            multi_select: false,
        }]),
        suggestions: Some(vec![json!({ "type": "addRules" })]),
        status: DecisionStatus::Answered,
        outcome: Some(Outcome::Allow),
        answers: Some(answers),
        feedback: Some("go ahead".into()),
        suggestion: None,
        decided_by: Some("ada".into()),
        decided_at: Some("2026-01-02T03:05:00.000Z".into()),
        created_at: "2026-01-02T03:04:05.678Z".into(),
        expires_at: "2026-01-02T03:14:05.678Z".into(),
        expires_at_s: 1_767_323_645,
    }
}

/// Round-trips `value` and checks protocol/fixtures/`name`.json against its
/// JSON; returns what differs.
fn fixture<T: Serialize + DeserializeOwned + PartialEq + Debug>(
    name: &str,
    value: &T,
) -> Option<String> {
    let text = serde_json::to_string_pretty(value).unwrap() + "\n";
    let back: T = serde_json::from_str(&text).unwrap();
    assert_eq!(&back, value, "{name} round-trips");
    written(name, &text)
}

/// Compares (and on a difference rewrites) one fixture file.
fn written(name: &str, text: &str) -> Option<String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(format!("{name}.json"));
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed == text {
        return None;
    }
    std::fs::write(&path, text).unwrap();
    Some(format!(
        "{} was stale (rewritten: commit it)",
        path.display()
    ))
}

#[test]
fn the_web_uis_wire_types_match_their_committed_fixtures() {
    let plain = message("0190b6f4-58a0-7c3e-9a1b-000000000001", "claude", "hi @ada");
    let mut asked = message(
        "0190b6f4-58a0-7c3e-9a1b-000000000002",
        "claude",
        "Which database?",
    );
    asked.kind = MessageKind::Decision;
    asked.decision = Some(Box::new(decision()));
    let mut notice = message(
        "0190b6f4-58a0-7c3e-9a1b-000000000003",
        "meet-ai",
        "loop guard",
    );
    notice.kind = MessageKind::Notice;
    notice.color = None;
    notice.mentions = Vec::new();

    let room = Room {
        id: ROOM.into(),
        name: "general".into(),
        public: true,
        loop_guard: 20,
        created_at: "2026-01-02T03:04:05.678Z".into(),
    };
    // The owner's view of a member (members see handle and role only).
    let member = Member {
        handle: "claude".into(),
        role: Role::Agent,
        created_at: Some("2026-01-02T03:04:05.678Z".into()),
        last_seen_at: Some(Some("2026-01-02T04:00:00.000Z".into())),
        token_prefix: Some("mem_abcd".into()),
    };
    let inbox = Inbox {
        handle: "ada".into(),
        cursor: "0190b6f4-58a0-7c3e-9a1b-000000000001".into(),
        unread: 2,
        mentions: vec![plain.clone()],
        has_more: false,
    };
    let error = ErrorBody {
        error: "room not found".into(),
        code: Some(ErrorCode::NotFound),
    };

    // The WebSocket frames, as the server writes them.
    let frame = message_frame(&plain).unwrap();
    let parsed: ServerFrame = serde_json::from_str(&frame).unwrap();
    assert_eq!(parsed, ServerFrame::Message(plain.clone()));
    let frames = [
        ServerFrame::Message(plain.clone()),
        ServerFrame::Pong,
        ServerFrame::Error {
            error: "content is required".into(),
        },
    ];

    let stale: Vec<String> = [
        fixture("message", &plain),
        fixture("message_decision", &asked),
        fixture("message_notice", &notice),
        fixture("room", &room),
        fixture("member", &member),
        fixture("decision", &decision()),
        fixture("inbox", &inbox),
        fixture("error", &error),
        fixture("ws_message", &frames[0]),
        fixture("ws_pong", &frames[1]),
        fixture("ws_error", &frames[2]),
    ]
    .into_iter()
    .flatten()
    .collect();
    assert!(stale.is_empty(), "{}", stale.join("\n"));
}
