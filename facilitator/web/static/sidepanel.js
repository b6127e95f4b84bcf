// The side panel: tabs (Agenda, People, Chat, Notes, and Facilitator for facilitators) with
// unread badges. Beside the stage on a wide screen (the stage shrinks); a sheet over the stage
// with a close button on a phone.

import { el, setClass, setHidden, setText } from "./dom.js";
import { getItem, setItem } from "./storage.js";

/**
 * @typedef {object} Tab
 * @property {string} id
 * @property {HTMLButtonElement} tab
 * @property {HTMLElement} badge the unread count
 * @property {HTMLElement} waitBadge how many are waiting (the lobby, on People)
 * @property {HTMLElement} panel
 * @property {number} unread
 * @property {number} waiting
 */

const OPEN_KEY = "facilitator.panel";

/** @type {Map<string, Tab>} */
const tabs = new Map();
const tabList = el("div", { className: "tab-list", role: "tablist", "aria-label": "Meeting details" });
// A cross, not the word: the five tabs and their badges keep the line (its name is "Close panel").
const closeButton = el("button", { type: "button", id: "panel-close", className: "button button-small button-quiet panel-close", title: "Close panel" },
  el("span", { "aria-hidden": "true" }, "✕"), el("span", { className: "visually-hidden" }, "Close panel"));
const panels = el("div", { className: "tab-panels" });
export const sidePanel = el("aside", { id: "side-panel", className: "side-panel", "aria-label": "Meeting details", hidden: true },
  el("div", { className: "side-head" }, tabList, closeButton), panels);

/** @type {string} the tab shown when the panel is open */
let current = "chat";
/** @type {(open: boolean) => void} */
let onToggle = () => {};

/**
 * Add a tab and its panel.
 * @param {string} id
 * @param {string} label
 * @param {HTMLElement} content
 */
export function addTab(id, label, content) {
  const badge = el("span", { className: "tab-badge", hidden: true });
  const waitBadge = el("span", { className: "tab-badge tab-waiting", hidden: true });
  const tab = el("button", {
    type: "button", role: "tab", id: "tab-" + id, className: "tab",
    "aria-controls": "panel-" + id, "aria-selected": "false", tabindex: "-1",
  }, label, badge, waitBadge);
  const panel = el("div", { id: "panel-" + id, className: "tab-panel", role: "tabpanel", "aria-labelledby": "tab-" + id, tabindex: "0", hidden: true }, content);
  tabList.appendChild(tab);
  panels.appendChild(panel);
  tabs.set(id, { id, tab, badge, waitBadge, panel, unread: 0, waiting: 0 });
  tab.addEventListener("click", () => openPanel(id));
  tab.addEventListener("keydown", (event) => moveFocus(event, id));
}

/**
 * Arrow keys move between tabs (one tab stop for the whole list).
 * @param {KeyboardEvent} event
 * @param {string} id
 */
function moveFocus(event, id) {
  const shown = Array.from(tabs.values()).filter((t) => !t.tab.hidden);
  const at = shown.findIndex((t) => t.id === id);
  let next = -1;
  if (event.key === "ArrowRight") next = (at + 1) % shown.length;
  else if (event.key === "ArrowLeft") next = (at - 1 + shown.length) % shown.length;
  else if (event.key === "Home") next = 0;
  else if (event.key === "End") next = shown.length - 1;
  if (next < 0) return;
  event.preventDefault();
  openPanel(shown[next].id);
  shown[next].tab.focus();
}

/** @returns {boolean} whether the panel is open */
export function isOpen() {
  return !sidePanel.hidden;
}

/**
 * @param {string} id
 * @returns {boolean} whether that tab is the one being looked at
 */
export function isShowing(id) {
  return isOpen() && current === id && !document.hidden;
}

/**
 * Open the panel at a tab.
 * @param {string} id
 */
export function openPanel(id) {
  const wanted = tabs.get(id);
  if (!wanted || wanted.tab.hidden) return;
  current = id;
  for (const t of tabs.values()) {
    const on = t.id === id;
    t.tab.setAttribute("aria-selected", on ? "true" : "false");
    t.tab.tabIndex = on ? 0 : -1;
    setHidden(t.panel, !on);
  }
  wanted.unread = 0;
  paintBadge(wanted);
  const was = isOpen();
  setHidden(sidePanel, false);
  setItem("local", OPEN_KEY, id);
  if (!was) onToggle(true);
}

/** Close the panel (the stage gets the room back). */
export function closePanel() {
  if (!isOpen()) return;
  setHidden(sidePanel, true);
  setItem("local", OPEN_KEY, null);
  onToggle(false);
}

/**
 * Open or close the panel at a tab (the control bar's buttons).
 * @param {string} id
 */
export function togglePanel(id) {
  if (isOpen() && current === id) closePanel();
  else openPanel(id);
}

/**
 * Count something new in a tab that is not being looked at.
 * @param {string} id
 * @param {number} [count]
 */
export function markUnread(id, count = 1) {
  const t = tabs.get(id);
  if (!t || isShowing(id)) return;
  t.unread += count;
  paintBadge(t);
}

/**
 * @param {string} id
 * @returns {number} unread items in that tab
 */
export function unread(id) {
  return tabs.get(id)?.unread || 0;
}

/** @param {Tab} t */
function paintBadge(t) {
  setHidden(t.badge, !t.unread);
  t.badge.replaceChildren(String(t.unread), el("span", { className: "visually-hidden" }, " new"));
  onBadges();
}

/**
 * How many are waiting behind a tab (people knocking at the lobby, on People): a badge of its
 * own that stays while they wait, unlike the unread count, which opening the tab clears.
 * @param {string} id
 * @param {number} count
 */
export function setWaiting(id, count) {
  const t = tabs.get(id);
  if (!t || t.waiting === count) return;
  t.waiting = count;
  setHidden(t.waitBadge, !count);
  // Compact on the tab (the tab list must stay one line); the words are for screen readers.
  t.waitBadge.replaceChildren(String(count), el("span", { className: "visually-hidden" }, " waiting"));
  onBadges();
}

/**
 * @param {string} id
 * @returns {number} how many are waiting behind that tab
 */
export function waiting(id) {
  return tabs.get(id)?.waiting || 0;
}

/** @type {() => void} */
let onBadges = () => {};

/**
 * Show or hide a tab (the Facilitator tab is for facilitators only).
 * @param {string} id
 * @param {boolean} shown
 */
export function showTab(id, shown) {
  const t = tabs.get(id);
  if (!t) return;
  setHidden(t.tab, !shown);
  if (!shown && current === id && isOpen()) openPanel("chat");
}

/**
 * @param {{toggled: (open: boolean) => void, badges: () => void}} callbacks
 */
export function onPanel(callbacks) {
  onToggle = callbacks.toggled;
  onBadges = callbacks.badges;
}

/** The tab to reopen after a reload (null: closed). */
export function remembered() {
  return getItem("local", OPEN_KEY);
}

closeButton.addEventListener("click", () => closePanel());
sidePanel.addEventListener("keydown", (event) => {
  if (event.key === "Escape") closePanel();
});

/**
 * A bar button that opens a tab, with that tab's unread count (and, with `waits`, how many
 * are waiting behind it: setWaiting()).
 * @param {string} id
 * @param {string} label
 * @param {{waits?: boolean}} [options]
 * @returns {{button: HTMLButtonElement, paint: () => void}}
 */
export function panelButton(id, label, options) {
  const badge = el("span", { className: "tab-badge", hidden: true });
  const waitCount = el("span");
  const waitBadge = options?.waits ? el("span", { className: "tab-badge tab-waiting", hidden: true },
    waitCount, el("span", { className: "visually-hidden" }, " waiting")) : null;
  const button = el("button", { type: "button", id: "open-" + id, className: "button bar-button", "aria-controls": "side-panel", "aria-expanded": "false" }, label, badge, waitBadge);
  button.addEventListener("click", () => togglePanel(id));
  const paint = () => {
    const n = unread(id);
    setHidden(badge, !n);
    setText(badge, String(n));
    if (waitBadge) {
      const w = waiting(id);
      setHidden(waitBadge, !w);
      setText(waitCount, String(w));
    }
    const open = isOpen() && current === id;
    button.setAttribute("aria-expanded", open ? "true" : "false");
    setClass(button, "is-pressed", open);
  };
  return { button, paint };
}
