// The meeting page's wiring: the room layout, joining and leaving, the connection's callbacks, render().
//
// Loaded last (room.html): dom.js, state.js and the modules before it have built their parts
// and put them on window.Facilitator; this file puts them on the page and keeps them current.
(function (F) {
  "use strict";

  if (!F.ready) return;
  const { el, setText, setHidden } = F.dom;
  const { getItem, setItem } = F.storage;
  const S = F.S;
  const conn = F.conn;
  const app = F.page.app;
  const TICK_MS = 250;
  const screens = F.screens;
  const devices = F.devices;
  const { showScreen, setStatus } = screens;

  // ---------------------------------------------------------------- the room screen

  const mutedBanner = el("p", { id: "muted-banner", className: "banner banner-warn", role: "alert", hidden: true },
    "A facilitator muted you. Raise your hand to ask to speak.");
  const endedBanner = el("p", { id: "ended-banner", className: "banner banner-info banner-ended", role: "status", hidden: true },
    el("span", null, "The meeting has ended. Thanks for coming!"),
    el("a", { href: F.page.recap, id: "ended-recap-link", className: "button button-primary button-small" }, "See the recap"));
  const roomHeading = el("h1", { id: "room-title", tabindex: "-1", text: F.page.title });
  const roomHeader = el("header", { className: "room-header" },
    el("div", { className: "room-heading" }, roomHeading, F.timers.clockBadge),
    el("div", { className: "timers" }, ...F.timers.boxes),
    el("div", { className: "room-header-meta" }, F.timers.endsAt, F.timers.chimeButton),
    el("div", { className: "room-banners" }, mutedBanner, endedBanner, devices.soundButton));

  const roomScreen = el("div", { id: "room", className: "screen room", hidden: true },
    roomHeader,
    el("div", { className: "room-main" },
      F.agenda.nowCard, F.agenda.icebreakerCard, F.people.tiles, F.people.myControls, devices.noteSlot, devices.remoteAudio),
    el("aside", { className: "room-side", "aria-label": "Meeting details" },
      F.panel.section, F.agenda.section, F.people.section, F.notes.section, F.chat.section));

  screens.addRoom(roomScreen, roomHeading);
  app.append(screens.statusLine, ...screens.nodes, roomScreen, screens.toasts);
  if (screens.keyError) app.insertBefore(screens.keyError, app.firstChild);

  // ---------------------------------------------------------------- joining and leaving

  function join(name) {
    S.name = name;
    S.wantIn = true;
    S.left = false;
    setItem("local", F.keys.name, name);
    setHidden(screens.joinError, true);
    screens.joinButton.disabled = true;
    setText(screens.joinButton, "Joining…");
    // Errors are shown by conn.onerror (type "join").
    F.quietly(conn.join(name));
  }

  screens.joinForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const name = screens.nameInput.value.trim().replace(/\s+/g, " ");
    if (!name) {
      screens.showJoinError("Please type a name.");
      screens.nameInput.focus();
      return;
    }
    F.timers.audioContext();
    join(name);
  });

  screens.rejoinButton.addEventListener("click", () => {
    F.timers.audioContext();
    devices.reopen();
    join(S.name || screens.nameInput.value.trim());
    setStatus("Joining…");
  });

  F.people.leaveButton.addEventListener("click", () => {
    S.wantIn = false;
    S.left = true;
    setItem("session", F.keys.joined, null);
    devices.stopMedia();
    conn.leave();
    setStatus("");
    setHidden(mutedBanner, true);
    showScreen("left");
  });

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
    setItem("session", F.keys.joined, null);
    setStatus("");
    showScreen("prejoin");
    screens.showJoinError(info.message || "Could not join.");
    if (code === "bad-name") screens.nameInput.focus();
  }

  function showRemoved() {
    S.wantIn = false;
    setItem("session", F.keys.joined, null);
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

  const media = devices.media;

  conn.onjoined = (value) => {
    S.you = value.you || S.you;
    setItem("session", F.keys.joined, "1");
    setStatus("");
    screens.resetJoinButton();
    setHidden(screens.joinError, true);
    S.speaking = value.speaking || null;
    F.notes.joined(value.notes, value.note_subjects);
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
    F.toast("You're in! Welcome.");
  };

  conn.onstate = (value) => {
    S.state = value;
    if (value.you) S.you = value.you;
    if (S.screen === "left" || S.screen === "removed") return;
    if (media && value.you && Boolean(value.you.muted) !== media.forcedMute) media.setForcedMute(value.you.muted);
    if (S.screen !== "room") showScreen("room");
    render();
  };

  conn.onchathistory = (value) => F.chat.history(value);
  conn.onchat = (value) => F.chat.receive(value);

  conn.onwarning = (value) => {
    F.timers.chime();
    F.toast(F.format.thresholdText(value.threshold), "warn");
  };

  conn.onmuted = () => {
    setHidden(mutedBanner, false);
    if (media) media.setForcedMute(true);
  };

  conn.onunmuted = () => {
    setHidden(mutedBanner, true);
    if (media) media.setForcedMute(false);
    F.toast("A facilitator unmuted you. You can turn your microphone on again.");
  };

  conn.onremoved = () => {
    showRemoved();
  };

  conn.onended = () => {
    showEnded();
  };

  conn.onoffer = (value) => {
    if (media) media.handleOffer(value);
  };

  conn.onmediaended = (value) => {
    if (!media) return;
    if (value && value.reason === "replaced") {
      // Another tab of this person took over the camera and microphone: do not fight it.
      media.stop(false);
      F.toast("Your camera and microphone are now used in your other tab or window.");
      return;
    }
    media.handleEnded();
  };

  conn.onspeaking = (value) => {
    S.speaking = value.person || null;
    if (S.state && S.screen === "room") F.people.renderTiles(S.state);
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
      F.toast(info.message, "error");
    }
    // Errors answering an action reject its promise; act() shows those.
  };

  // ---------------------------------------------------------------- rendering the room

  function render() {
    const st = S.state;
    if (!st) return;
    const host = F.isHost();
    app.dataset.role = host ? "facilitator" : "participant";
    app.dataset.status = st.clock.status;
    document.body.classList.toggle("is-facilitator", host);
    setText(roomHeading, st.meeting.title || F.page.title);
    if (st.clock.status === "ended" || st.meeting.status === "ended") showEnded();
    setHidden(mutedBanner, !(S.you && S.you.muted));
    F.timers.renderClockBadge(st);
    F.agenda.renderNow(st, host);
    F.agenda.renderIcebreaker(st);
    F.people.renderTiles(st);
    F.people.renderMine(st);
    F.panel.render(st, host);
    F.agenda.renderAgenda(st, host);
    F.people.renderPeople(st, host);
    F.notes.render(st);
    F.timers.tick();
  }

  setInterval(F.timers.tick, TICK_MS);

  // ---------------------------------------------------------------- start

  screens.nameInput.value = S.name;
  F.timers.renderChimes();
  F.chat.renderEmpty();
  devices.setPreviewName(screens.nameInput.value);
  devices.start();
  app.dataset.screen = "prejoin";
  document.body.dataset.screen = "prejoin";
  const saved = getItem("session", F.keys.joined) === "1" ? getItem("local", F.keys.name) : null;
  if (saved && saved.trim()) {
    join(saved.trim());
  } else if (!screens.nameInput.value) {
    screens.nameInput.focus();
  }
})(window.Facilitator);
