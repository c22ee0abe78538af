// A decision card (issue 17): what an agent asks to do (a tool and its whole
// input, a plan, or questions), a countdown to its expiry, the controls for
// someone allowed to answer, and the final state. One card per decision id:
// later snapshots redraw the same card (see MessageList).

import { type AnswerBody, ApiError } from "./api";
import { h } from "./dom";
import { renderMarkdown } from "./markdown";
import {
  answerText,
  canAnswer,
  collectAnswers,
  countdown,
  describeSuggestion,
  effectiveStatus,
  finalText,
  fold,
  valueText,
  type Decision,
  type QuestionPick,
  type Viewer,
} from "./decision";
import { exactTime } from "./time";

export interface CardContext {
  viewer(): Viewer;
  /** `POST …/decisions/:did/answer`; a 409 rejects with an ApiError whose `body.decision` is the winner. */
  answer(d: Decision, body: AnswerBody): Promise<Decision>;
}

const KIND_LABEL = { permission: "Permission", plan: "Plan", question: "Question" } as const;

/** Draws the card for a snapshot into `host` (replacing what was there). */
export function drawDecision(host: HTMLElement, d: Decision, ctx: CardContext): void {
  const status = effectiveStatus(d);
  const pending = status === "pending";
  const card = h("div", {
    class: `decision kind-${d.kind} status-${status}`,
    "data-decision-id": d.id,
    "data-status": status,
    role: "group",
    "aria-label": `${KIND_LABEL[d.kind]} request from ${d.requester}`,
  });
  const head = h(
    "div",
    { class: "decision-head" },
    h("span", { class: "decision-kind" }, KIND_LABEL[d.kind]),
    h("span", { class: "sender" }, d.requester),
    d.requester_verified
      ? h("span", { class: "verified", title: "verified by the server", "aria-label": "verified by the server", role: "img" }, "✓")
      : h("span", { class: "unverified", title: "asked with the room's owner key, not a member token" }, "(owner key)"),
    h("span", { class: "badge", title: "Asked by a coding agent" }, "agent"),
    d.tool_name ? h("code", { class: "decision-tool" }, d.tool_name) : null,
  );
  card.appendChild(head);
  card.appendChild(body(d, pending && canAnswer(ctx.viewer(), d)));
  if (pending) {
    const clock = h("p", { class: "decision-clock", "data-expires": d.expires_at, "aria-live": "off" }, countdown(d.expires_at));
    card.appendChild(clock);
    if (canAnswer(ctx.viewer(), d)) card.appendChild(controls(host, d, ctx));
    else card.appendChild(h("p", { class: "decision-wait" }, "Waiting for a person in the room to answer."));
    ticking.set(card, () => drawDecision(host, d, ctx));
    startTicking();
  } else {
    card.appendChild(outcome(d));
  }
  host.replaceChildren(card);
}

function body(d: Decision, answering: boolean): HTMLElement {
  const wrap = h("div", { class: "decision-body" });
  if (d.kind === "plan" && d.plan !== null) {
    const plan = h("div", { class: "content decision-plan" });
    plan.appendChild(renderMarkdown(d.plan));
    wrap.appendChild(plan);
  } else if (d.kind === "question" && d.questions) {
    // Drawn as controls in `controls` when answering; read-only here otherwise.
    if (!answering) wrap.appendChild(questionsReadOnly(d));
  } else if (d.tool_input) {
    wrap.appendChild(inputTable(d.tool_input));
  }
  return wrap;
}

/** Every key of the tool input; long values folded, start and end always shown. */
export function inputTable(input: Record<string, unknown>): HTMLElement {
  const dl = h("dl", { class: "decision-input" });
  for (const [key, value] of Object.entries(input)) {
    dl.appendChild(h("dt", {}, key));
    dl.appendChild(h("dd", {}, foldedValue(valueText(value))));
  }
  return dl;
}

function foldedValue(text: string): HTMLElement {
  const pre = h("pre", { class: "decision-value", tabindex: "0" });
  const folded = fold(text);
  if (!folded) {
    pre.textContent = text;
    return pre;
  }
  const hidden = Array.from(folded.middle).length;
  const middle = h("span", { class: "fold-middle", hidden: true }, folded.middle);
  const toggle = h(
    "button",
    { type: "button", class: "fold-toggle", "aria-expanded": "false" },
    `… ${hidden} more characters (show all) …`,
  );
  toggle.addEventListener("click", () => {
    const open = middle.hidden;
    middle.hidden = !open;
    toggle.setAttribute("aria-expanded", String(open));
    toggle.textContent = open ? "(fold)" : `… ${hidden} more characters (show all) …`;
  });
  pre.append(h("span", { class: "fold-head" }, folded.head), toggle, middle, h("span", { class: "fold-tail" }, folded.tail));
  return pre;
}

function questionsReadOnly(d: Decision): HTMLElement {
  const list = h("div", { class: "decision-questions" });
  for (const q of d.questions ?? []) {
    const answer = d.answers?.[q.question];
    list.appendChild(
      h(
        "div",
        { class: "decision-question" },
        h("p", { class: "q-text" }, q.header ? h("strong", {}, `${q.header}: `) : null, q.question),
        h("ul", { class: "q-options" }, ...q.options.map((o) => h("li", {}, o.label, o.description ? h("span", { class: "muted" }, ` — ${o.description}`) : null))),
        answer !== undefined ? h("p", { class: "q-answer" }, "Answer: ", h("strong", {}, answerText(answer))) : null,
      ),
    );
  }
  return list;
}

let cardSeq = 0;

function controls(host: HTMLElement, d: Decision, ctx: CardContext): HTMLElement {
  const n = ++cardSeq;
  const form = h("form", { class: "decision-controls", novalidate: true });
  const error = h("p", { class: "composer-error decision-error", role: "alert" });
  const busy = (on: boolean) => {
    for (const b of Array.from(form.querySelectorAll("button"))) b.disabled = on;
  };
  const send = async (payload: AnswerBody) => {
    error.textContent = "";
    busy(true);
    try {
      drawDecision(host, await ctx.answer(d, payload), ctx);
    } catch (e) {
      const winner = e instanceof ApiError ? (e.body as { decision?: Decision } | undefined)?.decision : undefined;
      if (e instanceof ApiError && e.status === 409 && winner) {
        drawDecision(host, winner, ctx);
        host.querySelector(".decision-final")?.prepend(h("span", { class: "decision-late" }, "Someone answered first. "));
        return;
      }
      error.textContent = e instanceof ApiError ? e.describe() : "Could not send the answer.";
      busy(false);
    }
  };

  if (d.kind === "question" && d.questions) {
    const picks: (() => QuestionPick)[] = [];
    for (const [i, q] of d.questions.entries()) {
      const name = `dq-${n}-${i}`;
      const type = q.multiSelect ? "checkbox" : "radio";
      const fs = h("fieldset", { class: "decision-question" }, h("legend", {}, q.header ? h("strong", {}, `${q.header}: `) : null, q.question));
      const boxes: HTMLInputElement[] = [];
      for (const o of q.options) {
        const box = h("input", { type, name, value: o.label });
        boxes.push(box);
        fs.appendChild(h("label", { class: "q-option" }, box, " ", o.label, o.description ? h("span", { class: "muted" }, ` — ${o.description}`) : null));
      }
      const otherBox = h("input", { type, name, value: "__other__", "aria-label": "Other" });
      const otherText = h("input", { type: "text", class: "q-other", placeholder: "Other: your own answer", "aria-label": `Your own answer to ${q.question}`, maxlength: "2000" });
      otherText.addEventListener("input", () => {
        if (otherText.value && !otherBox.checked) otherBox.checked = true;
      });
      fs.appendChild(h("label", { class: "q-option q-other-row" }, otherBox, " Other ", otherText));
      form.appendChild(fs);
      picks.push(() => ({
        labels: boxes.filter((b) => b.checked).map((b) => b.value),
        other: otherBox.checked ? otherText.value : null,
      }));
    }
    form.appendChild(error);
    form.appendChild(h("div", { class: "decision-buttons" }, h("button", { type: "submit", class: "btn small primary", "data-action": "submit-answers" }, "Submit answers")));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const got = collectAnswers(d.questions ?? [], picks.map((p) => p()));
      if ("error" in got) error.textContent = got.error;
      else void send({ answers: got.answers });
    });
    return form;
  }

  // Permission or plan: optional "always" suggestion, optional feedback, Allow / Deny.
  let chosen: () => Record<string, unknown> | undefined = () => undefined;
  if (d.suggestions?.length) {
    const name = `ds-${n}`;
    const once = h("input", { type: "radio", name, value: "-1", checked: true });
    const radios = d.suggestions.map((s, i) => ({ s, box: h("input", { type: "radio", name, value: String(i) }) }));
    form.appendChild(
      h(
        "fieldset",
        { class: "decision-suggestions" },
        h("legend", {}, "If allowed"),
        h("label", { class: "q-option" }, once, " Just this once"),
        ...radios.map(({ s, box }) => h("label", { class: "q-option" }, box, " ", describeSuggestion(s))),
      ),
    );
    chosen = () => radios.find((r) => r.box.checked)?.s;
  }
  const feedback = h("textarea", {
    class: "decision-feedback",
    rows: "2",
    maxlength: "4000",
    placeholder: d.kind === "plan" ? "Feedback for the agent (optional; sent with Deny)" : "Why, or what to do instead (optional; sent with Deny)",
    "aria-label": "Feedback for the agent",
  });
  form.appendChild(feedback);
  form.appendChild(error);
  const allow = h("button", { type: "button", class: "btn small primary", "data-action": "allow" }, d.kind === "plan" ? "Allow (approve plan)" : "Allow");
  const deny = h("button", { type: "button", class: "btn small danger", "data-action": "deny" }, "Deny");
  allow.addEventListener("click", () => {
    // Feedback goes with Deny only: Claude Code's allow carries no message.
    const body: AnswerBody = { outcome: "allow" };
    const s = chosen();
    if (s) body.suggestion = s;
    void send(body);
  });
  deny.addEventListener("click", () => {
    const body: AnswerBody = { outcome: "deny" };
    if (feedback.value.trim()) body.feedback = feedback.value.trim();
    void send(body);
  });
  form.addEventListener("submit", (e) => e.preventDefault());
  form.appendChild(h("div", { class: "decision-buttons" }, allow, deny));
  return form;
}

function outcome(d: Decision): HTMLElement {
  const when = d.decided_at ? new Date(d.decided_at) : null;
  const final = h(
    "p",
    { class: "decision-final" },
    finalText(d),
    when ? h("time", { datetime: d.decided_at!, title: exactTime(when) }, ` · ${exactTime(when)}`) : null,
  );
  const box = h("div", { class: "decision-outcome" }, final);
  if (d.feedback) box.appendChild(h("blockquote", { class: "decision-feedback-text" }, d.feedback));
  if (d.suggestion) box.appendChild(h("p", { class: "muted" }, `And from now on: ${describeSuggestion(d.suggestion)}`));
  return box;
}

/** Pending cards: their countdown ticks, and they redraw as expired when it runs out. */
const ticking = new Map<HTMLElement, () => void>();
let timer = 0;

function startTicking(): void {
  if (timer) return;
  timer = window.setInterval(() => {
    for (const [card, redraw] of ticking) {
      if (!card.isConnected || card.dataset.status !== "pending") {
        if (!card.isConnected) ticking.delete(card);
        continue;
      }
      const clock = card.querySelector<HTMLElement>(".decision-clock");
      const text = countdown(clock?.dataset.expires ?? "");
      if (!text) {
        ticking.delete(card);
        redraw();
      } else if (clock && clock.textContent !== text) {
        clock.textContent = text;
      }
    }
    if (!ticking.size) {
      window.clearInterval(timer);
      timer = 0;
    }
  }, 1000);
}
