// How good this browser's own connection is, from its RTCPeerConnection's getStats(): no DOM here,
// so the page (devices.js) only shows the result on the person's own tile.
//
// Loss comes from remote-inbound-rtp (what the server says it lost of what we send) and from
// inbound-rtp (what we lost of what we receive, counted between two samples); the round trip from
// remote-inbound-rtp and the selected candidate pair. The worse of each decides.

/** @typedef {"good" | "fair" | "weak"} Grade */
/** @typedef {{loss: number | null, rtt: number | null}} Sample loss as a fraction (0..1), rtt in seconds */

/** Loss above which the connection is fair, then weak (the server's allocation uses the same 2% and 10%). */
export const FAIR_LOSS = 0.02;
export const WEAK_LOSS = 0.1;
/** Round trips (seconds) above which the connection is fair, then weak. */
export const FAIR_RTT = 0.25;
export const WEAK_RTT = 0.5;

/** Words shown for each grade. */
export const LABELS = /** @type {const} */ ({ good: "Good", fair: "Fair", weak: "Weak" });

/**
 * The grade of one sample; null when the sample says nothing yet.
 * @param {Sample} sample
 * @returns {Grade | null}
 */
export function grade(sample) {
  const { loss, rtt } = sample;
  if (loss === null && rtt === null) return null;
  if ((loss ?? 0) > WEAK_LOSS || (rtt ?? 0) > WEAK_RTT) return "weak";
  if ((loss ?? 0) > FAIR_LOSS || (rtt ?? 0) > FAIR_RTT) return "fair";
  return "good";
}

/**
 * @param {number | null} a
 * @param {number | null} b
 * @returns {number | null} the larger, ignoring unknowns
 */
function worse(a, b) {
  if (a === null) return b;
  if (b === null) return a;
  return Math.max(a, b);
}

/**
 * @param {unknown} value
 * @returns {number | null}
 */
function num(value) {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

/** Turns successive getStats() reports into samples (inbound loss needs the previous totals). */
export class QualityMeter {
  constructor() {
    /** @type {Map<string, {lost: number, received: number}>} inbound-rtp totals by stats id */
    this.totals = new Map();
  }

  /**
   * One sample from one report's entries (``[...report.values()]``).
   * @param {Iterable<Record<string, unknown>>} entries
   * @returns {Sample}
   */
  sample(entries) {
    let loss = /** @type {number | null} */ (null);
    let rtt = /** @type {number | null} */ (null);
    let lost = 0;
    let received = 0;
    let counted = false;
    /** @type {Map<string, {lost: number, received: number}>} */
    const totals = new Map();
    for (const s of entries) {
      if (s.type === "remote-inbound-rtp") {
        loss = worse(loss, num(s.fractionLost));
        rtt = worse(rtt, num(s.roundTripTime));
      } else if (s.type === "candidate-pair" && (s.nominated || s.selected) && s.state === "succeeded") {
        rtt = worse(rtt, num(s.currentRoundTripTime));
      } else if (s.type === "inbound-rtp") {
        const now = { lost: Math.max(0, num(s.packetsLost) ?? 0), received: num(s.packetsReceived) ?? 0 };
        const id = String(s.id);
        totals.set(id, now);
        const before = this.totals.get(id);
        if (before) {
          lost += Math.max(0, now.lost - before.lost);
          received += Math.max(0, now.received - before.received);
          counted = true;
        }
      }
    }
    this.totals = totals;
    if (counted && lost + received > 0) loss = worse(loss, lost / (lost + received));
    else if (counted && loss === null) loss = 0;
    return { loss, rtt };
  }
}
