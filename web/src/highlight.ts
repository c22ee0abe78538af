// Shiki, loaded lazily (this module is its own chunk): the fine-grained core,
// the JavaScript regex engine (no wasm, so nothing CSP forbids), two themes,
// and one chunk per grammar, fetched the first time a block needs it.

import { createHighlighterCore, type HighlighterCore, type LanguageInput } from "shiki/core";
import { createJavaScriptRegexEngine } from "shiki/engine/javascript";
import type { Language } from "./langs";

const GRAMMARS: Record<Language, () => LanguageInput> = {
  rust: () => import("shiki/langs/rust.mjs"),
  typescript: () => import("shiki/langs/typescript.mjs"),
  tsx: () => import("shiki/langs/tsx.mjs"),
  javascript: () => import("shiki/langs/javascript.mjs"),
  jsx: () => import("shiki/langs/jsx.mjs"),
  python: () => import("shiki/langs/python.mjs"),
  bash: () => import("shiki/langs/bash.mjs"),
  json: () => import("shiki/langs/json.mjs"),
  diff: () => import("shiki/langs/diff.mjs"),
  sql: () => import("shiki/langs/sql.mjs"),
  toml: () => import("shiki/langs/toml.mjs"),
  yaml: () => import("shiki/langs/yaml.mjs"),
  go: () => import("shiki/langs/go.mjs"),
  html: () => import("shiki/langs/html.mjs"),
  css: () => import("shiki/langs/css.mjs"),
};

const DARK = "github-dark-default";
const LIGHT = "github-light-default";

let highlighter: Promise<HighlighterCore> | null = null;
const loading = new Map<Language, Promise<void>>();

function core(): Promise<HighlighterCore> {
  highlighter ??= createHighlighterCore({
    themes: [
      import("shiki/themes/github-dark-default.mjs"),
      import("shiki/themes/github-light-default.mjs"),
    ],
    langs: [],
    engine: createJavaScriptRegexEngine({ forgiving: true }),
  });
  return highlighter;
}

async function ensure(hl: HighlighterCore, lang: Language): Promise<void> {
  let p = loading.get(lang);
  if (!p) {
    p = hl.loadLanguage(GRAMMARS[lang]());
    loading.set(lang, p);
  }
  await p;
}

/**
 * Replaces the text of `code` with highlighted spans. The spans are built as
 * DOM nodes from Shiki's tokens (never an HTML string); their colors are set
 * through the CSSOM, which the page's CSP allows. Dark colors are the
 * default, light ones ride along in `--shiki-light` for the light theme.
 */
export async function highlightElement(code: HTMLElement, lang: Language): Promise<void> {
  const source = code.textContent ?? "";
  const hl = await core();
  await ensure(hl, lang);
  const { tokens } = hl.codeToTokens(source.replace(/\n$/, ""), {
    lang,
    themes: { dark: DARK, light: LIGHT },
    defaultColor: "dark",
  });
  const out = document.createDocumentFragment();
  tokens.forEach((line, i) => {
    const lineEl = document.createElement("span");
    lineEl.className = "line";
    for (const token of line) {
      const span = document.createElement("span");
      span.textContent = token.content;
      for (const [prop, value] of Object.entries(token.htmlStyle ?? {})) {
        span.style.setProperty(prop, value);
      }
      if (!token.htmlStyle && token.color) span.style.color = token.color;
      lineEl.appendChild(span);
    }
    out.appendChild(lineEl);
    if (i < tokens.length - 1) out.appendChild(document.createTextNode("\n"));
  });
  code.replaceChildren(out);
  code.classList.add("highlighted");
}
