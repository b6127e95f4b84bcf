// The chat card: the message log, the "no messages yet" line and the send form.

import { el, setHidden } from "./dom.js";
import { hhmm } from "./format.js";
import { S, act } from "./state.js";

/** @typedef {import("./wire.js").ChatMessage} ChatMessage */

const MAX_CHAT_SHOWN = 500;

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
    el("span", { className: "chat-text" }, String(msg.text || "")));
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
  addChat(value);
  renderChatEmpty();
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

