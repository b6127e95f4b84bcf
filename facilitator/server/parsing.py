"""Agenda YAML written by hosts, parsed in a worker process so the meetings never wait for it.

Parsing is pure Python: a 64 KB agenda of the worst shape (tens of thousands of tiny nodes)
takes about a second of CPU. On the event loop (or in a thread, holding the GIL) that second
would freeze every meeting; in one worker process it only delays other agenda checks, which
queue behind it (a few at most: the rest are told to try again).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import math
import multiprocessing
import os
import signal
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from ..domain.agenda import Agenda
from ..domain.decks import Deck
from ..library import check_agenda_text
from .limits import env_seconds

log = logging.getLogger("facilitator.parsing")

MAX_AGENDA_BYTES = 64 * 1024
"""Largest agenda YAML a host may paste, upload or post (real ones are a few KB)."""
PARSE_SECONDS_ENV = "FACILITATOR_PARSE_SECONDS"
"""Sets PARSE_SECONDS (tests use a short budget to see a parse over it ended)."""
PARSE_SECONDS = env_seconds(PARSE_SECONDS_ENV, 10.0)
"""Time budget of one parse (the worst case at the size limit takes about one second);
starting the worker process is not counted."""
START_SECONDS = 60.0
"""How long starting the worker process may take (a busy host imports slowly)."""
TOO_LONG = "Your agenda took too long to read. Make it shorter and try again."
MAX_WAITING = 4
"""Parses running or queued at once; more are refused as busy."""


PR_SET_PDEATHSIG = 1
"""Linux prctl option: the signal a process gets when its parent dies."""


PARSER_NICE = 10
"""How much lower the worker's CPU priority is than the server's."""


def _die_with_server() -> None:
    """Worker start-up: end with the server, even when it is killed (SIGKILL leaves no time
    to shut the pool down), and yield the CPU to it."""
    # Not Linux: no prctl, and the pool's own shutdown is all there is.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    # On a small host the worker and the event loop share cores: a second of parsing a hostile
    # agenda must not take CPU time the meetings are waiting for.
    with contextlib.suppress(OSError):
        os.nice(PARSER_NICE)


def _check_within(
    seconds: float, text: str, filename: str, decks: dict[str, Deck]
) -> tuple[Agenda | None, list[str], list[str]]:
    """In the worker: parse, and let the kernel end the worker if it runs over ``seconds``
    (SIGALRM's default action), so a stuck parse never outlives its budget."""
    signal.alarm(math.ceil(seconds) + 1)
    try:
        return check_agenda_text(text, filename, decks)
    finally:
        signal.alarm(0)


def _ready() -> None:
    """In the worker: nothing; running it shows the process has started."""


class ParserBusy(Exception):
    """Too many agendas are being checked right now; try again in a moment."""


class AgendaParser:
    """One worker process (started on first use) that turns YAML into an Agenda."""

    def __init__(self, timeout: float = PARSE_SECONDS, max_waiting: int = MAX_WAITING) -> None:
        self.timeout = timeout
        self.max_waiting = max_waiting
        self.waiting = 0
        self.pool: ProcessPoolExecutor | None = None
        self.ready: asyncio.Future[None] | None = None
        """The worker process has started (and imported the parser)."""

    async def parse(
        self, text: str, filename: str, decks: dict[str, Deck]
    ) -> tuple[Agenda | None, list[str], list[str]]:
        """(agenda or None, warnings, errors) for ``text``; raise ParserBusy when overloaded."""
        if self.waiting >= self.max_waiting:
            raise ParserBusy
        self.waiting += 1
        pool = None
        try:
            pool = await self._started()
            loop = asyncio.get_running_loop()
            job = loop.run_in_executor(pool, _check_within, self.timeout, text, filename, decks)
            return await asyncio.wait_for(job, self.timeout)
        except (TimeoutError, BrokenProcessPool):
            log.warning("agenda parse failed or ran over %.1fs; new worker", self.timeout)
            if pool is not None:
                self.restart(pool)
            return None, [], [TOO_LONG]
        finally:
            self.waiting -= 1

    async def _started(self) -> ProcessPoolExecutor:
        """The worker pool, once its process is up: starting it is not part of any budget."""
        if self.pool is None or self.ready is None:
            # spawn, not fork: the server has threads (SQLite, media) a fork would copy mid-use.
            context = multiprocessing.get_context("spawn")
            self.pool = ProcessPoolExecutor(1, mp_context=context, initializer=_die_with_server)
            self.ready = asyncio.get_running_loop().run_in_executor(self.pool, _ready)
        pool, ready = self.pool, self.ready
        try:
            await asyncio.wait_for(asyncio.shield(ready), START_SECONDS)
        except (TimeoutError, BrokenProcessPool):
            self.restart(pool)
            raise
        return pool

    def restart(self, pool: ProcessPoolExecutor) -> None:
        """Drop a stuck or broken worker; the next parse starts a fresh one."""
        if self.pool is pool:
            self.pool = None
            self.ready = None
        pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        """Stop the worker."""
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)
            self.pool = None
