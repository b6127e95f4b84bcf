// Camera, microphone and the media connection to the server (docs/protocol.md: media-start,
// offer, answer, media-ended). No DOM: devices.js shows what the callbacks hand it.
// Exported as window.FacilitatorMediaSession (class MediaSession).
//
// The server always makes the offer. The m-lines marked `own` are where this browser sends its
// microphone (audio) and camera (video); every other m-line carries someone else's media, or
// nothing while its person is null. ICE is not trickled: the answer waits for gathering.
(function (global) {
  "use strict";

  var GATHER_CAP_MS = 2000;
  var RESTART_DELAYS_MS = [1000, 2000, 4000, 8000];
  var STABLE_MS = 60000;
  var VIDEO = { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 30 } };

  function noop() {}

  function log(err) {
    if (global.console) global.console.warn("media:", err);
  }

  function stopTrack(track) {
    if (track) {
      try {
        track.stop();
      } catch (err) {
        // already stopped
      }
    }
  }

  /** Resolve once ICE gathering is complete, or after `ms` at most. */
  function gathered(pc, ms) {
    if (pc.iceGatheringState === "complete") return Promise.resolve();
    return new Promise(function (resolve) {
      var timer = null;
      function done() {
        clearTimeout(timer);
        pc.removeEventListener("icegatheringstatechange", check);
        resolve();
      }
      function check() {
        if (pc.iceGatheringState === "complete") done();
      }
      timer = setTimeout(done, ms);
      pc.addEventListener("icegatheringstatechange", check);
    });
  }

  /** A friendly sentence for a getUserMedia failure (`what`: "camera", "microphone", ...). */
  function explain(err, what) {
    var name = (err && err.name) || "";
    if (name === "NotAllowedError" || name === "SecurityError") {
      return "Your browser did not allow the " + what + ". That's fine: take part without it, or allow it in the address bar and try again.";
    }
    if (name === "NotFoundError" || name === "OverconstrainedError") {
      return "No " + what + " was found. That's fine: you can take part without it.";
    }
    if (name === "NotReadableError" || name === "AbortError") {
      return "The " + what + " seems busy in another app. Close that app and try again, or carry on without it.";
    }
    if (name === "TypeError" || name === "NotSupportedError") {
      return "This browser cannot use a " + what + " here. You can still take part and chat.";
    }
    return "Could not start the " + what + ". You can take part without it.";
  }

  /**
   * One person's camera, microphone and media connection.
   *
   * Callbacks (no-ops by default): onlocal(stream|null) when the local camera changes,
   * onremote(personId, stream) when someone's media arrives or changes, onremoteended(personId),
   * onchange() after the camera, mic or connection state changed, onproblem(message) for
   * something the person should be told, onstate({camera, mic}) to tell the server (the page
   * sends the `media-state` action).
   */
  class MediaSession {
    constructor(options) {
      var opts = options || {};
      this.cameraOn = opts.camera !== false;
      this.micOn = opts.mic !== false;
      this.cameraId = opts.cameraId || "";
      this.micId = opts.micId || "";
      this.forcedMute = false;
      this.audioTrack = null;
      this.videoTrack = null;
      this.localStream = null;
      this.problem = "";

      this.conn = null;
      this.iceServers = [];
      this.pc = null;
      this.generation = 0;
      this.tracks = {};
      this.senders = { audio: null, video: null };
      this.remote = new Map();
      this.offers = Promise.resolve();
      this.ops = Promise.resolve();
      this.starting = false;
      this.heldOffer = null;
      this.restartTimer = null;
      this.failures = 0;
      this.connectedAt = 0;
      this.running = false;
      this.offersHandled = 0;
      this.sentState = "";

      this.onlocal = noop;
      this.onremote = noop;
      this.onremoteended = noop;
      this.onchange = noop;
      this.onproblem = noop;
      this.onstate = noop;
    }

    static supported() {
      return Boolean(global.navigator && navigator.mediaDevices && navigator.mediaDevices.getUserMedia &&
        global.RTCPeerConnection);
    }

    /** Whether the camera is on and sending (a live local video track). */
    cameraLive() {
      return Boolean(this.cameraOn && this.videoTrack && this.videoTrack.readyState === "live");
    }

    /** Whether the microphone is on and heard (not muted by anyone). */
    micLive() {
      return Boolean(this.micOn && !this.forcedMute && this.audioTrack && this.audioTrack.readyState === "live");
    }

    /** The device ids in use (or chosen, while off). */
    currentDevices() {
      function idOf(track, chosen) {
        var settings = track && track.getSettings ? track.getSettings() : {};
        return settings.deviceId || chosen || "";
      }
      return { camera: idOf(this.videoTrack, this.cameraId), mic: idOf(this.audioTrack, this.micId) };
    }

    connectionState() {
      return this.pc ? this.pc.connectionState : "none";
    }

    // ------------------------------------------------------------ local devices

    /** Get the camera and microphone as chosen (both off: nothing to ask). Resolves when done. */
    open() {
      var self = this;
      return this._op(function () {
        return self._acquire(self.micOn && !self.audioTrack, self.cameraOn && !self.videoTrack);
      }).then(function () {
        self._report();
      });
    }

    /** The cameras and microphones ({cameras, mics}: [{id, label}]; `hidden.cameras`/`hidden.mics`:
     * there are some, but the browser names them only after a permission). */
    devices() {
      if (!MediaSession.supported() || !navigator.mediaDevices.enumerateDevices) return Promise.resolve({ cameras: [], mics: [], hidden: {} });
      return navigator.mediaDevices.enumerateDevices().then(function (list) {
        var cameras = [];
        var mics = [];
        var hidden = { cameras: false, mics: false };
        list.forEach(function (d) {
          var cam = d.kind === "videoinput";
          if (!cam && d.kind !== "audioinput") return;
          // Before any permission, browsers list devices without ids or names.
          if (!d.deviceId) {
            hidden[cam ? "cameras" : "mics"] = true;
            return;
          }
          if (cam) cameras.push({ id: d.deviceId, label: d.label || "Camera " + (cameras.length + 1) });
          else mics.push({ id: d.deviceId, label: d.label || "Microphone " + (mics.length + 1) });
        });
        return { cameras: cameras, mics: mics, hidden: hidden };
      }, function () {
        return { cameras: [], mics: [], hidden: {} };
      });
    }

    /** Turn the camera on (a new track from the chosen device) or off (the track stops). */
    setCamera(on) {
      var self = this;
      this.cameraOn = Boolean(on); // the wish counts at once; the work below catches up with it
      return this._op(function () {
        if (!self.cameraOn && self.videoTrack) {
          var old = self.videoTrack;
          self.videoTrack = null;
          stopTrack(old);
          self._localChanged();
        } else if (self.cameraOn && !self.videoTrack) {
          return self._acquire(false, true);
        }
        return self._syncSenders();
      }).then(function () {
        self._report();
      });
    }

    /** Turn the microphone on or off (off keeps the device, silenced; muted by a facilitator: stays off). */
    setMic(on) {
      var self = this;
      if (on && this.forcedMute) return Promise.resolve(); // the page says why (the muted banner)
      this.micOn = Boolean(on);
      this._applyMic();
      return this._op(function () {
        if (self.micOn && !self.audioTrack) return self._acquire(true, false);
        self._applyMic();
        return null;
      }).then(function () {
        self._report();
      });
    }

    /** A facilitator muted (true) or unmuted (false) this person: muted means the mic stays off. */
    setForcedMute(muted) {
      var was = this.forcedMute;
      this.forcedMute = Boolean(muted);
      if (this.forcedMute) this.micOn = false;
      this._applyMic();
      if (was !== this.forcedMute) this._report();
    }

    /** Use another camera; the connection carries on without renegotiating. */
    setCameraDevice(id) {
      var self = this;
      this.cameraId = id || "";
      return this._op(function () {
        if (!self.cameraOn) return null;
        return self._acquire(false, true, true);
      });
    }

    /** Use another microphone; the connection carries on without renegotiating. */
    setMicDevice(id) {
      var self = this;
      this.micId = id || "";
      return this._op(function () {
        if (!self.audioTrack) return null;
        return self._acquire(true, false, true);
      });
    }

    /** Stop the camera and microphone (leaving, removed, ended). */
    release() {
      var self = this;
      return this._op(function () {
        stopTrack(self.videoTrack);
        stopTrack(self.audioTrack);
        self.videoTrack = null;
        self.audioTrack = null;
        self._localChanged();
        return self._syncSenders();
      });
    }

    // ------------------------------------------------------------ the connection

    /** Start (or restart) the media connection over a joined MeetingConnection. */
    start(conn, iceServers) {
      this.conn = conn;
      if (iceServers) this.iceServers = iceServers;
      this.running = true;
      this.sentState = "";
      this._closePc();
      var self = this;
      this.starting = true;
      this.heldOffer = null;
      var generation = this.generation;
      conn.request("media-start").then(function () {
        if (generation !== self.generation) return;
        self.starting = false;
        // The new connection's offer is the last one before `ok`; earlier ones were for the old one.
        var offer = self.heldOffer;
        self.heldOffer = null;
        if (offer) self._queueOffer(offer);
        self._report();
      }, function (err) {
        if (generation !== self.generation) return;
        self.starting = false;
        if (err && (err.error === "disconnected" || err.error === "offline")) return; // joined again later
        if (err && err.error === "meeting-ended") {
          self.running = false;
          return;
        }
        self._problem("Could not start audio and video: " + ((err && err.message) || "please try again."));
        self._scheduleRestart();
      });
    }

    /** Close the media connection (and tell the server when `tell`). */
    stop(tell) {
      this.running = false;
      clearTimeout(this.restartTimer);
      this.restartTimer = null;
      var had = Boolean(this.pc);
      this._closePc();
      if (tell && had && this.conn && this.conn.isOpen()) this.conn.request("media-stop").catch(noop);
    }

    /** The server's `offer` message. */
    handleOffer(offer) {
      if (!this.running || !offer || typeof offer.sdp !== "string") return;
      if (this.starting) {
        this.heldOffer = offer;
        return;
      }
      this._queueOffer(offer);
    }

    /** The server's `media-ended` message: it closed the connection; start again. */
    handleEnded() {
      if (!this.running) return;
      this._closePc();
      this._scheduleRestart();
    }

    // ------------------------------------------------------------ internals

    _op(fn) {
      var next = this.ops.then(fn);
      this.ops = next.catch(log);
      return next;
    }

    _problem(message) {
      this.problem = message;
      try {
        this.onproblem(message);
      } catch (err) {
        log(err);
      }
    }

    _report() {
      try {
        this.onchange();
      } catch (err) {
        log(err);
      }
      if (this.running && this.conn) {
        var state = { camera: this.cameraLive(), mic: this.micLive() };
        var key = JSON.stringify(state);
        if (key === this.sentState) return;
        this.sentState = key;
        try {
          this.onstate(state);
        } catch (err) {
          log(err);
        }
      }
    }

    /** Ask for the microphone and/or camera; `replace` swaps an existing track for another device. */
    _acquire(wantAudio, wantVideo, replace) {
      var self = this;
      if (!wantAudio && !wantVideo) {
        this._localChanged();
        return Promise.resolve();
      }
      if (!MediaSession.supported()) {
        if (wantVideo) this.cameraOn = false;
        if (wantAudio) this.micOn = false;
        this._problem("This browser cannot use a camera or microphone here. You can still take part and chat.");
        this._localChanged();
        return Promise.resolve();
      }
      var constraints = {
        audio: wantAudio ? (this.micId ? { deviceId: { exact: this.micId } } : true) : false,
        video: wantVideo ? Object.assign({}, VIDEO, this.cameraId ? { deviceId: { exact: this.cameraId } } : {}) : false
      };
      return this._getUserMedia(constraints).catch(function (err) {
        // A remembered device that is gone: fall back to any.
        if (err && err.name === "OverconstrainedError" && (self.micId || self.cameraId)) {
          if (wantAudio) self.micId = "";
          if (wantVideo) self.cameraId = "";
          constraints.audio = wantAudio ? true : false;
          constraints.video = wantVideo ? VIDEO : false;
          return self._getUserMedia(constraints);
        }
        throw err;
      }).catch(function (err) {
        var deviceProblem = err && ["NotFoundError", "NotReadableError", "OverconstrainedError", "AbortError"].indexOf(err.name) !== -1;
        if (wantAudio && wantVideo && deviceProblem) {
          // Maybe only one of them is missing or refused: try each on its own.
          return self._getUserMedia({ audio: constraints.audio, video: false }).then(function (stream) {
            return self._getUserMedia({ audio: false, video: constraints.video }).then(function (video) {
              video.getVideoTracks().forEach(function (t) { stream.addTrack(t); });
              return stream;
            }, function (videoErr) {
              self.cameraOn = false;
              self._problem(explain(videoErr, "camera"));
              return stream;
            });
          }, function () {
            return self._getUserMedia({ audio: false, video: constraints.video }).then(function (stream) {
              self.micOn = false;
              self._problem(explain(err, "microphone"));
              return stream;
            });
          });
        }
        throw err;
      }).then(function (stream) {
        var audio = stream.getAudioTracks()[0] || null;
        var video = stream.getVideoTracks()[0] || null;
        if (audio) {
          if (self.audioTrack && self.audioTrack !== audio) stopTrack(self.audioTrack);
          self.audioTrack = audio;
        }
        if (video) {
          if (self.videoTrack && self.videoTrack !== video) stopTrack(self.videoTrack);
          if (self.cameraOn) {
            self.videoTrack = video;
          } else {
            stopTrack(video); // turned off while the browser was asking
          }
        }
        if (wantAudio || wantVideo) self.problem = "";
        self._applyMic();
        self._localChanged();
        return self._syncSenders();
      }, function (err) {
        if (wantVideo && !replace) self.cameraOn = false;
        if (wantAudio && !replace) self.micOn = false;
        var what = wantAudio && wantVideo ? "camera and microphone" : wantVideo ? "camera" : "microphone";
        self._problem(explain(err, what));
        self._localChanged();
      });
    }

    _getUserMedia(constraints) {
      return navigator.mediaDevices.getUserMedia(constraints);
    }

    _applyMic() {
      if (this.audioTrack) this.audioTrack.enabled = Boolean(this.micOn && !this.forcedMute);
    }

    _localChanged() {
      var same = this.localStream && this.videoTrack && this.localStream.getVideoTracks()[0] === this.videoTrack;
      var stream = same ? this.localStream : this.videoTrack ? new MediaStream([this.videoTrack]) : null;
      this.localStream = stream;
      try {
        this.onlocal(stream);
      } catch (err) {
        log(err);
      }
    }

    /** Put the current local tracks on the own senders (idempotent; the last call wins). */
    _syncSenders() {
      var jobs = [];
      var pairs = [["audio", this.audioTrack], ["video", this.cameraOn ? this.videoTrack : null]];
      for (var i = 0; i < pairs.length; i++) {
        var sender = this.senders[pairs[i][0]];
        var track = pairs[i][1] || null;
        if (sender && sender.track !== track) {
          jobs.push(sender.replaceTrack(track).catch(log));
        }
      }
      return Promise.all(jobs);
    }

    _createPc() {
      var self = this;
      var pc = new RTCPeerConnection({ iceServers: this.iceServers || [], bundlePolicy: "max-bundle" });
      var generation = this.generation;
      pc.addEventListener("connectionstatechange", function () {
        if (generation !== self.generation) return;
        var state = pc.connectionState;
        if (state === "connected") {
          self.connectedAt = Date.now();
          self.problem = "";
        } else if (state === "failed") {
          if (self.connectedAt && Date.now() - self.connectedAt > STABLE_MS) self.failures = 0;
          self._closePc();
          self._scheduleRestart();
        }
        self._report();
      });
      this.pc = pc;
      return pc;
    }

    _closePc() {
      this.generation += 1;
      this.starting = false;
      this.heldOffer = null;
      this.offers = Promise.resolve();
      this.senders = { audio: null, video: null };
      this.tracks = {};
      this.connectedAt = 0;
      var pc = this.pc;
      this.pc = null;
      if (pc) {
        try {
          pc.close();
        } catch (err) {
          // already closed
        }
      }
      var self = this;
      Array.from(this.remote.keys()).forEach(function (person) {
        self.remote.delete(person);
        self._callRemoteEnded(person);
      });
    }

    _scheduleRestart() {
      var self = this;
      if (!this.running || this.restartTimer) return;
      if (this.failures >= RESTART_DELAYS_MS.length) {
        this._problem("Audio and video could not connect. Reload the page to try again.");
        return;
      }
      var delay = RESTART_DELAYS_MS[this.failures];
      this.failures += 1;
      this.restartTimer = setTimeout(function () {
        self.restartTimer = null;
        if (self.running && self.conn && self.conn.joined) self.start(self.conn);
      }, delay);
    }

    _queueOffer(offer) {
      var self = this;
      var generation = this.generation;
      this.offers = this.offers.then(function () {
        if (generation !== self.generation) return null;
        return self._answer(offer, generation);
      }).catch(function (err) {
        log(err);
        if (generation === self.generation) {
          self._closePc();
          self._scheduleRestart();
        }
      });
    }

    async _answer(offer, generation) {
      var pc = this.pc || this._createPc();
      this.tracks = offer.tracks || {};
      await pc.setRemoteDescription({ type: "offer", sdp: offer.sdp });
      if (generation !== this.generation) return;
      var transceivers = pc.getTransceivers();
      for (var i = 0; i < transceivers.length; i++) {
        var t = transceivers[i];
        var info = t.mid !== null ? this.tracks[t.mid] : null;
        if (!info || t.stopped || t.currentDirection === "stopped") continue;
        if (info.own) {
          t.direction = "sendonly";
          this.senders[info.kind] = t.sender;
        } else if (t.direction !== "recvonly") {
          t.direction = "recvonly";
        }
      }
      await this._syncSenders();
      this._mapRemote(pc);
      var answer = await pc.createAnswer();
      if (generation !== this.generation) return;
      await pc.setLocalDescription(answer);
      await gathered(pc, GATHER_CAP_MS);
      if (generation !== this.generation) return;
      this.offersHandled += 1;
      await this.conn.request("answer", { sdp: pc.localDescription.sdp }).catch(function (err) {
        // bad-sdp: the server offers again by itself. Others: the next start deals with it.
        log(err);
      });
      this._report();
    }

    /** One MediaStream per other person, from the m-lines that carry them. */
    _mapRemote(pc) {
      var people = new Map();
      var tracks = this.tracks;
      pc.getTransceivers().forEach(function (t) {
        var info = t.mid !== null ? tracks[t.mid] : null;
        if (!info || info.own || !info.person || !t.receiver || !t.receiver.track) return;
        var entry = people.get(info.person) || { audio: null, video: null };
        entry[info.kind === "audio" ? "audio" : "video"] = t.receiver.track;
        people.set(info.person, entry);
      });
      var self = this;
      people.forEach(function (entry, person) {
        var old = self.remote.get(person);
        if (old && old.audio === entry.audio && old.video === entry.video) return;
        entry.stream = new MediaStream([entry.audio, entry.video].filter(Boolean));
        self.remote.set(person, entry);
        try {
          self.onremote(person, entry.stream);
        } catch (err) {
          log(err);
        }
      });
      Array.from(this.remote.keys()).forEach(function (person) {
        if (!people.has(person)) {
          self.remote.delete(person);
          self._callRemoteEnded(person);
        }
      });
    }

    _callRemoteEnded(person) {
      try {
        this.onremoteended(person);
      } catch (err) {
        log(err);
      }
    }
  }

  // Not `window.MediaSession`: browsers already have a global of that name (the Media Session API).
  global.FacilitatorMediaSession = MediaSession;
  if (typeof module !== "undefined" && module.exports) {
    module.exports = { MediaSession: MediaSession };
  }
})(typeof window !== "undefined" ? window : globalThis);
