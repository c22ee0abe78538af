// A sender's color: the message's own `color` when it has a valid one, else one
// derived from the name, so the same name always gets the same color.

const HEX = /^#[0-9a-fA-F]{6}$/;

/** FNV-1a, 32 bits: small, stable across browsers and runs. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function hslToHex(h: number, s: number, l: number): string {
  const a = s * Math.min(l, 1 - l);
  const f = (n: number) => {
    const k = (n + h / 30) % 12;
    const c = l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1));
    return Math.round(c * 255)
      .toString(16)
      .padStart(2, "0");
  };
  return `#${f(0)}${f(8)}${f(4)}`;
}

/** A color readable on the dark theme (the light theme darkens it in CSS). */
export function colorForName(name: string): string {
  const h = hashString(name.trim().toLowerCase());
  const hue = h % 360;
  const sat = 0.55 + ((h >>> 9) % 25) / 100;
  const light = 0.6 + ((h >>> 17) % 10) / 100;
  return hslToHex(hue, sat, light);
}

export function senderColor(sender: string, color: string | null | undefined): string {
  return color && HEX.test(color) ? color.toLowerCase() : colorForName(sender);
}
