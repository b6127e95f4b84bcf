// The meeting WebSocket protocol (docs/protocol.md) without any DOM: connection, requests and
// replies, automatic reconnects and the server clock offset. Used by the meeting page (state.js).
(function (global) {
  "use strict";

  var PING_EVERY_MS = 5000;
  var OFFSET_SAMPLES = 8;
  var BACKOFF_START_MS = 500;
  var BACKOFF_MAX_MS = 10000;
  var NO_RECONNECT_CODES = [4403, 4404];

  function noop() {}

  function nowSeconds() {
    return Date.now() / 1000;
  }

  /**
   * One meeting's WebSocket connection.
   *
   * Callbacks are plain properties (no-ops by default): onopen, onclose(info), onreconnecting(delayMs),
   * onjoined, onlobby, onstate, onchat, onchathistory, onwarning, onmuted, onunmuted, onadmitted,
   * onremoved, onended, onbye, onoffer, onmediaended, onspeaking (each gets the message's `value`)
   * and onerror({error, message, id, type}).
   * onerror is called for every `error` message; `type` is the type of the request it answers
   * ("join", "action", ...) or null when it answers none. Request errors also reject that request's
   * Promise.
   */
  class MeetingConnection {
    constructor(wsUrl) {
      this.url = wsUrl;
      this.ws = null;
      this.name = null;
      this.joined = false;
      this.you = null;
      this.stopped = false;
      this.attempt = 0;
      this.nextId = 1;
      this.pending = new Map();
      this.joinWaiters = [];
      this.samples = [];
      this.offset = 0;
      this.hasPong = false;
      this.hasOffset = false;
      this.pingTimer = null;
      this.reconnectTimer = null;

      this.onopen = noop;
      this.onclose = noop;
      this.onreconnecting = noop;
      this.onjoined = noop;
      this.onlobby = noop;
      this.onstate = noop;
      this.onchat = noop;
      this.onchathistory = noop;
      this.onwarning = noop;
      this.onmuted = noop;
      this.onunmuted = noop;
      this.onadmitted = noop;
      this.onremoved = noop;
      this.onended = noop;
      this.onerror = noop;
      this.onbye = noop;
      this.onoffer = noop;
      this.onmediaended = noop;
      this.onspeaking = noop;
    }

    isOpen() {
      return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
    }

    /** Open the socket (once; later reconnects happen by themselves). */
    connect() {
      if (this.ws && (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING)) {
        return;
      }
      clearTimeout(this.reconnectTimer);
      this.reconnectTimer = null;
      this.stopped = false;
      var self = this;
      var ws;
      try {
        ws = new WebSocket(this.url);
      } catch (err) {
        this._scheduleReconnect();
        return;
      }
      this.ws = ws;
      ws.onopen = function () {
        if (self.ws !== ws) return;
        self._startPings();
        self._call("onopen");
        if (self.name !== null) {
          self._sendJoin().catch(noop);
        }
      };
      ws.onmessage = function (event) {
        if (self.ws !== ws) return;
        self._receive(event.data);
      };
      ws.onclose = function (event) {
        if (self.ws !== ws) return;
        self._closed(event);
      };
      ws.onerror = function () {
        // A close event always follows; reconnecting happens there.
      };
    }

  /**
   * Send a request; the Promise resolves with the reply's value on `ok` (or `joined`/`lobby` for
   * `join`) and rejects with {error, message} on an `error` carrying the same id.
   */
    send(type, value) {
      var self = this;
      if (!this.isOpen()) {
        return Promise.reject({
          error: "offline",
          message: "You are offline right now; reconnecting…",
          id: null,
          type: type
        });
      }
      var id = this.nextId++;
      return new Promise(function (resolve, reject) {
        self.pending.set(id, { resolve: resolve, reject: reject, type: type });
        self._raw({ type: type, id: id, value: value || {} });
      });
    }

    /** A request of any type (media-start, answer, media-stop, ...); resolves on its `ok`. */
    request(type, value) {
      return this.send(type, value);
    }

    /** Take a seat with a display name; remembered and re-sent after every reconnect. */
    join(name) {
      var self = this;
      this.name = name;
      this.stopped = false;
      if (this.isOpen()) return this._sendJoin();
      return new Promise(function (resolve, reject) {
        self.joinWaiters.push({ resolve: resolve, reject: reject });
        if (!self.ws || self.ws.readyState === WebSocket.CLOSED || self.ws.readyState === WebSocket.CLOSING) {
          self.attempt = 0;
          self.connect();
        }
      });
    }

    /** Do something in the meeting: action("extend-item", {seconds: 60}). */
    action(name, args) {
      var value = { action: name };
      if (args) {
        Object.keys(args).forEach(function (key) {
          if (key !== "action") value[key] = args[key];
        });
      }
      return this.send("action", value);
    }

    /** Leave on purpose: tell the server, close and do not reconnect. */
    leave() {
      if (this.isOpen()) this._raw({ type: "leave" });
      this.close();
    }

    /** Close for good (no reconnects) until connect() or join() is called again. */
    close() {
      this.stopped = true;
      this.joined = false;
      clearTimeout(this.reconnectTimer);
      this.reconnectTimer = null;
      this._stopPings();
      var ws = this.ws;
      if (ws && ws.readyState !== WebSocket.CLOSED) {
        try {
          ws.close(1000, "bye");
        } catch (err) {
          // already closing
        }
      }
    }

    /** The server's clock now, in seconds since the epoch. */
    serverNow() {
      return nowSeconds() + this.offset;
    }

    // Internals.

    _call(name, arg) {
      var fn = this[name];
      if (typeof fn !== "function") return;
      try {
        fn.call(this, arg);
      } catch (err) {
        if (global.console) global.console.error(err);
      }
    }

    _raw(data) {
      try {
        this.ws.send(JSON.stringify(data));
      } catch (err) {
        // The close handler deals with broken sockets.
      }
    }

    _sendJoin() {
      var waiters = this.joinWaiters.splice(0);
      var promise = this.send("join", { name: this.name });
      promise.then(function (value) {
        waiters.forEach(function (w) { w.resolve(value); });
      }, function (err) {
        waiters.forEach(function (w) { w.reject(err); });
      });
      return promise;
    }

    _startPings() {
      var self = this;
      this._stopPings();
      this._ping();
      this.pingTimer = setInterval(function () { self._ping(); }, PING_EVERY_MS);
    }

    _stopPings() {
      clearInterval(this.pingTimer);
      this.pingTimer = null;
    }

    _ping() {
      if (this.isOpen()) this._raw({ type: "ping", value: { t: nowSeconds() } });
    }

    _pong(value) {
      if (!value || typeof value.t !== "number" || typeof value.server_time !== "number") return;
      var now = nowSeconds();
      var rtt = now - value.t;
      if (rtt < 0) return;
      this.samples.push({ rtt: rtt, offset: value.server_time - (value.t + rtt / 2) });
      if (this.samples.length > OFFSET_SAMPLES) this.samples.shift();
      var best = this.samples[0];
      for (var i = 1; i < this.samples.length; i++) {
        if (this.samples[i].rtt < best.rtt) best = this.samples[i];
      }
      this.offset = best.offset;
      this.hasPong = true;
      this.hasOffset = true;
    }

    _roughOffset(serverTime) {
      // Before any ping/pong sample, a message's server_time is a fair first estimate.
      if (this.hasPong || typeof serverTime !== "number") return;
      this.offset = serverTime - nowSeconds();
      this.hasOffset = true;
    }

    _settle(id, ok, payload) {
      if (id === undefined || id === null || !this.pending.has(id)) return null;
      var entry = this.pending.get(id);
      this.pending.delete(id);
      if (ok) entry.resolve(payload);
      else entry.reject(payload);
      return entry;
    }

    _settleJoin(value) {
      // A `lobby` reply may come without an id: it still answers the join in flight.
      var self = this;
      this.pending.forEach(function (entry, id) {
        if (entry.type === "join") {
          self.pending.delete(id);
          entry.resolve(value);
        }
      });
    }

    _receive(text) {
      var msg;
      try {
        msg = JSON.parse(text);
      } catch (err) {
        return;
      }
      if (!msg || typeof msg !== "object") return;
      var value = msg.value && typeof msg.value === "object" ? msg.value : {};
      switch (msg.type) {
        case "ok":
          this._settle(msg.id, true, value);
          break;
        case "error": {
          var info = {
            error: msg.error || "error",
            message: msg.message || "Something went wrong.",
            id: msg.id === undefined ? null : msg.id,
            type: null
          };
          var entry = this._settle(msg.id, false, info);
          if (entry) info.type = entry.type;
          if (info.error === "removed" || info.error === "no-session") {
            // Reconnecting cannot help: the person was removed, or the page must be reloaded.
            this.stopped = true;
          }
          this._call("onerror", info);
          break;
        }
        case "pong":
          this._pong(value);
          break;
        case "joined":
          this.joined = true;
          this.you = value.you || null;
          this.attempt = 0;
          this._roughOffset(value.server_time);
          this._settle(msg.id, true, value);
          this._settleJoin(value);
          this._call("onjoined", value);
          break;
        case "lobby":
          this.joined = false;
          this.attempt = 0;
          this._settle(msg.id, true, value);
          this._settleJoin(value);
          this._call("onlobby", value);
          break;
        case "state":
          this._roughOffset(value.server_time);
          if (value.you) this.you = value.you;
          this._call("onstate", value);
          break;
        case "chat":
          this._call("onchat", value);
          break;
        case "chat-history":
          this._call("onchathistory", value);
          break;
        case "warning":
          this._call("onwarning", value);
          break;
        case "muted":
          this._call("onmuted", value);
          break;
        case "unmuted":
          this._call("onunmuted", value);
          break;
        case "admitted":
          this._call("onadmitted", value);
          break;
        case "removed":
          this.stopped = true;
          this.joined = false;
          this._call("onremoved", value);
          break;
        case "ended":
          this._call("onended", value);
          break;
        case "bye":
          this._call("onbye", value);
          break;
        case "offer":
          this._call("onoffer", value);
          break;
        case "media-ended":
          this._call("onmediaended", value);
          break;
        case "speaking":
          this._call("onspeaking", value);
          break;
        default:
          break;
      }
    }

    _closed(event) {
      this._stopPings();
      this.joined = false;
      var pending = Array.from(this.pending.values());
      this.pending.clear();
      pending.forEach(function (entry) {
        entry.reject({
          error: "disconnected",
          message: "The connection dropped; reconnecting…",
          id: null,
          type: entry.type
        });
      });
      var code = event && typeof event.code === "number" ? event.code : 1006;
      if (NO_RECONNECT_CODES.indexOf(code) !== -1) this.stopped = true;
      var willReconnect = !this.stopped;
      this._call("onclose", {
        code: code,
        reason: event && event.reason ? event.reason : "",
        wasClean: !!(event && event.wasClean),
        reconnecting: willReconnect
      });
      if (!willReconnect) {
        var waiters = this.joinWaiters.splice(0);
        waiters.forEach(function (w) {
          w.reject({ error: "closed", message: "The connection is closed.", id: null, type: "join" });
        });
        return;
      }
      this._scheduleReconnect();
    }

    _scheduleReconnect() {
      var self = this;
      if (this.stopped) return;
      var base = Math.min(BACKOFF_MAX_MS, BACKOFF_START_MS * Math.pow(2, this.attempt));
      var delay = Math.round(base * (0.5 + Math.random()));
      this.attempt += 1;
      clearTimeout(this.reconnectTimer);
      this.reconnectTimer = setTimeout(function () {
        self.reconnectTimer = null;
        if (!self.stopped) self.connect();
      }, delay);
      this._call("onreconnecting", delay);
    }
  }

  // Pure helpers for countdowns.

  function pad2(n) {
    return n < 10 ? "0" + n : String(n);
  }

  function clockText(total) {
    var h = Math.floor(total / 3600);
    var m = Math.floor((total % 3600) / 60);
    var s = total % 60;
    return h > 0 ? h + ":" + pad2(m) + ":" + pad2(s) : pad2(m) + ":" + pad2(s);
  }

  var facilitatorTime = {
    /** Seconds left on a countdown {remaining, deadline} at server time `now` (negative: overtime). */
    left: function (countdown, now) {
      if (!countdown) return 0;
      return countdown.deadline != null ? countdown.deadline - now : countdown.remaining;
    },
    /** "mm:ss" (or "h:mm:ss"), rounded up while time is left; "+mm:ss over" in overtime. */
    format: function (seconds) {
      if (typeof seconds !== "number" || !isFinite(seconds)) return "--:--";
      if (seconds >= 0) return clockText(Math.ceil(seconds));
      return "+" + clockText(Math.floor(-seconds)) + " over";
    }
  };

  global.MeetingConnection = MeetingConnection;
  global.facilitatorTime = facilitatorTime;
  if (typeof module !== "undefined" && module.exports) {
    module.exports = { MeetingConnection: MeetingConnection, facilitatorTime: facilitatorTime };
  }
})(typeof window !== "undefined" ? window : globalThis);
