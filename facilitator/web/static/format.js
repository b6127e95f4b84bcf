// Text formats for the meeting page: clock times, durations, countdowns, initials and colours.

/**
 * @param {number} n
 * @returns {string}
 */
function pad2(n) {
  return n < 10 ? "0" + n : String(n);
}

/**
 * Wall-clock time (server seconds) as local HH:MM.
 * @param {unknown} seconds
 * @returns {string}
 */
export function hhmm(seconds) {
  if (typeof seconds !== "number" || !isFinite(seconds)) return "--:--";
  const d = new Date(seconds * 1000);
  return pad2(d.getHours()) + ":" + pad2(d.getMinutes());
}

/**
 * Elapsed seconds as m:ss (h:mm:ss from an hour on): the one rounding rule for durations,
 * the same as `format_span` in facilitator/domain/durations.py, so the room and the recap agree:
 * the fraction is dropped (201.3 s is 3:21). Negative values show as 0:00 in the room.
 * @param {number | null | undefined} seconds
 * @returns {string}
 */
export function mss(seconds) {
  const s = Math.max(0, Math.floor((seconds || 0) + 1e-9));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return (h > 0 ? h + ":" + pad2(m) : String(m)) + ":" + pad2(s % 60);
}

/**
 * A planned duration in words: "5 min", "45 s", "1 min 30 s".
 * @param {number | null | undefined} seconds
 * @returns {string}
 */
export function duration(seconds) {
  const s = Math.round(seconds || 0);
  const m = Math.floor(s / 60);
  const rest = s % 60;
  if (m && rest) return m + " min " + rest + " s";
  if (m) return m + " min";
  return rest + " s";
}

/**
 * A warning threshold in words: "5 minutes left", "30 seconds left".
 * @param {number} seconds
 * @returns {string}
 */
export function thresholdText(seconds) {
  const s = Math.round(seconds);
  if (s >= 60 && s % 60 === 0) {
    const m = s / 60;
    return m === 1 ? "1 minute left" : m + " minutes left";
  }
  return s === 1 ? "1 second left" : s + " seconds left";
}

/**
 * Up to two initials for an avatar ("?" for no name).
 * @param {string | null | undefined} name
 * @returns {string}
 */
export function initials(name) {
  const words = String(name || "").trim().split(/\s+/).filter(Boolean);
  if (!words.length) return "?";
  /** @param {string} word */
  const letter = (word) => {
    const m = word.match(/[\p{L}\p{N}]/u);
    return m ? m[0] : Array.from(word)[0] || "";
  };
  const first = letter(words[0]);
  const second = words.length > 1 ? letter(words[words.length - 1]) : "";
  return (first + second).toUpperCase();
}

/**
 * A colour number (0-7) from a person id, so each person keeps a colour.
 * @param {string} id
 * @returns {number}
 */
export function hueOf(id) {
  let h = 0;
  for (const ch of String(id)) h = (h * 31 + ch.charCodeAt(0)) % 8;
  return h;
}

/**
 * @param {number} total whole seconds
 * @returns {string} "mm:ss" or "h:mm:ss"
 */
function clockText(total) {
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return h > 0 ? h + ":" + pad2(m) + ":" + pad2(s) : pad2(m) + ":" + pad2(s);
}

/**
 * Seconds left on a countdown at server time `now` (negative: overtime).
 * @param {import("./wire.js").Countdown | null | undefined} countdown
 * @param {number} now
 * @returns {number}
 */
export function timeLeft(countdown, now) {
  if (!countdown) return 0;
  return countdown.deadline != null ? countdown.deadline - now : countdown.remaining;
}

/**
 * "mm:ss" (or "h:mm:ss"), rounded up while time is left; "+mm:ss over" in overtime.
 * @param {unknown} seconds
 * @returns {string}
 */
export function countdownText(seconds) {
  if (typeof seconds !== "number" || !isFinite(seconds)) return "--:--";
  // Less than a whole second over is still "00:00", never "+00:00 over".
  if (seconds > -1) return clockText(Math.max(0, Math.ceil(seconds)));
  return "+" + clockText(Math.floor(-seconds)) + " over";
}

/**
 * The hard-stop banner's words: from the time limit on, "This call ends in 0:30" (the call ends by
 * itself `grace` seconds after the limit); "" before the limit.
 * @param {number} meetingLeft
 * @param {number} grace
 * @returns {string}
 */
export function hardStopText(meetingLeft, grace) {
  if (meetingLeft > 0) return "";
  return "This call ends in " + mss(Math.max(0, Math.ceil(grace + meetingLeft)));
}

/**
 * How many seconds before the end a countdown turns amber: the agenda's smallest `warn_at`, but
 * never more than a quarter of a short countdown (a 1-minute item is not amber all along).
 * @param {number[] | undefined} warnAt
 * @param {number | undefined} given the countdown's length
 * @param {number} fallback when the agenda gives no warnings
 * @returns {number}
 */
export function warnThreshold(warnAt, given, fallback) {
  const list = (warnAt || []).filter((t) => typeof t === "number" && t > 0);
  const base = list.length ? Math.min(...list) : fallback;
  return given && given > 0 ? Math.min(base, given / 4) : base;
}
