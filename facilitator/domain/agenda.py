"""Agendas: the timed plan of a call, read from YAML written by the host."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .decks import Deck
from .durations import format_duration
from .yamlfile import Reader, parse_document

AGENDA_FIELDS = ("title", "description", "time_limit", "warn_at", "hard_stop", "items")
ITEM_FIELDS = (
    "title",
    "duration",
    "notes",
    "icebreaker",
    "per_speaker",
    "order",
    "rounds",
    "groups",
)
GROUP_FIELDS = ("size", "rounds", "each")
SPEAKER_FIELDS = ("per_speaker", "order", "rounds")
"""Item fields for a speaker rotation of the whole room, which ``groups:`` replaces."""
ORDERS = ("join", "shuffle", "alphabetical")
DEFAULT_WARN_AT = (300, 60)
DEFAULT_PER_SPEAKER = 60
TYPICAL_GROUP = 8
"""The group size the icebreaker timing warning assumes."""
SHORT_ROUND = 120
"""A small-group round shorter than this gets a warning: there is hardly time to say hello."""
HARD_STOP_GRACE = 30
"""Seconds of overtime a ``hard_stop`` call gets before it ends by itself."""


@dataclass(frozen=True)
class Groups:
    """Timed rounds in small groups inside an item, a new mix of people each round."""

    size: int
    """People per group, 2 to 6 (groups differ by at most one person)."""
    rounds: int
    """How many rounds, each with new groups."""
    each: int
    """Length of each round in seconds."""

    def to_dict(self) -> dict[str, object]:
        """Return the settings as plain JSON-ready data."""
        return {"size": self.size, "rounds": self.rounds, "each": self.each}

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Groups:
        """Rebuild settings stored by ``to_dict``."""
        return cls(
            size=int(data["size"]),  # type: ignore[call-overload]
            rounds=int(data["rounds"]),  # type: ignore[call-overload]
            each=int(data["each"]),  # type: ignore[call-overload]
        )


@dataclass(frozen=True)
class Item:
    """One timed step of the agenda."""

    title: str
    """What everyone sees as the current item."""
    duration: int
    """Planned length in seconds."""
    notes: str = ""
    """Guidance for facilitators only."""
    icebreaker: str | None = None
    """Deck id when this item is an icebreaker round."""
    per_speaker: int = DEFAULT_PER_SPEAKER
    """Timebox for each speaker, in seconds (icebreaker items)."""
    order: str = "join"
    """Speaker order: ``join``, ``shuffle`` or ``alphabetical``."""
    rounds: int = 1
    """How many times the rotation goes through everyone."""
    groups: Groups | None = None
    """Rounds in small groups; with an icebreaker, its prompt cards are used inside each group."""

    def to_dict(self) -> dict[str, object]:
        """Return the item as plain JSON-ready data."""
        return {
            "title": self.title,
            "duration": self.duration,
            "notes": self.notes,
            "icebreaker": self.icebreaker,
            "per_speaker": self.per_speaker,
            "order": self.order,
            "rounds": self.rounds,
            "groups": self.groups.to_dict() if self.groups else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Item:
        """Rebuild an item stored by ``to_dict``."""
        deck = data.get("icebreaker")
        groups = data.get("groups")
        return cls(
            title=str(data["title"]),
            duration=int(data["duration"]),  # type: ignore[call-overload]
            notes=str(data.get("notes", "")),
            icebreaker=str(deck) if deck else None,
            per_speaker=int(data.get("per_speaker", DEFAULT_PER_SPEAKER)),  # type: ignore[call-overload]
            order=str(data.get("order", "join")),
            rounds=int(data.get("rounds", 1)),  # type: ignore[call-overload]
            groups=Groups.from_dict(groups) if isinstance(groups, Mapping) else None,
        )


@dataclass(frozen=True)
class Agenda:
    """The plan of a call: items in order, the call's time limit and when to warn."""

    title: str
    """The meeting's title."""
    items: tuple[Item, ...]
    """The steps, in order."""
    time_limit: int
    """Length of the whole call in seconds (defaults to the items' total)."""
    warn_at: tuple[int, ...] = DEFAULT_WARN_AT
    """Time-left thresholds, in seconds, at which everyone gets a warning (largest first)."""
    hard_stop: bool = False
    """End the call by itself shortly after the limit instead of running into overtime."""
    description: str = ""
    """One or two sentences shown when choosing an agenda."""

    @property
    def planned_total(self) -> int:
        """Sum of the item durations, in seconds."""
        return sum(item.duration for item in self.items)

    def offsets(self) -> list[int]:
        """Planned start of each item, in seconds from the start of the call."""
        result, at = [], 0
        for item in self.items:
            result.append(at)
            at += item.duration
        return result

    def to_dict(self) -> dict[str, object]:
        """Return the agenda as plain JSON-ready data."""
        return {
            "title": self.title,
            "description": self.description,
            "time_limit": self.time_limit,
            "warn_at": list(self.warn_at),
            "hard_stop": self.hard_stop,
            "items": [item.to_dict() for item in self.items],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Agenda:
        """Rebuild an agenda stored by ``to_dict``."""
        return cls(
            title=str(data["title"]),
            description=str(data.get("description", "")),
            time_limit=int(data["time_limit"]),  # type: ignore[call-overload]
            warn_at=tuple(int(w) for w in data.get("warn_at", DEFAULT_WARN_AT)),  # type: ignore[attr-defined]
            hard_stop=bool(data.get("hard_stop", False)),
            items=tuple(Item.from_dict(i) for i in data["items"]),  # type: ignore[attr-defined]
        )


def parse_agenda(text: str, filename: str, decks: Mapping[str, Deck]) -> tuple[Agenda, list[str]]:
    """Validate agenda YAML against the known decks; return it with warnings or raise FileError."""
    root = parse_document(text, filename)
    reader = Reader(filename)
    fields = reader.fields(root, "", AGENDA_FIELDS, required=("title", "items"))
    if fields is None:
        reader.raise_if_problems()
        raise AssertionError("unreachable")
    title = reader.text(fields["title"], "title", 120) if "title" in fields else None
    description = ""
    if "description" in fields:
        description = reader.text(fields["description"], "description", 500, multiline=True) or ""
    time_limit = (
        reader.duration(fields["time_limit"], "time_limit") if "time_limit" in fields else None
    )
    hard_stop = False
    if "hard_stop" in fields:
        hard_stop = bool(reader.boolean(fields["hard_stop"], "hard_stop"))
    warn_at: list[int] = list(DEFAULT_WARN_AT)
    warn_nodes: list[tuple[str, Node, int]] = []
    if "warn_at" in fields:
        warn_at = []
        for where, node in reader.items(fields["warn_at"], "warn_at", 10):
            seconds = reader.duration(node, where)
            if seconds is not None:
                warn_at.append(seconds)
                warn_nodes.append((where, node, seconds))
    items: list[Item] = []
    if "items" in fields:
        for where, item_node in reader.items(fields["items"], "items", 100):
            item = _parse_item(reader, item_node, where, decks)
            if item is not None:
                items.append(item)
    reader.raise_if_problems()
    assert title is not None
    total = sum(item.duration for item in items)
    limit = time_limit if time_limit is not None else total
    if time_limit is not None and total > time_limit:
        reader.warn(
            fields["time_limit"],
            "time_limit",
            f"items add up to {format_duration(total)}, more than the "
            f"{format_duration(time_limit)} limit; the call will run over",
        )
    for where, node, threshold in warn_nodes:
        if threshold >= limit:
            reader.warn(
                node,
                where,
                f"{format_duration(threshold)} is not less than the whole call; "
                "it fires at the start",
            )
    if "warn_at" not in fields:
        # The defaults apply only where they make sense: a 3-minute call gets no
        # "5 minutes left" at its start (and no warning about a field nobody wrote).
        warn_at = [threshold for threshold in warn_at if threshold < limit]
    for (where, node), item in zip(_item_nodes(fields["items"]), items, strict=False):
        needed = item.per_speaker * TYPICAL_GROUP * item.rounds
        if item.icebreaker and not item.groups and needed > item.duration:
            reader.warn(
                _value_node(node, "per_speaker") or node,
                f"{where}.per_speaker",
                f"{format_duration(item.per_speaker)} each for {TYPICAL_GROUP} people "
                f"needs {format_duration(needed)}, more than the item's "
                f"{format_duration(item.duration)}",
            )
    agenda = Agenda(
        title=title,
        description=" ".join(description.split()),
        items=tuple(items),
        time_limit=limit,
        warn_at=tuple(sorted(set(warn_at), reverse=True)),
        hard_stop=hard_stop,
    )
    return agenda, [str(w) for w in reader.warnings]


def _item_nodes(node: Node) -> list[tuple[str, Node]]:
    values = node.value if isinstance(node, SequenceNode) else []
    return [(f"items[{i}]", child) for i, child in enumerate(values)]


def _value_node(node: Node, key: str) -> Node | None:
    """The value written for ``key`` in a mapping node, if it is there."""
    if isinstance(node, MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode) and key_node.value == key:
                found: Node = value_node
                return found
    return None


def _parse_item(reader: Reader, node: Node, where: str, decks: Mapping[str, Deck]) -> Item | None:
    fields = reader.fields(node, where, ITEM_FIELDS, required=("title", "duration"))
    if fields is None:
        return None
    before = reader.errors
    title = reader.text(fields["title"], f"{where}.title", 120) if "title" in fields else None
    duration = (
        reader.duration(fields["duration"], f"{where}.duration") if "duration" in fields else None
    )
    notes = ""
    if "notes" in fields:
        notes = reader.text(fields["notes"], f"{where}.notes", 2000, multiline=True) or ""
    deck: str | None = None
    if "icebreaker" in fields:
        deck = reader.scalar(fields["icebreaker"], f"{where}.icebreaker")
        if deck is not None and deck not in decks:
            known = ", ".join(sorted(decks)) or "none found"
            reader.problem(
                fields["icebreaker"],
                f"{where}.icebreaker",
                f'no deck named "{deck}" (known decks: {known})',
            )
    for extra in SPEAKER_FIELDS:
        if extra in fields and "groups" in fields:
            reader.problem(
                fields[extra],
                f"{where}.{extra}",
                "goes under groups: in an item with small groups (groups: rounds: 3)"
                if extra == "rounds"
                else "does not apply to an item with small groups "
                "(people talk in their groups, not one at a time)",
            )
        elif extra in fields and "icebreaker" not in fields:
            reader.problem(fields[extra], f"{where}.{extra}", "only applies to icebreaker items")
    groups = None
    if "groups" in fields:
        groups = _parse_groups(reader, fields["groups"], f"{where}.groups", duration)
    per_speaker = DEFAULT_PER_SPEAKER
    if "per_speaker" in fields:
        per_speaker = reader.duration(fields["per_speaker"], f"{where}.per_speaker") or per_speaker
    order = "join"
    if "order" in fields:
        order = reader.choice(fields["order"], f"{where}.order", ORDERS) or order
    rounds = 1
    if "rounds" in fields:
        rounds = reader.integer(fields["rounds"], f"{where}.rounds", 1, 10) or rounds
    if reader.errors > before or title is None or duration is None:
        return None
    return Item(
        title=title,
        duration=duration,
        notes=notes.strip(),
        icebreaker=deck,
        per_speaker=per_speaker,
        order=order,
        rounds=rounds,
        groups=groups,
    )


def _parse_groups(reader: Reader, node: Node, where: str, duration: int | None) -> Groups | None:
    """Read ``groups:`` (size, rounds, each) and warn when the rounds do not fit the item."""
    fields = reader.fields(node, where, GROUP_FIELDS, required=("size", "rounds"))
    if fields is None:
        return None
    before = len(reader.problems)
    size = reader.integer(fields["size"], f"{where}.size", 2, 6) if "size" in fields else None
    rounds = (
        reader.integer(fields["rounds"], f"{where}.rounds", 1, 10) if "rounds" in fields else None
    )
    each = reader.duration(fields["each"], f"{where}.each") if "each" in fields else None
    if len(reader.problems) > before or size is None or rounds is None or duration is None:
        return None
    if each is None:
        each = max(1, duration // rounds)
    elif each * rounds > duration:
        reader.warn(
            fields["each"],
            f"{where}.each",
            f"{rounds} rounds of {format_duration(each)} need {format_duration(each * rounds)}, "
            f"more than the item's {format_duration(duration)}",
        )
    if each < SHORT_ROUND:
        reader.warn(
            fields.get("each", fields["rounds"]),
            f"{where}.each" if "each" in fields else f"{where}.rounds",
            f"rounds of {format_duration(each)} leave little time to talk; "
            f"give each round at least {format_duration(SHORT_ROUND)}",
        )
    return Groups(size=size, rounds=rounds, each=each)
