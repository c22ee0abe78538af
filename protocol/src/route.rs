//! The API's route table as a pure function: method and path in, endpoint out.
//! Paths outside `/api/` belong to the static assets, not to this table.

/// One API endpoint. Room ids are carried raw; handlers parse them after auth so
/// that a malformed id and another tenant's id both answer 404, never 400.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST /mcp`: the Model Context Protocol endpoint (outside `/api/`).
    Mcp,
    Health,
    /// `GET /api/openapi.json`: the OpenAPI document (a static asset,
    /// `public/openapi.json`, copied there from docs/ by `make web`).
    OpenApi,
    /// `GET /api/usage`: how much of the day's D1 budget is spent.
    Usage,
    CreateKey,
    RevokeKey,
    ListRooms,
    CreateRoom,
    GetRoom(String),
    UpdateRoom(String),
    Featured,
    ListMessages(String),
    SendMessage(String),
    Events(String),
    /// The paid variant's WebSocket; 404 in the free build.
    Socket(String),
    /// `POST /api/rooms/:id/ticket`: a single-use pass to that room's stream.
    StreamTicket(String),
    /// What the presented credential is (owner key or member token).
    WhoAmI,
    ListMembers(String),
    AddMember(String),
    /// Room id and handle (percent-decoded).
    RemoveMember(String, String),
    ReissueToken(String, String),
    Inbox(String),
    MarkRead(String),
    Wait(String),
    /// Decisions: create (POST); room id and decision id for the rest.
    Decisions(String),
    Decision(String, String),
    DecisionWait(String, String),
    DecisionAnswer(String, String),
    DecisionCancel(String, String),
}

impl Endpoint {
    /// The two stream routes (`GET` only): the one place a credential may
    /// ride in the URL (`?token=`, `?ticket=`), since EventSource and
    /// WebSocket cannot set a header.
    pub fn is_stream(&self) -> bool {
        matches!(self, Endpoint::Events(_) | Endpoint::Socket(_))
    }
}

/// What a request resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    Endpoint(Endpoint),
    /// Under `/api/` but no such path.
    NotFound,
    /// A known path with the wrong method; `allow` lists the right ones.
    MethodNotAllowed {
        allow: &'static str,
    },
    /// Not an API path: serve it from the assets.
    Asset,
}

/// Resolves a request. `HEAD` is treated as `GET` where `GET` exists.
pub fn resolve(method: &str, path: &str) -> Resolved {
    if path == "/mcp" {
        return match method {
            "POST" => Resolved::Endpoint(Endpoint::Mcp),
            _ => Resolved::MethodNotAllowed { allow: "POST" },
        };
    }
    let Some(rest) =
        path.strip_prefix("/api/")
            .or_else(|| if path == "/api" { Some("") } else { None })
    else {
        return Resolved::Asset;
    };
    let method = if method == "HEAD" { "GET" } else { method };
    let segments: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    use Endpoint::*;
    let pick = |allow: &'static str, ep: Option<Endpoint>| match ep {
        Some(ep) => Resolved::Endpoint(ep),
        None => Resolved::MethodNotAllowed { allow },
    };
    match segments.as_slice() {
        ["health"] => pick("GET", (method == "GET").then_some(Health)),
        ["openapi.json"] => pick("GET", (method == "GET").then_some(OpenApi)),
        ["usage"] => pick("GET", (method == "GET").then_some(Usage)),
        ["keys"] => pick(
            "POST, DELETE",
            match method {
                "POST" => Some(CreateKey),
                "DELETE" => Some(RevokeKey),
                _ => None,
            },
        ),
        ["rooms"] => pick(
            "GET, POST",
            match method {
                "GET" => Some(ListRooms),
                "POST" => Some(CreateRoom),
                _ => None,
            },
        ),
        ["rooms", id] if !id.is_empty() => pick(
            "GET, PATCH",
            match method {
                "GET" => Some(GetRoom((*id).into())),
                "PATCH" => Some(UpdateRoom((*id).into())),
                _ => None,
            },
        ),
        ["featured"] => pick("GET", (method == "GET").then_some(Featured)),
        ["rooms", id, "messages"] if !id.is_empty() => pick(
            "GET, POST",
            match method {
                "GET" => Some(ListMessages((*id).into())),
                "POST" => Some(SendMessage((*id).into())),
                _ => None,
            },
        ),
        ["rooms", id, "events"] if !id.is_empty() => {
            pick("GET", (method == "GET").then(|| Events((*id).into())))
        }
        ["rooms", id, "ws"] if !id.is_empty() => {
            pick("GET", (method == "GET").then(|| Socket((*id).into())))
        }
        ["rooms", id, "ticket"] if !id.is_empty() => pick(
            "POST",
            (method == "POST").then(|| StreamTicket((*id).into())),
        ),
        ["whoami"] => pick("GET", (method == "GET").then_some(WhoAmI)),
        ["rooms", id, "members"] if !id.is_empty() => pick(
            "GET, POST",
            match method {
                "GET" => Some(ListMembers((*id).into())),
                "POST" => Some(AddMember((*id).into())),
                _ => None,
            },
        ),
        ["rooms", id, "members", handle] if !id.is_empty() && !handle.is_empty() => pick(
            "DELETE",
            (method == "DELETE").then(|| RemoveMember((*id).into(), decode(handle))),
        ),
        ["rooms", id, "members", handle, "token"] if !id.is_empty() && !handle.is_empty() => pick(
            "POST",
            (method == "POST").then(|| ReissueToken((*id).into(), decode(handle))),
        ),
        ["rooms", id, "inbox"] if !id.is_empty() => {
            pick("GET", (method == "GET").then(|| Inbox((*id).into())))
        }
        ["rooms", id, "read"] if !id.is_empty() => {
            pick("POST", (method == "POST").then(|| MarkRead((*id).into())))
        }
        ["rooms", id, "wait"] if !id.is_empty() => {
            pick("GET", (method == "GET").then(|| Wait((*id).into())))
        }
        ["rooms", id, "decisions", rest @ ..] if !id.is_empty() => decision(method, id, rest),
        _ => Resolved::NotFound,
    }
}

/// `/api/rooms/:id/decisions[/:did[/wait|answer|cancel]]`.
fn decision(method: &str, id: &str, rest: &[&str]) -> Resolved {
    use Endpoint::*;
    let (room, one) = (id.to_owned(), |did: &str| (id.to_owned(), did.to_owned()));
    let (allow, ep) = match rest {
        [] => ("POST", (method == "POST").then_some(Decisions(room))),
        [did] if !did.is_empty() => {
            let (r, d) = one(did);
            ("GET", (method == "GET").then_some(Decision(r, d)))
        }
        [did, tail] if !did.is_empty() => {
            let (r, d) = one(did);
            match *tail {
                "wait" => ("GET", (method == "GET").then_some(DecisionWait(r, d))),
                "answer" => ("POST", (method == "POST").then_some(DecisionAnswer(r, d))),
                "cancel" => ("POST", (method == "POST").then_some(DecisionCancel(r, d))),
                _ => return Resolved::NotFound,
            }
        }
        _ => return Resolved::NotFound,
    };
    match ep {
        Some(ep) => Resolved::Endpoint(ep),
        None => Resolved::MethodNotAllowed { allow },
    }
}

/// A path segment, percent-decoded (a handle may hold any character a name
/// may). Invalid UTF-8 after decoding is kept lossily: such a handle cannot
/// exist, so it simply matches no member.
fn decode(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticket_route_and_stream_routes() {
        assert_eq!(
            resolve("POST", "/api/rooms/r/ticket"),
            Resolved::Endpoint(Endpoint::StreamTicket("r".into()))
        );
        assert_eq!(
            resolve("GET", "/api/rooms/r/ticket"),
            Resolved::MethodNotAllowed { allow: "POST" }
        );
        let stream = |m, p| match resolve(m, p) {
            Resolved::Endpoint(e) => e.is_stream(),
            _ => false,
        };
        assert!(stream("GET", "/api/rooms/r/events"));
        assert!(stream("GET", "/api/rooms/r/ws"));
        assert!(!stream("GET", "/api/rooms/r/messages"));
        assert!(!stream("POST", "/api/rooms/r/ticket"));
        assert!(!stream("DELETE", "/api/keys"));
    }

    #[test]
    fn member_inbox_and_wait_routes() {
        let ep = |m, p| match resolve(m, p) {
            Resolved::Endpoint(e) => e,
            other => panic!("{m} {p}: {other:?}"),
        };
        assert_eq!(ep("GET", "/api/whoami"), Endpoint::WhoAmI);
        assert_eq!(
            ep("GET", "/api/rooms/r/members"),
            Endpoint::ListMembers("r".into())
        );
        assert_eq!(
            ep("POST", "/api/rooms/r/members"),
            Endpoint::AddMember("r".into())
        );
        assert_eq!(
            ep("DELETE", "/api/rooms/r/members/zo%C3%AB%20b"),
            Endpoint::RemoveMember("r".into(), "zoë b".into())
        );
        assert_eq!(
            ep("POST", "/api/rooms/r/members/ada/token"),
            Endpoint::ReissueToken("r".into(), "ada".into())
        );
        assert_eq!(ep("GET", "/api/rooms/r/inbox"), Endpoint::Inbox("r".into()));
        assert_eq!(
            ep("POST", "/api/rooms/r/read"),
            Endpoint::MarkRead("r".into())
        );
        assert_eq!(ep("GET", "/api/rooms/r/wait"), Endpoint::Wait("r".into()));
        assert_eq!(
            resolve("GET", "/api/rooms/r/members/ada"),
            Resolved::MethodNotAllowed { allow: "DELETE" }
        );
        assert_eq!(
            resolve("PUT", "/api/rooms/r/members"),
            Resolved::MethodNotAllowed { allow: "GET, POST" }
        );
        assert_eq!(
            resolve("GET", "/api/rooms/r/read"),
            Resolved::MethodNotAllowed { allow: "POST" }
        );
    }

    #[test]
    fn decision_routes() {
        let d = |a: &str, b: &str| (a.to_owned(), b.to_owned());
        let ep = |m, p| resolve(m, p);
        assert_eq!(
            ep("POST", "/api/rooms/r/decisions"),
            Resolved::Endpoint(Endpoint::Decisions("r".into()))
        );
        let (r, x) = d("r", "x");
        assert_eq!(
            ep("GET", "/api/rooms/r/decisions/x"),
            Resolved::Endpoint(Endpoint::Decision(r.clone(), x.clone()))
        );
        assert_eq!(
            ep("GET", "/api/rooms/r/decisions/x/wait"),
            Resolved::Endpoint(Endpoint::DecisionWait(r.clone(), x.clone()))
        );
        assert_eq!(
            ep("POST", "/api/rooms/r/decisions/x/answer"),
            Resolved::Endpoint(Endpoint::DecisionAnswer(r.clone(), x.clone()))
        );
        assert_eq!(
            ep("POST", "/api/rooms/r/decisions/x/cancel"),
            Resolved::Endpoint(Endpoint::DecisionCancel(r, x))
        );
        assert_eq!(
            ep("GET", "/api/rooms/r/decisions"),
            Resolved::MethodNotAllowed { allow: "POST" }
        );
        assert_eq!(
            ep("POST", "/api/rooms/r/decisions/x"),
            Resolved::MethodNotAllowed { allow: "GET" }
        );
        assert_eq!(
            ep("GET", "/api/rooms/r/decisions/x/answer"),
            Resolved::MethodNotAllowed { allow: "POST" }
        );
        assert_eq!(
            ep("GET", "/api/rooms/r/decisions/x/nope"),
            Resolved::NotFound
        );
        assert_eq!(
            ep("GET", "/api/rooms/r/decisions/x/a/b"),
            Resolved::NotFound
        );
    }

    #[test]
    fn every_endpoint_resolves() {
        let r = |m, p| resolve(m, p);
        assert_eq!(
            r("GET", "/api/health"),
            Resolved::Endpoint(Endpoint::Health)
        );
        assert_eq!(
            r("HEAD", "/api/health"),
            Resolved::Endpoint(Endpoint::Health)
        );
        assert_eq!(r("GET", "/api/usage"), Resolved::Endpoint(Endpoint::Usage));
        assert_eq!(
            r("POST", "/api/usage"),
            Resolved::MethodNotAllowed { allow: "GET" }
        );
        assert_eq!(
            r("POST", "/api/keys"),
            Resolved::Endpoint(Endpoint::CreateKey)
        );
        assert_eq!(
            r("DELETE", "/api/keys"),
            Resolved::Endpoint(Endpoint::RevokeKey)
        );
        assert_eq!(
            r("GET", "/api/rooms"),
            Resolved::Endpoint(Endpoint::ListRooms)
        );
        assert_eq!(
            r("POST", "/api/rooms/"),
            Resolved::Endpoint(Endpoint::CreateRoom)
        );
        assert_eq!(
            r("GET", "/api/rooms/abc"),
            Resolved::Endpoint(Endpoint::GetRoom("abc".into()))
        );
        assert_eq!(
            r("PATCH", "/api/rooms/abc"),
            Resolved::Endpoint(Endpoint::UpdateRoom("abc".into()))
        );
        assert_eq!(
            r("GET", "/api/featured"),
            Resolved::Endpoint(Endpoint::Featured)
        );
        assert_eq!(
            r("GET", "/api/rooms/abc/messages"),
            Resolved::Endpoint(Endpoint::ListMessages("abc".into()))
        );
        assert_eq!(
            r("POST", "/api/rooms/abc/messages"),
            Resolved::Endpoint(Endpoint::SendMessage("abc".into()))
        );
        assert_eq!(
            r("GET", "/api/rooms/abc/events"),
            Resolved::Endpoint(Endpoint::Events("abc".into()))
        );
    }

    #[test]
    fn wrong_methods_and_unknown_paths() {
        assert_eq!(
            resolve("PUT", "/api/keys"),
            Resolved::MethodNotAllowed {
                allow: "POST, DELETE"
            }
        );
        assert_eq!(
            resolve("DELETE", "/api/rooms/abc"),
            Resolved::MethodNotAllowed {
                allow: "GET, PATCH"
            }
        );
        assert_eq!(resolve("GET", "/api/nope"), Resolved::NotFound);
        assert_eq!(resolve("GET", "/api"), Resolved::NotFound);
        assert_eq!(resolve("GET", "/api/rooms//messages"), Resolved::NotFound);
        assert_eq!(resolve("GET", "/api/rooms/a/b/c"), Resolved::NotFound);
        assert_eq!(resolve("GET", "/"), Resolved::Asset);
        assert_eq!(resolve("GET", "/apix"), Resolved::Asset);
        assert_eq!(resolve("GET", "/key"), Resolved::Asset);
        assert_eq!(resolve("POST", "/mcp"), Resolved::Endpoint(Endpoint::Mcp));
        assert_eq!(
            resolve("GET", "/mcp"),
            Resolved::MethodNotAllowed { allow: "POST" }
        );
        assert_eq!(
            resolve("DELETE", "/mcp"),
            Resolved::MethodNotAllowed { allow: "POST" }
        );
        assert_eq!(resolve("POST", "/mcpx"), Resolved::Asset);
    }
}
