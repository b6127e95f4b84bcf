// The meeting WebSocket protocol (docs/protocol.md) without any DOM: connection, requests and
// replies, automatic reconnects and the server clock offset. The page sets the `on*` callbacks.

const PING_EVERY_MS = 5000;
const OFFSET_SAMPLES = 8;
const BACKOFF_START_MS = 500;
const BACKOFF_MAX_MS = 10000;
// Close codes after which reconnecting cannot help (docs/protocol.md, "Close codes").
const NO_RECONNECT_CODES = [4401, 4403, 4404, 4409];

/** @typedef {import("./wire.js").Person} Person */
/** @typedef {import("./wire.js").StateView} StateView */
/** @typedef {import("./wire.js").JoinedView} JoinedView */
/** @typedef {import("./wire.js").LobbyView} LobbyView */
/** @typedef {import("./wire.js").ChatMessage} ChatMessage */
/** @typedef {import("./wire.js").ChatHistory} ChatHistory */
/** @typedef {import("./wire.js").Warning} Warning */
/** @typedef {import("./wire.js").TrackInfo} TrackInfo */
/** @typedef {import("./wire.js").Offer} Offer */
/** @typedef {import("./wire.js").MediaEnded} MediaEnded */
/** @typedef {import("./wire.js").Speaking} Speaking */
/** @typedef {import("./wire.js").Network} Network */
/** @typedef {import("./wire.js").Reaction} Reaction */
/** @typedef {import("./wire.js").Grouped} Grouped */
/** @typedef {import("./wire.js").RoundWarning} RoundWarning */
/** @typedef {import("./wire.js").Broadcast} Broadcast */
/** @typedef {import("./wire.js").Help} Help */
/** @typedef {import("./wire.js").CloseInfo} CloseInfo */
/** @typedef {import("./wire.js").ErrorInfo} ErrorInfo */
/** @typedef {{resolve: (value: any) => void, reject: (reason: ErrorInfo) => void, type: string}} Pending */

function noop() {}

/** @returns {number} this browser's clock in seconds since the epoch */
function nowSeconds() {
  return Date.now() / 1000;
}

/**
 * One meeting's WebSocket connection.
 *
 * Callbacks are plain properties (no-ops by default), one per server message type: each gets the
 * message's `value`. onerror gets every `error` message as an ErrorInfo whose `type` is the type
 * of the request it answers ("join", "action", ...) or null; request errors also reject that
 * request's Promise. onopen, onclose(CloseInfo) and onreconnecting(delayMs) report the socket.
 */
export class MeetingConnection {
  /** @param {string} wsUrl */
  constructor(wsUrl) {
    this.url = wsUrl;
    /** @type {WebSocket | null} */
    this.ws = null;
    /** @type {string | null} */
    this.name = null;
    this.joined = false;
    /** @type {Person | null} */
    this.you = null;
    this.stopped = false;
    this.attempt = 0;
    this.nextId = 1;
    /** @type {Map<number, Pending>} */
    this.pending = new Map();
    /** @type {{resolve: (value: any) => void, reject: (reason: ErrorInfo) => void}[]} */
    this.joinWaiters = [];
    /** @type {{rtt: number, offset: number}[]} */
    this.samples = [];
    this.offset = 0;
    this.hasPong = false;
    this.hasOffset = false;
    /** @type {ReturnType<typeof setInterval> | undefined} */
    this.pingTimer = undefined;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.reconnectTimer = undefined;
    /** When the server was last heard from (Date.now()), so the media can tell a dead network
     * from a dead media path. */
    this.heardAt = 0;
    /** @type {() => boolean} whether the page still has its media connection to keep (sent as
     * `join`'s `media`; the page sets it) */
    this.keepsMedia = () => false;

    /** @type {() => void} */
    this.onopen = noop;
    /** @type {(info: CloseInfo) => void} */
    this.onclose = noop;
    /** @type {(delayMs: number) => void} */
    this.onreconnecting = noop;
    /** @type {(value: JoinedView) => void} */
    this.onjoined = noop;
    /** @type {(value: LobbyView) => void} */
    this.onlobby = noop;
    /** @type {(value: StateView) => void} */
    this.onstate = noop;
    /** @type {(value: ChatMessage) => void} */
    this.onchat = noop;
    /** @type {(value: ChatHistory) => void} */
    this.onchathistory = noop;
    /** @type {(value: Warning) => void} */
    this.onwarning = noop;
    /** @type {(value: object) => void} */
    this.onmuted = noop;
    /** @type {(value: object) => void} */
    this.onunmuted = noop;
    /** @type {(value: object) => void} */
    this.onadmitted = noop;
    /** @type {(value: object) => void} */
    this.onremoved = noop;
    /** @type {(value: object) => void} */
    this.onended = noop;
    /** @type {(info: ErrorInfo) => void} */
    this.onerror = noop;
    /** @type {(value: object) => void} */
    this.onbye = noop;
    /** @type {(value: Offer) => void} */
    this.onoffer = noop;
    /** @type {(value: MediaEnded) => void} */
    this.onmediaended = noop;
    /** @type {(value: Speaking) => void} */
    this.onspeaking = noop;
    /** @type {(value: Network) => void} */
    this.onnetwork = noop;
    /** @type {(value: Reaction) => void} */
    this.onreaction = noop;
    /** @type {(value: Grouped) => void} */
    this.ongrouped = noop;
    /** @type {(value: RoundWarning) => void} */
    this.onroundwarning = noop;
    /** @type {(value: Broadcast) => void} */
    this.onbroadcast = noop;
    /** @type {(value: Help) => void} */
    this.onhelp = noop;
  }

  /** @returns {boolean} whether the socket is open */
  isOpen() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  /** Open the socket (once; later reconnects happen by themselves). */
  connect() {
    if (this.ws && (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING)) {
      return;
    }
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.stopped = false;
    /** @type {WebSocket} */
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch {
      this.#scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.#startPings();
      this.#safely(() => this.onopen());
      if (this.name !== null) this.#sendJoin().catch(noop);
    };
    ws.onmessage = (event) => {
      if (this.ws === ws) this.#receive(event.data);
    };
    ws.onclose = (event) => {
      if (this.ws === ws) this.#closed(event);
    };
    ws.onerror = () => {
      // A close event always follows; reconnecting happens there.
    };
  }

  /**
   * Send a request; the Promise resolves with the reply's value on `ok` (or `joined`/`lobby` for
   * `join`) and rejects with an ErrorInfo on an `error` carrying the same id.
   * @param {string} type
   * @param {object} [value]
   * @returns {Promise<any>}
   */
  send(type, value) {
    if (!this.isOpen()) {
      /** @type {ErrorInfo} */
      const info = { error: "offline", message: "You are offline right now; reconnecting…", id: null, type };
      return Promise.reject(info);
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, type });
      this.#raw({ type, id, value: value || {} });
    });
  }

  /**
   * A request of any type (media-start, answer, media-stop, ...); resolves on its `ok`.
   * @param {string} type
   * @param {object} [value]
   * @returns {Promise<any>}
   */
  request(type, value) {
    return this.send(type, value);
  }

  /**
   * Take a seat with a display name; remembered and re-sent after every reconnect.
   * @param {string} name
   * @returns {Promise<JoinedView | LobbyView>}
   */
  join(name) {
    this.name = name;
    this.stopped = false;
    if (this.isOpen()) return this.#sendJoin();
    return new Promise((resolve, reject) => {
      this.joinWaiters.push({ resolve, reject });
      if (!this.ws || this.ws.readyState === WebSocket.CLOSED || this.ws.readyState === WebSocket.CLOSING) {
        this.attempt = 0;
        this.connect();
      }
    });
  }

  /**
   * Do something in the meeting: action("extend-item", {seconds: 60}). The page sends every
   * action through act() in state.js.
   * @param {string} name
   * @param {Record<string, unknown>} [args]
   * @returns {Promise<any>}
   */
  action(name, args) {
    return this.send("action", { ...args, action: name });
  }

  /** Leave on purpose: tell the server, close and do not reconnect. */
  leave() {
    if (this.isOpen()) this.#raw({ type: "leave" });
    this.close();
  }

  /** Close for good (no reconnects) until connect() or join() is called again. */
  close() {
    this.stopped = true;
    this.joined = false;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.#stopPings();
    const ws = this.ws;
    if (ws && ws.readyState !== WebSocket.CLOSED) {
      try {
        ws.close(1000, "bye");
      } catch {
        // already closing
      }
    }
  }

  /** @returns {number} the server's clock now, in seconds since the epoch */
  serverNow() {
    return nowSeconds() + this.offset;
  }

  /** @param {() => void} fn a callback that must not break the connection if it throws */
  #safely(fn) {
    try {
      fn();
    } catch (err) {
      console.error(err);
    }
  }

  /** @param {object} data */
  #raw(data) {
    try {
      this.ws?.send(JSON.stringify(data));
    } catch {
      // The close handler deals with broken sockets.
    }
  }

  /** @returns {Promise<JoinedView | LobbyView>} */
  #sendJoin() {
    const waiters = this.joinWaiters.splice(0);
    const promise = this.send("join", this.keepsMedia() ? { name: this.name, media: true } : { name: this.name });
    promise.then(
      (value) => waiters.forEach((w) => w.resolve(value)),
      (err) => waiters.forEach((w) => w.reject(err)),
    );
    return promise;
  }

  /** Ping the server now (the media asks when it wonders whether the network is there). */
  probe() {
    this.#ping();
  }

  #startPings() {
    this.#stopPings();
    this.#ping();
    this.pingTimer = setInterval(() => this.#ping(), PING_EVERY_MS);
  }

  #stopPings() {
    clearInterval(this.pingTimer);
    this.pingTimer = undefined;
  }

  #ping() {
    if (this.isOpen()) this.#raw({ type: "ping", value: { t: nowSeconds() } });
  }

  /** @param {{t?: unknown, server_time?: unknown}} value */
  #pong(value) {
    if (typeof value.t !== "number" || typeof value.server_time !== "number") return;
    const rtt = nowSeconds() - value.t;
    if (rtt < 0) return;
    this.samples.push({ rtt, offset: value.server_time - (value.t + rtt / 2) });
    if (this.samples.length > OFFSET_SAMPLES) this.samples.shift();
    let best = this.samples[0];
    for (const sample of this.samples) if (sample.rtt < best.rtt) best = sample;
    this.offset = best.offset;
    this.hasPong = true;
    this.hasOffset = true;
  }

  /** @param {unknown} serverTime */
  #roughOffset(serverTime) {
    // Before any ping/pong sample, a message's server_time is a fair first estimate.
    if (this.hasPong || typeof serverTime !== "number") return;
    this.offset = serverTime - nowSeconds();
    this.hasOffset = true;
  }

  /**
   * @param {unknown} id
   * @param {boolean} ok
   * @param {any} payload
   * @returns {Pending | null} the request this answered, if any
   */
  #settle(id, ok, payload) {
    if (typeof id !== "number") return null;
    const entry = this.pending.get(id);
    if (!entry) return null;
    this.pending.delete(id);
    if (ok) entry.resolve(payload);
    else entry.reject(payload);
    return entry;
  }

  /** @param {JoinedView | LobbyView} value */
  #settleJoin(value) {
    // A `lobby` reply may come without an id: it still answers the join in flight.
    for (const [id, entry] of this.pending) {
      if (entry.type === "join") {
        this.pending.delete(id);
        entry.resolve(value);
      }
    }
  }

  /**
   * Dispatch one server message to its callback (every type in docs/protocol.md).
   * @param {unknown} text
   */
  #receive(text) {
    /** @type {any} */
    let msg;
    try {
      msg = JSON.parse(String(text));
    } catch {
      return;
    }
    if (!msg || typeof msg !== "object") return;
    this.heardAt = Date.now();
    /** @type {any} */
    const value = msg.value && typeof msg.value === "object" ? msg.value : {};
    switch (msg.type) {
      case "ok":
        this.#settle(msg.id, true, value);
        break;
      case "error":
        this.#error(msg);
        break;
      case "pong":
        this.#pong(value);
        break;
      case "joined":
        this.joined = true;
        this.you = value.you || null;
        this.attempt = 0;
        this.#roughOffset(value.server_time);
        this.#settle(msg.id, true, value);
        this.#settleJoin(value);
        this.#safely(() => this.onjoined(value));
        break;
      case "lobby":
        this.joined = false;
        this.attempt = 0;
        this.#settle(msg.id, true, value);
        this.#settleJoin(value);
        this.#safely(() => this.onlobby(value));
        break;
      case "state":
        this.#roughOffset(value.server_time);
        if (value.you) this.you = value.you;
        this.#safely(() => this.onstate(value));
        break;
      case "chat":
        this.#safely(() => this.onchat(value));
        break;
      case "chat-history":
        this.#safely(() => this.onchathistory(value));
        break;
      case "warning":
        this.#safely(() => this.onwarning(value));
        break;
      case "muted":
        this.#safely(() => this.onmuted(value));
        break;
      case "unmuted":
        this.#safely(() => this.onunmuted(value));
        break;
      case "admitted":
        this.#safely(() => this.onadmitted(value));
        break;
      case "removed":
        this.stopped = true;
        this.joined = false;
        this.#safely(() => this.onremoved(value));
        break;
      case "ended":
        this.#safely(() => this.onended(value));
        break;
      case "bye":
        this.#safely(() => this.onbye(value));
        break;
      case "offer":
        this.#safely(() => this.onoffer(value));
        break;
      case "media-ended":
        this.#safely(() => this.onmediaended(value));
        break;
      case "speaking":
        this.#safely(() => this.onspeaking(value));
        break;
      case "reaction":
        this.#safely(() => this.onreaction(value));
        break;
      case "grouped":
        this.#safely(() => this.ongrouped(value));
        break;
      case "round-warning":
        this.#safely(() => this.onroundwarning(value));
        break;
      case "broadcast":
        this.#safely(() => this.onbroadcast(value));
        break;
      case "help":
        this.#safely(() => this.onhelp(value));
        break;
      case "network":
        this.#safely(() => this.onnetwork(value));
        break;
      default:
        break;
    }
  }

  /** @param {{error?: string, message?: string, id?: number}} msg an `error` message */
  #error(msg) {
    /** @type {ErrorInfo} */
    const info = {
      error: msg.error || "error",
      message: msg.message || "Something went wrong.",
      id: msg.id === undefined ? null : msg.id,
      type: null,
    };
    const entry = this.#settle(msg.id, false, info);
    if (entry) info.type = entry.type;
    if (info.error === "removed" || info.error === "no-session") {
      // Reconnecting cannot help: the person was removed, or the page must be reloaded.
      this.stopped = true;
    }
    this.#safely(() => this.onerror(info));
  }

  /** @param {CloseEvent} event */
  #closed(event) {
    this.#stopPings();
    this.joined = false;
    const pending = Array.from(this.pending.values());
    this.pending.clear();
    for (const entry of pending) {
      entry.reject({ error: "disconnected", message: "The connection dropped; reconnecting…", id: null, type: entry.type });
    }
    const code = typeof event.code === "number" ? event.code : 1006;
    if (NO_RECONNECT_CODES.includes(code)) this.stopped = true;
    const reconnecting = !this.stopped;
    this.#safely(() => this.onclose({ code, reason: event.reason || "", wasClean: Boolean(event.wasClean), reconnecting }));
    if (!reconnecting) {
      for (const w of this.joinWaiters.splice(0)) {
        w.reject({ error: "closed", message: "The connection is closed.", id: null, type: "join" });
      }
      return;
    }
    this.#scheduleReconnect();
  }

  #scheduleReconnect() {
    if (this.stopped) return;
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_START_MS * Math.pow(2, this.attempt));
    const delay = Math.round(base * (0.5 + Math.random()));
    this.attempt += 1;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (!this.stopped) this.connect();
    }, delay);
    this.#safely(() => this.onreconnecting(delay));
  }
}
