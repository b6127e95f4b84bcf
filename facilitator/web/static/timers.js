// The room header's countdowns (meeting, item, speaker), "ends at", the status badge, and the chimes.
(function (F) {
  "use strict";

  if (!F.ready) return;
  const { el, setText, setHidden, setClass } = F.dom;
  const { hhmm, mss, duration } = F.format;
  const T = window.facilitatorTime;
  const S = F.S;

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
    F.storage.setItem("local", F.keys.chimes, S.chimes ? "on" : "off");
    renderChimes();
    if (S.chimes) audioContext();
  });
  // Browsers only allow sound after a gesture: wake the audio on the first one.
  ["pointerdown", "keydown"].forEach((type) => {
    document.addEventListener(type, () => {
      if (S.chimes && audio && audio.state === "suspended") audio.resume().catch(() => {});
    }, { passive: true });
  });

  // ---------------------------------------------------------------- painting the clock

  function renderClockBadge(st) {
    const status = st.clock.status;
    const text = { paused: "Paused", waiting: "Not started yet", ended: "Meeting ended" }[status] || "";
    setText(clockBadge, text);
    setHidden(clockBadge, !text);
    clockBadge.className = "badge badge-status badge-" + status;
  }

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
    const now = F.conn.serverNow();
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
    const elapsedEl = F.agenda.currentElapsed();
    if (elapsedEl) {
      const row = st.agenda[clock.index];
      if (row) {
        const extra = status === "running" && typeof st.server_time === "number" ? Math.max(0, now - st.server_time) : 0;
        setText(elapsedEl, mss(row.elapsed + extra) + " so far");
      }
    }
  }

  F.timers = {
    boxes: [timerMeeting, timerItem, timerSpeaker],
    clockBadge: clockBadge,
    endsAt: endsAt,
    chimeButton: chimeButton,
    audioContext: audioContext,
    chime: chime,
    renderChimes: renderChimes,
    renderClockBadge: renderClockBadge,
    tick: tick,
  };
})(window.Facilitator);
