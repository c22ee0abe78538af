//! The hook contract both ways, pinned by cli/tests/fixtures/hooks/*.json:
//! hook input → decision request body, and decided decision → stdout.

use serde_json::{json, Value};

use super::settings::{self, merge};
use super::*;

const FIXTURES: [(&str, &str); 3] = [
    ("bash", include_str!("../../tests/fixtures/hooks/bash.json")),
    (
        "exit-plan-mode",
        include_str!("../../tests/fixtures/hooks/exit-plan-mode.json"),
    ),
    (
        "ask-user-question",
        include_str!("../../tests/fixtures/hooks/ask-user-question.json"),
    ),
];

fn fixture(name: &str) -> Value {
    let (_, text) = FIXTURES.iter().find(|(n, _)| *n == name).unwrap();
    serde_json::from_str(text).unwrap()
}

#[test]
fn every_fixture_input_becomes_its_request_body() {
    for (name, _) in FIXTURES {
        let fx = fixture(name);
        let input = parse_input(&fx["input"].to_string()).unwrap();
        let body = request_body(&input, 300).unwrap();
        assert_eq!(body, fx["request"], "{name}");
    }
}

#[test]
fn every_fixture_decision_becomes_its_output() {
    for (name, _) in FIXTURES {
        let fx = fixture(name);
        let input = parse_input(&fx["input"].to_string()).unwrap();
        for case in fx["cases"].as_array().unwrap() {
            let got = output_for(&input, &case["decision"]).map_or(Value::Null, |j| j.to_value());
            assert_eq!(got, case["output"], "{name}: {}", case["name"]);
        }
    }
}

#[test]
fn the_allow_echoes_the_input_exactly_and_prints_as_one_line() {
    let fx = fixture("bash");
    let input = parse_input(&fx["input"].to_string()).unwrap();
    let out = output_for(&input, &json!({"status": "allowed", "outcome": "allow"})).unwrap();
    let line = serde_json::to_string(&out).unwrap();
    assert!(!line.contains('\n'));
    // Claude Code's order, and the input's own key order (command before description).
    assert_eq!(
        line,
        r#"{"hookSpecificOutput":{"hookEventName":"PermissionRequest","decision":{"behavior":"allow","updatedInput":{"command":"npm test -- --run src/cart.test.ts","description":"Run the cart tests"}}}}"#
    );
    // An input whose keys are not in sorted order is echoed in its own order.
    let raw = r#"{"hook_event_name":"PermissionRequest","tool_name":"Write","tool_input":{"file_path":"/a","content":"x"}}"#;
    let write = parse_input(raw).unwrap();
    let line =
        serde_json::to_string(&output_for(&write, &json!({"status": "allowed"})).unwrap()).unwrap();
    assert!(
        line.contains(r#""updatedInput":{"file_path":"/a","content":"x"}"#),
        "{line}"
    );
}

#[test]
fn never_an_allow_without_a_decision() {
    let fx = fixture("bash");
    let input = parse_input(&fx["input"].to_string()).unwrap();
    for status in ["pending", "expired", "cancelled", "something-new"] {
        let d = json!({"status": status, "outcome": "allow"});
        assert_eq!(output_for(&input, &d), None, "{status}");
    }
    assert_eq!(output_for(&input, &json!({})), None);
    // A question is never allowed without answers.
    let fx = fixture("ask-user-question");
    let q = parse_input(&fx["input"].to_string()).unwrap();
    assert_eq!(output_for(&q, &json!({"status": "allowed"})), None);
    assert_eq!(
        output_for(&q, &json!({"status": "answered", "answers": {}})),
        None
    );
}

#[test]
fn kinds_follow_the_tool() {
    assert_eq!(kind_for("ExitPlanMode"), PLAN);
    assert_eq!(kind_for("AskUserQuestion"), QUESTION);
    for tool in [
        "Bash",
        "Edit",
        "Write",
        "WebFetch",
        "mcp__github__create_issue",
    ] {
        assert_eq!(kind_for(tool), PERMISSION);
    }
}

#[test]
fn inputs_that_are_not_permission_requests_are_skipped() {
    assert!(parse_input("not json").is_err());
    assert!(parse_input("[]").is_err());
    let pre = json!({"hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_input": {}});
    assert!(parse_input(&pre.to_string()).is_err());
    let no_input = json!({"hook_event_name": "PermissionRequest", "tool_name": "Bash"});
    assert!(parse_input(&no_input.to_string()).is_err());
    // A plan or questions that do not fit are not asked as a bare permission.
    for (tool, tool_input) in [
        ("ExitPlanMode", json!({})),
        ("AskUserQuestion", json!({"questions": []})),
        ("AskUserQuestion", json!({})),
    ] {
        let raw = json!({"hook_event_name": "PermissionRequest", "tool_name": tool, "tool_input": tool_input});
        let input = parse_input(&raw.to_string()).unwrap();
        assert!(request_body(&input, 300).is_err(), "{tool}");
    }
}

#[test]
fn idempotency_keys_are_stable_per_tool_use_and_fresh_otherwise() {
    let mut input = parse_input(&fixture("bash")["input"].to_string()).unwrap();
    let fresh = input.clone();
    assert_eq!(idempotency_key(&input, || "r1".into()), "hook-r1");
    input.tool_use_id = Some("toolu_01".into());
    let a = idempotency_key(&input, || unreachable!());
    assert_eq!(a, idempotency_key(&input, || unreachable!()));
    assert!(a.len() <= 64 && a.starts_with("hook-"));
    input.tool_use_id = Some("toolu_02".into());
    assert_ne!(a, idempotency_key(&input, || unreachable!()));
    assert_ne!(
        idempotency_key(&fresh, || "r1".into()),
        idempotency_key(&fresh, || "r2".into())
    );
}

#[test]
fn answers_map_to_what_ask_user_question_takes() {
    let answers = json!({"a": "X", "b": ["P", "Other: mine"], "c": "Other: free", "d": 3, "e": "Other:tight"});
    let got = answers_for_claude(answers.as_object().unwrap());
    assert_eq!(
        Value::Object(got),
        json!({"a": "X", "b": "P, mine", "c": "free", "e": "tight"})
    );
}

#[test]
fn setup_merge_adds_the_entry_once_and_keeps_everything_else() {
    let before = settings::parse(Some(
        r#"{
  "model": "opus",
  "permissions": {"allow": ["Bash(ls:*)"]},
  "hooks": {
    "PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "audit.sh"}]}],
    "PermissionRequest": [{"matcher": "Edit", "hooks": [{"type": "command", "command": "notify.sh"}]}]
  }
}"#,
    ))
    .unwrap();
    let (merged, changed) = merge(before.clone(), 300).unwrap();
    assert!(changed);
    let text = settings::render(&merged);
    let (before, after) = (before.to_value(), merged.to_value());
    assert_eq!(after["model"], "opus");
    assert_eq!(after["permissions"], before["permissions"]);
    assert_eq!(after["hooks"]["PreToolUse"], before["hooks"]["PreToolUse"]);
    let list = after["hooks"]["PermissionRequest"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0], before["hooks"]["PermissionRequest"][0]);
    assert_eq!(
        list[1],
        json!({"matcher": "*", "hooks": [{"type": "command", "command": "meet-ai hook decide", "timeout": 360}]})
    );
    // Key order is kept: the file reads as before plus our entry.
    assert!(text.find("\"model\"").unwrap() < text.find("\"permissions\"").unwrap());
    assert!(text.find("\"permissions\"").unwrap() < text.find("\"hooks\"").unwrap());
    assert!(text.ends_with("}\n"));

    // Twice: nothing changes, byte for byte.
    let (again, changed) = merge(settings::parse(Some(&text)).unwrap(), 300).unwrap();
    assert!(!changed);
    assert_eq!(settings::render(&again), text);
}

#[test]
fn setup_merge_updates_its_own_entry_and_refuses_odd_files() {
    let (first, _) = merge(settings::parse(None).unwrap(), 300).unwrap();
    let (second, changed) = merge(first, 600).unwrap();
    assert!(changed);
    let second = second.to_value();
    let list = second["hooks"]["PermissionRequest"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(
        list[0]["hooks"][0]["command"],
        "meet-ai hook decide --expires-in 600"
    );
    assert_eq!(list[0]["hooks"][0]["timeout"], 660);
    // The hook always outlives the decision.
    for expiry in [10, 300, 3600] {
        let e = settings::entry(expiry).to_value();
        assert!(e["hooks"][0]["timeout"].as_u64().unwrap() > expiry);
    }
    for odd in [
        "[]",
        r#"{"hooks": []}"#,
        r#"{"hooks": {"PermissionRequest": {}}}"#,
    ] {
        let parsed = settings::parse(Some(odd)).unwrap();
        assert!(merge(parsed, 300).is_err(), "{odd}");
    }
    assert!(settings::parse(Some("{oops")).is_err());
    assert_eq!(settings::parse(Some("  ")).unwrap().to_value(), json!({}));
}
