// The meeting page's shared state, its one MeetingConnection, and act() for sending actions.
(function (F) {
  "use strict";

  const page = F.page;
  F.ready = Boolean(page.app && window.MeetingConnection);
  if (!F.ready) return;

  const { getItem } = F.storage;

  F.keys = {
    name: "facilitator.name",
    chimes: "facilitator.chimes",
    joined: "facilitator.joined." + page.meetingId,
  };

  // The facilitator key is in the session cookie now; keep it out of the address bar and history.
  if (page.stripKey || new URLSearchParams(location.search).has("key")) {
    history.replaceState(null, "", location.pathname);
  }

  /** Everything the page knows, shared by the modules; room.js keeps it up to date. */
  F.S = {
    screen: "prejoin",
    name: getItem("local", F.keys.name) || "",
    state: null,
    you: null,
    chimes: getItem("local", F.keys.chimes) !== "off",
    chat: new Map(),
    wantIn: false,
    endedNotice: false,
    left: false,
    speaking: null,
  };

  const wsUrl = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + page.wsPath;
  F.conn = new window.MeetingConnection(wsUrl);

  /** Send an action; a refusal shows as a toast (and still rejects). */
  F.act = function act(name, args) {
    return F.conn.action(name, args).catch((err) => {
      F.toast((err && err.message) || "That did not work.", "error");
      throw err;
    });
  };

  F.quietly = function quietly(promise) {
    promise.catch(() => {});
  };

  F.isHost = function isHost() {
    return Boolean(F.S.you && F.S.you.role === "facilitator");
  };
})(window.Facilitator);
