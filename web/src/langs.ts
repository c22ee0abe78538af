// The languages code blocks are highlighted in, and the names people use for
// them. Kept out of highlight.ts so deciding "is this worth loading Shiki for"
// costs nothing; the grammars themselves are loaded on demand.

export const LANGUAGES = [
  "rust", "typescript", "tsx", "javascript", "jsx", "python", "bash", "json",
  "diff", "sql", "toml", "yaml", "go", "html", "css",
] as const;

export type Language = (typeof LANGUAGES)[number];

const ALIASES: Record<string, Language> = {
  rs: "rust",
  ts: "typescript",
  mts: "typescript",
  cts: "typescript",
  js: "javascript",
  mjs: "javascript",
  cjs: "javascript",
  node: "javascript",
  py: "python",
  python3: "python",
  sh: "bash",
  shell: "bash",
  shellscript: "bash",
  zsh: "bash",
  console: "bash",
  jsonc: "json",
  json5: "json",
  patch: "diff",
  yml: "yaml",
  golang: "go",
  htm: "html",
  xhtml: "html",
  sqlite: "sql",
};

/** The grammar for a fence's info string ("rust", "rs", "Rust title=x"), if any. */
export function resolveLanguage(info: string | null | undefined): Language | null {
  const name = (info ?? "").trim().split(/\s+/)[0]?.toLowerCase() ?? "";
  if (!name) return null;
  if ((LANGUAGES as readonly string[]).includes(name)) return name as Language;
  return ALIASES[name] ?? null;
}
