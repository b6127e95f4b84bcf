// Shows the recap's times in the reader's own time zone (the page says UTC without JavaScript).
"use strict";
document.querySelectorAll("time.local-time[data-t]").forEach((el) => {
  const when = new Date(Number(el.dataset.t) * 1000);
  if (!Number.isNaN(when.getTime())) {
    el.textContent = when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    el.dateTime = when.toISOString();
  }
});
