"""Plain text split into text and links, so templates make links clickable and the rest inert.

Only ``http(s)://`` addresses and e-mail addresses become links; everything else (including
``javascript:`` and look-alikes) stays text. Templates escape every piece.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_LINK = re.compile(
    r"(?P<url>https?://[^\s<>\"'`]+[^\s<>\"'`.,;:!?)\]}])"
    r"|(?P<mail>[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})"
)


@dataclass(frozen=True)
class Segment:
    """A piece of text, and the address it links to (empty: plain text)."""

    text: str
    href: str = ""


def segments(text: str) -> list[Segment]:
    """Split ``text`` into plain pieces and link pieces, in order."""
    out: list[Segment] = []
    at = 0
    for match in _LINK.finditer(text):
        if match.start() > at:
            out.append(Segment(text[at : match.start()]))
        found = match.group(0)
        out.append(Segment(found, found if match.group("url") else "mailto:" + found))
        at = match.end()
    if at < len(text):
        out.append(Segment(text[at:]))
    return out
