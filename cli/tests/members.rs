//! Black-box tests of members (issue 12) and mentions, inbox and wait
//! (issue 13): the built binary against the real Worker (one server shared
//! by this file; every test makes its own key and room).

mod common;

use std::time::Duration;

use common::*;
use meet_ai_e2e::{Api, Server};
use reqwest::Method;
use serde_json::{json, Value};

const LONG: Duration = Duration::from_secs(60);

fn base() -> String {
    Server::shared().base.clone()
}

fn api() -> Api {
    Api::new(&base())
}

/// stdout as JSON lines.
fn lines(run: &Run) -> Vec<Value> {
    assert_eq!(run.code, Some(0), "{run:?}");
    run.stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn contents(messages: &[Value]) -> Vec<&str> {
    messages
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect()
}

/// An owner's CLI with a room, and a member `handle` of it with `role`:
/// (owner CLI, room id, member CLI, the invite's JSON).
async fn room_with_member(handle: &str, role: &str) -> (Cli, String, Cli, Value) {
    let (key, room) = api().key_and_room().await;
    let owner = Cli::new(&base(), Some(&key));
    let invited = owner
        .run(&["invite", &room.id, handle, "--role", role])
        .json();
    let token = invited["token"].as_str().expect("token").to_owned();
    (owner, room.id, Cli::new(&base(), Some(&token)), invited)
}

#[tokio::test]
async fn a_member_token_sends_without_a_sender_and_is_verified() {
    let (owner, room, member, invited) = room_with_member("claude", "agent").await;
    let token = invited["token"].as_str().unwrap();
    assert!(token.starts_with("mem_") && token.len() == 28, "{invited}");
    assert_eq!(invited["room_id"], json!(room));
    assert_eq!(invited["handle"], "claude");
    assert_eq!(invited["role"], "agent");
    assert_eq!(invited["token_prefix"], json!(&token[..8]));

    assert_eq!(
        member.run(&["whoami"]).json(),
        json!({"kind": "member", "room_id": room, "handle": "claude", "role": "agent"})
    );
    assert_eq!(owner.run(&["whoami"]).json(), json!({"kind": "owner"}));

    // Two positionals: the content, sent as the token's handle.
    let sent = member
        .run(&["send-message", &room, "hello from a member"])
        .json();
    assert_eq!(sent["sender"], "claude");
    assert_eq!(sent["sender_type"], "agent");
    assert_eq!(sent["verified"], true);
    assert_eq!(sent["kind"], "message");
    assert_eq!(sent["content"], "hello from a member");
    // The old form still works when the sender is the handle (any case).
    let old = member
        .run(&["send-message", &room, "Claude", "old", "form"])
        .json();
    assert_eq!(
        (old["sender"].as_str(), old["verified"].as_bool()),
        (Some("claude"), Some(true))
    );
    assert_eq!(old["content"], "old form");
    // An owner send is not verified.
    let by_owner = owner.run(&["send-message", &room, "ada", "hi"]).json();
    assert_eq!(by_owner["verified"], false);

    // The member reads the room by id and by name, with the server's objects.
    assert_eq!(
        member.run(&["poll", &room]).json(),
        json!([sent, old, by_owner])
    );
    assert_eq!(member.run(&["poll", "test room"]).json()[0], sent);

    // Another sender name with a member token: 9, with the hint.
    let err = member
        .run(&["send-message", &room, "hello", "world"])
        .error(9);
    assert!(
        err.ends_with(
            "(\"hello\" was taken as the sender; with a member token leave the sender out \
             and quote the content: meet-ai send-message <room> '<content>')"
        ),
        "{err}"
    );
    // An owner key with two positionals: usage, 2.
    assert_eq!(
        owner.run(&["send-message", &room, "no sender"]).error(2),
        "an owner key needs a sender: meet-ai send-message <room> <sender> <content> \
         (only a member token, MEET_AI_KEY=mem_..., sends without one)"
    );
    // A member may not do an owner's job: 9.
    member.run(&["create-room", "mine"]).error(9);
    member.run(&["invite", &room, "eve"]).error(9);
    // The owner may not speak as a member's handle: 9.
    owner
        .run(&["send-message", &room, "claude", "impostor"])
        .error(9);
    // A taken handle: 10.
    owner
        .run(&["invite", &room, "CLAUDE", "--role", "human"])
        .error(10);

    // Nothing refused was stored.
    assert_eq!(
        owner.run(&["poll", &room]).json().as_array().unwrap().len(),
        3
    );
}

#[tokio::test]
async fn a_viewer_reads_but_may_not_send() {
    let (_owner, room, viewer, _) = room_with_member("watcher", "viewer").await;
    assert_eq!(viewer.run(&["poll", &room]).json(), json!([]));
    viewer.run(&["send-message", &room, "hi"]).error(9);
}

#[tokio::test]
async fn members_remove_member_and_reissue_token_round_trip() {
    let (owner, room, claude, _) = room_with_member("claude", "agent").await;
    let ada = owner
        .run(&["invite", &room, "ada", "--role", "human"])
        .json();
    let ada_token = ada["token"].as_str().unwrap().to_owned();

    let listed = owner.run(&["members", &room]).json();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["handle"], "claude");
    assert_eq!(listed[0]["role"], "agent");
    assert_eq!(listed[1]["handle"], "ada");
    assert_eq!(listed[1]["token_prefix"], json!(&ada_token[..8]));
    assert!(listed[1]["created_at"].is_string());
    // A member sees handles and roles only.
    assert_eq!(
        claude.run(&["members", &room]).json(),
        json!([{"handle": "claude", "role": "agent"}, {"handle": "ada", "role": "human"}])
    );

    assert_eq!(
        owner.run(&["remove-member", &room, "claude"]).json(),
        json!({"removed": true, "room_id": room, "handle": "claude"})
    );
    let listed = owner.run(&["members", &room]).json();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    // The removed token is dead everywhere: 3.
    for args in [
        vec!["rooms"],
        vec!["poll", room.as_str()],
        vec!["send-message", room.as_str(), "still here?"],
        vec!["wait", room.as_str(), "--timeout", "2"],
    ] {
        claude.run(&args).error(3);
    }
    // Removing again: 4.
    owner.run(&["remove-member", &room, "claude"]).error(4);

    // A reissued token replaces the old one.
    let fresh = owner.run(&["reissue-token", &room, "ADA"]).json();
    assert_eq!(fresh["handle"], "ada");
    let fresh_token = fresh["token"].as_str().unwrap();
    assert_ne!(fresh_token, ada_token);
    Cli::new(&base(), Some(&ada_token)).run(&["rooms"]).error(3);
    let rooms = Cli::new(&base(), Some(fresh_token)).run(&["rooms"]).json();
    assert_eq!(rooms[0]["id"], json!(room));
}

#[tokio::test]
async fn wait_returns_on_a_mention_and_acks_it() {
    let (owner, room, claude, _) = room_with_member("claude", "agent").await;
    let mut wait = claude.spawn(&["wait", &room]);
    std::thread::sleep(Duration::from_secs(1));
    owner
        .run(&["send-message", &room, "ada", "nothing for the agent"])
        .json();
    let mention = owner
        .run(&["send-message", &room, "ada", "@claude can you look?"])
        .json();
    let got = wait.message(LONG);
    assert_eq!(got, mention);
    assert_eq!(got["mentions"], json!(["claude"]));
    let (status, rest) = wait.wait(LONG);
    assert_eq!(status.code(), Some(0), "stderr: {:?}", wait.stderr_seen);
    assert!(rest.is_empty(), "{rest:?}");

    // Acked: the inbox holds no mention any more, and a new wait times out.
    let inbox = claude.run(&["inbox", &room]).json();
    assert_eq!(inbox["handle"], "claude");
    assert_eq!(inbox["cursor"], mention["id"]);
    assert_eq!(inbox["unread"], 0);
    assert_eq!(inbox["mentions"], json!([]));
    let run = claude.run(&["wait", &room, "--timeout", "2"]);
    assert_eq!(
        run.error(7),
        "no message arrived within 2 seconds (--timeout)"
    );
}

#[tokio::test]
async fn wait_timeout_exits_7_and_an_owner_must_say_for_whom() {
    let (owner, room, claude, _) = room_with_member("claude", "agent").await;
    let started = std::time::Instant::now();
    assert_eq!(
        claude.run(&["wait", &room, "--timeout", "2"]).error(7),
        "no message arrived within 2 seconds (--timeout)"
    );
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(owner
        .run(&["wait", &room, "--timeout", "2"])
        .error(2)
        .starts_with("with an owner key, say whose: meet-ai wait <room> --as <handle>"));
    // The owner waits for a handle with --as; --any wakes on any message.
    owner
        .run(&["send-message", &room, "ada", "no mention"])
        .json();
    let got = lines(&owner.run(&["wait", &room, "--as", "claude", "--any", "--timeout", "30"]));
    assert_eq!(contents(&got), vec!["no mention"]);
}

#[tokio::test]
async fn a_restarted_wait_returns_exactly_the_unread_messages() {
    let (owner, room, claude, _) = room_with_member("claude", "agent").await;
    for text in ["@claude one", "@claude two", "not for claude", "@all three"] {
        owner.run(&["send-message", &room, "ada", text]).json();
    }
    let inbox = claude.run(&["inbox", &room]).json();
    assert_eq!(inbox["unread"], 4);
    assert_eq!(
        contents(inbox["mentions"].as_array().unwrap()),
        vec!["@claude one", "@claude two", "@all three"]
    );

    // --no-ack prints and leaves them unread, as a crash before the ack would.
    let peeked = lines(&claude.run(&["wait", &room, "--no-ack", "--timeout", "30"]));
    assert_eq!(
        contents(&peeked),
        vec!["@claude one", "@claude two", "@all three"]
    );
    // So the next wait gets the same ones, and acks them.
    let first = lines(&claude.run(&["wait", &room, "--timeout", "30"]));
    assert_eq!(first, peeked);

    // Only what came after is delivered next time.
    owner
        .run(&["send-message", &room, "ada", "@claude four"])
        .json();
    owner
        .run(&["send-message", &room, "ada", "@claude five"])
        .json();
    let second = lines(&claude.run(&["wait", &room, "--timeout", "30"]));
    assert_eq!(contents(&second), vec!["@claude four", "@claude five"]);
    claude.run(&["wait", &room, "--timeout", "2"]).error(7);

    // `read` moves the cursor by hand.
    let sixth = owner
        .run(&["send-message", &room, "ada", "@claude six"])
        .json();
    let id = sixth["id"].as_str().unwrap();
    assert_eq!(
        claude.run(&["read", &room, "--through", id]).json(),
        json!({"handle": "claude", "cursor": id})
    );
    claude.run(&["wait", &room, "--timeout", "2"]).error(7);
}

#[tokio::test]
async fn wait_follow_prints_one_line_per_mention_as_they_come() {
    let (owner, room, claude, _) = room_with_member("claude", "agent").await;
    let mut wait = claude.spawn(&["wait", &room, "--follow"]);
    let mut sent = Vec::new();
    for text in ["@claude first", "plain", "@claude second"] {
        sent.push(owner.run(&["send-message", &room, "ada", text]).json());
        std::thread::sleep(Duration::from_millis(300));
    }
    assert_eq!(wait.message(LONG), sent[0]);
    assert_eq!(wait.message(LONG), sent[2]);
    // It keeps running (and acked what it printed).
    assert!(wait.line(Duration::from_secs(2)).is_none());
    let inbox = claude.run(&["inbox", &room]).json();
    assert_eq!(inbox["cursor"], sent[2]["id"]);
    wait.signal(libc::SIGTERM);
    let (status, _) = wait.wait(LONG);
    assert_eq!(status.code(), Some(0));
}

#[tokio::test]
async fn listen_mentions_prints_only_messages_that_mention_the_handle() {
    let (owner, room, claude, _) = room_with_member("claude", "agent").await;
    // Followed with the member token (SSE or WebSocket, as the variant offers).
    let mut listen = claude.spawn(&["listen", &room, "--mentions", "Claude", "--count", "2"]);
    listen.event("connected", LONG);
    let mut sent = Vec::new();
    for text in ["plain", "@claude one", "@bob no", "@all two"] {
        sent.push(owner.run(&["send-message", &room, "ada", text]).json());
    }
    assert_eq!(listen.message(LONG), sent[1]);
    assert_eq!(listen.message(LONG), sent[3]);
    let (status, _) = listen.wait(LONG);
    assert_eq!(status.code(), Some(0));
}

#[tokio::test]
async fn the_loop_guard_exits_11_and_is_not_retried() {
    let (key, room) = api().key_and_room().await;
    let reply = api()
        .call(
            Method::PATCH,
            &format!("/api/rooms/{}", room.id),
            Some(&key),
            Some(json!({"loop_guard": 2})),
        )
        .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
    let owner = Cli::new(&base(), Some(&key));
    owner.run(&["send-message", &room.id, "bot1", "a"]).json();
    owner.run(&["send-message", &room.id, "bot2", "b"]).json();
    let started = std::time::Instant::now();
    let err = owner
        .run(&["send-message", &room.id, "bot1", "c"])
        .error(11);
    assert!(!err.is_empty());
    // Not retried: no backoff was waited.
    assert!(started.elapsed() < Duration::from_secs(5));
    // The notice is in the room, marked as one; a human message lifts it.
    let history = owner.run(&["poll", &room.id]).json();
    let last = history.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["kind"], "notice");
    assert_eq!(last["sender"], "meet-ai");
    owner
        .run(&[
            "send-message",
            &room.id,
            "ada",
            "--sender-type",
            "human",
            "go on",
        ])
        .json();
    owner.run(&["send-message", &room.id, "bot1", "c"]).json();
}

/// On a terminal: a verified sender gets a check mark, an invite prints the
/// .env lines. Runs under `script` (util-linux) when it exists.
#[tokio::test]
async fn a_terminal_shows_verified_senders_and_how_to_hand_over_a_token() {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: no `script` for a pseudo-terminal");
        return;
    }
    let (owner, room, claude, _) = room_with_member("claude", "agent").await;
    let in_tty = |cli: &Cli, args: &str| {
        let mut script = std::process::Command::new("script");
        script
            .args(["-qec", &format!("{BIN} {args}"), "/dev/null"])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", cli.dir.path())
            .env("MEET_AI_URL", &cli.url)
            .env("MEET_AI_KEY", cli.key.as_deref().unwrap())
            .current_dir(cli.dir.path());
        let out = run(script, None);
        assert_eq!(out.code, Some(0), "{out:?}");
        out.stdout.replace("\r\n", "\n")
    };
    claude.run(&["send-message", &room, "done"]).json();
    let text = in_tty(&owner, &format!("poll {room}"));
    assert!(
        text.trim_end().ends_with("] claude \u{2713} [agent]: done"),
        "{text:?}"
    );
    let text = in_tty(&owner, &format!("invite {room} helper --role agent"));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], format!("Member helper (agent) of room {room}."));
    assert_eq!(lines[lines.len() - 2], format!("MEET_AI_URL={}", base()));
    assert!(
        lines[lines.len() - 1].starts_with("MEET_AI_KEY=mem_"),
        "{text}"
    );
    let text = in_tty(&owner, &format!("invite {room} ada --role human"));
    assert!(
        text.trim_end()
            .lines()
            .last()
            .unwrap()
            .starts_with(&format!("{}/r/{room}#invite=mem_", base())),
        "{text}"
    );
}
