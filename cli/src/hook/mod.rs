//! Claude Code hooks (issue 17), as pure functions: a `PermissionRequest`
//! hook input into the decision request the CLI posts, and a decided
//! decision into exactly the output Claude Code reads. No I/O here; the
//! command (`commands::hook`) does the network and the signals.
//!
//! The hook contract relied on (Claude Code's hooks reference, pinned in
//! `cli/tests/fixtures/hooks/*.json`):
//! - input on stdin: `{"session_id","transcript_path","cwd","permission_mode",
//!   "hook_event_name":"PermissionRequest","tool_name","tool_input",
//!   "permission_suggestions":[...]}` (`tool_use_id` when present);
//! - output on stdout, exit 0: `{"hookSpecificOutput":{"hookEventName":
//!   "PermissionRequest","decision":{"behavior":"allow","updatedInput":{...},
//!   "updatedPermissions":[...]}}}` or `{"behavior":"deny","message":"..."}`;
//! - no output and exit 0: the hook does not decide, Claude Code asks as usual.
//! - AskUserQuestion is allowed with `updatedInput` = its input plus
//!   `"answers": {"<question text>": "<label>"}` (several labels joined by ", ").

pub mod ordered;
pub mod settings;
#[cfg(test)]
mod tests;

use serde_json::{json, Map, Value};

use ordered::Json;

/// The decision kinds of the contract.
pub const PERMISSION: &str = "permission";
pub const PLAN: &str = "plan";
pub const QUESTION: &str = "question";

/// What Claude Code sent, reduced to what a decision needs.
#[derive(Debug, Clone, PartialEq)]
pub struct HookInput {
    pub tool_name: String,
    pub tool_input: Value,
    /// `tool_input` with its keys in Claude Code's order, echoed back as is.
    pub tool_input_ordered: Json,
    pub suggestions: Vec<Value>,
    pub session_id: Option<String>,
    pub tool_use_id: Option<String>,
}

/// Why no request is made (the hook then prints nothing and exits 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skip(pub String);

/// Reads the hook input. Anything but a well-formed `PermissionRequest`
/// is skipped: Claude Code's own prompt decides.
pub fn parse_input(raw: &str) -> Result<HookInput, Skip> {
    let value: Value =
        serde_json::from_str(raw).map_err(|e| Skip(format!("the hook input is not JSON ({e})")))?;
    let obj = value
        .as_object()
        .ok_or_else(|| Skip("the hook input is not a JSON object".into()))?;
    let event = obj.get("hook_event_name").and_then(Value::as_str);
    if event != Some("PermissionRequest") {
        return Err(Skip(format!(
            "`hook decide` answers PermissionRequest hooks, not {}",
            event.unwrap_or("an input without hook_event_name")
        )));
    }
    let tool_name = obj
        .get("tool_name")
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| Skip("the hook input has no tool_name".into()))?
        .to_owned();
    let tool_input = match obj.get("tool_input") {
        Some(v @ Value::Object(_)) => v.clone(),
        _ => return Err(Skip("the hook input has no tool_input object".into())),
    };
    let suggestions = match obj.get("permission_suggestions") {
        Some(Value::Array(items)) => items.iter().filter(|s| s.is_object()).cloned().collect(),
        _ => Vec::new(),
    };
    let text = |k: &str| obj.get(k).and_then(Value::as_str).map(str::to_owned);
    let tool_input_ordered = serde_json::from_str::<Json>(raw)
        .ok()
        .and_then(|all| all.get("tool_input").cloned())
        .unwrap_or_else(|| Json::from(&tool_input));
    Ok(HookInput {
        tool_name,
        tool_input,
        tool_input_ordered,
        suggestions,
        session_id: text("session_id"),
        tool_use_id: text("tool_use_id"),
    })
}

/// The decision kind for a tool.
pub fn kind_for(tool_name: &str) -> &'static str {
    match tool_name {
        "ExitPlanMode" => PLAN,
        "AskUserQuestion" => QUESTION,
        _ => PERMISSION,
    }
}

/// `POST /api/rooms/:id/decisions` body. The tool and its whole input always
/// go along (the card shows them); a plan or questions that do not fit their
/// kind are skipped rather than asked as a plain permission (allowing a
/// question without answers would answer it with nothing).
pub fn request_body(input: &HookInput, expires_in: u64) -> Result<Value, Skip> {
    let kind = kind_for(&input.tool_name);
    let mut body = json!({
        "kind": kind,
        "tool_name": input.tool_name,
        "tool_input": input.tool_input,
        "expires_in": expires_in,
    });
    match kind {
        PLAN => {
            let plan = input
                .tool_input
                .get("plan")
                .and_then(Value::as_str)
                .ok_or_else(|| Skip("ExitPlanMode without a plan".into()))?;
            body["plan"] = json!(plan);
        }
        QUESTION => {
            let questions = input
                .tool_input
                .get("questions")
                .filter(|q| q.as_array().is_some_and(|a| !a.is_empty()))
                .ok_or_else(|| Skip("AskUserQuestion without questions".into()))?;
            body["questions"] = questions.clone();
        }
        _ => {}
    }
    if !input.suggestions.is_empty() {
        body["suggestions"] = Value::Array(input.suggestions.clone());
    }
    Ok(body)
}

/// The Idempotency-Key: stable for one tool use when Claude Code names it
/// (`tool_use_id`), so a hook run twice for the same prompt meets the same
/// request; otherwise fresh for this run (retries of the one POST reuse it).
/// A hash of the input alone would be wrong: running `npm test` twice must
/// ask twice.
pub fn idempotency_key(input: &HookInput, fresh: impl FnOnce() -> String) -> String {
    match (&input.session_id, &input.tool_use_id) {
        (Some(session), Some(tool_use)) => {
            let text = format!("{session}\n{tool_use}");
            format!(
                "hook-{:016x}{:016x}",
                fnv1a(text.as_bytes(), 0xcbf2_9ce4_8422_2325),
                fnv1a(text.as_bytes(), 0x8422_2325_cbf2_9ce4)
            )
        }
        _ => format!("hook-{}", fresh()),
    }
}

fn fnv1a(bytes: &[u8], seed: u64) -> u64 {
    bytes.iter().fold(seed, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Whether a decision (the server's JSON) is still open.
pub fn is_pending(decision: &Value) -> bool {
    decision.get("status").and_then(Value::as_str) == Some("pending")
}

/// What Claude Code gets for a decision: `None` while pending, and for
/// expired or cancelled ones (never an allow on a timeout). `input` is the
/// hook input as Claude Code sent it, echoed back in `updatedInput` with its
/// keys in their order.
pub fn output_for(input: &HookInput, decision: &Value) -> Option<Json> {
    let verdict = match decision.get("status").and_then(Value::as_str)? {
        "allowed" if kind_for(&input.tool_name) == QUESTION => answered(input, decision)?,
        "allowed" => allow(input, decision),
        "answered" => answered(input, decision)?,
        "denied" => deny(decision),
        // pending, expired, cancelled, anything newer: no say.
        _ => return None,
    };
    Some(object(vec![(
        "hookSpecificOutput",
        object(vec![
            ("hookEventName", Json::String("PermissionRequest".into())),
            ("decision", verdict),
        ]),
    )]))
}

fn object(entries: Vec<(&str, Json)>) -> Json {
    Json::Object(
        entries
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
    )
}

fn allow(input: &HookInput, decision: &Value) -> Json {
    let mut verdict = vec![
        ("behavior", Json::String("allow".into())),
        ("updatedInput", input.tool_input_ordered.clone()),
    ];
    if let Some(chosen) = decision.get("suggestion").filter(|s| s.is_object()) {
        verdict.push(("updatedPermissions", Json::Array(vec![Json::from(chosen)])));
    }
    object(verdict)
}

fn deny(decision: &Value) -> Json {
    let feedback = decision
        .get("feedback")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|f| !f.is_empty());
    let who = decision
        .get("decided_by")
        .and_then(Value::as_str)
        .unwrap_or("a person");
    let message = match feedback {
        Some(text) => text.to_owned(),
        None => format!("Denied by {who} in the meet-ai room."),
    };
    object(vec![
        ("behavior", Json::String("deny".into())),
        ("message", Json::String(message)),
    ])
}

fn answered(input: &HookInput, decision: &Value) -> Option<Json> {
    let answers = decision.get("answers")?.as_object()?;
    if answers.is_empty() {
        return None;
    }
    let mut updated = match &input.tool_input_ordered {
        obj @ Json::Object(_) => obj.clone(),
        _ => Json::Object(Vec::new()),
    };
    let answers = Json::from(&Value::Object(answers_for_claude(answers)));
    if let Some(slot) = updated.entry("answers", || Json::Null) {
        *slot = answers;
    }
    Some(object(vec![
        ("behavior", Json::String("allow".into())),
        ("updatedInput", updated),
    ]))
}

/// The room's answers as AskUserQuestion takes them: one string per
/// question; several labels joined with ", "; free text without the
/// `Other:` marker the room uses.
pub fn answers_for_claude(answers: &Map<String, Value>) -> Map<String, Value> {
    answers
        .iter()
        .filter_map(|(question, answer)| {
            let text = match answer {
                Value::String(s) => strip_other(s),
                Value::Array(items) => items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(strip_other)
                    .collect::<Vec<_>>()
                    .join(", "),
                _ => return None,
            };
            Some((question.clone(), Value::String(text)))
        })
        .collect()
}

fn strip_other(answer: &str) -> String {
    answer
        .strip_prefix("Other:")
        .unwrap_or(answer)
        .trim()
        .to_owned()
}
