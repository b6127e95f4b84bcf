"""Icebreaker decks: a title, how the game works, and the prompts speakers answer."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .yamlfile import Reader, parse_document

DECK_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
DECK_FIELDS = ("title", "how_it_works", "prompts", "tags")


@dataclass(frozen=True)
class Deck:
    """An icebreaker game: everyone sees how it works; each speaker gets one prompt."""

    id: str
    """The file name without ``.yaml``; agendas refer to the deck by it."""
    title: str
    """Short name shown on the card, e.g. "Name game"."""
    how_it_works: str
    """Instructions shown to everyone while the deck is in play."""
    prompts: tuple[str, ...]
    """What speakers answer, one each, never repeated within a meeting."""
    tags: tuple[str, ...] = field(default=())
    """Free-form labels for browsing decks."""

    def to_dict(self) -> dict[str, object]:
        """Return the deck as plain JSON-ready data."""
        return {
            "id": self.id,
            "title": self.title,
            "how_it_works": self.how_it_works,
            "prompts": list(self.prompts),
            "tags": list(self.tags),
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Deck:
        """Rebuild a deck stored by ``to_dict``."""
        return cls(
            id=str(data["id"]),
            title=str(data["title"]),
            how_it_works=str(data["how_it_works"]),
            prompts=tuple(str(p) for p in data["prompts"]),  # type: ignore[attr-defined]
            tags=tuple(str(t) for t in data.get("tags", ())),  # type: ignore[attr-defined]
        )


def parse_deck(text: str, filename: str, deck_id: str) -> tuple[Deck, list[str]]:
    """Validate deck YAML; return the deck and its warnings, or raise FileError."""
    root = parse_document(text, filename)
    reader = Reader(filename)
    if not DECK_ID.match(deck_id):
        reader.problem(root, "", f'"{deck_id}" is not a valid deck id (use a-z, 0-9 and -)')
    fields = reader.fields(root, "", DECK_FIELDS, required=("title", "how_it_works", "prompts"))
    title = how = None
    prompts: list[str] = []
    tags: list[str] = []
    if fields is not None:
        if "title" in fields:
            title = reader.text(fields["title"], "title", 80)
        if "how_it_works" in fields:
            how = reader.text(fields["how_it_works"], "how_it_works", 500, multiline=True)
        if "prompts" in fields:
            seen: dict[str, str] = {}
            for where, node in reader.items(fields["prompts"], "prompts", 500):
                prompt = reader.text(node, where, 300, multiline=True)
                if prompt is None:
                    continue
                key = " ".join(prompt.lower().split())
                if key in seen:
                    reader.problem(node, where, f"repeats {seen[key]}")
                    continue
                seen[key] = where
                prompts.append(" ".join(prompt.split()))
        if "tags" in fields:
            for where, node in reader.items(fields["tags"], "tags", 20):
                tag = reader.text(node, where, 30)
                if tag is not None:
                    tags.append(tag)
    reader.raise_if_problems()
    assert title is not None and how is not None
    deck = Deck(deck_id, title, " ".join(how.split()), tuple(prompts), tuple(tags))
    return deck, [str(w) for w in reader.warnings]
