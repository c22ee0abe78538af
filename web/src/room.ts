// One open room: its header (name, visibility, connection state, actions),
// the message list, and the composer (owner) or a read-only footer.

import { Api, ApiError, newIdempotencyKey, type Message, type Role, type Room } from "./api";
import { attachCompletion } from "./complete";
import { announce, copyText, h } from "./dom";
import { MAX_HANDLE_CHARS, normalizeHandle } from "./handle";
import { connectLive, type LiveConnection, type LiveState } from "./live";
import type { MembersPanel } from "./members";
import { MessageList } from "./messages";
import { toast } from "./toast";

const PAGE = 50;
const MAX_CONTENT_BYTES = 32 * 1024;

export interface RoomContext {
  api: Api;
  room: Room;
  /** The caller's key owns the room: it may post and change visibility. */
  owner: boolean;
  /** Opened with a member token (ctx.api holds it): handle and role are fixed. */
  member?: { handle: string; role: Role };
  hasKey: boolean;
  handle(): string;
  setHandle(handle: string): void;
  onRoomChanged(room: Room): void;
  /** Where "Jump in" leads a visitor without a key. */
  jumpInHref: string;
  /** Puts focus on the "new room" form (a key holder in someone else's room). */
  focusNewRoom?: () => void;
  /** The read cursor moved through the newest message (the sidebar clears its count). */
  onRead?: (roomId: string) => void;
  /** Messages arrived live (the sidebar refreshes the other rooms' counts). */
  onLive?: () => void;
  /** The member token of this room stopped working (removed, re-issued). */
  onMemberGone?: (roomId: string) => void;
}

export class RoomView {
  readonly root: HTMLElement;
  private room: Room;
  private readonly list: MessageList;
  private live: LiveConnection | null = null;
  private destroyed = false;
  private readonly conn: HTMLElement;
  private readonly visibility: HTMLElement;
  private readonly title: HTMLElement;
  private publicSwitch: HTMLButtonElement | null = null;
  private members: MembersPanel | null = null;
  private readonly scroller: HTMLElement;
  private readonly listEl: HTMLOListElement;
  private readonly pendingEl: HTMLOListElement;
  private readonly status: HTMLElement;
  private readonly panelSlot: HTMLElement;

  constructor(private readonly ctx: RoomContext) {
    this.room = ctx.room;
    this.title = h("h1", { class: "room-name", id: "room-title" }, ctx.room.name);
    this.visibility = h("span", { class: "visibility" });
    this.conn = h("span", { class: "conn", role: "status", "data-state": "connecting" }, "Connecting…");
    const actions = h("div", { class: "room-actions" });
    if (ctx.owner) {
      this.publicSwitch = h(
        "button",
        { type: "button", class: "switch", role: "switch", "aria-checked": "false", title: "Public rooms can be read by anyone with the link; only your key can post." },
        h("span", { class: "switch-track", "aria-hidden": "true" }, h("span", { class: "switch-thumb" })),
        h("span", { class: "switch-label" }, "Public"),
      );
      this.publicSwitch.addEventListener("click", () => void this.togglePublic());
      actions.appendChild(this.publicSwitch);
      const membersBtn = h(
        "button",
        { type: "button", class: "btn ghost members-btn", "aria-expanded": "false", title: "Invite people and agents to this room" },
        "Members",
      );
      membersBtn.addEventListener("click", () => void this.toggleMembers(membersBtn));
      actions.appendChild(membersBtn);
    } else if (ctx.member) {
      actions.appendChild(
        h("span", { class: "tag role-tag", title: `You are a member of this room (${ctx.member.role})` }, ctx.member.role),
      );
    }
    const copy = h("button", { type: "button", class: "btn ghost", title: "Copy a link to this room" }, "Copy link");
    copy.addEventListener("click", () => void this.copyLink(copy));
    actions.appendChild(copy);

    const header = h(
      "header",
      { class: "room-header" },
      h("div", { class: "room-heading" }, this.title, h("div", { class: "room-meta" }, this.visibility, this.conn)),
      actions,
    );

    this.listEl = h("ol", { class: "messages", "aria-label": `Messages in ${ctx.room.name}`, "aria-describedby": "room-title" });
    this.pendingEl = h("ol", { class: "messages pending", "aria-label": "Sending" });
    this.scroller = h("div", { class: "scroller", tabindex: "0", "aria-label": "Conversation" }, this.listEl, this.pendingEl);
    const pill = h("button", { type: "button", class: "new-pill", hidden: true });
    this.status = h("p", { class: "room-status", hidden: true });

    this.panelSlot = h("div", { class: "panel-slot" });
    this.root = h(
      "section",
      { class: "room", "aria-labelledby": "room-title" },
      header,
      this.panelSlot,
      h("div", { class: "scroll-wrap" }, this.scroller, pill, this.status),
      this.footer(),
    );
    this.list = new MessageList({
      scroller: this.scroller,
      list: this.listEl,
      pill,
      pageSize: PAGE,
      loadOlder: (before) => ctx.api.messagePage(this.room.id, { before, limit: PAGE }, this.auth),
      me: () => this.me(),
      onChange: () => this.scheduleRead(),
      decisions: {
        viewer: () =>
          ctx.member ? { kind: "member", ...ctx.member } : ctx.owner ? { kind: "owner" } : { kind: "visitor" },
        answer: (d, body) => ctx.api.answerDecision(this.room.id, d.id, body),
      },
    });
    document.addEventListener("visibilitychange", this.onVisible);
    window.addEventListener("focus", this.onVisible);
    this.showRoom(ctx.room);
    if (this.canSend) {
      this.listEl.classList.add("can-act");
      this.listEl.addEventListener("click", (e) => this.noticeAction(e));
    }
    if (ctx.owner) this.listEl.classList.add("is-owner");
  }

  /** Members of the room (for @-completion); refreshed when the panel changes them. */
  private memberHandles: string[] = [];

  private async loadMembers(): Promise<void> {
    if (!this.auth) return;
    try {
      const members = await this.ctx.api.members(this.room.id);
      this.memberHandles = members.map((m) => m.handle);
    } catch (e) {
      console.warn("loading members failed", e);
    }
  }

  private membersLoading = false;

  /** Opens or closes the owner's members panel (its code loads on first use). */
  private async toggleMembers(button: HTMLButtonElement): Promise<void> {
    if (this.members) {
      this.members.close();
      return;
    }
    if (this.membersLoading) return;
    this.membersLoading = true;
    let Panel: typeof MembersPanel;
    try {
      Panel = (await import("./members")).MembersPanel;
    } catch {
      toast("Could not load the members panel; check your connection.", "error");
      return;
    } finally {
      this.membersLoading = false;
    }
    if (this.destroyed || this.members) return;
    const panel = new Panel({
      api: this.ctx.api,
      room: this.room,
      onMembers: (members) => (this.memberHandles = members.map((m) => m.handle)),
      onRoomChanged: (room) => {
        this.showRoom(room);
        this.ctx.onRoomChanged(room);
      },
      onClose: () => {
        this.members = null;
        button.setAttribute("aria-expanded", "false");
        button.focus();
      },
    });
    this.members = panel;
    button.setAttribute("aria-expanded", "true");
    this.panelSlot.appendChild(panel.root);
    panel.focus();
  }

  /** The loop guard notice's buttons: carry on (a human message resets the count) or raise the limit. */
  private noticeAction(e: Event): void {
    const btn = (e.target as HTMLElement).closest<HTMLButtonElement>("button[data-action]");
    if (!btn) return;
    if (btn.dataset.action === "carry-on") {
      void this.send("Carry on.", null, null);
    } else if (btn.dataset.action === "raise-guard") {
      void this.raiseGuard(btn);
    }
  }

  private async raiseGuard(btn: HTMLButtonElement): Promise<void> {
    const current = this.room.loop_guard ?? 20;
    const next = current > 0 ? Math.min(1000, current * 2) : 0;
    btn.disabled = true;
    try {
      const room = await this.ctx.api.setLoopGuard(this.room.id, next);
      this.showRoom(room);
      this.ctx.onRoomChanged(room);
      toast(`Agents may now post ${room.loop_guard ?? next} messages in a row.`);
    } catch (e) {
      toast(e instanceof ApiError ? e.describe() : "Could not change the loop guard.", "error");
    } finally {
      btn.disabled = false;
    }
  }

  async start(): Promise<void> {
    let first: Message[];
    let truncated: boolean;
    try {
      ({ messages: first, truncated } = await this.ctx.api.messagePage(this.room.id, { limit: PAGE }, this.auth));
    } catch (e) {
      if (this.destroyed) return;
      this.showStatus(e instanceof ApiError ? e.describe() : "Could not load messages.");
      this.setConn("failed", "Not connected");
      return;
    }
    if (this.destroyed) return;
    this.list.add(first, "initial", truncated);
    if (!first.length) {
      this.showStatus(
        this.canSend
          ? "No messages yet. Say hello, or point an agent at this room with the CLI."
          : "No messages yet. New ones will appear here live.",
      );
    }
    this.live = connectLive({
      api: this.ctx.api,
      roomId: this.room.id,
      auth: this.auth,
      after: this.list.lastId(),
      onMessages: (msgs) => {
        this.receive(msgs, "live");
        this.ctx.onLive?.();
      },
      onState: (state, detail) => this.setConn(state, detail),
    });
  }

  /** Reads send the credential: the owner's key or a member token. */
  private get auth(): boolean {
    return this.ctx.owner || !!this.ctx.member;
  }

  private get canSend(): boolean {
    return this.ctx.owner || (!!this.ctx.member && this.ctx.member.role !== "viewer");
  }

  /** The handle this reader is: a member's, the owner's posting name, none for a visitor. */
  private me(): string | null {
    if (this.ctx.member) return this.ctx.member.handle;
    return this.ctx.owner ? this.ctx.handle() : null;
  }

  private readonly onVisible = () => this.scheduleRead();
  private readTimer = 0;
  private readThrough: string | null = null;

  /** Moves the read cursor when the newest message is in view of a reader who is looking. */
  private scheduleRead(): void {
    if (!this.auth || this.destroyed) return;
    window.clearTimeout(this.readTimer);
    this.readTimer = window.setTimeout(() => void this.markRead(), 400);
  }

  private async markRead(): Promise<void> {
    if (this.destroyed || document.visibilityState !== "visible" || !this.list.isPinned) return;
    const newest = this.list.lastId();
    if (!newest || newest === this.readThrough) return;
    const forHandle = this.ctx.member ? null : this.ctx.handle();
    try {
      await this.ctx.api.markRead(this.room.id, forHandle, newest);
      this.readThrough = newest;
      this.ctx.onRead?.(this.room.id);
    } catch (e) {
      console.warn("moving the read cursor failed", e);
    }
  }

  destroy(): void {
    this.destroyed = true;
    window.clearTimeout(this.readTimer);
    document.removeEventListener("visibilitychange", this.onVisible);
    window.removeEventListener("focus", this.onVisible);
    this.members?.close();
    this.live?.close();
    this.list.destroy();
    this.root.remove();
  }

  focusComposer(): void {
    this.root.querySelector<HTMLTextAreaElement>(".composer textarea")?.focus();
  }

  private receive(msgs: Message[], mode: "live" | "own"): void {
    if (this.destroyed) return;
    if (this.list.add(msgs, mode)) this.status.hidden = true;
  }

  private showStatus(text: string): void {
    this.status.textContent = text;
    this.status.hidden = false;
  }

  private showRoom(room: Room): void {
    this.room = room;
    this.title.textContent = room.name;
    this.visibility.textContent = room.public ? "Public" : "Private";
    this.visibility.className = `visibility ${room.public ? "is-public" : "is-private"}`;
    this.visibility.title = room.public
      ? "Anyone with the link can read this room"
      : "Only this room's key can read it";
    this.publicSwitch?.setAttribute("aria-checked", String(room.public));
  }

  private setConn(state: LiveState, detail?: string): void {
    const text: Record<LiveState, string> = {
      connecting: "Connecting…",
      live: "Live",
      reconnecting: "Reconnecting…",
      failed: "Disconnected",
    };
    this.conn.dataset.state = state;
    this.conn.textContent = text[state];
    this.conn.title = detail ?? (state === "live" ? "New messages appear as they are sent" : "");
    if (state === "failed" && detail) this.showStatus(detail);
    if (state === "failed" && this.ctx.member) void this.checkMembership();
  }

  /** A member's connection was refused: say so plainly if the token is dead (removed or re-issued). */
  private async checkMembership(): Promise<void> {
    try {
      await this.ctx.api.whoami();
    } catch (e) {
      if (this.destroyed || !(e instanceof ApiError) || e.status !== 401) return;
      this.showStatus(
        "You are no longer a member of this room: the owner removed you or gave you a new token. Ask them for a new invite link.",
      );
      for (const el of Array.from(this.root.querySelectorAll<HTMLTextAreaElement | HTMLButtonElement>(".composer textarea, .composer button"))) {
        el.disabled = true;
      }
      this.ctx.onMemberGone?.(this.room.id);
    }
  }

  private async togglePublic(): Promise<void> {
    const sw = this.publicSwitch;
    if (!sw || sw.disabled) return;
    const next = !this.room.public;
    sw.disabled = true;
    try {
      const room = await this.ctx.api.setPublic(this.room.id, next);
      this.showRoom(room);
      this.ctx.onRoomChanged(room);
      toast(room.public ? "The room is public: anyone with the link can read it." : "The room is private again.");
    } catch (e) {
      toast(e instanceof ApiError ? e.describe() : "Could not change the room's visibility.", "error");
    } finally {
      sw.disabled = false;
    }
  }

  private async copyLink(button: HTMLButtonElement): Promise<void> {
    const url = `${location.origin}/r/${this.room.id}`;
    const ok = await copyText(url);
    if (!ok) {
      toast(`Copy this link: ${url}`);
      return;
    }
    button.textContent = "Copied!";
    window.setTimeout(() => (button.textContent = "Copy link"), 1600);
    toast(
      this.room.public || !this.ctx.owner
        ? "Link copied."
        : "Link copied. The room is private: only your key can open it until you make it public.",
    );
  }

  // --- footer: composer or read-only note -----------------------------------

  private footer(): HTMLElement {
    if (this.canSend) return this.composer();
    if (this.ctx.member) {
      return h(
        "div",
        { class: "readonly viewer" },
        h("p", {}, h("strong", {}, "Read-only."), ` You are a viewer in this room (as ${this.ctx.member.handle}).`),
      );
    }
    if (!this.ctx.hasKey) {
      return h(
        "div",
        { class: "readonly visitor" },
        h("p", {}, h("strong", {}, "You're watching live."), " Get a free key to open rooms of your own and bring your agents in."),
        h("a", { class: "btn primary", href: this.ctx.jumpInHref }, "Jump in →"),
      );
    }
    const create = h("button", { type: "button", class: "btn" }, "Create your own room");
    create.addEventListener("click", () => this.ctx.focusNewRoom?.());
    return h(
      "div",
      { class: "readonly" },
      h("p", {}, h("strong", {}, "Read-only."), " Only this room's owner key can post here."),
      this.ctx.focusNewRoom ? create : null,
    );
  }

  private composer(): HTMLElement {
    const id = `composer-${this.room.id}`;
    const textarea = h("textarea", {
      id,
      rows: "1",
      placeholder: `Message ${this.room.name}`,
      "aria-describedby": `${id}-hint`,
      autocomplete: "off",
      enterkeyhint: "send",
    });
    const send = h("button", { type: "submit", class: "btn primary send" }, "Send");
    const error = h("p", { class: "composer-error", role: "alert" });
    const handleBtn = h("button", { type: "button", class: "handle", title: "Change the name you post as" });
    const setHandleText = () => {
      handleBtn.textContent = this.ctx.handle();
      handleBtn.setAttribute("aria-label", `Posting as ${this.ctx.handle()}. Change name`);
    };
    setHandleText();
    const member = this.ctx.member;
    const as = member
      ? h(
          "div",
          { class: "as" },
          h("span", {}, "Posting as "),
          h("strong", { class: "handle fixed", title: "Your handle in this room, set by the room's owner" }, member.handle),
          h("span", { class: "verified", title: "verified by the server", "aria-label": "verified by the server", role: "img" }, "✓"),
        )
      : h("div", { class: "as" }, h("span", { "aria-hidden": "true" }, "Posting as "), handleBtn);

    handleBtn.addEventListener("click", () => {
      const input = h("input", {
        type: "text",
        class: "handle-input",
        value: this.ctx.handle(),
        maxlength: String(MAX_HANDLE_CHARS),
        "aria-label": "Your name in this chat",
        autocomplete: "nickname",
      });
      let done = false;
      const finish = (save: boolean) => {
        if (done) return;
        done = true;
        if (save) {
          const handle = normalizeHandle(input.value);
          if (handle) this.ctx.setHandle(handle);
        }
        setHandleText();
        input.replaceWith(handleBtn);
        handleBtn.focus();
      };
      input.addEventListener("keydown", (e) => {
        if (e.key === "Enter") {
          e.preventDefault();
          finish(true);
        } else if (e.key === "Escape") {
          e.preventDefault();
          finish(false);
        }
      });
      input.addEventListener("blur", () => finish(true));
      handleBtn.replaceWith(input);
      input.focus();
      input.select();
    });

    const grow = () => {
      textarea.style.height = "auto";
      textarea.style.height = `${Math.min(textarea.scrollHeight, Math.round(window.innerHeight * 0.4))}px`;
    };
    textarea.addEventListener("input", () => {
      grow();
      error.textContent = "";
    });
    const completion = attachCompletion(textarea, () => [
      ...this.memberHandles,
      ...this.list.recentSenders(),
    ], () => this.me());
    void this.loadMembers();
    textarea.addEventListener("keydown", (e) => {
      if (completion.isOpen()) return;
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing && !e.altKey && !e.ctrlKey && !e.metaKey) {
        e.preventDefault();
        form.requestSubmit();
      }
    });
    const form = h(
      "form",
      { class: "composer", "aria-label": "Send a message" },
      as,
      h(
        "div",
        { class: "composer-row" },
        h("label", { for: id, class: "sr-only" }, `Message ${this.room.name}`),
        completion.list,
        textarea,
        send,
      ),
      h("p", { id: `${id}-hint`, class: "hint" }, "Enter sends · Shift+Enter adds a line · @ mentions someone · Markdown and ``` code blocks work"),
      error,
    );
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const text = textarea.value;
      if (!text.trim()) return;
      if (new TextEncoder().encode(text).length > MAX_CONTENT_BYTES) {
        error.textContent = "That message is longer than 32 KB; split it up.";
        return;
      }
      textarea.value = "";
      grow();
      error.textContent = "";
      void this.send(text, textarea, error);
    });
    return form;
  }

  private async send(text: string, textarea: HTMLTextAreaElement | null, error: HTMLElement | null): Promise<void> {
    const sender = this.ctx.member?.handle ?? this.ctx.handle();
    const pending = h(
      "li",
      { class: "msg from-human pending-msg" },
      h("span", { class: "avatar", "aria-hidden": "true" }, Array.from(sender)[0]?.toUpperCase() ?? "?"),
      h(
        "div",
        { class: "msg-main" },
        h("div", { class: "msg-head" }, h("span", { class: "sender" }, sender), h("span", { class: "sending" }, "sending…")),
        h("div", { class: "content plain" }, text),
      ),
    );
    this.pendingEl.appendChild(pending);
    this.list.scrollToBottom();
    const key = newIdempotencyKey();
    try {
      let message: Message | null = null;
      for (let attempt = 0; ; attempt++) {
        try {
          message = await this.ctx.api.send(
            this.room.id,
            this.ctx.member ? { sender, content: text } : { sender, content: text, sender_type: "human" },
            key,
          );
          break;
        } catch (e) {
          // Safe to retry: the Idempotency-Key makes a repeat return the original.
          const transient =
            e instanceof ApiError &&
            (e.status === 0 || e.status >= 500 || (e.status === 429 && (e.retryAfter ?? 99) <= 10));
          if (!transient || attempt >= 3) throw e;
          const wait = e.status === 429 ? (e.retryAfter ?? 1) * 1000 : 800 * 2 ** attempt;
          await new Promise((r) => window.setTimeout(r, wait));
        }
      }
      pending.remove();
      if (message) this.receive([message], "own");
      announce("Message sent");
    } catch (e) {
      pending.remove();
      const why = `Not sent: ${e instanceof ApiError ? e.describe() : "something went wrong."}`;
      if (!textarea || !error) {
        toast(why, "error");
        return;
      }
      if (!textarea.value) {
        textarea.value = text;
        textarea.dispatchEvent(new Event("input"));
      }
      error.textContent = why;
    }
  }
}
