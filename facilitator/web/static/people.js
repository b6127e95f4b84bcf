// People: the video tiles (stage.js places them), your own controls (hand, sit out, leave), the
// people list with the facilitators' buttons, renaming yourself, and the lobby.

import { el, actionButton, setText, setHidden, setClass, renderKeyed } from "./dom.js";
import { initials, hueOf } from "./format.js";
import { roleMark, roleWord } from "./rolemark.js";
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
 * @property {HTMLElement} mark holds the host's or co-host's marker, beside the name
 * @property {HTMLElement} badges
 * @property {HTMLElement} paused says the server holds this video back for our connection
 * @property {string} sig what the tile shows now
 */

// Own controls (room.js puts them in the control bar and the "More" menu)
export const handButton = el("button", { type: "button", id: "hand-button", className: "button bar-button" }, "Raise hand");
const optOut = el("input", { type: "checkbox", id: "opt-out" });
export const leaveButton = el("button", { type: "button", id: "leave-button", className: "button button-danger bar-button" }, "Leave");
export const optOutLabel = el("label", { className: "check", for: "opt-out" }, optOut, " Sit out icebreakers");

// Renaming yourself (top of the People tab)
const renameInput = el("input", { id: "rename-input", name: "name", type: "text", maxlength: "40", autocomplete: "nickname" });
const renameForm = el("form", { id: "rename-form", className: "rename-form" },
  el("label", { for: "rename-input" }, "Change my name"),
  el("div", { className: "join-row" }, renameInput,
    el("button", { type: "submit", className: "button button-small", id: "rename-button" }, "Rename")));
const lowerAll = el("button", { type: "button", id: "lower-all-hands", className: "button button-small", hidden: true }, "Lower all hands");

// Sidebar: people and the lobby
const peopleCount = el("span", { id: "people-count", className: "count" });
const lobbyList = el("ul", { id: "lobby-list", className: "people-list" });
const admitAll = el("button", { type: "button", id: "admit-all", className: "button button-small" }, "Admit all");
const lobbyHeading = el("h3", { id: "lobby-heading" }, "Waiting in the lobby");
const lobbySection = el("section", { id: "lobby-section", className: "lobby-section", hidden: true, "aria-labelledby": "lobby-heading" },
  el("div", { className: "lobby-head" }, lobbyHeading, admitAll), lobbyList);
const peopleList = el("ul", { id: "people-list", className: "people-list" });
export const peopleSection = el("section", { id: "people", className: "card", "aria-labelledby": "people-heading" },
  el("div", { className: "lobby-head" }, el("h2", { id: "people-heading" }, "People ", peopleCount), lowerAll),
  lobbySection, peopleList, renameForm);

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

/** @type {Map<string, Tile>} the tiles on screen, by person id */
let tileMap = new Map();
/** @type {Set<string>} whose videos the server pauses for our connection (`network`) */
let pausedVideos = new Set();

/**
 * The server's `network` message named these people's videos as paused for us: say so on
 * their tiles (and clear it on the others).
 * @param {string[]} people
 */
export function showPausedVideos(people) {
  pausedVideos = new Set(people);
  for (const [id, tile] of tileMap) paintPaused(tile, id);
}

/**
 * @param {Tile} tile
 * @param {string} id
 */
function paintPaused(tile, id) {
  const paused = pausedVideos.has(id);
  setClass(tile.node, "video-paused", paused);
  setHidden(tile.paused, !paused);
}

/**
 * @param {string} id
 * @returns {Tile | undefined} that person's tile, if they have one
 */
export function tileOf(id) {
  return tileMap.get(id);
}

/** @returns {Tile[]} every tile, in arrival order (join order: tiles never reorder) */
export function tileList() {
  return Array.from(tileMap.values());
}

/**
 * Who is on this page's stage: during a round in small groups, your own group (with its
 * visitors) or, for facilitators, whoever shares your space; otherwise everyone in the room.
 * @param {StateView} st
 * @returns {Person[]}
 */
function onStage(st) {
  const inRoom = st.people.filter((p) => p.state === "in");
  const g = st.groups;
  if (!g || !g.running) return inRoom;
  const me = S.you && S.you.id;
  /** @type {Set<string> | null} */
  let space = null;
  if (g.yours) space = new Set([...g.yours.members, ...g.yours.visitors]);
  else if (g.main_room) space = new Set(g.main_room);
  else if (g.waiting) {
    // A participant waiting never learns the groups: the main room is whoever the server
    // sends them media of (the last offer).
    space = new Set(S.carried);
  }
  if (!space) return inRoom;
  if (me) space.add(me);
  const shown = space;
  return inRoom.filter((p) => shown.has(p.id));
}

/**
 * One tile per person on the stage, in arrival order (devices.js paints their video; stage.js
 * places them).
 * @param {StateView} st
 */
export function renderTiles(st) {
  const inRoom = onStage(st);
  const hands = handOrder(st.people);
  const speaker = st.icebreaker && !st.icebreaker.finished ? st.icebreaker.speaker : null;
  const me = S.you && S.you.id;
  const old = tileMap;
  /** @type {Map<string, Tile>} */
  const next = new Map();
  for (const p of inRoom) {
    let tile = old.get(p.id);
    if (!tile) {
      tile = buildTile(p.id);
      paintPaused(tile, p.id);
    }
    next.set(p.id, tile);
    updateTile(tile, p, {
      speaking: p.id === speaker, talking: p.id === S.speaking, you: p.id === me, hand: hands.get(p.id),
    });
  }
  for (const [id, tile] of old) if (!next.has(id)) tile.node.remove();
  tileMap = next;
}

/**
 * @param {string} id
 * @returns {Tile}
 */
function buildTile(id) {
  const avatar = el("div", { className: "tile-avatar", "aria-hidden": "true" });
  const paused = el("p", { className: "tile-paused", hidden: true }, "Video paused to save bandwidth");
  const holder = el("div", { className: "tile-media" }, avatar, paused);
  const name = el("span", { className: "tile-name" });
  const mark = el("span", { className: "tile-mark" });
  const badges = el("span", { className: "tile-badges" });
  const node = el("article", { className: "tile", dataset: { personId: id } }, holder,
    el("div", { className: "tile-info" }, el("span", { className: "tile-who" }, name, mark), badges));
  return { node, avatar, holder, name, mark, badges, paused, sig: "" };
}

/**
 * @param {Tile} tile
 * @param {Person} p
 * @param {{speaking: boolean, talking: boolean, you: boolean, hand: number | undefined}} flags
 */
function updateTile(tile, p, flags) {
  const sig = JSON.stringify([p.name, p.role, p.creator, p.muted, p.mic, p.camera, p.hand != null, p.online, flags]);
  if (tile.sig === sig) return;
  tile.sig = sig;
  const node = tile.node;
  setText(tile.avatar, initials(p.name));
  setText(tile.name, p.name + (flags.you ? " (you)" : ""));
  const mark = roleMark(p);
  tile.mark.replaceChildren(...(mark ? [mark] : []));
  const badges = [];
  // Two highlights, two meanings: the icebreaker floor is "Speaking now"; the loudest voice
  // (audio levels) is "Talking", drawn differently.
  if (flags.speaking) badges.push(el("span", { className: "badge badge-speaking" }, "Speaking now"));
  else if (flags.talking) badges.push(el("span", { className: "badge badge-talking" }, "Talking"));
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
  setClass(node, "is-speaking", flags.speaking);
  setClass(node, "is-talking", flags.talking);
  const role = roleWord(p);
  node.setAttribute("aria-label", p.name + (flags.you ? " (you)" : "") + (role ? ", " + role.toLowerCase() : "") + (flags.speaking ? ", speaking now" : ""));
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
  setClass(handButton, "is-pressed", raised);
  handButton.setAttribute("aria-pressed", raised ? "true" : "false");
  if (document.activeElement !== renameInput && you) renameInput.value = you.name;
}

renameForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const name = renameInput.value.trim();
  if (!name || name === S.you?.name) return;
  quietly(act("rename", { name }));
});

lowerAll.addEventListener("click", () => quietly(act("lower-all-hands")));

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
  setHidden(lowerAll, !host || !hands.size);
  // Raised hands first, in raise order; then everyone in arrival order.
  const ordered = inRoom.slice().sort((a, b) => {
    const ha = hands.get(a.id) || Infinity;
    const hb = hands.get(b.id) || Infinity;
    return ha === hb ? 0 : ha - hb;
  });
  const avoiding = new Set(st.avoiding || []);
  renderKeyed(peopleList, ordered, (p) => p.id,
    (p) => JSON.stringify([p, hands.get(p.id) || 0, host, p.id === me, p.id === speaker, st.meeting.sharing === p.id, avoiding.has(p.id)]),
    (p) => buildPersonRow(p, hands.get(p.id), host, p.id === me, p.id === speaker, st.meeting.sharing === p.id, avoiding.has(p.id)));
  setHidden(lobbySection, !waiting.length);
  setText(lobbyHeading, (waiting.length === 1 ? "1 person" : waiting.length + " people") + " waiting in the lobby");
  renderKeyed(lobbyList, waiting, (p) => p.id, (p) => JSON.stringify([p.name]), buildLobbyRow);
}

/**
 * @param {Person} p
 * @param {number | undefined} hand
 * @param {boolean} host
 * @param {boolean} self
 * @param {boolean} speaking
 * @param {boolean} sharing
 * @param {boolean} avoided you asked not to be grouped with them
 * @returns {HTMLElement}
 */
function buildPersonRow(p, hand, host, self, speaking, sharing, avoided) {
  const info = el("div", { className: "person-info" },
    el("span", { className: "avatar-small", "aria-hidden": "true", dataset: { hue: String(hueOf(p.id)) } }, initials(p.name)),
    el("span", { className: "person-name" }, p.name),
    self ? el("span", { className: "person-you" }, " (you)") : null,
    roleMark(p));
  const badges = el("span", { className: "person-badges" });
  if (hand) badges.appendChild(el("span", { className: "badge badge-hand" }, "✋ " + hand, el("span", { className: "visually-hidden" }, " (hand raised)")));
  if (speaking) badges.appendChild(el("span", { className: "badge badge-speaking" }, "Speaking now"));
  if (sharing) badges.appendChild(el("span", { className: "badge badge-quiet" }, "sharing screen"));
  if (p.spoken) badges.appendChild(el("span", { className: "badge badge-spoke", title: "Has spoken in this icebreaker" }, "✓ spoke"));
  if (p.muted) badges.appendChild(el("span", { className: "badge badge-muted" }, "Muted"));
  if (p.opted_out) badges.appendChild(el("span", { className: "badge badge-quiet" }, "sits out"));
  const li = el("li", { className: "person" + (self ? " is-you" : ""), dataset: { personId: p.id } }, info, badges);
  if (!self) li.appendChild(avoidToggle(p, avoided));
  if (host && !self) {
    const actions = el("div", { className: "person-actions", role: "group", "aria-label": "Actions for " + p.name });
    /**
     * @param {string} text
     * @param {string} hidden
     * @param {string} key
     * @param {() => Promise<unknown>} run
     */
    const add = (text, hidden, key, run) => {
      const b = actionButton(text, hidden, { className: "button button-small", dataset: { focusKey: key + ":" + p.id } });
      b.addEventListener("click", () => quietly(run()));
      actions.appendChild(b);
    };
    add(p.muted ? "Unmute" : "Mute", p.name, "mute", () => act(p.muted ? "unmute" : "mute", { person: p.id }));
    if (hand) add("Lower", p.name + "'s hand", "lower", () => act("lower-hand", { person: p.id }));
    if (sharing) add("Stop share", "of " + p.name, "unshare", () => act("stop-share", { person: p.id }));
    if (p.role !== "facilitator") {
      add("Make facilitator", p.name, "promote", () => act("make-facilitator", { person: p.id }));
    } else if (!p.creator) {
      add("Make participant", p.name, "demote", () => act("make-participant", { person: p.id }));
    }
    if (p.creator) {
      li.appendChild(actions);
      return li; // nobody can remove the person who created the meeting
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
 * The private "Please don't put me in a group with …" box beside someone.
 * @param {Person} p
 * @param {boolean} avoided
 * @returns {HTMLElement}
 */
function avoidToggle(p, avoided) {
  const id = "avoid-" + p.id;
  const box = el("input", { type: "checkbox", id, className: "avoid-box", "aria-describedby": "avoid-private-" + p.id, dataset: { focusKey: "avoid:" + p.id } });
  box.checked = avoided;
  box.addEventListener("change", () => {
    const want = box.checked;
    act("avoid", { person: p.id, value: want }).catch(() => {
      box.checked = !want;
    });
  });
  return el("div", { className: "avoid" },
    el("label", { className: "check avoid-label", for: id }, box, " Please don't put me in a group with " + p.name),
    el("span", { id: "avoid-private-" + p.id, className: "avoid-private" }, "Only you see this"));
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

