// The agenda: the "Now" line (top bar), the item's notes and "Up next" (Agenda tab), the compact
// icebreaker prompt card (beside the spotlit speaker), and the agenda list.

import { el, actionButton, setText, setHidden, setClass, renderKeyed } from "./dom.js";
import { hhmm, mss, duration } from "./format.js";
import { nameOf } from "./people.js";
import { S, act, quietly } from "./state.js";

/** @typedef {import("./wire.js").StateView} StateView */
/** @typedef {import("./wire.js").AgendaRow} AgendaRow */

// Current item
export const nowTitle = el("p", { id: "now-title", className: "now-title" });
const nowNotes = el("p", { id: "now-notes", className: "notes", hidden: true });
const nextTitle = el("p", { id: "next-title", className: "next-title" });
export const nowCard = el("section", { id: "now-card", className: "now-card", "aria-label": "Current item" }, nowNotes, nextTitle);

// Icebreaker
const ibTitle = el("h2", { id: "ib-title" });
const ibRound = el("span", { id: "ib-round", className: "badge" });
const ibHowText = el("p", { id: "ib-how", className: "ib-how" });
const ibHow = el("details", { className: "ib-how-box" }, el("summary", null, "How it works"), ibHowText);
const ibSpeaking = el("p", { id: "ib-speaking", className: "ib-speaking" });
const ibYourTurn = el("p", { id: "ib-your-turn", className: "ib-your-turn", hidden: true }, "It's your turn! Answer the card, or pass.");
const ibPrompt = el("p", { id: "ib-prompt", className: "prompt" });
/** The control bar shows it during your turn. */
export const passButton = el("button", { type: "button", id: "pass-button", className: "button bar-button", hidden: true }, "Pass");
const ibNext = el("p", { id: "ib-next", className: "ib-next" });
const ibWaiting = el("p", { id: "ib-waiting", className: "ib-waiting muted" });
export const icebreakerCard = el("section", { id: "icebreaker", className: "card icebreaker-card", "aria-labelledby": "ib-title", hidden: true },
  el("div", { className: "ib-head" }, ibTitle, ibRound),
  ibSpeaking, ibPrompt, ibYourTurn,
  ibNext, ibWaiting, ibHow);

// Sidebar: the agenda
const agendaList = el("ol", { id: "agenda-list", className: "agenda-list" });
export const agendaSection = el("section", { id: "agenda", className: "card", "aria-labelledby": "agenda-heading" },
  el("h2", { id: "agenda-heading" }, "Agenda"), nowCard, agendaList);

passButton.addEventListener("click", () => quietly(act("pass")));

/**
 * The "Now" card: the current item, its notes (facilitators only) and what comes next.
 * @param {StateView} st
 * @param {boolean} host
 */
export function renderNow(st, host) {
  const status = st.clock.status;
  const index = st.clock.index;
  const item = st.agenda[index];
  const next = st.agenda[index + 1];
  if (status === "waiting") {
    setText(nowTitle, item ? "First up: " + item.title : "Not started yet");
  } else if (status === "ended") {
    setText(nowTitle, "The meeting has ended");
  } else {
    setText(nowTitle, item ? "Now: " + item.title : "");
  }
  const notes = host && item && item.notes && status !== "ended" ? String(item.notes) : "";
  setText(nowNotes, notes);
  setHidden(nowNotes, !notes);
  if (status === "ended") setText(nextTitle, "");
  else if (status === "waiting") setText(nextTitle, host ? "Press Start when everyone is here." : "Waiting for a facilitator to start.");
  else setText(nextTitle, next ? "Up next: " + next.title : "Last item");
  setHidden(nextTitle, !nextTitle.textContent);
}

/**
 * The icebreaker card: who speaks, their prompt, who is next and who has not spoken yet.
 * @param {StateView} st
 */
export function renderIcebreaker(st) {
  const ib = st.icebreaker;
  const personName = nameOf;
  setHidden(icebreakerCard, !ib);
  if (!ib) return;
  const me = S.you && S.you.id;
  setText(ibTitle, ib.title || "Icebreaker");
  setText(ibRound, "Round " + (ib.round || 1) + " of " + (ib.rounds || 1));
  setText(ibHowText, ib.how_it_works || "");
  setHidden(ibHow, !ib.how_it_works);
  if (ib.finished || !ib.speaker) {
    setText(ibSpeaking, ib.finished ? "Everyone has had a turn. Thank you!" : "Nobody has the floor right now.");
    setText(ibPrompt, "");
    setHidden(ibPrompt, true);
  } else {
    setText(ibSpeaking, "Speaking now: " + personName(ib.speaker));
    setText(ibPrompt, ib.prompt || "");
    setHidden(ibPrompt, !ib.prompt);
  }
  const mine = Boolean(me && ib.speaker === me && !ib.finished);
  setHidden(ibYourTurn, !mine);
  setHidden(passButton, !mine);
  setClass(icebreakerCard, "my-turn", mine);
  setText(ibNext, ib.up_next ? "Up next: " + personName(ib.up_next) : ib.finished || !ib.speaker ? "" : "Up next: nobody, this is the last turn");
  setHidden(ibNext, !ibNext.textContent);
  const waiting = (ib.not_yet_spoken || []).filter((id) => id !== ib.speaker).map(personName);
  setText(ibWaiting, waiting.length ? "Not spoken yet: " + waiting.join(", ") : "");
  setHidden(ibWaiting, !waiting.length);
}

/** @type {Element | null} the current item's "so far" line */
let currentLine = null;

/**
 * The agenda list in the sidebar (facilitators get a "Go to" button per item).
 * @param {StateView} st
 * @param {boolean} host
 */
export function renderAgenda(st, host) {
  const status = st.clock.status;
  const live = status === "running" || status === "paused";
  let offset = 0;
  const rows = st.agenda.map((row) => {
    const start = offset;
    offset += row.planned_duration || 0;
    return { row: row, offset: start };
  });
  renderKeyed(agendaList, rows, (r) => String(r.row.index),
    (r) => JSON.stringify([r.row.title, r.row.planned_start, r.row.planned_duration, r.row.state,
      r.row.state === "current" ? null : r.row.elapsed, r.row.deck, r.row.deck_title, r.row.per_speaker, host, live, r.offset]),
    (r) => buildAgendaRow(r.row, r.offset, host, live));
  currentLine = agendaList.querySelector(".agenda-item.state-current .agenda-elapsed");
}

/** @returns {Element | null} the "so far" line of the current agenda item, which the clock updates every tick */
export function currentElapsed() {
  return currentLine;
}

/**
 * @param {AgendaRow} row
 * @param {number} offset seconds from the start, as planned
 * @param {boolean} host
 * @param {boolean} live
 * @returns {HTMLElement}
 */
function buildAgendaRow(row, offset, host, live) {
  const state = row.state || "upcoming";
  const when = row.planned_start != null ? hhmm(row.planned_start) : mss(offset);
  const meta = [duration(row.planned_duration)];
  const deckTitle = row.deck_title || row.deck;
  if (deckTitle) meta.push(deckTitle + (row.per_speaker ? ", " + duration(row.per_speaker) + " each" : ""));
  const stateWord = { done: "Done", current: "Now", skipped: "Skipped", upcoming: "" }[state] || "";
  const elapsed = el("span", { className: "agenda-elapsed" });
  if (state === "done") elapsed.textContent = "took " + mss(row.elapsed);
  const li = el("li", {
    className: "agenda-item state-" + state,
    dataset: { index: String(row.index), state: state },
    "aria-current": state === "current" ? "step" : null,
  },
  el("span", { className: "agenda-time", title: row.planned_start != null ? "Planned start" : "Starts after" }, when),
  el("div", { className: "agenda-body" },
    el("span", { className: "agenda-title" }, row.title),
    el("span", { className: "agenda-meta" }, meta.join(" · ")),
    elapsed),
  stateWord ? el("span", { className: "agenda-state badge" }, stateWord) : null);
  if (host && live && state !== "current") {
    const b = actionButton("Go to", "item " + row.title, {
      className: "button button-small agenda-goto",
      dataset: { focusKey: "goto:" + row.index },
    });
    b.addEventListener("click", () => quietly(act("go-to-item", { index: row.index })));
    li.appendChild(b);
  }
  return li;
}

