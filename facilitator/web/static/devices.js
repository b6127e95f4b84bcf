// Camera and microphone on the page: preview, toggles, device pickers, and everyone's video and sound.

import { el, setText, setHidden, setClass } from "./dom.js";
import { initials } from "./format.js";
import { LocalMedia } from "./localmedia.js";
import { MediaLink } from "./peer.js";
import { tileOf } from "./people.js";
import { LABELS, QualityMeter, grade } from "./quality.js";
import { setScreen } from "./stage.js";
import { S, act, conn } from "./state.js";
import { getItem, setItem } from "./storage.js";

/** @typedef {import("./localmedia.js").Device} Device */
/** @typedef {{stream: MediaStream | null, video: HTMLVideoElement, audio: HTMLAudioElement, frames: boolean}} RemoteMedia */

const CAMERA_KEY = "facilitator.camera";
const MIC_KEY = "facilitator.mic";
const CAMERA_DEVICE_KEY = "facilitator.cameraDevice";
const MIC_DEVICE_KEY = "facilitator.micDevice";
const OPEN_WAIT_MS = 4000;
const QUALITY_MS = 2000;

/** The camera and microphone (localmedia.js); null where the browser has no WebRTC. */
export const media = LocalMedia.supported()
? new LocalMedia({
  camera: getItem("local", CAMERA_KEY) !== "off",
  mic: getItem("local", MIC_KEY) !== "off",
  cameraId: getItem("local", CAMERA_DEVICE_KEY) || "",
  micId: getItem("local", MIC_DEVICE_KEY) || "",
})
: null;
/** The media connection (peer.js) that sends them; null without WebRTC. */
export const link = media ? new MediaLink(media) : null;

/**
 * A muted, inline, autoplaying video element.
 * @param {import("./dom.js").Props} props
 * @returns {HTMLVideoElement}
 */
function mediaVideo(props) {
  const video = el("video", { playsinline: true, autoplay: true, ...props });
  video.muted = true;
  video.autoplay = true;
  video.playsInline = true;
  return video;
}
// One set of controls, shown on the pre-join screen and then moved into the room (so each
// control and label exists once).
const previewVideo = mediaVideo({ id: "preview-video", className: "preview-video mirror", "aria-label": "Your camera preview" });
const previewAvatar = el("span", { className: "preview-avatar", "aria-hidden": "true" }, "?");
const previewOff = el("div", { id: "preview-off", className: "preview-off" },
  previewAvatar,
  el("span", null, "Camera off is fine."));
const previewBox = el("div", { id: "preview-box", className: "preview-box" }, previewVideo, previewOff);
const cameraButton = el("button", { type: "button", id: "camera-button", className: "button media-toggle bar-button", "aria-pressed": "false" }, "Camera off");
const micButton = el("button", { type: "button", id: "mic-button", className: "button media-toggle bar-button", "aria-pressed": "false" }, "Mic off");
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
export const preview = el("div", { id: "preview", className: "preview" }, previewBox, mediaToggles, mediaNote, devices);

// Where the controls go in the room (room.js puts the slots in "Your controls").
export const mediaSlot = el("div", { className: "media-slot" });
export const devicesSlot = el("div", { className: "devices-slot" });
export const noteSlot = el("div", { className: "note-slot" });
// Other people's sound plays from these (their tiles' videos stay muted).
export const remoteAudio = el("div", { id: "remote-audio", className: "remote-audio", hidden: true });
export const soundButton = el("button", { type: "button", id: "sound-button", className: "button button-primary", hidden: true }, "Turn on sound");

/**
 * The camera/mic toggles, device pickers and note live on the pre-join screen, then in the room.
 * @param {string} screen the screen now shown
 */
export function placeMediaControls(screen) {
  if (screen === "room") {
    if (mediaToggles.parentNode !== mediaSlot) mediaSlot.appendChild(mediaToggles);
    if (devices.parentNode !== devicesSlot) devicesSlot.appendChild(devices);
    if (mediaNote.parentNode !== noteSlot) noteSlot.appendChild(mediaNote);
  } else if (screen === "prejoin" || screen === "lobby") {
    if (mediaToggles.parentNode !== preview) preview.append(previewBox, mediaToggles, mediaNote, devices);
  }
}

/** @type {Map<string, RemoteMedia>} remote people's media elements by person id */
const remote = new Map();
/** @type {HTMLVideoElement | null} */
let ownVideo = null;

/** @param {HTMLMediaElement} element */
function playQuietly(element) {
  element.play().catch((err) => {
    // Sound before any click on the page may be refused: offer a button.
    if (err && err.name === "NotAllowedError" && element.tagName === "AUDIO") setHidden(soundButton, false);
  });
}

soundButton.addEventListener("click", () => {
  setHidden(soundButton, true);
  for (const entry of remote.values()) playQuietly(entry.audio);
});

function renderMediaControls() {
  if (!media || S.endedNotice) {
    // No media (or the call is over): the buttons say what is true, off.
    cameraButton.setAttribute("aria-pressed", "false");
    micButton.setAttribute("aria-pressed", "false");
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

/** @type {WeakMap<HTMLSelectElement, string>} what each picker shows, to skip needless rebuilds */
const shown = new WeakMap();

/**
 * @param {HTMLSelectElement} select
 * @param {Device[]} list
 * @param {string} current
 * @param {string} offText
 */
function fillSelect(select, list, current, offText) {
  const sig = JSON.stringify([list, current]);
  if (shown.get(select) === sig) return;
  shown.set(select, sig);
  const options = list.map((d) => el("option", { value: d.id }, d.label));
  if (!options.length) options.push(el("option", { value: "" }, offText));
  select.replaceChildren(...options);
  if (list.some((d) => d.id === current)) select.value = current;
  select.disabled = !list.length;
}

function refreshDevices() {
  if (!media) return Promise.resolve();
  return media.devices().then((found) => {
    const now = media ? media.currentDevices() : { camera: "", mic: "" };
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

/**
 * @param {string} personId
 * @returns {RemoteMedia}
 */
function remoteEntry(personId) {
  let entry = remote.get(personId);
  if (!entry) {
    const video = mediaVideo({ className: "tile-video", "aria-hidden": "true" });
    const audio = el("audio", { autoplay: true });
    audio.autoplay = true;
    /** @type {RemoteMedia} */
    const made = { stream: null, video, audio, frames: false };
    const seen = () => {
      const had = made.frames;
      made.frames = video.videoWidth > 0;
      if (had !== made.frames) paintTileMedia(personId);
    };
    entry = made;
    video.addEventListener("resize", seen);
    video.addEventListener("loadeddata", seen);
    video.addEventListener("playing", seen);
    remote.set(personId, entry);
    remoteAudio.appendChild(audio);
  }
  return entry;
}

/**
 * Put the right video in a tile and show it, or the initials when the camera is off.
 * @param {string} personId
 */
export function paintTileMedia(personId) {
  const tile = tileOf(personId);
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
  const holder = tile.holder;
  const current = holder.querySelector("video");
  if (current && current !== video) current.remove();
  if (video && video.parentNode !== holder) {
    holder.appendChild(video);
    // A video taken out of the page pauses: a tile made again (its person was offline a
    // moment, their media kept) must play it again.
    if (video.paused) playQuietly(video);
  }
  setClass(tile.node, "has-video", Boolean(video) && show);
  if (personId === me) paintQuality(tile.node);
}

// ---------------------------------------------------------------- your connection's quality

const meter = new QualityMeter();
/** @type {import("./quality.js").Grade | null} this browser's connection, from its own getStats() */
let ownGrade = null;

/**
 * Show the connection's grade on the person's own tile (nothing until there is one).
 * @param {HTMLElement} tileNode
 */
function paintQuality(tileNode) {
  const info = tileNode.querySelector(".tile-info");
  let badge = /** @type {HTMLElement | null} */ (tileNode.querySelector(".tile-quality"));
  if (!ownGrade || !info) {
    badge?.remove();
    return;
  }
  if (!badge) {
    badge = el("span", { className: "tile-quality" });
    info.appendChild(badge);
  }
  if (badge.dataset.quality === ownGrade) return;
  badge.dataset.quality = ownGrade;
  badge.title = "Your connection: " + LABELS[ownGrade].toLowerCase();
  // The corner tile is narrow: there the word "Connection" is for screen readers only (CSS).
  badge.replaceChildren(el("span", { className: "tile-quality-what" }, "Connection: "), LABELS[ownGrade].toLowerCase());
}

/**
 * Set the grade shown (the sampler below, or the browser tests' hook).
 * @param {import("./quality.js").Grade | null} value
 */
export function showQuality(value) {
  ownGrade = value;
  const tile = S.you ? tileOf(S.you.id) : undefined;
  if (tile) paintQuality(tile.node);
}

async function sampleQuality() {
  const pc = link?.pc;
  if (!pc || pc.connectionState !== "connected") {
    if (ownGrade) showQuality(null);
    return;
  }
  try {
    const report = await pc.getStats();
    showQuality(grade(meter.sample(/** @type {Iterable<Record<string, unknown>>} */ (report.values()))));
  } catch {
    // The connection closed while sampling: the next sample says so.
  }
}

if (link) setInterval(() => void sampleQuality(), QUALITY_MS);

if (media && link) {
  media.onlocal = (stream) => {
    if (previewVideo.srcObject !== stream) {
      previewVideo.srcObject = stream;
      if (stream) playQuietly(previewVideo);
    }
    if (ownVideo && !stream) ownVideo.srcObject = null;
    renderMediaControls();
    if (S.you) paintTileMedia(S.you.id);
  };
  media.onchange = () => link.report();
  conn.keepsMedia = () => link.canKeep();
  link.onchange = () => {
    renderMediaControls();
    if (S.you) paintTileMedia(S.you.id);
  };
  media.onproblem = () => {
    renderMediaControls(); // the note under the controls says it (role="status")
  };
  link.onstate = (state) => {
    act("media-state", state, { toast: false }).catch(() => {
      link.sentState = ""; // say it again with the next change
    });
  };
  link.onremote = (personId, stream) => {
    const entry = remoteEntry(personId);
    entry.stream = stream;
    entry.frames = false;
    entry.video.srcObject = stream;
    entry.audio.srcObject = stream;
    playQuietly(entry.video);
    playQuietly(entry.audio);
    paintTileMedia(personId);
  };
  link.onscreen = (personId, stream) => setScreen(personId, stream);
  link.onremoteended = (personId) => {
    const entry = remote.get(personId);
    if (!entry) return;
    remote.delete(personId);
    entry.video.srcObject = null;
    entry.audio.srcObject = null;
    entry.video.remove();
    entry.audio.remove();
    const tile = tileOf(personId);
    if (tile) setClass(tile.node, "has-video", false);
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
    const on = !media.micOn;
    media.setMic(on).then(() => {
      rememberMedia();
      refreshDevices();
    });
    renderMediaControls();
    // The server has the last word: a facilitator's mute keeps the microphone off.
    if (on && conn.joined) {
      act("unmute-self", {}, { toast: false }).catch((err) => {
        if (err?.error === "muted-by-facilitator") media.setForcedMute(true);
      });
    }
  });
  cameraSelect.addEventListener("change", () => {
    setItem("local", CAMERA_DEVICE_KEY, cameraSelect.value);
    media.setCameraDevice(cameraSelect.value).then(refreshDevices);
  });
  micSelect.addEventListener("change", () => {
    setItem("local", MIC_DEVICE_KEY, micSelect.value);
    media.setMicDevice(micSelect.value).then(refreshDevices);
  });
  navigator.mediaDevices.addEventListener("devicechange", () => refreshDevices());
}

let mediaStarts = 0;

/**
 * Joined: open the camera and microphone, then the media connection.
 * @param {import("./wire.js").JoinedView} value the `joined` message
 */
export function startMedia(value) {
  if (!media || !link || S.endedNotice) return;
  media.setForcedMute(Boolean(S.you && S.you.muted));
  const token = ++mediaStarts;
  // Back after a WebSocket drop with the media connection kept by the server: nothing restarts.
  if (value.media && link.resume(conn)) return;
  // Camera and microphone first (already open unless the person left before), then connect:
  // until a camera or microphone permission is settled, Chrome hides this computer's addresses
  // behind mDNS names, which some networks cannot resolve. Do not wait for ever, though.
  const opened = media.open().then(refreshDevices);
  const cap = new Promise((resolve) => setTimeout(resolve, OPEN_WAIT_MS));
  Promise.race([opened, cap]).then(() => {
    if (token !== mediaStarts || !conn.joined || S.endedNotice || S.screen !== "room") return;
    link.start(conn, value.ice_servers || []);
  });
}

/** Leaving or removed: no more media, and the camera light goes off. */
export function stopMedia() {
  if (!media || !link) return;
  mediaStarts += 1;
  link.stop(false);
  media.release();
  setHidden(soundButton, true);
}

/** The call is over: no more media, and the camera light goes off. */
export function endMedia() {
  if (media && link && (link.running || media.localStream || media.audioTrack)) {
    link.stop(true);
    media.release();
  }
  renderMediaControls();
}

/** Open the camera and microphone again (rejoining after leaving). */
export function reopen() {
  if (media) media.open().then(refreshDevices);
}

/** First paint: ask for the camera and microphone now, so the preview shows and the pickers get names. */
export function start() {
  renderMediaControls();
  if (media) {
    media.open().then(refreshDevices);
  } else {
    mediaNote.textContent = "This browser cannot use a camera or microphone here. You can still take part and chat.";
    setHidden(mediaNote, false);
  }
}

/**
 * The pre-join preview shows the initials of the name being typed.
 * @param {string} text
 */
export function setPreviewName(text) {
  setText(previewAvatar, initials(text));
}

/**
 * The server's `offer` message.
 * @param {import("./wire.js").Offer} offer
 */
export function handleOffer(offer) {
  link?.handleOffer(offer);
}

/**
 * The server's `media-ended` message.
 * @param {import("./wire.js").MediaEnded} value
 * @returns {boolean} whether another tab of this person took the camera and microphone over
 */
export function handleMediaEnded(value) {
  if (!link) return false;
  if (value.reason === "replaced") {
    // Another tab of this person took over the camera and microphone: do not fight it.
    link.stop(false);
    return true;
  }
  link.handleEnded();
  return false;
}

/**
 * A facilitator muted or unmuted this person.
 * @param {boolean} muted
 */
export function setForcedMute(muted) {
  if (media && media.forcedMute !== Boolean(muted)) media.setForcedMute(muted);
}

/**
 * Put everyone's video in their tile (after people.js rendered the tiles).
 * @param {import("./wire.js").StateView} st
 */
export function paintTiles(st) {
  for (const p of st.people) if (p.state === "in") paintTileMedia(p.id);
}
