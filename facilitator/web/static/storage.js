// Browser storage that never throws: private modes and full disks just mean nothing is remembered.

/** @typedef {"local" | "session"} StorageKind */

/**
 * @param {StorageKind} kind
 * @returns {Storage | null}
 */
function store(kind) {
  try {
    return kind === "session" ? window.sessionStorage : window.localStorage;
  } catch {
    return null;
  }
}

/**
 * @param {StorageKind} kind
 * @param {string} key
 * @returns {string | null} the stored value, or null
 */
export function getItem(kind, key) {
  try {
    return store(kind)?.getItem(key) ?? null;
  } catch {
    return null;
  }
}

/**
 * Store a value (null removes it).
 * @param {StorageKind} kind
 * @param {string} key
 * @param {string | null} value
 */
export function setItem(kind, key, value) {
  const s = store(kind);
  try {
    if (!s) return;
    if (value === null) s.removeItem(key);
    else s.setItem(key, value);
  } catch {
    // storage full or disabled: nothing to remember then
  }
}
