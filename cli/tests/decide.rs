//! Black-box tests of `meet-ai hook decide` against the real Worker (issue
//! 17): the built binary is fed a Claude Code PermissionRequest
//! (cli/tests/fixtures/hooks/*.json) as the agent's member token; a human
//! member answers over HTTP; stdout must be exactly Claude Code's decision.
//! Skipped (with a note) on a server without the decisions API.

mod common;

use std::io::Write;
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;
use meet_ai_e2e::{Api, Server};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn base() -> String {
    Server::shared().base.clone()
}

fn api() -> Api {
    Api::new(&base())
}

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/hooks/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A room with an agent and a human member: (room id, agent token, human
/// token), or None when the server has no decisions API.
async fn room() -> Option<(String, String, String)> {
    let api = api();
    let (key, room) = api.key_and_room().await;
    let agent = api.add_member(&key, &room.id, "claude", "agent").await;
    let human = api.add_member(&key, &room.id, "ada", "human").await;
    // An empty body: a server with decisions refuses it (400), one
    // without has no such route (404 or 405).
    let path = format!("/api/rooms/{}/decisions", room.id);
    let probe = Api::send_req(
        api.request(Method::POST, &path, Some(&agent))
            .json(&json!({})),
    )
    .await;
    if matches!(probe.status.as_u16(), 404 | 405) {
        eprintln!("skipped: this server has no decisions API");
        return None;
    }
    Some((room.id, agent, human))
}

/// Starts `meet-ai hook decide` with the hook input on stdin.
fn start(room: &str, token: &str, input: &Value, extra: &[&str]) -> (Cli, Child) {
    let cli = Cli::new(&base(), Some(token));
    let mut args = vec!["hook", "decide"];
    args.extend_from_slice(extra);
    let mut cmd = cli.command(&args);
    cmd.env("MEET_AI_ROOM", room)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn meet-ai");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    (cli, child)
}

/// Waits for the process in a thread (killed after 120 s).
async fn finish(child: Child) -> Output {
    let pid = child.id();
    let waiter = tokio::task::spawn_blocking(move || child.wait_with_output());
    match tokio::time::timeout(Duration::from_secs(120), waiter).await {
        Ok(out) => out.unwrap().unwrap(),
        Err(_) => {
            kill(pid, libc::SIGKILL);
            panic!("hook decide did not finish within 120 s");
        }
    }
}

/// The pending decision the hook posted, as the human reads it from history.
async fn posted(room: &str, human: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let reply = api()
            .call(
                Method::GET,
                &format!("/api/rooms/{room}/messages"),
                Some(human),
                None,
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        let found = reply
            .json()
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["kind"] == "decision")
            .map(|m| m["decision"].clone());
        if let Some(d) = found {
            return d;
        }
        assert!(Instant::now() < deadline, "no decision message appeared");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn answer(room: &str, id: &str, token: &str, body: Value) -> (StatusCode, Value) {
    let reply = api()
        .call(
            Method::POST,
            &format!("/api/rooms/{room}/decisions/{id}/answer"),
            Some(token),
            Some(body),
        )
        .await;
    (reply.status, reply.json())
}

#[tokio::test]
async fn a_human_allows_and_the_hook_prints_the_allow_with_the_input_echoed() {
    let Some((room, agent, human)) = room().await else {
        return;
    };
    let fx = fixture("bash");
    let (_cli, child) = start(&room, &agent, &fx["input"], &[]);
    let d = posted(&room, &human).await;
    assert_eq!(d["status"], "pending");
    assert_eq!(d["kind"], "permission");
    assert_eq!(d["tool_input"], fx["input"]["tool_input"]);
    // The agent may not answer its own request.
    let (status, _) = answer(
        &room,
        d["id"].as_str().unwrap(),
        &agent,
        json!({"outcome": "allow"}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = answer(
        &room,
        d["id"].as_str().unwrap(),
        &human,
        json!({"outcome": "allow"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let out = finish(child).await;
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert_eq!(
        serde_json::from_str::<Value>(&stdout).unwrap(),
        fx["cases"][0]["output"]
    );
}

#[tokio::test]
async fn a_human_answers_two_questions_and_the_hook_prints_them() {
    let Some((room, agent, human)) = room().await else {
        return;
    };
    let fx = fixture("ask-user-question");
    let case = &fx["cases"][0];
    let (_cli, child) = start(&room, &agent, &fx["input"], &[]);
    let d = posted(&room, &human).await;
    assert_eq!(d["kind"], "question");
    let (status, body) = answer(
        &room,
        d["id"].as_str().unwrap(),
        &human,
        json!({"answers": case["decision"]["answers"]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let out = finish(child).await;
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&stdout).unwrap(),
        case["output"]
    );
}

#[tokio::test]
async fn a_deny_carries_the_feedback_as_the_message() {
    let Some((room, agent, human)) = room().await else {
        return;
    };
    let fx = fixture("bash");
    let case = &fx["cases"][2];
    let (_cli, child) = start(&room, &agent, &fx["input"], &[]);
    let d = posted(&room, &human).await;
    let (status, body) = answer(
        &room,
        d["id"].as_str().unwrap(),
        &human,
        json!({"outcome": "deny", "feedback": case["decision"]["feedback"]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let out = finish(child).await;
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&stdout).unwrap(),
        case["output"]
    );
}

#[tokio::test]
async fn an_expiry_prints_nothing_and_exits_0() {
    let Some((room, agent, human)) = room().await else {
        return;
    };
    let fx = fixture("exit-plan-mode");
    let (_cli, child) = start(&room, &agent, &fx["input"], &["--expires-in", "2"]);
    let d = posted(&room, &human).await;
    assert_eq!(d["kind"], "plan");
    let out = finish(child).await;
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "");
    // Too late now: the answer loses, and the 409 carries the final state.
    let (status, body) = answer(
        &room,
        d["id"].as_str().unwrap(),
        &human,
        json!({"outcome": "allow"}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        matches!(
            body["decision"]["status"].as_str(),
            Some("expired") | Some("cancelled")
        ),
        "{body}"
    );
}
