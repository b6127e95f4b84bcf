"""The browser JavaScript speaks the protocol the server speaks (read from source, no browser).

protocol.js must handle every message type the server sends, and every action the page sends
(all through act() in state.js) must be documented in docs/protocol.md and known to the server.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STATIC = ROOT / "facilitator" / "web" / "static"
DOC = (ROOT / "docs" / "protocol.md").read_text("utf-8")

# Where the page sends an action: act("name", ...) or act(cond ? "a" : "b", ...).
ACT_CALL = re.compile(r"(?<![\w.$])act\(")
STRING = re.compile(r'"([^"\\]*)"')


def js_sources() -> dict[str, str]:
    """Every browser script by file name, with comments removed."""
    sources = {}
    for path in sorted(STATIC.glob("*.js")):
        text = path.read_text("utf-8")
        text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
        text = re.sub(r"(?m)^\s*//.*$", "", text)
        sources[path.name] = text
    return sources


def first_argument(text: str, start: int) -> str:
    """The source of a call's first argument, `start` being just after its "("."""
    depth = 0
    quote = ""
    i = start - 1
    while i + 1 < len(text):
        i += 1
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1  # an escaped character
            elif ch == quote:
                quote = ""
        elif ch in "\"'`":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            if depth == 0:
                return text[start:i]
            depth -= 1
        elif ch == "," and depth == 0:
            return text[start:i]
    raise AssertionError("unterminated act( call")


def sent_actions() -> dict[str, set[str]]:
    """Action name -> the files that send it, from every act(...) call site."""
    found: dict[str, set[str]] = {}
    for name, text in js_sources().items():
        for match in ACT_CALL.finditer(text):
            arg = first_argument(text, match.end())
            names = STRING.findall(arg)
            if arg.strip() == "name" and name == "state.js":
                continue  # act()'s own definition passes its parameter on
            assert names, f"{name}: act({arg.strip()}) has no literal action name"
            for action in names:
                found.setdefault(action, set()).add(name)
    return found


def test_the_page_sends_actions_only_through_act() -> None:
    # Only act() (state.js) calls conn.action, so the extraction below sees every action sent.
    for name, text in js_sources().items():
        calls = re.findall(r"\.action\(", text)
        if name == "state.js":
            assert len(calls) == 1, "act() should be the one caller of conn.action"
        else:
            assert not calls, f"{name} sends an action without act()"


def test_enough_actions_are_found() -> None:
    actions = sent_actions()
    assert len(actions) >= 10, sorted(actions)
    # A few the page surely sends, from several modules.
    assert {"chat", "hand", "opt-out", "note", "media-state", "next-item", "admit"} <= set(actions)


def test_every_action_sent_is_documented_and_known() -> None:
    from facilitator.domain.meeting import EVERYONE, FACILITATORS

    documented = documented_actions()
    known = set(EVERYONE) | set(FACILITATORS)
    for action, files in sorted(sent_actions().items()):
        where = ", ".join(sorted(files))
        assert action in documented, f"{where} sends {action!r}, not in docs/protocol.md"
        assert action in known, f"{where} sends {action!r}, which the server does not know"


def test_protocol_js_handles_every_server_message() -> None:
    from facilitator.server.protocol import SERVER_TYPES

    text = js_sources()["protocol.js"]
    body = text.split("#receive(text) {", 1)[1].split("\n  }\n", 1)[0]
    handled = set(re.findall(r'case "([a-z-]+)":', body))
    assert handled, "no message dispatch found in protocol.js"
    missing = sorted(SERVER_TYPES - handled)
    assert not missing, f"protocol.js does not handle {missing}"
    unknown = sorted(handled - SERVER_TYPES)
    assert not unknown, f"protocol.js handles {unknown}, which the server never sends"


def test_protocol_js_has_no_dom() -> None:
    text = js_sources()["protocol.js"]
    for word in ("document", "window", "HTMLElement", "innerHTML", "import "):
        assert not re.search(rf"\b{re.escape(word)}\b", text), f"protocol.js uses {word!r}"


def test_pages_load_modules_only() -> None:
    templates = ROOT / "facilitator" / "web" / "templates"
    scripts = []
    for page in sorted(templates.glob("*.html")):
        for tag in re.findall(r"<script\b[^>]*>", page.read_text("utf-8")):
            scripts.append((page.name, tag))
            assert 'type="module"' in tag, f"{page.name}: {tag} is not a module"
            assert "src=" in tag, f"{page.name}: inline script {tag}"
    # One entry module per page that has scripts (room.js imports the rest of the room).
    assert sorted(name for name, _ in scripts) == [
        "created.html",
        "landing.html",
        "recap.html",
        "room.html",
    ]


def documented_actions() -> set[str]:
    """Every action named in the first column of docs/protocol.md's action tables."""
    table = DOC.split("### `action`", 1)[1].split("### `ping`", 1)[0]
    first_cells = re.findall(r"^\| (`[^|]+?)\|", table, re.M)
    return {name for cell in first_cells for name in re.findall(r"`([a-z-]+)`", cell)}


def test_api_only_actions_are_the_ones_without_a_button() -> None:
    table = DOC.split("### `action`", 1)[1].split("### `ping`", 1)[0]
    said = table.split("API-only:", 1)[1].split("\n\n", 1)[0]
    api_only = set(re.findall(r"`([a-z-]+)`", said))
    assert api_only == documented_actions() - set(sent_actions())


def test_the_page_stops_reconnecting_on_the_documented_codes() -> None:
    text = js_sources()["protocol.js"]
    codes = re.search(r"NO_RECONNECT_CODES = \[([\d, ]+)\]", text)
    assert codes, "protocol.js has no NO_RECONNECT_CODES"
    in_js = {int(c) for c in codes.group(1).split(",")}
    section = DOC.split("## Close codes\n", 1)[1].split("\n## ", 1)[0]
    stays_closed = {int(c) for c in re.findall(r"^\| `(\d+)` \|.*stays closed", section, re.M)}
    assert in_js == stays_closed
