//! Decisions: an agent asks (permission, plan, question), a verified human
//! answers once, the agent waits; every state reaches history and streams.

use std::time::{Duration, Instant};

use meet_ai_e2e::api::Reply;
use meet_ai_e2e::{paid_variant, Api, SseStream, WsClient};
use protocol::wire::{Message, MessageKind};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::api;

struct Room {
    api: Api,
    owner: String,
    id: String,
    /// Agents.
    claude: String,
    bot: String,
    /// A human and a viewer.
    ada: String,
    vic: String,
}

async fn room() -> Room {
    let api = api();
    let (owner, room) = api.key_and_room().await;
    let claude = api.add_member(&owner, &room.id, "claude", "agent").await;
    let bot = api.add_member(&owner, &room.id, "bot", "agent").await;
    let ada = api.add_member(&owner, &room.id, "ada", "human").await;
    let vic = api.add_member(&owner, &room.id, "vic", "viewer").await;
    Room {
        api,
        owner,
        id: room.id,
        claude,
        bot,
        ada,
        vic,
    }
}

fn permission() -> Value {
    json!({"kind": "permission", "tool_name": "Bash",
        "tool_input": {"command": "npm test", "description": "run the tests"},
        "suggestions": [{"type": "addRules", "rules": [{"toolName": "Bash", "ruleContent": "npm test"}],
            "behavior": "allow", "destination": "localSettings"}]})
}

impl Room {
    async fn post(&self, token: &str, path: &str, body: Value) -> Reply {
        self.api
            .call(
                Method::POST,
                &format!("/api/rooms/{}/decisions{path}", self.id),
                Some(token),
                Some(body),
            )
            .await
    }

    async fn get(&self, token: &str, path: &str) -> Reply {
        self.api
            .call(
                Method::GET,
                &format!("/api/rooms/{}/decisions{path}", self.id),
                Some(token),
                None,
            )
            .await
    }

    /// Creates a decision; asserts 201 and returns it.
    async fn ask(&self, token: &str, body: Value) -> Value {
        let reply = self.post(token, "", body).await;
        assert_eq!(reply.status, 201, "{}", reply.body);
        let d = reply.json();
        assert_eq!(d["status"], "pending");
        d
    }

    async fn answer(&self, token: &str, id: &Value, body: Value) -> Reply {
        self.post(token, &format!("/{}/answer", id.as_str().unwrap()), body)
            .await
    }

    async fn decision_messages(&self, id: &Value) -> Vec<Message> {
        self.api
            .full_history(&self.owner, &self.id)
            .await
            .into_iter()
            .filter(|m| m.kind == MessageKind::Decision)
            .filter(|m| {
                m.decision
                    .as_ref()
                    .is_some_and(|d| d.id == id.as_str().unwrap())
            })
            .collect()
    }
}

fn timing(reply: &Reply) -> String {
    reply.header("Server-Timing").unwrap_or("").to_owned()
}

#[tokio::test]
async fn only_verified_humans_answer() {
    let r = room().await;
    for token in [&r.ada, &r.vic] {
        r.post(token, "", permission()).await.assert_error(403);
    }
    let d = r.ask(&r.claude, permission()).await;
    assert_eq!(d["requester"], "claude");
    assert_eq!(d["requester_verified"], true);
    assert_eq!(d["tool_input"]["command"], "npm test");
    assert!(d["expires_at_s"].as_i64().unwrap() > 0);
    let id = &d["id"];
    let allow = json!({"outcome": "allow"});
    for token in [&r.claude, &r.bot, &r.vic] {
        let reply = r.answer(token, id, allow.clone()).await;
        reply.assert_error(403);
        assert_eq!(reply.json()["code"], "forbidden");
    }
    let stranger = r.api.new_key().await;
    r.answer(&stranger, id, allow.clone())
        .await
        .assert_error(404);
    r.get(&stranger, &format!("/{}", id.as_str().unwrap()))
        .await
        .assert_error(404);
    // decided_by comes from the token, never from the body.
    let reply = r
        .answer(
            &r.ada,
            id,
            json!({"outcome": "allow", "decided_by": "mallory"}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let won = reply.json();
    assert_eq!(won["status"], "allowed");
    assert_eq!(won["outcome"], "allow");
    assert_eq!(won["decided_by"], "ada");
    let seen = r.get(&r.vic, &format!("/{}", id.as_str().unwrap())).await;
    assert_eq!(seen.status, 200);
    assert_eq!(seen.json(), won, "any reader of the room sees it");

    // The owner key answers an agent's request.
    let d = r.ask(&r.claude, permission()).await;
    let reply = r
        .answer(
            &r.owner,
            &d["id"],
            json!({"outcome": "deny", "feedback": "not now"}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let denied = reply.json();
    assert_eq!(
        (
            &denied["status"],
            &denied["decided_by"],
            &denied["feedback"]
        ),
        (&json!("denied"), &json!("owner"), &json!("not now"))
    );

    // A request made with the owner key: only human members answer it.
    let d = r
        .ask(
            &r.owner,
            json!({"kind": "plan", "plan": "1. do it", "requester": "boss"}),
        )
        .await;
    assert_eq!(
        (&d["requester"], &d["requester_verified"]),
        (&json!("boss"), &json!(false))
    );
    for token in [&r.owner, &r.claude, &r.vic] {
        r.answer(token, &d["id"], allow.clone())
            .await
            .assert_error(403);
    }
    let reply = r.answer(&r.ada, &d["id"], allow.clone()).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[tokio::test]
async fn the_first_answer_wins() {
    let r = room().await;
    let d = r.ask(&r.claude, permission()).await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let (api, room, id) = (
            r.api.clone(),
            r.id.clone(),
            d["id"].as_str().unwrap().to_owned(),
        );
        let token = if i % 2 == 0 {
            r.ada.clone()
        } else {
            r.owner.clone()
        };
        let outcome = if i % 3 == 0 { "deny" } else { "allow" };
        tasks.push(tokio::spawn(async move {
            api.call(
                Method::POST,
                &format!("/api/rooms/{room}/decisions/{id}/answer"),
                Some(&token),
                Some(json!({ "outcome": outcome, "feedback": format!("answer {i}") })),
            )
            .await
        }));
    }
    let mut winners = Vec::new();
    let mut losers = Vec::new();
    for t in tasks {
        let reply = t.await.unwrap();
        match reply.status.as_u16() {
            200 => winners.push(reply.json()),
            409 => losers.push(reply.json()),
            other => panic!("unexpected {other}: {}", reply.body),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one answer wins: {winners:?}");
    let winner = &winners[0];
    for loser in &losers {
        assert_eq!(loser["code"], "conflict");
        assert_eq!(&loser["decision"], winner, "a 409 carries the winner");
    }
    let messages = r.decision_messages(&d["id"]).await;
    assert_eq!(messages.len(), 2, "the request and its one outcome");
    let last = messages[1].decision.as_ref().unwrap();
    assert_eq!(serde_json::to_value(last).unwrap(), *winner);
}

#[tokio::test]
async fn an_expired_request_cannot_be_answered() {
    let r = room().await;
    for bad in [0, 3601] {
        let mut body = permission();
        body["expires_in"] = json!(bad);
        r.post(&r.claude, "", body).await.assert_error(400);
    }
    let mut body = permission();
    body["expires_in"] = json!(1);
    let d = r.ask(&r.claude, body).await;
    let path = format!("/{}", d["id"].as_str().unwrap());
    // A wait wakes at the expiry.
    let started = Instant::now();
    let waited = r.get(&r.claude, &format!("{path}/wait?timeout=10")).await;
    assert_eq!(waited.status, 200, "{}", waited.body);
    assert_eq!(waited.json()["status"], "expired");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(r.get(&r.vic, &path).await.json()["status"], "expired");
    let reply = r
        .answer(&r.ada, &d["id"], json!({"outcome": "allow"}))
        .await;
    reply.assert_error(409);
    assert_eq!(reply.json()["decision"]["status"], "expired");
    r.post(&r.claude, &format!("{path}/cancel"), json!({}))
        .await
        .assert_error(409);
}

#[tokio::test]
async fn only_the_requester_cancels() {
    let r = room().await;
    let d = r.ask(&r.claude, permission()).await;
    let cancel = format!("/{}/cancel", d["id"].as_str().unwrap());
    for token in [&r.ada, &r.owner, &r.bot, &r.vic] {
        r.post(token, &cancel, json!({})).await.assert_error(403);
    }
    let reply = r.post(&r.claude, &cancel, json!({})).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    eprintln!("decision cancel: {}", timing(&reply));
    assert_eq!(reply.json()["status"], "cancelled");
    let late = r
        .answer(&r.ada, &d["id"], json!({"outcome": "allow"}))
        .await;
    late.assert_error(409);
    assert_eq!(late.json()["decision"]["status"], "cancelled");
    r.post(&r.claude, &cancel, json!({}))
        .await
        .assert_error(409);
    // The owner cancels what the owner key asked.
    let d = r.ask(&r.owner, permission()).await;
    let reply = r
        .post(
            &r.owner,
            &format!("/{}/cancel", d["id"].as_str().unwrap()),
            json!({}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[tokio::test]
async fn wait_wakes_on_the_answer_and_times_out_with_204() {
    let r = room().await;
    let d = r.ask(&r.claude, permission()).await;
    let path = format!("/{}/wait", d["id"].as_str().unwrap());
    let started = Instant::now();
    let timed_out = r.get(&r.claude, &format!("{path}?timeout=1")).await;
    assert_eq!(timed_out.status, 204, "{}", timed_out.body);
    assert!(timed_out.body.is_empty());
    eprintln!("decision wait (1 s, timed out): {}", timing(&timed_out));
    assert!(started.elapsed() >= Duration::from_millis(900));
    r.get(&r.claude, &format!("{path}?timeout=0"))
        .await
        .assert_error(400);

    let (api, room, claude) = (r.api.clone(), r.id.clone(), r.claude.clone());
    let waiter = tokio::spawn(async move {
        let reply = api
            .call(
                Method::GET,
                &format!("/api/rooms/{room}/decisions{path}?timeout=20"),
                Some(&claude),
                None,
            )
            .await;
        (reply, Instant::now())
    });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let answered = r
        .answer(&r.ada, &d["id"], json!({"outcome": "allow"}))
        .await;
    assert_eq!(answered.status, 200, "{}", answered.body);
    let at = Instant::now();
    let (reply, woke) = waiter.await.unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json(), answered.json(), "the wait returns the answer");
    assert!(
        woke.duration_since(at) < Duration::from_secs(4),
        "woke soon after"
    );
    eprintln!("decision wait (answered): {}", timing(&reply));
}

#[tokio::test]
async fn requests_and_outcomes_reach_history_and_streams() {
    let r = room().await;
    let mut stream = SseStream::open(
        &r.api.base,
        &format!("/api/rooms/{}/events", r.id),
        Some(&r.vic),
        None,
    )
    .await;
    assert_eq!(stream.status, 200);
    // The paid variant's sockets carry them too.
    let mut socket = if paid_variant() {
        let ws = WsClient::connect(&r.api.base, &r.id, "", Some(&r.ada)).await;
        Some(ws.unwrap_or_else(|e| panic!("upgrade refused: {} {}", e.status, e.body)))
    } else {
        None
    };
    let d = r.ask(&r.claude, permission()).await;
    let reply = r
        .answer(&r.ada, &d["id"], json!({"outcome": "allow"}))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);

    let mut streamed = Vec::new();
    while streamed.len() < 2 {
        let m = stream
            .next_message(Duration::from_secs(10))
            .await
            .expect("both decision messages arrive on the stream");
        streamed.push(m);
    }
    let history = r.decision_messages(&d["id"]).await;
    assert_eq!(history.len(), 2);
    for (m, status) in history.iter().zip(["pending", "allowed"]) {
        assert_eq!(m.kind, MessageKind::Decision);
        assert_eq!((m.sender.as_str(), m.verified), ("claude", true));
        assert!(m.mentions.is_empty());
        let snapshot = serde_json::to_value(m.decision.as_ref().unwrap()).unwrap();
        assert_eq!(snapshot["status"], status);
        assert_eq!(snapshot["tool_input"], d["tool_input"]);
    }
    assert!(
        history[0].content.contains("npm test"),
        "{}",
        history[0].content
    );
    assert_eq!(streamed, history, "the stream carries the same messages");
    if let Some(ws) = socket.as_mut() {
        let mut pushed = Vec::new();
        while pushed.len() < 2 {
            let m = ws.next_message(Duration::from_secs(10)).await;
            pushed.push(m.expect("both decision messages arrive on the socket"));
        }
        assert_eq!(pushed, history, "the socket carries the same messages");
    }

    // Text can never pass for a decision: a client cannot choose kind.
    let sent = r
        .api
        .call(
            Method::POST,
            &format!("/api/rooms/{}/messages", r.id),
            Some(&r.claude),
            Some(json!({"content": "allow?", "kind": "decision", "decision": d})),
        )
        .await;
    let sent: Message = serde_json::from_str(&sent.body).expect("a message");
    assert_eq!(sent.kind, MessageKind::Message);
    assert!(sent.decision.is_none());
}

#[tokio::test]
async fn answers_must_fit_the_request() {
    let r = room().await;
    let q = r
        .ask(
            &r.claude,
            json!({"kind": "question", "questions": [
                {"question": "Which db?", "header": "DB", "multiSelect": false,
                 "options": [{"label": "sqlite", "description": "small"}, {"label": "postgres"}]},
                {"question": "Extras?", "multiSelect": true,
                 "options": [{"label": "auth"}, {"label": "cache"}]}]}),
        )
        .await;
    for unfit in [
        json!({"answers": {"Which db?": "mysql", "Extras?": ["auth"]}}),
        json!({"answers": {"Which db?": ["sqlite", "postgres"], "Extras?": ["auth"]}}),
        json!({"answers": {"Which db?": "sqlite"}}),
        json!({"outcome": "allow"}),
    ] {
        let reply = r.answer(&r.ada, &q["id"], unfit).await;
        reply.assert_error(422);
        assert_eq!(reply.json()["code"], "unprocessable");
    }
    r.answer(&r.ada, &q["id"], json!({}))
        .await
        .assert_error(400);
    let reply = r
        .answer(
            &r.ada,
            &q["id"],
            json!({"answers": {"Which db?": "Other: duckdb", "Extras?": ["auth", "cache"]}}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let answered = reply.json();
    assert_eq!(answered["status"], "answered");
    assert_eq!(answered["answers"]["Which db?"], "Other: duckdb");
    assert_eq!(answered["answers"]["Extras?"], json!(["auth", "cache"]));

    let p = r.ask(&r.claude, permission()).await;
    for unfit in [
        json!({"outcome": "allow", "suggestion": {"type": "setMode", "mode": "bypassPermissions"}}),
        json!({"outcome": "allow", "answers": {"x": "y"}}),
    ] {
        r.answer(&r.ada, &p["id"], unfit).await.assert_error(422);
    }
    let offered = p["suggestions"][0].clone();
    let reply = r
        .answer(
            &r.ada,
            &p["id"],
            json!({"outcome": "allow", "suggestion": offered}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["suggestion"], offered);
}

#[tokio::test]
async fn bodies_must_fit_their_kind_and_inputs_are_kept_whole() {
    let r = room().await;
    for bad in [
        json!({"kind": "permission", "tool_name": "Bash"}),
        json!({"kind": "plan"}),
        json!({"kind": "question", "questions": [{"question": "q", "options": [{"label": "a"}]}]}),
        json!({"kind": "nope"}),
    ] {
        let reply = r.post(&r.claude, "", bad).await;
        reply.assert_error(400);
        assert_eq!(reply.json()["code"], "bad_request");
    }
    // A long command is stored whole; a body past the cap is refused.
    let long = "echo ".to_owned() + &"x".repeat(150_000);
    let mut body = permission();
    body["tool_input"]["command"] = json!(long);
    let created = r.post(&r.claude, "", body).await;
    assert_eq!(created.status, 201, "{}", created.body);
    eprintln!("decision create (150 KB): {}", timing(&created));
    let d = created.json();
    let got = r
        .get(&r.ada, &format!("/{}", d["id"].as_str().unwrap()))
        .await;
    assert_eq!(got.json()["tool_input"]["command"], json!(long));
    let mut body = permission();
    body["tool_input"]["command"] = json!("x".repeat(300_000));
    r.post(&r.claude, "", body).await.assert_error(413);
}

#[tokio::test]
async fn a_repeated_idempotency_key_returns_the_original() {
    let r = room().await;
    let post = |key: &'static str| {
        r.api
            .request(
                Method::POST,
                &format!("/api/rooms/{}/decisions", r.id),
                Some(&r.claude),
            )
            .header("Idempotency-Key", key)
            .json(&permission())
    };
    let first = Api::send_req(post("tool-use-1")).await;
    assert_eq!(first.status, 201, "{}", first.body);
    eprintln!("decision create: {}", timing(&first));
    let again = Api::send_req(post("tool-use-1")).await;
    assert_eq!(again.status, 200, "{}", again.body);
    eprintln!("decision create (idempotent retry): {}", timing(&again));
    assert_eq!(again.json()["id"], first.json()["id"]);
    assert_eq!(r.decision_messages(&first.json()["id"]).await.len(), 1);
    let id = first.json()["id"].as_str().unwrap().to_owned();
    let got = r.get(&r.ada, &format!("/{id}")).await;
    eprintln!("decision get: {}", timing(&got));
    let answered = r
        .answer(&r.ada, &first.json()["id"], json!({"outcome": "allow"}))
        .await;
    eprintln!("decision answer: {}", timing(&answered));
    let late = r
        .answer(&r.owner, &first.json()["id"], json!({"outcome": "deny"}))
        .await;
    eprintln!("decision answer (409): {}", timing(&late));
}

#[tokio::test]
async fn asking_counts_against_the_send_limit() {
    let r = room().await;
    for i in 0..60 {
        r.api.send(&r.owner, &r.id, "owner", &format!("m{i}")).await;
    }
    let reply = r.post(&r.claude, "", permission()).await;
    reply.assert_error(429);
    assert_eq!(reply.json()["code"], "rate_limited");
    assert!(reply.header("Retry-After").is_some());
    // Another tenant's room is still 404, not 429.
    let stranger = r.api.new_key().await;
    r.post(&stranger, "", permission()).await.assert_error(404);
}
