// Sharing your screen: the control bar's button, the browser's picker (getDisplayMedia), and
// the meeting's say (one sharer at a time; a facilitator can stop anyone's share).

import { media } from "./devices.js";
import { el, setClass, setHidden, setText } from "./dom.js";
import { LocalMedia } from "./localmedia.js";
import { nameOf } from "./people.js";
import { S, act, quietly } from "./state.js";
import { toast } from "./toast.js";

/** @typedef {import("./wire.js").StateView} StateView */

export const shareButton = el("button", { type: "button", id: "share-button", className: "button bar-button", "aria-pressed": "false" }, "Share screen");
let starting = false;
/** @type {MediaStream | null} */
let ownStream = null;

/** @returns {MediaStream | null} the screen this browser shares (its own preview on the stage) */
export function ownScreen() {
  const track = media && media.screenTrack;
  if (!track) {
    ownStream = null;
    return null;
  }
  if (!ownStream || ownStream.getVideoTracks()[0] !== track) ownStream = new MediaStream([track]);
  return ownStream;
}

async function start() {
  if (!media || starting) return;
  starting = true;
  paint();
  try {
    await media.startScreen();
  } catch {
    starting = false;
    paint();
    return; // the person closed the picker: nothing to say
  }
  try {
    await act("share-start");
  } catch {
    await media.stopScreen(); // someone else shares: the toast said so
  }
  starting = false;
  paint();
}

function stop() {
  if (media) quietly(media.stopScreen());
  quietly(act("share-stop"));
  paint();
}

shareButton.addEventListener("click", () => {
  if (media && media.screenTrack) stop();
  else quietly(start());
});

if (media) {
  // The browser's own "Stop sharing" button ends the track.
  media.onscreenended = () => {
    quietly(act("share-stop", {}, { toast: false }));
    paint();
  };
}

/** Show the button as it is now. */
function paint() {
  const st = S.state;
  const mine = Boolean(media && media.screenTrack);
  const other = st && st.meeting.sharing && st.meeting.sharing !== S.you?.id ? st.meeting.sharing : null;
  setText(shareButton, mine ? "Stop sharing" : "Share screen");
  shareButton.setAttribute("aria-pressed", mine ? "true" : "false");
  setClass(shareButton, "is-pressed", mine);
  const ended = Boolean(st && st.clock.status === "ended");
  shareButton.disabled = starting || ended || (!mine && Boolean(other));
  shareButton.title = other && !mine ? nameOf(other) + " is sharing their screen." : "";
}

/**
 * After every state: a share the meeting no longer has (a facilitator stopped it) stops here.
 * @param {StateView} st
 */
export function renderShare(st) {
  setHidden(shareButton, !media || !LocalMedia.canShare());
  if (media && media.screenTrack && !starting && st.meeting.sharing !== S.you?.id) {
    quietly(media.stopScreen());
    toast("Your screen share was stopped.");
  }
  paint();
}
