#!/usr/bin/env python3
"""Writes docs/openapi.json, the OpenAPI 3.1 description of the meet-ai API.

The document is data; this script only spells it with less repetition than
JSON allows. Edit here, run `python3 scripts/openapi.py`, commit both.
docs/API.md stays the prose contract; protocol/tests/openapi.rs checks that
the paths and methods here are exactly the ones protocol::route answers.
"""
import json
import pathlib

REF = lambda name: {"$ref": f"#/components/schemas/{name}"}
JSON = lambda schema: {"application/json": {"schema": schema}}


def ok(desc, schema=None, links=None):
    r = {"description": desc}
    if schema is not None:
        r["content"] = JSON(schema)
    if links:
        r["links"] = links
    return r


ERRORS = {"4XX": {"$ref": "#/components/responses/Error"}}
ROOM_ID = {"$ref": "#/components/parameters/RoomId"}
DECISION_ID = {"$ref": "#/components/parameters/DecisionId"}
HANDLE = {"$ref": "#/components/parameters/Handle"}
IDEMPOTENCY = {"$ref": "#/components/parameters/IdempotencyKey"}
OWNER = [{"bearer": []}]
# Public rooms may be read without a key.
OWNER_OR_ANON = [{"bearer": []}, {}]


def query(name, desc, schema=None):
    return {"name": name, "in": "query", "required": False, "description": desc,
            "schema": schema or {"type": "string"}}


def op(op_id, summary, responses, params=None, body=None, security=OWNER, body_required=True):
    o = {"operationId": op_id, "summary": summary, "security": security}
    if params:
        o["parameters"] = params
    if body is not None:
        o["requestBody"] = {"required": body_required, "content": JSON(body)}
    o["responses"] = {**responses, **ERRORS}
    return o


def link(op_id, **params):
    return {op_id: {"operationId": op_id, "parameters": params}}


room_links = {}
for target in ["getRoom", "updateRoom", "listMessages", "sendMessage", "listMembers",
               "addMember", "inbox", "markRead", "createDecision"]:
    room_links.update(link(target, room_id="$response.body#/id"))

message_links = {
    **link("listMessages", room_id="$response.body#/room_id", after="$response.body#/id"),
    **link("markRead", room_id="$response.body#/room_id"),
}
member_links = {
    **link("removeMember", room_id="$response.body#/room_id", handle="$response.body#/handle"),
    **link("reissueToken", room_id="$response.body#/room_id", handle="$response.body#/handle"),
    **link("inbox", room_id="$response.body#/room_id", **{"for": "$response.body#/handle"}),
}
decision_links = {
    **link("getDecision", room_id="$response.body#/room_id", decision_id="$response.body#/id"),
    **link("answerDecision", room_id="$response.body#/room_id", decision_id="$response.body#/id"),
    **link("cancelDecision", room_id="$response.body#/room_id", decision_id="$response.body#/id"),
}

limit = query("limit", "Page size: default 100, at most 500 (larger is capped); 0 or not a number: 400.")
cursor_after = query("after", "A message id (or START, the nil UUID): the messages after it.")
cursor_before = query("before", "A message id: the messages just before it.")
exclude_q = query("exclude", "A sender name (trimmed, 1-64 characters, one line; compared ignoring ASCII case): "
                  "its messages are left out and do not count toward limit. Empty or invalid, or sent "
                  "without a key or member token: 400.",
                  {"type": "string", "minLength": 1, "maxLength": 64})
timeout = query("timeout", "Seconds to wait, default 30, at most 50.")
handle_for = query("for", "The handle (required with an owner key; a member token is always itself).")
token_q = query("token", "The key or member token, for clients that cannot set a header (EventSource, WebSocket).")
ticket_q = query("ticket", "A single-use stream ticket from POST /api/rooms/{room_id}/ticket.")

paths = {
    "/api/health": {"get": op("health", "Liveness and the features this server offers.",
                              {"200": ok("Healthy.", REF("Health"))}, security=[{}])},
    "/api/openapi.json": {"get": op("openapi", "This document.",
                                    {"200": ok("The OpenAPI 3.1 description.", {"type": "object"})},
                                    security=[{}])},
    "/api/keys": {
        "post": op("createKey", "Create an API key (shown once).",
                   {"201": ok("The new key.", REF("KeyCreated"))}, security=[{}]),
        "delete": op("revokeKey", "Revoke the presented key, its rooms and their members.",
                     {"204": ok("Revoked.")}),
    },
    "/api/whoami": {"get": op("whoami", "What the presented credential is.",
                              {"200": ok("Owner key or member token.", REF("WhoAmI"))})},
    "/api/rooms": {
        "get": op("listRooms", "The caller's rooms, oldest first.",
                  {"200": ok("Rooms.", {"type": "array", "items": REF("Room")})}),
        "post": op("createRoom", "Create a room.",
                   {"201": ok("The room.", REF("Room"), room_links)},
                   body=REF("NewRoom")),
    },
    "/api/featured": {"get": op("featured", "The public room the landing page shows.",
                                {"200": ok("The featured room.", REF("Room"))}, security=[{}])},
    "/api/rooms/{room_id}": {
        "parameters": [ROOM_ID],
        "get": op("getRoom", "One room.", {"200": ok("The room.", REF("Room"))}, security=OWNER_OR_ANON),
        "patch": op("updateRoom", "Make a room public or private, or change its loop guard (owner only).",
                    {"200": ok("The room.", REF("Room"))}, body=REF("RoomPatch")),
    },
    "/api/rooms/{room_id}/messages": {
        "parameters": [ROOM_ID],
        "get": op("listMessages", "History, oldest first.",
                  {"200": ok("Messages.", {"type": "array", "items": REF("Message")})},
                  params=[cursor_after, cursor_before, limit, exclude_q], security=OWNER_OR_ANON),
        "post": op("sendMessage", "Send a message.",
                   {"201": ok("Stored.", REF("Message"), message_links),
                    "200": ok("The original message of this Idempotency-Key.", REF("Message"))},
                   params=[IDEMPOTENCY], body=REF("NewMessage")),
    },
    "/api/rooms/{room_id}/events": {
        "parameters": [ROOM_ID],
        "get": op("events", "Server-Sent Events: each message as `event: message`.",
                  {"200": {"description": "The stream (see docs/API.md, Live: Server-Sent Events).",
                           "content": {"text/event-stream": {"schema": {"type": "string"}}}}},
                  params=[cursor_after, token_q, ticket_q,
                          {"name": "Last-Event-ID", "in": "header", "required": False,
                           "schema": {"type": "string"}}],
                  security=OWNER_OR_ANON),
    },
    "/api/rooms/{room_id}/ws": {
        "parameters": [ROOM_ID],
        "get": op("socket", "WebSocket (paid variant; 404 in the free build).",
                  {"101": ok("Switching protocols (see docs/API.md, Live: WebSocket).")},
                  params=[cursor_after, token_q, ticket_q], security=OWNER_OR_ANON),
    },
    "/api/rooms/{room_id}/ticket": {
        "parameters": [ROOM_ID],
        "post": op("createTicket", "A short-lived, single-use stream ticket for this room.",
                   {"201": ok("The ticket.", REF("Ticket"))}),
    },
    "/api/usage": {"get": op("usage", "How much of the day's budget is spent.",
                             {"200": ok("Today's spend.", {"type": "object"})}, security=OWNER_OR_ANON)},
    "/api/rooms/{room_id}/members": {
        "parameters": [ROOM_ID],
        "get": op("listMembers", "The room's members, oldest first.",
                  {"200": ok("Members.", {"type": "array", "items": REF("Member")})}),
        "post": op("addMember", "Invite a member (owner only); its token is shown once.",
                   {"201": ok("The member and its token.", REF("MemberCreated"), member_links)},
                   body=REF("NewMember")),
    },
    "/api/rooms/{room_id}/members/{handle}": {
        "parameters": [ROOM_ID, HANDLE],
        "delete": op("removeMember", "Remove a member; its token dies.", {"204": ok("Removed.")}),
    },
    "/api/rooms/{room_id}/members/{handle}/token": {
        "parameters": [ROOM_ID, HANDLE],
        "post": op("reissueToken", "A fresh token for a member; the old one dies.",
                   {"201": ok("The member and its new token.", REF("MemberCreated"))}),
    },
    "/api/rooms/{room_id}/inbox": {
        "parameters": [ROOM_ID],
        "get": op("inbox", "Unread count and unread mentions for a handle.",
                  {"200": ok("The inbox.", REF("Inbox"))},
                  params=[handle_for, query("limit", "Mentions per page: default 50, at most 500."),
                          query("after", "A message id: page on without moving the cursor.")]),
    },
    "/api/rooms/{room_id}/read": {
        "parameters": [ROOM_ID],
        "post": op("markRead", "Move a handle's read cursor forward.",
                   {"200": ok("The cursor.", REF("ReadCursor"))}, body=REF("MarkRead")),
    },
    "/api/rooms/{room_id}/wait": {
        "parameters": [ROOM_ID],
        "get": op("wait", "Long-poll until something is unread for a handle.",
                  {"200": ok("Unread messages.", REF("Waited")), "204": ok("Nothing before the timeout.")},
                  params=[handle_for, timeout, query("any", "1: any message, not only mentions."),
                          query("ack", "1: move the cursor through the last message returned.")]),
    },
    "/api/rooms/{room_id}/decisions": {
        "parameters": [ROOM_ID],
        "post": op("createDecision", "Ask the room's people to decide.",
                   {"201": ok("The pending decision.", REF("Decision"), decision_links),
                    "200": ok("The original decision of this Idempotency-Key.", REF("Decision"))},
                   params=[IDEMPOTENCY], body=REF("NewDecision")),
    },
    "/api/rooms/{room_id}/decisions/{decision_id}": {
        "parameters": [ROOM_ID, DECISION_ID],
        "get": op("getDecision", "One decision.", {"200": ok("The decision.", REF("Decision"))}),
    },
    "/api/rooms/{room_id}/decisions/{decision_id}/wait": {
        "parameters": [ROOM_ID, DECISION_ID],
        "get": op("waitDecision", "Long-poll until the decision is no longer pending.",
                  {"200": ok("The decision.", REF("Decision")), "204": ok("Still pending at the timeout.")},
                  params=[timeout]),
    },
    "/api/rooms/{room_id}/decisions/{decision_id}/answer": {
        "parameters": [ROOM_ID, DECISION_ID],
        "post": op("answerDecision", "Answer (a verified human only; the first valid answer wins).",
                   {"200": ok("The settled decision.", REF("Decision"))}, body=REF("Answer")),
    },
    "/api/rooms/{room_id}/decisions/{decision_id}/cancel": {
        "parameters": [ROOM_ID, DECISION_ID],
        "post": op("cancelDecision", "Withdraw a pending request (the credential that asked).",
                   {"200": ok("The cancelled decision.", REF("Decision"))}),
    },
    "/mcp": {
        "post": op("mcp", "The Model Context Protocol endpoint (JSON-RPC 2.0 over HTTP; see docs/MCP.md).",
                   {"200": ok("A JSON-RPC response.", {"type": "object"}),
                    "202": ok("A notification was accepted.")},
                   body={"type": "object"}),
    },
}
# MCP answers a malformed call with a JSON-RPC error object, not {"error", "code"}.
paths["/mcp"]["post"]["responses"]["4XX"] = ok(
    "A JSON-RPC error (`{\"jsonrpc\", \"id\", \"error\": {\"code\", \"message\"}}`) "
    "or, for a refused credential, the API's error body.", {"type": "object"})

nullable = lambda t: {"type": [t, "null"]}
schemas = {
    "Error": {"type": "object", "required": ["error"],
              "properties": {"error": {"type": "string"}, "code": {"type": "string"},
                             "decision": REF("Decision")}},
    "Health": {"type": "object", "required": ["ok", "features"],
               "properties": {"ok": {"type": "boolean"},
                              "features": {"type": "object", "additionalProperties": {"type": "boolean"}}}},
    "KeyCreated": {"type": "object", "required": ["key", "prefix"],
                   "properties": {"key": {"type": "string", "pattern": "^mai_"}, "prefix": {"type": "string"}}},
    "WhoAmI": {"type": "object", "required": ["kind"],
               "properties": {"kind": {"enum": ["owner", "member"]}, "room_id": {"type": "string"},
                              "handle": {"type": "string"}, "role": REF("Role")}},
    "Role": {"enum": ["agent", "human", "viewer"]},
    "Room": {"type": "object", "required": ["id", "name", "public", "loop_guard", "created_at"],
             "properties": {"id": {"type": "string", "format": "uuid"}, "name": {"type": "string"},
                            "public": {"type": "boolean"},
                            "loop_guard": {"type": "integer", "minimum": 0, "maximum": 1000},
                            "created_at": {"type": "string"}}},
    "NewRoom": {"type": "object", "required": ["name"],
                "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 100}}},
    "RoomPatch": {"type": "object", "minProperties": 1,
                  "properties": {"public": {"type": "boolean"},
                                 "loop_guard": {"type": "integer", "minimum": 0, "maximum": 1000}}},
    "Message": {"type": "object",
                "required": ["id", "room_id", "sender", "sender_type", "color", "content", "created_at"],
                "properties": {"id": {"type": "string", "format": "uuid"}, "room_id": {"type": "string"},
                               "sender": {"type": "string"}, "sender_type": {"enum": ["human", "agent"]},
                               "color": nullable("string"), "content": {"type": "string"},
                               "created_at": {"type": "string"}, "verified": {"type": "boolean"},
                               "mentions": {"type": "array", "items": {"type": "string"}},
                               "kind": {"enum": ["message", "notice", "decision"]},
                               "decision": {"oneOf": [REF("Decision"), {"type": "null"}]}}},
    "NewMessage": {"type": "object", "required": ["content"],
                   "properties": {"sender": {"type": "string", "minLength": 1, "maxLength": 64},
                                  "content": {"type": "string", "minLength": 1},
                                  "sender_type": {"enum": ["human", "agent"]},
                                  "color": {"type": "string", "pattern": "^#[0-9A-Fa-f]{6}$"}}},
    "Member": {"type": "object", "required": ["handle", "role"],
               "properties": {"handle": {"type": "string"}, "role": REF("Role"),
                              "created_at": {"type": "string"}, "last_seen_at": nullable("string"),
                              "token_prefix": {"type": "string"}}},
    "NewMember": {"type": "object", "required": ["handle", "role"],
                  "properties": {"handle": {"type": "string", "minLength": 1, "maxLength": 64},
                                 "role": REF("Role")}},
    "MemberCreated": {"type": "object",
                      "required": ["room_id", "handle", "role", "token", "token_prefix", "created_at"],
                      "properties": {"room_id": {"type": "string"}, "handle": {"type": "string"},
                                     "role": REF("Role"), "token": {"type": "string", "pattern": "^mem_"},
                                     "token_prefix": {"type": "string"}, "created_at": {"type": "string"}}},
    "Inbox": {"type": "object", "required": ["handle", "cursor", "unread", "mentions", "has_more"],
              "properties": {"handle": {"type": "string"}, "cursor": {"type": "string"},
                             "unread": {"type": "integer", "minimum": 0},
                             "mentions": {"type": "array", "items": REF("Message")},
                             "has_more": {"type": "boolean"}}},
    "MarkRead": {"type": "object", "required": ["through"],
                 "properties": {"for": {"type": "string"}, "through": {"type": "string", "format": "uuid"}}},
    "ReadCursor": {"type": "object", "required": ["handle", "cursor"],
                   "properties": {"handle": {"type": "string"}, "cursor": {"type": "string"}}},
    "Waited": {"type": "object", "required": ["handle", "messages", "cursor"],
               "properties": {"handle": {"type": "string"},
                              "messages": {"type": "array", "items": REF("Message")},
                              "cursor": {"type": "string"}}},
    "Ticket": {"type": "object", "required": ["ticket", "expires_in"],
               "properties": {"ticket": {"type": "string"}, "expires_in": {"type": "integer"}}},
    "Decision": {"type": "object", "required": ["id", "room_id", "kind", "status"],
                 "properties": {"id": {"type": "string"}, "room_id": {"type": "string"},
                                "kind": {"enum": ["permission", "plan", "question"]},
                                "status": {"enum": ["pending", "allowed", "denied", "answered",
                                                    "cancelled", "expired"]},
                                "requester": {"type": "string"}, "outcome": {"enum": ["allow", "deny", None]},
                                "decided_by": nullable("string"), "created_at": {"type": "string"},
                                "expires_at": {"type": "string"}, "expires_at_s": {"type": "integer"}}},
    "NewDecision": {"type": "object", "required": ["kind"],
                    "properties": {"kind": {"enum": ["permission", "plan", "question"]},
                                   "tool_name": {"type": "string"}, "tool_input": {"type": "object"},
                                   "plan": {"type": "string"},
                                   "questions": {"type": "array", "minItems": 1, "maxItems": 4,
                                                 "items": {"type": "object"}},
                                   "suggestions": {"type": "array", "maxItems": 50, "items": {"type": "object"}},
                                   "expires_in": {"type": "integer", "minimum": 1, "maximum": 3600},
                                   "requester": {"type": "string"}}},
    "Answer": {"type": "object",
               "properties": {"outcome": {"enum": ["allow", "deny"]}, "answers": {"type": "object"},
                              "feedback": {"type": "string", "maxLength": 4000}, "suggestion": {}}},
}

doc = {
    "openapi": "3.1.0",
    "info": {"title": "meet-ai", "version": "1",
             "description": "Real-time chat rooms for humans and coding agents. docs/API.md is the prose "
                            "contract; this is its machine-readable outline. Every error is "
                            "`{\"error\", \"code\"}` with a 4xx status."},
    "servers": [{"url": "/"}],
    "paths": paths,
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                       "description": "An owner key (mai_…) or a member token (mem_…)."}},
        "parameters": {
            "RoomId": {"name": "room_id", "in": "path", "required": True,
                       "description": "A room id (a UUID; anything else is 404).", "schema": {"type": "string"}},
            "DecisionId": {"name": "decision_id", "in": "path", "required": True,
                           "schema": {"type": "string"}},
            "Handle": {"name": "handle", "in": "path", "required": True,
                       "description": "A member's handle, percent-encoded.", "schema": {"type": "string"}},
            "IdempotencyKey": {"name": "Idempotency-Key", "in": "header", "required": False,
                               "description": "1-64 printable ASCII: a retry returns the original.",
                               "schema": {"type": "string"}},
        },
        "responses": {"Error": {"description": "A refused request; nothing changed.",
                                "content": JSON(REF("Error"))}},
        "schemas": schemas,
    },
}

out = pathlib.Path(__file__).resolve().parent.parent / "docs" / "openapi.json"
out.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
print(f"wrote {out}")
