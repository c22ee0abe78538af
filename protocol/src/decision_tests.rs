use serde_json::json;

use super::*;

fn new(body: Value) -> Result<NewDecision, DecisionError> {
    NewDecision::from_json(body.to_string().as_bytes())
}

fn answer(body: Value) -> Result<Answer, DecisionError> {
    Answer::from_json(body.to_string().as_bytes())
}

fn question_request() -> DecisionRequest {
    new(json!({"kind": "question", "questions": [
        {"question": "Which db?", "header": "DB", "multiSelect": false,
         "options": [{"label": "sqlite", "description": "small"}, {"label": "postgres"}]},
        {"question": "Which extras?", "multiSelect": true,
         "options": [{"label": "auth"}, {"label": "cache"}, {"label": "logs"}]}
    ]}))
    .unwrap()
    .request
}

#[test]
fn requests_must_fit_their_kind() {
    let p = new(json!({"kind": "permission", "tool_name": " Bash ",
        "tool_input": {"command": "npm test"}, "suggestions": [{"type": "addRules"}]}))
    .unwrap();
    assert_eq!(p.kind, DecisionKind::Permission);
    assert_eq!(p.expires_in, DEFAULT_EXPIRY_SECS);
    assert_eq!(p.request.tool_name.as_deref(), Some("Bash"));
    assert_eq!(p.request.suggestions.unwrap().len(), 1);
    let plan = new(json!({"kind": "plan", "plan": "# do it", "expires_in": 1})).unwrap();
    assert_eq!(plan.expires_in, 1);
    assert_eq!(question_request().questions.unwrap().len(), 2);

    for bad in [
        json!({"kind": "permission", "tool_name": "Bash"}),
        json!({"kind": "permission", "tool_input": {}}),
        json!({"kind": "permission", "tool_name": "Bash", "tool_input": "rm -rf"}),
        json!({"kind": "permission", "tool_name": " ", "tool_input": {}}),
        json!({"kind": "plan"}),
        json!({"kind": "plan", "plan": "  "}),
        json!({"kind": "plan", "plan": 3}),
        json!({"kind": "question"}),
        json!({"kind": "question", "questions": []}),
        json!({"kind": "question", "questions": [{"question": "q", "options": [{"label": "a"}]}]}),
        json!({"kind": "question", "questions": [{"question": "q",
            "options": [{"label": "a"}, {"label": "a"}]}]}),
        json!({"kind": "question", "questions": [{"question": "", "options": [{"label": "a"}, {"label": "b"}]}]}),
        json!({"kind": "permission", "tool_name": "Bash", "tool_input": {}, "plan": "x"}),
        json!({"kind": "plan", "plan": "x", "expires_in": 0}),
        json!({"kind": "plan", "plan": "x", "expires_in": 3601}),
        json!({"kind": "vote"}),
        json!({"plan": "x"}),
    ] {
        let err = new(bad.clone()).unwrap_err();
        assert_eq!(err.code(), ErrorCode::BadRequest, "{bad}: {err}");
    }
    let five: Vec<Value> = (0..5)
        .map(|i| json!({"question": format!("q{i}"), "options": [{"label": "a"}, {"label": "b"}]}))
        .collect();
    assert!(new(json!({"kind": "question", "questions": five})).is_err());
    assert!(NewDecision::from_json(b"[1]").is_err());
}

#[test]
fn a_whole_tool_input_is_kept() {
    let long = "x".repeat(100_000);
    let p = new(json!({"kind": "permission", "tool_name": "Bash",
        "tool_input": {"command": long.clone()}}))
    .unwrap();
    assert_eq!(p.request.tool_input.unwrap()["command"], long);
    let huge = vec![b' '; MAX_BODY_BYTES + 1];
    assert_eq!(
        NewDecision::from_json(&huge).unwrap_err().code(),
        ErrorCode::PayloadTooLarge
    );
}

#[test]
fn permission_answers_fit_outcomes_and_offered_suggestions() {
    let req = DecisionRequest {
        tool_name: Some("Bash".into()),
        tool_input: Some(json!({"command": "ls"})),
        suggestions: Some(vec![
            json!({"type": "addRules", "rules": [{"toolName": "Bash"}]}),
        ]),
        ..DecisionRequest::default()
    };
    let kind = DecisionKind::Permission;
    let allow = answer(json!({"outcome": "allow", "feedback": "ok"}))
        .unwrap()
        .fit(kind, &req)
        .unwrap();
    assert_eq!(allow.status(kind), DecisionStatus::Allowed);
    let deny = answer(json!({"outcome": "deny"}))
        .unwrap()
        .fit(kind, &req)
        .unwrap();
    assert_eq!(deny.status(kind), DecisionStatus::Denied);
    let always = answer(json!({"outcome": "allow",
        "suggestion": {"rules": [{"toolName": "Bash"}], "type": "addRules"}}))
    .unwrap()
    .fit(kind, &req)
    .unwrap();
    assert!(
        always.suggestion.is_some(),
        "JSON-equal, whatever the key order"
    );
    for unfit in [
        json!({"outcome": "allow", "suggestion": {"type": "setMode"}}),
        json!({"outcome": "deny", "suggestion": req.suggestions.as_ref().unwrap()[0]}),
        json!({"outcome": "allow", "answers": {"q": "a"}}),
        json!({"answers": {"q": "a"}}),
    ] {
        let err = answer(unfit.clone()).unwrap().fit(kind, &req).unwrap_err();
        assert_eq!(err.code(), ErrorCode::Unprocessable, "{unfit}");
    }
    for bad in [
        json!({}),
        json!({"outcome": "maybe"}),
        json!({"outcome": "allow", "feedback": "x".repeat(MAX_FEEDBACK_CHARS + 1)}),
    ] {
        assert_eq!(answer(bad).unwrap_err().code(), ErrorCode::BadRequest);
    }
}

#[test]
fn question_answers_must_use_offered_labels() {
    let req = question_request();
    let kind = DecisionKind::Question;
    let fit = |body: Value| answer(body).unwrap().fit(kind, &req);
    let ok = fit(json!({"answers": {"Which db?": "sqlite", "Which extras?": ["auth", "logs"]}}))
        .unwrap();
    assert_eq!(ok.status(kind), DecisionStatus::Answered);
    assert_eq!(ok.outcome, Some(Outcome::Allow));
    // One label for a single choice may come as a list of one; a multiple
    // choice may come as one string; free text as "Other: ...".
    let normalized =
        fit(json!({"answers": {"Which db?": ["Other: duckdb"], "Which extras?": "cache"}}))
            .unwrap();
    let answers = normalized.answers.unwrap();
    assert_eq!(
        answers["Which db?"],
        AnswerValue::One("Other: duckdb".into())
    );
    assert_eq!(
        answers["Which extras?"],
        AnswerValue::Many(vec!["cache".into()])
    );
    for unfit in [
        json!({"answers": {"Which db?": "mysql", "Which extras?": ["auth"]}}),
        json!({"answers": {"Which db?": "sqlite"}}),
        json!({"answers": {"Which db?": ["sqlite", "postgres"], "Which extras?": ["auth"]}}),
        json!({"answers": {"Which db?": "sqlite", "Which extras?": []}}),
        json!({"answers": {"Which db?": "sqlite", "Which extras?": ["auth", "auth"]}}),
        json!({"answers": {"Which db?": "Other:  ", "Which extras?": ["auth"]}}),
        json!({"answers": {"Which db?": "sqlite", "Which extras?": ["auth"], "Why?": "x"}}),
        json!({"outcome": "allow", "answers": {"Which db?": "sqlite", "Which extras?": "auth"}}),
        json!({"outcome": "deny"}),
    ] {
        let err = fit(unfit.clone()).unwrap_err();
        assert_eq!(err.code(), ErrorCode::Unprocessable, "{unfit}");
    }
}

#[test]
fn rows_read_as_decisions_with_expiry_computed() {
    let row = DecisionRow {
        id: "d".into(),
        room_id: "r".into(),
        key_id: "k".into(),
        requester_member_id: Some("m".into()),
        requester: "claude".into(),
        kind: DecisionKind::Permission,
        request: json!({"tool_name": "Bash", "tool_input": {"command": "npm test"}}).to_string(),
        status: "pending".into(),
        answer: None,
        decided_by: None,
        decided_at_s: None,
        created_at_s: 1000,
        expires_at_s: 1300,
    };
    let d = row.to_decision(1299);
    assert_eq!(d.status, DecisionStatus::Pending);
    assert!(d.requester_verified);
    assert_eq!(d.expires_at, "1970-01-01T00:21:40.000Z");
    assert_eq!(summary(&d), "claude asks to run Bash: `npm test`");
    assert_eq!(row.to_decision(1300).status, DecisionStatus::Expired);
    let json = serde_json::to_value(&d).unwrap();
    for field in [
        "outcome",
        "answers",
        "feedback",
        "suggestion",
        "decided_by",
        "plan",
    ] {
        assert!(json[field].is_null(), "{field} is null, present");
        assert!(json.get(field).is_some());
    }
    assert_eq!(json["expires_at_s"], 1300);
    let answered = DecisionRow {
        status: "allowed".into(),
        answer: Some(json!({"outcome": "allow", "feedback": "go"}).to_string()),
        decided_by: Some("ada".into()),
        decided_at_s: Some(1100),
        ..row
    };
    let d = answered.to_decision(5000);
    assert_eq!(d.status, DecisionStatus::Allowed, "settled never expires");
    assert_eq!(d.outcome, Some(Outcome::Allow));
    assert_eq!(d.feedback.as_deref(), Some("go"));
    assert_eq!(summary(&d), "ada allowed claude to run Bash: `npm test`");
    let back: Decision = serde_json::from_value(serde_json::to_value(&d).unwrap()).unwrap();
    assert_eq!(back, d);
}
