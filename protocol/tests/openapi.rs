//! docs/openapi.json describes exactly the routes the Worker answers.
//!
//! The router is `protocol::route::resolve`. Its endpoints are enumerated by
//! an exhaustive `match` below (a new `Endpoint` variant does not compile
//! until it is given its method and path here), and every documented path is
//! resolved with every method: what the document lists must resolve to an
//! endpoint, what it does not list must not.

use std::collections::BTreeSet;

use meet_ai_protocol::route::{resolve, Endpoint, Resolved};
use serde_json::Value;

const DOC: &str = include_str!("../../docs/openapi.json");
const METHODS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"];

/// Each endpoint's method and path template, as the document spells them.
fn template(e: &Endpoint) -> (&'static str, &'static str) {
    use Endpoint::*;
    match e {
        Mcp => ("POST", "/mcp"),
        Health => ("GET", "/api/health"),
        OpenApi => ("GET", "/api/openapi.json"),
        Usage => ("GET", "/api/usage"),
        StreamTicket(_) => ("POST", "/api/rooms/{room_id}/ticket"),
        CreateKey => ("POST", "/api/keys"),
        RevokeKey => ("DELETE", "/api/keys"),
        ListRooms => ("GET", "/api/rooms"),
        CreateRoom => ("POST", "/api/rooms"),
        GetRoom(_) => ("GET", "/api/rooms/{room_id}"),
        UpdateRoom(_) => ("PATCH", "/api/rooms/{room_id}"),
        Featured => ("GET", "/api/featured"),
        ListMessages(_) => ("GET", "/api/rooms/{room_id}/messages"),
        SendMessage(_) => ("POST", "/api/rooms/{room_id}/messages"),
        Events(_) => ("GET", "/api/rooms/{room_id}/events"),
        Socket(_) => ("GET", "/api/rooms/{room_id}/ws"),
        WhoAmI => ("GET", "/api/whoami"),
        ListMembers(_) => ("GET", "/api/rooms/{room_id}/members"),
        AddMember(_) => ("POST", "/api/rooms/{room_id}/members"),
        RemoveMember(..) => ("DELETE", "/api/rooms/{room_id}/members/{handle}"),
        ReissueToken(..) => ("POST", "/api/rooms/{room_id}/members/{handle}/token"),
        Inbox(_) => ("GET", "/api/rooms/{room_id}/inbox"),
        MarkRead(_) => ("POST", "/api/rooms/{room_id}/read"),
        Wait(_) => ("GET", "/api/rooms/{room_id}/wait"),
        Decisions(_) => ("POST", "/api/rooms/{room_id}/decisions"),
        Decision(..) => ("GET", "/api/rooms/{room_id}/decisions/{decision_id}"),
        DecisionWait(..) => ("GET", "/api/rooms/{room_id}/decisions/{decision_id}/wait"),
        DecisionAnswer(..) => (
            "POST",
            "/api/rooms/{room_id}/decisions/{decision_id}/answer",
        ),
        DecisionCancel(..) => (
            "POST",
            "/api/rooms/{room_id}/decisions/{decision_id}/cancel",
        ),
    }
}

/// A concrete path for a template.
fn concrete(template: &str) -> String {
    template
        .replace("{room_id}", "r1")
        .replace("{handle}", "ada")
        .replace("{decision_id}", "d1")
}

fn documented() -> BTreeSet<(String, String)> {
    let doc: Value = serde_json::from_str(DOC).expect("docs/openapi.json is JSON");
    assert_eq!(doc["openapi"], "3.1.0");
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().unwrap().keys() {
            if method != "parameters" {
                ops.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    ops
}

#[test]
fn every_documented_operation_is_routed_and_nothing_else_on_its_path() {
    let ops = documented();
    let paths: BTreeSet<&String> = ops.iter().map(|(_, p)| p).collect();
    for path in paths {
        for method in METHODS {
            let key = (method.to_owned(), path.clone());
            let resolved = resolve(method, &concrete(path));
            match resolved {
                Resolved::Endpoint(e) => {
                    assert!(
                        ops.contains(&key),
                        "{method} {path} is routed but not documented"
                    );
                    assert_eq!(
                        template(&e),
                        (method, path.as_str()),
                        "{method} {path} routes to {e:?}"
                    );
                }
                other => assert!(
                    !ops.contains(&key),
                    "{method} {path} is documented but resolves to {other:?}"
                ),
            }
        }
    }
}

#[test]
fn every_endpoint_is_documented() {
    use Endpoint::*;
    let s = || "x".to_owned();
    // Every variant once (the `template` match keeps this list honest: a
    // variant missing there does not compile).
    let all = [
        Mcp,
        Health,
        OpenApi,
        Usage,
        StreamTicket(s()),
        CreateKey,
        RevokeKey,
        ListRooms,
        CreateRoom,
        GetRoom(s()),
        UpdateRoom(s()),
        Featured,
        ListMessages(s()),
        SendMessage(s()),
        Events(s()),
        Socket(s()),
        WhoAmI,
        ListMembers(s()),
        AddMember(s()),
        RemoveMember(s(), s()),
        ReissueToken(s(), s()),
        Inbox(s()),
        MarkRead(s()),
        Wait(s()),
        Decisions(s()),
        Decision(s(), s()),
        DecisionWait(s(), s()),
        DecisionAnswer(s(), s()),
        DecisionCancel(s(), s()),
    ];
    let ops = documented();
    let mut seen = BTreeSet::new();
    for e in &all {
        let (method, path) = template(e);
        assert!(
            ops.contains(&(method.to_owned(), path.to_owned())),
            "{e:?} ({method} {path}) is missing from docs/openapi.json"
        );
        // The router really answers the template with this endpoint.
        match resolve(method, &concrete(path)) {
            Resolved::Endpoint(got) => assert_eq!(template(&got), (method, path)),
            other => panic!("{method} {path} resolves to {other:?}"),
        }
        seen.insert((method.to_owned(), path.to_owned()));
    }
    // And the document holds nothing beyond them.
    let extra: Vec<_> = ops.iter().filter(|k| !seen.contains(*k)).collect();
    assert!(extra.is_empty(), "documented but not routed: {extra:?}");
}

/// The copy the Worker serves is the document itself.
#[test]
fn the_served_copy_is_generated_from_docs() {
    let served = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../public/openapi.json");
    if let Ok(text) = std::fs::read_to_string(&served) {
        assert_eq!(text, DOC, "public/openapi.json is stale: run `make web`");
    }
}
