// Handles for humans: adjective-animal-number, e.g. "brave-otter-42".

const ADJECTIVES = [
  "amber", "bold", "brave", "bright", "calm", "clever", "cosmic", "curious",
  "daring", "eager", "fuzzy", "gentle", "glad", "golden", "happy", "jolly",
  "keen", "kind", "lively", "lucky", "mellow", "merry", "misty", "nimble",
  "noble", "plucky", "polite", "proud", "quick", "quiet", "rapid", "rosy",
  "shiny", "silent", "sly", "snowy", "spry", "sunny", "swift", "tidy",
  "vivid", "wise", "witty", "zesty",
];

const ANIMALS = [
  "badger", "bat", "bear", "beaver", "bison", "crane", "crow", "deer",
  "dolphin", "eagle", "falcon", "ferret", "finch", "fox", "gecko", "heron",
  "ibis", "koala", "lemur", "lion", "lynx", "marmot", "mole", "moose",
  "newt", "octopus", "otter", "owl", "panda", "puffin", "quail", "rabbit",
  "raven", "seal", "shrew", "sloth", "squid", "stoat", "tapir", "tiger",
  "toad", "walrus", "wolf", "wombat", "yak", "zebra",
];

/** Same limit as the API's `sender` (characters, not bytes). */
export const MAX_HANDLE_CHARS = 64;

export function randomHandle(random: () => number = Math.random): string {
  const pick = <T>(list: T[]): T => list[Math.floor(random() * list.length) % list.length]!;
  const n = 10 + (Math.floor(random() * 90) % 90);
  return `${pick(ADJECTIVES)}-${pick(ANIMALS)}-${n}`;
}

/** A handle as the user typed it, made acceptable to the API; null if empty. */
export function normalizeHandle(raw: string): string | null {
  const collapsed = raw.replace(/\s+/g, " ").trim();
  if (!collapsed) return null;
  return Array.from(collapsed).slice(0, MAX_HANDLE_CHARS).join("").trim();
}
