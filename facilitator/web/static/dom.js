// DOM helpers for the meeting page. Every string from the server (names, titles, notes, prompts,
// chat) is untrusted: the DOM is built with createElement and textContent only, never innerHTML.

/**
 * What el() accepts as properties: className, text, hidden, dataset, on* listeners, and any
 * attribute (true: present and empty; null, undefined or false: left out).
 * @typedef {Record<string, unknown>} Props
 */

/** @typedef {Node | string | null | undefined | false} Child */

/**
 * Make an element with properties and children.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Props | null} [props]
 * @param {...Child} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function el(tag, props, ...children) {
  const node = document.createElement(tag);
  if (props) {
    for (const [key, value] of Object.entries(props)) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "className") node.className = String(value);
      else if (key === "text") node.textContent = String(value);
      else if (key === "hidden") node.hidden = Boolean(value);
      else if (key === "dataset") Object.assign(node.dataset, value);
      else if (key.startsWith("on") && typeof value === "function") {
        node.addEventListener(key.slice(2), /** @type {EventListener} */ (value));
      } else node.setAttribute(key, value === true ? "" : String(value));
    }
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

/**
 * A button whose accessible name is its visible text plus a visually hidden part.
 * @param {string} text
 * @param {string} hiddenText
 * @param {Props} [props]
 * @returns {HTMLButtonElement}
 */
export function actionButton(text, hiddenText, props) {
  const button = el("button", { type: "button", className: "button", ...props }, text);
  if (hiddenText) button.appendChild(el("span", { className: "visually-hidden", text: " " + hiddenText }));
  return button;
}

/**
 * Set a node's text, touching the DOM only when it changes.
 * @param {Node} node
 * @param {unknown} text
 */
export function setText(node, text) {
  const value = String(text);
  if (node.textContent !== value) node.textContent = value;
}

/**
 * Show or hide an element, touching the DOM only when it changes.
 * @param {HTMLElement} node
 * @param {unknown} hidden
 */
export function setHidden(node, hidden) {
  if (node.hidden !== Boolean(hidden)) node.hidden = Boolean(hidden);
}

/**
 * Add or remove a class.
 * @param {Element} node
 * @param {string} name
 * @param {unknown} on
 */
export function setClass(node, name, on) {
  node.classList.toggle(name, Boolean(on));
}

/**
 * Whether a key press on `target` is typing (so single-key shortcuts must not fire).
 * @param {EventTarget | null} target
 * @returns {boolean}
 */
export function isTyping(target) {
  if (!target || !(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  const tag = target.tagName;
  if (tag === "TEXTAREA" || tag === "SELECT") return true;
  if (tag === "INPUT") {
    const type = (target.getAttribute("type") || "text").toLowerCase();
    return !["button", "submit", "reset", "checkbox", "radio", "range", "color", "file"].includes(type);
  }
  return false;
}

/** @type {WeakMap<Element, Map<string, {node: Element, sig: string}>>} */
const keyedLists = new WeakMap();

/**
 * Render a keyed list: reuse each item's node while its signature is unchanged, rebuild it
 * otherwise, and give focus back to the same control (data-focus-key) if a rebuild took it away.
 * @template T
 * @param {Element} container
 * @param {T[]} items
 * @param {(item: T) => string} keyOf
 * @param {(item: T) => string} sigOf
 * @param {(item: T) => Element} build
 */
export function renderKeyed(container, items, keyOf, sigOf, build) {
  const old = keyedLists.get(container) || new Map();
  /** @type {Map<string, {node: Element, sig: string}>} */
  const next = new Map();
  const active = document.activeElement;
  let focusKey = null;
  if (active && container.contains(active)) {
    const holder = active.closest("[data-focus-key]");
    focusKey = holder ? holder.getAttribute("data-focus-key") : null;
  }
  let index = 0;
  for (const item of items) {
    const key = keyOf(item);
    const sig = sigOf(item);
    let entry = old.get(key);
    if (!entry || entry.sig !== sig) {
      const node = build(item);
      if (entry) entry.node.replaceWith(node);
      entry = { node, sig };
    }
    next.set(key, entry);
    const at = container.children[index];
    if (at !== entry.node) container.insertBefore(entry.node, at || null);
    index += 1;
  }
  for (const [key, entry] of old) {
    if (!next.has(key) && entry.node.parentNode === container) entry.node.remove();
  }
  keyedLists.set(container, next);
  if (focusKey && !container.contains(document.activeElement)) {
    const target = container.querySelector('[data-focus-key="' + CSS.escape(focusKey) + '"]');
    if (target instanceof HTMLElement && !(target instanceof HTMLButtonElement && target.disabled)) {
      target.focus({ preventScroll: true });
    }
  }
}
