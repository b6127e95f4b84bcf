// The "My notes" card: private notes (general, and what you learned about each person), saved as you type.
//
// Only the author ever gets their notes back (in `joined`); facilitators have no extra access.
// A textarea, once made, is never rebuilt or moved, so focus and caret survive every re-render.

import { el, setText, setClass } from "./dom.js";
import { S, act, conn, page } from "./state.js";

/** @typedef {import("./wire.js").StateView} StateView */

const SAVE_AFTER_MS = 800;
const MAX_NOTE = 5000;

const status = el("span", { id: "notes-status", className: "notes-status", role: "status", "aria-live": "polite" });
const fields = el("div", { id: "notes-fields", className: "notes-fields" });
export const notesSection = el("section", { id: "my-notes", className: "card my-notes", "aria-labelledby": "my-notes-heading" },
  el("h2", { id: "my-notes-heading" }, "My notes"),
  el("p", { className: "my-notes-sub" }, el("span", { className: "muted" }, "Only you can see these."), status),
  fields,
  el("p", { className: "actions" },
    el("button", { type: "button", id: "delete-notes", className: "button button-small button-danger-quiet" }, "Delete all my notes")),
  el("p", { className: "my-notes-recap" },
    el("a", { href: page.recap, id: "notes-recap-link" }, "See the recap"),
    el("span", { className: "muted" }, "The recap fills in as the call goes.")));

/** Notes as the server last told us (about -> text), from `joined`. */
/** @type {Map<string, string>} */
const known = new Map();
/** Names of everyone seen in the room, so a note keeps its label after its person leaves. */
/** @type {Map<string, string>} */
const names = new Map();
/** One entry per textarea, by `about` (a person id or "general"), in page order. */
/** @type {Map<string, NoteEntry>} */
const entries = new Map();
let counter = 0;
let savedOnce = false;

/**
 * One note's textarea and its saving.
 * @typedef {object} NoteEntry
 * @property {string} about a person id or "general"
 * @property {HTMLElement} wrap
 * @property {HTMLLabelElement} label
 * @property {HTMLTextAreaElement} textarea
 * @property {string} saved the text the server has
 * @property {ReturnType<typeof setTimeout> | null} timer the pause before saving
 * @property {number} sending saves in flight
 * @property {{error: string, message?: string} | null} error why the last save failed
 */

/**
 * @param {NoteEntry} entry
 * @returns {boolean} whether the textarea holds something the server does not have
 */
function dirty(entry) {
  return entry.textarea.value !== entry.saved;
}

/**
 * @param {string} about
 * @returns {string}
 */
function labelFor(about) {
  if (about === "general") return "General notes";
  return "What I learned about " + (names.get(about) || "someone who left");
}

/**
 * @param {string} about
 * @returns {NoteEntry}
 */
function makeEntry(about) {
  counter += 1;
  const id = about === "general" ? "note-general" : "note-" + counter;
  const label = el("label", { for: id });
  const textarea = el("textarea", { id, name: "note", rows: "3", maxlength: String(MAX_NOTE) });
  const wrap = el("div", { className: "note-field", dataset: { about } }, label, textarea);
  const text = known.get(about) || "";
  textarea.value = text;
  /** @type {NoteEntry} */
  const entry = { about, wrap, label, textarea, saved: text, timer: null, sending: 0, error: null };
  textarea.addEventListener("input", () => {
    clearTimeout(entry.timer ?? undefined);
    entry.timer = setTimeout(() => save(entry), SAVE_AFTER_MS);
    renderStatus();
  });
  textarea.addEventListener("blur", () => {
    if (entry.timer || dirty(entry)) save(entry);
  });
  entries.set(about, entry);
  fields.appendChild(wrap);
  return entry;
}

/** @param {NoteEntry} entry */
function save(entry) {
  clearTimeout(entry.timer ?? undefined);
  entry.timer = null;
  const text = entry.textarea.value;
  if (text === entry.saved && !entry.error) {
    renderStatus();
    return;
  }
  if (!conn.joined) {
    // Offline: sent again after the next join (see notesJoined()).
    entry.error = { error: "offline" };
    renderStatus();
    return;
  }
  entry.sending += 1;
  entry.error = null;
  act("note", { about: entry.about, text }, { toast: false }).then(() => {
    entry.saved = text;
    known.set(entry.about, text);
    savedOnce = true;
  }, (err) => {
    entry.error = err || { error: "error" };
  }).then(() => {
    entry.sending -= 1;
    renderStatus();
  });
  renderStatus();
}

/** "Saving…", "Saved" or why not. */
function renderStatus() {
  let busy = false;
  /** @type {NoteEntry["error"]} */
  let problem = null;
  for (const entry of entries.values()) {
    if (entry.timer || entry.sending) busy = true;
    else if (entry.error && dirty(entry)) problem = problem || entry.error;
  }
  let text = "";
  if (problem) {
    text = problem.error === "offline" || problem.error === "disconnected"
      ? "Not saved yet: you're offline. Saving when you're back."
      : "Not saved: " + (problem.message || "something went wrong.");
  } else if (busy) {
    text = "Saving…";
  } else if (savedOnce) {
    text = "Saved";
  }
  setText(status, text);
  setClass(status, "is-problem", Boolean(problem));
}

/** Keep a field whose person is gone only while it holds something. */
/**
 * @param {NoteEntry} entry
 * @returns {boolean}
 */
function keep(entry) {
  return entry.textarea.value.trim() !== "" || dirty(entry) || Boolean(entry.timer) || entry.sending > 0 ||
    document.activeElement === entry.textarea;
}

/** Show a textarea for the meeting and for each other person in the room (state.people). */
/** @param {StateView} st */
export function renderNotes(st) {
  const me = S.you && S.you.id;
  const present = st.people.filter((p) => p.state === "in" && p.id !== me);
  for (const p of st.people) names.set(p.id, p.name);
  const wanted = new Set(["general"]);
  for (const p of present) wanted.add(p.id);
  for (const [about, text] of known) if (text && about !== me) wanted.add(about);
  for (const [about, entry] of entries) {
    if (!wanted.has(about) && !keep(entry)) {
      entries.delete(about);
      entry.wrap.remove();
    }
  }
  // New fields go at the end: existing ones never move (moving a focused field would blur it).
  for (const about of wanted) if (!entries.has(about)) makeEntry(about);
  for (const entry of entries.values()) setText(entry.label, labelFor(entry.about));
}

/** After every join: the server's copy of your notes; send again what did not get through. */
/**
 * @param {Record<string, string>} [notes] about -> text
 * @param {Record<string, string>} [subjects] about -> name
 */
export function notesJoined(notes, subjects) {
  known.clear();
  // Names of the people your notes are about, also those who have left since.
  for (const [about, name] of Object.entries(subjects || {})) {
    if (typeof name === "string" && !names.has(about)) names.set(about, name);
  }
  for (const [about, text] of Object.entries(notes || {})) {
    if (typeof text === "string") known.set(about, text);
  }
  for (const entry of entries.values()) {
    if (dirty(entry) || entry.timer || entry.sending) {
      if (entry.error) save(entry);
      continue;
    }
    const text = known.get(entry.about) || "";
    if (text !== entry.saved && document.activeElement !== entry.textarea) {
      entry.textarea.value = text;
      entry.saved = text;
    }
  }
  renderStatus();
}

notesSection.querySelector("#delete-notes")?.addEventListener("click", () => {
  if (!window.confirm("Delete all your notes in this meeting? This cannot be undone.")) return;
  act("delete-notes").then(() => {
    known.clear();
    for (const entry of entries.values()) {
      clearTimeout(entry.timer ?? undefined);
      entry.timer = null;
      entry.textarea.value = "";
      entry.saved = "";
      entry.error = null;
    }
    renderStatus();
  }, () => {});
});

/** Leaving the page (for the recap, say): send what is still waiting for its pause. */
window.addEventListener("pagehide", () => {
  for (const entry of entries.values()) if (entry.timer) save(entry);
});

