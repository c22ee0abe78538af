// The message list: rendering, ordering, dedupe by id, grouping, and the
// scroll behaviour (pinned to the bottom while there; otherwise the view holds
// still and an "N new messages" pill offers the jump; older pages load above
// without moving what is on screen).

import type { Message, MessagePage } from "./api";
import { senderColor } from "./color";
import { drawDecision, type CardContext } from "./decision-card";
import { replaces } from "./decision";
import { announce, h } from "./dom";
import { renderMarkdown } from "./markdown";
import { mentionSpans, mentionsHandle } from "./mention";
import { exactTime, relativeTime } from "./time";

/** Consecutive messages from one sender within this window share a header. */
const GROUP_MS = 5 * 60_000;
/** Closer than this to the bottom counts as "at the bottom". */
const PIN_SLACK_PX = 48;
/** Start loading older messages this close to the top. */
const LOAD_OLDER_PX = 400;

/** How messages render for this reader: `me` is the handle whose mentions stand out. */
export interface RenderOptions {
  me?: string | null;
  /** Who may answer decision cards, and how an answer is sent. */
  decisions?: CardContext;
}

export function renderMessage(m: Message, opts: RenderOptions = {}): HTMLLIElement {
  if (m.kind === "notice") return renderNotice(m);
  if (m.kind === "decision" && m.decision) return renderDecisionMessage(m, opts.decisions);
  const when = new Date(m.created_at);
  const color = senderColor(m.sender, m.color);
  const isAgent = m.sender_type === "agent";
  const initial = Array.from(m.sender.trim())[0]?.toUpperCase() ?? "?";
  const avatar = h("span", { class: `avatar${isAgent ? " agent" : ""}`, "aria-hidden": "true" }, initial);
  avatar.style.setProperty("--c", color);
  const name = h("span", { class: "sender" }, m.sender);
  name.style.setProperty("--c", color);
  const time = h(
    "time",
    { class: "rel", datetime: m.created_at, title: exactTime(when) },
    relativeTime(when),
  );
  const body = h("div", { class: "content" });
  body.appendChild(renderMarkdown(m.content));
  const me = opts.me ?? null;
  if (m.mentions?.length) markMentions(body, m.mentions, me);
  const forMe = mentionsHandle(m.mentions, me) && m.sender.toLowerCase() !== me?.toLowerCase();
  const li = h(
    "li",
    { class: `msg ${isAgent ? "from-agent" : "from-human"}${forMe ? " mentions-me" : ""}`, "data-id": m.id },
    avatar,
    h(
      "div",
      { class: "msg-main" },
      h(
        "div",
        { class: "msg-head" },
        name,
        m.verified
          ? h(
              "span",
              { class: "verified", title: "verified by the server", "aria-label": "verified by the server", role: "img" },
              "✓",
            )
          : null,
        isAgent ? h("span", { class: "badge", title: "Posted by a coding agent" }, "agent") : null,
        forMe ? h("span", { class: "sr-only" }, "mentions you") : null,
        time,
      ),
      body,
    ),
  );
  li.dataset.t = String(when.getTime());
  li.dataset.sender = `${m.sender_type}:${m.verified ? "v:" : ""}${m.sender}`;
  return li;
}

/** A server notice (e.g. the loop guard tripped): centered, not someone's message. */
function renderNotice(m: Message): HTMLLIElement {
  const when = new Date(m.created_at);
  const li = h(
    "li",
    { class: "msg notice-msg", "data-id": m.id, role: "note" },
    h(
      "div",
      { class: "notice-body" },
      h("span", { class: "notice-from", title: "verified by the server" }, m.sender || "meet-ai"),
      h("p", { class: "notice-text" }, m.content),
      h("time", { class: "rel", datetime: m.created_at, title: exactTime(when) }, relativeTime(when)),
    ),
  );
  li.dataset.t = String(when.getTime());
  li.dataset.sender = "notice";
  if (/loop.?guard|in a row/i.test(m.content)) {
    li.dataset.loopGuard = "1";
    // Shown (by CSS) only to someone who may post, and only while the notice is the newest message.
    li.firstElementChild!.appendChild(
      h(
        "div",
        { class: "notice-actions" },
        h("button", { type: "button", class: "btn small primary", "data-action": "carry-on", title: "Post a human message, which lets the agents go on" }, "Carry on"),
        h("button", { type: "button", class: "btn small", "data-action": "raise-guard", title: "Double how many agent messages in a row the room allows" }, "Raise the limit"),
      ),
    );
  }
  return li;
}

const NO_ANSWERS: CardContext = {
  viewer: () => ({ kind: "visitor" }),
  answer: () => Promise.reject(new Error("not allowed to answer")),
};

/** A decision request: one card per decision id, redrawn by later snapshots. */
function renderDecisionMessage(m: Message, ctx: CardContext = NO_ANSWERS): HTMLLIElement {
  const when = new Date(m.created_at);
  const li = h("li", { class: "msg decision-msg", "data-id": m.id, "data-decision": m.decision!.id });
  li.dataset.t = String(when.getTime());
  li.dataset.sender = "decision";
  drawDecision(li, m.decision!, ctx);
  return li;
}

/** Wraps the `@name` mentions the server recognised in <mark>s (text nodes only, code left alone). */
function markMentions(root: HTMLElement, mentions: readonly string[], me: string | null): void {
  const wanted = new Set(mentions.map((x) => x.toLowerCase()));
  const mine = me?.toLowerCase() ?? null;
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT, {
    acceptNode: (n) =>
      (n.parentElement?.closest("code, pre, a") ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT),
  });
  const nodes: Text[] = [];
  while (walker.nextNode()) nodes.push(walker.currentNode as Text);
  for (const node of nodes) {
    const text = node.data;
    const spans = mentionSpans(text).filter((s) => wanted.has(s.name.toLowerCase()));
    if (!spans.length) continue;
    const frag = document.createDocumentFragment();
    let at = 0;
    for (const s of spans) {
      if (s.start > at) frag.appendChild(document.createTextNode(text.slice(at, s.start)));
      const lower = s.name.toLowerCase();
      const self = lower === mine || lower === "all";
      frag.appendChild(h("mark", { class: `mention${self ? " me" : ""}` }, text.slice(s.start, s.end)));
      at = s.end;
    }
    if (at < text.length) frag.appendChild(document.createTextNode(text.slice(at)));
    node.replaceWith(frag);
  }
}

/** Refreshes every relative time on the page. */
export function refreshTimes(root: ParentNode = document): void {
  const now = new Date();
  for (const t of Array.from(root.querySelectorAll<HTMLTimeElement>("time.rel"))) {
    const text = relativeTime(new Date(t.dateTime), now);
    if (t.textContent !== text) t.textContent = text;
  }
}

export interface ListOptions {
  scroller: HTMLElement;
  list: HTMLOListElement;
  pill: HTMLButtonElement;
  /** Fetches the page before a message id (oldest first), or [] at the start. */
  loadOlder(before: string): Promise<MessagePage>;
  pageSize: number;
  /** The reader's handle, for highlighting mentions of it. */
  me?: () => string | null;
  /** Called after messages were added or the reader reached the bottom. */
  onChange?: () => void;
  /** Decision cards: who may answer, and how. */
  decisions?: CardContext;
}

export type AddMode = "initial" | "live" | "own";

export class MessageList {
  private readonly ids = new Set<string>();
  /** Senders seen, most recent last (for @-completion). */
  private readonly senders = new Map<string, number>();
  /** Decision id → its card and the snapshot it shows. */
  private readonly decisionCards = new Map<string, { li: HTMLLIElement; snap: Message }>();
  private pinned = true;
  private unread = 0;
  private loadingOlder = false;
  private olderFailedAt = 0;
  private reachedStart = false;
  private anchor: { el: HTMLElement; offset: number } | null = null;
  private readonly resize: ResizeObserver;
  private readonly onScroll = () => this.handleScroll();

  constructor(private readonly opts: ListOptions) {
    opts.scroller.addEventListener("scroll", this.onScroll, { passive: true });
    opts.pill.addEventListener("click", () => {
      this.scrollToBottom();
      opts.scroller.focus({ preventScroll: true });
    });
    // Content changes size later too (highlighting, fonts, a rotated phone):
    // stay at the bottom when pinned, otherwise keep the same message in view.
    this.resize = new ResizeObserver(() => this.keepPosition());
    this.resize.observe(opts.list);
    this.resize.observe(opts.scroller);
  }

  destroy(): void {
    this.resize.disconnect();
    this.opts.scroller.removeEventListener("scroll", this.onScroll);
  }

  get size(): number {
    return this.ids.size;
  }

  /** The newest message id shown (for `?after=`). */
  lastId(): string | null {
    return (this.opts.list.lastElementChild as HTMLElement | null)?.dataset.id ?? null;
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  /** At the bottom of the list (the reader sees the newest message). */
  get isPinned(): boolean {
    return this.pinned;
  }

  /** Senders in the loaded history, most recent first. */
  recentSenders(): string[] {
    return [...this.senders.entries()].sort((a, b) => b[1] - a[1]).map(([name]) => name);
  }

  private render(m: Message): HTMLLIElement {
    if (m.kind !== "notice") {
      const t = Date.parse(m.created_at);
      if (t > (this.senders.get(m.sender) ?? 0)) this.senders.set(m.sender, t);
    }
    const li = renderMessage(m, { me: this.opts.me?.() ?? null, decisions: this.opts.decisions });
    if (m.kind === "decision" && m.decision) this.decisionCards.set(m.decision.id, { li, snap: m });
    return li;
  }

  /**
   * A snapshot of a decision that already has a card: the card shows the
   * newer state (never more than one card per decision). True when handled.
   */
  private updateDecision(m: Message): boolean {
    if (m.kind !== "decision" || !m.decision) return false;
    const shown = this.decisionCards.get(m.decision.id);
    if (!shown) return false;
    const snap = (x: Message) => ({ status: x.decision!.status, created_at: x.created_at });
    if (replaces(snap(shown.snap), snap(m))) {
      shown.snap = m;
      drawDecision(shown.li, m.decision, this.opts.decisions ?? NO_ANSWERS);
    }
    return true;
  }

  /** Adds messages in any order, skipping ones already shown. */
  /** Adds messages; `truncated` (initial page only): the byte cap cut it, so
   * a short page does not mean the start of the room. */
  add(messages: Message[], mode: AddMode, truncated = false): number {
    const fresh = messages.filter((m) => !this.ids.has(m.id));
    if (!fresh.length) return 0;
    this.saveAnchor();
    const wasPinned = this.pinned;
    for (const m of fresh) {
      this.ids.add(m.id);
      if (this.updateDecision(m)) continue;
      const el = this.render(m);
      this.insertByTime(el);
      this.regroup(el);
      this.regroup(el.nextElementSibling as HTMLElement | null);
    }
    if (mode === "initial") {
      this.reachedStart = messages.length < this.opts.pageSize && !truncated;
      this.opts.list.classList.toggle("at-start", this.reachedStart);
      this.scrollToBottom();
      this.fillViewport();
    } else if (mode === "own" || wasPinned) {
      this.scrollToBottom();
    } else {
      this.keepPosition();
      this.unread += fresh.length;
      this.updatePill();
    }
    this.opts.onChange?.();
    if (mode === "live") {
      const last = fresh[fresh.length - 1]!;
      const more = fresh.length > 1 ? ` and ${fresh.length - 1} more` : "";
      announce(`${last.sender}${last.sender_type === "agent" ? " (agent)" : ""}: ${last.content.slice(0, 200)}${more}`);
    }
    return fresh.length;
  }

  private insertByTime(el: HTMLElement): void {
    const t = Number(el.dataset.t);
    let after = this.opts.list.lastElementChild as HTMLElement | null;
    while (after && Number(after.dataset.t) > t) {
      after = after.previousElementSibling as HTMLElement | null;
    }
    this.opts.list.insertBefore(el, after ? after.nextSibling : this.opts.list.firstChild);
  }

  private regroup(el: HTMLElement | null): void {
    if (!el) return;
    const prev = el.previousElementSibling as HTMLElement | null;
    // A message that mentions the reader keeps its header: who is asking matters.
    const grouped =
      !!prev &&
      !el.classList.contains("mentions-me") &&
      el.dataset.sender !== "notice" &&
      prev.dataset.sender === el.dataset.sender &&
      Number(el.dataset.t) - Number(prev.dataset.t) < GROUP_MS;
    el.classList.toggle("grouped", grouped);
  }

  private distanceFromBottom(): number {
    const s = this.opts.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight;
  }

  scrollToBottom(): void {
    const s = this.opts.scroller;
    s.scrollTop = s.scrollHeight;
    const was = this.pinned;
    this.pinned = true;
    this.unread = 0;
    this.updatePill();
    if (!was) this.opts.onChange?.();
  }

  private handleScroll(): void {
    const was = this.pinned;
    this.pinned = this.distanceFromBottom() <= PIN_SLACK_PX;
    if (this.pinned && !was) this.opts.onChange?.();
    if (this.pinned && this.unread) {
      this.unread = 0;
      this.updatePill();
    }
    this.saveAnchor();
    if (this.opts.scroller.scrollTop < LOAD_OLDER_PX) void this.loadOlder();
  }

  /** Remembers the first message in view and where it sits. */
  private saveAnchor(): void {
    const s = this.opts.scroller;
    const top = s.scrollTop;
    let el = this.opts.list.firstElementChild as HTMLElement | null;
    while (el && el.offsetTop + el.offsetHeight <= top) {
      el = el.nextElementSibling as HTMLElement | null;
    }
    this.anchor = el ? { el, offset: el.offsetTop - top } : null;
  }

  /** A change to the list that must not move what is on screen. */
  private mutate(change: () => void): void {
    this.saveAnchor();
    change();
    this.keepPosition();
  }

  private keepPosition(): void {
    if (this.pinned) {
      this.opts.scroller.scrollTop = this.opts.scroller.scrollHeight;
      return;
    }
    const a = this.anchor;
    if (!a || !a.el.isConnected) return;
    const want = a.el.offsetTop - a.offset;
    if (Math.abs(this.opts.scroller.scrollTop - want) >= 1) this.opts.scroller.scrollTop = want;
  }

  private updatePill(): void {
    const pill = this.opts.pill;
    if (this.unread > 0) {
      pill.textContent = `${this.unread} new message${this.unread === 1 ? "" : "s"} ↓`;
      pill.hidden = false;
    } else {
      pill.hidden = true;
    }
  }

  /** A short first page may not fill the screen: then there is no scrolling up to ask for more. */
  private fillViewport(): void {
    const s = this.opts.scroller;
    if (!this.reachedStart && s.scrollHeight <= s.clientHeight + LOAD_OLDER_PX) void this.loadOlder();
  }

  async loadOlder(): Promise<void> {
    if (this.loadingOlder || this.reachedStart) return;
    if (Date.now() - this.olderFailedAt < 5000) return;
    const first = (this.opts.list.firstElementChild as HTMLElement | null)?.dataset.id;
    if (!first) return;
    this.loadingOlder = true;
    this.mutate(() => this.opts.list.setAttribute("aria-busy", "true"));
    try {
      const { messages: page, truncated } = await this.opts.loadOlder(first);
      if (!page.length || (page.length < this.opts.pageSize && !truncated)) this.reachedStart = true;
      const fresh = page.filter((m) => !this.ids.has(m.id));
      this.mutate(() => {
        this.opts.list.removeAttribute("aria-busy");
        this.opts.list.classList.toggle("at-start", this.reachedStart);
        if (!fresh.length) return;
        const frag = document.createDocumentFragment();
        const els: HTMLLIElement[] = [];
        for (const m of fresh) {
          this.ids.add(m.id);
          if (this.updateDecision(m)) continue;
          const el = this.render(m);
          frag.appendChild(el);
          els.push(el);
        }
        if (!els.length) return;
        this.opts.list.insertBefore(frag, this.opts.list.firstChild);
        for (const el of els) this.regroup(el);
        this.regroup(els[els.length - 1]!.nextElementSibling as HTMLElement | null);
      });
    } catch (e) {
      this.olderFailedAt = Date.now();
      console.warn("loading older messages failed", e);
      this.mutate(() => this.opts.list.removeAttribute("aria-busy"));
    } finally {
      this.loadingOlder = false;
    }
    if (!this.reachedStart) this.fillViewport();
  }

  get atStart(): boolean {
    return this.reachedStart;
  }
}
