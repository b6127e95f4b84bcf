"""The ``facilitator`` command: check agenda and deck files, serve meetings."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from .domain.agenda import Agenda
from .domain.decks import Deck
from .domain.durations import format_duration
from .domain.yamlfile import FileError
from .library import default_folder, load_agenda, load_deck, read_text, yaml_files

FOLDER_DEFAULT = "(default: ./{0}, or the samples that come with facilitator when there is none)"


def build_parser() -> argparse.ArgumentParser:
    """The command line, one sub-command per task."""
    parser = argparse.ArgumentParser(
        prog="facilitator",
        description="Timed, facilitated group video calls for meetups.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = commands.add_parser(
        "check",
        help="validate agenda and icebreaker deck files",
        description="Validate agenda and deck files. Prints each agenda's timeline; "
        "exits 1 with one 'file:line:column: field: message' line per problem.",
    )
    check.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="YAML files or folders")
    check.add_argument(
        "--icebreakers",
        type=Path,
        metavar="DIR",
        help="decks that agendas may use " + FOLDER_DEFAULT.format("icebreakers"),
    )

    serve = commands.add_parser(
        "serve",
        help="run the meeting server",
        description="Serve the landing page, meetings and their video.",
    )
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)"
    )
    serve.add_argument("--port", type=int, default=8080, help="port to listen on (default: 8080)")
    serve.add_argument(
        "--agenda",
        type=Path,
        metavar="FILE",
        help="create one meeting with this agenda at start-up and print its links "
        "(a file, or the name of one of the --agendas, e.g. network-night)",
    )
    serve.add_argument(
        "--agendas",
        type=Path,
        metavar="DIR",
        help="agendas offered on the landing page " + FOLDER_DEFAULT.format("agendas"),
    )
    serve.add_argument(
        "--icebreakers",
        type=Path,
        metavar="DIR",
        help="icebreaker decks " + FOLDER_DEFAULT.format("icebreakers"),
    )
    serve.add_argument(
        "--data",
        type=Path,
        default=Path("data"),
        metavar="DIR",
        help="where meetings are stored (default: ./data)",
    )
    serve.add_argument(
        "--database",
        metavar="URL",
        help="where meetings are stored: a SQLite file (a path, or sqlite:///path; default: "
        "facilitator.sqlite3 in --data) or postgresql://... shared by several nodes",
    )
    serve.add_argument(
        "--node-url",
        metavar="URL",
        help="this node's own address when several nodes share a PostgreSQL --database "
        "(each runs the meetings it holds a lease on; see docs/scaling.md)",
    )
    serve.add_argument(
        "--keep-days",
        type=float,
        default=30.0,
        metavar="N",
        help="delete each meeting, with its chat, notes and stay-in-touch choices, N days "
        "after it ended (default: 30)",
    )
    serve.add_argument(
        "--heartbeat",
        type=float,
        default=8.0,
        metavar="SECONDS",
        help="WebSocket ping interval; a browser that vanished without closing is noticed "
        "within about 1.5 of these (default: 8)",
    )
    serve.add_argument(
        "--public-url",
        metavar="URL",
        help="base URL for printed links, e.g. https://meet.example.org "
        "(default: from --host and --port)",
    )
    serve.add_argument(
        "--create-key",
        metavar="SECRET",
        help="require this secret to create meetings (form field, or the X-Create-Key "
        "header for the API); without it anyone who can reach the server may create",
    )
    serve.add_argument(
        "--max-connections-per-address",
        type=int,
        default=128,
        metavar="N",
        help="open connections allowed from one address (default 128; raise it when "
        "many people share one network address)",
    )
    serve.add_argument(
        "--meetings-per-hour",
        type=int,
        default=60,
        metavar="N",
        help="new meetings one address may create in an hour (default 60; bursts of up to a "
        "sixth of it, at least 10)",
    )
    serve.add_argument(
        "--workers",
        default="auto",
        metavar="N",
        help="worker processes, each serving whole meetings behind a small front process on "
        "--port; 'auto' is one per core (the default; 1: a single process)",
    )
    serve.add_argument(
        "--drain-seconds",
        type=float,
        default=10.0,
        metavar="S",
        help="on SIGTERM: refuse new meetings and joins, say goodbye, save, and exit within "
        "this long (default 10)",
    )
    serve.add_argument("--worker", help=argparse.SUPPRESS)  # set by the front for its workers
    ops = serve.add_argument_group("operations")
    ops.add_argument(
        "--metrics",
        action="store_true",
        help="serve GET /metrics (Prometheus text format) to requests with the token",
    )
    ops.add_argument(
        "--metrics-token",
        metavar="TOKEN",
        help="the token /metrics asks for (Authorization: Bearer TOKEN); "
        "or set FACILITATOR_METRICS_TOKEN",
    )
    ops.add_argument(
        "--log-format",
        choices=("plain", "json"),
        default="plain",
        help="plain lines, or one JSON object a line (default: plain)",
    )
    ops.add_argument(
        "--log-level",
        choices=("debug", "info", "warning"),
        default="info",
        help="the least a line must matter to be logged; debug adds each subscriber's "
        "bandwidth estimate and plan when they change (default: info)",
    )
    migrate = commands.add_parser(
        "migrate",
        help="bring the database's tables up to date",
        description="Run the database migrations this version needs (serve runs them at start "
        "too). Prints the schema version before and after.",
    )
    migrate.add_argument("--database", metavar="URL", help="as for serve (default: in --data)")
    migrate.add_argument(
        "--data", type=Path, default=Path("data"), metavar="DIR", help="as for serve"
    )
    load = commands.add_parser(
        "loadtest",
        help="measure the server with synthetic participants",
        description="Synthetic participants (pre-encoded VP8 and Opus) join one call and "
        "measure the server's CPU, memory, packets, loss, added delay and keyframe times. "
        "Without --url a server is started on 127.0.0.1 and measured alone.",
    )
    load.add_argument("--participants", type=int, default=4, metavar="N", help="people (default 4)")
    load.add_argument(
        "--duration", type=float, default=20.0, metavar="S", help="seconds to measure (default 20)"
    )
    load.add_argument("--url", help="measure a server that is already running (no CPU figures)")
    load.add_argument(
        "--video-kbps",
        type=int,
        default=500,
        metavar="K",
        help="video bitrate of each participant (default 500)",
    )
    load.add_argument(
        "--json",
        type=Path,
        metavar="FILE",
        help="write results here (default: bench/results/loadtest-DATE.json)",
    )
    load.add_argument(
        "--transcode", action="store_true", help="measure the decode-and-re-encode baseline instead"
    )
    load.add_argument(
        "--standard",
        action="store_true",
        help="the standard scenarios: N=2,4,8,12,16 forwarded and transcoded, "
        "then the largest room with <1%% loss and p99 delay <50 ms",
    )
    load.add_argument(
        "--workers",
        type=int,
        metavar="W",
        help="load generator processes (default: light, one per generator core; "
        "aiortc, one per core, at most 4)",
    )
    load.add_argument(
        "--meetings",
        type=int,
        default=1,
        metavar="M",
        help="M meetings of --participants people at once on a server with --server-workers "
        "(default 1; more: the light generator, no pinning)",
    )
    load.add_argument(
        "--server-workers",
        type=int,
        default=1,
        metavar="N",
        help="the measured server's --workers (default 1: one process, pinned to core 0)",
    )
    load.add_argument(
        "--generator",
        choices=["light", "aiortc"],
        default="light",
        help="light: pre-built RTP packets, one core drives many people (default); "
        "aiortc: aiortc's full media stack, like the tests' bots",
    )
    load.add_argument(
        "--janus",
        action="store_true",
        help="also measure Janus VideoRoom (Debian package janus) side by side, "
        "N=2,4,6,8 (--sizes); needs a private network namespace (make bench JANUS=1)",
    )
    load.add_argument(
        "--sizes",
        default=",".join(str(n) for n in (2, 4, 6, 8)),
        metavar="N,N",
        help="room sizes for --janus (default 2,4,6,8)",
    )
    load.add_argument(
        "--attacks",
        action="store_true",
        help="issue 17's attacks, each for --duration seconds, while another meeting is measured",
    )
    load.add_argument(
        "--no-pin",
        action="store_true",
        help="do not pin the server to core 0 and the load generator to the other cores",
    )

    net = commands.add_parser(
        "netbench",
        help="measure calls where one person has a bad network link",
        description="Real-network scenarios: every participant in its own network namespace "
        "behind a shaped link (root, inside `unshare -n`; make bench runs it). Prints one row "
        "per window: what the person with the bad link sees, what everyone else sees.",
    )
    net.add_argument("scenarios", nargs="*", metavar="SCENARIO", help="names (default: all)")
    net.add_argument(
        "--duration", type=float, metavar="S", help="seconds with the bad link (default: each's)"
    )
    net.add_argument(
        "--after", type=float, metavar="S", help="seconds measured after the link is good again"
    )
    net.add_argument("--list", action="store_true", help="list the scenarios and stop")
    net.add_argument(
        "--json", type=Path, metavar="FILE", help="default: bench/results/netbench-DATE.json"
    )

    media = serve.add_argument_group("media (WebRTC)")
    media.add_argument(
        "--ice-address",
        action="append",
        default=[],
        metavar="IP",
        help="use only this address for media host candidates (repeatable; "
        "127.0.0.1 for tests, a public address on a multi-homed server)",
    )
    media.add_argument(
        "--stun",
        action="append",
        default=[],
        metavar="URL",
        help="STUN server, e.g. stun:stun.example.org:3478 (repeatable)",
    )
    media.add_argument(
        "--turn",
        action="append",
        default=[],
        metavar="URL",
        help="TURN server, e.g. turn:turn.example.org:3478 (repeatable)",
    )
    media.add_argument("--turn-user", metavar="USER", help="TURN user name")
    media.add_argument("--turn-password", metavar="PASSWORD", help="TURN password")
    bench = serve.add_argument_group("benchmarking")
    bench.add_argument(
        "--stats",
        action="store_true",
        help="serve GET /api/stats (media counters, event-loop lag) for loadtest",
    )
    bench.add_argument(
        "--transcode",
        action="store_true",
        help="baseline for the benchmark only: decode and re-encode all media",
    )
    tls = serve.add_argument_group("HTTPS (browsers allow cameras only on HTTPS or localhost)")
    tls.add_argument("--tls-cert", type=Path, metavar="FILE", help="certificate chain (PEM)")
    tls.add_argument("--tls-key", type=Path, metavar="FILE", help="private key (PEM)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "check":
            return check(args.paths, args.icebreakers or default_folder("icebreakers"))
        if args.command == "serve":
            from .server.run import serve

            return serve(args)
        if args.command == "loadtest":
            return loadtest(args)
        if args.command == "migrate":
            return migrate(args.database, args.data)
        if args.command == "netbench":
            return netbench(args)
    except KeyboardInterrupt:
        return 130
    return 2


def migrate(database: str | None, data_dir: Path) -> int:
    """Run the store's migrations and say which schema version it is at."""
    import asyncio

    from .store import STORE_ERRORS, NoDriver, open_store

    async def run() -> tuple[int, int]:
        store = open_store(database, data_dir)
        try:
            return await store.migrate()
        finally:
            await store.close()

    refusals: tuple[type[Exception], ...] = (NoDriver, *STORE_ERRORS)
    try:
        before, after = asyncio.run(run())
    except refusals as exc:
        print(f"facilitator: cannot migrate the database: {exc}", file=sys.stderr)
        return 1
    if before == after:
        print(f"The database is up to date (schema version {after}).")
    else:
        print(f"Migrated the database from schema version {before} to {after}.")
    return 0


def loadtest(args: argparse.Namespace) -> int:
    """Run the load test and print and save its results."""
    from .bench import loadtest as lt

    if args.attacks:
        from .bench.attacks import report

        return report(None, args.duration, args.json)
    if args.participants < 2:
        print("facilitator: --participants must be at least 2", file=sys.stderr)
        return 2
    pin = not args.no_pin
    sizes: list[int] = []
    if args.janus:
        from .bench.janus import INSTALL_HINT, janus_installed, private_network

        if not janus_installed():
            print(f"facilitator: {INSTALL_HINT}", file=sys.stderr)
            return 2
        if not private_network():
            print(
                "facilitator: --janus runs only in a private network namespace, "
                "so neither server can reach another address: use `make bench JANUS=1`",
                file=sys.stderr,
            )
            return 2
        try:
            sizes = [int(n) for n in args.sizes.split(",")]
        except ValueError:
            sizes = []
        if not sizes or min(sizes) < 2:
            print(
                "facilitator: --sizes takes room sizes of 2 or more, e.g. 2,4,6,8", file=sys.stderr
            )
            return 2
    extra: dict[str, object] = {}
    results: list[lt.Result] = []
    if args.standard:
        results, extra = lt.standard(args.duration, args.video_kbps, args.generator, pin)
    elif args.meetings > 1 or args.server_workers > 1:
        from .bench.meetings import run_meetings

        results, extra = run_meetings(
            args.meetings,
            args.participants,
            args.duration,
            workers=args.server_workers,
            video_kbps=args.video_kbps,
        )
    elif not args.janus:
        results = [
            lt.run_scenario(
                args.participants,
                args.duration,
                url=args.url,
                transcode=args.transcode,
                video_kbps=args.video_kbps,
                workers=args.workers,
                generator=args.generator,
                pin=pin,
            )
        ]
    if args.janus:
        duration = args.duration if not args.standard else min(args.duration, 10.0)
        both, janus_extra = lt.side_by_side(sizes, duration, args.video_kbps, pin)
        results += both
        extra.update(janus_extra)
    print(file=sys.stderr)
    print(lt.table(results))
    for key, value in extra.items():
        print(f"{key}:\n{value}" if key == "janus_table" else f"{key}: {value}")
    path = lt.save(results, extra, args.json)
    print(f"results: {path}")
    return 0


def netbench(args: argparse.Namespace) -> int:
    """Run the network scenarios and print and save their results."""
    from .bench import netlab, netscenarios

    if args.list:
        for scenario in netscenarios.SCENARIOS:
            print(f"{scenario.name}: {scenario.description}")
        return 0
    try:
        scenarios = netscenarios.chosen(args.scenarios, args.duration, args.after)
    except ValueError as exc:
        print(f"facilitator: {exc}", file=sys.stderr)
        return 2
    reason = netlab.unavailable()
    if reason:
        print(f"facilitator: {reason}", file=sys.stderr)
        return 2
    outcomes = []
    for scenario in scenarios:
        outcomes.append(netscenarios.run(scenario))
        print(file=sys.stderr)
        rows = netscenarios.table(outcomes[-1:]).splitlines()[1 : 1 + len(outcomes[-1].phases)]
        print("\n".join(rows), file=sys.stderr)
    print(netscenarios.table(outcomes))
    print(f"results: {netscenarios.save(outcomes, args.json)}")
    return 0


def _looks_like_deck(path: Path) -> bool:
    """Decks live in an ``icebreakers`` folder or have a top-level ``prompts:`` key."""
    if path.parent.name == "icebreakers":
        return True
    try:
        text = read_text(path)
    except FileError:
        return False
    return any(line.startswith(("prompts:", "how_it_works:")) for line in text.splitlines())


def check(paths: Sequence[Path], decks_dir: Path) -> int:
    """Validate files; print timelines for agendas, problems for the rest."""
    files: list[Path] = []
    for path in paths:
        found = yaml_files(path) if path.is_dir() else [path]
        if path.is_dir() and not found:
            print(f"{path}: no .yaml files in this folder", file=sys.stderr)
            return 1
        files.extend(f for f in found if f not in files)
    deck_files = [p for p in files if _looks_like_deck(p)]
    agenda_files = [p for p in files if p not in deck_files]
    failed = False
    decks: dict[str, Deck] = {}
    # Decks named on the command line win over the default folder's.
    for path in yaml_files(decks_dir):
        if path.resolve() in {p.resolve() for p in deck_files}:
            continue
        try:
            deck, _ = load_deck(path)
            decks[deck.id] = deck
        except FileError:
            pass
    for path in deck_files:
        try:
            deck, warnings = load_deck(path)
        except FileError as exc:
            failed = True
            _print_problems(exc)
            continue
        decks[deck.id] = deck
        _print_warnings(warnings)
        print(f'{path}: deck "{deck.title}" ({deck.id}), {len(deck.prompts)} prompts')
    for path in agenda_files:
        try:
            agenda, warnings = load_agenda(path, decks)
        except FileError as exc:
            failed = True
            _print_problems(exc)
            continue
        _print_warnings(warnings)
        print(format_timeline(str(path), agenda))
    return 1 if failed else 0


def format_timeline(name: str, agenda: Agenda) -> str:
    """The agenda as a table: offset, item, duration, deck, per speaker; then the total.

    An item in small groups gets a second line with its rounds.
    """
    lines = [f"{name}: {agenda.title}"]
    width = max([len(item.title) for item in agenda.items] + [4])
    lines.append(f"  {'offset':>7}  {'item':<{width}}  {'duration':>8}  {'deck':<16}  per speaker")
    for offset, item in zip(agenda.offsets(), agenda.items, strict=True):
        minutes, seconds = divmod(offset, 60)
        deck = item.icebreaker or ""
        per = format_duration(item.per_speaker) if item.icebreaker and not item.groups else ""
        lines.append(
            f"  {minutes:>4}:{seconds:02d}  {item.title:<{width}}  "
            f"{format_duration(item.duration):>8}  {deck:<16}  {per}".rstrip()
        )
        if item.groups:
            each, rounds = format_duration(item.groups.each), item.groups.rounds
            plural = "round" if rounds == 1 else "rounds"
            lines.append(f"  {'':>7}  {rounds} {plural} of {each} in groups of {item.groups.size}")
    total, limit = agenda.planned_total, agenda.time_limit
    verdict = "fits" if total <= limit else f"runs {format_duration(total - limit)} over"
    lines.append(
        f"  total {format_duration(total)} of the {format_duration(limit)} limit ({verdict})"
    )
    return "\n".join(lines)


def _print_problems(exc: FileError) -> None:
    for problem in exc.problems:
        print(problem, file=sys.stderr)


def _print_warnings(warnings: list[str]) -> None:
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
