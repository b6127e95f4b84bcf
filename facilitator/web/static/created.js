// "Your meeting is ready": copy buttons for the two links.
(function () {
  "use strict";

  var status = document.getElementById("copy-status");

  function fallbackCopy(input) {
    input.focus();
    input.select();
    input.setSelectionRange(0, input.value.length);
    var ok = false;
    try {
      ok = document.execCommand("copy");
    } catch (err) {
      ok = false;
    }
    return ok ? Promise.resolve() : Promise.reject(new Error("copy failed"));
  }

  function copy(input) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(input.value).catch(function () {
        return fallbackCopy(input);
      });
    }
    return fallbackCopy(input);
  }

  Array.prototype.forEach.call(document.querySelectorAll("button[data-copy]"), function (button) {
    var input = document.getElementById(button.getAttribute("data-copy"));
    var label = button.getAttribute("data-label") || button.textContent;
    var timer = null;
    if (!input) return;
    input.addEventListener("focus", function () {
      input.select();
    });
    button.addEventListener("click", function () {
      copy(input).then(function () {
        button.textContent = "Copied!";
        button.classList.add("copied");
        if (status) {
          var what = label.replace(/^Copy /, "");
          status.textContent = what.charAt(0).toUpperCase() + what.slice(1) + " copied.";
        }
      }, function () {
        input.focus();
        input.select();
        button.textContent = "Press Ctrl+C to copy";
        if (status) status.textContent = "Copying did not work; the link is selected, press Ctrl+C.";
      }).then(function () {
        clearTimeout(timer);
        timer = setTimeout(function () {
          button.textContent = label;
          button.classList.remove("copied");
        }, 2000);
      });
    });
  });
})();
