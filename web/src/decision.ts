// Decisions (issue 17), the pure part: who may answer, folding long values,
// the countdown, the final state in words, describing "always allow"
// suggestions, and collecting a question form's answers. No DOM here (the
// unit tests run it in node); decision-card.ts draws the card.

export type DecisionKind = "permission" | "plan" | "question";
export type DecisionStatus = "pending" | "allowed" | "denied" | "answered" | "expired" | "cancelled";

export interface QuestionOption {
  label: string;
  description?: string;
}

export interface Question {
  question: string;
  header?: string;
  options: QuestionOption[];
  multiSelect?: boolean;
}

export type Answer = string | string[];

export interface Decision {
  id: string;
  room_id: string;
  kind: DecisionKind;
  requester: string;
  requester_verified: boolean;
  tool_name: string | null;
  tool_input: Record<string, unknown> | null;
  plan: string | null;
  questions: Question[] | null;
  suggestions: Record<string, unknown>[] | null;
  status: DecisionStatus;
  outcome: "allow" | "deny" | null;
  answers: Record<string, Answer> | null;
  feedback: string | null;
  suggestion: Record<string, unknown> | null;
  decided_by: string | null;
  decided_at: string | null;
  created_at: string;
  expires_at: string;
  expires_at_s?: number;
}

/** Who is looking: the owner key, a member (with its role), or a visitor. */
export type Viewer =
  | { kind: "owner" }
  | { kind: "member"; handle: string; role: "agent" | "human" | "viewer" }
  | { kind: "visitor" };

/**
 * Whether this viewer gets the buttons: a verified human only (the owner key,
 * or a `human` member), never the one who asked. When the owner key asked
 * (the requester is not a verified member), only human members may answer.
 * The server checks the same; this only keeps the buttons honest.
 */
export function canAnswer(viewer: Viewer, d: Pick<Decision, "requester" | "requester_verified">): boolean {
  if (viewer.kind === "owner") return d.requester_verified;
  if (viewer.kind !== "member" || viewer.role !== "human") return false;
  return !(d.requester_verified && d.requester.toLowerCase() === viewer.handle.toLowerCase());
}

/** The status as of `now`: a pending decision past its expiry reads as expired. */
export function effectiveStatus(d: Pick<Decision, "status" | "expires_at">, now: number = Date.now()): DecisionStatus {
  if (d.status === "pending" && Date.parse(d.expires_at) <= now) return "expired";
  return d.status;
}

/** "4:05 left", "0:09 left"; "" once expired. */
export function countdown(expiresAt: string, now: number = Date.now()): string {
  const left = Math.ceil((Date.parse(expiresAt) - now) / 1000);
  if (!(left > 0)) return "";
  const h = Math.floor(left / 3600);
  const m = Math.floor((left % 3600) / 60);
  const s = String(left % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${s} left` : `${m}:${s} left`;
}

/** A long value as its start, the folded middle and its end; `null` if short enough to show whole. */
export interface Folded {
  head: string;
  middle: string;
  tail: string;
}

export const FOLD_AT = 600;
const HEAD = 320;
const TAIL = 200;

export function fold(text: string, at: number = FOLD_AT): Folded | null {
  const chars = Array.from(text);
  const lines = text.split("\n").length;
  if (chars.length <= at && lines <= 16) return null;
  if (chars.length <= at) {
    // Many short lines: fold by lines, keeping the first 8 and the last 4.
    const all = text.split("\n");
    return {
      head: all.slice(0, 8).join("\n") + "\n",
      middle: all.slice(8, -4).join("\n") + "\n",
      tail: all.slice(-4).join("\n"),
    };
  }
  return {
    head: chars.slice(0, HEAD).join(""),
    middle: chars.slice(HEAD, chars.length - TAIL).join(""),
    tail: chars.slice(chars.length - TAIL).join(""),
  };
}

/** A tool input value as text: strings as they are, anything else as indented JSON. */
export function valueText(v: unknown): string {
  if (typeof v === "string") return v;
  try {
    return JSON.stringify(v, null, 2) ?? String(v);
  } catch {
    return String(v);
  }
}

/** What an "always allow" suggestion does, in words. */
export function describeSuggestion(s: Record<string, unknown>): string {
  const where = destination(s.destination);
  if (s.type === "addRules" && Array.isArray(s.rules)) {
    const rules = s.rules
      .map((r) => {
        const rule = r as { toolName?: unknown; ruleContent?: unknown };
        const tool = typeof rule.toolName === "string" ? rule.toolName : "?";
        return typeof rule.ruleContent === "string" && rule.ruleContent ? `${tool}(${rule.ruleContent})` : tool;
      })
      .join(", ");
    const verb = s.behavior === "deny" ? "Always deny" : s.behavior === "ask" ? "Always ask for" : "Always allow";
    return `${verb} ${rules}${where}`;
  }
  if (s.type === "setMode" && typeof s.mode === "string") {
    const modes: Record<string, string> = {
      acceptEdits: "Accept edits without asking",
      bypassPermissions: "Stop asking for permissions",
      default: "Ask as usual",
      plan: "Go back to planning",
    };
    return `${modes[s.mode] ?? `Switch to ${s.mode} mode`}${where}`;
  }
  if (s.type === "addDirectories" && Array.isArray(s.directories)) {
    return `Also allow the folders ${s.directories.join(", ")}${where}`;
  }
  return `${String(s.type ?? "Permission update")}${where}`;
}

function destination(d: unknown): string {
  switch (d) {
    case "session":
      return " for this session";
    case "localSettings":
      return " (this project, local settings)";
    case "projectSettings":
      return " (this project, shared settings)";
    case "userSettings":
      return " (all projects)";
    default:
      return "";
  }
}

/** The final state in words: who decided what and when; "" while pending. */
export function finalText(d: Decision, now: number = Date.now()): string {
  const who = d.decided_by === "owner" ? "the room's owner" : (d.decided_by ?? "someone");
  switch (effectiveStatus(d, now)) {
    case "allowed":
      return d.kind === "plan" ? `Plan approved by ${who}` : `Allowed by ${who}`;
    case "denied":
      return d.kind === "plan" ? `Plan sent back by ${who}` : `Denied by ${who}`;
    case "answered":
      return `Answered by ${who}`;
    case "expired":
      return "Expired: nobody answered in time, so the agent asks in its terminal";
    case "cancelled":
      return `Cancelled by ${d.requester}`;
    default:
      return "";
  }
}

/** The text an answer shows: labels joined, free text as typed. */
export function answerText(a: Answer): string {
  return Array.isArray(a) ? a.join(", ") : a;
}

/** One question's state in a form: the labels ticked, and "Other" text if that is ticked. */
export interface QuestionPick {
  labels: string[];
  other: string | null;
}

/**
 * The answers body for a question form, or the first problem in words. A
 * single-choice question takes exactly one label (or "Other: text"); a
 * multi-select one a non-empty list.
 */
export function collectAnswers(
  questions: Question[],
  picks: QuestionPick[],
): { answers: Record<string, Answer> } | { error: string } {
  const answers: Record<string, Answer> = {};
  for (const [i, q] of questions.entries()) {
    const pick = picks[i] ?? { labels: [], other: null };
    const chosen = [...pick.labels];
    if (pick.other !== null) {
      const text = pick.other.trim();
      if (!text) return { error: `Write your own answer to "${q.header || q.question}", or pick an option.` };
      chosen.push(`Other: ${text}`);
    }
    if (!chosen.length) return { error: `Pick an answer to "${q.header || q.question}".` };
    if (q.multiSelect) answers[q.question] = chosen;
    else if (chosen.length === 1) answers[q.question] = chosen[0]!;
    else return { error: `"${q.header || q.question}" takes one answer.` };
  }
  return { answers };
}

/** Whether snapshot `next` should replace the `shown` one of the same decision: a decided state beats pending; else the later. */
export function replaces(
  shown: { status: DecisionStatus; created_at: string },
  next: { status: DecisionStatus; created_at: string },
): boolean {
  const shownDone = shown.status !== "pending";
  const nextDone = next.status !== "pending";
  if (shownDone !== nextDone) return nextDone;
  return Date.parse(next.created_at) >= Date.parse(shown.created_at);
}
