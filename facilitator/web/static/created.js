// "Your meeting is ready": copy buttons for the two links.

const RESET_AFTER_MS = 2000;

/**
 * Copy the old way: select the text and ask the browser to copy it.
 * @param {HTMLInputElement} input
 * @returns {Promise<void>}
 */
function fallbackCopy(input) {
  input.focus();
  input.select();
  input.setSelectionRange(0, input.value.length);
  let ok = false;
  try {
    ok = document.execCommand("copy");
  } catch {
    ok = false;
  }
  return ok ? Promise.resolve() : Promise.reject(new Error("copy failed"));
}

/**
 * @param {HTMLInputElement} input
 * @returns {Promise<void>}
 */
function copy(input) {
  if (navigator.clipboard && window.isSecureContext) {
    return navigator.clipboard.writeText(input.value).catch(() => fallbackCopy(input));
  }
  return fallbackCopy(input);
}

/**
 * One copy button and the link field it copies.
 * @param {HTMLButtonElement} button
 * @param {HTMLElement | null} status where "copied" is announced
 */
function wire(button, status) {
  const input = document.getElementById(button.getAttribute("data-copy") || "");
  if (!(input instanceof HTMLInputElement)) return;
  const label = button.getAttribute("data-label") || button.textContent || "";
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  input.addEventListener("focus", () => input.select());
  button.addEventListener("click", async () => {
    try {
      await copy(input);
      button.textContent = "Copied!";
      button.classList.add("copied");
      if (status) {
        const what = label.replace(/^Copy /, "");
        status.textContent = what.charAt(0).toUpperCase() + what.slice(1) + " copied.";
      }
    } catch {
      input.focus();
      input.select();
      button.textContent = "Press Ctrl+C to copy";
      if (status) status.textContent = "Copying did not work; the link is selected, press Ctrl+C.";
    }
    clearTimeout(timer);
    timer = setTimeout(() => {
      button.textContent = label;
      button.classList.remove("copied");
    }, RESET_AFTER_MS);
  });
}

const copyStatus = document.getElementById("copy-status");
for (const button of document.querySelectorAll("button[data-copy]")) {
  if (button instanceof HTMLButtonElement) wire(button, copyStatus);
}
