// The marker beside a host's or co-host's name, on their tile and in the people list.
//
// Names are plain text, so no name can draw this: it is its own element, outside the name's
// text node, with a drawn icon and a style of its own; "Ana (host)" typed as a name stays words.
// The host is whoever came in with the facilitator link (`creator`), a co-host someone made a
// facilitator in the room.

import { el } from "./dom.js";

/** @typedef {import("./wire.js").Person} Person */

const SVG = "http://www.w3.org/2000/svg";
/** A crown for the host, a shield for a co-host (24 × 24). */
const ICONS = {
  host: "M3 8.5l4.6 3.7L12 5l4.4 7.2L21 8.5 19.2 19H4.8z",
  cohost: "M12 2.5l7.5 2.8v5.6c0 4.8-3.2 8.9-7.5 10.6-4.3-1.7-7.5-5.8-7.5-10.6V5.3z",
};

/**
 * @param {Person} p
 * @returns {"host" | "cohost" | null} which marker this person gets
 */
export function roleOf(p) {
  if (p.role !== "facilitator") return null;
  return p.creator ? "host" : "cohost";
}

/**
 * @param {Person} p
 * @returns {string} what the marker says ("Host", "Co-host") or ""
 */
export function roleWord(p) {
  const role = roleOf(p);
  return role === "host" ? "Host" : role === "cohost" ? "Co-host" : "";
}

/**
 * The marker for this person, or null for a participant.
 * @param {Person} p
 * @returns {HTMLElement | null}
 */
export function roleMark(p) {
  const role = roleOf(p);
  if (!role) return null;
  const word = roleWord(p);
  const icon = document.createElementNS(SVG, "svg");
  icon.setAttribute("viewBox", "0 0 24 24");
  icon.setAttribute("aria-hidden", "true");
  icon.setAttribute("focusable", "false");
  icon.setAttribute("class", "role-mark-icon");
  const path = document.createElementNS(SVG, "path");
  path.setAttribute("d", ICONS[role]);
  path.setAttribute("fill", "currentColor");
  icon.appendChild(path);
  const title = role === "host" ? "Host: came in with the facilitator link" : "Co-host: a facilitator of this meeting";
  return el("span", { className: "role-mark role-mark-" + role, role: "img", "aria-label": word, title, dataset: { role } },
    icon, el("span", { className: "role-mark-text", "aria-hidden": "true" }, word));
}
