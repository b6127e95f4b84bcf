// Short messages that fade away by themselves (a refused action, a warning, a welcome).

import { el } from "./dom.js";

const TOAST_MS = 5000;
const MAX_TOASTS = 4;

/** The container the toasts appear in (room.js puts it on the page). */
export const toasts = el("div", { id: "toasts", className: "toasts", role: "status", "aria-live": "polite" });

/**
 * Show a toast for a few seconds.
 * @param {unknown} text
 * @param {"error" | "warn"} [kind]
 */
export function toast(text, kind) {
  const node = el("div", { className: "toast" + (kind ? " toast-" + kind : "") }, String(text));
  toasts.appendChild(node);
  while (toasts.children.length > MAX_TOASTS) toasts.firstElementChild?.remove();
  setTimeout(() => {
    node.classList.add("toast-leaving");
    setTimeout(() => node.remove(), 300);
  }, TOAST_MS);
}
