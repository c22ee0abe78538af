// The meet-ai HTTP API (same origin). Every call goes through `request`, which
// turns the API's `{"error", "code"}` bodies and network failures into ApiError.

import type { Decision } from "./decision";

export type SenderType = "human" | "agent";

/** The body of `POST …/decisions/:did/answer`. */
export interface AnswerBody {
  outcome?: "allow" | "deny";
  answers?: Record<string, string | string[]>;
  feedback?: string;
  suggestion?: Record<string, unknown>;
}
export type Role = "agent" | "human" | "viewer";

export interface Room {
  id: string;
  name: string;
  public: boolean;
  created_at: string;
  /** Agent-only messages in a row before agents are refused (0 = off). */
  loop_guard?: number;
}

export interface Message {
  id: string;
  room_id: string;
  sender: string;
  sender_type: SenderType;
  color: string | null;
  content: string;
  created_at: string;
  /** Sent with a member token: sender and type come from the membership. */
  verified?: boolean;
  /** Canonical handles mentioned; lowercase `all` for @all. */
  mentions?: string[];
  /** `notice`: a message from the server itself (e.g. the loop guard). */
  kind?: "message" | "notice" | "decision";
  /** For `kind: "decision"`: the decision as it was when this message was posted. */
  decision?: Decision;
}

/** A room member as the owner sees it (a member sees handle and role only). */
/** A WebSocket frame from the server (protocol/src/ws.rs `ServerFrame`): a
 * message frame is the message itself with `type` beside its fields. */
export type MessageFrame = { type: "message" } & Message;
export type PongFrame = { type: "pong" };
/** A frame the client sent was refused; the socket stays open. */
export type ErrorFrame = { type: "error"; error: string };

/** Every 4xx/5xx body (protocol/src/wire.rs `ErrorBody`). */
export interface ErrorBody {
  error: string;
  code?: string;
}

export interface Member {
  handle: string;
  role: Role;
  created_at?: string;
  last_seen_at?: string | null;
  token_prefix?: string;
}

/** A member just created or given a new token: the token is shown once. */
export interface MemberCreated {
  room_id: string;
  handle: string;
  role: Role;
  token: string;
  token_prefix: string;
  created_at: string;
}

export type WhoAmI = { kind: "owner" } | { kind: "member"; room_id: string; handle: string; role: Role };

export interface Inbox {
  handle: string;
  cursor: string;
  unread: number;
  mentions: Message[];
  has_more: boolean;
}

export interface KeyCreated {
  key: string;
  prefix: string;
}

/** `GET /api/health`: what this server offers. */
export interface Health {
  ok: boolean;
  features?: {
    /** The paid variant: live delivery over `GET /api/rooms/:id/ws`. */
    websocket?: boolean;
  };
}

export interface NewMessage {
  sender: string;
  content: string;
  /** Ignored for a member token (the membership decides). */
  sender_type?: SenderType;
  color?: string;
}

/** `POST /api/rooms/:id/ticket`: good for one stream open, within `expires_in` seconds. */
export interface StreamTicket {
  ticket: string;
  expires_in: number;
}

export class ApiError extends Error {
  /** HTTP status; 0 when the server could not be reached. */
  readonly status: number;
  readonly code: string | undefined;
  /** Seconds, from Retry-After on a 429. */
  readonly retryAfter: number | undefined;
  /** The error body as sent (a 409 on a decision carries the winner in `decision`). */
  readonly body: unknown;

  constructor(status: number, message: string, code?: string, retryAfter?: number, body?: unknown) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
    this.body = body;
  }

  /** A sentence for a person, with the wait spelled out on a 429. */
  describe(): string {
    let text = this.message;
    if (text && !/[.!?]$/.test(text)) text += ".";
    text = text.charAt(0).toUpperCase() + text.slice(1);
    if (this.status === 429 && this.retryAfter !== undefined) {
      text += ` Try again ${waitPhrase(this.retryAfter)}.`;
    }
    return text;
  }
}

/** "in 42 seconds", "in about 5 minutes", "in about 3 hours". */
export function waitPhrase(seconds: number): string {
  const s = Math.max(1, Math.ceil(seconds));
  if (s < 60) return `in ${s} second${s === 1 ? "" : "s"}`;
  const m = Math.ceil(s / 60);
  if (m < 60) return `in about ${m} minute${m === 1 ? "" : "s"}`;
  const h = Math.round(m / 60);
  return `in about ${h} hour${h === 1 ? "" : "s"}`;
}

interface RequestOptions {
  body?: unknown;
  headers?: Record<string, string>;
  /** Send the key (when there is one). Reads of public rooms go without it. */
  auth?: boolean;
  /** Sees the headers of a successful answer. */
  onHeaders?: (headers: Headers) => void;
}

/** A page of history: `truncated` when the server's byte cap ended it before
 * its limit, so a short page is not the start (or end) of the room. */
export interface MessagePage {
  messages: Message[];
  truncated: boolean;
}

/** The D1 session bookmark header (protocol/src/bookmark.rs). */
export const BOOKMARK_HEADER = "X-D1-Bookmark";
/** D1's bookmark shape; anything else is not kept (the server would refuse it). */
const BOOKMARK_SHAPE = /^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}$/i;
/** The newest bookmark any response carried: presented on every later
 * request, so a read after a send sees the send even from a replica. */
let bookmark: string | null = null;

/** Keeps `value` if it is a bookmark not older than the one held (D1's
 * bookmarks order as strings); returns the one held. */
export function rememberBookmark(value: string | null): string | null {
  const b = value?.trim() ?? "";
  if (BOOKMARK_SHAPE.test(b) && (bookmark === null || b >= bookmark)) bookmark = b;
  return bookmark;
}

/** How many times a request refused in front of the Worker is sent again. */
export const UNHANDLED_RETRIES = 2;

/** Seconds to wait before sending again a request that never reached the
 * Worker, or null if the Worker answered. The rule of the client library
 * (cli/src/client/errors.rs, `unhandled_wait`): every answer of ours is JSON;
 * a 503 that is not, with a Retry-After of at most 2 s, was made in front of
 * the Worker (wrangler dev's proxy losing its connection to it), so even a
 * POST is safe to repeat. */
export function unhandledWait(status: number, retryAfter: string | null, text: string): number | null {
  const wait = retryAfter === null || retryAfter.trim() === "" ? NaN : Number(retryAfter);
  if (status !== 503 || !Number.isInteger(wait) || wait < 0 || wait > 2) return null;
  try {
    const body = JSON.parse(text) as { error?: unknown };
    if (typeof body?.error === "string") return null;
  } catch {
    // Not ours.
  }
  return wait;
}

export class Api {
  constructor(readonly key: string | null) {}

  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const headers: Record<string, string> = { Accept: "application/json", ...opts.headers };
    if (opts.auth !== false && this.key) headers.Authorization = `Bearer ${this.key}`;
    if (bookmark) headers[BOOKMARK_HEADER] = bookmark;
    let body: string | undefined;
    if (opts.body !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(opts.body);
    }
    let res: Response;
    let text: string;
    for (let retries = 0; ; retries++) {
      try {
        res = await fetch(path, { method, headers, body, cache: "no-store" });
      } catch {
        throw new ApiError(0, "could not reach the server; check your connection", "network");
      }
      rememberBookmark(res.headers.get(BOOKMARK_HEADER));
      if (res.status === 204) return undefined as T;
      text = await res.text();
      const wait = unhandledWait(res.status, res.headers.get("Retry-After"), text);
      if (wait === null || retries >= UNHANDLED_RETRIES) break;
      await new Promise((done) => setTimeout(done, wait * 1000));
    }
    let json: unknown = undefined;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      // Not JSON: handled below.
    }
    if (!res.ok) {
      const err = (json ?? {}) as { error?: unknown; code?: unknown };
      const message =
        typeof err.error === "string" && err.error
          ? err.error
          : `the server answered ${res.status} ${res.statusText}`.trim();
      const retry = Number(res.headers.get("Retry-After"));
      throw new ApiError(
        res.status,
        message,
        typeof err.code === "string" ? err.code : undefined,
        Number.isFinite(retry) && res.headers.has("Retry-After") ? retry : undefined,
        json,
      );
    }
    if (json === undefined) {
      throw new ApiError(res.status, "the server sent an unreadable answer", "bad_response");
    }
    opts.onHeaders?.(res.headers);
    return json as T;
  }

  health(): Promise<Health> {
    return this.request("GET", "/api/health", { auth: false });
  }

  createKey(): Promise<KeyCreated> {
    return this.request("POST", "/api/keys", { auth: false });
  }

  revokeKey(): Promise<void> {
    return this.request("DELETE", "/api/keys");
  }

  listRooms(): Promise<Room[]> {
    return this.request("GET", "/api/rooms");
  }

  createRoom(name: string): Promise<Room> {
    return this.request("POST", "/api/rooms", { body: { name } });
  }

  getRoom(id: string, auth = true): Promise<Room> {
    return this.request("GET", `/api/rooms/${encodeURIComponent(id)}`, { auth });
  }

  setPublic(id: string, isPublic: boolean): Promise<Room> {
    return this.request("PATCH", `/api/rooms/${encodeURIComponent(id)}`, {
      body: { public: isPublic },
    });
  }

  setLoopGuard(id: string, loopGuard: number): Promise<Room> {
    return this.request("PATCH", `/api/rooms/${encodeURIComponent(id)}`, {
      body: { loop_guard: loopGuard },
    });
  }

  /**
   * A single-use, short-lived pass to one room's stream (`?ticket=`), so the
   * key never goes in a URL: URLs end up in logs. One per (re)connect.
   */
  streamTicket(roomId: string): Promise<StreamTicket> {
    return this.request("POST", `/api/rooms/${encodeURIComponent(roomId)}/ticket`);
  }

  whoami(): Promise<WhoAmI> {
    return this.request("GET", "/api/whoami");
  }

  members(roomId: string): Promise<Member[]> {
    return this.request("GET", `/api/rooms/${encodeURIComponent(roomId)}/members`);
  }

  addMember(roomId: string, handle: string, role: Role): Promise<MemberCreated> {
    return this.request("POST", `/api/rooms/${encodeURIComponent(roomId)}/members`, { body: { handle, role } });
  }

  removeMember(roomId: string, handle: string): Promise<void> {
    return this.request("DELETE", `/api/rooms/${encodeURIComponent(roomId)}/members/${encodeURIComponent(handle)}`);
  }

  reissueToken(roomId: string, handle: string): Promise<MemberCreated> {
    return this.request(
      "POST",
      `/api/rooms/${encodeURIComponent(roomId)}/members/${encodeURIComponent(handle)}/token`,
    );
  }

  /** Unread count and unread mentions; `forHandle` null for a member token (itself). */
  inbox(roomId: string, forHandle: string | null, limit = 1): Promise<Inbox> {
    const q = new URLSearchParams();
    if (forHandle) q.set("for", forHandle);
    q.set("limit", String(limit));
    return this.request("GET", `/api/rooms/${encodeURIComponent(roomId)}/inbox?${q}`);
  }

  /** Moves the read cursor forward through `through`. */
  markRead(roomId: string, forHandle: string | null, through: string): Promise<{ handle: string; cursor: string }> {
    const body: Record<string, string> = { through };
    if (forHandle) body.for = forHandle;
    return this.request("POST", `/api/rooms/${encodeURIComponent(roomId)}/read`, { body });
  }

  featured(): Promise<Room> {
    return this.request("GET", "/api/featured", { auth: false });
  }

  async messages(
    roomId: string,
    page: { after?: string; before?: string; limit?: number },
    auth = true,
  ): Promise<Message[]> {
    return (await this.messagePage(roomId, page, auth)).messages;
  }

  /** A page of history, and whether the byte cap cut it (`Page-Truncated`). */
  async messagePage(
    roomId: string,
    page: { after?: string; before?: string; limit?: number },
    auth = true,
  ): Promise<MessagePage> {
    const q = new URLSearchParams();
    if (page.after) q.set("after", page.after);
    if (page.before) q.set("before", page.before);
    if (page.limit) q.set("limit", String(page.limit));
    const qs = q.toString();
    let truncated = false;
    const messages = await this.request<Message[]>(
      "GET",
      `/api/rooms/${encodeURIComponent(roomId)}/messages${qs ? `?${qs}` : ""}`,
      { auth, onHeaders: (h) => (truncated = h.has("Page-Truncated")) },
    );
    return { messages, truncated };
  }

  /** Answers a decision; 409 (someone was first, or it expired) carries the winner in the error body. */
  answerDecision(roomId: string, decisionId: string, body: AnswerBody): Promise<Decision> {
    return this.request(
      "POST",
      `/api/rooms/${encodeURIComponent(roomId)}/decisions/${encodeURIComponent(decisionId)}/answer`,
      { body },
    );
  }

  send(roomId: string, message: NewMessage, idempotencyKey: string): Promise<Message> {
    return this.request("POST", `/api/rooms/${encodeURIComponent(roomId)}/messages`, {
      body: message,
      headers: { "Idempotency-Key": idempotencyKey },
    });
  }
}

/** Canonical lowercase hyphenated UUID, the only id form the API uses. */
export function isRoomId(s: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(s);
}

/** A fresh Idempotency-Key (printable ASCII, at most 64 characters). */
export function newIdempotencyKey(): string {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
