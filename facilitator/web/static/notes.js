// The "My notes" card: private notes (general, and what you learned about each person), saved as you type.
// Beside each person, a private "I'd like to stay in touch" toggle; below, your contact line for matches.
//
// Only the author ever gets their notes and choices back (in `joined`); facilitators have no extra access.
// A textarea, once made, is never rebuilt or moved, so focus and caret survive every re-render.

import { el, setText, setClass } from "./dom.js";
import { S, act, conn, page } from "./state.js";

/** @typedef {import("./wire.js").StateView} StateView */

const SAVE_AFTER_MS = 800;
const MAX_NOTE = 5000;
const MAX_CONTACT_LINE = 200;

/** The people you would like to stay in touch with, as the server last confirmed. */
/** @type {Set<string>} */
const chosen = new Set();
/** @type {HTMLInputElement | null} */
let lineInput = null;
let lineSaved = "";

const status = el("span", { id: "notes-status", className: "notes-status", role: "status", "aria-live": "polite" });
const fields = el("div", { id: "notes-fields", className: "notes-fields" });
export const notesSection = el("section", { id: "my-notes", className: "card my-notes", "aria-labelledby": "my-notes-heading" },
  el("h2", { id: "my-notes-heading" }, "My notes"),
  el("p", { className: "my-notes-sub" }, el("span", { className: "muted" }, "Only you can see these."), status),
  fields,
  touchLineField(),
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
 * @property {HTMLInputElement | null} touch the stay-in-touch toggle (people only)
 * @property {HTMLElement | null} touchText its label's text
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
  const touch = about === "general" ? null
    : el("input", { type: "checkbox", id: "touch-" + counter, className: "touch-toggle" });
  const touchText = touch ? el("span") : null;
  const wrap = el("div", { className: "note-field", dataset: { about } }, label, textarea,
    touch && el("label", { for: touch.id, className: "touch-label" }, touch, touchText));
  const text = known.get(about) || "";
  textarea.value = text;
  /** @type {NoteEntry} */
  const entry = { about, wrap, label, textarea, touch, touchText, saved: text, timer: null, sending: 0, error: null };
  if (touch) {
    touch.checked = chosen.has(about);
    touch.addEventListener("change", () => chooseTouch(entry));
  }
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

/**
 * Send one stay-in-touch choice; on failure the toggle goes back to what the server has.
 * @param {NoteEntry} entry
 */
function chooseTouch(entry) {
  const box = entry.touch;
  if (!box) return;
  const want = box.checked;
  act("stay-in-touch", { person: entry.about, want }, { toast: false }).then(() => {
    if (want) chosen.add(entry.about);
    else chosen.delete(entry.about);
    savedOnce = true;
    renderStatus();
  }, (err) => {
    box.checked = chosen.has(entry.about);
    setText(status, "Not saved: " + (err?.message || "something went wrong."));
    setClass(status, "is-problem", true);
  });
}

/** @returns {HTMLElement} the one contact line you share with your matches only */
function touchLineField() {
  const input = el("input", {
    type: "text", id: "touch-line", name: "line", maxlength: String(MAX_CONTACT_LINE), autocomplete: "off",
    placeholder: "an e-mail, a handle or a link",
  });
  lineInput = input;
  const send = () => {
    const text = input.value;
    if (text === lineSaved || !conn.joined) return;
    act("contact-line", { text }, { toast: false }).then(() => {
      lineSaved = text;
      savedOnce = true;
      renderStatus();
    }, (err) => {
      setText(status, "Not saved: " + (err?.message || "something went wrong."));
      setClass(status, "is-problem", true);
    });
  };
  input.addEventListener("change", send);
  return el("div", { className: "note-field touch-line" },
    el("label", { for: "touch-line" }, "My contact line, shown only to people who want to stay in touch with me too"),
    input,
    el("p", { className: "muted" }, "Only mutual choices are shown, after the meeting, on the recap."));
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
  for (const entry of entries.values()) {
    setText(entry.label, labelFor(entry.about));
    if (entry.touchText) setText(entry.touchText, "I'd like to stay in touch with " + (names.get(entry.about) || "them"));
  }
}

/** After every join: the server's copy of your notes; send again what did not get through. */
/**
 * @param {Record<string, string>} [notes] about -> text
 * @param {Record<string, string>} [subjects] about -> name
 * @param {{chosen?: string[], line?: string}} [touch] your own stay-in-touch choices and contact line
 */
export function notesJoined(notes, subjects, touch) {
  known.clear();
  chosen.clear();
  for (const id of touch?.chosen || []) if (typeof id === "string") chosen.add(id);
  for (const entry of entries.values()) if (entry.touch) entry.touch.checked = chosen.has(entry.about);
  if (lineInput && document.activeElement !== lineInput && lineInput.value === lineSaved) {
    lineSaved = typeof touch?.line === "string" ? touch.line : "";
    lineInput.value = lineSaved;
  }
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

