"""Logging set-up: plain lines, or one JSON object a line (``--log-format json``).

A JSON line has ``time``, ``level``, ``logger``, ``message``, and ``meeting`` when the line was
written while handling one meeting's request or WebSocket (or passed as ``extra={"meeting":
...}``); under ``--workers`` also ``worker``. What gets logged never includes facilitator keys,
session tokens or notes: the access log leaves out query strings and cookies, and nothing
logs message contents.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from aiohttp import web

# A ContextVar holds a value per task (each request runs in its own), not shared state.
MEETING: ContextVar[str | None] = ContextVar("facilitator_meeting", default=None)
"""The meeting the current request or WebSocket belongs to."""

PLAIN = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object per record."""

    def __init__(self, fields: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.fields = dict(fields or {})

    def format(self, record: logging.LogRecord) -> str:
        """The record as a JSON line."""
        seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        line: dict[str, Any] = {
            "time": f"{seconds}.{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        meeting = getattr(record, "meeting", None) or MEETING.get()
        if meeting:
            line["meeting"] = meeting
        line.update(self.fields)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure(log_format: str, worker: int | None = None, level: str = "info") -> None:
    """Send INFO and above to stderr in the chosen format (``level``: the project's own loggers'
    threshold; libraries stay at INFO, aiortc's debug output is one line per packet)."""
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter({"worker": worker} if worker is not None else None))
    else:
        prefix = f"[worker {worker}] " if worker is not None else ""
        handler.setFormatter(logging.Formatter(PLAIN.replace("%(name)s", prefix + "%(name)s")))
    # Like basicConfig: a process that already set up logging (a test runner) keeps its own.
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    logging.getLogger("facilitator").setLevel(level.upper())


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def meeting_context(request: web.Request, handler: Handler) -> web.StreamResponse:
    """While handling ``/m/{id}/...``, log lines carry the meeting's id."""
    meeting_id = request.match_info.get("id")
    if not meeting_id:
        return await handler(request)
    token = MEETING.set(meeting_id[:64])
    try:
        return await handler(request)
    finally:
        MEETING.reset(token)
