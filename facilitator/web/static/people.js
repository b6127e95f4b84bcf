// People: the video tiles, your own controls (hand, sit out, leave), the people list and the lobby.

import { el, actionButton, setText, setHidden, setClass, renderKeyed } from "./dom.js";
import { initials, hueOf } from "./format.js";
import { S, act, quietly } from "./state.js";

/** @typedef {import("./wire.js").Person} Person */
/** @typedef {import("./wire.js").StateView} StateView */

/**
 * One person's video tile and the parts of it that change.
 * @typedef {object} Tile
 * @property {HTMLElement} node
 * @property {HTMLElement} avatar
 * @property {HTMLElement} holder where the video goes
 * @property {HTMLElement} name
 * @property {HTMLElement} badges
 * @property {string} sig what the tile shows now
 */

// Tiles and own controls (room.js puts them in "Your controls", between the media slots)
export const tiles = el("section", { id: "tiles", className: "tiles", "aria-label": "People" });
export const handButton = el("button", { type: "button", id: "hand-button", className: "button" }, "Raise hand");
const optOut = el("input", { type: "checkbox", id: "opt-out" });
export const leaveButton = el("button", { type: "button", id: "leave-button", className: "button button-danger-quiet" }, "Leave");
export const optOutLabel = el("label", { className: "check", for: "opt-out" }, optOut, " Sit out icebreakers");

// Sidebar: people and the lobby
const peopleCount = el("span", { id: "people-count", className: "count" });
const lobbyList = el("ul", { id: "lobby-list", className: "people-list" });
const admitAll = el("button", { type: "button", id: "admit-all", className: "button button-small" }, "Admit all");
const lobbySection = el("div", { id: "lobby-section", className: "lobby-section", hidden: true },
  el("div", { className: "lobby-head" }, el("h3", null, "Waiting in the lobby"), admitAll), lobbyList);
const peopleList = el("ul", { id: "people-list", className: "people-list" });
export const peopleSection = el("section", { id: "people", className: "card", "aria-labelledby": "people-heading" },
  el("h2", { id: "people-heading" }, "People ", peopleCount), lobbySection, peopleList);

/**
 * @param {string | null | undefined} id
 * @returns {string} the person's name, or "Someone"
 */
export function nameOf(id) {
  const people = (S.state && S.state.people) || [];
  const p = people.find((x) => x.id === id);
  return p ? p.name : "Someone";
}

/**
 * @param {Person[]} people
 * @returns {Map<string, number>} the raised hands' order (1, 2, ...) by person id
 */
function handOrder(people) {
  const raised = people.filter((p) => p.hand != null && p.state === "in").sort((a, b) => (a.hand ?? 0) - (b.hand ?? 0));
  const order = new Map();
  raised.forEach((p, i) => order.set(p.id, i + 1));
  return order;
}

// ---------------------------------------------------------------- tiles

/**
 * Grid sizes by number of tiles (tiles.css picks the columns from this and the width).
 * @param {number} count
 * @returns {string}
 */
function gridSize(count) {
  if (count <= 4) return String(Math.max(count, 1));
  if (count <= 6) return "6";
  if (count <= 9) return "9";
  return "16";
}

/** @type {Map<string, Tile>} the tiles on screen, by person id */
let tileMap = new Map();

/**
 * @param {string} id
 * @returns {Tile | undefined} that person's tile, if they have one
 */
export function tileOf(id) {
  return tileMap.get(id);
}

/**
 * One tile per person in the room, in arrival order (devices.js paints their video).
 * @param {StateView} st
 */
export function renderTiles(st) {
  const inRoom = st.people.filter((p) => p.state === "in");
  const hands = handOrder(st.people);
  const speaker = st.icebreaker && !st.icebreaker.finished ? st.icebreaker.speaker : null;
  const me = S.you && S.you.id;
  const old = tileMap;
  /** @type {Map<string, Tile>} */
  const next = new Map();
  let index = 0;
  for (const p of inRoom) {
    let tile = old.get(p.id);
    if (!tile) tile = buildTile(p.id);
    next.set(p.id, tile);
    updateTile(tile, p, {
      speaking: p.id === speaker, talking: p.id === S.speaking, you: p.id === me, hand: hands.get(p.id),
    });
    const at = tiles.children[index];
    if (at !== tile.node) tiles.insertBefore(tile.node, at || null);
    index += 1;
  }
  for (const [id, tile] of old) if (!next.has(id)) tile.node.remove();
  tileMap = next;
  tiles.dataset.count = String(inRoom.length);
  tiles.dataset.size = gridSize(inRoom.length);
}

/**
 * @param {string} id
 * @returns {Tile}
 */
function buildTile(id) {
  const avatar = el("div", { className: "tile-avatar", "aria-hidden": "true" });
  const holder = el("div", { className: "tile-media" }, avatar);
  const name = el("span", { className: "tile-name" });
  const badges = el("span", { className: "tile-badges" });
  const node = el("article", { className: "tile", dataset: { personId: id } }, holder, el("div", { className: "tile-info" }, name, badges));
  return { node, avatar, holder, name, badges, sig: "" };
}

/**
 * @param {Tile} tile
 * @param {Person} p
 * @param {{speaking: boolean, talking: boolean, you: boolean, hand: number | undefined}} flags
 */
function updateTile(tile, p, flags) {
  const sig = JSON.stringify([p.name, p.role, p.muted, p.mic, p.camera, p.hand != null, p.online, flags]);
  if (tile.sig === sig) return;
  tile.sig = sig;
  const node = tile.node;
  setText(tile.avatar, initials(p.name));
  setText(tile.name, p.name + (flags.you ? " (you)" : ""));
  const badges = [];
  if (p.role === "facilitator") badges.push(el("span", { className: "badge badge-facilitator" }, "Facilitator"));
  if (flags.speaking) badges.push(el("span", { className: "badge badge-speaking" }, "Speaking"));
  if (p.muted) {
    badges.push(el("span", { className: "badge badge-muted", title: "Muted by a facilitator" },
      "Muted", el("span", { className: "visually-hidden" }, " by a facilitator")));
  } else if (!p.mic) {
    badges.push(el("span", { className: "badge badge-mic-off", title: "Microphone off" }, "Mic off"));
  }
  if (p.hand != null) {
    badges.push(el("span", { className: "badge badge-hand", title: "Hand raised" },
      "✋", el("span", { className: "visually-hidden" }, " Hand raised")));
  }
  tile.badges.replaceChildren(...badges);
  // Highlighted: whoever is talking now (audio levels) and whoever has the icebreaker floor.
  setClass(node, "is-speaking", flags.speaking || flags.talking);
  setClass(node, "is-talking", flags.talking);
  setClass(node, "camera-off", !p.camera);
  setClass(node, "is-you", flags.you);
  setClass(node, "has-hand", p.hand != null);
  setClass(node, "is-muted", p.muted);
  // Hue from the id, so each person keeps a colour.
  node.dataset.hue = String(hueOf(p.id));
}

// ---------------------------------------------------------------- your own controls

/**
 * The hand button and the sit-out box.
 * @param {StateView} st
 */
export function renderMine(st) {
  const you = S.you;
  const raised = you?.hand != null;
  setText(handButton, raised ? "Lower hand" : "Raise hand");
  setClass(handButton, "is-raised", raised);
  if (optOut.checked !== Boolean(you?.opted_out)) optOut.checked = Boolean(you?.opted_out);
  const ended = st.clock.status === "ended";
  handButton.disabled = ended;
  optOut.disabled = ended;
}

handButton.addEventListener("click", () => {
  const raised = Boolean(S.you && S.you.hand != null);
  quietly(act("hand", { raised: !raised }));
});

optOut.addEventListener("change", () => {
  const sitOut = optOut.checked;
  act("opt-out", { sit_out: sitOut }).catch(() => {
    optOut.checked = !sitOut;
  });
});

// ---------------------------------------------------------------- the people list

/**
 * The people list (raised hands first) and, for facilitators, the lobby.
 * @param {StateView} st
 * @param {boolean} host
 */
export function renderPeople(st, host) {
  const me = S.you && S.you.id;
  const inRoom = st.people.filter((p) => p.state === "in");
  const waiting = host ? st.people.filter((p) => p.state === "lobby") : [];
  const hands = handOrder(st.people);
  const speaker = st.icebreaker && !st.icebreaker.finished ? st.icebreaker.speaker : null;
  setText(peopleCount, "(" + inRoom.length + ")");
  // Raised hands first, in raise order; then everyone in arrival order.
  const ordered = inRoom.slice().sort((a, b) => {
    const ha = hands.get(a.id) || Infinity;
    const hb = hands.get(b.id) || Infinity;
    return ha === hb ? 0 : ha - hb;
  });
  renderKeyed(peopleList, ordered, (p) => p.id,
    (p) => JSON.stringify([p, hands.get(p.id) || 0, host, p.id === me, p.id === speaker]),
    (p) => buildPersonRow(p, hands.get(p.id), host, p.id === me, p.id === speaker));
  setHidden(lobbySection, !waiting.length);
  renderKeyed(lobbyList, waiting, (p) => p.id, (p) => JSON.stringify([p.name]), buildLobbyRow);
}

/**
 * @param {Person} p
 * @param {number | undefined} hand
 * @param {boolean} host
 * @param {boolean} self
 * @param {boolean} speaking
 * @returns {HTMLElement}
 */
function buildPersonRow(p, hand, host, self, speaking) {
  const info = el("div", { className: "person-info" },
    el("span", { className: "avatar-small", "aria-hidden": "true", dataset: { hue: String(hueOf(p.id)) } }, initials(p.name)),
    el("span", { className: "person-name" }, p.name),
    self ? el("span", { className: "person-you" }, " (you)") : null);
  const badges = el("span", { className: "person-badges" });
  if (hand) badges.appendChild(el("span", { className: "badge badge-hand" }, "✋ " + hand, el("span", { className: "visually-hidden" }, " (hand raised)")));
  if (p.role === "facilitator") badges.appendChild(el("span", { className: "badge badge-facilitator" }, "Facilitator"));
  if (speaking) badges.appendChild(el("span", { className: "badge badge-speaking" }, "Speaking"));
  if (p.spoken) badges.appendChild(el("span", { className: "badge badge-spoke", title: "Has spoken in this icebreaker" }, "✓ spoke"));
  if (p.muted) badges.appendChild(el("span", { className: "badge badge-muted" }, "Muted"));
  if (p.opted_out) badges.appendChild(el("span", { className: "badge badge-quiet" }, "sits out"));
  const li = el("li", { className: "person" + (self ? " is-you" : ""), dataset: { personId: p.id } }, info, badges);
  if (host && !self) {
    const actions = el("div", { className: "person-actions", role: "group", "aria-label": "Actions for " + p.name });
    const mute = actionButton(p.muted ? "Unmute" : "Mute", p.name, {
      className: "button button-small", dataset: { focusKey: "mute:" + p.id },
    });
    mute.addEventListener("click", () => quietly(act(p.muted ? "unmute" : "mute", { person: p.id })));
    actions.appendChild(mute);
    if (p.role !== "facilitator") {
      const promote = actionButton("Make facilitator", p.name, {
        className: "button button-small", dataset: { focusKey: "promote:" + p.id },
      });
      promote.addEventListener("click", () => quietly(act("make-facilitator", { person: p.id })));
      actions.appendChild(promote);
    }
    const remove = actionButton("Remove", p.name, {
      className: "button button-small button-danger-quiet", dataset: { focusKey: "remove:" + p.id },
    });
    remove.addEventListener("click", () => {
      if (window.confirm("Remove " + p.name + " from this meeting? They cannot come back.")) {
        quietly(act("remove", { person: p.id }));
      }
    });
    actions.appendChild(remove);
    li.appendChild(actions);
  }
  return li;
}

/**
 * @param {Person} p
 * @returns {HTMLElement}
 */
function buildLobbyRow(p) {
  const admit = actionButton("Admit", p.name, {
    className: "button button-small button-primary", dataset: { focusKey: "admit:" + p.id },
  });
  admit.addEventListener("click", () => quietly(act("admit", { person: p.id })));
  return el("li", { className: "person person-waiting", dataset: { personId: p.id } },
    el("div", { className: "person-info" },
      el("span", { className: "avatar-small", "aria-hidden": "true", dataset: { hue: String(hueOf(p.id)) } }, initials(p.name)),
      el("span", { className: "person-name" }, p.name)),
    el("div", { className: "person-actions" }, admit));
}

admitAll.addEventListener("click", () => quietly(act("admit-all")));

