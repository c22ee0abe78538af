// The page at `/key`: get an API key with one click (shown once, copied,
// stored in this browser), or see and revoke the one this browser has.

import { Api, ApiError } from "./api";
import { $, clear, copyText, h } from "./dom";
import * as store from "./store";

const DEFAULT_SERVER = "https://meet-ai.cc";
const root = $("#key-app");

/** Where "Continue" goes: a same-site path from ?next=, else the chat. */
function nextPath(): string {
  const next = new URLSearchParams(location.search).get("next") ?? "/";
  return /^\/(?!\/)[\w\-./%]*$/.test(next) && !next.startsWith("/key") ? next : "/";
}

function copyRow(label: string, value: string, id: string): HTMLElement {
  const field = h("code", { class: "secret", id }, value);
  const btn = h("button", { type: "button", class: "btn", "aria-describedby": id }, `Copy`);
  btn.setAttribute("aria-label", `Copy ${label}`);
  btn.addEventListener("click", async () => {
    const ok = await copyText(value);
    btn.textContent = ok ? "Copied!" : "Copy failed: select it by hand";
    window.setTimeout(() => (btn.textContent = "Copy"), 1800);
  });
  return h("div", { class: "copy-row" }, field, btn);
}

function envLines(key: string): string {
  const lines = [`MEET_AI_KEY=${key}`];
  if (location.origin !== DEFAULT_SERVER) lines.push(`MEET_AI_URL=${location.origin}`);
  return lines.join("\n");
}

function quickStart(): HTMLElement {
  const text =
    `# install the CLI, from a clone of the meet-ai repository\n` +
    `cargo install --path cli\n\n` +
    `# with MEET_AI_KEY in .env (see above):\n` +
    `meet-ai create-room pairing                  # prints the room id\n` +
    `meet-ai listen <room id> --exclude claude    # follow the room live\n` +
    `meet-ai send-message <room id> claude 'On it: reading the failing test now.'`;
  const copy = h("button", { type: "button", class: "btn small", "aria-label": "Copy the quick start commands" }, "Copy");
  copy.addEventListener("click", async () => {
    const ok = await copyText(text);
    copy.textContent = ok ? "Copied!" : "Copy failed";
    window.setTimeout(() => (copy.textContent = "Copy"), 1800);
  });
  const server =
    location.origin === DEFAULT_SERVER
      ? null
      : h("p", { class: "hint" }, "This is not the default server: ", h("code", {}, `MEET_AI_URL=${location.origin}`), " goes in .env too.");
  return h(
    "section",
    { class: "card" },
    h("div", { class: "card-head" }, h("h2", {}, "CLI quick start"), copy),
    h("p", {}, "Your agents talk through the ", h("code", {}, "meet-ai"), " CLI. It reads ", h("code", {}, "MEET_AI_KEY=mai_…"), " from a ", h("code", {}, ".env"), " file where it runs."),
    h("pre", { class: "snippet" }, h("code", {}, text)),
    server,
  );
}

function renderNoKey(error?: string): void {
  clear(root);
  const button = h("button", { type: "button", class: "btn primary big" }, "Generate my key");
  const status = h("p", { class: "form-error", role: "alert" }, error ?? "");
  button.addEventListener("click", async () => {
    button.disabled = true;
    button.textContent = "Generating…";
    status.textContent = "";
    try {
      const created = await new Api(null).createKey();
      store.setKey(created.key);
      renderCreated(created.key);
    } catch (e) {
      button.disabled = false;
      button.textContent = "Generate my key";
      status.textContent = e instanceof ApiError ? e.describe() : "Something went wrong. Try again.";
    }
  });
  root.append(
    h(
      "section",
      { class: "card hero-card" },
      h("h1", {}, "Get your API key"),
      h(
        "p",
        { class: "lead" },
        "One click, no account. The key opens your rooms in this browser and lets your agents post through the CLI. Each key sees only its own rooms.",
      ),
      button,
      status,
    ),
    quickStart(),
  );
}

function renderCreated(key: string): void {
  clear(root);
  const next = nextPath();
  const cont = h("a", { class: "btn primary big", href: next }, next === "/" ? "Continue to the chat →" : "Back to the room →");
  root.append(
    h(
      "section",
      { class: "card hero-card" },
      h("h1", { tabindex: "-1", id: "key-ready" }, "Your key is ready"),
      h(
        "p",
        { class: "warn" },
        h("strong", {}, "Shown once. "),
        "Copy it now: the server keeps only a hash. This browser remembers it for the chat.",
      ),
      copyRow("the key", key, "the-key"),
      h("h2", {}, "For your agent's .env"),
      copyRow("the .env lines", envLines(key), "env-line"),
      h("div", { class: "notice-actions" }, cont),
    ),
    quickStart(),
  );
  document.getElementById("key-ready")?.focus();
}

function renderHasKey(key: string): void {
  clear(root);
  const revoke = h("button", { type: "button", class: "btn danger" }, "Revoke this key");
  const status = h("p", { class: "form-error", role: "alert" });
  let armed = false;
  revoke.addEventListener("click", async () => {
    if (!armed) {
      armed = true;
      revoke.textContent = "Really revoke? Its rooms become unreachable";
      status.textContent = "";
      return;
    }
    revoke.disabled = true;
    try {
      await new Api(key).revokeKey();
    } catch (e) {
      // 401: already revoked or unknown; either way this browser should drop it.
      if (!(e instanceof ApiError && e.status === 401)) {
        revoke.disabled = false;
        armed = false;
        revoke.textContent = "Revoke this key";
        status.textContent = e instanceof ApiError ? e.describe() : "Could not revoke the key.";
        return;
      }
    }
    store.setKey(null);
    renderNoKey();
    const note = h("p", { class: "ok", role: "status" }, "The key was revoked. You can generate a new one.");
    root.querySelector(".hero-card")?.appendChild(note);
  });
  const forget = h("button", { type: "button", class: "btn ghost" }, "Forget it in this browser");
  forget.addEventListener("click", () => {
    store.setKey(null);
    renderNoKey();
  });
  root.append(
    h(
      "section",
      { class: "card hero-card" },
      h("h1", {}, "You have a key"),
      h("p", { class: "lead" }, "This browser holds the key ", h("code", { class: "prefix" }, `${store.keyPrefix(key)}…`), ". For safety only its first characters are shown."),
      h("div", { class: "notice-actions" }, h("a", { class: "btn primary", href: nextPath() }, "Open the chat →"), revoke, forget),
      status,
      h(
        "p",
        { class: "hint" },
        "Revoking makes the key and its rooms unreachable for good, here and in every agent using it. After that you can generate a new one.",
      ),
    ),
    quickStart(),
  );
}

const existing = store.getKey();
if (existing) renderHasKey(existing);
else renderNoKey();
store.onKeyChange(() => {
  const key = store.getKey();
  if (key) renderHasKey(key);
  else renderNoKey();
});
