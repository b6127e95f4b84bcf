// Reactions: a few quick signals that float over the sender's tile for everyone, without
// unmuting (the `react` action; the server passes each on as a `reaction` message).

import { el } from "./dom.js";
import { nameOf, tileOf } from "./people.js";
import { act } from "./state.js";

const FLOAT_MS = 2600;

/** The reactions on offer (docs/protocol.md, `react`): id, symbol, words. */
const REACTIONS = [
  ["applause", "👏", "Applause"],
  ["laugh", "😂", "Laugh"],
  ["heart", "❤️", "Heart"],
  ["thumbs-up", "👍", "Thumbs up"],
  ["plus-one", "+1", "Plus one"],
];

const menuItems = REACTIONS.map(([id, symbol, words]) => {
  const button = el("button", { type: "button", className: "button button-small reaction-choice", dataset: { reaction: id } },
    el("span", { className: "reaction-symbol", "aria-hidden": "true" }, symbol), " " + words);
  button.addEventListener("click", () => {
    act("react", { reaction: id }).catch(() => {});
    reactMenu.open = false;
  });
  return button;
});
/** The control bar's "React" menu. */
export const reactMenu = el("details", { id: "react-menu", className: "menu bar-menu" },
  el("summary", { className: "button bar-button" }, "React"),
  el("div", { className: "menu-body", role: "group", "aria-label": "Reactions" }, ...menuItems));

/**
 * Show someone's reaction over their tile for a moment.
 * @param {import("./wire.js").Reaction} value
 */
export function showReaction(value) {
  const found = REACTIONS.find(([id]) => id === value.reaction);
  const tile = tileOf(value.person);
  if (!found || !tile) return;
  const bubble = el("span", { className: "reaction-float", role: "img", "aria-label": nameOf(value.person) + ": " + found[2] },
    el("span", { "aria-hidden": "true" }, found[1]));
  tile.node.appendChild(bubble);
  setTimeout(() => bubble.remove(), FLOAT_MS);
}
