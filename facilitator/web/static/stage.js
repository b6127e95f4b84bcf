// The stage: where the tiles go. A grid of faces; during an icebreaker turn the speaker is
// spotlit next to the prompt card and the others form a strip; a shared screen takes the stage.
// Tiles keep join order, more than fit go on pages (the speaker is always on screen), and the
// page tells the server whose tiles it shows (the `visible` message).

import { icebreakerCard } from "./agenda.js";
import { el, setClass, setHidden, setText } from "./dom.js";
import { nameOf, tileList } from "./people.js";
import { S, act, conn, isHost, quietly } from "./state.js";

/** @typedef {import("./wire.js").StateView} StateView */
/** @typedef {import("./people.js").Tile} Tile */

const GAP = 8;
const VISIBLE_AFTER_MS = 400;
const VISIBLE_RETRY_MS = 2000;

const spotSlot = el("div", { id: "spotlight-slot", className: "spotlight-slot" });
export const spotlight = el("div", { id: "spotlight", className: "spotlight" }, icebreakerCard, spotSlot);
const shareVideo = el("video", { id: "share-video", className: "share-video", playsinline: true, autoplay: true, "aria-label": "Shared screen" });
shareVideo.muted = true;
const shareCaption = el("p", { id: "share-caption", className: "share-caption" });
const stopShare = el("button", { type: "button", id: "stop-share", className: "button button-small", hidden: true }, "Stop this share");
const shareView = el("div", { id: "share-view", className: "share-view", hidden: true },
  shareVideo, el("div", { className: "share-bar" }, shareCaption, stopShare));
export const tiles = el("section", { id: "tiles", className: "tiles", "aria-label": "People" });
const pagePrev = el("button", { type: "button", id: "page-prev", className: "button button-small" }, "Previous people");
const pageNext = el("button", { type: "button", id: "page-next", className: "button button-small" }, "More people");
const pageText = el("span", { id: "page-text", className: "page-text" });
const pager = el("div", { id: "pager", className: "pager", role: "group", "aria-label": "Pages of people", hidden: true },
  pagePrev, pageText, pageNext);
/** Where room.js puts the banners (muted, ended, hard stop): over the top of the stage. */
export const stageBanners = el("div", { className: "stage-banners" });
export const stage = el("section", { id: "stage", className: "stage", "aria-label": "Stage", dataset: { layout: "grid" } },
  stageBanners, spotlight, shareView, tiles, pager);

/** @type {Map<string, MediaStream>} shared screens by person id (devices.js hands them over) */
const screens = new Map();
let pageIndex = 0;
let sentVisible = "";
/** @type {ReturnType<typeof setTimeout> | undefined} */
let visibleTimer = undefined;

/**
 * The best grid for `count` tiles of `aspect` (width / height) in a `w` x `h` box.
 * @param {number} count
 * @param {number} w
 * @param {number} h
 * @param {number} aspect
 * @returns {{cols: number, w: number, h: number}}
 */
function fit(count, w, h, aspect) {
  let best = { cols: 1, w: 0, h: 0 };
  for (let cols = 1; cols <= Math.max(count, 1); cols += 1) {
    const rows = Math.ceil(count / cols);
    let tw = (w - GAP * (cols - 1)) / cols;
    let th = tw / aspect;
    if (th * rows + GAP * (rows - 1) > h) {
      th = (h - GAP * (rows - 1)) / rows;
      tw = th * aspect;
    }
    if (tw > best.w) best = { cols, w: Math.floor(tw), h: Math.floor(th) };
  }
  return best;
}

/**
 * A tile shape for a box: wide boxes get 16:9 tiles, tall ones (phones) 3:4.
 * @param {number} w
 * @param {number} h
 * @returns {number}
 */
function aspectFor(w, h) {
  const ratio = w / Math.max(h, 1);
  if (ratio > 1.3) return 16 / 9;
  if (ratio < 0.8) return 3 / 4;
  return 1;
}

/**
 * Size `count` tiles into a box, with pages when they would get too small.
 * @param {HTMLElement} box where the tiles are sized (gets --tile-w and --tile-h)
 * @param {number} count
 * @param {number} minWidth
 * @param {number} [aspect]
 * @returns {number} how many tiles fit on one page
 */
function sizeTiles(box, count, minWidth, aspect) {
  // A pixel to spare: clientWidth is rounded, and tiles that fill a fractional box exactly
  // would wrap onto one more row than there is room for.
  const w = box.clientWidth - 1;
  const h = box.clientHeight - 1;
  if (w <= 0 || h <= 0 || !count) return Math.max(count, 1);
  const shape = aspect || aspectFor(w, h);
  let perPage = count;
  while (perPage > 1 && fit(perPage, w, h, shape).w < minWidth) perPage -= 1;
  const best = fit(perPage, w, h, shape);
  box.style.setProperty("--tile-w", best.w + "px");
  box.style.setProperty("--tile-h", best.h + "px");
  return perPage;
}

/** The spotlit speaker fills their box, between 3:4 (tall) and 16:9 (wide). */
function sizeSpotlight() {
  const w = spotSlot.clientWidth;
  const h = spotSlot.clientHeight;
  if (!w || !h) return;
  const tw = Math.floor(Math.min(w, h * 16 / 9));
  const th = Math.floor(Math.min(h, tw * 4 / 3));
  spotSlot.style.setProperty("--tile-w", tw + "px");
  spotSlot.style.setProperty("--tile-h", th + "px");
}

/**
 * Show one person's shared screen (null: it went away).
 * @param {string} personId
 * @param {MediaStream | null} stream
 */
export function setScreen(personId, stream) {
  if (stream) screens.set(personId, stream);
  else screens.delete(personId);
  const st = S.state;
  if (st && st.meeting.sharing === personId && personId !== S.you?.id) showShare(stream);
}

/**
 * @param {MediaStream | null} stream
 */
function showShare(stream) {
  if (shareVideo.srcObject !== stream) {
    shareVideo.srcObject = stream;
    if (stream) shareVideo.play().catch(() => {});
  }
}

/**
 * Where each tile goes for this state.
 * @param {StateView} st
 * @param {MediaStream | null} ownScreen the screen this browser shares, if any
 */
export function renderStage(st, ownScreen) {
  const me = S.you && S.you.id;
  const ib = st.icebreaker;
  const speaker = ib && !ib.finished ? ib.speaker : null;
  const sharer = st.meeting.sharing || null;
  const mode = sharer ? "share" : speaker && tileList().some((t) => t.node.dataset.personId === speaker) ? "spotlight" : "grid";
  stage.dataset.layout = mode;
  setHidden(shareView, mode !== "share");
  setHidden(spotlight, mode === "share" || (mode === "grid" && icebreakerCard.hidden));
  if (sharer) {
    const mine = sharer === me;
    showShare(mine ? ownScreen : screens.get(sharer) || null);
    setText(shareCaption, mine ? "You are sharing your screen" : nameOf(sharer) + " is sharing their screen");
    setHidden(stopShare, !isHost() || mine);
  } else {
    showShare(null);
  }
  layout();
}

/** Put the tiles in place and size them (after every state, and when the window resizes). */
export function layout() {
  const st = S.state;
  if (!st) return;
  const me = S.you && S.you.id;
  const mode = stage.dataset.layout || "grid";
  const ib = st.icebreaker;
  const speaker = mode === "spotlight" && ib ? ib.speaker : null;
  const all = tileList();
  const own = all.find((t) => t.node.dataset.personId === me) || null;
  const others = all.filter((t) => t !== own);
  /** @type {Tile | null} */
  let spot = null;
  /** @type {Tile[]} */
  let flow = [];
  let pip = false;
  if (mode === "spotlight") {
    spot = all.find((t) => t.node.dataset.personId === speaker) || null;
    flow = all.filter((t) => t !== spot);
  } else if (mode === "share") {
    flow = all.slice();
  } else {
    flow = others.length ? others : all;
    pip = Boolean(own && others.length);
  }
  const selfHidden = !S.selfView;
  if (own) {
    setHidden(own.node, selfHidden && own !== spot);
    setClass(own.node, "is-pip", pip && !selfHidden);
    if (pip || (selfHidden && own !== spot)) flow = flow.filter((t) => t !== own);
    if (own.node.parentNode !== tiles && own !== spot) tiles.appendChild(own.node);
  }
  if (spot) {
    setClass(spot.node, "is-pip", false);
    if (spot.node.parentNode !== spotSlot) spotSlot.appendChild(spot.node);
  }
  // Join order, always: append in order (moving a node that is already in place is skipped).
  let index = 0;
  for (const tile of flow) {
    if (tile === own && selfHidden) continue;
    const at = tiles.children[index];
    if (at !== tile.node) tiles.insertBefore(tile.node, at || null);
    index += 1;
  }
  if (own && pip && own.node.parentNode === tiles && tiles.lastElementChild !== own.node) tiles.appendChild(own.node);
  for (const tile of all) {
    if (tile !== spot && tile.node.parentNode === spotSlot) tiles.appendChild(tile.node);
  }
  tiles.dataset.count = String(flow.length);
  if (spot) sizeSpotlight();
  const minWidth = mode === "grid" ? (window.innerWidth < 700 ? 110 : 180) : 96;
  // On a phone (portrait) the strip's tiles are square: more face in the same height.
  const stripShape = window.innerWidth < window.innerHeight ? 1 : 16 / 9;
  const perPage = sizeTiles(tiles, flow.length, minWidth, mode === "grid" ? undefined : stripShape);
  const pages = Math.max(1, Math.ceil(flow.length / perPage));
  pageIndex = Math.min(pageIndex, pages - 1);
  flow.forEach((tile, i) => {
    const onPage = Math.floor(i / perPage) === pageIndex;
    if (tile === own && selfHidden) return;
    setHidden(tile.node, !onPage);
  });
  setHidden(pager, pages <= 1);
  setText(pageText, "Page " + (pageIndex + 1) + " of " + pages);
  pagePrev.disabled = pageIndex === 0;
  pageNext.disabled = pageIndex >= pages - 1;
  reportVisible();
}

/**
 * Tell the server whose tiles are on screen (nobody's while the tab is hidden), at most once
 * per VISIBLE_AFTER_MS. A pending report is not pushed back by later calls: layout runs
 * several times a second while people talk, and a report that kept waiting would never go.
 */
function reportVisible() {
  if (visibleTimer !== undefined) return; // it reads the tiles when it fires
  visibleTimer = setTimeout(() => {
    visibleTimer = undefined;
    const me = S.you && S.you.id;
    const shown = document.hidden || S.screen !== "room" ? [] : tileList()
      .filter((t) => !t.node.hidden && t.node.dataset.personId !== me)
      .map((t) => t.node.dataset.personId || "");
    const key = JSON.stringify(shown);
    if (key === sentVisible || !conn.joined) return;
    sentVisible = key;
    conn.request("visible", { people: shown }).catch((/** @type {{error?: string}} */ info) => {
      sentVisible = ""; // a reconnect says it again (resetVisible); too soon: shortly
      if (info && info.error === "rate-limited") setTimeout(reportVisible, VISIBLE_RETRY_MS);
    });
  }, VISIBLE_AFTER_MS);
}

/** After a reconnect the server knows nothing yet: say it again. */
export function resetVisible() {
  sentVisible = "";
  reportVisible();
}

pagePrev.addEventListener("click", () => {
  pageIndex = Math.max(0, pageIndex - 1);
  layout();
});
pageNext.addEventListener("click", () => {
  pageIndex += 1;
  layout();
});
stopShare.addEventListener("click", () => {
  const sharer = S.state && S.state.meeting.sharing;
  if (sharer) quietly(act("stop-share", { person: sharer }));
});
document.addEventListener("visibilitychange", () => reportVisible());
let frame = 0;
function layoutSoon() {
  // Once per frame, after the resize: sizing tiles inside the observer would loop.
  if (frame) return;
  frame = requestAnimationFrame(() => {
    frame = 0;
    layout();
  });
}
if (typeof ResizeObserver === "function") {
  const observer = new ResizeObserver(layoutSoon);
  observer.observe(stage);
  // The tiles' own box changes without the stage when a card or banner above it comes or goes.
  observer.observe(tiles);
}
window.addEventListener("resize", layoutSoon);
