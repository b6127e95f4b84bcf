// DOM, storage and text-format helpers for the meeting page, and the page's settings (window.Facilitator).
//
// The meeting page is a set of plain scripts loaded in order (see room.html); they share one
// namespace object, window.Facilitator, and nothing else. Every string from the server (names,
// titles, notes, prompts, chat) is untrusted: the DOM is built with createElement and textContent
// only, never innerHTML.
(function () {
  "use strict";

  const F = (window.Facilitator = window.Facilitator || {});
  const app = document.getElementById("app");

  /** The settings the server put on <main id="app">. */
  F.page = {
    app: app,
    meetingId: (app && app.dataset.meetingId) || "",
    title: (app && app.dataset.title) || "Meeting",
    wsPath: (app && app.dataset.wsPath) || "/m/" + ((app && app.dataset.meetingId) || "") + "/ws",
    stripKey: Boolean(app && app.dataset.stripKey === "true"),
  };
  F.page.recap = "/m/" + encodeURIComponent(F.page.meetingId) + "/recap";

  // ---------------------------------------------------------------- building and updating nodes

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

  F.dom = { el, actionButton, setText, setHidden, setClass, isTyping, renderKeyed };

  // ---------------------------------------------------------------- storage

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

  F.storage = { getItem, setItem };

  // ---------------------------------------------------------------- text formats

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

  /** A colour number (0-7) from a person id, so each person keeps a colour. */
  function hueOf(id) {
    let h = 0;
    for (const ch of String(id)) h = (h * 31 + ch.charCodeAt(0)) % 8;
    return h;
  }

  F.format = { hhmm, mss, duration, thresholdText, initials, hueOf };
})();
