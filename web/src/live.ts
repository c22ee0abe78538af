// Live delivery of a room's new messages: the one place that knows the
// transport. It is chosen once per page load from `GET /api/health`:
//
// - `features.websocket` (the paid variant): a WebSocket on
//   `/api/rooms/:id/ws`. The server never ends a socket by itself except to
//   shut out a reader who lost access (close code 1008); we ping every 30 s
//   and drop a socket that stops answering, or when the browser goes offline.
// - otherwise Server-Sent Events (EventSource on `/api/rooms/:id/events`).
//   The server ends each stream every 20-80 s and we reopen it from the last
//   id (an anonymous reader of a public room lets EventSource reconnect by
//   itself with Last-Event-ID).
//
// The key (or member token) never goes in a URL: URLs end up in logs. With
// a credential, every open and reopen first fetches a stream ticket
// (`POST /api/rooms/:id/ticket`, the key in the header), which is good for
// one open of this room within a minute, and puts that in the URL instead.
// A used ticket cannot serve EventSource's own reconnect, so with a ticket
// we close the EventSource when its stream ends and open a new one.
//
// Both open with `after=<last message id>`, or START (the nil UUID) in a room
// that was empty, and the server replays everything after it before going
// live, so an (re)open has no gap. When a connection fails before it opens
// (the browser cannot see an HTTP status there), a REST call from the same
// cursor tells "no access / not found" (give up) from a network problem
// (retry with backoff and jitter), and catches up on the way. Overlaps at the
// seams are harmless: the receiver dedupes by id.

import { Api, ApiError, type Message } from "./api";

export type LiveState = "connecting" | "live" | "reconnecting" | "failed";

export interface LiveOptions {
  api: Api;
  roomId: string;
  /** Send the key (owner); public rooms are followed anonymously. */
  auth: boolean;
  /** Start after this message id; null means from the start of the room. */
  after: string | null;
  onMessages(messages: Message[]): void;
  onState(state: LiveState, detail?: string): void;
}

export interface LiveConnection {
  close(): void;
}

/** The cursor before a room's first message (valid as `?after=` everywhere). */
export const START = "00000000-0000-0000-0000-000000000000";

/** A blip shorter than this (e.g. the server's routine stream end) shows no "reconnecting". */
const QUIET_RECONNECT_MS = 2500;
const MAX_BACKOFF_MS = 30_000;
/** A connection up this long has proven itself: the backoff starts over. */
const STABLE_MS = 10_000;
/** How often a socket is pinged, and how long it may then stay silent. */
const PING_MS = 30_000;
const PONG_TIMEOUT_MS = 10_000;
/** Exactly the text the server's auto-response matches. */
const PING = '{"type":"ping"}';

export type Transport = "websocket" | "sse";

let chosen: Promise<Transport> | null = null;

/** The live transport of this page, asked of the server once per page load. */
export function liveTransport(api: Api): Promise<Transport> {
  if (!chosen) {
    const asked = api.health().then(
      (h): Transport => (h.features?.websocket === true && typeof WebSocket === "function" ? "websocket" : "sse"),
      (): Transport => {
        // Unknown: the event stream works on every variant; ask again next time.
        chosen = null;
        return "sse";
      },
    );
    chosen = asked;
  }
  return chosen;
}

export function connectLive(opts: LiveOptions): LiveConnection {
  let inner: LiveConnection | null = null;
  let closed = false;
  opts.onState("connecting");
  void liveTransport(opts.api).then((transport) => {
    if (closed) return;
    const conn = transport === "websocket" ? new WsConnection(opts) : new SseConnection(opts);
    conn.start();
    inner = conn;
  });
  return {
    close() {
      closed = true;
      inner?.close();
    },
  };
}

/**
 * What both transports share: the cursor, the state shown in the header, the
 * quiet period for short blips, and recovery over REST with backoff.
 */
abstract class Connection implements LiveConnection {
  protected lastId: string;
  protected closed = false;
  /** A ticket is being fetched for an open. */
  protected opening = false;
  private generation = 0;
  private state: LiveState | null = null;
  private quietTimer = 0;
  private retryTimer = 0;
  private stableTimer = 0;
  private attempt = 0;
  private recovering = false;
  private readonly onOnline = () => {
    if (!this.active && !this.closed) void this.recover();
  };

  constructor(protected readonly opts: LiveOptions) {
    this.lastId = opts.after ?? START;
  }

  /** A channel exists (opening or open). */
  protected abstract get active(): boolean;
  /** Opens a channel from `lastId`. */
  protected abstract open(): void;
  /** Closes the channel, if any, without telling anyone. */
  protected abstract shut(): void;

  start(): void {
    window.addEventListener("online", this.onOnline);
    this.open();
  }

  close(): void {
    this.closed = true;
    window.removeEventListener("online", this.onOnline);
    window.clearTimeout(this.quietTimer);
    window.clearTimeout(this.retryTimer);
    window.clearTimeout(this.stableTimer);
    this.shut();
  }

  /** Whether opens go with a credential (and so need a ticket each). */
  protected get keyed(): boolean {
    return this.opts.auth && this.opts.api.key !== null;
  }

  /** The stream URL from `lastId`, with a fresh ticket when keyed. */
  protected async url(kind: "events" | "ws"): Promise<string> {
    const q = new URLSearchParams();
    if (this.keyed) q.set("ticket", (await this.opts.api.streamTicket(this.opts.roomId)).ticket);
    q.set("after", this.lastId);
    return `/api/rooms/${encodeURIComponent(this.opts.roomId)}/${kind}?${q}`;
  }

  /**
   * Opens a channel once its URL is ready. A ticket that cannot be had is a
   * failed open (REST recovery then tells why); a stale answer (the
   * connection was shut or reopened meanwhile) is dropped.
   */
  protected withUrl(kind: "events" | "ws", then: (url: string) => void): void {
    const generation = ++this.generation;
    this.opening = true;
    this.url(kind).then(
      (url) => {
        if (generation !== this.generation || this.closed) return;
        this.opening = false;
        then(url);
      },
      () => {
        if (generation !== this.generation || this.closed) return;
        this.opening = false;
        this.failed();
      },
    );
  }

  /** Forgets a pending open, if any (part of every shut). */
  protected cancelOpening(): void {
    this.generation++;
    this.opening = false;
  }

  /** The channel is open: live. */
  protected opened(): void {
    window.clearTimeout(this.quietTimer);
    this.quietTimer = 0;
    window.clearTimeout(this.stableTimer);
    this.stableTimer = window.setTimeout(() => (this.attempt = 0), STABLE_MS);
    this.setState("live");
  }

  protected deliver(message: Message): void {
    if (this.closed || message.room_id !== this.opts.roomId) return;
    this.lastId = message.id;
    this.opts.onMessages([message]);
  }

  /** A short interruption may be under way: say so only if it lasts. */
  protected blip(): void {
    window.clearTimeout(this.stableTimer);
    if (!this.quietTimer) {
      this.quietTimer = window.setTimeout(() => this.setState("reconnecting"), QUIET_RECONNECT_MS);
    }
  }

  /**
   * The channel failed before it opened, or was shut for policy: find out
   * why over REST (after a backoff), then reopen or give up.
   */
  protected failed(): void {
    window.clearTimeout(this.stableTimer);
    window.clearTimeout(this.quietTimer);
    this.quietTimer = 0;
    this.setState("reconnecting");
    this.retry(() => void this.recover());
  }

  /** Runs `then` after the current backoff, with jitter. */
  protected retry(then: () => void): void {
    const base = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** this.attempt);
    const delay = base / 2 + Math.random() * (base / 2);
    this.attempt++;
    window.clearTimeout(this.retryTimer);
    this.retryTimer = window.setTimeout(then, delay);
  }

  /** Catch up over REST from the cursor (which also tells why the channel failed), then reopen. */
  private async recover(): Promise<void> {
    window.clearTimeout(this.retryTimer);
    if (this.closed || this.active || this.recovering) return;
    this.recovering = true;
    let page: Message[];
    try {
      page = await this.opts.api.messages(this.opts.roomId, { after: this.lastId, limit: 100 }, this.opts.auth);
    } catch (e) {
      if (this.closed) return;
      if (e instanceof ApiError && (e.status === 401 || e.status === 403 || e.status === 404)) {
        // Asked without a key, a private room answers 401 and a missing one
        // 404: the same thing to a reader (and not about a key they lack).
        this.setState("failed", this.opts.auth ? e.describe() : "This room is private now, or it no longer exists.");
      } else {
        this.setState("reconnecting");
        this.retry(() => void this.recover());
      }
      return;
    } finally {
      this.recovering = false;
    }
    if (this.closed || this.active) return;
    for (const m of page) this.deliver(m);
    // The rest, if any, comes as the channel's replay.
    this.open();
  }

  private setState(state: LiveState, detail?: string): void {
    if (this.closed || (state === this.state && !detail)) return;
    this.state = state;
    this.opts.onState(state, detail);
  }
}

class SseConnection extends Connection {
  private es: EventSource | null = null;

  protected get active(): boolean {
    return this.es !== null || this.opening;
  }

  protected open(): void {
    this.withUrl("events", (url) => this.connect(url));
  }

  private connect(url: string): void {
    // The stream announces its resume point (`id:`) before any message, so
    // EventSource's own reconnects resume from here even before one arrives.
    const es = new EventSource(url);
    this.es = es;
    let wasOpen = false;
    es.addEventListener("open", () => {
      if (this.es !== es) return;
      wasOpen = true;
      this.opened();
    });
    es.addEventListener("message", (event: MessageEvent<string>) => {
      if (this.es !== es) return;
      let message: Message;
      try {
        message = JSON.parse(event.data) as Message;
      } catch {
        return;
      }
      this.deliver(message);
    });
    es.addEventListener("error", () => {
      if (this.es !== es || this.closed) return;
      if (this.keyed && wasOpen) {
        // The stream ended (routinely, every 20-80 s); its ticket is used,
        // so EventSource's own reconnect would be refused: reopen with a new
        // ticket from the last id, at once.
        this.shut();
        this.blip();
        this.open();
        return;
      }
      if (es.readyState === EventSource.CONNECTING) {
        // The browser is reconnecting by itself (with Last-Event-ID): routine,
        // unless it is still not back after a moment (it fires this at every
        // failed attempt; the first one starts the clock).
        this.blip();
        return;
      }
      // CLOSED: the browser gave up (an HTTP error status, or no network).
      this.shut();
      this.failed();
    });
  }

  protected shut(): void {
    this.cancelOpening();
    this.es?.close();
    this.es = null;
  }
}

/** A socket frame: a message frame is the message object itself, with
 * `type: "message"` beside its fields (protocol/src/ws.rs). */
type ServerFrame = { type?: unknown } & Partial<Message>;

class WsConnection extends Connection {
  private ws: WebSocket | null = null;
  private pingTimer = 0;
  private pongTimer = 0;
  private readonly onOffline = () => {
    // No network: the socket is dead or soon will be, and may not notice for
    // a long while. Drop it; "online" (or the backoff) brings it back.
    if (this.ws) this.drop(true);
  };

  protected get active(): boolean {
    return this.ws !== null || this.opening;
  }

  override start(): void {
    window.addEventListener("offline", this.onOffline);
    super.start();
  }

  override close(): void {
    window.removeEventListener("offline", this.onOffline);
    super.close();
  }

  protected open(): void {
    this.withUrl("ws", (url) => this.connect(url));
  }

  private connect(url: string): void {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    let ws: WebSocket;
    try {
      ws = new WebSocket(`${scheme}//${location.host}${url}`);
    } catch {
      this.failed(); // Refused on the spot (a blocked port, say): as if refused by the server.
      return;
    }
    this.ws = ws;
    let wasOpen = false;
    ws.addEventListener("open", () => {
      if (this.ws !== ws) return;
      wasOpen = true;
      this.opened();
      this.pingTimer = window.setInterval(() => this.ping(ws), PING_MS);
    });
    ws.addEventListener("message", (event: MessageEvent<unknown>) => {
      if (this.ws !== ws) return;
      window.clearTimeout(this.pongTimer); // Any frame shows the socket is alive.
      if (typeof event.data !== "string") return;
      let frame: ServerFrame;
      try {
        frame = JSON.parse(event.data) as ServerFrame;
      } catch {
        return;
      }
      // "pong" needs nothing more; "error" answers a frame we sent, and we
      // send only pings (messages go by POST, for its status and retries).
      if (frame.type === "message" && typeof frame.id === "string") {
        const { type: _tag, ...message } = frame;
        this.deliver(message as Message);
      }
    });
    // "error" is always followed by "close".
    ws.addEventListener("close", (event: CloseEvent) => {
      if (this.ws !== ws || this.closed) return;
      this.shut();
      // Refused before the upgrade (401/404 or no server), or shut out for
      // policy (key revoked, room now private): ask REST why. Otherwise the
      // connection broke under us: reopen soon from the last id.
      if (!wasOpen || event.code === 1008) this.failed();
      else this.drop(false);
    });
  }

  /** Gives up on the current socket and reconnects from the last id. */
  private drop(offline: boolean): void {
    this.shut();
    if (offline) {
      this.failed();
      return;
    }
    this.blip();
    this.retry(() => {
      if (!this.closed && !this.active) this.open();
    });
  }

  private ping(ws: WebSocket): void {
    if (this.ws !== ws || ws.readyState !== WebSocket.OPEN) return;
    ws.send(PING);
    window.clearTimeout(this.pongTimer);
    this.pongTimer = window.setTimeout(() => {
      if (this.ws === ws) this.drop(false);
    }, PONG_TIMEOUT_MS);
  }

  protected shut(): void {
    this.cancelOpening();
    window.clearInterval(this.pingTimer);
    window.clearTimeout(this.pongTimer);
    const ws = this.ws;
    this.ws = null;
    ws?.close();
  }
}
