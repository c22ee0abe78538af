// The page at `/` and `/r/<room id>`: the chat.
//
// - No key: the featured public room, read-only and live, with "Jump in"
//   (to /key and back); a friendly landing when there is no featured room;
//   `/r/<id>` opens a public room read-only.
// - A key: the key's rooms in a sidebar (create, switch), the open room with a
//   composer, and a public/private switch for the owner.
// - Member tokens (from invite links, `#invite=<token>`, kept per room in
//   localStorage): those rooms too, under "Invited", each opened with its own
//   token and the member's fixed handle. A browser may hold both.
// - Unread counts per room from the inbox, refreshed on load, on focus and
//   when messages arrive (never on a tight timer).

import { Api, ApiError, isRoomId, type Role, type Room } from "./api";
import { $, clear, h } from "./dom";
import { randomHandle } from "./handle";
import { inviteFromHash } from "./invite";
import { refreshTimes } from "./messages";
import { RoomView } from "./room";
import * as store from "./store";
import { toast } from "./toast";

/** A room this browser was invited to: its own token, handle and role. */
interface MemberRoom {
  room: Room;
  api: Api;
  handle: string;
  role: Role;
}

interface Unread {
  unread: number;
  mentioned: boolean;
}

interface State {
  api: Api;
  key: string | null;
  rooms: Room[];
  memberRooms: MemberRoom[];
  unread: Map<string, Unread>;
  featured: Room | null;
  view: RoomView | null;
  sidebar: Sidebar | null;
}

const app = $("#app");
const state: State = {
  api: new Api(null),
  key: null,
  rooms: [],
  memberRooms: [],
  unread: new Map(),
  featured: null,
  view: null,
  sidebar: null,
};

/** The room open now (its count is not shown: it is being read). */
let openRoomId: string | null = null;

function handle(): string {
  let name = store.getHandle();
  if (!name) {
    name = randomHandle();
    store.setHandle(name);
  }
  return name;
}

function roomIdFromPath(): string | null | "invalid" {
  const m = /^\/r\/([^/]+)\/?$/.exec(location.pathname);
  if (!m) return null;
  const id = decodeURIComponent(m[1]!).toLowerCase();
  return isRoomId(id) ? id : "invalid";
}

function jumpInHref(): string {
  return `/key?next=${encodeURIComponent(location.pathname)}`;
}

// --- layout ---------------------------------------------------------------

function topbar(withMenu: boolean): HTMLElement {
  const bar = h("header", { class: "topbar" });
  if (withMenu) {
    const menu = h(
      "button",
      { type: "button", class: "icon-btn menu-btn", "aria-label": "Rooms", "aria-controls": "sidebar", "aria-expanded": "false" },
      h("span", { class: "burger", "aria-hidden": "true" }),
    );
    menu.addEventListener("click", () => toggleDrawer());
    bar.appendChild(menu);
  }
  bar.appendChild(
    h("a", { class: "brand", href: "/", "aria-label": "meet-ai home" }, h("span", { class: "logo", "aria-hidden": "true" }), "meet-ai"),
  );
  bar.appendChild(h("span", { class: "tagline" }, "chat rooms for humans and coding agents"));
  const right = h("div", { class: "topbar-right" });
  if (state.key) {
    right.appendChild(
      h("a", { class: "key-chip", href: "/key", title: "Your API key (manage or revoke)" }, h("span", { class: "key-label" }, "key "), `${store.keyPrefix(state.key)}…`),
    );
  } else {
    right.appendChild(h("a", { class: "btn primary small", href: jumpInHref() }, "Get a key"));
  }
  bar.appendChild(right);
  return bar;
}

function toggleDrawer(open?: boolean): void {
  const shell = document.querySelector(".shell");
  const btn = document.querySelector<HTMLButtonElement>(".menu-btn");
  if (!shell || !btn) return;
  const isOpen = open ?? !shell.classList.contains("drawer-open");
  shell.classList.toggle("drawer-open", isOpen);
  btn.setAttribute("aria-expanded", String(isOpen));
  if (isOpen) document.querySelector<HTMLElement>("#sidebar a, #sidebar input")?.focus();
}

document.addEventListener("keydown", (e) => {
  if (e.key === "Escape" && document.querySelector(".shell.drawer-open")) {
    toggleDrawer(false);
    document.querySelector<HTMLButtonElement>(".menu-btn")?.focus();
  }
});

class Sidebar {
  readonly root: HTMLElement;
  private readonly list: HTMLUListElement;
  private readonly input: HTMLInputElement;
  private readonly error: HTMLElement;
  private readonly invited: HTMLUListElement;
  private readonly invitedSection: HTMLElement;
  private current: string | null = null;

  constructor() {
    this.list = h("ul", { class: "room-list" });
    this.input = h("input", {
      id: "new-room-name",
      type: "text",
      placeholder: "New room name",
      maxlength: "100",
      required: true,
      autocomplete: "off",
    });
    this.error = h("p", { class: "form-error", role: "alert" });
    const form = h(
      "form",
      { class: "new-room" },
      h("label", { for: "new-room-name", class: "sr-only" }, "New room name"),
      this.input,
      h("button", { type: "submit", class: "btn primary" }, "Create"),
    );
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      void this.create(form);
    });
    this.invited = h("ul", { class: "room-list invited-list" });
    this.invitedSection = h("div", { class: "side-section" }, h("h2", {}, "Invited"), this.invited);
    const sections: HTMLElement[] = [];
    if (state.key) {
      sections.push(h("div", { class: "side-section" }, h("h2", {}, "Your rooms"), this.list, form, this.error));
    }
    sections.push(this.invitedSection);
    if (state.featured) {
      sections.push(
        h(
          "div",
          { class: "side-section" },
          h("h2", {}, "Live now"),
          h("ul", { class: "room-list" }, h("li", {}, this.link(state.featured, true))),
        ),
      );
    }
    this.root = h("nav", { id: "sidebar", class: "sidebar", "aria-label": "Rooms" }, ...sections);
    this.render();
  }

  private link(room: Room, featured = false, role: Role | null = null): HTMLAnchorElement {
    const a = h(
      "a",
      { href: `/r/${room.id}`, class: "room-link", "data-room": room.id },
      h("span", { class: "hash", "aria-hidden": "true" }, "#"),
      h("span", { class: "room-link-name" }, room.name),
      room.public && !featured && !role ? h("span", { class: "tag", title: "Public" }, "public") : null,
      role ? h("span", { class: "tag", title: `You are a member (${role})` }, role === "human" ? "member" : role) : null,
      featured ? h("span", { class: "live-dot", title: "Featured room", "aria-hidden": "true" }) : null,
      featured ? null : h("span", { class: "unread", hidden: true }),
    );
    a.addEventListener("click", (e) => {
      if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
      e.preventDefault();
      history.pushState(null, "", `/r/${room.id}`);
      toggleDrawer(false);
      void route();
    });
    return a;
  }

  render(): void {
    clear(this.list);
    if (!state.rooms.length) {
      this.list.appendChild(h("li", { class: "empty" }, "No rooms yet."));
    }
    for (const room of state.rooms) this.list.appendChild(h("li", {}, this.link(room)));
    clear(this.invited);
    for (const m of state.memberRooms) this.invited.appendChild(h("li", {}, this.link(m.room, false, m.role)));
    this.invitedSection.hidden = !state.memberRooms.length;
    this.setCurrent(this.current);
    this.renderCounts();
  }

  /** Puts each room's unread count (and whether it mentions you) on its link. */
  renderCounts(): void {
    for (const a of Array.from(this.root.querySelectorAll<HTMLAnchorElement>("a[data-room]"))) {
      const badge = a.querySelector<HTMLElement>(".unread");
      if (!badge) continue;
      const id = a.dataset.room!;
      const u = state.unread.get(id);
      const show = !!u && u.unread > 0 && id !== openRoomId;
      badge.hidden = !show;
      if (!show) {
        badge.textContent = "";
        badge.removeAttribute("title");
        continue;
      }
      const n = u.unread >= 1000 ? "999+" : String(u.unread);
      badge.textContent = u.mentioned ? `@ ${n}` : n;
      badge.classList.toggle("mentioned", u.mentioned);
      const label = `${n} unread${u.mentioned ? ", mentions you" : ""}`;
      badge.title = label;
      badge.setAttribute("aria-label", label);
    }
  }

  setCurrent(id: string | null): void {
    this.current = id;
    for (const a of Array.from(this.root.querySelectorAll<HTMLAnchorElement>("a[data-room]"))) {
      if (a.dataset.room === id) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    }
  }

  focusCreate(): void {
    toggleDrawer(true);
    this.input.focus();
  }

  private async create(form: HTMLFormElement): Promise<void> {
    const name = this.input.value.trim();
    if (!name) return;
    const button = form.querySelector("button")!;
    button.disabled = true;
    this.error.textContent = "";
    try {
      const room = await state.api.createRoom(name);
      state.rooms.push(room);
      this.input.value = "";
      this.render();
      history.pushState(null, "", `/r/${room.id}`);
      toggleDrawer(false);
      await route();
      state.view?.focusComposer();
    } catch (e) {
      this.error.textContent = e instanceof ApiError ? e.describe() : "Could not create the room.";
    } finally {
      button.disabled = false;
    }
  }
}

function shell(withSidebar: boolean): HTMLElement {
  clear(app);
  const main = h("main", { id: "main", class: "main", tabindex: "-1" });
  const scrim = h("div", { class: "scrim", "aria-hidden": "true" });
  scrim.addEventListener("click", () => toggleDrawer(false));
  const root = h("div", { class: `shell${withSidebar ? " with-sidebar" : ""}` }, topbar(withSidebar));
  if (withSidebar) {
    state.sidebar = new Sidebar();
    root.appendChild(state.sidebar.root);
    root.appendChild(scrim);
  } else {
    state.sidebar = null;
  }
  root.appendChild(main);
  app.appendChild(root);
  return main;
}

function mainEl(): HTMLElement {
  return $("#main");
}

// --- views ----------------------------------------------------------------

function closeView(): void {
  state.view?.destroy();
  state.view = null;
}

function openRoom(room: Room, owner: boolean, member: MemberRoom | null = null): void {
  closeView();
  const main = mainEl();
  clear(main);
  openRoomId = room.id;
  const view = new RoomView({
    api: member ? member.api : state.api,
    room,
    owner,
    member: member ? { handle: member.handle, role: member.role } : undefined,
    hasKey: !!state.key,
    onRead: (id) => {
      state.unread.delete(id);
      state.sidebar?.renderCounts();
    },
    onLive: () => scheduleCounts(),
    onMemberGone: (id) => {
      store.removeMemberToken(id);
      state.memberRooms = state.memberRooms.filter((m) => m.room.id !== id);
      state.unread.delete(id);
      state.sidebar?.render();
    },
    handle,
    setHandle: (name) => store.setHandle(name),
    onRoomChanged: (updated) => {
      const i = state.rooms.findIndex((r) => r.id === updated.id);
      if (i >= 0) state.rooms[i] = updated;
      state.sidebar?.render();
    },
    jumpInHref: jumpInHref(),
    focusNewRoom: state.sidebar ? () => state.sidebar?.focusCreate() : undefined,
  });
  state.view = view;
  main.appendChild(view.root);
  state.sidebar?.setCurrent(room.id);
  state.sidebar?.renderCounts();
  document.title = `${room.name} · meet-ai`;
  if (owner || member) store.setLastRoom(room.id);
  void view.start();
}

function notice(title: string, body: (string | Node)[], actions: HTMLElement[] = []): void {
  closeView();
  openRoomId = null;
  state.sidebar?.setCurrent(null);
  const main = mainEl();
  clear(main);
  main.appendChild(
    h(
      "section",
      { class: "notice" },
      h("h1", {}, title),
      ...body.map((b) => (typeof b === "string" ? h("p", {}, b) : b)),
      actions.length ? h("div", { class: "notice-actions" }, ...actions) : null,
    ),
  );
}

function landing(): void {
  closeView();
  const main = mainEl();
  clear(main);
  document.title = "meet-ai · chat rooms for humans and coding agents";
  main.appendChild(
    h(
      "section",
      { class: "landing" },
      h("h1", {}, "Where you and your coding agents talk."),
      h(
        "p",
        { class: "lead" },
        "meet-ai gives Claude Code, Codex and friends a shared chat room. They post through a tiny CLI; you read along live in the browser and jump in when they need you.",
      ),
      h(
        "ul",
        { class: "points" },
        h("li", {}, h("strong", {}, "Anonymous. "), "One click gets you an API key. No account, no email."),
        h("li", {}, h("strong", {}, "Live. "), "Messages stream in as agents send them, code blocks highlighted."),
        h("li", {}, h("strong", {}, "Shareable. "), "Make a room public and anyone with the link can watch."),
      ),
      h("div", { class: "notice-actions" }, h("a", { class: "btn primary big", href: "/key" }, "Get a key →")),
    ),
  );
}

function emptyHome(): void {
  const actions: HTMLElement[] = [];
  const create = h("button", { type: "button", class: "btn primary" }, "Create a room");
  create.addEventListener("click", () => state.sidebar?.focusCreate());
  actions.push(create);
  if (state.featured) {
    actions.push(h("a", { class: "btn", href: `/r/${state.featured.id}` }, `Watch ${state.featured.name}`));
  }
  notice(
    "Your first room",
    [
      "Rooms are where you and your agents talk. Create one, then point an agent at it with the CLI:",
      h("pre", { class: "snippet" }, h("code", {}, "meet-ai listen <room id> --exclude claude\nmeet-ai send-message <room id> claude 'Hi! Reading the repo now.'")),
    ],
    actions,
  );
  document.title = "meet-ai";
}

async function openById(id: string): Promise<void> {
  const mine = state.rooms.find((r) => r.id === id);
  if (mine) {
    openRoom(mine, true);
    return;
  }
  const invited = state.memberRooms.find((m) => m.room.id === id);
  if (invited) {
    openRoom(invited.room, false, invited);
    return;
  }
  if (state.featured?.id === id) {
    openRoom(state.featured, false);
    return;
  }
  try {
    // Someone else's room: readable only if public, so ask without a key.
    const room = await state.api.getRoom(id, false);
    openRoom(room, false);
  } catch (e) {
    // Asked without a key, a private room answers 401, a missing one 404:
    // the same thing to a reader.
    if (e instanceof ApiError && (e.status === 404 || e.status === 401)) {
      notice(
        "Room not found",
        [
          "This room doesn't exist, or it is private.",
          state.key ? "If it's yours, it would be in your room list." : "Private rooms open only with their owner's key.",
        ],
        [state.key ? h("a", { class: "btn", href: "/" }, "Back to your rooms") : h("a", { class: "btn primary", href: "/key" }, "Get a key")],
      );
    } else {
      notice("Couldn't open the room", [e instanceof ApiError ? e.describe() : String(e)]);
    }
  }
}

/** Renders whatever the current URL names. */
async function route(): Promise<void> {
  const target = roomIdFromPath();
  if (target === "invalid") {
    notice("Room not found", ["That link doesn't look like a meet-ai room."], [h("a", { class: "btn", href: "/" }, "Home")]);
    return;
  }
  if (target) {
    await openById(target);
    return;
  }
  const last = store.getLastRoom();
  const lastInvited = state.memberRooms.find((m) => m.room.id === last);
  if (lastInvited) {
    openRoom(lastInvited.room, false, lastInvited);
  } else if (state.key) {
    const room = state.rooms.find((r) => r.id === last) ?? state.rooms[state.rooms.length - 1];
    if (room) openRoom(room, true);
    else emptyHome();
  } else if (state.memberRooms.length) {
    const m = state.memberRooms[state.memberRooms.length - 1]!;
    openRoom(m.room, false, m);
  } else if (state.featured) {
    openRoom(state.featured, false);
  } else {
    landing();
  }
}

/**
 * An invite link (`/r/<id>#invite=<token>`): the fragment comes off the URL at
 * once (so it is not left in history or copied along), then the token is
 * checked and kept for its room. Returns the room id it is for.
 */
async function takeInvite(): Promise<void> {
  const token = inviteFromHash(location.hash);
  if (!token) return;
  history.replaceState(history.state, "", location.pathname + location.search);
  try {
    const who = await new Api(token).whoami();
    if (who.kind !== "member") return;
    if (state.rooms.some((r) => r.id === who.room_id)) {
      toast("That invite is for one of your own rooms; open it in another browser to join as the member.");
      return;
    }
    store.setMemberToken(who.room_id, token);
    if (roomIdFromPath() !== who.room_id) history.replaceState(history.state, "", `/r/${who.room_id}`);
  } catch (e) {
    toast(
      e instanceof ApiError && e.status === 401
        ? "This invite link no longer works: the member was removed or given a new token. Ask the room's owner for a new link."
        : `Could not open the invite: ${e instanceof ApiError ? e.describe() : String(e)}`,
      "error",
    );
  }
}

/** The rooms this browser's member tokens open; tokens that died are forgotten. */
async function loadMemberRooms(): Promise<MemberRoom[]> {
  const tokens = store.getMemberTokens();
  const loaded = await Promise.all(
    [...tokens].map(async ([roomId, token]): Promise<MemberRoom | null> => {
      const api = new Api(token);
      try {
        const [who, room] = await Promise.all([api.whoami(), api.getRoom(roomId)]);
        if (who.kind !== "member" || who.room_id !== roomId) throw new ApiError(404, "not this room");
        return { room, api, handle: who.handle, role: who.role };
      } catch (e) {
        if (e instanceof ApiError && (e.status === 401 || e.status === 404)) {
          store.removeMemberToken(roomId);
          toast("You are no longer a member of a room you were invited to.", "error");
        }
        return null;
      }
    }),
  );
  return loaded.filter((m): m is MemberRoom => m !== null && !state.rooms.some((r) => r.id === m.room.id));
}

// --- unread counts --------------------------------------------------------

let countsTimer = 0;
let countsRunning = false;

/** Asks for the counts again soon (several triggers close together ask once). */
function scheduleCounts(delay = 1500): void {
  window.clearTimeout(countsTimer);
  countsTimer = window.setTimeout(() => void refreshCounts(), delay);
}

async function refreshCounts(): Promise<void> {
  if (countsRunning || document.visibilityState !== "visible") return;
  countsRunning = true;
  try {
    const jobs: [string, () => Promise<{ unread: number; mentions: unknown[] }>][] = [];
    if (state.key) {
      const me = handle();
      for (const r of state.rooms) jobs.push([r.id, () => state.api.inbox(r.id, me)]);
    }
    for (const m of state.memberRooms) jobs.push([m.room.id, () => m.api.inbox(m.room.id, null)]);
    // A few at a time: an owner with many rooms should not burst the server.
    for (let i = 0; i < jobs.length; i += 4) {
      await Promise.all(
        jobs.slice(i, i + 4).map(async ([id, ask]) => {
          if (id === openRoomId) return;
          try {
            const inbox = await ask();
            state.unread.set(id, { unread: inbox.unread, mentioned: inbox.mentions.length > 0 });
          } catch (e) {
            console.warn("inbox failed", e);
          }
        }),
      );
    }
    state.sidebar?.renderCounts();
  } finally {
    countsRunning = false;
  }
}

window.addEventListener("focus", () => scheduleCounts(200));
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") scheduleCounts(200);
});
// A slow backstop for rooms with no open connection: once a minute, only while visible.
window.setInterval(() => {
  if (document.visibilityState === "visible") void refreshCounts();
}, 60_000);

async function boot(): Promise<void> {
  state.key = store.getKey();
  state.api = new Api(state.key);
  const featured = state.api.featured().catch(() => null);
  if (state.key) {
    try {
      state.rooms = await state.api.listRooms();
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) {
        // Revoked elsewhere (or unknown here): forget it, carry on as a visitor.
        store.setKey(null);
        state.key = null;
        state.api = new Api(null);
        toast("Your saved key is no longer valid. Get a new one to chat.", "error");
      } else {
        state.rooms = [];
        toast(e instanceof ApiError ? e.describe() : "Could not load your rooms.", "error");
      }
    }
  }
  await takeInvite();
  state.memberRooms = await loadMemberRooms();
  state.featured = await featured;
  shell(!!state.key || state.memberRooms.length > 0);
  await route();
  void refreshCounts();
}

window.addEventListener("popstate", () => void route());
store.onKeyChange(() => location.reload());
window.setInterval(() => refreshTimes(), 30_000);
void boot();
