// Landing page: show the custom agenda fields, read an uploaded file, check the YAML as you type.

const DEBOUNCE_MS = 400;
const MAX_FILE_BYTES = 1024 * 1024;

/**
 * One row of the checked agenda's timeline (POST /api/agendas/check).
 * @typedef {{offset: string, title: string, duration: string, deck?: string | null, per_speaker?: string | null}} TimelineRow
 */

/**
 * The check's answer.
 * @typedef {{ok?: boolean, errors?: string[], warnings?: string[], timeline?: TimelineRow[]}} CheckResult
 */

/**
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {string | null} [className]
 * @param {unknown} [text]
 * @returns {HTMLElementTagNameMap[K]}
 */
function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = String(text);
  return node;
}

/**
 * @template {HTMLElement} T
 * @param {string} id
 * @param {new () => T} kind
 * @returns {T | null} the element with that id, if it is of that kind
 */
function byId(id, kind) {
  const node = document.getElementById(id);
  return node instanceof kind ? node : null;
}

/**
 * @param {TimelineRow[]} timeline
 * @returns {HTMLElement}
 */
function renderTimeline(timeline) {
  const wrap = el("div", "table-wrap");
  const table = el("table", "timeline");
  table.appendChild(el("caption", null, "Timeline"));
  const thead = el("thead");
  const head = el("tr");
  for (const label of ["Starts", "Item", "Length", "Icebreaker"]) {
    const th = el("th", null, label);
    th.scope = "col";
    head.appendChild(th);
  }
  thead.appendChild(head);
  table.appendChild(thead);
  const tbody = el("tbody");
  for (const item of timeline) {
    const tr = el("tr");
    tr.appendChild(el("td", "num", item.offset));
    tr.appendChild(el("td", null, item.title));
    tr.appendChild(el("td", "num", item.duration));
    const deck = el("td");
    if (item.deck) {
      deck.appendChild(document.createTextNode(item.deck));
      if (item.per_speaker) deck.appendChild(el("span", "muted", " · " + item.per_speaker + " each"));
    } else {
      deck.appendChild(el("span", "muted", "—"));
    }
    tr.appendChild(deck);
    tbody.appendChild(tr);
  }
  table.appendChild(tbody);
  wrap.appendChild(table);
  return wrap;
}

/**
 * @param {string} className
 * @param {string} intro
 * @param {string[]} lines
 * @returns {HTMLElement}
 */
function renderList(className, intro, lines) {
  const box = el("div", className);
  box.appendChild(el("p", null, intro));
  const ul = el("ul", "problem-list");
  for (const line of lines) {
    const li = el("li");
    li.appendChild(el("code", null, line));
    ul.appendChild(li);
  }
  box.appendChild(ul);
  return box;
}

/** Wire up the new-meeting form, if this page has one. */
function setUp() {
  const form = byId("new-meeting-form", HTMLFormElement);
  const textarea = byId("yaml", HTMLTextAreaElement);
  const result = byId("yaml-check", HTMLElement);
  if (!form || !textarea || !result) return;
  const custom = byId("agenda-custom", HTMLInputElement);
  const fields = byId("custom-fields", HTMLElement);
  const fileInput = byId("yaml_file", HTMLInputElement);
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  /** @type {string | null} */
  let lastChecked = null;
  let requestNo = 0;

  const syncCustom = () => {
    if (custom && fields) fields.hidden = !custom.checked;
  };

  const chooseCustom = () => {
    if (custom && !custom.checked) {
      custom.checked = true;
      syncCustom();
    }
  };

  // Selecting an agenda card by clicking anywhere on it (not on links, fields or the table).
  for (const card of document.querySelectorAll(".agenda-card")) {
    card.addEventListener("click", (event) => {
      const target = event.target;
      if (!(target instanceof Element)) return;
      if (target.closest("a, button, input, textarea, select, label, summary, .custom-fields")) return;
      const radio = card.querySelector('input[type="radio"]');
      if (radio instanceof HTMLInputElement && !radio.checked) {
        radio.checked = true;
        radio.dispatchEvent(new Event("change", { bubbles: true }));
      }
    });
  }

  // A datetime-local value has no time zone: send the browser's, so the server reads it right.
  const offset = document.createElement("input");
  offset.type = "hidden";
  offset.name = "tz_offset";
  offset.value = String(new Date().getTimezoneOffset());
  form.appendChild(offset);

  form.addEventListener("change", (event) => {
    if (event.target instanceof HTMLInputElement && event.target.name === "agenda") syncCustom();
  });
  syncCustom();

  /** @param {CheckResult} data */
  const showResult = (data) => {
    result.replaceChildren();
    const errors = Array.isArray(data.errors) ? data.errors : [];
    const warnings = Array.isArray(data.warnings) ? data.warnings : [];
    if (errors.length) {
      const box = renderList("error-box", errors.length === 1 ? "1 problem:" : errors.length + " problems:", errors);
      box.setAttribute("role", "alert");
      result.appendChild(box);
    } else if (data.ok) {
      result.appendChild(el("p", "ok-line", warnings.length ? "✓ No problems found." : "✓ This agenda looks good."));
    }
    if (warnings.length) {
      result.appendChild(renderList("warn-box", warnings.length === 1 ? "1 warning:" : warnings.length + " warnings:", warnings));
    }
    if (Array.isArray(data.timeline) && data.timeline.length) {
      result.appendChild(renderTimeline(data.timeline));
    }
    // The server-rendered errors are about the text as it was submitted; the live check replaces them.
    document.getElementById("yaml-errors")?.remove();
  };

  /** @param {string} text */
  const showMessage = (text) => {
    result.replaceChildren(el("p", "muted", text));
  };

  const check = async () => {
    const text = textarea.value;
    if (text === lastChecked) return;
    lastChecked = text;
    if (!text.trim()) {
      result.replaceChildren();
      return;
    }
    const mine = ++requestNo;
    showMessage("Checking…");
    try {
      const response = await fetch("/api/agendas/check", {
        method: "POST",
        headers: { "Content-Type": "application/json", "Accept": "application/json" },
        credentials: "same-origin",
        body: JSON.stringify({ yaml: text }),
      });
      /** @type {CheckResult | null} */
      let data;
      try {
        data = await response.json();
      } catch {
        throw new Error("The server sent an unexpected answer (" + response.status + ").");
      }
      if (mine === requestNo) showResult(data || {});
    } catch (err) {
      if (mine !== requestNo) return;
      lastChecked = null;
      showMessage("Could not check the agenda right now. " + (err instanceof Error ? err.message : ""));
    }
  };

  const scheduleCheck = () => {
    clearTimeout(timer);
    timer = setTimeout(check, DEBOUNCE_MS);
  };

  textarea.addEventListener("input", scheduleCheck);
  textarea.addEventListener("change", scheduleCheck);
  textarea.addEventListener("focus", chooseCustom);

  fileInput?.addEventListener("change", () => {
    const file = fileInput.files && fileInput.files[0];
    if (!file) return;
    if (custom) {
      custom.checked = true;
      syncCustom();
    }
    if (file.size > MAX_FILE_BYTES) {
      showMessage("That file is larger than 1 MB; agenda files are small.");
      return;
    }
    const reader = new FileReader();
    reader.onload = () => {
      textarea.value = String(reader.result || "");
      // The text now lives in the textarea; do not upload the same agenda twice.
      fileInput.value = "";
      clearTimeout(timer);
      check();
    };
    reader.onerror = () => showMessage("Could not read that file.");
    reader.readAsText(file);
  });

  // Check text that came back from a failed submission straight away.
  if (textarea.value.trim() && custom?.checked && !document.getElementById("yaml-errors")) check();
}

setUp();
