"""The WebSocket protocol's envelope and message types; ``docs/protocol.md`` describes each one.

Every message is one JSON object: ``type``, an optional ``id`` the reply echoes, a ``value``,
and on errors ``error`` (a stable code) plus a human ``message``.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from ..errors import CodedError

MAX_MESSAGE_BYTES = 64 * 1024
MAX_DEPTH = 16
"""Arrays and objects inside each other in one message (the protocol needs 3)."""
MAX_CONTAINERS = 256
"""Arrays and objects in one message (a ``visible`` report has one list of up to 100 ids)."""

CLIENT_TYPES = frozenset(
    {"join", "action", "ping", "leave", "media-start", "answer", "media-stop", "visible"}
)
"""Messages a browser sends."""

SERVER_TYPES = frozenset(
    {
        "joined",
        "lobby",
        "state",
        "chat",
        "chat-history",
        "warning",
        "muted",
        "unmuted",
        "admitted",
        "removed",
        "ended",
        "ok",
        "error",
        "pong",
        "bye",
        "offer",
        "media-ended",
        "speaking",
        "reaction",
        # Allocation: this subscriber gets fewer videos for its network (media/allocator.py).
        "network",
        # Rounds in small groups.
        "grouped",
        "round-warning",
        "broadcast",
        "help",
    }
)
"""Messages the server sends."""


class Close(IntEnum):
    """WebSocket close codes the server uses (the page reconnects unless the code says not to)."""

    RESTARTING = 1012
    """The server is restarting: reconnect with backoff."""
    NO_SESSION = 4401
    """No session cookie: reload the page."""
    REMOVED = 4403
    """A facilitator removed you: do not reconnect."""
    DELETED = 4404
    """The meeting was deleted: do not reconnect."""
    TOO_SLOW = 4408
    """The browser did not read its messages: reconnect."""
    FLOODING = 4429
    """Too many messages too fast, for too long: reconnect, more slowly."""
    # Bounds on one browser's connections (issue 17).
    TOO_MANY_TABS = 4409
    """A newer tab of this browser took over (one session holds a handful): do not reconnect."""
    NO_JOIN = 4410
    """The connection did not send ``join`` in time: reconnect when the page is used again."""
    TOO_MANY_ERRORS = 4422
    """The connection kept sending messages the server refused: reconnect, more slowly."""
    ROLE_CHANGED = 4411
    """This person's role changed, so their session's token is replaced: reconnect (the
    handshake brings the new cookie)."""


ERROR_CODES = frozenset(
    {
        # The envelope and the connection.
        "bad-json",
        "bad-message",
        "unknown-type",
        "unknown-action",
        "bad-request",
        "too-big",
        "rate-limited",
        "not-joined",
        "no-session",
        "server-error",
        # Media.
        "no-offer",
        "bad-sdp",
        "media-failed",
        # Who may do what.
        "not-allowed",
        "in-lobby",
        "bad-name",
        "removed",
        "room-locked",
        "room-full",
        "meeting-ended",
        "muted-by-facilitator",
        "no-such-person",
        "last-facilitator",
        "already-sharing",
        # The clock and the icebreaker.
        "already-started",
        "not-running",
        "not-paused",
        "no-items",
        "first-item",
        "last-item",
        "no-such-item",
        "ended",
        "no-icebreaker",
        "no-speaker",
        "no-previous-speaker",
        "not-your-turn",
        # Bounds and storage (issue 17).
        "lobby-full",
        "not-saved",
        # Rounds in small groups.
        "no-groups",
        "no-such-group",
        "not-in-group",
        "in-a-group",
    }
)
"""Every ``error`` code a client can get; docs/protocol.md has a row for each."""


class ProtocolError(CodedError):
    """A message that does not follow the protocol (``msg_id``: the id to answer, if readable)."""

    def __init__(self, code: str, message: str, msg_id: object = None) -> None:
        super().__init__(code, message)
        self.msg_id = msg_id


@dataclass(frozen=True)
class Message:
    """A parsed client message."""

    type: str
    id: str | int | None
    value: dict[str, Any]


def parse(text: str | bytes) -> Message:
    """Parse and check a client message's envelope, or raise ProtocolError."""
    if len(text) > MAX_MESSAGE_BYTES:
        raise ProtocolError("too-big", "That message is too big.")
    data = strict_json(text)
    if not isinstance(data, dict):
        raise ProtocolError("bad-message", "A message is a JSON object with a type.")
    msg_id = data.get("id")
    if msg_id is not None and (
        isinstance(msg_id, bool) or not isinstance(msg_id, str | int) or len(str(msg_id)) > 64
    ):
        raise ProtocolError("bad-message", "A message id is a short string or number.")
    kind = data.get("type")
    if kind not in CLIENT_TYPES:
        raise ProtocolError("unknown-type", f"Unknown message type {str(kind)[:40]!r}.", msg_id)
    value = data.get("value", {})
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise ProtocolError("bad-message", "A message value is a JSON object.", msg_id)
    return Message(str(kind), msg_id, value)


def strict_json(text: str | bytes) -> Any:
    """Parse JSON as strictly as the protocol wants it, or raise ProtocolError.

    Nesting and the number of arrays and objects are bounded before parsing (``bad-message``);
    NaN, Infinity and numbers that overflow to it (``1e999``) are not JSON (``bad-json``).
    The HTTP API reads its bodies with this too, so both doors have the same rules.
    """
    check_nesting(text if isinstance(text, str) else text.decode("utf-8", "replace"))
    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except (ValueError, UnicodeDecodeError):
        raise ProtocolError("bad-json", "That message is not valid JSON.") from None
    except RecursionError:
        # Deeply nested arrays or objects: refused like any other malformed message.
        raise ProtocolError("bad-message", "That message is nested too deeply.") from None


_SURROGATE = re.compile(r"[\ud800-\udfff]")


def lone_surrogate(value: object) -> bool:
    """True when a string anywhere in parsed JSON (keys too) holds a lone surrogate.

    JSON's ``\\ud800`` escapes can name half a character; such text cannot be encoded as
    UTF-8, so it must never reach a page, a file or an answer.
    """
    if isinstance(value, str):
        return _SURROGATE.search(value) is not None
    if isinstance(value, dict):
        return any(lone_surrogate(k) or lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(lone_surrogate(v) for v in value)
    return False


_ESCAPE = re.compile(r"\\.", re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


def check_nesting(text: str) -> None:
    """Refuse deeply nested or container-heavy JSON before parsing it, or raise ProtocolError.

    The parser would build every array and object first: a frame of a thousand nested arrays
    leaves the garbage collector promoting them and then sweeping the whole heap, which stalls
    every meeting. Counting brackets outside strings is cheap and allocates little.
    """
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return  # too few to matter, the common case
    # Outside strings: drop escapes (only strings have them), then every other piece
    # between quotes is outside a string.
    outside = "".join(_ESCAPE.sub("", text).split('"')[::2])
    opened = outside.count("[") + outside.count("{")
    if opened > MAX_CONTAINERS or outside.count("]") + outside.count("}") > MAX_CONTAINERS:
        raise ProtocolError("bad-message", "That message has too many parts.")
    depth = 0
    for bracket in _BRACKET.findall(outside):
        depth += 1 if bracket in "[{" else -1
        if depth > MAX_DEPTH:
            raise ProtocolError("bad-message", "That message is nested too deeply.")


def _refuse_constant(name: str) -> float:
    """NaN and Infinity are not JSON: refuse them so they never reach a page or an answer."""
    raise ValueError(f"{name} is not allowed")


def _finite_float(text: str) -> float:
    """A float literal that stays finite (``1e999`` would become Infinity)."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("numbers must be finite")
    return value


def encode(kind: str, value: Any = None, msg_id: object = None, **extra: Any) -> str:
    """Build a server message (``kind`` must be one of SERVER_TYPES)."""
    assert kind in SERVER_TYPES, kind
    data: dict[str, Any] = {"type": kind}
    if msg_id is not None:
        data["id"] = msg_id
    if value is not None:
        data["value"] = value
    data.update(extra)
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def error(code: str, message: str, msg_id: object = None) -> str:
    """Build an ``error`` message."""
    return encode("error", msg_id=msg_id, error=code, message=message)
