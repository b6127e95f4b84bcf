// The media connection to the server (docs/protocol.md: media-start, offer, answer, media-stop,
// media-ended): one RTCPeerConnection, offers and answers, restarts. No DOM.
//
// The server always makes the offer. The m-lines marked `own` are where this browser sends its
// microphone (audio) and camera (video); every other m-line carries someone else's media, or
// nothing while its person is null. ICE is not trickled: the answer waits for gathering.
//
// Recovering (docs/media.md, "Recovering from a network change"): the server has no ICE restart
// (aiortc cannot), so a connection that fails, or stays disconnected for DISCONNECTED_MS while
// the server can still be heard, is started again at once over the same WebSocket. Across a
// WebSocket drop the connection is kept: join says `media: true` and the server hands the same
// connection to the new socket (`joined.media`), so nothing restarts.

import { log } from "./localmedia.js";

/** @typedef {import("./localmedia.js").LocalMedia} LocalMedia */
/** @typedef {import("./protocol.js").MeetingConnection} MeetingConnection */
/** @typedef {import("./wire.js").Offer} Offer */
/** @typedef {import("./wire.js").TrackInfo} TrackInfo */
/** @typedef {{audio: MediaStreamTrack | null, video: MediaStreamTrack | null, stream: MediaStream}} Remote */
/** @typedef {"audio" | "video" | "screen"} Slot */

/**
 * @param {string} kind a track map's kind
 * @returns {Slot}
 */
function slotOf(kind) {
  return kind === "audio" ? "audio" : kind === "screen" ? "screen" : "video";
}

const GATHER_CAP_MS = 2000;
const RESTART_DELAYS_MS = [300, 1000, 2000, 4000, 8000];
const STABLE_MS = 60000;
/** A connection disconnected this long while the server is heard from is started again. */
const DISCONNECTED_MS = 2000;
const WATCH_MS = 500;

function noop() {}

/**
 * Resolve once ICE gathering is complete, or after `ms` at most.
 * @param {RTCPeerConnection} pc
 * @param {number} ms
 * @returns {Promise<void>}
 */
function gathered(pc, ms) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      pc.removeEventListener("icegatheringstatechange", check);
      resolve();
    };
    const check = () => {
      if (pc.iceGatheringState === "complete") done();
    };
    const timer = setTimeout(done, ms);
    pc.addEventListener("icegatheringstatechange", check);
  });
}

/**
 * The media connection that sends a LocalMedia's tracks and receives everyone else's.
 *
 * Callbacks (no-ops by default): onremote(personId, stream) when someone's media arrives or
 * changes, onremoteended(personId), onchange() after the connection state changed, and
 * onstate({camera, mic}) to tell the server (the page sends the `media-state` action).
 */
export class MediaLink {
  /** @param {LocalMedia} local the camera and microphone this connection sends */
  constructor(local) {
    this.local = local;
    /** @type {MeetingConnection | null} */
    this.conn = null;
    /** @type {RTCIceServer[]} */
    this.iceServers = [];
    /** @type {RTCPeerConnection | null} */
    this.pc = null;
    this.generation = 0;
    /** @type {Record<string, TrackInfo>} the m-lines of the last offer, by mid */
    this.tracks = {};
    /** @type {{audio: RTCRtpSender | null, video: RTCRtpSender | null, screen: RTCRtpSender | null}} */
    this.senders = { audio: null, video: null, screen: null };
    /** @type {Map<string, Remote>} */
    this.remote = new Map();
    /** @type {Map<string, MediaStreamTrack>} other people's shared screens */
    this.screens = new Map();
    /** @type {Promise<unknown>} */
    this.offers = Promise.resolve();
    this.starting = false;
    /** @type {Offer | null} */
    this.heldOffer = null;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.restartTimer = undefined;
    /** @type {ReturnType<typeof setInterval> | undefined} */
    this.watchTimer = undefined;
    this.disconnectedAt = 0;
    this.probedAt = 0;
    /** Restarts after a failed or stuck connection (tests read it). */
    this.restarts = 0;
    this.failures = 0;
    this.connectedAt = 0;
    this.running = false;
    this.offersHandled = 0;
    this.sentState = "";

    /** @type {(personId: string, stream: MediaStream) => void} */
    this.onremote = noop;
    /** @type {(personId: string) => void} */
    this.onremoteended = noop;
    /** @type {(personId: string, stream: MediaStream | null) => void} someone's screen arrived or went */
    this.onscreen = noop;
    /** @type {() => void} */
    this.onchange = noop;
    /** @type {(state: {camera: boolean, mic: boolean}) => void} */
    this.onstate = noop;

    local.sendTracks = () => this.syncSenders();
  }

  /** @returns {string} the RTCPeerConnection's state, or "none" */
  connectionState() {
    return this.pc ? this.pc.connectionState : "none";
  }

  /**
   * Start (or restart) the media connection over a joined MeetingConnection.
   * @param {MeetingConnection} conn
   * @param {RTCIceServer[]} [iceServers]
   */
  start(conn, iceServers) {
    this.conn = conn;
    if (iceServers) this.iceServers = iceServers;
    this.running = true;
    this.sentState = "";
    this.#closePc();
    this.starting = true;
    this.heldOffer = null;
    const generation = this.generation;
    conn.request("media-start").then(
      () => {
        if (generation !== this.generation) return;
        this.starting = false;
        // The new connection's offer is the last one before `ok`; earlier ones were for the old one.
        const offer = this.heldOffer;
        this.heldOffer = null;
        if (offer) this.#queueOffer(offer);
        this.report();
      },
      (err) => {
        if (generation !== this.generation) return;
        this.starting = false;
        if (err?.error === "disconnected" || err?.error === "offline") return; // joined again later
        if (err?.error === "meeting-ended") {
          this.running = false;
          return;
        }
        this.local.setProblem("Could not start audio and video: " + (err?.message || "please try again."));
        this.#scheduleRestart();
      },
    );
  }

  /**
   * Whether this connection is worth keeping across a WebSocket reconnect (join's `media`).
   * @returns {boolean}
   */
  canKeep() {
    const state = this.pc ? this.pc.connectionState : "closed";
    return this.running && !this.starting && state !== "failed" && state !== "closed";
  }

  /**
   * Joined again and the server kept this connection (`joined.media`): carry on with it.
   * @param {MeetingConnection} conn
   * @returns {boolean} false when it is not worth keeping (start() then)
   */
  resume(conn) {
    if (!this.canKeep()) return false;
    this.conn = conn;
    this.sentState = ""; // the room hears the camera and microphone state again
    this.report();
    return true;
  }

  /**
   * Close the media connection (and tell the server when `tell`).
   * @param {boolean} tell
   */
  stop(tell) {
    this.running = false;
    clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    const had = Boolean(this.pc);
    this.#closePc();
    if (tell && had && this.conn?.isOpen()) this.conn.request("media-stop").catch(noop);
  }

  /**
   * The server's `offer` message.
   * @param {Offer} offer
   */
  handleOffer(offer) {
    if (!this.running || !offer || typeof offer.sdp !== "string") return;
    if (this.starting) {
      this.heldOffer = offer;
      return;
    }
    this.#queueOffer(offer);
  }

  /** The server's `media-ended` message: it closed the connection; start again. */
  handleEnded() {
    if (!this.running) return;
    this.#closePc();
    this.#scheduleRestart();
  }

  /** Start again now over the same WebSocket (a failed or stuck connection). */
  #restartNow() {
    if (!this.running || !this.conn?.joined) return;
    if (this.connectedAt && Date.now() - this.connectedAt > STABLE_MS) this.failures = 0;
    clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    this.restarts += 1;
    this.start(this.conn);
  }

  /**
   * Disconnected: ICE may come back by itself (a short outage); if the server can be heard but
   * the media cannot for DISCONNECTED_MS, the path is gone (a new network): start again.
   * @param {number} generation
   */
  #watchDisconnected(generation) {
    clearInterval(this.watchTimer);
    this.disconnectedAt = Date.now();
    this.watchTimer = setInterval(() => {
      const pc = this.pc;
      if (generation !== this.generation || !pc || pc.connectionState !== "disconnected") {
        clearInterval(this.watchTimer);
        this.watchTimer = undefined;
        return;
      }
      const since = this.disconnectedAt;
      const conn = this.conn;
      const heard = Boolean(conn && conn.isOpen() && conn.joined && conn.heardAt > since);
      if (Date.now() - since >= DISCONNECTED_MS && heard) {
        clearInterval(this.watchTimer);
        this.watchTimer = undefined;
        this.#restartNow();
      } else if (!heard && conn?.isOpen() && Date.now() - this.probedAt >= 1000) {
        this.probedAt = Date.now();
        conn.probe(); // a pong says the network is there and only the media path is not
      }
    }, WATCH_MS);
  }

  /** Tell the page something changed, and the server what it sends now (once per change). */
  report() {
    try {
      this.onchange();
    } catch (err) {
      log(err);
    }
    if (!this.running || !this.conn) return;
    const state = { camera: this.local.cameraLive(), mic: this.local.micLive() };
    const key = JSON.stringify(state);
    if (key === this.sentState) return;
    this.sentState = key;
    try {
      this.onstate(state);
    } catch (err) {
      log(err);
    }
  }

  /** Put the current local tracks on the own senders (idempotent; the last call wins). */
  syncSenders() {
    const tracks = this.local.tracks();
    /** @type {Promise<void>[]} */
    const jobs = [];
    for (const kind of /** @type {const} */ (["audio", "video", "screen"])) {
      const sender = this.senders[kind];
      const track = tracks[kind];
      if (sender && sender.track !== track) jobs.push(sender.replaceTrack(track).catch(log));
    }
    return Promise.all(jobs);
  }

  #createPc() {
    const pc = new RTCPeerConnection({ iceServers: this.iceServers || [], bundlePolicy: "max-bundle" });
    const generation = this.generation;
    pc.addEventListener("connectionstatechange", () => {
      if (generation !== this.generation) return;
      const state = pc.connectionState;
      if (state === "connected") {
        this.connectedAt = Date.now();
        this.local.problem = "";
      } else if (state === "failed") {
        if (this.connectedAt && Date.now() - this.connectedAt > STABLE_MS) this.failures = 0;
        this.#closePc();
        this.restarts += 1;
        this.#scheduleRestart();
      } else if (state === "disconnected") {
        this.#watchDisconnected(generation);
      }
      this.report();
    });
    this.pc = pc;
    return pc;
  }

  #closePc() {
    this.generation += 1;
    clearInterval(this.watchTimer);
    this.watchTimer = undefined;
    this.starting = false;
    this.heldOffer = null;
    this.offers = Promise.resolve();
    this.senders = { audio: null, video: null, screen: null };
    this.tracks = {};
    this.connectedAt = 0;
    const pc = this.pc;
    this.pc = null;
    try {
      pc?.close();
    } catch {
      // already closed
    }
    for (const person of Array.from(this.remote.keys())) {
      this.remote.delete(person);
      this.#remoteEnded(person);
    }
    this.#mapScreens(new Map());
  }

  #scheduleRestart() {
    if (!this.running || this.restartTimer) return;
    if (this.failures >= RESTART_DELAYS_MS.length) {
      this.local.setProblem("Audio and video could not connect. Reload the page to try again.");
      return;
    }
    const delay = RESTART_DELAYS_MS[this.failures];
    this.failures += 1;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.running && this.conn?.joined) this.start(this.conn);
    }, delay);
  }

  /** @param {Offer} offer */
  #queueOffer(offer) {
    const generation = this.generation;
    this.offers = this.offers
      .then(() => (generation === this.generation ? this.#answer(offer, generation) : null))
      .catch((err) => {
        log(err);
        if (generation === this.generation) {
          this.#closePc();
          this.#scheduleRestart();
        }
      });
  }

  /**
   * Answer one offer: own m-lines send, the others receive.
   * @param {Offer} offer
   * @param {number} generation
   */
  async #answer(offer, generation) {
    const pc = this.pc || this.#createPc();
    this.tracks = offer.tracks || {};
    await pc.setRemoteDescription({ type: "offer", sdp: offer.sdp });
    if (generation !== this.generation) return;
    for (const t of pc.getTransceivers()) {
      const info = t.mid !== null ? this.tracks[t.mid] : null;
      const stopped = "stopped" in t && Boolean(t.stopped); // older browsers
      if (!info || stopped || t.currentDirection === "stopped") continue;
      if (info.own) {
        t.direction = "sendonly";
        this.senders[slotOf(info.kind)] = t.sender;
      } else if (t.direction !== "recvonly") {
        t.direction = "recvonly";
      }
    }
    await this.syncSenders();
    this.#mapRemote(pc);
    const answer = await pc.createAnswer();
    if (generation !== this.generation) return;
    await pc.setLocalDescription(answer);
    await askTemporalLayers(this.senders.video);
    await gathered(pc, GATHER_CAP_MS);
    if (generation !== this.generation || !this.conn) return;
    this.offersHandled += 1;
    // bad-sdp: the server offers again by itself. Others: the next start deals with it.
    await this.conn.request("answer", { sdp: pc.localDescription?.sdp }).catch(log);
    this.report();
  }

  /**
   * One MediaStream per other person, from the m-lines that carry them.
   * @param {RTCPeerConnection} pc
   */
  #mapRemote(pc) {
    /** @type {Map<string, {audio: MediaStreamTrack | null, video: MediaStreamTrack | null}>} */
    const people = new Map();
    /** @type {Map<string, MediaStreamTrack>} */
    const screens = new Map();
    for (const t of pc.getTransceivers()) {
      const info = t.mid !== null ? this.tracks[t.mid] : null;
      if (!info || info.own || !info.person || !t.receiver?.track) continue;
      if (info.kind === "screen") {
        screens.set(info.person, t.receiver.track);
        continue;
      }
      const entry = people.get(info.person) || { audio: null, video: null };
      entry[info.kind === "audio" ? "audio" : "video"] = t.receiver.track;
      people.set(info.person, entry);
    }
    for (const [person, tracks] of people) {
      const old = this.remote.get(person);
      if (old && old.audio === tracks.audio && old.video === tracks.video) continue;
      const live = [tracks.audio, tracks.video].filter((t) => t !== null);
      const entry = { ...tracks, stream: new MediaStream(live) };
      this.remote.set(person, entry);
      try {
        this.onremote(person, entry.stream);
      } catch (err) {
        log(err);
      }
    }
    for (const person of Array.from(this.remote.keys())) {
      if (!people.has(person)) {
        this.remote.delete(person);
        this.#remoteEnded(person);
      }
    }
    this.#mapScreens(screens);
  }

  /**
   * Tell the page about screens that arrived, changed or went.
   * @param {Map<string, MediaStreamTrack>} screens
   */
  #mapScreens(screens) {
    const changes = [];
    for (const [person, track] of screens) {
      if (this.screens.get(person) !== track) changes.push({ person, stream: new MediaStream([track]) });
    }
    for (const person of this.screens.keys()) {
      if (!screens.has(person)) changes.push({ person, stream: null });
    }
    this.screens = screens;
    for (const change of changes) {
      try {
        this.onscreen(change.person, change.stream);
      } catch (err) {
        log(err);
      }
    }
  }

  /** @param {string} person */
  #remoteEnded(person) {
    try {
      this.onremoteended(person);
    } catch (err) {
      log(err);
    }
  }
}

/**
 * Ask the camera's encoder for three VP8 temporal layers (L1T3), so the server can send a weak
 * connection a lower frame rate instead of pausing the video. Browsers that refuse keep one.
 * @param {RTCRtpSender | null} sender
 */
async function askTemporalLayers(sender) {
  if (!sender) return;
  try {
    const params = sender.getParameters();
    // scalabilityMode is in WebRTC-SVC, not yet in TypeScript's DOM types.
    const encodings = /** @type {(RTCRtpEncodingParameters & {scalabilityMode?: string})[]} */ (params.encodings || []);
    if (!encodings.length || encodings[0].scalabilityMode === "L1T3") return;
    encodings[0].scalabilityMode = "L1T3";
    await sender.setParameters(params);
  } catch (err) {
    log(err);
  }
}
