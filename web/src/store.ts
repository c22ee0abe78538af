// What the browser remembers: the API key, the human's handle, the last room,
// and member tokens for rooms it was invited to.
// localStorage can throw (storage disabled, quota); then this tab keeps the
// values in memory only.

const KEY = "meet-ai-key";
const HANDLE = "meet-ai-handle";
const LAST_ROOM = "meet-ai-last-room";
/** JSON object: room id -> member token (rooms this browser was invited to). */
const MEMBERS = "meet-ai-members";

const memory = new Map<string, string>();

function read(name: string): string | null {
  try {
    return window.localStorage.getItem(name);
  } catch {
    return memory.get(name) ?? null;
  }
}

function write(name: string, value: string | null): void {
  if (value === null) memory.delete(name);
  else memory.set(name, value);
  try {
    if (value === null) window.localStorage.removeItem(name);
    else window.localStorage.setItem(name, value);
  } catch {
    // Kept in memory above.
  }
}

export const KEY_PATTERN = /^mai_[A-Za-z0-9_-]{24}$/;

export function getKey(): string | null {
  const key = read(KEY)?.trim() ?? null;
  return key && KEY_PATTERN.test(key) ? key : null;
}

export function setKey(key: string | null): void {
  write(KEY, key);
}

/** The part of a key that is safe to show: `mai_` and four more characters. */
export function keyPrefix(key: string): string {
  return key.slice(0, 8);
}

export function getHandle(): string | null {
  return read(HANDLE);
}

export function setHandle(handle: string): void {
  write(HANDLE, handle);
}

export function getLastRoom(): string | null {
  return read(LAST_ROOM);
}

export function setLastRoom(id: string): void {
  write(LAST_ROOM, id);
}

const MEMBER_TOKEN = /^mem_[A-Za-z0-9_-]{24}$/;

/** Member tokens this browser holds, by room id. */
export function getMemberTokens(): Map<string, string> {
  const out = new Map<string, string>();
  try {
    const parsed: unknown = JSON.parse(read(MEMBERS) ?? "{}");
    if (parsed && typeof parsed === "object") {
      for (const [room, token] of Object.entries(parsed as Record<string, unknown>)) {
        if (typeof token === "string" && MEMBER_TOKEN.test(token)) out.set(room, token);
      }
    }
  } catch {
    // Unreadable: none.
  }
  return out;
}

function writeMemberTokens(map: Map<string, string>): void {
  write(MEMBERS, map.size ? JSON.stringify(Object.fromEntries(map)) : null);
}

export function setMemberToken(roomId: string, token: string): void {
  const map = getMemberTokens();
  map.set(roomId, token);
  writeMemberTokens(map);
}

export function removeMemberToken(roomId: string): void {
  const map = getMemberTokens();
  if (map.delete(roomId)) writeMemberTokens(map);
}

/** Subscribe to another tab changing the key or the member tokens. */
export function onKeyChange(fn: () => void): void {
  window.addEventListener("storage", (e) => {
    if (e.key === KEY || e.key === MEMBERS || e.key === null) fn();
  });
}
