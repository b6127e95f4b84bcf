// The meeting page: pre-join, lobby and room, driven by MeetingConnection (protocol.js).
//
// Every string from the server (names, titles, notes, prompts, chat) is untrusted: the DOM is
// built with createElement and textContent only, never innerHTML.
(function () {
  "use strict";

  const app = document.getElementById("app");
  if (!app || !window.MeetingConnection) return;

  const T = window.facilitatorTime;
  const meetingId = app.dataset.meetingId || "";
  const pageTitle = app.dataset.title || "Meeting";
  const wsPath = app.dataset.wsPath || "/m/" + meetingId + "/ws";
  const NAME_KEY = "facilitator.name";
  const CHIMES_KEY = "facilitator.chimes";
  const JOINED_KEY = "facilitator.joined." + meetingId;
  const CAMERA_KEY = "facilitator.camera";
  const MIC_KEY = "facilitator.mic";
  const CAMERA_DEVICE_KEY = "facilitator.cameraDevice";
  const MIC_DEVICE_KEY = "facilitator.micDevice";
  const TICK_MS = 250;
  const TOAST_MS = 5000;
  const MAX_CHAT_SHOWN = 500;
  const OPEN_WAIT_MS = 4000;

  // The facilitator key is in the session cookie now; keep it out of the address bar and history.
  if (app.dataset.stripKey === "true" || new URLSearchParams(location.search).has("key")) {
    history.replaceState(null, "", location.pathname);
  }

  // ---------------------------------------------------------------- small helpers

  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    if (props) {
      for (const [key, value] of Object.entries(props)) {
        if (value === null || value === undefined || value === false) continue;
        if (key === "className") node.className = value;
        else if (key === "text") node.textContent = String(value);
        else if (key === "hidden") node.hidden = Boolean(value);
        else if (key === "dataset") Object.assign(node.dataset, value);
        else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
        else node.setAttribute(key, value === true ? "" : String(value));
      }
    }
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  /** A button whose accessible name is its visible text plus a visually hidden part. */
  function actionButton(text, hiddenText, props) {
    const button = el("button", Object.assign({ type: "button", className: "button" }, props || {}), text);
    if (hiddenText) button.appendChild(el("span", { className: "visually-hidden", text: " " + hiddenText }));
    return button;
  }

  function setText(node, text) {
    const value = String(text);
    if (node.textContent !== value) node.textContent = value;
  }

  function setHidden(node, hidden) {
    if (node.hidden !== Boolean(hidden)) node.hidden = Boolean(hidden);
  }

  function setClass(node, name, on) {
    node.classList.toggle(name, Boolean(on));
  }

  function store(kind) {
    try {
      return kind === "session" ? window.sessionStorage : window.localStorage;
    } catch (err) {
      return null;
    }
  }

  function getItem(kind, key) {
    const s = store(kind);
    try {
      return s ? s.getItem(key) : null;
    } catch (err) {
      return null;
    }
  }

  function setItem(kind, key, value) {
    const s = store(kind);
    try {
      if (!s) return;
      if (value === null) s.removeItem(key);
      else s.setItem(key, value);
    } catch (err) {
      // storage full or disabled: nothing to remember then
    }
  }

  function pad2(n) {
    return n < 10 ? "0" + n : String(n);
  }

  /** Wall-clock time (server seconds) as local HH:MM. */
  function hhmm(seconds) {
    if (typeof seconds !== "number" || !isFinite(seconds)) return "--:--";
    const d = new Date(seconds * 1000);
    return pad2(d.getHours()) + ":" + pad2(d.getMinutes());
  }

  /** Elapsed seconds as m:ss. */
  function mss(seconds) {
    const s = Math.max(0, Math.floor(seconds || 0));
    return Math.floor(s / 60) + ":" + pad2(s % 60);
  }

  /** A planned duration in words: "5 min", "45 s", "1 min 30 s". */
  function duration(seconds) {
    const s = Math.round(seconds || 0);
    const m = Math.floor(s / 60);
    const rest = s % 60;
    if (m && rest) return m + " min " + rest + " s";
    if (m) return m + " min";
    return rest + " s";
  }

  function thresholdText(seconds) {
    const s = Math.round(seconds);
    if (s >= 60 && s % 60 === 0) {
      const m = s / 60;
      return m === 1 ? "1 minute left" : m + " minutes left";
    }
    return s === 1 ? "1 second left" : s + " seconds left";
  }

  function initials(name) {
    const words = String(name || "").trim().split(/\s+/).filter(Boolean);
    if (!words.length) return "?";
    const letter = (word) => {
      const m = word.match(/[\p{L}\p{N}]/u);
      return m ? m[0] : Array.from(word)[0] || "";
    };
    const first = letter(words[0]);
    const second = words.length > 1 ? letter(words[words.length - 1]) : "";
    return (first + second).toUpperCase();
  }

  function isTyping(target) {
    if (!target || !(target instanceof Element)) return false;
    if (target.isContentEditable) return true;
    const tag = target.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT") return true;
    if (tag === "INPUT") {
      const type = (target.getAttribute("type") || "text").toLowerCase();
      return !["button", "submit", "reset", "checkbox", "radio", "range", "color", "file"].includes(type);
    }
    return false;
  }

  /**
   * Render a keyed list: reuse each item's node while its signature is unchanged, rebuild it
   * otherwise, and give focus back to the same control (data-focus-key) if a rebuild took it away.
   */
  function renderKeyed(container, items, keyOf, sigOf, build) {
    const old = container._keyed || new Map();
    const next = new Map();
    const active = document.activeElement;
    let focusKey = null;
    if (active && container.contains(active)) {
      const holder = active.closest("[data-focus-key]");
      focusKey = holder ? holder.getAttribute("data-focus-key") : null;
    }
    let index = 0;
    for (const item of items) {
      const key = keyOf(item);
      const sig = sigOf(item);
      let entry = old.get(key);
      if (!entry || entry.sig !== sig) {
        const node = build(item);
        if (entry) entry.node.replaceWith(node);
        entry = { node: node, sig: sig };
      }
      next.set(key, entry);
      const at = container.children[index];
      if (at !== entry.node) container.insertBefore(entry.node, at || null);
      index += 1;
    }
    for (const [key, entry] of old) {
      if (!next.has(key) && entry.node.parentNode === container) entry.node.remove();
    }
    container._keyed = next;
    if (focusKey && !container.contains(document.activeElement)) {
      const target = container.querySelector('[data-focus-key="' + CSS.escape(focusKey) + '"]');
      if (target && !target.disabled) target.focus({ preventScroll: true });
    }
  }

  // ---------------------------------------------------------------- state

  const S = {
    screen: "prejoin",
    name: getItem("local", NAME_KEY) || "",
    state: null,
    you: null,
    chimes: getItem("local", CHIMES_KEY) !== "off",
    chat: new Map(),
    wantIn: false,
    endedNotice: false,
    left: false,
    speaking: null,
  };

  // Camera, microphone and the media connection (media.js); null where the browser has no WebRTC.
  const Media = window.FacilitatorMediaSession;
  const media = typeof Media === "function" && typeof Media.supported === "function" && Media.supported()
    ? new Media({
      camera: getItem("local", CAMERA_KEY) !== "off",
      mic: getItem("local", MIC_KEY) !== "off",
      cameraId: getItem("local", CAMERA_DEVICE_KEY) || "",
      micId: getItem("local", MIC_DEVICE_KEY) || "",
    })
    : null;
  window.facilitatorMedia = media;

  const wsUrl = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + wsPath;
  const conn = new window.MeetingConnection(wsUrl);

  // ---------------------------------------------------------------- page skeleton

  const keyError = document.getElementById("key-error");

  const statusLine = el("p", { id: "connection-status", className: "connection-status", role: "status", hidden: true });
  const mutedBanner = el("p", { id: "muted-banner", className: "banner banner-warn", role: "alert", hidden: true },
    "A facilitator muted you. Raise your hand to ask to speak.");
  const endedBanner = el("p", { id: "ended-banner", className: "banner banner-info", role: "status", hidden: true },
    "The meeting has ended. Thanks for coming!");
  const soundButton = el("button", { type: "button", id: "sound-button", className: "button button-primary", hidden: true }, "Turn on sound");
  const toasts = el("div", { id: "toasts", className: "toasts", role: "status", "aria-live": "polite" });

  // Pre-join
  const nameInput = el("input", {
    id: "name", name: "name", type: "text", maxlength: "40", required: true,
    autocomplete: "nickname", spellcheck: "false", "aria-describedby": "join-help",
  });
  nameInput.value = S.name;
  const joinError = el("p", { id: "join-error", className: "form-error", role: "alert", hidden: true });
  const joinButton = el("button", { type: "submit", className: "button button-primary button-large", id: "join-button" }, "Join");
  const joinForm = el("form", { id: "join-form", className: "join-form" },
    el("label", { for: "name" }, "Your name"),
    el("div", { className: "join-row" }, nameInput, joinButton),
    joinError);
  const prejoinHeading = el("h1", { id: "prejoin-title", tabindex: "-1", text: pageTitle });

  // Camera and microphone: one set of controls, shown on the pre-join screen and then moved into
  // the room (so each control and label exists once).
  function mediaVideo(props) {
    const video = el("video", Object.assign({ playsinline: true, autoplay: true }, props || {}));
    video.muted = true;
    video.autoplay = true;
    video.playsInline = true;
    return video;
  }
  const previewVideo = mediaVideo({ id: "preview-video", className: "preview-video mirror", "aria-label": "Your camera preview" });
  const previewAvatar = el("span", { className: "preview-avatar", "aria-hidden": "true" }, "?");
  const previewOff = el("div", { id: "preview-off", className: "preview-off" },
    previewAvatar,
    el("span", null, "Camera off is fine."));
  const previewBox = el("div", { id: "preview-box", className: "preview-box" }, previewVideo, previewOff);
  const cameraButton = el("button", { type: "button", id: "camera-button", className: "button media-toggle", "aria-pressed": "false" }, "Camera off");
  const micButton = el("button", { type: "button", id: "mic-button", className: "button media-toggle", "aria-pressed": "false" }, "Mic off");
  const mediaToggles = el("div", { id: "media-toggles", className: "media-toggles", role: "group", "aria-label": "Camera and microphone" },
    cameraButton, micButton);
  const cameraSelect = el("select", { id: "camera-select", name: "camera-device" });
  const micSelect = el("select", { id: "mic-select", name: "mic-device" });
  const devices = el("details", { id: "devices", className: "devices" },
    el("summary", null, "Devices"),
    el("div", { className: "devices-body" },
      el("label", { for: "camera-select" }, "Camera device"), cameraSelect,
      el("label", { for: "mic-select" }, "Microphone device"), micSelect));
  const mediaNote = el("p", { id: "media-note", className: "media-note", role: "status", hidden: true });
  const preview = el("div", { id: "preview", className: "preview" }, previewBox, mediaToggles, mediaNote, devices);

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

  // Room: header with the timers
  // The role="timer" element holds only the time ("12:34", "+01:05 over"); its caption sits
  // beside it in the box, and the colour classes (warn, over) go on both.
  function timerBox(kind, label, caption) {
    const value = el("div", {
      id: "timer-" + kind, className: "timer-value", role: "timer",
      "aria-label": label, "aria-live": "off", text: "--:--",
    });
    const box = el("div", { className: "timer timer-" + kind, id: "timer-box-" + kind },
      el("span", { className: "timer-caption", "aria-hidden": "true" }, caption), value);
    box._value = value;
    return box;
  }
  const timerMeeting = timerBox("meeting", "Meeting time left", "Meeting");
  const timerItem = timerBox("item", "Item time left", "This item");
  const timerSpeaker = timerBox("speaker", "Speaker time left", "Speaker");
  timerSpeaker.hidden = true;
  const clockBadge = el("span", { id: "clock-status", className: "badge badge-status", hidden: true });
  const endsAt = el("p", { id: "ends-at", className: "ends-at" });
  const chimeButton = el("button", { type: "button", id: "chime-toggle", className: "button button-small button-quiet" });
  const roomHeading = el("h1", { id: "room-title", tabindex: "-1", text: pageTitle });
  const roomHeader = el("header", { className: "room-header" },
    el("div", { className: "room-heading" }, roomHeading, clockBadge),
    el("div", { className: "timers" }, timerMeeting, timerItem, timerSpeaker),
    el("div", { className: "room-header-meta" }, endsAt, chimeButton),
    el("div", { className: "room-banners" }, mutedBanner, endedBanner, soundButton));

  // Room: current item
  const nowTitle = el("p", { id: "now-title", className: "now-title" });
  const nowNotes = el("p", { id: "now-notes", className: "notes", hidden: true });
  const nextTitle = el("p", { id: "next-title", className: "next-title" });
  const nowCard = el("section", { id: "now-card", className: "card now-card", "aria-label": "Current item" }, nowTitle, nowNotes, nextTitle);

  // Room: icebreaker
  const ibTitle = el("h2", { id: "ib-title" });
  const ibRound = el("span", { id: "ib-round", className: "badge" });
  const ibHow = el("p", { id: "ib-how", className: "ib-how" });
  const ibSpeaking = el("p", { id: "ib-speaking", className: "ib-speaking" });
  const ibYourTurn = el("p", { id: "ib-your-turn", className: "ib-your-turn", hidden: true }, "It's your turn! Answer the card, or pass.");
  const ibPrompt = el("p", { id: "ib-prompt", className: "prompt" });
  const passButton = el("button", { type: "button", id: "pass-button", className: "button", hidden: true }, "Pass");
  const ibNext = el("p", { id: "ib-next", className: "ib-next" });
  const ibWaiting = el("p", { id: "ib-waiting", className: "ib-waiting muted" });
  const icebreakerCard = el("section", { id: "icebreaker", className: "card icebreaker-card", "aria-labelledby": "ib-title", hidden: true },
    el("div", { className: "ib-head" }, ibTitle, ibRound),
    ibHow, ibSpeaking, ibPrompt, ibYourTurn,
    el("div", { className: "ib-actions" }, passButton),
    ibNext, ibWaiting);

  // Room: tiles and own controls
  const tiles = el("section", { id: "tiles", className: "tiles", "aria-label": "People" });
  const handButton = el("button", { type: "button", id: "hand-button", className: "button" }, "Raise hand");
  const optOut = el("input", { type: "checkbox", id: "opt-out" });
  const leaveButton = el("button", { type: "button", id: "leave-button", className: "button button-danger-quiet" }, "Leave");
  const mediaSlot = el("div", { className: "media-slot" });
  const devicesSlot = el("div", { className: "devices-slot" });
  const myControls = el("div", { id: "my-controls", className: "my-controls", role: "group", "aria-label": "Your controls" },
    mediaSlot,
    handButton,
    el("label", { className: "check", for: "opt-out" }, optOut, " Sit out icebreakers"),
    devicesSlot,
    leaveButton);
  const noteSlot = el("div", { className: "note-slot" });
  // Other people's sound plays from these (their tiles' videos stay muted).
  const remoteAudio = el("div", { id: "remote-audio", className: "remote-audio", hidden: true });

  // Sidebar: facilitator panel
  const fp = {};
  function fpButton(key, text, extra) {
    const b = el("button", Object.assign({ type: "button", className: "button", id: "fp-" + key }, extra || {}), text);
    fp[key] = b;
    return b;
  }
  const fpStatus = el("p", { id: "fp-status", className: "fp-status muted" });
  const facilitatorPanel = el("section", { id: "facilitator-panel", className: "card facilitator-panel", "aria-labelledby": "fp-heading", hidden: true },
    el("h2", { id: "fp-heading" }, "Facilitator controls"),
    fpStatus,
    el("div", { className: "fp-group", role: "group", "aria-label": "Agenda" },
      fpButton("start", "Start", { className: "button button-primary" }),
      fpButton("pause", "Pause"),
      fpButton("previous", "Previous item"),
      fpButton("next", "Next item"),
      fpButton("extend1", "Extend 1 min"),
      fpButton("extend5", "Extend 5 min")),
    el("div", { className: "fp-group", role: "group", "aria-label": "Icebreaker" },
      fpButton("nextSpeaker", "Next speaker"),
      fpButton("skipSpeaker", "Skip speaker"),
      fpButton("reshuffle", "Reshuffle")),
    el("div", { className: "fp-group", role: "group", "aria-label": "Room" },
      fpButton("lock", "Lock room"),
      fpButton("lobby", "Lobby on"),
      fpButton("end", "End meeting", { className: "button button-danger" })),
    el("details", { className: "shortcuts" },
      el("summary", null, "Keyboard shortcuts"),
      el("dl", null,
        el("dt", null, el("kbd", null, "n")), el("dd", null, "Next item"),
        el("dt", null, el("kbd", null, "s")), el("dd", null, "Next speaker"),
        el("dt", null, el("kbd", null, "p")), el("dd", null, "Pause / Resume"))));

  // Sidebar: agenda, people, chat
  const agendaList = el("ol", { id: "agenda-list", className: "agenda-list" });
  const agendaSection = el("section", { id: "agenda", className: "card", "aria-labelledby": "agenda-heading" },
    el("h2", { id: "agenda-heading" }, "Agenda"), agendaList);

  const peopleCount = el("span", { id: "people-count", className: "count" });
  const lobbyList = el("ul", { id: "lobby-list", className: "people-list" });
  const admitAll = el("button", { type: "button", id: "admit-all", className: "button button-small" }, "Admit all");
  const lobbySection = el("div", { id: "lobby-section", className: "lobby-section", hidden: true },
    el("div", { className: "lobby-head" }, el("h3", null, "Waiting in the lobby"), admitAll), lobbyList);
  const peopleList = el("ul", { id: "people-list", className: "people-list" });
  const peopleSection = el("section", { id: "people", className: "card", "aria-labelledby": "people-heading" },
    el("h2", { id: "people-heading" }, "People ", peopleCount), lobbySection, peopleList);

  const chatLog = el("ol", { id: "chat-log", className: "chat-log", role: "log", "aria-live": "polite", "aria-label": "Chat log", tabindex: "0" });
  const chatEmpty = el("p", { id: "chat-empty", className: "muted chat-empty" }, "No messages yet. Say hello!");
  const chatInput = el("input", { id: "chat-input", name: "message", type: "text", maxlength: "1000", autocomplete: "off" });
  const chatForm = el("form", { id: "chat-form", className: "chat-form" },
    el("label", { for: "chat-input", className: "visually-hidden" }, "Message"),
    chatInput,
    el("button", { type: "submit", className: "button", id: "chat-send" }, "Send"));
  const chatSection = el("section", { id: "chat", className: "card chat", "aria-labelledby": "chat-heading" },
    el("h2", { id: "chat-heading" }, "Chat"), chatEmpty, chatLog, chatForm);

  const roomScreen = el("div", { id: "room", className: "screen room", hidden: true },
    roomHeader,
    el("div", { className: "room-main" }, nowCard, icebreakerCard, tiles, myControls, noteSlot, remoteAudio),
    el("aside", { className: "room-side", "aria-label": "Meeting details" }, facilitatorPanel, agendaSection, peopleSection, chatSection));

  app.append(statusLine, prejoin, lobbyScreen, leftScreen, removedScreen, roomScreen, toasts);
  if (keyError) app.insertBefore(keyError, app.firstChild);

  // ---------------------------------------------------------------- screens, status, toasts

  const screens = { prejoin: prejoin, lobby: lobbyScreen, left: leftScreen, removed: removedScreen, room: roomScreen };
  const headings = { prejoin: prejoinHeading, lobby: lobbyHeading, left: leftHeading, removed: removedHeading, room: roomHeading };

  function showScreen(name) {
    if (S.screen === name && !screens[name].hidden) return;
    const active = document.activeElement;
    S.screen = name;
    for (const [key, node] of Object.entries(screens)) setHidden(node, key !== name);
    app.dataset.screen = name;
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

  function setStatus(text) {
    setHidden(statusLine, !text);
    setText(statusLine, text || "");
  }

  function toast(text, kind) {
    const node = el("div", { className: "toast" + (kind ? " toast-" + kind : "") }, String(text));
    toasts.appendChild(node);
    while (toasts.children.length > 4) toasts.firstChild.remove();
    setTimeout(() => {
      node.classList.add("toast-leaving");
      setTimeout(() => node.remove(), 300);
    }, TOAST_MS);
  }

  function act(name, args) {
    return conn.action(name, args).catch((err) => {
      toast((err && err.message) || "That did not work.", "error");
      throw err;
    });
  }

  function quietly(promise) {
    promise.catch(() => {});
  }

  // ---------------------------------------------------------------- chimes

  let audio = null;

  function audioContext() {
    if (!audio) {
      const Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx) return null;
      try {
        audio = new Ctx();
      } catch (err) {
        return null;
      }
    }
    if (audio.state === "suspended") audio.resume().catch(() => {});
    return audio;
  }

  function chime() {
    if (!S.chimes) return;
    const ctx = audioContext();
    if (!ctx) return;
    const start = ctx.currentTime + 0.02;
    [[659.25, 0], [880, 0.16]].forEach(([freq, at]) => {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = "sine";
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, start + at);
      gain.gain.exponentialRampToValueAtTime(0.08, start + at + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + at + 0.15);
      osc.connect(gain).connect(ctx.destination);
      osc.start(start + at);
      osc.stop(start + at + 0.17);
    });
  }

  function renderChimes() {
    chimeButton.setAttribute("aria-pressed", S.chimes ? "true" : "false");
    setText(chimeButton, S.chimes ? "Chimes on" : "Chimes off");
  }

  chimeButton.addEventListener("click", () => {
    S.chimes = !S.chimes;
    setItem("local", CHIMES_KEY, S.chimes ? "on" : "off");
    renderChimes();
    if (S.chimes) audioContext();
  });
  // Browsers only allow sound after a gesture: wake the audio on the first one.
  ["pointerdown", "keydown"].forEach((type) => {
    document.addEventListener(type, () => {
      if (S.chimes && audio && audio.state === "suspended") audio.resume().catch(() => {});
    }, { passive: true });
  });

  // ---------------------------------------------------------------- camera and microphone

  /** The camera/mic toggles, device pickers and note live on the pre-join screen, then in the room. */
  function placeMediaControls(screen) {
    if (screen === "room") {
      if (mediaToggles.parentNode !== mediaSlot) mediaSlot.appendChild(mediaToggles);
      if (devices.parentNode !== devicesSlot) devicesSlot.appendChild(devices);
      if (mediaNote.parentNode !== noteSlot) noteSlot.appendChild(mediaNote);
    } else if (screen === "prejoin") {
      if (mediaToggles.parentNode !== preview) preview.append(previewBox, mediaToggles, mediaNote, devices);
    }
  }

  /** Remote people's media elements by person id: {stream, video, audio, frames}. */
  const remote = new Map();
  let ownVideo = null;

  function playQuietly(element) {
    const p = element.play();
    if (!p || !p.catch) return;
    p.catch((err) => {
      // Sound before any click on the page may be refused: offer a button.
      if (err && err.name === "NotAllowedError" && element.tagName === "AUDIO") setHidden(soundButton, false);
    });
  }

  soundButton.addEventListener("click", () => {
    setHidden(soundButton, true);
    for (const entry of remote.values()) playQuietly(entry.audio);
  });

  function renderMediaControls() {
    if (!media) {
      cameraButton.disabled = true;
      micButton.disabled = true;
      cameraSelect.disabled = true;
      micSelect.disabled = true;
      setText(cameraButton, "Camera off");
      setText(micButton, "Mic off");
      return;
    }
    const camera = Boolean(media.cameraOn);
    const forced = media.forcedMute;
    const mic = Boolean(media.micOn && !forced);
    cameraButton.setAttribute("aria-pressed", camera ? "true" : "false");
    setText(cameraButton, camera ? "Camera on" : "Camera off");
    micButton.setAttribute("aria-pressed", mic ? "true" : "false");
    micButton.replaceChildren(mic ? "Mic on" : "Mic off");
    if (forced) micButton.appendChild(el("span", { className: "visually-hidden" }, " (a facilitator muted you)"));
    micButton.disabled = forced;
    if (forced) {
      micButton.setAttribute("aria-describedby", "muted-banner");
      micButton.title = "A facilitator muted you. Raise your hand to ask to speak.";
    } else {
      micButton.removeAttribute("aria-describedby");
      micButton.removeAttribute("title");
    }
    setClass(previewBox, "has-video", media.cameraLive());
    setHidden(mediaNote, !media.problem);
    setText(mediaNote, media.problem || "");
  }

  function fillSelect(select, list, current, offText) {
    const sig = JSON.stringify([list, current]);
    if (select._sig === sig) return;
    select._sig = sig;
    const options = list.map((d) => el("option", { value: d.id }, d.label));
    if (!options.length) options.push(el("option", { value: "" }, offText));
    select.replaceChildren(...options);
    if (list.some((d) => d.id === current)) select.value = current;
    select.disabled = !list.length;
  }

  function refreshDevices() {
    if (!media) return Promise.resolve();
    return media.devices().then((found) => {
      const now = media.currentDevices();
      const hidden = found.hidden || {};
      fillSelect(cameraSelect, found.cameras, now.camera, hidden.cameras ? "Turn the camera on to choose" : "No camera found");
      fillSelect(micSelect, found.mics, now.mic, hidden.mics ? "Turn the microphone on to choose" : "No microphone found");
    });
  }

  function rememberMedia() {
    if (!media) return;
    setItem("local", CAMERA_KEY, media.cameraOn ? "on" : "off");
    // A facilitator's mute is not the person's own choice: do not remember it.
    if (!media.forcedMute) setItem("local", MIC_KEY, media.micOn ? "on" : "off");
  }

  function ensureOwnVideo() {
    if (!ownVideo) {
      ownVideo = mediaVideo({ className: "tile-video mirror", "aria-hidden": "true" });
    }
    return ownVideo;
  }

  function remoteEntry(personId) {
    let entry = remote.get(personId);
    if (!entry) {
      const video = mediaVideo({ className: "tile-video", "aria-hidden": "true" });
      const audio = el("audio", { autoplay: true });
      audio.autoplay = true;
      entry = { stream: null, video: video, audio: audio, frames: false };
      const seen = () => {
        const had = entry.frames;
        entry.frames = video.videoWidth > 0;
        if (had !== entry.frames) paintTileMedia(personId);
      };
      video.addEventListener("resize", seen);
      video.addEventListener("loadeddata", seen);
      video.addEventListener("playing", seen);
      remote.set(personId, entry);
      remoteAudio.appendChild(audio);
    }
    return entry;
  }

  /** Put the right video in a tile and show it, or the initials when the camera is off. */
  function paintTileMedia(personId) {
    const tile = tiles._tiles && tiles._tiles.get(personId);
    if (!tile) return;
    const me = S.you && S.you.id;
    const person = S.state && S.state.people.find((p) => p.id === personId);
    let video = null;
    let show = false;
    if (personId === me) {
      if (media && media.localStream) {
        video = ensureOwnVideo();
        if (video.srcObject !== media.localStream) {
          video.srcObject = media.localStream;
          playQuietly(video);
        }
        show = media.cameraLive();
      }
    } else {
      const entry = remote.get(personId);
      if (entry && entry.stream) {
        video = entry.video;
        show = Boolean(person && person.camera && entry.frames && entry.stream.getVideoTracks().length);
      }
    }
    const holder = tile._media;
    const current = holder.querySelector("video");
    if (current && current !== video) current.remove();
    if (video && video.parentNode !== holder) holder.appendChild(video);
    setClass(tile, "has-video", Boolean(video) && show);
  }

  if (media) {
    media.onlocal = (stream) => {
      if (previewVideo.srcObject !== stream) {
        previewVideo.srcObject = stream;
        if (stream) playQuietly(previewVideo);
      }
      if (ownVideo && !stream) ownVideo.srcObject = null;
      renderMediaControls();
      if (S.you) paintTileMedia(S.you.id);
    };
    media.onchange = () => {
      renderMediaControls();
      if (S.you) paintTileMedia(S.you.id);
    };
    media.onproblem = () => {
      renderMediaControls(); // the note under the controls says it (role="status")
    };
    media.onstate = (state) => {
      conn.action("media-state", state).catch(() => {
        media.sentState = ""; // say it again with the next change
      });
    };
    media.onremote = (personId, stream) => {
      const entry = remoteEntry(personId);
      entry.stream = stream;
      entry.frames = false;
      entry.video.srcObject = stream;
      entry.audio.srcObject = stream;
      playQuietly(entry.video);
      playQuietly(entry.audio);
      paintTileMedia(personId);
    };
    media.onremoteended = (personId) => {
      const entry = remote.get(personId);
      if (!entry) return;
      remote.delete(personId);
      entry.video.srcObject = null;
      entry.audio.srcObject = null;
      entry.video.remove();
      entry.audio.remove();
      const tile = tiles._tiles && tiles._tiles.get(personId);
      if (tile) setClass(tile, "has-video", false);
    };

    cameraButton.addEventListener("click", () => {
      media.setCamera(!media.cameraOn).then(() => {
        rememberMedia();
        refreshDevices();
      });
      renderMediaControls();
    });
    micButton.addEventListener("click", () => {
      if (media.forcedMute) return;
      media.setMic(!media.micOn).then(() => {
        rememberMedia();
        refreshDevices();
      });
      renderMediaControls();
    });
    cameraSelect.addEventListener("change", () => {
      setItem("local", CAMERA_DEVICE_KEY, cameraSelect.value);
      media.setCameraDevice(cameraSelect.value).then(refreshDevices);
    });
    micSelect.addEventListener("change", () => {
      setItem("local", MIC_DEVICE_KEY, micSelect.value);
      media.setMicDevice(micSelect.value).then(refreshDevices);
    });
    if (navigator.mediaDevices && navigator.mediaDevices.addEventListener) {
      navigator.mediaDevices.addEventListener("devicechange", () => refreshDevices());
    }
  }

  let mediaStarts = 0;

  function startMedia(value) {
    if (!media || S.endedNotice) return;
    media.setForcedMute(Boolean(S.you && S.you.muted));
    const token = ++mediaStarts;
    // Camera and microphone first (already open unless the person left before), then connect:
    // until a camera or microphone permission is settled, Chrome hides this computer's addresses
    // behind mDNS names, which some networks cannot resolve. Do not wait for ever, though.
    const opened = media.open().then(refreshDevices);
    const cap = new Promise((resolve) => setTimeout(resolve, OPEN_WAIT_MS));
    Promise.race([opened, cap]).then(() => {
      if (token !== mediaStarts || !conn.joined || S.endedNotice || S.screen !== "room") return;
      media.start(conn, (value && value.ice_servers) || []);
    });
  }

  function stopMedia() {
    if (!media) return;
    mediaStarts += 1;
    media.stop(false);
    media.release();
    setHidden(soundButton, true);
  }

  // ---------------------------------------------------------------- joining

  function join(name) {
    S.name = name;
    S.wantIn = true;
    S.left = false;
    setItem("local", NAME_KEY, name);
    setHidden(joinError, true);
    joinButton.disabled = true;
    setText(joinButton, "Joining…");
    // Errors are shown by conn.onerror (type "join").
    quietly(conn.join(name));
  }

  function resetJoinButton() {
    joinButton.disabled = false;
    setText(joinButton, "Join");
  }

  joinForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const name = nameInput.value.trim().replace(/\s+/g, " ");
    if (!name) {
      joinError.textContent = "Please type a name.";
      setHidden(joinError, false);
      nameInput.focus();
      return;
    }
    audioContext();
    join(name);
  });

  function renderPreviewAvatar() {
    setText(previewAvatar, initials(nameInput.value));
  }
  nameInput.addEventListener("input", renderPreviewAvatar);

  rejoinButton.addEventListener("click", () => {
    audioContext();
    if (media) media.open().then(refreshDevices);
    join(S.name || nameInput.value.trim());
    setStatus("Joining…");
  });

  leaveButton.addEventListener("click", () => {
    S.wantIn = false;
    S.left = true;
    setItem("session", JOINED_KEY, null);
    stopMedia();
    conn.leave();
    setStatus("");
    setHidden(mutedBanner, true);
    showScreen("left");
  });

  function joinFailed(info) {
    const code = info.error;
    resetJoinButton();
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
    setItem("session", JOINED_KEY, null);
    setStatus("");
    showScreen("prejoin");
    joinError.textContent = info.message || "Could not join.";
    setHidden(joinError, false);
    if (code === "bad-name") nameInput.focus();
  }

  function showRemoved() {
    S.wantIn = false;
    setItem("session", JOINED_KEY, null);
    setStatus("");
    setHidden(mutedBanner, true);
    stopMedia();
    conn.close();
    showScreen("removed");
  }

  function showEnded() {
    S.endedNotice = true;
    setHidden(endedBanner, false);
    // The call is over: no more media, and the camera light goes off.
    if (media && (media.running || media.localStream || media.audioTrack)) {
      media.stop(true);
      media.release();
    }
  }

  // ---------------------------------------------------------------- connection callbacks

  conn.onjoined = (value) => {
    S.you = value.you || S.you;
    setItem("session", JOINED_KEY, "1");
    setStatus("");
    resetJoinButton();
    setHidden(joinError, true);
    S.speaking = value.speaking || null;
    showScreen("room");
    if (S.state) render();
    startMedia(value);
  };

  conn.onlobby = (value) => {
    setStatus("");
    resetJoinButton();
    setText(lobbyMessage, value.message || "A facilitator will let you in shortly.");
    setText(lobbyTitle, value.title || pageTitle);
    showScreen("lobby");
  };

  conn.onadmitted = () => {
    toast("You're in! Welcome.");
  };

  conn.onstate = (value) => {
    S.state = value;
    if (value.you) S.you = value.you;
    if (S.screen === "left" || S.screen === "removed") return;
    if (media && value.you && Boolean(value.you.muted) !== media.forcedMute) media.setForcedMute(value.you.muted);
    if (S.screen !== "room") showScreen("room");
    render();
  };

  conn.onchathistory = (value) => {
    S.chat.clear();
    chatLog.replaceChildren();
    (value.messages || []).forEach(addChat);
    renderChatEmpty();
    chatLog.scrollTop = chatLog.scrollHeight;
  };

  conn.onchat = (value) => {
    const nearBottom = chatLog.scrollHeight - chatLog.scrollTop - chatLog.clientHeight < 40;
    addChat(value);
    renderChatEmpty();
    if (nearBottom || value.person === (S.you && S.you.id)) chatLog.scrollTop = chatLog.scrollHeight;
  };

  conn.onwarning = (value) => {
    chime();
    toast(thresholdText(value.threshold), "warn");
  };

  conn.onmuted = () => {
    setHidden(mutedBanner, false);
    if (media) media.setForcedMute(true);
  };

  conn.onunmuted = () => {
    setHidden(mutedBanner, true);
    if (media) media.setForcedMute(false);
    toast("A facilitator unmuted you. You can turn your microphone on again.");
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
      toast("Your camera and microphone are now used in your other tab or window.");
      return;
    }
    media.handleEnded();
  };

  conn.onspeaking = (value) => {
    S.speaking = value.person || null;
    if (S.state && S.screen === "room") renderTiles(S.state);
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
      resetJoinButton();
    } else if (info.type === null) {
      toast(info.message, "error");
    }
    // Errors answering an action reject its promise; act() shows those.
  };

  // ---------------------------------------------------------------- chat

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
    while (chatLog.children.length > MAX_CHAT_SHOWN) chatLog.firstChild.remove();
  }

  function renderChatEmpty() {
    setHidden(chatEmpty, chatLog.children.length > 0);
  }

  chatForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = chatInput.value.trim();
    if (!text) return;
    chatInput.value = "";
    act("chat", { text: text }).catch(() => {
      if (!chatInput.value) chatInput.value = text;
    });
  });

  // ---------------------------------------------------------------- room rendering

  function isHost() {
    return Boolean(S.you && S.you.role === "facilitator");
  }

  function personName(id) {
    const people = (S.state && S.state.people) || [];
    const p = people.find((x) => x.id === id);
    return p ? p.name : "Someone";
  }

  function handOrder(people) {
    const raised = people.filter((p) => p.hand != null && p.state === "in").sort((a, b) => a.hand - b.hand);
    const order = new Map();
    raised.forEach((p, i) => order.set(p.id, i + 1));
    return order;
  }

  function render() {
    const st = S.state;
    if (!st) return;
    const host = isHost();
    app.dataset.role = host ? "facilitator" : "participant";
    app.dataset.status = st.clock.status;
    document.body.classList.toggle("is-facilitator", host);
    setText(roomHeading, st.meeting.title || pageTitle);
    if (st.clock.status === "ended" || st.meeting.status === "ended") showEnded();
    setHidden(mutedBanner, !(S.you && S.you.muted));
    renderClockBadge(st);
    renderNow(st, host);
    renderIcebreaker(st);
    renderTiles(st);
    renderMine(st);
    renderFacilitator(st, host);
    renderAgenda(st, host);
    renderPeople(st, host);
    tick();
  }

  function renderClockBadge(st) {
    const status = st.clock.status;
    const text = { paused: "Paused", waiting: "Not started yet", ended: "Meeting ended" }[status] || "";
    setText(clockBadge, text);
    setHidden(clockBadge, !text);
    clockBadge.className = "badge badge-status badge-" + status;
  }

  function renderNow(st, host) {
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

  function renderIcebreaker(st) {
    const ib = st.icebreaker;
    setHidden(icebreakerCard, !ib);
    if (!ib) return;
    const me = S.you && S.you.id;
    setText(ibTitle, ib.title || "Icebreaker");
    setText(ibRound, "Round " + (ib.round || 1) + " of " + (ib.rounds || 1));
    setText(ibHow, ib.how_it_works || "");
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

  /** Grid sizes by number of tiles (style.css picks the columns from this and the width). */
  function gridSize(count) {
    if (count <= 4) return String(Math.max(count, 1));
    if (count <= 6) return "6";
    if (count <= 9) return "9";
    return "16";
  }

  function renderTiles(st) {
    const inRoom = st.people.filter((p) => p.state === "in");
    const hands = handOrder(st.people);
    const speaker = st.icebreaker && !st.icebreaker.finished ? st.icebreaker.speaker : null;
    const me = S.you && S.you.id;
    const old = tiles._tiles || new Map();
    const next = new Map();
    let index = 0;
    for (const p of inRoom) {
      let tile = old.get(p.id);
      if (!tile) tile = buildTile(p.id);
      next.set(p.id, tile);
      updateTile(tile, p, {
        speaking: p.id === speaker, talking: p.id === S.speaking, you: p.id === me, hand: hands.get(p.id),
      });
      const at = tiles.children[index];
      if (at !== tile) tiles.insertBefore(tile, at || null);
      index += 1;
    }
    for (const [id, tile] of old) if (!next.has(id)) tile.remove();
    tiles._tiles = next;
    for (const p of inRoom) paintTileMedia(p.id);
    tiles.dataset.count = String(inRoom.length);
    tiles.dataset.size = gridSize(inRoom.length);
  }

  function buildTile(id) {
    const avatar = el("div", { className: "tile-avatar", "aria-hidden": "true" });
    const holder = el("div", { className: "tile-media" }, avatar);
    const name = el("span", { className: "tile-name" });
    const badges = el("span", { className: "tile-badges" });
    const tile = el("article", { className: "tile", dataset: { personId: id } }, holder, el("div", { className: "tile-info" }, name, badges));
    tile._avatar = avatar;
    tile._media = holder;
    tile._name = name;
    tile._badges = badges;
    tile._sig = "";
    return tile;
  }

  function updateTile(tile, p, flags) {
    const sig = JSON.stringify([p.name, p.role, p.muted, p.mic, p.camera, p.hand != null, p.online, flags]);
    if (tile._sig === sig) return;
    tile._sig = sig;
    setText(tile._avatar, initials(p.name));
    setText(tile._name, p.name + (flags.you ? " (you)" : ""));
    const badges = [];
    if (p.role === "facilitator") badges.push(el("span", { className: "badge badge-facilitator" }, "Facilitator"));
    if (flags.speaking) badges.push(el("span", { className: "badge badge-speaking" }, "Speaking"));
    if (p.muted) {
      badges.push(el("span", { className: "badge badge-muted", title: "Muted by a facilitator" },
        "Muted", el("span", { className: "visually-hidden" }, " by a facilitator")));
    } else if (!p.mic) {
      badges.push(el("span", { className: "badge badge-mic-off", title: "Microphone off" }, "Mic off"));
    }
    if (p.hand != null) {
      badges.push(el("span", { className: "badge badge-hand", title: "Hand raised" },
        "✋", el("span", { className: "visually-hidden" }, " Hand raised")));
    }
    tile._badges.replaceChildren(...badges);
    // Highlighted: whoever is talking now (audio levels) and whoever has the icebreaker floor.
    setClass(tile, "is-speaking", flags.speaking || flags.talking);
    setClass(tile, "is-talking", flags.talking);
    setClass(tile, "camera-off", !p.camera);
    setClass(tile, "is-you", flags.you);
    setClass(tile, "has-hand", p.hand != null);
    setClass(tile, "is-muted", p.muted);
    // Hue from the id, so each person keeps a colour.
    tile.dataset.hue = String(hueOf(p.id));
  }

  function hueOf(id) {
    let h = 0;
    for (const ch of String(id)) h = (h * 31 + ch.charCodeAt(0)) % 8;
    return h;
  }

  function renderMine(st) {
    const you = S.you || {};
    const raised = you.hand != null;
    setText(handButton, raised ? "Lower hand" : "Raise hand");
    setClass(handButton, "is-raised", raised);
    if (optOut.checked !== Boolean(you.opted_out)) optOut.checked = Boolean(you.opted_out);
    const ended = st.clock.status === "ended";
    handButton.disabled = ended;
    optOut.disabled = ended;
  }

  handButton.addEventListener("click", () => {
    const raised = Boolean(S.you && S.you.hand != null);
    quietly(act("hand", { raised: !raised }));
  });

  optOut.addEventListener("change", () => {
    const value = optOut.checked;
    act("opt-out", { value: value }).catch(() => {
      optOut.checked = !value;
    });
  });

  passButton.addEventListener("click", () => quietly(act("pass")));

  function renderFacilitator(st, host) {
    setHidden(facilitatorPanel, !host);
    if (!host) return;
    const status = st.clock.status;
    const waiting = status === "waiting";
    const ended = status === "ended";
    const live = status === "running" || status === "paused";
    const last = st.clock.index >= st.agenda.length - 1;
    const ib = st.icebreaker;
    const startHadFocus = document.activeElement === fp.start;
    setHidden(fp.start, !waiting);
    setText(fp.pause, status === "paused" ? "Resume" : "Pause");
    fp.pause.disabled = !live;
    fp.previous.disabled = !live || st.clock.index <= 0;
    fp.next.disabled = !live || last;
    fp.extend1.disabled = !live;
    fp.extend5.disabled = !live;
    const speakerOk = Boolean(ib) && !ended;
    fp.nextSpeaker.disabled = !speakerOk || !ib.speaker;
    fp.skipSpeaker.disabled = !speakerOk || !ib.speaker;
    fp.reshuffle.disabled = !speakerOk;
    setText(fp.lock, st.meeting.locked ? "Unlock room" : "Lock room");
    setText(fp.lobby, st.meeting.lobby ? "Lobby off" : "Lobby on");
    fp.lock.disabled = ended;
    fp.lobby.disabled = ended;
    fp.end.disabled = ended;
    // Start disappears once pressed: keep keyboard users in the panel.
    if (startHadFocus && !waiting && !fp.pause.disabled) fp.pause.focus({ preventScroll: true });
    const count = st.people.filter((p) => p.state === "in").length;
    setText(fpStatus, [
      st.meeting.locked ? "Room locked" : "Room open",
      st.meeting.lobby ? "lobby on" : "lobby off",
      count + " of " + st.meeting.max_people + " people",
    ].join(" · "));
  }

  function facilitatorAction(key) {
    const st = S.state;
    if (!st || !isHost()) return;
    switch (key) {
      case "start": return act("start");
      case "pause": return act(st.clock.status === "paused" ? "resume" : "pause");
      case "previous": return act("previous-item");
      case "next": return act("next-item");
      case "extend1": return act("extend-item", { seconds: 60 });
      case "extend5": return act("extend-item", { seconds: 300 });
      case "nextSpeaker": return act("next-speaker");
      case "skipSpeaker": return act("skip-speaker");
      case "reshuffle": return act("reshuffle");
      case "lock": return act(st.meeting.locked ? "unlock" : "lock");
      case "lobby": return act(st.meeting.lobby ? "lobby-off" : "lobby-on");
      case "end":
        if (!window.confirm("End the meeting for everyone?")) return null;
        return act("end");
      default: return null;
    }
  }

  Object.keys(fp).forEach((key) => {
    fp[key].addEventListener("click", () => {
      const p = facilitatorAction(key);
      if (p) quietly(p);
    });
  });

  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.repeat) return;
    if (event.ctrlKey || event.metaKey || event.altKey || event.shiftKey) return;
    if (isTyping(event.target)) return;
    if (S.screen !== "room" || !isHost() || !S.state) return;
    const map = { n: "next", s: "nextSpeaker", p: "pause" };
    const key = map[event.key];
    if (!key || fp[key].disabled) return;
    event.preventDefault();
    const p = facilitatorAction(key);
    if (p) quietly(p);
  });

  function renderAgenda(st, host) {
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
        r.row.state === "current" ? null : r.row.elapsed, r.row.icebreaker, r.row.per_speaker, host, live, r.offset]),
      (r) => buildAgendaRow(r.row, r.offset, host, live));
    agendaList._current = agendaList.querySelector(".agenda-item.state-current .agenda-elapsed");
  }

  function buildAgendaRow(row, offset, host, live) {
    const state = row.state || "upcoming";
    const when = row.planned_start != null ? hhmm(row.planned_start) : mss(offset);
    const meta = [duration(row.planned_duration)];
    const deckTitle = row.icebreaker || row.deck;
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

  function renderPeople(st, host) {
    const me = S.you && S.you.id;
    const inRoom = st.people.filter((p) => p.state === "in");
    const waiting = host ? st.people.filter((p) => p.state === "lobby") : [];
    const hands = handOrder(st.people);
    const speaker = st.icebreaker && !st.icebreaker.finished ? st.icebreaker.speaker : null;
    setText(peopleCount, "(" + inRoom.length + ")");
    // Raised hands first, in raise order; then everyone in arrival order.
    const ordered = inRoom.slice().sort((a, b) => {
      const ha = hands.get(a.id) || Infinity;
      const hb = hands.get(b.id) || Infinity;
      return ha === hb ? 0 : ha - hb;
    });
    renderKeyed(peopleList, ordered, (p) => p.id,
      (p) => JSON.stringify([p, hands.get(p.id) || 0, host, p.id === me, p.id === speaker]),
      (p) => buildPersonRow(p, hands.get(p.id), host, p.id === me, p.id === speaker));
    setHidden(lobbySection, !waiting.length);
    renderKeyed(lobbyList, waiting, (p) => p.id, (p) => JSON.stringify([p.name]), buildLobbyRow);
  }

  function buildPersonRow(p, hand, host, self, speaking) {
    const info = el("div", { className: "person-info" },
      el("span", { className: "avatar-small", "aria-hidden": "true", dataset: { hue: String(hueOf(p.id)) } }, initials(p.name)),
      el("span", { className: "person-name" }, p.name),
      self ? el("span", { className: "person-you" }, " (you)") : null);
    const badges = el("span", { className: "person-badges" });
    if (hand) badges.appendChild(el("span", { className: "badge badge-hand" }, "✋ " + hand, el("span", { className: "visually-hidden" }, " (hand raised)")));
    if (p.role === "facilitator") badges.appendChild(el("span", { className: "badge badge-facilitator" }, "Facilitator"));
    if (speaking) badges.appendChild(el("span", { className: "badge badge-speaking" }, "Speaking"));
    if (p.spoken) badges.appendChild(el("span", { className: "badge badge-spoke", title: "Has spoken in this icebreaker" }, "✓ spoke"));
    if (p.muted) badges.appendChild(el("span", { className: "badge badge-muted" }, "Muted"));
    if (p.opted_out) badges.appendChild(el("span", { className: "badge badge-quiet" }, "sits out"));
    const li = el("li", { className: "person" + (self ? " is-you" : ""), dataset: { personId: p.id } }, info, badges);
    if (host && !self) {
      const actions = el("div", { className: "person-actions", role: "group", "aria-label": "Actions for " + p.name });
      const mute = actionButton(p.muted ? "Unmute" : "Mute", p.name, {
        className: "button button-small", dataset: { focusKey: "mute:" + p.id },
      });
      mute.addEventListener("click", () => quietly(act(p.muted ? "unmute" : "mute", { person: p.id })));
      actions.appendChild(mute);
      if (p.role !== "facilitator") {
        const promote = actionButton("Make facilitator", p.name, {
          className: "button button-small", dataset: { focusKey: "promote:" + p.id },
        });
        promote.addEventListener("click", () => quietly(act("make-facilitator", { person: p.id })));
        actions.appendChild(promote);
      }
      const remove = actionButton("Remove", p.name, {
        className: "button button-small button-danger-quiet", dataset: { focusKey: "remove:" + p.id },
      });
      remove.addEventListener("click", () => {
        if (window.confirm("Remove " + p.name + " from this meeting? They cannot come back.")) {
          quietly(act("remove", { person: p.id }));
        }
      });
      actions.appendChild(remove);
      li.appendChild(actions);
    }
    return li;
  }

  function buildLobbyRow(p) {
    const admit = actionButton("Admit", p.name, {
      className: "button button-small button-primary", dataset: { focusKey: "admit:" + p.id },
    });
    admit.addEventListener("click", () => quietly(act("admit", { person: p.id })));
    return el("li", { className: "person person-waiting", dataset: { personId: p.id } },
      el("div", { className: "person-info" },
        el("span", { className: "avatar-small", "aria-hidden": "true", dataset: { hue: String(hueOf(p.id)) } }, initials(p.name)),
        el("span", { className: "person-name" }, p.name)),
      el("div", { className: "person-actions" }, admit));
  }

  admitAll.addEventListener("click", () => quietly(act("admit-all")));

  // ---------------------------------------------------------------- the ticking clock

  function paintTimer(box, left, warn) {
    const value = box._value;
    setText(value, T.format(left));
    const over = left < 0;
    for (const node of [box, value]) {
      setClass(node, "over", over);
      setClass(node, "warn", !over && warn);
    }
    value.dataset.left = String(Math.round(left));
  }

  function tick() {
    const st = S.state;
    if (!st || S.screen !== "room") return;
    const clock = st.clock;
    const now = conn.serverNow();
    const meetingLeft = T.left(clock.meeting, now);
    const itemLeft = T.left(clock.item, now);
    const warnAt = (clock.warn_at || []).length ? Math.max.apply(null, clock.warn_at) : -Infinity;
    paintTimer(timerMeeting, meetingLeft, meetingLeft <= warnAt);
    paintTimer(timerItem, itemLeft, itemLeft < 60);
    const ended = clock.status === "ended";
    setClass(timerMeeting, "stopped", ended);
    setHidden(timerItem, ended);
    const showSpeaker = Boolean(st.icebreaker && clock.speaker) && !ended;
    setHidden(timerSpeaker, !showSpeaker);
    if (showSpeaker) {
      const speakerLeft = T.left(clock.speaker, now);
      paintTimer(timerSpeaker, speakerLeft, speakerLeft < 10);
    }
    const status = clock.status;
    if (status === "ended") {
      setText(endsAt, clock.ended_at ? "Ended at " + hhmm(clock.ended_at) : "Meeting ended");
    } else if (status === "waiting") {
      const total = Math.max(0, clock.meeting.remaining);
      const when = st.meeting.scheduled_at ? "Planned for " + hhmm(st.meeting.scheduled_at) + " · " : "";
      setText(endsAt, when + "Runs " + duration(total) + " once started");
    } else {
      const planned = now + meetingLeft;
      const projected = now + Math.max(itemLeft, 0) + (clock.rest_after_item || 0);
      setText(endsAt, "Ends at " + hhmm(planned) + " (projected " + hhmm(projected) + ")");
      setClass(endsAt, "late", projected - planned >= 60);
    }
    const elapsedEl = agendaList._current;
    if (elapsedEl) {
      const row = st.agenda[clock.index];
      if (row) {
        const extra = status === "running" && typeof st.server_time === "number" ? Math.max(0, now - st.server_time) : 0;
        setText(elapsedEl, mss(row.elapsed + extra) + " so far");
      }
    }
  }

  setInterval(tick, TICK_MS);

  // ---------------------------------------------------------------- start

  renderChimes();
  renderChatEmpty();
  renderMediaControls();
  renderPreviewAvatar();
  if (media) {
    // Ask for the camera and microphone now, so the preview shows and the pickers get names.
    media.open().then(refreshDevices);
  } else {
    mediaNote.textContent = "This browser cannot use a camera or microphone here. You can still take part and chat.";
    setHidden(mediaNote, false);
  }
  app.dataset.screen = "prejoin";
  document.body.dataset.screen = "prejoin";
  const saved = getItem("session", JOINED_KEY) === "1" ? getItem("local", NAME_KEY) : null;
  if (saved && saved.trim()) {
    join(saved.trim());
  } else if (!nameInput.value) {
    nameInput.focus();
  }
})();
