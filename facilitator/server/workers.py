"""The front's worker processes (``--workers``): start them, restart any that die, stop them.

Each worker is ``facilitator serve`` on 127.0.0.1 with an OS-chosen port, which it prints; the
front reads it from the worker's output and passes the worker's other output (the start-up
meeting's links) on to its own.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
import time
from dataclasses import dataclass, field

log = logging.getLogger("facilitator.workers")

WORKER_LINE = "Worker listening on"
"""What a worker prints once it listens (``run.py`` writes it)."""
START_SECONDS = 60.0
"""A worker that does not listen within this long is stopped and started again."""
BACKOFF_MAX = 10.0
"""The longest wait before starting a worker that keeps dying."""
STABLE_SECONDS = 30.0
"""A worker that ran this long before dying is restarted at once."""


FRONT_ONLY = frozenset({"workers", "tls_cert", "tls_key", "metrics_token"})
"""``serve`` options the front keeps: it runs the workers and does TLS; the metrics token goes
to the workers in the environment (``FACILITATOR_METRICS_TOKEN``), not on their command line."""
SET_FOR_WORKERS = frozenset({"host", "port", "worker", "public_url", "max_connections_per_address"})
"""``serve`` options every worker gets with a value of the front's choosing, not the front's own."""


def worker_argv(
    args: argparse.Namespace, index: int, count: int, public_url: str, first: bool
) -> list[str]:
    """The command line of worker ``index``: the front's options, on loopback, port 0.

    Every ``serve`` option is passed on except ``FRONT_ONLY``; ``SET_FOR_WORKERS`` get the
    front's values (``tests/test_worker_argv.py`` checks both). Only worker 0's first start
    gets ``--agenda`` (a restart must not make another meeting).
    """
    argv = [sys.executable, "-m", "facilitator", "serve", "--host", "127.0.0.1", "--port", "0"]
    argv += ["--worker", f"{index}/{count}", "--public-url", public_url]
    argv += ["--data", str(args.data), "--heartbeat", str(args.heartbeat)]
    argv += ["--drain-seconds", str(args.drain_seconds), "--log-format", args.log_format]
    argv += ["--log-level", args.log_level, "--keep-days", str(args.keep_days)]
    argv += ["--meetings-per-hour", str(args.meetings_per_hour)]
    # The front counts connections per client; every worker connection comes from the front.
    argv += ["--max-connections-per-address", "1000000"]
    # The same store and node for every worker: each holds leases as a worker of this node.
    for flag, value in (
        ("--database", args.database),
        ("--node-url", args.node_url),
        ("--agendas", args.agendas),
        ("--icebreakers", args.icebreakers),
    ):
        if value is not None:
            argv += [flag, str(value)]
    if first and index == 0 and args.agenda is not None:
        argv += ["--agenda", str(args.agenda)]
    if args.create_key:
        argv += ["--create-key", args.create_key]
    for flag, values in (("--ice-address", args.ice_address), ("--stun", args.stun)):
        for value in values:
            argv += [flag, value]
    for value in args.turn:
        argv += ["--turn", value]
    for flag, value in (("--turn-user", args.turn_user), ("--turn-password", args.turn_password)):
        if value:
            argv += [flag, value]
    for flag, on in (("--stats", args.stats), ("--transcode", args.transcode)):
        if on:
            argv.append(flag)
    if args.metrics:
        argv.append("--metrics")
    return argv


@dataclass
class Worker:
    """One worker process and where it listens."""

    index: int
    proc: asyncio.subprocess.Process | None = None
    port: int | None = None
    """Its port while it is up and listening; None while it starts or is down."""
    restarts: int = 0
    ready: asyncio.Event = field(default_factory=asyncio.Event)


class Supervisor:
    """Keeps ``count`` workers running until ``stop``."""

    def __init__(
        self, args: argparse.Namespace, count: int, public_url: str, env: dict[str, str]
    ) -> None:
        self.args = args
        self.public_url = public_url
        self.env = env
        self.workers = [Worker(i) for i in range(count)]
        self.stopping = False
        self.tasks: list[asyncio.Task[None]] = []

    def up(self) -> list[Worker]:
        """Workers that are listening now."""
        return [w for w in self.workers if w.port is not None]

    async def start(self, timeout: float = START_SECONDS) -> bool:
        """Start every worker; True once all listen (False if one could not start in time)."""
        self.tasks = [asyncio.create_task(self._keep(w)) for w in self.workers]
        waits = [asyncio.create_task(w.ready.wait()) for w in self.workers]
        _, pending = await asyncio.wait(waits, timeout=timeout)
        for task in pending:
            task.cancel()
        return not pending

    async def _keep(self, worker: Worker) -> None:
        first = True
        delay = 0.5
        while not self.stopping:
            started = time.monotonic()
            await self._run(worker, first)
            first = False
            if self.stopping:
                break
            worker.restarts += 1
            if time.monotonic() - started > STABLE_SECONDS:
                delay = 0.5
            log.warning("worker %d stopped; starting it again in %.1fs", worker.index, delay)
            await asyncio.sleep(delay)
            delay = min(BACKOFF_MAX, delay * 2)

    async def _run(self, worker: Worker, first: bool) -> None:
        count = len(self.workers)
        argv = worker_argv(self.args, worker.index, count, self.public_url, first)
        proc = await asyncio.create_subprocess_exec(
            *argv, stdout=asyncio.subprocess.PIPE, env=self.env, start_new_session=True
        )
        worker.proc = proc
        assert proc.stdout is not None
        try:
            async with asyncio.timeout(START_SECONDS):
                while True:
                    line = (await proc.stdout.readline()).decode("utf-8", "replace")
                    if not line:
                        break
                    if line.startswith(WORKER_LINE):
                        worker.port = int(line.rsplit(":", 1)[1])
                        worker.ready.set()
                        break
                    print(line, end="", flush=True)
        except TimeoutError:
            log.error("worker %d did not start listening in time", worker.index)
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
        while line := (await proc.stdout.readline()).decode("utf-8", "replace"):
            print(line, end="", flush=True)
        await proc.wait()
        worker.port = None
        worker.ready.clear()

    async def stop(self, timeout: float) -> None:
        """SIGTERM every worker (each drains itself), SIGKILL any still there after ``timeout``."""
        self.stopping = True
        procs = [w.proc for w in self.workers if w.proc and w.proc.returncode is None]
        for proc in procs:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
        waits = [asyncio.create_task(proc.wait()) for proc in procs]
        if waits:
            _, pending = await asyncio.wait(waits, timeout=timeout)
            for proc in procs:
                if proc.returncode is None:
                    log.warning("a worker did not stop in time; killing it")
                    with contextlib.suppress(ProcessLookupError):
                        proc.kill()
            if pending:
                await asyncio.wait(pending, timeout=5)
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


def worker_env() -> dict[str, str]:
    """The workers' environment: ours, unbuffered output."""
    return dict(os.environ, PYTHONUNBUFFERED="1")
