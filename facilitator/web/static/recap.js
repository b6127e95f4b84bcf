// Shows the recap's times in the reader's own time zone (the page says UTC without JavaScript).

for (const node of document.querySelectorAll("time.local-time[data-t]")) {
  if (!(node instanceof HTMLTimeElement)) continue;
  const when = new Date(Number(node.dataset.t) * 1000);
  if (!Number.isNaN(when.getTime())) {
    node.textContent = when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    node.dateTime = when.toISOString();
  }
}
