// What the server says about itself and about the lobby, under the top bar (docs/room.md):
// a banner while it cannot save (`meeting.storage_ok` false), and for facilitators the lobby's
// count (the people waiting in it), one toast per burst of knocks, and a calm notice when many knock
// (`lobby_notice`).

import { el, setHidden, setText } from "./dom.js";
import { openPanel, setWaiting } from "./sidepanel.js";
import { act, quietly } from "./state.js";
import { toast, toastShowing } from "./toast.js";

/** @typedef {import("./wire.js").StateView} StateView */

const LOBBY_TOAST = "lobby";

const STORAGE_HOST_TEXT = "The server cannot save changes right now (its disk may be full). "
  + "What you do now may be lost; it will catch up by itself when it can.";
const STORAGE_GUEST_TEXT = "The server cannot save right now, so chat, hands and other changes "
  + "may not go through for a moment. It will catch up by itself.";
const CROWD_TEXT = "Many people are knocking. Lock the room or admit people from the People tab.";
const CROWD_LOCKED_TEXT = "Many people are knocking. The room is locked: admit people from the People tab.";

// Each region stays on the page, empty until it has something to say, so that what appears in
// it is announced: an alert for facilitators (they must act), a polite note for participants.
const storageAlert = el("div", { id: "storage-alert", className: "room-alert", role: "alert" });
const storageNote = el("div", { id: "storage-note", className: "room-alert", role: "status" });
const crowdWords = el("span", { id: "lobby-notice-text" });
const showLobby = el("button", { type: "button", id: "lobby-notice-people", className: "button button-small button-primary" }, "Show the lobby");
const lockRoom = el("button", { type: "button", id: "lobby-notice-lock", className: "button button-small" }, "Lock room");
const hideCrowd = el("button", { type: "button", id: "lobby-notice-hide", className: "button button-small button-quiet" },
  "Hide", el("span", { className: "visually-hidden" }, " this notice"));
const crowdBanner = el("div", { className: "banner banner-info room-banner lobby-banner" }, crowdWords,
  el("span", { className: "room-banner-actions" }, showLobby, lockRoom, hideCrowd));
const crowdRegion = el("div", { id: "lobby-notice", className: "room-alert", role: "status" });

/** Under the top bar, in the room's flow: it never covers the tiles, the panel or the bar. */
export const roomAlerts = el("div", { id: "room-alerts", className: "room-alerts" }, storageAlert, storageNote, crowdRegion);

/** @type {boolean | null} the last storage_ok shown (null: no state yet) */
let storageShown = null;
let crowdHidden = false;

/**
 * @param {StateView} st
 * @returns {number} how many people are knocking (facilitators' states only)
 */
function waitingCount(st) {
  return st.people.filter((p) => p.state === "lobby").length; // as the lobby list shows them
}

/**
 * Paint the banners and the lobby count for this state.
 * @param {StateView} st
 * @param {boolean} host
 */
export function renderRoomNotices(st, host) {
  renderStorage(st.meeting.storage_ok !== false, host);
  setWaiting("people", host ? waitingCount(st) : 0);
  const crowded = host && Boolean(st.meeting.lobby_notice) && st.meeting.status !== "ended";
  if (!crowded) crowdHidden = false; // a new crowd is told again
  setText(crowdWords, st.meeting.locked ? CROWD_LOCKED_TEXT : CROWD_TEXT);
  setHidden(lockRoom, st.meeting.locked);
  const show = crowded && !crowdHidden;
  if (show !== (crowdBanner.parentNode === crowdRegion)) crowdRegion.replaceChildren(...(show ? [crowdBanner] : []));
}

/**
 * @param {boolean} ok
 * @param {boolean} host
 */
function renderStorage(ok, host) {
  const alert = !ok && host;
  const note = !ok && !host;
  if (alert !== (storageAlert.firstChild !== null)) {
    storageAlert.replaceChildren(...(alert ? [el("p", { className: "banner banner-warn room-banner" }, STORAGE_HOST_TEXT)] : []));
  }
  if (note !== (storageNote.firstChild !== null)) {
    storageNote.replaceChildren(...(note ? [el("p", { className: "banner banner-info room-banner room-banner-quiet" }, STORAGE_GUEST_TEXT)] : []));
  }
  if (ok && storageShown === false && host) toast("Saving works again.");
  storageShown = ok;
}

/**
 * A burst of knocks at the lobby is one toast: the first knock's, its words updated as more
 * come ("3 people are waiting in the lobby."). While many knock, the calm notice says it instead.
 * @param {StateView} st
 * @param {StateView} before the state before this one
 * @returns {string | null} what to announce (at the start of a burst), if anything
 */
export function noticeKnocks(st, before) {
  const had = new Set(before.people.filter((p) => p.state === "lobby").map((p) => p.id));
  const fresh = st.people.filter((p) => p.state === "lobby" && !had.has(p.id));
  if (!fresh.length) return null;
  const waiting = waitingCount(st);
  const text = waiting === 1 ? fresh[0].name + " is waiting in the lobby." : waiting + " people are waiting in the lobby.";
  const burst = toastShowing(LOBBY_TOAST);
  // Many knocking: the notice says it; a toast still on screen keeps counting, none is added.
  if (st.meeting.lobby_notice && !burst) return null;
  toast(text, undefined, LOBBY_TOAST);
  return burst ? null : text;
}

showLobby.addEventListener("click", () => openPanel("people"));
lockRoom.addEventListener("click", () => quietly(act("lock")));
hideCrowd.addEventListener("click", () => {
  crowdHidden = true;
  crowdRegion.replaceChildren();
  document.getElementById("room-title")?.focus(); // not lost on the page's body
});
