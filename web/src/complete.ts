// @-completion in the composer: typing `@` and a prefix opens a listbox of
// matching handles (the room's members, then recent senders). Arrows move,
// Enter or Tab inserts, Escape closes; a click inserts too. The textarea keeps
// focus throughout (aria-activedescendant points at the active option).

import { h, clear } from "./dom";
import { applyCompletion, matchHandles, mentionQueryAt, type MentionQuery } from "./mention";

let seq = 0;

export interface Completion {
  isOpen(): boolean;
  /** The listbox; the caller places it next to the textarea. */
  readonly list: HTMLElement;
}

export function attachCompletion(
  textarea: HTMLTextAreaElement,
  candidates: () => string[],
  me: () => string | null,
): Completion {
  const id = `mention-list-${++seq}`;
  const list = h("ul", { id, class: "mention-list", role: "listbox", "aria-label": "Mention someone", hidden: true });
  textarea.setAttribute("aria-autocomplete", "list");
  textarea.setAttribute("aria-controls", id);
  textarea.setAttribute("aria-expanded", "false");
  let items: string[] = [];
  let active = 0;
  let query: MentionQuery | null = null;

  const close = () => {
    items = [];
    query = null;
    list.hidden = true;
    clear(list);
    textarea.setAttribute("aria-expanded", "false");
    textarea.removeAttribute("aria-activedescendant");
  };

  const paint = () => {
    clear(list);
    items.forEach((handle, i) => {
      const li = h(
        "li",
        { id: `${id}-${i}`, role: "option", class: "mention-option", "aria-selected": String(i === active), "data-handle": handle },
        h("span", { class: "at", "aria-hidden": "true" }, "@"),
        handle,
        handle === "all" ? h("span", { class: "hint-all" }, " everyone in the room") : null,
      );
      // mousedown, not click: the textarea must not lose focus (and the caret) first.
      li.addEventListener("mousedown", (e) => {
        e.preventDefault();
        pick(i);
      });
      list.appendChild(li);
    });
    list.hidden = false;
    textarea.setAttribute("aria-expanded", "true");
    textarea.setAttribute("aria-activedescendant", `${id}-${active}`);
    list.children[active]?.scrollIntoView({ block: "nearest" });
  };

  const update = () => {
    const caret = textarea.selectionStart;
    if (caret !== textarea.selectionEnd) return close();
    const q = mentionQueryAt(textarea.value, caret);
    if (!q) return close();
    const found = matchHandles(candidates(), q.query, 8, me());
    if (!found.length) return close();
    const keep = query && items[active] ? found.indexOf(items[active]!) : -1;
    query = q;
    items = found;
    active = keep >= 0 ? keep : 0;
    paint();
  };

  const pick = (i: number) => {
    const handle = items[i];
    if (!handle || !query) return;
    const caret = textarea.selectionStart;
    const out = applyCompletion(textarea.value, query, caret, handle);
    close();
    textarea.value = out.text;
    textarea.setSelectionRange(out.caret, out.caret);
    textarea.dispatchEvent(new Event("input"));
    close();
    textarea.focus();
  };

  textarea.addEventListener("input", update);
  textarea.addEventListener("click", update);
  textarea.addEventListener("blur", () => window.setTimeout(close, 100));
  // Capture: runs before the composer's own Enter-to-send handler.
  textarea.addEventListener(
    "keydown",
    (e) => {
      if (list.hidden || !items.length) return;
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        active = (active + (e.key === "ArrowDown" ? 1 : items.length - 1)) % items.length;
        paint();
      } else if ((e.key === "Enter" && !e.shiftKey && !e.isComposing) || e.key === "Tab") {
        e.preventDefault();
        e.stopImmediatePropagation();
        pick(active);
      } else if (e.key === "Escape") {
        e.preventDefault();
        e.stopPropagation();
        close();
      }
    },
    { capture: true },
  );
  return { isOpen: () => !list.hidden, list };
}
