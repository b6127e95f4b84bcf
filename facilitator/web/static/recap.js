// Shows the recap's times in the reader's own time zone, 24-hour as in the room (the page says
// UTC without JavaScript).

import { hhmm } from "./format.js";

for (const node of document.querySelectorAll("time.local-time[data-t]")) {
  if (!(node instanceof HTMLTimeElement)) continue;
  const when = new Date(Number(node.dataset.t) * 1000);
  if (!Number.isNaN(when.getTime())) {
    node.textContent = hhmm(when.getTime() / 1000);
    node.dateTime = when.toISOString();
  }
}

for (const node of document.querySelectorAll("time.local-date[data-t]")) {
  if (!(node instanceof HTMLTimeElement)) continue;
  const when = new Date(Number(node.dataset.t) * 1000);
  if (Number.isNaN(when.getTime())) continue;
  const day = when.toLocaleDateString([], { weekday: "long", day: "numeric", month: "long", year: "numeric" });
  const zone = new Intl.DateTimeFormat([], { timeZoneName: "short" }).formatToParts(when)
    .find((part) => part.type === "timeZoneName")?.value || "";
  node.textContent = day + ", " + hhmm(when.getTime() / 1000) + (zone ? " " + zone : "");
  node.dateTime = when.toISOString();
}
