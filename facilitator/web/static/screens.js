// The pre-join, lobby, left and removed screens and the connection status line.

import { el, setText, setHidden } from "./dom.js";
import { placeMediaControls, preview, setPreviewName } from "./devices.js";
import { S, page } from "./state.js";

export const statusLine = el("p", { id: "connection-status", className: "connection-status", role: "status", hidden: true });

// Pre-join
export const nameInput = el("input", {
  id: "name", name: "name", type: "text", maxlength: "40", required: true,
  autocomplete: "nickname", spellcheck: "false", "aria-describedby": "join-help",
});
export const joinError = el("p", { id: "join-error", className: "form-error", role: "alert", hidden: true });
export const joinButton = el("button", { type: "submit", className: "button button-primary button-large", id: "join-button" }, "Join");
export const joinForm = el("form", { id: "join-form", className: "join-form" },
  el("label", { for: "name" }, "Your name"),
  el("div", { className: "join-row" }, nameInput, joinButton),
  joinError);
const prejoinHeading = el("h1", { id: "prejoin-title", tabindex: "-1", text: page.title });
const prejoin = el("section", { id: "prejoin", className: "screen screen-center card", "aria-labelledby": "prejoin-title" },
  prejoinHeading,
  el("p", { className: "lead" }, "Welcome! Type the name you'd like others to see."),
  preview,
  joinForm,
  el("p", { id: "join-help", className: "hint" }, "Camera off is fine, and anyone can pass on any question."));

// Lobby
const lobbyMessage = el("p", { id: "lobby-message", className: "lead" });
const lobbyTitle = el("p", { id: "lobby-meeting", className: "muted" });
const lobbyHeading = el("h1", { id: "lobby-title", tabindex: "-1" }, "You're in the lobby");
/** Waiting in the lobby: the camera preview with its toggles, and a way out. */
const lobbyPreview = el("div", { className: "lobby-preview" });
export const lobbyLeaveButton = el("button", { type: "button", id: "lobby-leave", className: "button button-danger-quiet" }, "Leave");
const lobbyScreen = el("section", { id: "lobby", className: "screen screen-center card", "aria-labelledby": "lobby-title", hidden: true },
  lobbyHeading, lobbyTitle, lobbyMessage,
  el("p", { className: "lobby-wait", "aria-hidden": "true" }, el("span", { className: "dot" }), el("span", { className: "dot" }), el("span", { className: "dot" })),
  lobbyPreview,
  el("p", { className: "actions" }, lobbyLeaveButton));

// Left / removed
export const rejoinButton = el("button", { type: "button", className: "button button-primary", id: "rejoin-button" }, "Rejoin");
const leftHeading = el("h1", { id: "left-title", tabindex: "-1" }, "You left the meeting");
const leftScreen = el("section", { id: "left", className: "screen screen-center card", "aria-labelledby": "left-title", hidden: true },
  leftHeading,
  el("p", null, "Thanks for joining. Changed your mind?"),
  el("p", { className: "actions" }, rejoinButton, el("a", { href: "/", className: "button button-quiet" }, "Back to the start page")));
const removedHeading = el("h1", { id: "removed-title", tabindex: "-1" }, "You were removed from this meeting.");
const removedScreen = el("section", { id: "removed", className: "screen screen-center card", "aria-labelledby": "removed-title", hidden: true },
  removedHeading,
  el("p", null, "A facilitator asked you to leave this call."),
  el("p", { className: "actions" }, el("a", { href: "/", className: "button" }, "Back to the start page")));

/** The screens other than the room (room.js puts them on the page). */
export const screenNodes = [prejoin, lobbyScreen, leftScreen, removedScreen];
/** @type {Record<string, HTMLElement>} */
const screens = { prejoin, lobby: lobbyScreen, left: leftScreen, removed: removedScreen };
/** @type {Record<string, HTMLElement>} */
const headings = { prejoin: prejoinHeading, lobby: lobbyHeading, left: leftHeading, removed: removedHeading };
/** The "facilitator link is not valid" notice the server may have put on the page. */
export const keyError = document.getElementById("key-error");

/**
 * Add the room screen (built by room.js) to the ones showScreen switches between.
 * @param {HTMLElement} roomScreen
 * @param {HTMLElement} roomHeading
 */
export function addRoom(roomScreen, roomHeading) {
  screens.room = roomScreen;
  headings.room = roomHeading;
}

/**
 * Show one screen and hide the others.
 * @param {string} name "prejoin", "lobby", "room", "left" or "removed"
 */
export function showScreen(name) {
  if (S.screen === name && !screens[name].hidden) return;
  const active = document.activeElement;
  S.screen = name;
  for (const [key, node] of Object.entries(screens)) setHidden(node, key !== name);
  if (page.app) page.app.dataset.screen = name;
  if (name === "lobby" && preview.parentNode !== lobbyPreview) lobbyPreview.appendChild(preview);
  if (name === "prejoin" && preview.parentNode !== prejoin) prejoin.insertBefore(preview, joinForm);
  placeMediaControls(name);
  if (keyError) setHidden(keyError, name !== "prejoin");
  document.body.dataset.screen = name;
  // Move focus only when it was lost with the screen that just went away.
  const lost = !active || active === document.body || !active.isConnected || active.closest("[hidden]");
  if (lost && headings[name]) {
    if (name === "prejoin") nameInput.focus();
    else headings[name].focus({ preventScroll: true });
  }
}

/**
 * The connection status line ("Reconnecting…"); empty hides it.
 * @param {string | null | undefined} text
 */
export function setStatus(text) {
  setHidden(statusLine, !text);
  setText(statusLine, text || "");
}

export function resetJoinButton() {
  joinButton.disabled = false;
  setText(joinButton, "Join");
}

/** @param {string} text */
export function showJoinError(text) {
  joinError.textContent = text;
  setHidden(joinError, false);
}

/** @param {import("./wire.js").LobbyView} value the `lobby` message */
export function showLobby(value) {
  setText(lobbyMessage, value.message || "A facilitator will let you in shortly.");
  setText(lobbyTitle, value.title || page.title);
  showScreen("lobby");
}

nameInput.addEventListener("input", () => setPreviewName(nameInput.value));

