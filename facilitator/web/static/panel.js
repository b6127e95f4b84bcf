// The facilitator's controls: the essential three in the control bar (Start/Pause, Next item,
// Next speaker), the rest in the Facilitator tab, and the keyboard shortcuts.

import { el, setText, setHidden, isTyping } from "./dom.js";
import { roundsPanel } from "./rounds.js";
import { S, act, isHost, quietly } from "./state.js";

/** @typedef {import("./wire.js").StateView} StateView */

/** @type {Record<string, HTMLButtonElement>} the panel's buttons by key */
const fp = {};

/**
 * @param {string} key
 * @param {string} text
 * @param {import("./dom.js").Props} [extra]
 * @returns {HTMLButtonElement}
 */
function fpButton(key, text, extra) {
  const b = el("button", { type: "button", className: "button", id: "fp-" + key, ...extra }, text);
  fp[key] = b;
  return b;
}
const fpStatus = el("p", { id: "fp-status", className: "fp-status muted" });
/** Start/Pause, Next item and Next speaker: one tap away in the control bar, also on a phone. */
export const hostBar = el("div", { id: "host-bar", className: "host-bar", role: "group", "aria-label": "Facilitator", hidden: true },
  fpButton("start", "Start", { className: "button button-primary bar-button" }),
  fpButton("pause", "Pause", { className: "button bar-button" }),
  fpButton("next", "Next item", { className: "button bar-button" }),
  fpButton("nextSpeaker", "Next speaker", { className: "button bar-button" }));
export const facilitatorPanel = el("section", { id: "facilitator-panel", className: "card facilitator-panel", "aria-labelledby": "fp-heading", hidden: true },
  el("h2", { id: "fp-heading" }, "Facilitator controls"),
  fpStatus,
  el("div", { className: "fp-group", role: "group", "aria-label": "Agenda" },
    fpButton("previous", "Previous item"),
    fpButton("extend1", "Extend item 1 min"),
    fpButton("extend5", "Extend item 5 min"),
    fpButton("extendCall", "Extend call 5 min")),
  el("div", { className: "fp-group", role: "group", "aria-label": "Icebreaker" },
    fpButton("skipSpeaker", "Skip speaker"),
    fpButton("previousSpeaker", "Previous speaker"),
    fpButton("extendSpeaker", "Speaker +30 s"),
    fpButton("reshuffle", "Reshuffle")),
  roundsPanel,
  el("div", { className: "fp-group", role: "group", "aria-label": "Room" },
    fpButton("lock", "Lock room"),
    fpButton("lobby", "Lobby on"),
    fpButton("muteAll", "Mute everyone"),
    fpButton("stepDown", "Step down"),
    fpButton("end", "End meeting", { className: "button button-danger" })),
  el("details", { className: "shortcuts" },
    el("summary", null, "Keyboard shortcuts"),
    el("dl", null,
      el("dt", null, el("kbd", null, "n")), el("dd", null, "Next item"),
      el("dt", null, el("kbd", null, "s")), el("dd", null, "Next speaker"),
      el("dt", null, el("kbd", null, "p")), el("dd", null, "Pause / Resume"))));

/**
 * Show the panel to facilitators, with the buttons that make sense now.
 * @param {StateView} st
 * @param {boolean} host
 */
export function renderPanel(st, host) {
  setHidden(facilitatorPanel, !host);
  setHidden(hostBar, !host);
  if (!host) return;
  const status = st.clock.status;
  const waiting = status === "waiting";
  const ended = status === "ended";
  const live = status === "running" || status === "paused";
  const last = st.clock.index >= st.agenda.length - 1;
  const ib = st.icebreaker;
  const startHadFocus = document.activeElement === fp.start;
  setHidden(fp.start, !waiting);
  setHidden(fp.pause, waiting || ended);
  setHidden(fp.next, waiting || ended);
  setHidden(fp.nextSpeaker, !ib || !ib.speaker || ended);
  setText(fp.pause, status === "paused" ? "Resume" : "Pause");
  fp.pause.disabled = !live;
  fp.previous.disabled = !live || st.clock.index <= 0;
  fp.next.disabled = !live || last;
  fp.extend1.disabled = !live;
  fp.extend5.disabled = !live;
  fp.extendCall.disabled = !live;
  const speakerOk = Boolean(ib) && !ended;
  fp.nextSpeaker.disabled = !speakerOk || !ib?.speaker;
  fp.skipSpeaker.disabled = !speakerOk || !ib?.speaker;
  fp.previousSpeaker.disabled = !speakerOk || !live;
  fp.extendSpeaker.disabled = !speakerOk || !ib?.speaker || !st.clock.speaker;
  fp.reshuffle.disabled = !speakerOk;
  fp.muteAll.disabled = ended;
  const otherHosts = st.people.some((p) => p.role === "facilitator" && p.state === "in" && p.id !== S.you?.id);
  fp.stepDown.disabled = !otherHosts;
  fp.stepDown.title = otherHosts ? "" : "Make someone else a facilitator first.";
  setText(fp.lock, st.meeting.locked ? "Unlock room" : "Lock room");
  setText(fp.lobby, st.meeting.lobby ? "Lobby off" : "Lobby on");
  fp.lock.disabled = ended;
  fp.lobby.disabled = ended;
  fp.end.disabled = ended;
  // Start disappears once pressed: keep keyboard users in the bar.
  if (startHadFocus && !waiting && !fp.pause.disabled) fp.pause.focus({ preventScroll: true });
  const count = st.people.filter((p) => p.state === "in").length;
  setText(fpStatus, [
    st.meeting.locked ? "Room locked" : "Room open",
    st.meeting.lobby ? "lobby on" : "lobby off",
    count + " of " + st.meeting.max_people + " people",
  ].join(" · "));
}

/**
 * @param {string} key a button's key
 * @returns {Promise<unknown> | null} the action sent, if any
 */
function facilitatorAction(key) {
  const st = S.state;
  if (!st || !isHost()) return null;
  const paused = st.clock.status === "paused";
  switch (key) {
    case "start": return act("start");
    case "pause": return act(paused ? "resume" : "pause");
    case "previous": return act("previous-item");
    case "next": return act("next-item");
    case "extend1": return act("extend-item", { seconds: 60 });
    case "extend5": return act("extend-item", { seconds: 300 });
    case "extendCall": return act("extend-call", { seconds: 300 });
    case "previousSpeaker": return act("previous-speaker");
    case "extendSpeaker": return act("extend-speaker", { seconds: 30 });
    case "muteAll":
      if (!window.confirm("Mute everyone else? They can raise a hand to ask to speak.")) return null;
      return act("mute-all");
    case "stepDown": return act("step-down");
    case "nextSpeaker": return act("next-speaker");
    case "skipSpeaker": return act("skip-speaker");
    case "reshuffle": return act("reshuffle");
    case "lock": return act(st.meeting.locked ? "unlock" : "lock");
    case "lobby": return act(st.meeting.lobby ? "lobby-off" : "lobby-on");
    case "end":
      if (!window.confirm("End the meeting for everyone?")) return null;
      return act("end");
    default: return null;
  }
}

Object.keys(fp).forEach((key) => {
  fp[key].addEventListener("click", () => {
    const p = facilitatorAction(key);
    if (p) quietly(p);
  });
});

document.addEventListener("keydown", (event) => {
  if (event.defaultPrevented || event.repeat) return;
  if (event.ctrlKey || event.metaKey || event.altKey || event.shiftKey) return;
  if (isTyping(event.target)) return;
  if (S.screen !== "room" || !isHost() || !S.state) return;
  /** @type {Record<string, string>} */
  const map = { n: "next", s: "nextSpeaker", p: "pause" };
  const key = map[event.key];
  if (!key || fp[key].disabled) return;
  event.preventDefault();
  const p = facilitatorAction(key);
  if (p) quietly(p);
});

