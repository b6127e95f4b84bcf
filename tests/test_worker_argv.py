"""Every ``serve`` option reaches the workers under ``--workers``, unless the front keeps it."""

from __future__ import annotations

import argparse

from facilitator.cli import build_parser
from facilitator.server.workers import FRONT_ONLY, SET_FOR_WORKERS, worker_argv


def serve_options() -> list[argparse.Action]:
    """The options of ``facilitator serve`` (``--help`` aside), as its parser has them."""
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    serve: argparse.ArgumentParser = commands.choices["serve"]
    return [
        action
        for action in serve._actions
        if action.option_strings and not isinstance(action, argparse._HelpAction)
    ]


def unusual_value(action: argparse.Action) -> str:
    """A value for an option that is not its default, of the type it takes."""
    if action.choices:
        return next(str(c) for c in action.choices if c != action.default)
    if action.type is int:
        return "7"
    if action.type is float:
        return "7.5"
    if action.dest == "workers":
        return "3"
    return f"/set/{action.dest}"


def command_line(options: list[argparse.Action]) -> tuple[list[str], dict[str, list[str]]]:
    """``serve`` with every option set to an unusual value; what each option adds to it."""
    given: dict[str, list[str]] = {}
    for action in options:
        if action.dest == "worker":  # the front is never started as a worker
            continue
        flag = action.option_strings[0]
        given[action.dest] = [flag] if action.nargs == 0 else [flag, unusual_value(action)]
    return ["serve", *(word for words in given.values() for word in words)], given


def contains(argv: list[str], words: list[str]) -> bool:
    """``words`` appear in ``argv`` one after the other."""
    return any(argv[i : i + len(words)] == words for i in range(len(argv)))


def test_every_serve_option_is_passed_to_the_workers_or_kept_by_the_front() -> None:
    options = serve_options()
    line, given = command_line(options)
    args = build_parser().parse_args(line)
    argv = worker_argv(args, 0, 2, "http://front.example:8080", first=True)
    dests = {action.dest for action in options}
    assert dests >= FRONT_ONLY | SET_FOR_WORKERS  # no stale names
    assert not FRONT_ONLY & SET_FOR_WORKERS
    for action in options:
        flag = action.option_strings[0]
        if action.dest in FRONT_ONLY:
            assert flag not in argv, f"{flag} is the front's own"
        elif action.dest in SET_FOR_WORKERS:
            assert flag in argv, f"{flag} is not set for the workers"
        else:
            # A new serve option fails here until it is passed on or listed as FRONT_ONLY.
            assert contains(argv, given[action.dest]), f"{flag} is not passed to the workers"
    assert contains(argv, ["--worker", "0/2"])
    assert contains(argv, ["--public-url", "http://front.example:8080"])
    assert contains(argv, ["--host", "127.0.0.1", "--port", "0"])
    assert "/set/metrics_token" not in argv  # it goes in the environment


def test_only_the_first_worker_makes_the_start_up_meeting_once() -> None:
    args = build_parser().parse_args(["serve", "--agenda", "network-night"])
    assert contains(worker_argv(args, 0, 2, "http://x", first=True), ["--agenda", "network-night"])
    assert "--agenda" not in worker_argv(args, 0, 2, "http://x", first=False)
    assert "--agenda" not in worker_argv(args, 1, 2, "http://x", first=True)


def test_a_node_on_postgresql_runs_its_workers_on_postgresql_with_leases() -> None:
    url = "postgresql://facilitator@db.example/facilitator"
    line = ["serve", "--database", url, "--node-url", "http://node1:8080", "--keep-days", "2"]
    argv = worker_argv(build_parser().parse_args(line), 1, 2, "http://x", first=True)
    assert contains(argv, ["--database", url])
    assert contains(argv, ["--node-url", "http://node1:8080"])
    assert contains(argv, ["--keep-days", "2.0"])
