// The MCP endpoint (POST /mcp) against a real local meet-ai: wrangler dev
// with fresh state on a free loopback port (web/tests/server.mjs starts it in
// its own process group and stops it by group). Clients are the official
// TypeScript SDK's, over its Streamable HTTP transport, as Claude Code and
// other MCP clients connect. The SDK validates every structuredContent
// against the tool's outputSchema, so these calls also check the schemas.
//
// Needs `make build` first. Run: `npm run --silent test:mcp`.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { api, createKey, devFetch, startServer } from "../../web/tests/server.mjs";

const TIMEOUT = 60_000;
const TOOLS = ["list_rooms", "create_room", "send_message", "read_messages", "wait_for_messages", "inbox", "mark_read"];

let server;
let base;
const clients = [];

before(
  async () => {
    server = await startServer();
    base = server.base;
  },
  { timeout: 180_000 },
);

after(async () => {
  for (const c of clients) await c.close().catch(() => {});
  await server?.stop();
});

/** An SDK client connected to /mcp with this credential. */
async function connect(credential, name = "e2e") {
  const client = new Client({ name, version: "1.0.0" });
  const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
    requestInit: { headers: { Authorization: `Bearer ${credential}` } },
    fetch: devFetch,
  });
  await client.connect(transport);
  clients.push(client);
  return { client, transport };
}

/** Calls a tool; returns [structuredContent, isError]. */
async function call(client, name, args = {}) {
  const r = await client.callTool({ name, arguments: args });
  const text = JSON.parse(r.content[0].text);
  assert.deepEqual(text, r.structuredContent, "the text block carries the same JSON");
  return [r.structuredContent, r.isError === true];
}

/** A raw POST to /mcp. */
async function post(body, headers = {}) {
  const res = await devFetch(`${base}/mcp`, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      Accept: "application/json, text/event-stream",
      ...headers,
    },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { res, text, json: text ? JSON.parse(text) : undefined };
}

/** An owner key, a room, and member tokens for the given handles (agents). */
async function roomWithMembers(...handles) {
  const key = await createKey(base);
  const room = await api(base, key, "POST", "/api/rooms", { name: "mcp" });
  const tokens = {};
  for (const handle of handles) {
    const m = await api(base, key, "POST", `/api/rooms/${room.id}/members`, { handle, role: "agent" });
    tokens[handle] = m.token;
  }
  return { key, room, tokens };
}

describe("MCP endpoint", { timeout: 240_000 }, () => {
  test("connects, negotiates the latest revision, and lists the tools with schemas", { timeout: TIMEOUT }, async () => {
    const key = await createKey(base);
    const { client, transport } = await connect(key);
    assert.equal(client.getServerVersion().name, "meet-ai");
    assert.equal(transport.protocolVersion, "2025-11-25");
    assert.ok(client.getServerCapabilities().tools);
    const { tools } = await client.listTools();
    assert.deepEqual(
      tools.map((t) => t.name),
      TOOLS,
    );
    for (const t of tools) {
      assert.equal(t.inputSchema.type, "object", t.name);
      assert.equal(t.outputSchema.type, "object", t.name);
      assert.ok(t.description.length > 20, t.name);
    }
    await client.ping();
  });

  test("an owner key creates and lists rooms and reads history", { timeout: TIMEOUT }, async () => {
    const key = await createKey(base);
    const { client } = await connect(key);
    const [created, err] = await call(client, "create_room", { name: "via mcp" });
    assert.equal(err, false);
    assert.equal(created.room.name, "via mcp");
    const [listed] = await call(client, "list_rooms");
    assert.deepEqual(
      listed.rooms.map((r) => r.id),
      [created.room.id],
    );
    const [sent, sendErr] = await call(client, "send_message", {
      room_id: created.room.id,
      sender: "owner",
      content: "first",
    });
    assert.equal(sendErr, false);
    assert.equal(sent.message.content, "first");
    assert.equal(sent.message.verified, false);
    const [page] = await call(client, "read_messages", { room_id: created.room.id });
    assert.deepEqual(
      page.messages.map((m) => m.content),
      ["first"],
    );
    assert.equal(page.next_after, sent.message.id);
    const [empty] = await call(client, "read_messages", { room_id: created.room.id, after: page.next_after });
    assert.deepEqual(empty.messages, []);
    assert.equal(empty.next_after, sent.message.id);
  });

  test("two member agents hold a conversation through send and wait", { timeout: TIMEOUT }, async () => {
    const { room, tokens } = await roomWithMembers("ada", "bob");
    const { client: ada } = await connect(tokens.ada, "ada");
    const { client: bob } = await connect(tokens.bob, "bob");

    // A member sees exactly its room.
    const [rooms] = await call(ada, "list_rooms");
    assert.deepEqual(
      rooms.rooms.map((r) => r.id),
      [room.id],
    );

    // Bob waits for a mention; Ada mentions him while he waits.
    const bobWaits = call(bob, "wait_for_messages", { room_id: room.id, timeout: 20 });
    await new Promise((r) => setTimeout(r, 500));
    const [sent, sendErr] = await call(ada, "send_message", { room_id: room.id, content: "@bob can you review?" });
    assert.equal(sendErr, false);
    assert.equal(sent.message.sender, "ada");
    assert.equal(sent.message.sender_type, "agent");
    assert.equal(sent.message.verified, true);
    assert.deepEqual(sent.message.mentions, ["bob"]);
    assert.equal(sent.unread_mentions, 0);
    const [woke, waitErr] = await bobWaits;
    assert.equal(waitErr, false);
    assert.equal(woke.timed_out, false);
    assert.equal(woke.handle, "bob");
    assert.deepEqual(
      woke.messages.map((m) => m.content),
      ["@bob can you review?"],
    );
    // Acked by default: the cursor moved through it.
    assert.equal(woke.cursor, sent.message.id);

    // Bob answers; Ada learns of the mention from her next call's result.
    const [reply] = await call(bob, "send_message", { room_id: room.id, content: "@ada looks good" });
    const [page] = await call(ada, "read_messages", { room_id: room.id });
    assert.equal(page.unread_mentions, 1);
    const [inbox] = await call(ada, "inbox", { room_id: room.id });
    assert.equal(inbox.handle, "ada");
    assert.deepEqual(
      inbox.mentions.map((m) => m.id),
      [reply.message.id],
    );
    assert.equal(inbox.unread_mentions, 1);
    const [marked] = await call(ada, "mark_read", { room_id: room.id, through: reply.message.id });
    assert.equal(marked.cursor, reply.message.id);
    assert.equal(marked.unread_mentions, 0);

    // Nothing new: a short wait times out and says so.
    const [idle, idleErr] = await call(ada, "wait_for_messages", { room_id: room.id, timeout: 1 });
    assert.equal(idleErr, false);
    assert.equal(idle.timed_out, true);
    assert.deepEqual(idle.messages, []);
  });

  test("refused calls are isError results with the REST codes", { timeout: TIMEOUT }, async () => {
    const { key, room, tokens } = await roomWithMembers("cy");
    const { client: owner } = await connect(key);
    const { client: member } = await connect(tokens.cy);

    let [e, isError] = await call(owner, "create_room", { name: "   " });
    assert.equal(isError, true);
    assert.equal(e.code, "bad_request");
    assert.match(e.error, /name/);

    [e, isError] = await call(owner, "create_room", { name: 42 });
    assert.equal(isError, true);
    assert.equal(e.code, "bad_request");

    [e, isError] = await call(owner, "send_message", { room_id: room.id, content: "no sender" });
    assert.equal(isError, true);
    assert.equal(e.code, "bad_request");

    [e, isError] = await call(owner, "read_messages", { room_id: "5eed0000-0000-4000-8000-00000000dead" });
    assert.equal(isError, true);
    assert.equal(e.code, "not_found");

    [e, isError] = await call(owner, "read_messages", { room_id: "not-a-uuid" });
    assert.equal(isError, true);
    assert.equal(e.code, "not_found");

    [e, isError] = await call(owner, "inbox", { room_id: room.id });
    assert.equal(isError, true);
    assert.equal(e.code, "bad_request", "an owner key must say for whom");

    [e, isError] = await call(member, "create_room", { name: "mine" });
    assert.equal(isError, true);
    assert.equal(e.code, "forbidden");

    [e, isError] = await call(member, "wait_for_messages", { room_id: room.id, timeout: 0 });
    assert.equal(isError, true);
    assert.equal(e.code, "bad_request");

    await assert.rejects(owner.callTool({ name: "no_such_tool", arguments: {} }), (err) => err.code === -32602);
  });

  test("credentials: none, malformed or unknown is 401 with a Bearer challenge", { timeout: TIMEOUT }, async () => {
    const init = { jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "t", version: "1" } } };
    for (const headers of [{}, { Authorization: "Basic abc" }, { Authorization: "Bearer mai_not-a-real-key-000000000" }, { Authorization: "Bearer mem_AAAAAAAAAAAAAAAAAAAAAAAA" }]) {
      const { res } = await post(init, headers);
      assert.equal(res.status, 401, JSON.stringify(headers));
      assert.match(res.headers.get("www-authenticate") ?? "", /^Bearer realm="meet-ai"/);
    }
    // The SDK client surfaces it as a failed connect.
    const client = new Client({ name: "anon", version: "1" });
    await assert.rejects(client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`))));
  });

  test("transport rules: 202 for notifications, JSON-RPC errors, 405 for GET and DELETE", { timeout: TIMEOUT }, async () => {
    const key = await createKey(base);
    const auth = { Authorization: `Bearer ${key}` };

    let { res, text } = await post({ jsonrpc: "2.0", method: "notifications/initialized" }, auth);
    assert.equal(res.status, 202);
    assert.equal(text, "");

    let r = await post("{not json", auth);
    assert.equal(r.res.status, 400);
    assert.equal(r.json.error.code, -32700);
    assert.equal(r.json.id, null);

    r = await post([{ jsonrpc: "2.0", id: 1, method: "ping" }], auth);
    assert.equal(r.res.status, 400);
    assert.equal(r.json.error.code, -32600);

    r = await post({ jsonrpc: "2.0", id: 7, method: "resources/list" }, auth);
    assert.equal(r.res.status, 200);
    assert.equal(r.json.id, 7);
    assert.equal(r.json.error.code, -32601);

    r = await post({ jsonrpc: "2.0", id: 8, method: "ping" }, { ...auth, "MCP-Protocol-Version": "1999-01-01" });
    assert.equal(r.res.status, 400);

    r = await post({ jsonrpc: "2.0", id: 9, method: "ping" }, { ...auth, "Content-Type": "text/plain" });
    assert.equal(r.res.status, 415);

    r = await post({ jsonrpc: "2.0", id: 10, method: "ping" }, { ...auth, Origin: "https://evil.example" });
    assert.equal(r.res.status, 403);

    // A 2025-03-26 client gets no outputSchema and no structuredContent.
    r = await post({ jsonrpc: "2.0", id: 11, method: "tools/list" }, { ...auth, "MCP-Protocol-Version": "2025-03-26" });
    assert.equal(r.res.status, 200);
    assert.ok(r.json.result.tools.every((t) => t.outputSchema === undefined));
    r = await post(
      { jsonrpc: "2.0", id: 12, method: "tools/call", params: { name: "list_rooms", arguments: {} } },
      { ...auth, "MCP-Protocol-Version": "2025-03-26" },
    );
    assert.equal(r.json.result.structuredContent, undefined);
    assert.deepEqual(JSON.parse(r.json.result.content[0].text), { rooms: [] });

    for (const method of ["GET", "DELETE"]) {
      ({ res } = { res: await fetch(`${base}/mcp`, { method, headers: { ...auth, Accept: "text/event-stream" } }) });
      assert.equal(res.status, 405, method);
      assert.equal(res.headers.get("allow"), "POST");
      await res.body?.cancel();
    }
  });
});
