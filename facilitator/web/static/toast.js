// Short messages that fade away by themselves (a refused action, a warning, a welcome).

import { el } from "./dom.js";

const TOAST_MS = 5000;
const MAX_TOASTS = 4;

/** The container the toasts appear in (room.js puts it on the page). */
export const toasts = el("div", { id: "toasts", className: "toasts", role: "status", "aria-live": "polite" });

/** @type {WeakMap<Element, ReturnType<typeof setTimeout>>} each toast's fading timer */
const timers = new WeakMap();

/**
 * The toast showing under this key (not already fading), if any.
 * @param {string} key
 * @returns {HTMLElement | null}
 */
function showing(key) {
  for (const node of toasts.children) {
    if (node instanceof HTMLElement && node.dataset.key === key && !node.classList.contains("toast-leaving")) return node;
  }
  return null;
}

/**
 * @param {string} key
 * @returns {boolean} whether a toast with this key is on screen now
 */
export function toastShowing(key) {
  return showing(key) !== null;
}

/** @param {HTMLElement} node */
function fadeLater(node) {
  const old = timers.get(node);
  if (old !== undefined) clearTimeout(old);
  timers.set(node, setTimeout(() => {
    node.classList.add("toast-leaving");
    setTimeout(() => node.remove(), 300);
  }, TOAST_MS));
}

/**
 * Show a toast for a few seconds. A toast with the same `key` that is still on screen (by
 * default: the same words) is updated and kept longer instead, so a burst of the same news
 * (refused actions while the server cannot save, people knocking) is one toast, not a pile.
 * @param {unknown} text
 * @param {"error" | "warn"} [kind]
 * @param {string} [key]
 */
export function toast(text, kind, key) {
  const words = String(text);
  const id = key || (kind || "") + ":" + words;
  const old = showing(id);
  if (old) {
    if (old.textContent !== words) old.textContent = words;
    fadeLater(old);
    return;
  }
  const node = el("div", { className: "toast" + (kind ? " toast-" + kind : ""), dataset: { key: id } }, words);
  toasts.appendChild(node);
  while (toasts.children.length > MAX_TOASTS) toasts.firstElementChild?.remove();
  fadeLater(node);
}
