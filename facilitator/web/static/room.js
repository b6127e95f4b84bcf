// The meeting page's entry module (room.html loads only this one): the room layout, joining and
// leaving, the connection's callbacks, and render().
//
// Test hook: this module alone sets `window.__facilitatorTest = {media, quality, network}` (the
// LocalMedia; the own tile's connection grade, as devices.showQuality; and what a `network`
// message does), so the browser tests can check what the page sends and plays, and show states a
// loopback network never has. Nothing on the page reads it.

import {
  agendaSection, nowTitle, passButton, renderAgenda, renderIcebreaker, renderNow,
} from "./agenda.js";
import {
  chatSection, history as chatHistory, onNewMessage, receive as chatReceive, renderChatEmpty,
} from "./chat.js";
import * as devices from "./devices.js";
import { el, setText, setHidden } from "./dom.js";
import { thresholdText } from "./format.js";
import { notesJoined, notesSection, renderNotes } from "./notes.js";
import { facilitatorPanel, hostBar, renderPanel } from "./panel.js";
import {
  handButton, leaveButton, optOutLabel, peopleSection, renderMine, renderPeople, renderTiles,
  showPausedVideos,
} from "./people.js";
import { reactMenu, showReaction } from "./reactions.js";
import {
  broadcastBanner, groupCard, groupName, grouped, mainRoomNote, renderGroup, renderRoundsPanel, showBroadcast,
} from "./rounds.js";
import { noticeKnocks, renderRoomNotices, roomAlerts } from "./roomnotices.js";
import * as screens from "./screens.js";
import { ownScreen, renderShare, shareButton } from "./share.js";
import {
  addTab, isShowing, markUnread, onPanel, openPanel, panelButton, remembered, showTab, sidePanel,
} from "./sidepanel.js";
import { layout, renderStage, resetVisible, stage, stageBanners, tiles } from "./stage.js";
import { S, conn, isHost, keys, page, quietly } from "./state.js";
import { getItem, setItem } from "./storage.js";
import {
  audioContext, chime, chimeButton, clockBadge, endsAt, hardStopBanner, renderChimes, renderClockBadge, tick, timerBoxes,
} from "./timers.js";
import { toast, toasts } from "./toast.js";

/** @typedef {import("./wire.js").StateView} StateView */
/** @typedef {import("./wire.js").ErrorInfo} ErrorInfo */

const TICK_MS = 250;
const SELF_VIEW_KEY = "facilitator.selfView";
const { showScreen, setStatus } = screens;
const media = devices.media;

// ---------------------------------------------------------------- the room screen
//
// The room fills the window and never scrolls: a slim top bar (title, countdowns, projected
// end), the stage (tiles, spotlight, shared screen) beside the side panel, and a control bar
// that never hides. Only the side panel's tabs scroll, inside themselves.

const mutedBanner = el("p", { id: "muted-banner", className: "banner banner-warn", role: "alert", hidden: true },
  "A facilitator muted you. Raise your hand to ask to speak.");
const endedBanner = el("p", { id: "ended-banner", className: "banner banner-info banner-ended", role: "status", hidden: true },
  el("span", null, "The meeting has ended. Thanks for coming!"),
  el("a", { href: page.recap, id: "ended-recap-link", className: "button button-primary button-small" }, "See the recap"));
/** A polite live region for what must not be missed (your turn, a knock, a new message). */
const announcer = el("p", { id: "announcer", className: "visually-hidden", role: "status", "aria-live": "polite" });
const roomHeading = el("h1", { id: "room-title", tabindex: "-1", text: page.title });
const roomHeader = el("header", { className: "topbar" },
  el("div", { className: "topbar-title" }, el("div", { className: "room-heading" }, roomHeading, clockBadge), nowTitle),
  el("div", { className: "timers" }, ...timerBoxes),
  el("div", { className: "topbar-meta" }, endsAt));
/** Says when the server sends this person fewer videos for their connection (`network`). */
const networkNotice = el("div", { id: "network-notice", role: "status", "aria-live": "polite" });
stageBanners.append(hardStopBanner, mutedBanner, endedBanner, networkNotice, devices.soundButton, devices.noteSlot);
// During a round: your group (or why you are in the main room) and a facilitator's broadcast
// above the tiles, in the stage's flow so they never cover the group's names.
stage.insertBefore(groupCard, tiles);
stage.insertBefore(broadcastBanner, tiles);
stage.insertBefore(mainRoomNote, tiles);

/**
 * The server's `network` message: show or clear the "fewer videos" notice.
 * @param {import("./wire.js").Network} value
 */
function showNetwork(value) {
  showPausedVideos(value.paused || []);
  const shown = networkNotice.firstChild !== null;
  if (Boolean(value.constrained) === shown) return;
  networkNotice.replaceChildren(...(value.constrained
    ? [el("p", { className: "banner banner-info" }, "Your connection is weak: showing fewer videos.")]
    : []));
}

// The "More" menu: the settings that do not need to be one tap away.
const selfViewButton = el("button", { type: "button", id: "self-view", className: "button button-small", "aria-pressed": "false" }, "Hide self view");
const inviteButton = el("button", { type: "button", id: "copy-invite", className: "button button-small" }, "Copy invite link");
const moreMenu = el("details", { id: "more-menu", className: "menu bar-menu" },
  el("summary", { className: "button bar-button" }, "More"),
  el("div", { className: "menu-body" }, optOutLabel, chimeButton, selfViewButton, inviteButton, devices.devicesSlot));

const peopleOpener = panelButton("people", "People", { waits: true });
const chatOpener = panelButton("chat", "Chat");
const controlBar = el("section", { id: "control-bar", className: "control-bar", "aria-label": "Call controls" },
  el("div", { className: "bar-group bar-me" }, devices.mediaSlot, handButton, passButton, reactMenu, shareButton, moreMenu),
  hostBar,
  el("div", { className: "bar-group bar-side" }, peopleOpener.button, chatOpener.button, leaveButton));

addTab("agenda", "Agenda", agendaSection);
addTab("people", "People", peopleSection);
addTab("chat", "Chat", chatSection);
addTab("notes", "Notes", notesSection);
addTab("facilitator", "Facilitator", facilitatorPanel);
showTab("facilitator", false);

const roomScreen = el("div", { id: "room", className: "screen room", hidden: true },
  roomHeader,
  roomAlerts,
  el("div", { className: "room-body" }, stage, sidePanel),
  controlBar,
  devices.remoteAudio,
  announcer);

onPanel({
  toggled: (open) => {
    document.body.classList.toggle("panel-open", open);
    paintOpeners();
    layout();
  },
  badges: () => paintOpeners(),
});

function paintOpeners() {
  peopleOpener.paint();
  chatOpener.paint();
}

/**
 * Say something in the polite live region (screen readers), even with the panel open.
 * @param {string} text
 */
function announce(text) {
  // Cleared first, so the same words said twice are announced twice.
  announcer.textContent = "";
  setTimeout(() => {
    announcer.textContent = text;
  }, 50);
}

/**
 * Something new that must not be missed: a toast, a badge on its tab, and an announcement.
 * @param {string} text
 * @param {string} tab
 */
function notify(text, tab) {
  toast(text);
  markUnread(tab);
  announce(text);
}

function renderSelfView() {
  selfViewButton.setAttribute("aria-pressed", S.selfView ? "false" : "true");
  setText(selfViewButton, S.selfView ? "Hide self view" : "Show self view");
}

selfViewButton.addEventListener("click", () => {
  S.selfView = !S.selfView;
  setItem("local", SELF_VIEW_KEY, S.selfView ? null : "off");
  renderSelfView();
  layout();
});

inviteButton.addEventListener("click", () => {
  // The participant link is this page's address without the key (which never stays in it).
  const link = location.origin + location.pathname;
  const done = () => toast("Invite link copied: " + link);
  if (navigator.clipboard && navigator.clipboard.writeText) {
    navigator.clipboard.writeText(link).then(done, () => toast("The invite link: " + link));
  } else {
    toast("The invite link: " + link);
  }
  moreMenu.open = false;
});

// Menus close when you click elsewhere or press Escape.
document.addEventListener("click", (event) => {
  for (const menu of [moreMenu, reactMenu]) {
    if (menu.open && event.target instanceof Node && !menu.contains(event.target)) menu.open = false;
  }
});
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  for (const menu of [moreMenu, reactMenu]) {
    if (menu.open) {
      menu.open = false;
      menu.querySelector("summary")?.focus();
    }
  }
});

onNewMessage((msg) => {
  if (msg.person === S.you?.id || isShowing("chat")) return;
  const text = String(msg.text || "");
  notify((msg.name || "Someone") + ": " + (text.length > 80 ? text.slice(0, 79) + "…" : text), "chat");
});

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

/** Leave the call (from the room or the lobby). */
function leave() {
  S.wantIn = false;
  S.left = true;
  setItem("session", keys.joined, null);
  devices.stopMedia();
  conn.leave();
  setStatus("");
  setHidden(mutedBanner, true);
  showScreen("left");
}
leaveButton.addEventListener("click", leave);
screens.lobbyLeaveButton.addEventListener("click", leave);

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
  showNetwork({ constrained: false }); // the server says again if it still holds videos back
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
  resetVisible();
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
  // With `groups:`, an item's icebreaker means prompt cards inside each group (on "Your
  // group"): nobody takes turns in front of the whole room, so no spotlight or speaker timer.
  S.state = value.groups ? { ...value, icebreaker: null } : value;
  if (value.you) S.you = value.you;
  if (S.screen === "left" || S.screen === "removed") return;
  if (value.you) devices.setForcedMute(value.you.muted);
  if (S.screen !== "room") showScreen("room");
  render();
};

conn.onreaction = (value) => showReaction(value);
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
conn.onoffer = (value) => {
  S.carried = new Set(Object.values(value.tracks || {}).filter((t) => !t.own && t.person).map((t) => t.person || ""));
  devices.handleOffer(value);
  // A participant waiting in the main room during a round sees whoever the media brings.
  if (S.state && S.screen === "room" && S.state.groups?.waiting) {
    paintTiles(S.state);
    layout();
  }
};

conn.ongrouped = (value) => {
  const text = grouped(value);
  if (S.state && S.screen === "room") render();
  toast(text);
  announce(text);
};

conn.onroundwarning = (value) => {
  chime();
  const text = Math.max(1, Math.round(value.left)) + " seconds left in this round";
  toast(text, "warn");
  announce(text);
};

conn.onbroadcast = (value) => {
  const text = showBroadcast(value);
  toast(text);
  announce(text);
};

conn.onhelp = (value) => {
  if (isHost()) notify((value.name || "Someone") + " in " + groupName(value.group) + " asked for help.", "facilitator");
};

conn.onmediaended = (value) => {
  if (devices.handleMediaEnded(value)) {
    toast("Your camera and microphone are now used in your other tab or window.");
  }
};

conn.onnetwork = (value) => showNetwork(value);

conn.onspeaking = (value) => {
  S.speaking = value.person || null;
  if (S.state && S.screen === "room") {
    paintTiles(S.state);
    layout();
  }
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

/** @type {StateView | null} the state before this one, to notice what changed */
let previous = null;

/**
 * What must not be missed: your turn, a knock at the lobby, a raised hand, a new role.
 * @param {StateView} st
 * @param {boolean} host
 */
function noticeChanges(st, host) {
  const me = S.you && S.you.id;
  const ib = st.icebreaker;
  const mine = Boolean(me && ib && !ib.finished && ib.speaker === me);
  if (mine && !S.myTurn) {
    chime();
    announce("It's your turn");
  }
  S.myTurn = mine;
  const before = previous;
  previous = st;
  if (!before) return;
  const had = new Map(before.people.map((p) => [p.id, p]));
  if (host && before.you?.role === "facilitator") {
    // Knocks: one toast per burst and the People tab's "waiting" count (roomnotices.js).
    const knocks = noticeKnocks(st, before);
    if (knocks) announce(knocks);
    for (const p of st.people) {
      const old = had.get(p.id);
      if (p.id !== me && p.state === "in" && p.hand != null && (!old || old.hand == null)) notify(p.name + " raised their hand.", "people");
    }
  }
  if (host && before.you?.role !== "facilitator") notify("You're now a facilitator.", "facilitator");
  if (!host && before.you?.role === "facilitator") toast("You're a participant now.");
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
  showTab("facilitator", host);
  renderClockBadge(st);
  renderNow(st, host);
  renderIcebreaker(st);
  noticeChanges(st, host);
  renderRoomNotices(st, host);
  renderGroup(st);
  paintTiles(st);
  renderShare(st);
  renderStage(st, ownScreen());
  renderMine(st);
  renderPanel(st, host);
  renderRoundsPanel(st, host);
  renderAgenda(st, host);
  renderPeople(st, host);
  renderNotes(st);
  paintOpeners();
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
  /** @type {Window & {__facilitatorTest?: object}} */ (window).__facilitatorTest = {
    media, quality: devices.showQuality, network: showNetwork,
  };

  screens.nameInput.value = S.name;
  renderChimes();
  renderSelfView();
  renderChatEmpty();
  const tab = remembered();
  if (tab && window.innerWidth >= 900) openPanel(tab);
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
