// The meeting page's entry module (room.html loads only this one): the room layout, joining and
// leaving, the connection's callbacks, and render().
//
// Test hook: this module alone sets `window.__facilitatorTest = {media}` (the LocalMedia), so the
// browser tests can check what the page sends and plays. Nothing on the page reads it.

import {
  agendaSection, icebreakerCard, nowCard, renderAgenda, renderIcebreaker, renderNow,
} from "./agenda.js";
import { chatSection, history as chatHistory, receive as chatReceive, renderChatEmpty } from "./chat.js";
import * as devices from "./devices.js";
import { el, setText, setHidden } from "./dom.js";
import { thresholdText } from "./format.js";
import { notesJoined, notesSection, renderNotes } from "./notes.js";
import { facilitatorPanel, renderPanel } from "./panel.js";
import {
  handButton, leaveButton, optOutLabel, peopleSection, renderMine, renderPeople, renderTiles, tiles,
} from "./people.js";
import * as screens from "./screens.js";
import { S, conn, isHost, keys, page, quietly } from "./state.js";
import { getItem, setItem } from "./storage.js";
import {
  audioContext, chime, chimeButton, clockBadge, endsAt, renderChimes, renderClockBadge, tick, timerBoxes,
} from "./timers.js";
import { toast, toasts } from "./toast.js";

/** @typedef {import("./wire.js").StateView} StateView */
/** @typedef {import("./wire.js").ErrorInfo} ErrorInfo */

const TICK_MS = 250;
const { showScreen, setStatus } = screens;
const media = devices.media;

// ---------------------------------------------------------------- the room screen

const mutedBanner = el("p", { id: "muted-banner", className: "banner banner-warn", role: "alert", hidden: true },
  "A facilitator muted you. Raise your hand to ask to speak.");
const endedBanner = el("p", { id: "ended-banner", className: "banner banner-info banner-ended", role: "status", hidden: true },
  el("span", null, "The meeting has ended. Thanks for coming!"),
  el("a", { href: page.recap, id: "ended-recap-link", className: "button button-primary button-small" }, "See the recap"));
const roomHeading = el("h1", { id: "room-title", tabindex: "-1", text: page.title });
const roomHeader = el("header", { className: "room-header" },
  el("div", { className: "room-heading" }, roomHeading, clockBadge),
  el("div", { className: "timers" }, ...timerBoxes),
  el("div", { className: "room-header-meta" }, endsAt, chimeButton),
  el("div", { className: "room-banners" }, mutedBanner, endedBanner, devices.soundButton));
const myControls = el("div", { id: "my-controls", className: "my-controls", role: "group", "aria-label": "Your controls" },
  devices.mediaSlot, handButton, optOutLabel, devices.devicesSlot, leaveButton);

const roomScreen = el("div", { id: "room", className: "screen room", hidden: true },
  roomHeader,
  el("div", { className: "room-main" },
    nowCard, icebreakerCard, tiles, myControls, devices.noteSlot, devices.remoteAudio),
  el("aside", { className: "room-side", "aria-label": "Meeting details" },
    facilitatorPanel, agendaSection, peopleSection, notesSection, chatSection));

// ---------------------------------------------------------------- joining and leaving

/** @param {string} name */
function join(name) {
  S.name = name;
  S.wantIn = true;
  S.left = false;
  setItem("local", keys.name, name);
  setHidden(screens.joinError, true);
  screens.joinButton.disabled = true;
  setText(screens.joinButton, "Joining…");
  // Errors are shown by conn.onerror (type "join").
  quietly(conn.join(name));
}

screens.joinForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const name = screens.nameInput.value.trim().replace(/\s+/g, " ");
  if (!name) {
    screens.showJoinError("Please type a name.");
    screens.nameInput.focus();
    return;
  }
  audioContext();
  join(name);
});

screens.rejoinButton.addEventListener("click", () => {
  audioContext();
  devices.reopen();
  join(S.name || screens.nameInput.value.trim());
  setStatus("Joining…");
});

leaveButton.addEventListener("click", () => {
  S.wantIn = false;
  S.left = true;
  setItem("session", keys.joined, null);
  devices.stopMedia();
  conn.leave();
  setStatus("");
  setHidden(mutedBanner, true);
  showScreen("left");
});

/** @param {ErrorInfo} info */
function joinFailed(info) {
  const code = info.error;
  screens.resetJoinButton();
  if (code === "removed") {
    showRemoved();
    return;
  }
  if (S.screen === "room" && S.state) {
    // An automatic rejoin failed: keep the last state on screen and say why.
    if (code === "meeting-ended") {
      showEnded();
      setStatus("");
      conn.close();
    } else {
      setStatus(info.message);
    }
    return;
  }
  S.wantIn = false;
  setItem("session", keys.joined, null);
  setStatus("");
  showScreen("prejoin");
  screens.showJoinError(info.message || "Could not join.");
  if (code === "bad-name") screens.nameInput.focus();
}

function showRemoved() {
  S.wantIn = false;
  setItem("session", keys.joined, null);
  setStatus("");
  setHidden(mutedBanner, true);
  devices.stopMedia();
  conn.close();
  showScreen("removed");
}

function showEnded() {
  S.endedNotice = true;
  setHidden(endedBanner, false);
  devices.endMedia();
}

// ---------------------------------------------------------------- connection callbacks

conn.onjoined = (value) => {
  S.you = value.you || S.you;
  setItem("session", keys.joined, "1");
  setStatus("");
  screens.resetJoinButton();
  setHidden(screens.joinError, true);
  S.speaking = value.speaking || null;
  notesJoined(value.notes, value.note_subjects, value.touch);
  showScreen("room");
  if (S.state) render();
  devices.startMedia(value);
};

conn.onlobby = (value) => {
  setStatus("");
  screens.resetJoinButton();
  screens.showLobby(value);
};

conn.onadmitted = () => {
  toast("You're in! Welcome.");
};

conn.onstate = (value) => {
  S.state = value;
  if (value.you) S.you = value.you;
  if (S.screen === "left" || S.screen === "removed") return;
  if (value.you) devices.setForcedMute(value.you.muted);
  if (S.screen !== "room") showScreen("room");
  render();
};

conn.onchathistory = (value) => chatHistory(value);
conn.onchat = (value) => chatReceive(value);

conn.onwarning = (value) => {
  chime();
  toast(thresholdText(value.threshold), "warn");
};

conn.onmuted = () => {
  setHidden(mutedBanner, false);
  devices.setForcedMute(true);
};

conn.onunmuted = () => {
  setHidden(mutedBanner, true);
  devices.setForcedMute(false);
  toast("A facilitator unmuted you. You can turn your microphone on again.");
};

conn.onremoved = () => showRemoved();
conn.onended = () => showEnded();
conn.onoffer = (value) => devices.handleOffer(value);

conn.onmediaended = (value) => {
  if (devices.handleMediaEnded(value)) {
    toast("Your camera and microphone are now used in your other tab or window.");
  }
};

conn.onspeaking = (value) => {
  S.speaking = value.person || null;
  if (S.state && S.screen === "room") paintTiles(S.state);
};

conn.onbye = () => {
  if (S.wantIn) setStatus("Reconnecting…");
};

conn.onclose = (info) => {
  if (!S.wantIn) return;
  if (info.reconnecting) {
    setStatus("Reconnecting…");
  } else if (info.code === 4404) {
    setStatus("This meeting is no longer available.");
  } else if (S.screen !== "removed") {
    setStatus("Disconnected. Reload the page to try again.");
  }
};

conn.onreconnecting = () => {
  if (S.wantIn) setStatus("Reconnecting…");
};

conn.onerror = (info) => {
  if (info.type === "join") {
    joinFailed(info);
  } else if (info.error === "removed") {
    showRemoved();
  } else if (info.error === "no-session") {
    setStatus(info.message || "Please reload the page to join.");
    screens.resetJoinButton();
  } else if (info.type === null) {
    toast(info.message, "error");
  }
  // Errors answering an action reject its promise; act() shows those.
};

// ---------------------------------------------------------------- rendering the room

/** @param {StateView} st */
function paintTiles(st) {
  renderTiles(st);
  devices.paintTiles(st);
}

function render() {
  const st = S.state;
  if (!st) return;
  const host = isHost();
  if (page.app) {
    page.app.dataset.role = host ? "facilitator" : "participant";
    page.app.dataset.status = st.clock.status;
  }
  document.body.classList.toggle("is-facilitator", host);
  setText(roomHeading, st.meeting.title || page.title);
  if (st.clock.status === "ended" || st.meeting.status === "ended") showEnded();
  setHidden(mutedBanner, !S.you?.muted);
  renderClockBadge(st);
  renderNow(st, host);
  renderIcebreaker(st);
  paintTiles(st);
  renderMine(st);
  renderPanel(st, host);
  renderAgenda(st, host);
  renderPeople(st, host);
  renderNotes(st);
  tick();
}

// ---------------------------------------------------------------- start

/** Put the page together and join again if this tab was in the room before a reload. */
function start() {
  const app = page.app;
  if (!app) return;
  // The facilitator key is in the session cookie now; keep it out of the address bar and history.
  if (page.stripKey || new URLSearchParams(location.search).has("key")) {
    history.replaceState(null, "", location.pathname);
  }
  screens.addRoom(roomScreen, roomHeading);
  app.append(screens.statusLine, ...screens.screenNodes, roomScreen, toasts);
  if (screens.keyError) app.insertBefore(screens.keyError, app.firstChild);
  setInterval(tick, TICK_MS);
  /** @type {Window & {__facilitatorTest?: {media: typeof media}}} */ (window).__facilitatorTest = { media };

  screens.nameInput.value = S.name;
  renderChimes();
  renderChatEmpty();
  devices.setPreviewName(screens.nameInput.value);
  devices.start();
  app.dataset.screen = "prejoin";
  document.body.dataset.screen = "prejoin";
  const saved = getItem("session", keys.joined) === "1" ? getItem("local", keys.name) : null;
  if (saved && saved.trim()) {
    join(saved.trim());
  } else if (!screens.nameInput.value) {
    screens.nameInput.focus();
  }
}

start();
