// What the browser remembers: the API key, the human's handle, the last room.
// localStorage can throw (storage disabled, quota); then this tab keeps the
// values in memory only.

const KEY = "meet-ai-key";
const HANDLE = "meet-ai-handle";
const LAST_ROOM = "meet-ai-last-room";

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

/** Subscribe to another tab changing the key. */
export function onKeyChange(fn: () => void): void {
  window.addEventListener("storage", (e) => {
    if (e.key === KEY || e.key === null) fn();
  });
}
