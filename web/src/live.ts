// Live delivery of a room's new messages. The one place that knows the
// transport: today Server-Sent Events (EventSource); the paid variant's
// WebSocket (`GET /api/rooms/:id/ws`, announced by `features.websocket` in
// /api/health) would be a second implementation of `LiveConnection` here.
//
// The server ends each event stream by itself every 20-80 s; EventSource then
// reconnects with Last-Event-ID and the server resumes after it. When the
// browser gives up instead (an HTTP error, the network gone), this module
// catches up over REST from the last id it delivered and opens a new stream.
// Duplicates are possible across those seams; the receiver dedupes by id.

import { Api, ApiError, type Message } from "./api";

export type LiveState = "connecting" | "live" | "reconnecting" | "failed";

export interface LiveOptions {
  api: Api;
  roomId: string;
  /** Send the key (owner); public rooms are followed anonymously. */
  auth: boolean;
  /** Start after this message id; null means "from now". */
  after: string | null;
  onMessages(messages: Message[]): void;
  onState(state: LiveState, detail?: string): void;
}

export interface LiveConnection {
  close(): void;
}

/** A blip shorter than this (the server's routine stream end) shows no "reconnecting". */
const QUIET_RECONNECT_MS = 2500;
const MAX_BACKOFF_MS = 30_000;

export function connectLive(opts: LiveOptions): LiveConnection {
  return new SseConnection(opts);
}

class SseConnection implements LiveConnection {
  private es: EventSource | null = null;
  private lastId: string | null;
  private closed = false;
  private state: LiveState | null = null;
  private quietTimer = 0;
  private retryTimer = 0;
  private attempt = 0;
  private readonly onOnline = () => {
    if (!this.es && !this.closed) this.recover();
  };

  constructor(private readonly opts: LiveOptions) {
    this.lastId = opts.after;
    window.addEventListener("online", this.onOnline);
    this.setState("connecting");
    this.open();
  }

  close(): void {
    this.closed = true;
    window.removeEventListener("online", this.onOnline);
    window.clearTimeout(this.quietTimer);
    window.clearTimeout(this.retryTimer);
    this.es?.close();
    this.es = null;
  }

  private url(): string {
    const q = new URLSearchParams();
    if (this.opts.auth && this.opts.api.key) q.set("token", this.opts.api.key);
    if (this.lastId) q.set("after", this.lastId);
    const qs = q.toString();
    return `/api/rooms/${encodeURIComponent(this.opts.roomId)}/events${qs ? `?${qs}` : ""}`;
  }

  private open(): void {
    const es = new EventSource(this.url());
    this.es = es;
    es.addEventListener("open", () => {
      if (this.es !== es) return;
      this.attempt = 0;
      window.clearTimeout(this.quietTimer);
      this.quietTimer = 0;
      this.setState("live");
      // Without a cursor the server starts "from now", at every reconnect:
      // a message sent in between would be missed. Look once over REST, and
      // once there is an id, resume from it.
      if (!this.lastId) void this.catchUpFromNothing(es);
    });
    es.addEventListener("message", (event: MessageEvent<string>) => {
      if (this.es !== es) return;
      let message: Message;
      try {
        message = JSON.parse(event.data) as Message;
      } catch {
        return;
      }
      this.lastId = event.lastEventId || message.id;
      this.opts.onMessages([message]);
    });
    es.addEventListener("error", () => {
      if (this.es !== es || this.closed) return;
      if (es.readyState === EventSource.CONNECTING) {
        // The browser is reconnecting by itself (with Last-Event-ID): routine,
        // unless it is still not back after a moment (it fires this at every
        // failed attempt; the first one starts the clock).
        if (!this.quietTimer) {
          this.quietTimer = window.setTimeout(() => this.setState("reconnecting"), QUIET_RECONNECT_MS);
        }
        return;
      }
      // CLOSED: the browser gave up (an HTTP error status, or no network).
      window.clearTimeout(this.quietTimer);
      this.quietTimer = 0;
      es.close();
      this.es = null;
      this.setState("reconnecting");
      this.scheduleRecover();
    });
  }

  private async catchUpFromNothing(es: EventSource): Promise<void> {
    let page: Message[];
    try {
      page = await this.opts.api.messages(this.opts.roomId, { limit: 100 }, this.opts.auth);
    } catch {
      return; // The stream itself reports lasting trouble.
    }
    if (this.closed || this.es !== es || !page.length) return;
    this.opts.onMessages(page);
    if (this.lastId) return; // The stream delivered meanwhile: it has its cursor.
    this.lastId = page[page.length - 1]!.id;
    es.close();
    this.open();
  }

  private scheduleRecover(): void {
    const base = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** this.attempt);
    const delay = base / 2 + Math.random() * (base / 2);
    this.attempt++;
    window.clearTimeout(this.retryTimer);
    this.retryTimer = window.setTimeout(() => this.recover(), delay);
  }

  /** Catch up over REST (which also tells why the stream failed), then reopen. */
  private async recover(): Promise<void> {
    window.clearTimeout(this.retryTimer);
    if (this.closed || this.es) return;
    try {
      for (;;) {
        const page = await this.opts.api.messages(
          this.opts.roomId,
          this.lastId ? { after: this.lastId, limit: 500 } : { limit: 100 },
          this.opts.auth,
        );
        if (this.closed) return;
        if (page.length) {
          this.lastId = page[page.length - 1]!.id;
          this.opts.onMessages(page);
        }
        if (page.length < 500 || !this.lastId) break;
      }
    } catch (e) {
      if (this.closed) return;
      if (e instanceof ApiError && (e.status === 401 || e.status === 403 || e.status === 404)) {
        this.setState("failed", e.describe());
        return;
      }
      this.scheduleRecover();
      return;
    }
    this.open();
  }

  private setState(state: LiveState, detail?: string): void {
    if (this.closed || (state === this.state && !detail)) return;
    this.state = state;
    this.opts.onState(state, detail);
  }
}
