// Message content: markdown (marked) -> HTML string -> DOMPurify, which hands
// back a DocumentFragment; nothing unsanitized ever reaches the DOM. Raw HTML
// in a message is shown as the text it is, images become links (remote images
// would break the CSP), and code blocks get a toolbar and lazy highlighting.

import DOMPurify from "dompurify";
import { Marked, type Tokens } from "marked";
import { copyText, h } from "./dom";
import { resolveLanguage } from "./langs";

function escapeHtml(s: string): string {
  return s
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

const marked = new Marked({
  gfm: true,
  breaks: true,
  async: false,
  renderer: {
    // `<img onerror=...>` or `<script>` in a message is text, shown as typed.
    html({ text }: Tokens.HTML | Tokens.Tag): string {
      return escapeHtml(text);
    },
    image({ href, text }: Tokens.Image): string {
      const label = escapeHtml(text || href);
      return `<a href="${escapeHtml(href)}">${label}</a>`;
    },
  },
});

const ALLOWED_TAGS = [
  "a", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5",
  "h6", "hr", "i", "input", "li", "ol", "p", "pre", "s", "strong", "sub", "sup",
  "table", "tbody", "td", "th", "thead", "tr", "ul",
];
const ALLOWED_ATTR = ["href", "title", "class", "start", "align", "type", "checked", "disabled"];

DOMPurify.addHook("uponSanitizeAttribute", (node, data) => {
  // Classes only to carry a code block's language; nothing can borrow the page's styles.
  if (data.attrName === "class") {
    data.keepAttr = node.nodeName === "CODE" && /^language-[\w+#.-]{1,32}$/.test(data.attrValue);
  }
});

DOMPurify.addHook("afterSanitizeAttributes", (node) => {
  if (node.nodeName === "A") {
    node.setAttribute("target", "_blank");
    node.setAttribute("rel", "noopener noreferrer nofollow ugc");
  } else if (node.nodeName === "INPUT") {
    // Only the read-only task-list checkboxes marked writes.
    if (node.getAttribute("type") !== "checkbox") node.remove();
    else node.setAttribute("disabled", "");
  }
});

/** Turns markdown into a sanitized fragment, ready to append. */
export function renderMarkdown(content: string): DocumentFragment {
  let html: string;
  try {
    html = marked.parse(content) as string;
  } catch (e) {
    // Never lose a message to a parser bug: show it as plain text.
    console.warn("markdown failed", e);
    const fragment = document.createDocumentFragment();
    fragment.appendChild(h("p", { class: "plain" }, content));
    return fragment;
  }
  const fragment = DOMPurify.sanitize(html, {
    ALLOWED_TAGS,
    ALLOWED_ATTR,
    ALLOW_DATA_ATTR: false,
    RETURN_DOM_FRAGMENT: true,
  });
  decorateCodeBlocks(fragment);
  return fragment;
}

let highlighter: Promise<typeof import("./highlight")> | null = null;

function decorateCodeBlocks(root: DocumentFragment): void {
  for (const pre of Array.from(root.querySelectorAll("pre"))) {
    const code = pre.querySelector("code");
    if (!code) continue;
    const info = /(?:^|\s)language-(\S+)/.exec(code.className)?.[1] ?? "";
    const lang = resolveLanguage(info);
    const label = info || "text";
    const copy = h("button", { type: "button", class: "code-copy", "aria-label": `Copy ${label} code` }, "Copy");
    copy.addEventListener("click", () => {
      void copyText(code.textContent ?? "").then((ok) => {
        copy.textContent = ok ? "Copied" : "Copy failed";
        window.setTimeout(() => (copy.textContent = "Copy"), 1500);
      });
    });
    const block = h("div", { class: "codeblock" }, h("div", { class: "code-head" }, h("span", { class: "code-lang" }, label), copy));
    pre.replaceWith(block);
    block.appendChild(pre);
    pre.tabIndex = 0; // scrollable by keyboard
    if (lang) {
      code.dataset.lang = lang;
      highlighter ??= import("./highlight");
      highlighter
        .then((m) => m.highlightElement(code, lang))
        .catch((e: unknown) => {
          // Plain text is a fine fallback; say why in the console only.
          console.warn("highlighting failed", e);
        });
    }
  }
}
