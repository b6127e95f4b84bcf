// Rounds in small groups in the room: "Your group" on the stage (its members, its prompt card
// with "Next card", "Ask for help"), the note for people waiting in the main room, the broadcast
// banner, and the facilitators' view of every group with its controls (Facilitator tab).

import { el, actionButton, setText, setHidden, renderKeyed } from "./dom.js";
import { nameOf } from "./people.js";
import { S, act, isHost, quietly } from "./state.js";

/** @typedef {import("./wire.js").StateView} StateView */
/** @typedef {import("./wire.js").GroupView} GroupView */
/** @typedef {import("./wire.js").Grouped} Grouped */
/** @typedef {import("./wire.js").Broadcast} Broadcast */

const BROADCAST_MS = 20000;

/**
 * @param {string | null | undefined} id a group id such as "1-2"
 * @returns {string} "group 2"
 */
export function groupName(id) {
  const number = String(id || "").split("-").pop();
  return number ? "group " + number : "a group";
}

// ---------------------------------------------------------------- on the stage

const groupRound = el("span", { id: "group-round", className: "badge" });
const groupMembers = el("ul", { id: "group-members", className: "group-members" });
const groupVisitors = el("p", { id: "group-visitors", className: "group-visitors muted", hidden: true });
const groupPrompt = el("p", { id: "group-prompt", className: "prompt group-prompt" });
const nextCard = el("button", { type: "button", id: "next-card", className: "button button-small" }, "Next card");
const promptBox = el("div", { className: "group-card-prompt", hidden: true }, groupPrompt, nextCard);
const askHelp = el("button", { type: "button", id: "ask-help", className: "button button-small" }, "Ask for help");
const leaveVisit = el("button", { type: "button", id: "leave-visit", className: "button button-small", hidden: true }, "Back to the main room");
/** Your own group during a round (or the group you visit), over the tiles. */
export const groupCard = el("section", { id: "your-group", className: "card group-card", role: "region", "aria-label": "Your group", hidden: true },
  el("div", { className: "group-card-head" },
    el("strong", { className: "group-card-title" }, "Your group"), groupRound, groupMembers, groupVisitors,
    el("span", { className: "group-card-actions" }, askHelp, leaveVisit)),
  promptBox);
/** People in the main room during a round are told why. */
export const mainRoomNote = el("p", { id: "main-room-note", className: "banner banner-info main-room-note", hidden: true });
const broadcastText = el("span", { id: "broadcast-text" });
/** A facilitator's message to every group (room.js puts it with the stage's banners). */
export const broadcastBanner = el("p", { id: "broadcast-banner", className: "banner banner-info", role: "status", hidden: true }, broadcastText);

/** @type {string} why you are where you are (the last `grouped` message's reason) */
let reason = "";
/** @type {ReturnType<typeof setTimeout> | undefined} */
let broadcastTimer = undefined;

nextCard.addEventListener("click", () => quietly(act("next-card")));
askHelp.addEventListener("click", () => {
  act("ask-help").then(() => {
    setText(askHelp, "Help is on the way");
    askHelp.disabled = true;
  }, () => {});
});
leaveVisit.addEventListener("click", () => quietly(act("leave-group")));

/**
 * A `grouped` message came: remember why, and say where you are now.
 * @param {Grouped} value
 * @returns {string} what to tell the person
 */
export function grouped(value) {
  reason = value.reason || "";
  askHelp.disabled = false;
  setText(askHelp, "Ask for help");
  const me = S.you?.id;
  const others = (value.members || []).filter((p) => p !== me).map(nameOf);
  if (value.group) {
    const round = "Round " + value.round + " of " + value.rounds;
    return round + ": you're in a group with " + (others.length ? others.join(", ") : "nobody yet") + ".";
  }
  if (reason === "back") return "Everyone is back in the main room.";
  if (reason === "wait") return "You'll join a group in the next round.";
  return "You're in the main room.";
}

/**
 * Show a facilitator's broadcast for a while.
 * @param {Broadcast} value
 * @returns {string} the message as said
 */
export function showBroadcast(value) {
  const text = (value.by || "A facilitator") + " to every group: " + String(value.text || "");
  setText(broadcastText, text);
  setHidden(broadcastBanner, false);
  clearTimeout(broadcastTimer);
  broadcastTimer = setTimeout(() => setHidden(broadcastBanner, true), BROADCAST_MS);
  return text;
}

/**
 * @param {StateView} st
 * @returns {string} why this person is in the main room during a round ("" when they are not)
 */
function waitingText(st) {
  const g = st.groups;
  if (!g || !g.running || g.yours) return "";
  const start = "You're in the main room this round: ";
  if (isHost()) return "You're in the main room. Visit a group from the Facilitator tab.";
  if (S.you?.opted_out) return start + "you sit out.";
  if (reason === "late" || reason === "wait") return start + "you joined late. You'll join a group in the next round.";
  return start + "no group fits. You'll join one in the next round.";
}

/**
 * "Your group" and the main-room note, for this state.
 * @param {StateView} st
 */
export function renderGroup(st) {
  const g = st.groups;
  const mine = g && g.running ? g.yours : null;
  setHidden(groupCard, !mine);
  const note = st.clock.status === "ended" ? "" : waitingText(st);
  setText(mainRoomNote, note);
  setHidden(mainRoomNote, !note);
  if (!g || !g.running) setHidden(broadcastBanner, true);
  if (!g || !mine) return;
  const me = S.you?.id;
  setText(groupRound, "Round " + g.round + " of " + g.rounds);
  renderKeyed(groupMembers, mine.members, (id) => id, (id) => nameOf(id) + (id === me ? "!" : ""),
    (id) => el("li", { className: "group-member" }, id === me ? nameOf(id) + " (you)" : nameOf(id)));
  const visitors = mine.visitors.filter((id) => id !== me).map(nameOf);
  setText(groupVisitors, visitors.length ? "Visiting: " + visitors.join(", ") : "");
  setHidden(groupVisitors, !visitors.length);
  setHidden(promptBox, !mine.prompt);
  setText(groupPrompt, mine.prompt || "");
  const visiting = g.visiting === mine.id;
  setHidden(leaveVisit, !visiting);
  setHidden(askHelp, visiting);
}

// ---------------------------------------------------------------- the Facilitator tab

const fgStatus = el("p", { id: "fg-status", className: "fp-status muted" });
const fgGroups = el("ul", { id: "fg-groups", className: "fg-groups" });
const fgMain = el("p", { id: "fg-main-room", className: "muted" });
const movePerson = el("select", { id: "fg-move-person" });
const moveGroup = el("select", { id: "fg-move-group" });
const moveForm = el("form", { id: "fg-move", className: "fg-form" },
  el("label", { for: "fg-move-person" }, "Move"), movePerson,
  el("label", { for: "fg-move-group" }, "to"), moveGroup,
  el("button", { type: "submit", className: "button button-small" }, "Move"));
const broadcastInput = el("input", { id: "fg-broadcast", type: "text", maxlength: "200", autocomplete: "off" });
const broadcastForm = el("form", { id: "fg-broadcast-form", className: "fg-form" },
  el("label", { for: "fg-broadcast" }, "Broadcast to every group"),
  el("div", { className: "join-row" }, broadcastInput,
    el("button", { type: "submit", className: "button button-small" }, "Send")));
const extendRound = el("button", { type: "button", id: "fg-extend", className: "button" }, "Round +1 min");
const endRound = el("button", { type: "button", id: "fg-end", className: "button" }, "End round");
/** The rounds in the Facilitator tab: every group, who is in it, and the controls. */
export const roundsPanel = el("div", { id: "fp-rounds", className: "fp-group fp-rounds", role: "group", "aria-label": "Small groups", hidden: true },
  el("h3", null, "Small groups"), fgStatus, fgGroups, fgMain, moveForm, broadcastForm,
  el("div", { className: "fg-buttons" }, extendRound, endRound));

/**
 * @param {GroupView} group
 * @param {string | null} visiting the group this facilitator visits
 * @param {boolean} inGroup this facilitator is a member of a group
 * @returns {HTMLElement}
 */
function groupRow(group, visiting, inGroup) {
  const names = group.members.map(nameOf).join(", ") || "nobody";
  const visitors = group.visitors.length ? " · visiting: " + group.visitors.map(nameOf).join(", ") : "";
  const here = visiting === group.id;
  const button = actionButton(here ? "Leave" : "Visit", "group " + group.number, {
    className: "button button-small", dataset: { focusKey: "visit:" + group.id },
  });
  button.disabled = inGroup && !here;
  button.addEventListener("click", () => quietly(here ? act("leave-group") : act("visit-group", { group: group.id })));
  return el("li", { className: "fg-group", dataset: { group: group.id } },
    el("span", null, el("strong", null, "Group " + group.number + ": "), names + visitors), button);
}

/**
 * @param {HTMLSelectElement} select
 * @param {[string, string][]} options value and text
 */
function fillSelect(select, options) {
  const sig = JSON.stringify(options);
  if (select.dataset.sig === sig) return;
  const was = select.value;
  select.dataset.sig = sig;
  select.replaceChildren(...options.map(([value, text]) => el("option", { value }, text)));
  if (options.some(([value]) => value === was)) select.value = was;
}

/**
 * The facilitators' view of the rounds, for this state.
 * @param {StateView} st
 * @param {boolean} host
 */
export function renderRoundsPanel(st, host) {
  const g = st.groups;
  setHidden(roundsPanel, !host || !g);
  if (!host || !g) return;
  const all = g.all || [];
  const me = S.you?.id || "";
  const inGroup = all.some((x) => x.members.includes(me));
  const status = g.running
    ? "Round " + g.round + " of " + g.rounds + " · " + all.length + (all.length === 1 ? " group" : " groups")
    : g.finished ? "Every round is done." : "Rounds: " + g.round + " of " + g.rounds + " held.";
  const busy = g.running && inGroup && !g.visiting ? " · You're in a group: sit out of groups to visit them." : "";
  setText(fgStatus, status + busy);
  renderKeyed(fgGroups, all, (x) => x.id, (x) => JSON.stringify([x, g.visiting, inGroup, x.members.map(nameOf)]),
    (x) => groupRow(x, g.visiting, inGroup));
  const main = (g.main_room || []).map(nameOf);
  setText(fgMain, g.running ? "In the main room: " + (main.length ? main.join(", ") : "nobody") : "");
  setHidden(fgMain, !g.running);
  const people = [...all.flatMap((x) => x.members), ...(g.main_room || [])];
  fillSelect(movePerson, people.map((id) => [id, nameOf(id)]));
  fillSelect(moveGroup, all.map((x) => [x.id, "Group " + x.number]));
  for (const node of [moveForm, broadcastForm]) setHidden(node, !g.running);
  setHidden(extendRound, !g.running);
  setHidden(endRound, !g.running);
}

moveForm.addEventListener("submit", (event) => {
  event.preventDefault();
  if (movePerson.value && moveGroup.value) {
    quietly(act("move-to-group", { person: movePerson.value, group: moveGroup.value }));
  }
});
broadcastForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = broadcastInput.value.trim();
  if (!text) return;
  act("broadcast", { text }).then(() => {
    broadcastInput.value = "";
  }, () => {});
});
extendRound.addEventListener("click", () => quietly(act("extend-round", { seconds: 60 })));
endRound.addEventListener("click", () => quietly(act("end-round")));
