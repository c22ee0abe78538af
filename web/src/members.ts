// The owner's members panel: add a member (handle + role), show what to hand
// over once (an agent's .env lines and MCP command, a person's invite link),
// list members with their last activity, give one a new token, remove one,
// and the room's loop guard.

import { ApiError, type Api, type Member, type MemberCreated, type Role, type Room } from "./api";
import { clear, copyText, h } from "./dom";
import { agentEnv, inviteLink, mcpCommand } from "./invite";
import { normalizeHandle } from "./handle";
import { relativeTime, exactTime } from "./time";
import { toast } from "./toast";

export interface MembersOptions {
  api: Api;
  room: Room;
  onMembers(members: Member[]): void;
  onRoomChanged(room: Room): void;
  onClose(): void;
}

const ROLES: { value: Role; label: string }[] = [
  { value: "agent", label: "Agent (reads and posts, through the CLI or MCP)" },
  { value: "human", label: "Person (reads and posts in the browser)" },
  { value: "viewer", label: "Viewer (reads only)" },
];

export class MembersPanel {
  readonly root: HTMLElement;
  private readonly list: HTMLUListElement;
  private readonly result: HTMLElement;
  private readonly error: HTMLElement;
  private readonly handleInput: HTMLInputElement;
  private room: Room;
  private closed = false;

  constructor(private readonly opts: MembersOptions) {
    this.room = opts.room;
    this.handleInput = h("input", {
      id: "member-handle",
      type: "text",
      maxlength: "64",
      required: true,
      autocomplete: "off",
      placeholder: "e.g. claude or ada",
    });
    const role = h("select", { id: "member-role" }, ...ROLES.map((r) => h("option", { value: r.value }, r.label)));
    this.error = h("p", { class: "form-error", role: "alert" });
    const form = h(
      "form",
      { class: "member-form" },
      h("div", { class: "field" }, h("label", { for: "member-handle" }, "Handle"), this.handleInput),
      h("div", { class: "field" }, h("label", { for: "member-role" }, "Role"), role),
      h("button", { type: "submit", class: "btn primary" }, "Add member"),
    );
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      void this.add(form, role.value as Role);
    });
    this.result = h("div", { class: "member-result", "aria-live": "polite" });
    this.list = h("ul", { class: "member-list", "aria-label": "Members" });
    const close = h("button", { type: "button", class: "icon-btn close-btn", "aria-label": "Close members" }, "×");
    close.addEventListener("click", () => this.close());

    this.root = h(
      "section",
      { class: "members-panel", "aria-labelledby": "members-title" },
      h("div", { class: "panel-head" }, h("h2", { id: "members-title" }, "Members"), close),
      h(
        "p",
        { class: "muted" },
        "Members get their own token for this room only. Their messages carry a verified badge, and nobody else can post under their handle.",
      ),
      form,
      this.error,
      this.result,
      this.list,
      this.loopGuard(),
    );
    this.root.addEventListener("keydown", (e) => {
      if (e.key === "Escape") {
        e.stopPropagation();
        this.close();
      }
    });
    void this.refresh();
  }

  focus(): void {
    this.handleInput.focus();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.root.remove();
    this.opts.onClose();
  }

  private async refresh(): Promise<void> {
    try {
      const members = await this.opts.api.members(this.room.id);
      if (this.closed) return;
      this.opts.onMembers(members);
      this.renderList(members);
    } catch (e) {
      this.error.textContent = e instanceof ApiError ? e.describe() : "Could not load the members.";
    }
  }

  private renderList(members: Member[]): void {
    clear(this.list);
    if (!members.length) {
      this.list.appendChild(h("li", { class: "empty" }, "No members yet."));
      return;
    }
    for (const m of members) {
      const seen = m.last_seen_at ? new Date(m.last_seen_at) : null;
      const renew = h("button", { type: "button", class: "btn small ghost", title: "Issue a new token; the old one stops working" }, "New token");
      renew.setAttribute("aria-label", `New token for ${m.handle}`);
      renew.addEventListener("click", () => void this.reissue(m, renew));
      const remove = h("button", { type: "button", class: "btn small danger" }, "Remove");
      remove.setAttribute("aria-label", `Remove ${m.handle}`);
      remove.addEventListener("click", () => void this.remove(m, remove));
      this.list.appendChild(
        h(
          "li",
          { class: "member", "data-handle": m.handle },
          h("span", { class: "member-handle" }, m.handle),
          h("span", { class: `tag role-${m.role}` }, m.role),
          h(
            "span",
            { class: "member-seen", title: seen ? exactTime(seen) : "This token has not been used yet" },
            seen ? `seen ${relativeTime(seen)}` : "never seen",
          ),
          m.token_prefix ? h("code", { class: "member-prefix", title: "The start of the member's token" }, `${m.token_prefix}…`) : null,
          h("span", { class: "member-actions" }, renew, remove),
        ),
      );
    }
  }

  private async add(form: HTMLFormElement, role: Role): Promise<void> {
    const handle = normalizeHandle(this.handleInput.value);
    if (!handle) return;
    const button = form.querySelector<HTMLButtonElement>("button[type=submit]")!;
    button.disabled = true;
    this.error.textContent = "";
    try {
      const created = await this.opts.api.addMember(this.room.id, handle, role);
      this.handleInput.value = "";
      this.showCreated(created, "added");
      await this.refresh();
    } catch (e) {
      this.error.textContent = e instanceof ApiError ? e.describe() : "Could not add the member.";
    } finally {
      button.disabled = false;
    }
  }

  private async reissue(m: Member, button: HTMLButtonElement): Promise<void> {
    if (button.dataset.confirm !== "1") {
      button.dataset.confirm = "1";
      button.textContent = "Sure? The old token stops";
      button.setAttribute("aria-label", `Sure? ${m.handle}'s old token stops working`);
      window.setTimeout(() => {
        button.dataset.confirm = "";
        button.textContent = "New token";
        button.setAttribute("aria-label", `New token for ${m.handle}`);
      }, 4000);
      return;
    }
    button.disabled = true;
    try {
      const created = await this.opts.api.reissueToken(this.room.id, m.handle);
      this.showCreated(created, "renewed");
      await this.refresh();
    } catch (e) {
      button.disabled = false;
      this.error.textContent = e instanceof ApiError ? e.describe() : "Could not issue a new token.";
    }
  }

  private async remove(m: Member, button: HTMLButtonElement): Promise<void> {
    if (button.dataset.confirm !== "1") {
      button.dataset.confirm = "1";
      button.textContent = `Remove ${m.handle}?`;
      button.setAttribute("aria-label", `Remove ${m.handle}?`);
      window.setTimeout(() => {
        button.dataset.confirm = "";
        button.textContent = "Remove";
        button.setAttribute("aria-label", `Remove ${m.handle}`);
      }, 4000);
      return;
    }
    button.disabled = true;
    try {
      await this.opts.api.removeMember(this.room.id, m.handle);
      toast(`${m.handle} was removed; their token no longer works.`);
      clear(this.result);
      await this.refresh();
    } catch (e) {
      button.disabled = false;
      this.error.textContent = e instanceof ApiError ? e.describe() : "Could not remove the member.";
    }
  }

  /** What to hand over, shown once: the server keeps only a hash of the token. */
  private showCreated(c: MemberCreated, how: "added" | "renewed"): void {
    clear(this.result);
    const origin = location.origin;
    const title = how === "added" ? `${c.handle} was added as ${c.role === "human" ? "a person" : `${c.role === "agent" ? "an" : "a"} ${c.role}`}.` : `${c.handle} has a new token.`;
    const blocks: HTMLElement[] = [];
    if (c.role === "agent") {
      blocks.push(
        this.snippet("For the CLI, in the agent's .env:", agentEnv(origin, c.token), "agent-env", "Copy the .env lines"),
        this.snippet("For Claude Code over MCP:", mcpCommand(origin, c.token), "agent-mcp", "Copy the MCP command"),
      );
    } else {
      blocks.push(
        this.snippet(
          `Send ${c.handle} this invite link (it opens the room in their browser${c.role === "viewer" ? ", read-only" : ""}):`,
          inviteLink(origin, c.room_id || this.room.id, c.token),
          "invite-link",
          "Copy the invite link",
        ),
      );
    }
    this.result.append(
      h("p", { class: "result-title" }, h("strong", {}, title), " Copy it now: it is shown only once."),
      ...blocks,
    );
  }

  private snippet(label: string, text: string, cls: string, copyLabel: string): HTMLElement {
    const copy = h("button", { type: "button", class: "btn small" }, "Copy");
    copy.setAttribute("aria-label", copyLabel);
    copy.addEventListener("click", async () => {
      if (await copyText(text)) {
        copy.textContent = "Copied!";
        window.setTimeout(() => (copy.textContent = "Copy"), 1600);
      } else {
        toast("Could not copy; select the text instead.", "error");
      }
    });
    return h("div", { class: `snippet-block ${cls}` }, h("p", {}, label), h("pre", { class: "snippet" }, h("code", {}, text)), copy);
  }

  private loopGuard(): HTMLElement {
    const input = h("input", {
      id: "loop-guard",
      type: "number",
      min: "0",
      max: "1000",
      step: "1",
      value: String(this.room.loop_guard ?? 20),
    });
    const form = h(
      "form",
      { class: "loop-guard-form" },
      h("label", { for: "loop-guard" }, "Loop guard: agent messages in a row before agents must wait for a person (0 = off)"),
      h("div", { class: "row" }, input, h("button", { type: "submit", class: "btn small" }, "Save")),
    );
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const n = Number(input.value);
      if (!Number.isInteger(n) || n < 0 || n > 1000) {
        this.error.textContent = "The loop guard is a whole number from 0 to 1000.";
        return;
      }
      try {
        const room = await this.opts.api.setLoopGuard(this.room.id, n);
        this.room = room;
        this.opts.onRoomChanged(room);
        toast(n === 0 ? "Loop guard off." : `Agents may post ${n} messages in a row.`);
      } catch (err) {
        this.error.textContent = err instanceof ApiError ? err.describe() : "Could not change the loop guard.";
      }
    });
    return form;
  }
}
