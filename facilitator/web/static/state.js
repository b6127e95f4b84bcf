// The meeting page's settings and shared state, its one MeetingConnection, and act(), the one
// way the page sends actions.

import { MeetingConnection } from "./protocol.js";
import { getItem } from "./storage.js";
import { toast } from "./toast.js";

/** @typedef {import("./wire.js").StateView} StateView */
/** @typedef {import("./wire.js").Person} Person */
/** @typedef {import("./wire.js").ChatMessage} ChatMessage */

const app = document.getElementById("app");
const meetingId = app?.dataset.meetingId || "";

/** The settings the server put on <main id="app">. */
export const page = {
  app,
  meetingId,
  title: app?.dataset.title || "Meeting",
  wsPath: app?.dataset.wsPath || "/m/" + meetingId + "/ws",
  stripKey: app?.dataset.stripKey === "true",
  recap: "/m/" + encodeURIComponent(meetingId) + "/recap",
};

/** What this browser remembers, by storage key. */
export const keys = {
  name: "facilitator.name",
  chimes: "facilitator.chimes",
  joined: "facilitator.joined." + meetingId,
};

/**
 * Everything the page knows, shared by the modules; room.js keeps it up to date.
 * @typedef {object} PageState
 * @property {string} screen "prejoin", "lobby", "room", "left" or "removed"
 * @property {string} name
 * @property {StateView | null} state the last `state` message
 * @property {Person | null} you
 * @property {boolean} chimes
 * @property {Map<number, ChatMessage>} chat by seq
 * @property {boolean} wantIn
 * @property {boolean} endedNotice
 * @property {boolean} left
 * @property {string | null} speaking who is talking now (audio levels)
 * @property {boolean} myTurn this person has the icebreaker floor
 * @property {boolean} selfView the own tile is shown
 * @property {Set<string>} carried the people whose media the server sends this page (last offer)
 */

/** @type {PageState} */
export const S = {
  screen: "prejoin",
  name: getItem("local", keys.name) || "",
  state: null,
  you: null,
  chimes: getItem("local", keys.chimes) !== "off",
  chat: new Map(),
  wantIn: false,
  endedNotice: false,
  left: false,
  speaking: null,
  myTurn: false,
  selfView: getItem("local", "facilitator.selfView") !== "off",
  carried: new Set(),
};

const wsUrl = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + page.wsPath;
export const conn = new MeetingConnection(wsUrl);

/**
 * Send an action (docs/protocol.md); a refusal shows as a toast unless `toast` is false, and
 * still rejects.
 * @param {string} name
 * @param {Record<string, unknown>} [args]
 * @param {{toast?: boolean}} [options]
 * @returns {Promise<any>}
 */
export function act(name, args, options) {
  return conn.action(name, args).catch((err) => {
    if (options?.toast !== false) toast(err?.message || "That did not work.", "error");
    throw err;
  });
}

/**
 * Ignore a promise's failure (act() has already shown it).
 * @param {Promise<unknown>} promise
 */
export function quietly(promise) {
  promise.catch(() => {});
}

/** @returns {boolean} whether this person is a facilitator */
export function isHost() {
  return S.you?.role === "facilitator";
}
