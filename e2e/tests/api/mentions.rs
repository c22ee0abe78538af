//! Mentions, read cursors, the inbox, `wait` and the loop guard, with two
//! agents and a human in one room.

use std::time::{Duration, Instant};

use protocol::wire::{Message, MessageKind};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{api, ids};
use meet_ai_e2e::Api;

struct Room {
    api: Api,
    owner: String,
    id: String,
    ada: String,
    bob: String,
    carol: String,
}

/// A room with two agents (ada, bob) and a human (carol), all members.
async fn room() -> Room {
    let api = api();
    let (owner, room) = api.key_and_room().await;
    let ada = api.add_member(&owner, &room.id, "ada", "agent").await;
    let bob = api.add_member(&owner, &room.id, "bob-2", "agent").await;
    let carol = api.add_member(&owner, &room.id, "Carol", "human").await;
    Room {
        api,
        owner,
        id: room.id,
        ada,
        bob,
        carol,
    }
}

impl Room {
    async fn say(&self, token: &str, text: &str) -> Message {
        self.api.send_as_member(token, &self.id, text).await
    }

    async fn get(&self, token: &str, path: &str) -> (u16, Value) {
        let reply = self
            .api
            .call(
                Method::GET,
                &format!("/api/rooms/{}{path}", self.id),
                Some(token),
                None,
            )
            .await;
        let body = if reply.body.is_empty() {
            Value::Null
        } else {
            reply.json()
        };
        (reply.status.as_u16(), body)
    }

    async fn read(&self, token: &str, body: Value) -> (u16, Value) {
        let reply = self
            .api
            .call(
                Method::POST,
                &format!("/api/rooms/{}/read", self.id),
                Some(token),
                Some(body),
            )
            .await;
        (reply.status.as_u16(), reply.json())
    }
}

fn mention_ids(inbox: &Value) -> Vec<String> {
    inbox["mentions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn messages_carry_the_handles_they_mention() {
    let r = room().await;
    let m = r
        .say(
            &r.carol,
            "@ada and @BOB-2, see `@ada` and @nobody; mail x@ada.dev",
        )
        .await;
    assert_eq!(
        m.mentions,
        ["ada", "bob-2"],
        "as the room spells them, not in code"
    );
    let m = r.say(&r.ada, "```\n@Carol\n```\n@all standup").await;
    assert_eq!(m.mentions, ["all"]);
    // A sender who has posted counts too, though not a member.
    r.api.send(&r.owner, &r.id, "dave", "hi").await;
    let m = r.say(&r.ada, "thanks @Dave.").await;
    assert_eq!(m.mentions, ["dave"]);
    // Every read path carries them.
    let history = r.api.history(&r.owner, &r.id, "").await;
    let all: Vec<Vec<String>> = history.iter().map(|m| m.mentions.clone()).collect();
    assert_eq!(
        all,
        [vec!["ada", "bob-2"], vec!["all"], vec![], vec!["dave"]]
    );
}

#[tokio::test]
async fn the_inbox_counts_and_lists_unread_mentions_and_the_cursor_only_moves_forward() {
    let r = room().await;
    let m1 = r.say(&r.carol, "@ada please review").await;
    let _m2 = r.say(&r.bob, "working on it").await;
    let m3 = r.say(&r.carol, "@all lunch").await;
    let _own = r.say(&r.ada, "@ada note to self").await;

    let (status, inbox) = r.get(&r.ada, "/inbox").await;
    assert_eq!(status, 200, "{inbox}");
    assert_eq!(inbox["handle"], "ada");
    assert_eq!(inbox["unread"], 3, "all but its own message");
    assert_eq!(mention_ids(&inbox), [m1.id.clone(), m3.id.clone()]);
    assert_eq!(inbox["cursor"], protocol::validate::START);
    assert_eq!(inbox["has_more"], false);
    // Paged: one at a time, then on from the first.
    let (_, page) = r.get(&r.ada, "/inbox?limit=1").await;
    assert_eq!(
        (mention_ids(&page), page["has_more"].clone()),
        (vec![m1.id.clone()], json!(true))
    );
    let (_, next) = r
        .get(&r.ada, &format!("/inbox?limit=1&after={}", m1.id))
        .await;
    assert_eq!(mention_ids(&next), vec![m3.id.clone()]);

    // The owner reads any handle's inbox; bob has only @all.
    let (_, bobs) = r.get(&r.owner, "/inbox?for=BOB-2").await;
    assert_eq!(mention_ids(&bobs), vec![m3.id.clone()]);
    // A member may not read another's, and the owner must say whose.
    assert_eq!(r.get(&r.ada, "/inbox?for=bob-2").await.0, 403);
    assert_eq!(r.get(&r.owner, "/inbox").await.0, 400);

    // Moving the cursor: forward only, repeatable.
    let (status, moved) = r.read(&r.ada, json!({ "through": m3.id })).await;
    assert_eq!((status, moved["cursor"].clone()), (200, json!(m3.id)));
    let (_, back) = r.read(&r.ada, json!({ "through": m1.id })).await;
    assert_eq!(back["cursor"], json!(m3.id), "never backwards");
    let (_, again) = r
        .read(&r.ada, json!({ "for": "ADA", "through": m3.id }))
        .await;
    assert_eq!(again["cursor"], json!(m3.id));
    let (_, inbox) = r.get(&r.ada, "/inbox").await;
    assert_eq!(
        (inbox["unread"].clone(), mention_ids(&inbox).len()),
        (json!(0), 0),
        "only its own message follows the cursor"
    );
    assert_eq!(
        r.read(
            &r.ada,
            json!({ "through": "00000000-0000-4000-8000-000000000000" })
        )
        .await
        .0,
        404
    );
    assert_eq!(
        r.read(&r.ada, json!({ "for": "bob-2", "through": m3.id }))
            .await
            .0,
        403
    );
}

#[tokio::test]
async fn wait_answers_when_mentioned_and_204_on_timeout() {
    let r = room().await;
    // Nothing for ada yet: a short wait runs out.
    let started = Instant::now();
    let (status, _) = r.get(&r.ada, "/wait?timeout=1").await;
    assert_eq!(status, 204);
    assert!(started.elapsed() >= Duration::from_millis(900), "it waited");
    // A message that does not mention ada does not wake her; one that does, does.
    let api = r.api.clone();
    let (room_id, ada) = (r.id.clone(), r.ada.clone());
    let waiter = tokio::spawn(async move {
        let reply = api
            .call(
                Method::GET,
                &format!("/api/rooms/{room_id}/wait?timeout=20"),
                Some(&ada),
                None,
            )
            .await;
        (reply.status.as_u16(), reply.json())
    });
    tokio::time::sleep(Duration::from_millis(700)).await;
    r.say(&r.bob, "just chatting").await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let mention = r.say(&r.carol, "@ada your turn").await;
    let (status, waited) = tokio::time::timeout(Duration::from_secs(15), waiter)
        .await
        .expect("wait returned soon after the mention")
        .unwrap();
    assert_eq!(status, 200, "{waited}");
    let got: Vec<&str> = waited["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(got, [mention.id.as_str()]);
    assert_eq!(
        waited["cursor"],
        protocol::validate::START,
        "no ack, no move"
    );
    // Without ack it returns the same again; with ack it moves the cursor.
    let (_, same) = r.get(&r.ada, "/wait?timeout=1&ack=1").await;
    assert_eq!(same["messages"][0]["id"], json!(mention.id));
    assert_eq!(same["cursor"], json!(mention.id));
    assert_eq!(r.get(&r.ada, "/wait?timeout=1").await.0, 204);
    // any=1 wakes on anything not its own.
    let chat = r.say(&r.bob, "anyone?").await;
    let (_, any) = r.get(&r.ada, "/wait?timeout=5&any=1").await;
    assert_eq!(any["messages"][0]["id"], json!(chat.id));
    assert_eq!(r.get(&r.ada, "/wait?timeout=0").await.0, 400);
}

#[tokio::test]
async fn the_loop_guard_trips_at_n_and_resets_on_a_human_message() {
    let r = room().await;
    let patched = r
        .api
        .call(
            Method::PATCH,
            &format!("/api/rooms/{}", r.id),
            Some(&r.owner),
            Some(json!({ "loop_guard": 3 })),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(patched.json()["loop_guard"], 3);
    r.say(&r.carol, "go").await;
    for i in 0..3 {
        r.say(
            if i % 2 == 0 { &r.ada } else { &r.bob },
            &format!("agent {i}"),
        )
        .await;
    }
    for token in [&r.ada, &r.bob] {
        let refused = r
            .api
            .call(
                Method::POST,
                &format!("/api/rooms/{}/messages", r.id),
                Some(token),
                Some(json!({ "content": "more" })),
            )
            .await;
        refused.assert_error(429);
        assert_eq!(refused.json()["code"], "loop_guard");
        assert!(refused.json()["error"].as_str().unwrap().contains("human"));
    }
    // An owner-key agent is held too (its type is taken at its word).
    let owner_agent = r
        .api
        .call(
            Method::POST,
            &format!("/api/rooms/{}/messages", r.id),
            Some(&r.owner),
            Some(json!({ "sender": "script", "sender_type": "agent", "content": "x" })),
        )
        .await;
    owner_agent.assert_error(429);
    let history = r.api.history(&r.owner, &r.id, "").await;
    let notices: Vec<&Message> = history
        .iter()
        .filter(|m| m.kind == MessageKind::Notice)
        .collect();
    assert_eq!(notices.len(), 1, "the trip shows once: {:?}", ids(&history));
    assert!(notices[0].verified && notices[0].content.contains("Loop guard"));
    assert_eq!(history.last().unwrap().kind, MessageKind::Notice);
    // A human resets the count.
    r.say(&r.carol, "carry on").await;
    r.say(&r.ada, "thanks").await;
    // The owner can turn it off.
    let off = r
        .api
        .call(
            Method::PATCH,
            &format!("/api/rooms/{}", r.id),
            Some(&r.owner),
            Some(json!({ "loop_guard": 0 })),
        )
        .await;
    assert_eq!(off.json()["loop_guard"], 0);
    for i in 0..5 {
        r.say(&r.bob, &format!("free {i}")).await;
    }
    let bad = r
        .api
        .call(
            Method::PATCH,
            &format!("/api/rooms/{}", r.id),
            Some(&r.owner),
            Some(json!({ "loop_guard": -1 })),
        )
        .await;
    bad.assert_error(400);
}
