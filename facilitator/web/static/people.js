// People: the video tiles, your own controls (hand, sit out, leave), the people list and the lobby.
(function (F) {
  "use strict";

  if (!F.ready) return;
  const { el, actionButton, setText, setHidden, setClass, renderKeyed } = F.dom;
  const { initials, hueOf } = F.format;
  const S = F.S;
  const act = F.act;
  const quietly = F.quietly;
  const D = F.devices;

  // Tiles and own controls
  const tiles = el("section", { id: "tiles", className: "tiles", "aria-label": "People" });
  const handButton = el("button", { type: "button", id: "hand-button", className: "button" }, "Raise hand");
  const optOut = el("input", { type: "checkbox", id: "opt-out" });
  const leaveButton = el("button", { type: "button", id: "leave-button", className: "button button-danger-quiet" }, "Leave");
  const myControls = el("div", { id: "my-controls", className: "my-controls", role: "group", "aria-label": "Your controls" },
    D.mediaSlot,
    handButton,
    el("label", { className: "check", for: "opt-out" }, optOut, " Sit out icebreakers"),
    D.devicesSlot,
    leaveButton);

  // Sidebar: people and the lobby
  const peopleCount = el("span", { id: "people-count", className: "count" });
  const lobbyList = el("ul", { id: "lobby-list", className: "people-list" });
  const admitAll = el("button", { type: "button", id: "admit-all", className: "button button-small" }, "Admit all");
  const lobbySection = el("div", { id: "lobby-section", className: "lobby-section", hidden: true },
    el("div", { className: "lobby-head" }, el("h3", null, "Waiting in the lobby"), admitAll), lobbyList);
  const peopleList = el("ul", { id: "people-list", className: "people-list" });
  const peopleSection = el("section", { id: "people", className: "card", "aria-labelledby": "people-heading" },
    el("h2", { id: "people-heading" }, "People ", peopleCount), lobbySection, peopleList);

  function nameOf(id) {
    const people = (S.state && S.state.people) || [];
    const p = people.find((x) => x.id === id);
    return p ? p.name : "Someone";
  }

  function handOrder(people) {
    const raised = people.filter((p) => p.hand != null && p.state === "in").sort((a, b) => a.hand - b.hand);
    const order = new Map();
    raised.forEach((p, i) => order.set(p.id, i + 1));
    return order;
  }

  // ---------------------------------------------------------------- tiles

  /** Grid sizes by number of tiles (tiles.css picks the columns from this and the width). */
  function gridSize(count) {
    if (count <= 4) return String(Math.max(count, 1));
    if (count <= 6) return "6";
    if (count <= 9) return "9";
    return "16";
  }

  function renderTiles(st) {
    const inRoom = st.people.filter((p) => p.state === "in");
    const hands = handOrder(st.people);
    const speaker = st.icebreaker && !st.icebreaker.finished ? st.icebreaker.speaker : null;
    const me = S.you && S.you.id;
    const old = tiles._tiles || new Map();
    const next = new Map();
    let index = 0;
    for (const p of inRoom) {
      let tile = old.get(p.id);
      if (!tile) tile = buildTile(p.id);
      next.set(p.id, tile);
      updateTile(tile, p, {
        speaking: p.id === speaker, talking: p.id === S.speaking, you: p.id === me, hand: hands.get(p.id),
      });
      const at = tiles.children[index];
      if (at !== tile) tiles.insertBefore(tile, at || null);
      index += 1;
    }
    for (const [id, tile] of old) if (!next.has(id)) tile.remove();
    tiles._tiles = next;
    for (const p of inRoom) D.paintTileMedia(p.id);
    tiles.dataset.count = String(inRoom.length);
    tiles.dataset.size = gridSize(inRoom.length);
  }

  function buildTile(id) {
    const avatar = el("div", { className: "tile-avatar", "aria-hidden": "true" });
    const holder = el("div", { className: "tile-media" }, avatar);
    const name = el("span", { className: "tile-name" });
    const badges = el("span", { className: "tile-badges" });
    const tile = el("article", { className: "tile", dataset: { personId: id } }, holder, el("div", { className: "tile-info" }, name, badges));
    tile._avatar = avatar;
    tile._media = holder;
    tile._name = name;
    tile._badges = badges;
    tile._sig = "";
    return tile;
  }

  function updateTile(tile, p, flags) {
    const sig = JSON.stringify([p.name, p.role, p.muted, p.mic, p.camera, p.hand != null, p.online, flags]);
    if (tile._sig === sig) return;
    tile._sig = sig;
    setText(tile._avatar, initials(p.name));
    setText(tile._name, p.name + (flags.you ? " (you)" : ""));
    const badges = [];
    if (p.role === "facilitator") badges.push(el("span", { className: "badge badge-facilitator" }, "Facilitator"));
    if (flags.speaking) badges.push(el("span", { className: "badge badge-speaking" }, "Speaking"));
    if (p.muted) {
      badges.push(el("span", { className: "badge badge-muted", title: "Muted by a facilitator" },
        "Muted", el("span", { className: "visually-hidden" }, " by a facilitator")));
    } else if (!p.mic) {
      badges.push(el("span", { className: "badge badge-mic-off", title: "Microphone off" }, "Mic off"));
    }
    if (p.hand != null) {
      badges.push(el("span", { className: "badge badge-hand", title: "Hand raised" },
        "✋", el("span", { className: "visually-hidden" }, " Hand raised")));
    }
    tile._badges.replaceChildren(...badges);
    // Highlighted: whoever is talking now (audio levels) and whoever has the icebreaker floor.
    setClass(tile, "is-speaking", flags.speaking || flags.talking);
    setClass(tile, "is-talking", flags.talking);
    setClass(tile, "camera-off", !p.camera);
    setClass(tile, "is-you", flags.you);
    setClass(tile, "has-hand", p.hand != null);
    setClass(tile, "is-muted", p.muted);
    // Hue from the id, so each person keeps a colour.
    tile.dataset.hue = String(hueOf(p.id));
  }

  // ---------------------------------------------------------------- your own controls

  function renderMine(st) {
    const you = S.you || {};
    const raised = you.hand != null;
    setText(handButton, raised ? "Lower hand" : "Raise hand");
    setClass(handButton, "is-raised", raised);
    if (optOut.checked !== Boolean(you.opted_out)) optOut.checked = Boolean(you.opted_out);
    const ended = st.clock.status === "ended";
    handButton.disabled = ended;
    optOut.disabled = ended;
  }

  handButton.addEventListener("click", () => {
    const raised = Boolean(S.you && S.you.hand != null);
    quietly(act("hand", { raised: !raised }));
  });

  optOut.addEventListener("change", () => {
    const value = optOut.checked;
    act("opt-out", { value: value }).catch(() => {
      optOut.checked = !value;
    });
  });

  // ---------------------------------------------------------------- the people list

  function renderPeople(st, host) {
    const me = S.you && S.you.id;
    const inRoom = st.people.filter((p) => p.state === "in");
    const waiting = host ? st.people.filter((p) => p.state === "lobby") : [];
    const hands = handOrder(st.people);
    const speaker = st.icebreaker && !st.icebreaker.finished ? st.icebreaker.speaker : null;
    setText(peopleCount, "(" + inRoom.length + ")");
    // Raised hands first, in raise order; then everyone in arrival order.
    const ordered = inRoom.slice().sort((a, b) => {
      const ha = hands.get(a.id) || Infinity;
      const hb = hands.get(b.id) || Infinity;
      return ha === hb ? 0 : ha - hb;
    });
    renderKeyed(peopleList, ordered, (p) => p.id,
      (p) => JSON.stringify([p, hands.get(p.id) || 0, host, p.id === me, p.id === speaker]),
      (p) => buildPersonRow(p, hands.get(p.id), host, p.id === me, p.id === speaker));
    setHidden(lobbySection, !waiting.length);
    renderKeyed(lobbyList, waiting, (p) => p.id, (p) => JSON.stringify([p.name]), buildLobbyRow);
  }

  function buildPersonRow(p, hand, host, self, speaking) {
    const info = el("div", { className: "person-info" },
      el("span", { className: "avatar-small", "aria-hidden": "true", dataset: { hue: String(hueOf(p.id)) } }, initials(p.name)),
      el("span", { className: "person-name" }, p.name),
      self ? el("span", { className: "person-you" }, " (you)") : null);
    const badges = el("span", { className: "person-badges" });
    if (hand) badges.appendChild(el("span", { className: "badge badge-hand" }, "✋ " + hand, el("span", { className: "visually-hidden" }, " (hand raised)")));
    if (p.role === "facilitator") badges.appendChild(el("span", { className: "badge badge-facilitator" }, "Facilitator"));
    if (speaking) badges.appendChild(el("span", { className: "badge badge-speaking" }, "Speaking"));
    if (p.spoken) badges.appendChild(el("span", { className: "badge badge-spoke", title: "Has spoken in this icebreaker" }, "✓ spoke"));
    if (p.muted) badges.appendChild(el("span", { className: "badge badge-muted" }, "Muted"));
    if (p.opted_out) badges.appendChild(el("span", { className: "badge badge-quiet" }, "sits out"));
    const li = el("li", { className: "person" + (self ? " is-you" : ""), dataset: { personId: p.id } }, info, badges);
    if (host && !self) {
      const actions = el("div", { className: "person-actions", role: "group", "aria-label": "Actions for " + p.name });
      const mute = actionButton(p.muted ? "Unmute" : "Mute", p.name, {
        className: "button button-small", dataset: { focusKey: "mute:" + p.id },
      });
      mute.addEventListener("click", () => quietly(act(p.muted ? "unmute" : "mute", { person: p.id })));
      actions.appendChild(mute);
      if (p.role !== "facilitator") {
        const promote = actionButton("Make facilitator", p.name, {
          className: "button button-small", dataset: { focusKey: "promote:" + p.id },
        });
        promote.addEventListener("click", () => quietly(act("make-facilitator", { person: p.id })));
        actions.appendChild(promote);
      }
      const remove = actionButton("Remove", p.name, {
        className: "button button-small button-danger-quiet", dataset: { focusKey: "remove:" + p.id },
      });
      remove.addEventListener("click", () => {
        if (window.confirm("Remove " + p.name + " from this meeting? They cannot come back.")) {
          quietly(act("remove", { person: p.id }));
        }
      });
      actions.appendChild(remove);
      li.appendChild(actions);
    }
    return li;
  }

  function buildLobbyRow(p) {
    const admit = actionButton("Admit", p.name, {
      className: "button button-small button-primary", dataset: { focusKey: "admit:" + p.id },
    });
    admit.addEventListener("click", () => quietly(act("admit", { person: p.id })));
    return el("li", { className: "person person-waiting", dataset: { personId: p.id } },
      el("div", { className: "person-info" },
        el("span", { className: "avatar-small", "aria-hidden": "true", dataset: { hue: String(hueOf(p.id)) } }, initials(p.name)),
        el("span", { className: "person-name" }, p.name)),
      el("div", { className: "person-actions" }, admit));
  }

  admitAll.addEventListener("click", () => quietly(act("admit-all")));

  F.people = {
    tiles: tiles,
    myControls: myControls,
    leaveButton: leaveButton,
    section: peopleSection,
    nameOf: nameOf,
    tileOf: (id) => (tiles._tiles ? tiles._tiles.get(id) : undefined),
    renderTiles: renderTiles,
    renderMine: renderMine,
    renderPeople: renderPeople,
  };
})(window.Facilitator);
