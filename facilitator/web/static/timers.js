// The room header's countdowns (meeting, item, speaker, round in small groups), "ends at", the status badge, and the chimes.

import { currentElapsed } from "./agenda.js";
import { el, setText, setHidden, setClass } from "./dom.js";
import { countdownText, duration, hardStopText, hhmm, mss, timeLeft, warnThreshold } from "./format.js";
import { S, conn, keys, page } from "./state.js";
import { setItem } from "./storage.js";

/** @typedef {import("./wire.js").StateView} StateView */

// The role="timer" element holds only the time ("12:34", "+01:05 over"); its caption sits
// beside it in the box, and the colour classes (warn, over) go on both.
/** @type {WeakMap<HTMLElement, HTMLElement>} each timer box's role="timer" element */
const timerValues = new WeakMap();

/**
 * @param {string} kind
 * @param {string} label
 * @param {string} caption
 * @returns {HTMLElement}
 */
function timerBox(kind, label, caption) {
  const value = el("div", {
    id: "timer-" + kind, className: "timer-value", role: "timer",
    "aria-label": label, "aria-live": "off", text: "--:--",
  });
  const box = el("div", { className: "timer timer-" + kind, id: "timer-box-" + kind },
    el("span", { className: "timer-caption", "aria-hidden": "true" }, caption), value);
  timerValues.set(box, value);
  return box;
}
const timerMeeting = timerBox("meeting", "Meeting time left", "Meeting");
const timerItem = timerBox("item", "Item time left", "This item");
const timerSpeaker = timerBox("speaker", "Speaker time left", "Speaker");
timerSpeaker.hidden = true;
const timerRound = timerBox("round", "Round time left", "Round");
timerRound.hidden = true;
/** The countdown boxes, in header order. */
export const timerBoxes = [timerMeeting, timerItem, timerSpeaker, timerRound];
export const clockBadge = el("span", { id: "clock-status", className: "badge badge-status", hidden: true });
export const endsAt = el("p", { id: "ends-at", className: "ends-at" });
export const chimeButton = el("button", { type: "button", id: "chime-toggle", className: "button button-small button-quiet" });
/** The hard-stop countdown ("This call ends in 0:30"), from the time limit on. */
const hardStopWords = el("span", { id: "hard-stop-text" });
export const hardStopBanner = el("p", { id: "hard-stop-banner", className: "banner banner-over", role: "status", hidden: true }, hardStopWords);

// ---------------------------------------------------------------- chimes

/** @type {AudioContext | null} */
let audio = null;

/** @returns {AudioContext | null} the page's audio, woken up (browsers allow sound after a gesture) */
export function audioContext() {
  if (!audio) {
    const Ctx = window.AudioContext;
    if (!Ctx) return null;
    try {
      audio = new Ctx();
    } catch {
      return null;
    }
  }
  if (audio.state === "suspended") audio.resume().catch(() => {});
  return audio;
}

/** Two soft notes for a time warning (if chimes are on). */
export function chime() {
  if (!S.chimes) return;
  const ctx = audioContext();
  if (!ctx) return;
  const start = ctx.currentTime + 0.02;
  for (const [freq, at] of [[659.25, 0], [880, 0.16]]) {
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.type = "sine";
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.0001, start + at);
    gain.gain.exponentialRampToValueAtTime(0.08, start + at + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, start + at + 0.15);
    osc.connect(gain).connect(ctx.destination);
    osc.start(start + at);
    osc.stop(start + at + 0.17);
  }
}

/** The chimes toggle. */
export function renderChimes() {
  chimeButton.setAttribute("aria-pressed", S.chimes ? "true" : "false");
  setText(chimeButton, S.chimes ? "Chimes on" : "Chimes off");
}

chimeButton.addEventListener("click", () => {
  S.chimes = !S.chimes;
  setItem("local", keys.chimes, S.chimes ? "on" : "off");
  renderChimes();
  if (S.chimes) audioContext();
});
// Browsers only allow sound after a gesture: wake the audio on the first one.
for (const type of ["pointerdown", "keydown"]) {
  document.addEventListener(type, () => {
    if (S.chimes && audio && audio.state === "suspended") audio.resume().catch(() => {});
  }, { passive: true });
}

// ---------------------------------------------------------------- painting the clock

/**
 * "Paused", "Not started yet" or "Meeting ended" beside the title.
 * @param {StateView} st
 */
export function renderClockBadge(st) {
  const status = st.clock.status;
  /** @type {Record<string, string>} */
  const words = { paused: "Paused", waiting: "Not started yet", ended: "Meeting ended" };
  const text = words[status] || "";
  setText(clockBadge, text);
  setHidden(clockBadge, !text);
  clockBadge.className = "badge badge-status badge-" + status;
}

/**
 * @param {HTMLElement} box
 * @param {number} left seconds (negative: overtime)
 * @param {boolean} warn
 * @param {boolean} [urgent] the meeting's own last warning: it must stand out from the others
 */
function paintTimer(box, left, warn, urgent = false) {
  const value = timerValues.get(box);
  if (!value) return;
  setText(value, countdownText(left));
  const over = left <= -1;
  for (const node of [box, value]) {
    setClass(node, "over", over);
    setClass(node, "warn", !over && warn);
    setClass(node, "urgent", !over && urgent);
  }
  value.dataset.left = String(Math.round(left));
}

/**
 * The tab's title: whose turn it is, and while the tab is hidden, the meeting countdown.
 * @param {number | null} meetingLeft
 */
function paintTitle(meetingLeft) {
  const base = (S.state && S.state.meeting.title) || page.title;
  let title = base + " · facilitator";
  if (S.myTurn) title = "Your turn! · " + base;
  else if (document.hidden && meetingLeft !== null) title = countdownText(meetingLeft) + " left · " + base;
  if (document.title !== title) document.title = title;
}
document.addEventListener("visibilitychange", () => tick());

/** Repaint the countdowns and "ends at" (every TICK_MS, and after every state). */
export function tick() {
  const st = S.state;
  if (!st || S.screen !== "room") return;
  const clock = st.clock;
  const now = conn.serverNow();
  const meetingLeft = timeLeft(clock.meeting, now);
  const itemLeft = timeLeft(clock.item, now);
  const live = clock.status === "running" || clock.status === "paused";
  const warnAt = clock.warn_at || [];
  const firstWarning = warnAt.length ? Math.max(...warnAt) : -Infinity;
  const lastWarning = warnThreshold(warnAt, 0, 60);
  paintTimer(timerMeeting, meetingLeft, live && meetingLeft <= firstWarning, live && meetingLeft <= lastWarning);
  // Amber only while the item runs, from its warning on (not before Start, not all along).
  paintTimer(timerItem, itemLeft, live && itemLeft <= warnThreshold(warnAt, clock.item.given, 60));
  const ended = clock.status === "ended";
  setClass(timerMeeting, "stopped", ended);
  setHidden(timerItem, ended);
  const showSpeaker = Boolean(st.icebreaker && clock.speaker) && !ended;
  setHidden(timerSpeaker, !showSpeaker);
  if (showSpeaker) {
    const speakerLeft = timeLeft(clock.speaker, now);
    paintTimer(timerSpeaker, speakerLeft, live && speakerLeft <= warnThreshold([10], clock.speaker?.given, 10));
  }
  const groups = st.groups;
  const showRound = Boolean(groups && groups.running && groups.timer) && !ended;
  setHidden(timerRound, !showRound);
  if (showRound && groups?.timer) {
    const roundLeft = timeLeft(groups.timer, now);
    paintTimer(timerRound, roundLeft, live && roundLeft <= (groups.warn_at ?? 30));
  }
  const stopping = st.meeting.hard_stop && live ? hardStopText(meetingLeft, st.meeting.hard_stop_grace ?? 30) : "";
  setHidden(hardStopBanner, !stopping);
  setText(hardStopWords, stopping);
  paintTitle(ended ? null : meetingLeft);
  const status = clock.status;
  if (status === "ended") {
    setText(endsAt, clock.ended_at ? "Ended at " + hhmm(clock.ended_at) : "Meeting ended");
  } else if (status === "waiting") {
    const total = Math.max(0, clock.meeting.remaining);
    const when = st.meeting.scheduled_at ? "Planned for " + hhmm(st.meeting.scheduled_at) + " · " : "";
    setText(endsAt, when + "Runs " + duration(total) + " once started");
  } else {
    const planned = now + meetingLeft;
    const projected = now + Math.max(itemLeft, 0) + (clock.rest_after_item || 0);
    setText(endsAt, "Ends at " + hhmm(planned) + " (projected " + hhmm(projected) + ")");
    setClass(endsAt, "late", projected - planned >= 60);
  }
  const elapsedEl = currentElapsed();
  if (elapsedEl) {
    const row = st.agenda[clock.index];
    if (row) {
      const extra = status === "running" && typeof st.server_time === "number" ? Math.max(0, now - st.server_time) : 0;
      setText(elapsedEl, mss(row.elapsed + extra) + " so far");
    }
  }
}

