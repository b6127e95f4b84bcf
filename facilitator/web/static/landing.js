// Landing page: show the custom agenda fields, read an uploaded file, check the YAML as you type.
(function () {
  "use strict";

  var form = document.getElementById("new-meeting-form");
  if (!form) return;
  var custom = document.getElementById("agenda-custom");
  var fields = document.getElementById("custom-fields");
  var textarea = document.getElementById("yaml");
  var fileInput = document.getElementById("yaml_file");
  var result = document.getElementById("yaml-check");
  var DEBOUNCE_MS = 400;
  var timer = null;
  var lastChecked = null;
  var requestNo = 0;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text != null) node.textContent = String(text);
    return node;
  }

  function syncCustom() {
    if (!custom || !fields) return;
    fields.hidden = !custom.checked;
  }

  // Selecting an agenda card by clicking anywhere on it (not on links, fields or the table).
  Array.prototype.forEach.call(document.querySelectorAll(".agenda-card"), function (card) {
    card.addEventListener("click", function (event) {
      var target = event.target;
      if (target.closest("a, button, input, textarea, select, label, summary, .custom-fields")) return;
      var radio = card.querySelector('input[type="radio"]');
      if (radio && !radio.checked) {
        radio.checked = true;
        radio.dispatchEvent(new Event("change", { bubbles: true }));
      }
    });
  });

  // A datetime-local value has no time zone: send the browser's, so the server reads it right.
  var offset = document.createElement("input");
  offset.type = "hidden";
  offset.name = "tz_offset";
  offset.value = String(new Date().getTimezoneOffset());
  form.appendChild(offset);

  form.addEventListener("change", function (event) {
    if (event.target && event.target.name === "agenda") syncCustom();
  });
  syncCustom();

  function renderTimeline(timeline) {
    var wrap = el("div", "table-wrap");
    var table = el("table", "timeline");
    var caption = el("caption", null, "Timeline");
    table.appendChild(caption);
    var thead = el("thead");
    var head = el("tr");
    ["Starts", "Item", "Length", "Icebreaker"].forEach(function (label) {
      var th = el("th", null, label);
      th.scope = "col";
      head.appendChild(th);
    });
    thead.appendChild(head);
    table.appendChild(thead);
    var tbody = el("tbody");
    timeline.forEach(function (item) {
      var tr = el("tr");
      tr.appendChild(el("td", "num", item.offset));
      tr.appendChild(el("td", null, item.title));
      tr.appendChild(el("td", "num", item.duration));
      var deck = el("td");
      if (item.deck) {
        deck.appendChild(document.createTextNode(item.deck));
        if (item.per_speaker) deck.appendChild(el("span", "muted", " · " + item.per_speaker + " each"));
      } else {
        deck.appendChild(el("span", "muted", "—"));
      }
      tr.appendChild(deck);
      tbody.appendChild(tr);
    });
    table.appendChild(tbody);
    wrap.appendChild(table);
    return wrap;
  }

  function renderList(className, intro, lines) {
    var box = el("div", className);
    box.appendChild(el("p", null, intro));
    var ul = el("ul", "problem-list");
    lines.forEach(function (line) {
      var li = el("li");
      li.appendChild(el("code", null, line));
      ul.appendChild(li);
    });
    box.appendChild(ul);
    return box;
  }

  function showResult(data) {
    result.replaceChildren();
    var errors = Array.isArray(data.errors) ? data.errors : [];
    var warnings = Array.isArray(data.warnings) ? data.warnings : [];
    if (errors.length) {
      var box = renderList("error-box", errors.length === 1 ? "1 problem:" : errors.length + " problems:", errors);
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
    var old = document.getElementById("yaml-errors");
    if (old) old.remove();
  }

  function showMessage(text) {
    result.replaceChildren(el("p", "muted", text));
  }

  function check() {
    var text = textarea.value;
    if (text === lastChecked) return;
    lastChecked = text;
    if (!text.trim()) {
      result.replaceChildren();
      return;
    }
    var mine = ++requestNo;
    showMessage("Checking…");
    fetch("/api/agendas/check", {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      credentials: "same-origin",
      body: JSON.stringify({ yaml: text })
    }).then(function (response) {
      return response.json().catch(function () {
        throw new Error("The server sent an unexpected answer (" + response.status + ").");
      });
    }).then(function (data) {
      if (mine !== requestNo) return;
      showResult(data || {});
    }).catch(function (err) {
      if (mine !== requestNo) return;
      lastChecked = null;
      showMessage("Could not check the agenda right now. " + (err && err.message ? err.message : ""));
    });
  }

  function scheduleCheck() {
    clearTimeout(timer);
    timer = setTimeout(check, DEBOUNCE_MS);
  }

  if (textarea) {
    textarea.addEventListener("input", scheduleCheck);
    textarea.addEventListener("change", scheduleCheck);
    textarea.addEventListener("focus", function () {
      if (custom && !custom.checked) {
        custom.checked = true;
        syncCustom();
      }
    });
  }

  if (fileInput) {
    fileInput.addEventListener("change", function () {
      var file = fileInput.files && fileInput.files[0];
      if (!file) return;
      if (custom) {
        custom.checked = true;
        syncCustom();
      }
      if (file.size > 1024 * 1024) {
        showMessage("That file is larger than 1 MB; agenda files are small.");
        return;
      }
      var reader = new FileReader();
      reader.onload = function () {
        textarea.value = String(reader.result || "");
        // The text now lives in the textarea; do not upload the same agenda twice.
        fileInput.value = "";
        clearTimeout(timer);
        check();
      };
      reader.onerror = function () {
        showMessage("Could not read that file.");
      };
      reader.readAsText(file);
    });
  }

  // Check text that came back from a failed submission straight away.
  if (textarea && textarea.value.trim() && custom && custom.checked && !document.getElementById("yaml-errors")) {
    check();
  }
})();
