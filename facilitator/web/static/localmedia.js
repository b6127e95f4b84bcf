// This browser's camera and microphone: getUserMedia, the device lists and the local tracks.
// No DOM: devices.js shows what the callbacks hand it, and peer.js sends the tracks.

const VIDEO = { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 30 } };
const DEVICE_PROBLEMS = ["NotFoundError", "NotReadableError", "OverconstrainedError", "AbortError"];

/** @typedef {{id: string, label: string}} Device */
/** @typedef {{cameras: Device[], mics: Device[], hidden: {cameras?: boolean, mics?: boolean}}} DeviceList */

function noop() {}

/** @param {unknown} err */
export function log(err) {
  console.warn("media:", err);
}

/** @param {MediaStreamTrack | null} track */
function stopTrack(track) {
  try {
    track?.stop();
  } catch {
    // already stopped
  }
}

/**
 * @param {unknown} err
 * @returns {string} the DOMException name of a getUserMedia failure, or ""
 */
function errorName(err) {
  return err instanceof Error || err instanceof DOMException ? err.name : "";
}

/**
 * A friendly sentence for a getUserMedia failure.
 * @param {unknown} err
 * @param {string} what "camera", "microphone" or "camera and microphone"
 * @returns {string}
 */
function explain(err, what) {
  const name = errorName(err);
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

/** @param {MediaStreamConstraints} constraints */
function getUserMedia(constraints) {
  return navigator.mediaDevices.getUserMedia(constraints);
}

/**
 * The camera and microphone as this person chose them.
 *
 * Callbacks (no-ops by default): onlocal(stream|null) when the local camera changes, onchange()
 * after the camera or mic changed, onproblem(message) for something the person should be told,
 * and sendTracks(), which peer.js sets to put the current tracks on the connection.
 */
export class LocalMedia {
  /** @param {{camera?: boolean, mic?: boolean, cameraId?: string, micId?: string}} [options] */
  constructor(options) {
    const opts = options || {};
    this.cameraOn = opts.camera !== false;
    this.micOn = opts.mic !== false;
    this.cameraId = opts.cameraId || "";
    this.micId = opts.micId || "";
    this.forcedMute = false;
    /** @type {MediaStreamTrack | null} */
    this.audioTrack = null;
    /** @type {MediaStreamTrack | null} */
    this.videoTrack = null;
    /** @type {MediaStream | null} */
    this.localStream = null;
    /** @type {MediaStreamTrack | null} the shared screen, while sharing */
    this.screenTrack = null;
    this.problem = "";
    /** @type {Promise<unknown>} the device work in order: one getUserMedia at a time */
    this.ops = Promise.resolve();

    /** @type {(stream: MediaStream | null) => void} */
    this.onlocal = noop;
    /** @type {() => void} */
    this.onchange = noop;
    /** @type {(message: string) => void} */
    this.onproblem = noop;
    /** @type {() => Promise<unknown>} */
    this.sendTracks = () => Promise.resolve();
    /** @type {() => void} the screen share ended by itself (the browser's "Stop sharing") */
    this.onscreenended = noop;
  }

  /** @returns {boolean} whether this browser can share a screen */
  static canShare() {
    return typeof navigator.mediaDevices?.getDisplayMedia === "function";
  }

  /**
   * Ask the browser for a screen, window or tab to share, and send it.
   * @returns {Promise<MediaStreamTrack>}
   */
  async startScreen() {
    const stream = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 15 } }, audio: false });
    const track = stream.getVideoTracks()[0];
    if (!track) throw new Error("no screen track");
    stopTrack(this.screenTrack);
    this.screenTrack = track;
    track.addEventListener("ended", () => {
      if (this.screenTrack !== track) return;
      this.screenTrack = null;
      this.sendTracks();
      try {
        this.onscreenended();
      } catch (err) {
        log(err);
      }
    });
    await this.sendTracks();
    return track;
  }

  /** Stop sharing the screen (if sharing). */
  stopScreen() {
    const track = this.screenTrack;
    this.screenTrack = null;
    stopTrack(track);
    return this.sendTracks();
  }

  /** @returns {boolean} whether this browser has getUserMedia and WebRTC */
  static supported() {
    return typeof navigator.mediaDevices?.getUserMedia === "function" && typeof window.RTCPeerConnection === "function";
  }

  /** @returns {boolean} whether the camera is on and sending (a live local video track) */
  cameraLive() {
    return Boolean(this.cameraOn && this.videoTrack && this.videoTrack.readyState === "live");
  }

  /** @returns {boolean} whether the microphone is on and heard (not muted by anyone) */
  micLive() {
    return Boolean(this.micOn && !this.forcedMute && this.audioTrack && this.audioTrack.readyState === "live");
  }

  /** @returns {{camera: string, mic: string}} the device ids in use (or chosen, while off) */
  currentDevices() {
    /**
     * @param {MediaStreamTrack | null} track
     * @param {string} chosen
     */
    const idOf = (track, chosen) => track?.getSettings?.().deviceId || chosen || "";
    return { camera: idOf(this.videoTrack, this.cameraId), mic: idOf(this.audioTrack, this.micId) };
  }

  /** The microphone, camera (only while it is on) and shared screen to send. */
  tracks() {
    return { audio: this.audioTrack, video: this.cameraOn ? this.videoTrack : null, screen: this.screenTrack };
  }

  /**
   * Tell the person about a problem (the note under the controls).
   * @param {string} message
   */
  setProblem(message) {
    this.problem = message;
    try {
      this.onproblem(message);
    } catch (err) {
      log(err);
    }
  }

  /** @returns {Promise<void>} once the camera and microphone are open as chosen (both off: nothing to ask) */
  async open() {
    await this.#op(() => this.#acquire(this.micOn && !this.audioTrack, this.cameraOn && !this.videoTrack));
    this.#changed();
  }

  /**
   * The cameras and microphones; `hidden.cameras`/`hidden.mics`: there are some, but the browser
   * names them only after a permission.
   * @returns {Promise<DeviceList>}
   */
  async devices() {
    /** @type {DeviceList} */
    const found = { cameras: [], mics: [], hidden: { cameras: false, mics: false } };
    if (!LocalMedia.supported() || !navigator.mediaDevices.enumerateDevices) return { ...found, hidden: {} };
    let list;
    try {
      list = await navigator.mediaDevices.enumerateDevices();
    } catch {
      return { ...found, hidden: {} };
    }
    for (const d of list) {
      const cam = d.kind === "videoinput";
      if (!cam && d.kind !== "audioinput") continue;
      // Before any permission, browsers list devices without ids or names.
      if (!d.deviceId) {
        found.hidden[cam ? "cameras" : "mics"] = true;
      } else if (cam) {
        found.cameras.push({ id: d.deviceId, label: d.label || "Camera " + (found.cameras.length + 1) });
      } else {
        found.mics.push({ id: d.deviceId, label: d.label || "Microphone " + (found.mics.length + 1) });
      }
    }
    return found;
  }

  /**
   * Turn the camera on (a new track from the chosen device) or off (the track stops).
   * @param {boolean} on
   */
  async setCamera(on) {
    this.cameraOn = Boolean(on); // the wish counts at once; the work below catches up with it
    await this.#op(async () => {
      if (!this.cameraOn && this.videoTrack) {
        const old = this.videoTrack;
        this.videoTrack = null;
        stopTrack(old);
        this.#localChanged();
      } else if (this.cameraOn && !this.videoTrack) {
        return this.#acquire(false, true);
      }
      return this.sendTracks();
    });
    this.#changed();
  }

  /**
   * Turn the microphone on or off (off keeps the device, silenced; muted by a facilitator: stays off).
   * @param {boolean} on
   */
  async setMic(on) {
    if (on && this.forcedMute) return; // the page says why (the muted banner)
    this.micOn = Boolean(on);
    this.#applyMic();
    await this.#op(async () => {
      if (this.micOn && !this.audioTrack) return this.#acquire(true, false);
      this.#applyMic();
      return null;
    });
    this.#changed();
  }

  /**
   * A facilitator muted (true) or unmuted (false) this person: muted means the mic stays off.
   * @param {boolean} muted
   */
  setForcedMute(muted) {
    const was = this.forcedMute;
    this.forcedMute = Boolean(muted);
    if (this.forcedMute) this.micOn = false;
    this.#applyMic();
    if (was !== this.forcedMute) this.#changed();
  }

  /**
   * Use another camera; the connection carries on without renegotiating.
   * @param {string} id
   */
  setCameraDevice(id) {
    this.cameraId = id || "";
    return this.#op(async () => (this.cameraOn ? this.#acquire(false, true, true) : null));
  }

  /**
   * Use another microphone; the connection carries on without renegotiating.
   * @param {string} id
   */
  setMicDevice(id) {
    this.micId = id || "";
    return this.#op(async () => (this.audioTrack ? this.#acquire(true, false, true) : null));
  }

  /** Stop the camera and microphone (leaving, removed, ended). */
  release() {
    return this.#op(() => {
      stopTrack(this.videoTrack);
      stopTrack(this.audioTrack);
      stopTrack(this.screenTrack);
      this.videoTrack = null;
      this.audioTrack = null;
      this.screenTrack = null;
      this.#localChanged();
      return this.sendTracks();
    });
  }

  /**
   * Run device work after the work before it.
   * @template T
   * @param {() => Promise<T> | T} fn
   * @returns {Promise<T>}
   */
  #op(fn) {
    const next = this.ops.then(fn);
    this.ops = next.catch(log);
    return next;
  }

  #changed() {
    try {
      this.onchange();
    } catch (err) {
      log(err);
    }
  }

  /**
   * Ask for the microphone and/or camera; `replace` swaps an existing track for another device.
   * @param {boolean} wantAudio
   * @param {boolean} wantVideo
   * @param {boolean} [replace]
   */
  async #acquire(wantAudio, wantVideo, replace = false) {
    if (!wantAudio && !wantVideo) {
      this.#localChanged();
      return;
    }
    if (!LocalMedia.supported()) {
      if (wantVideo) this.cameraOn = false;
      if (wantAudio) this.micOn = false;
      this.setProblem("This browser cannot use a camera or microphone here. You can still take part and chat.");
      this.#localChanged();
      return;
    }
    // Cleared before asking, so a problem with one of the two (see #eachAlone) stays on screen.
    this.problem = "";
    /** @type {MediaStream} */
    let stream;
    try {
      stream = await this.#request(wantAudio, wantVideo);
    } catch (err) {
      if (wantVideo && !replace) this.cameraOn = false;
      if (wantAudio && !replace) this.micOn = false;
      const what = wantAudio && wantVideo ? "camera and microphone" : wantVideo ? "camera" : "microphone";
      this.setProblem(explain(err, what));
      this.#localChanged();
      return;
    }
    const audio = stream.getAudioTracks()[0] || null;
    const video = stream.getVideoTracks()[0] || null;
    if (audio) {
      if (this.audioTrack && this.audioTrack !== audio) stopTrack(this.audioTrack);
      this.audioTrack = audio;
    }
    if (video) {
      if (this.videoTrack && this.videoTrack !== video) stopTrack(this.videoTrack);
      if (this.cameraOn) this.videoTrack = video;
      else stopTrack(video); // turned off while the browser was asking
    }
    this.#applyMic();
    this.#localChanged();
    await this.sendTracks();
  }

  /**
   * getUserMedia with the chosen devices, falling back to any device when a remembered one is
   * gone, and to each of camera and microphone alone when one of them fails.
   * @param {boolean} wantAudio
   * @param {boolean} wantVideo
   * @returns {Promise<MediaStream>}
   */
  async #request(wantAudio, wantVideo) {
    /** @type {MediaStreamConstraints} */
    const constraints = {
      audio: wantAudio ? (this.micId ? { deviceId: { exact: this.micId } } : true) : false,
      video: wantVideo ? { ...VIDEO, ...(this.cameraId ? { deviceId: { exact: this.cameraId } } : {}) } : false,
    };
    try {
      try {
        return await getUserMedia(constraints);
      } catch (err) {
        // A remembered device that is gone: fall back to any.
        if (errorName(err) !== "OverconstrainedError" || !(this.micId || this.cameraId)) throw err;
        if (wantAudio) this.micId = "";
        if (wantVideo) this.cameraId = "";
        constraints.audio = wantAudio;
        constraints.video = wantVideo ? VIDEO : false;
        return await getUserMedia(constraints);
      }
    } catch (err) {
      // Maybe only one of them is missing or refused: try each on its own.
      if (!(wantAudio && wantVideo && DEVICE_PROBLEMS.includes(errorName(err)))) throw err;
      return this.#eachAlone(constraints, err);
    }
  }

  /**
   * The microphone and the camera asked for one by one, after asking for both failed.
   * @param {MediaStreamConstraints} constraints
   * @param {unknown} bothErr why asking for both failed
   * @returns {Promise<MediaStream>}
   */
  async #eachAlone(constraints, bothErr) {
    /** @type {MediaStream} */
    let stream;
    try {
      stream = await getUserMedia({ audio: constraints.audio, video: false });
    } catch {
      const video = await getUserMedia({ audio: false, video: constraints.video });
      this.micOn = false;
      this.setProblem(explain(bothErr, "microphone"));
      return video;
    }
    try {
      const video = await getUserMedia({ audio: false, video: constraints.video });
      for (const t of video.getVideoTracks()) stream.addTrack(t);
    } catch (videoErr) {
      this.cameraOn = false;
      this.setProblem(explain(videoErr, "camera"));
    }
    return stream;
  }

  #applyMic() {
    if (this.audioTrack) this.audioTrack.enabled = Boolean(this.micOn && !this.forcedMute);
  }

  #localChanged() {
    const same = this.localStream && this.videoTrack && this.localStream.getVideoTracks()[0] === this.videoTrack;
    const stream = same ? this.localStream : this.videoTrack ? new MediaStream([this.videoTrack]) : null;
    this.localStream = stream;
    try {
      this.onlocal(stream);
    } catch (err) {
      log(err);
    }
  }
}
