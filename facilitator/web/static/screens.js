// The pre-join, lobby, left and removed screens, the connection status line and the toasts.
(function (F) {
  "use strict";

  if (!F.ready) return;
  const { el, setText, setHidden } = F.dom;
  const S = F.S;
  const TOAST_MS = 5000;

  const statusLine = el("p", { id: "connection-status", className: "connection-status", role: "status", hidden: true });
  const toasts = el("div", { id: "toasts", className: "toasts", role: "status", "aria-live": "polite" });

  // Pre-join
  const nameInput = el("input", {
    id: "name", name: "name", type: "text", maxlength: "40", required: true,
    autocomplete: "nickname", spellcheck: "false", "aria-describedby": "join-help",
  });
  const joinError = el("p", { id: "join-error", className: "form-error", role: "alert", hidden: true });
  const joinButton = el("button", { type: "submit", className: "button button-primary button-large", id: "join-button" }, "Join");
  const joinForm = el("form", { id: "join-form", className: "join-form" },
    el("label", { for: "name" }, "Your name"),
    el("div", { className: "join-row" }, nameInput, joinButton),
    joinError);
  const prejoinHeading = el("h1", { id: "prejoin-title", tabindex: "-1", text: F.page.title });
  const prejoin = el("section", { id: "prejoin", className: "screen screen-center card", "aria-labelledby": "prejoin-title" },
    prejoinHeading,
    el("p", { className: "lead" }, "Welcome! Type the name you'd like others to see."),
    F.devices.preview,
    joinForm,
    el("p", { id: "join-help", className: "hint" }, "Camera off is fine, and anyone can pass on any question."));

  // Lobby
  const lobbyMessage = el("p", { id: "lobby-message", className: "lead" });
  const lobbyTitle = el("p", { id: "lobby-meeting", className: "muted" });
  const lobbyHeading = el("h1", { id: "lobby-title", tabindex: "-1" }, "You're in the lobby");
  const lobbyScreen = el("section", { id: "lobby", className: "screen screen-center card", "aria-labelledby": "lobby-title", hidden: true },
    lobbyHeading, lobbyTitle, lobbyMessage,
    el("p", { className: "lobby-wait", "aria-hidden": "true" }, el("span", { className: "dot" }), el("span", { className: "dot" }), el("span", { className: "dot" })));

  // Left / removed
  const rejoinButton = el("button", { type: "button", className: "button button-primary", id: "rejoin-button" }, "Rejoin");
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

  const screens = { prejoin: prejoin, lobby: lobbyScreen, left: leftScreen, removed: removedScreen };
  const headings = { prejoin: prejoinHeading, lobby: lobbyHeading, left: leftHeading, removed: removedHeading };
  const keyError = document.getElementById("key-error");

  /** Add the room screen (built by room.js) to the ones showScreen switches between. */
  function addRoom(roomScreen, roomHeading) {
    screens.room = roomScreen;
    headings.room = roomHeading;
  }

  function showScreen(name) {
    if (S.screen === name && !screens[name].hidden) return;
    const active = document.activeElement;
    S.screen = name;
    for (const [key, node] of Object.entries(screens)) setHidden(node, key !== name);
    F.page.app.dataset.screen = name;
    F.devices.placeMediaControls(name);
    if (keyError) setHidden(keyError, name !== "prejoin");
    document.body.dataset.screen = name;
    // Move focus only when it was lost with the screen that just went away.
    const lost = !active || active === document.body || !active.isConnected || active.closest("[hidden]");
    if (lost && headings[name]) {
      if (name === "prejoin") nameInput.focus();
      else headings[name].focus({ preventScroll: true });
    }
  }

  function setStatus(text) {
    setHidden(statusLine, !text);
    setText(statusLine, text || "");
  }

  F.toast = function toast(text, kind) {
    const node = el("div", { className: "toast" + (kind ? " toast-" + kind : "") }, String(text));
    toasts.appendChild(node);
    while (toasts.children.length > 4) toasts.firstChild.remove();
    setTimeout(() => {
      node.classList.add("toast-leaving");
      setTimeout(() => node.remove(), 300);
    }, TOAST_MS);
  };

  function resetJoinButton() {
    joinButton.disabled = false;
    setText(joinButton, "Join");
  }

  function showJoinError(text) {
    joinError.textContent = text;
    setHidden(joinError, false);
  }

  function showLobby(value) {
    setText(lobbyMessage, value.message || "A facilitator will let you in shortly.");
    setText(lobbyTitle, value.title || F.page.title);
    showScreen("lobby");
  }

  nameInput.addEventListener("input", () => F.devices.setPreviewName(nameInput.value));

  F.screens = {
    statusLine: statusLine,
    toasts: toasts,
    keyError: keyError,
    nodes: [prejoin, lobbyScreen, leftScreen, removedScreen],
    nameInput: nameInput,
    joinForm: joinForm,
    joinButton: joinButton,
    joinError: joinError,
    rejoinButton: rejoinButton,
    addRoom: addRoom,
    showScreen: showScreen,
    setStatus: setStatus,
    resetJoinButton: resetJoinButton,
    showJoinError: showJoinError,
    showLobby: showLobby,
  };
})(window.Facilitator);
