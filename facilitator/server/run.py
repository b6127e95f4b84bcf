"""``facilitator serve``: start the server, create the start-up meeting, stop cleanly on SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import dataclasses
import gc
import importlib
import logging
import os
import signal
import ssl
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from ..domain.agenda import Agenda
from ..domain.decks import Deck
from ..domain.yamlfile import FileError
from ..library import default_folder, load_agenda, load_library
from ..store import STORE_ERRORS, NoDriver, is_shared
from .agendas import links
from .app import create_app
from .health import HEALTH
from .keys import ROOMS, Config
from .limits import KEEPALIVE_SECONDS, LOW_FD_LIMIT, GuardedSite, connection_caps, raise_fd_limit
from .logs import configure
from .security import AccessLogger
from .workers import WORKER_LINE

log = logging.getLogger("facilitator")

PR_SET_PDEATHSIG = 1
"""Linux prctl option: the signal a process gets when its parent exits."""

METRICS_TOKEN_ENV = "FACILITATOR_METRICS_TOKEN"
"""The metrics token may come from the environment (e.g. a systemd EnvironmentFile)."""


def serve(args: argparse.Namespace) -> int:
    """Run until SIGTERM or Ctrl-C; return the exit status."""
    worker, workers = parse_worker(args.worker) if args.worker else (None, 1)
    configure(args.log_format, worker, args.log_level)
    if worker is not None:
        die_with_parent()
    count = worker_count(args.workers) if worker is None else workers
    if count is None:
        print("facilitator: --workers must be a number from 1 to 64, or auto", file=sys.stderr)
        return 1
    token = args.metrics_token or os.environ.get(METRICS_TOKEN_ENV) or None
    if args.metrics and not token:
        print(
            f"facilitator: --metrics needs --metrics-token (or {METRICS_TOKEN_ENV})",
            file=sys.stderr,
        )
        return 1
    if not args.drain_seconds > 0:
        print("facilitator: --drain-seconds must be more than 0", file=sys.stderr)
        return 1
    config = Config(
        host=args.host,
        port=args.port,
        agendas_dir=args.agendas or default_folder("agendas"),
        decks_dir=args.icebreakers or default_folder("icebreakers"),
        data_dir=args.data,
        public_url=args.public_url,
        ice_addresses=tuple(args.ice_address),
        ice_servers=ice_servers(args.stun, args.turn, args.turn_user, args.turn_password),
        stats=args.stats,
        transcode=args.transcode,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        heartbeat=args.heartbeat,
        create_key=args.create_key or None,
        max_connections_per_address=max(1, args.max_connections_per_address),
        meetings_per_hour=max(1, args.meetings_per_hour),
        keep_days=args.keep_days,
        metrics_token=token if args.metrics else None,
        drain_seconds=args.drain_seconds,
        worker=worker,
        workers=count,
        database=args.database,
        node_url=args.node_url,
    )
    if is_shared(config.database) and not config.node_url:
        print(
            "facilitator: a shared --database needs --node-url (this node's own address, "
            "different on every node)",
            file=sys.stderr,
        )
        return 1
    if bool(config.tls_cert) != bool(config.tls_key):
        print("facilitator: --tls-cert and --tls-key go together", file=sys.stderr)
        return 1
    if not config.heartbeat > 0:
        print("facilitator: --heartbeat must be more than 0 seconds", file=sys.stderr)
        return 1
    if not config.keep_days > 0:
        print("facilitator: --keep-days must be more than 0", file=sys.stderr)
        return 1
    if not (config.web_dir / "templates").is_dir():
        print(f"facilitator: cannot find the web folder at {config.web_dir}", file=sys.stderr)
        return 1
    if not private_data_folder(config):
        return 1
    library = load_library(config.agendas_dir, config.decks_dir)
    for line in library.errors:
        print(f"warning: skipped: {line}", file=sys.stderr)
    startup = None
    if args.agenda is not None and _agenda_name(args.agenda) in library.agendas:
        startup = library.agendas[_agenda_name(args.agenda)]
    elif args.agenda is not None:
        try:
            startup, warnings = load_agenda(args.agenda, library.decks)
        except FileError as exc:
            for problem in exc.problems:
                print(problem, file=sys.stderr)
            return 1
        for warning in warnings:
            print(f"warning: {warning}", file=sys.stderr)
    if worker is None and count > 1:  # the agenda is checked here, the workers make the meeting
        from .front import serve_front

        return serve_front(args, config)
    try:
        with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
            return runner.run(_run(config, startup, library.decks))
    except OSError as exc:
        print(
            f"facilitator: cannot listen on {config.host}:{config.port}: {exc.strerror}",
            file=sys.stderr,
        )
        return 1


def die_with_parent() -> None:
    """A worker stops (SIGTERM: it drains) when its front goes away, even by SIGKILL."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def parse_worker(text: str) -> tuple[int, int]:
    """``I/N`` (the hidden ``--worker`` flag the front starts workers with)."""
    index, _, count = text.partition("/")
    return int(index), int(count)


def worker_count(text: str) -> int | None:
    """``--workers``: a number, or ``auto`` for one per core; None when it is neither."""
    if text == "auto":
        return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)
    try:
        count = int(text)
    except ValueError:
        return None
    return count if 1 <= count <= 64 else None


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop when it is installed (``pip install 'facilitator[uvloop]'``), which
    costs the media forwarding about a sixth less CPU; asyncio's own otherwise (None)."""
    try:
        uvloop = importlib.import_module("uvloop")
    except ImportError:
        return None
    log.info("using uvloop's event loop")
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def _agenda_name(path: Path) -> str:
    """``network-night`` for a bare name that is not a file here; empty for anything else."""
    if path.exists() or path.suffix or len(path.parts) != 1:
        return ""
    return path.name


def private_data_folder(config: Config) -> bool:
    """Create the data folder readable by this user only; files made later are private too."""
    os.umask(0o077)
    try:
        config.data_dir.mkdir(parents=True, exist_ok=True)
        config.data_dir.chmod(0o700)
    except OSError as exc:
        print(f"facilitator: cannot use {config.data_dir}: {exc.strerror}", file=sys.stderr)
        return False
    return True


def check_fd_limit() -> int:
    """Raise the open-files limit as far as allowed; warn when it stays low. Returns it."""
    soft, hard = raise_fd_limit()
    if soft < LOW_FD_LIMIT:
        log.warning(
            "this process may open only %d files (hard limit %d); every connection and media "
            "socket needs one. Raise it (ulimit -n, or LimitNOFILE= in a systemd unit).",
            soft,
            hard,
        )
    return soft


def ice_servers(
    stun: list[str], turn: list[str], user: str | None, password: str | None
) -> tuple[dict[str, Any], ...]:
    """RTCIceServer dictionaries from the command line."""
    servers: list[dict[str, Any]] = [{"urls": url} for url in stun]
    for url in turn:
        servers.append({"urls": url, "username": user or "", "credential": password or ""})
    return tuple(servers)


async def _run(config: Config, startup: Agenda | None, decks: dict[str, Deck]) -> int:
    try:
        app = create_app(config)
    except NoDriver as exc:
        print(f"facilitator: {exc}", file=sys.stderr)
        return 1
    guard = connection_caps(check_fd_limit(), config.max_connections_per_address)
    runner = web.AppRunner(
        app,
        access_log_class=AccessLogger,
        shutdown_timeout=3.0,
        # Idle sockets (also ones that never send a request) are closed after this long.
        keepalive_timeout=KEEPALIVE_SECONDS,
    )
    try:
        await runner.setup()  # opens the store, which runs its migrations
    except STORE_ERRORS as exc:
        print(f"facilitator: cannot open the database: {exc}", file=sys.stderr)
        return 1
    ssl_context = None
    if config.tls_cert and config.tls_key:
        ssl_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ssl_context.load_cert_chain(config.tls_cert, config.tls_key)
    site = GuardedSite(runner, config.host, config.port, guard, ssl_context=ssl_context)
    await site.start()
    port = runner.addresses[0][1] if runner.addresses else config.port  # real port for 0
    base = dataclasses.replace(config, port=port).base_url()
    if config.worker is None:
        print(f"Listening on {base}", flush=True)
    else:
        print(f"{WORKER_LINE} {config.host}:{port}", flush=True)
    if startup is not None:
        room, key = await app[ROOMS].create(startup, decks)
        participant, facilitator = links(base, room.meeting.id, key)
        print(f"Participant link: {participant}", flush=True)
        print(f"Facilitator link: {facilitator}", flush=True)
    # What start-up made (modules, templates, codecs) lives as long as the process: kept out
    # of the collector's full sweeps, which otherwise walk all of it and stall every meeting.
    gc.collect()
    gc.freeze()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await drain(app, config.drain_seconds)
    log.info("shutting down")
    await runner.cleanup()
    return 0


async def drain(app: web.Application, seconds: float) -> None:
    """Take no new meetings or joins, tell open pages ``bye``, save, and linger a moment.

    The lingering lets a load balancer see ``/readyz`` fail before the port closes. Whatever
    happens, a watchdog ends the process once ``seconds`` have passed.
    """
    watchdog = threading.Timer(seconds, _give_up, (seconds,))
    watchdog.daemon = True
    watchdog.start()
    app[HEALTH].draining = True
    log.info("draining: no new meetings or joins; saying goodbye and saving")
    rooms = app[ROOMS]
    await rooms.say_goodbye()
    await rooms.flush()
    await asyncio.sleep(min(2.0, seconds / 5))


def _give_up(seconds: float) -> None:
    log.error("could not stop within --drain-seconds %g; exiting now", seconds)
    logging.shutdown()
    os._exit(1)
