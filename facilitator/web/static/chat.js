// The chat card: the message log, the "no messages yet" line and the send form.

import { el, setHidden } from "./dom.js";
import { hhmm } from "./format.js";
import { S, act } from "./state.js";

/** @typedef {import("./wire.js").ChatMessage} ChatMessage */

const MAX_CHAT_SHOWN = 500;
const URL_PATTERN = /\bhttps?:\/\/[^\s<>"']+/gi;
// Trailing punctuation usually ends the sentence, not the link.
const URL_TAIL = /[.,;:!?)\]}]+$/;

/**
 * A message's text with its http(s) links as real links: built from text nodes and `a`
 * elements whose text and href are set as text, never as HTML.
 * @param {string} text
 * @returns {HTMLElement}
 */
export function linkified(text) {
  const span = el("span", { className: "chat-text" });
  let at = 0;
  for (const match of text.matchAll(URL_PATTERN)) {
    let url = match[0];
    const tail = url.match(URL_TAIL);
    if (tail) url = url.slice(0, url.length - tail[0].length);
    const start = match.index ?? 0;
    /** @type {URL | null} */
    let parsed = null;
    try {
      parsed = new URL(url);
    } catch {
      parsed = null;
    }
    if (!parsed || (parsed.protocol !== "http:" && parsed.protocol !== "https:")) continue;
    if (start > at) span.appendChild(document.createTextNode(text.slice(at, start)));
    const link = el("a", { rel: "noopener noreferrer", target: "_blank" });
    link.href = parsed.href;
    link.textContent = url;
    span.appendChild(link);
    at = start + url.length;
  }
  if (at < text.length) span.appendChild(document.createTextNode(text.slice(at)));
  return span;
}

/** @type {(msg: ChatMessage) => void} called for each new message (room.js counts unread ones) */
let onNew = () => {};

/** @param {(msg: ChatMessage) => void} fn */
export function onNewMessage(fn) {
  onNew = fn;
}

const chatLog = el("ol", { id: "chat-log", className: "chat-log", role: "log", "aria-live": "polite", "aria-label": "Chat log", tabindex: "0" });
const chatEmpty = el("p", { id: "chat-empty", className: "muted chat-empty" }, "No messages yet. Say hello!");
const chatInput = el("input", { id: "chat-input", name: "message", type: "text", maxlength: "1000", autocomplete: "off" });
const chatForm = el("form", { id: "chat-form", className: "chat-form" },
  el("label", { for: "chat-input", className: "visually-hidden" }, "Message"),
  chatInput,
  el("button", { type: "submit", className: "button", id: "chat-send" }, "Send"));
export const chatSection = el("section", { id: "chat", className: "card chat", "aria-labelledby": "chat-heading" },
  el("h2", { id: "chat-heading" }, "Chat"), chatEmpty, chatLog, chatForm);

/** @param {ChatMessage} msg */
function addChat(msg) {
  if (!msg || S.chat.has(msg.seq)) return;
  S.chat.set(msg.seq, msg);
  const mine = S.you && msg.person === S.you.id;
  const li = el("li", { className: "chat-message" + (mine ? " chat-mine" : ""), dataset: { seq: String(msg.seq) } },
    el("time", { className: "chat-time" }, hhmm(msg.t)),
    " ",
    el("span", { className: "chat-name" }, String(msg.name || "Someone")),
    el("span", { className: "chat-sep" }, ": "),
    linkified(String(msg.text || "")));
  chatLog.appendChild(li);
  while (chatLog.children.length > MAX_CHAT_SHOWN) chatLog.firstElementChild?.remove();
}

/** Show "No messages yet" while the log is empty. */
export function renderChatEmpty() {
  setHidden(chatEmpty, chatLog.children.length > 0);
}

/**
 * The `chat-history` message: everything said so far (after every join).
 * @param {import("./wire.js").ChatHistory} value
 */
export function history(value) {
  S.chat.clear();
  chatLog.replaceChildren();
  (value.messages || []).forEach(addChat);
  renderChatEmpty();
  chatLog.scrollTop = chatLog.scrollHeight;
}

/**
 * One new `chat` message; keep the log scrolled to the end if it was there.
 * @param {ChatMessage} value
 */
export function receive(value) {
  const nearBottom = chatLog.scrollHeight - chatLog.scrollTop - chatLog.clientHeight < 40;
  const fresh = !S.chat.has(value.seq);
  addChat(value);
  renderChatEmpty();
  if (fresh) onNew(value);
  if (nearBottom || value.person === (S.you && S.you.id)) chatLog.scrollTop = chatLog.scrollHeight;
}

chatForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = chatInput.value.trim();
  if (!text) return;
  chatInput.value = "";
  act("chat", { text }).catch(() => {
    if (!chatInput.value) chatInput.value = text;
  });
});

