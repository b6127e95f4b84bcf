"""Unit tests of the HTTP edge's bounds: token buckets, connection caps, the library cache."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import jinja2
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from facilitator.domain.agenda import parse_agenda
from facilitator.domain.yamlfile import MAX_PROBLEMS, FileError
from facilitator.library import LibraryCache, check_agenda_text
from facilitator.server.agendas import AgendaInputError, check_size
from facilitator.server.keys import TEMPLATES
from facilitator.server.limits import (
    ConnectionGuard,
    RateLimiter,
    TokenBucket,
    client_key,
    connection_caps,
    env_seconds,
)
from facilitator.server.security import security_headers

ROOT = Path(__file__).resolve().parents[1]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_token_bucket_allows_a_burst_then_the_rate() -> None:
    bucket = TokenBucket(rate=2.0, burst=3)
    assert [bucket.take(10.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take(10.0) == pytest.approx(0.5)
    assert bucket.take(10.5) == 0.0
    assert bucket.take(10.5) == pytest.approx(0.5)
    # A long pause refills only up to the burst.
    assert [bucket.take(100.0) for _ in range(4)][-1] > 0


def test_each_address_has_its_own_budget() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=1.0, burst=2, clock=clock)
    assert [limiter.take("10.0.0.1") for _ in range(3)] == [0.0, 0.0, 1.0]
    assert limiter.take("10.0.0.2") == 0.0
    clock.now += 1
    assert limiter.take("10.0.0.1") == 0.0
    shared = RateLimiter(rate=1.0, burst=1, shared=True, clock=clock)
    assert shared.take("10.0.0.1") == 0.0
    assert shared.take("10.0.0.2") == 1.0


def test_ipv6_addresses_count_by_their_64_prefix() -> None:
    assert client_key("2001:db8:1:2::1") == client_key("2001:db8:1:2:ffff::9")
    assert client_key("2001:db8:1:2::1") != client_key("2001:db8:1:3::1")
    assert client_key("::ffff:192.0.2.7") == "192.0.2.7"
    assert client_key(None) == "unknown"


def test_the_connection_guard_caps_per_address_and_in_total() -> None:
    guard = ConnectionGuard(per_address=2, total=3)
    first, second = guard.admit("10.0.0.1"), guard.admit("10.0.0.1")
    assert first and second
    assert guard.admit("10.0.0.1") is None
    third = guard.admit("10.0.0.2")
    assert third is not None
    assert guard.admit("10.0.0.3") is None  # the total is reached
    guard.release(first)
    assert guard.admit("10.0.0.3") is not None
    assert guard.refused == 2


def test_one_address_holds_at_most_a_quarter_of_all_connections() -> None:
    small = connection_caps(256, 128)  # the descriptors of a small host
    assert (small.per_address, small.total) == (32, 128)
    big = connection_caps(65_536, 128)
    assert big.per_address == 128 and big.total == 65_536 - 128
    assert connection_caps(64, 128).per_address == 8  # never below the floor of 32 in all
    assert connection_caps(0, 128).per_address == 128  # no limit known


def test_seconds_from_the_environment_must_be_positive(monkeypatch: pytest.MonkeyPatch) -> None:
    for text, expected in [("2.5", 2.5), ("0", 15.0), ("-1", 15.0), ("inf", 15.0), ("x", 15.0)]:
        monkeypatch.setenv("SOME_SECONDS", text)
        assert env_seconds("SOME_SECONDS", 15.0) == expected, text
    monkeypatch.delenv("SOME_SECONDS")
    assert env_seconds("SOME_SECONDS", 15.0) == 15.0


def test_the_library_is_cached_and_reloaded_when_a_file_changes(tmp_path: Path) -> None:
    agendas = tmp_path / "agendas"
    agendas.mkdir()
    path = agendas / "a.yaml"
    path.write_text("title: One\nitems:\n  - title: A\n    duration: 5m\n")
    clock = FakeClock()
    cache = LibraryCache(agendas, tmp_path / "none", clock=clock)
    first = cache.get()
    assert first.agendas["a"].title == "One" and cache.version == 1
    path.write_text("title: Two, longer\nitems:\n  - title: A\n    duration: 5m\n")
    assert cache.get() is first  # looked at no more than once a second
    clock.now += 1.1
    assert cache.get().agendas["a"].title == "Two, longer" and cache.version == 2
    clock.now += 1.1
    assert cache.get() is cache.library and cache.version == 2  # unchanged: not reloaded


def test_errors_stop_at_twenty_and_count_the_rest() -> None:
    text = "title: X\nitems:\n  - title: A\n    duration: 5m\n"
    text += "".join(f"key_{i}: 1\n" for i in range(500))
    with pytest.raises(FileError) as caught:
        parse_agenda(text, "big.yaml", {})
    lines = [str(p) for p in caught.value.problems]
    assert len(lines) == MAX_PROBLEMS + 1
    assert lines[-1] == "big.yaml:25:1: document: and 480 more problems; fix the ones above first"
    agenda, _, errors = check_agenda_text(text, "big.yaml", {})
    assert agenda is None and errors == lines


def test_pasted_agendas_over_64_kb_are_refused_before_reading() -> None:
    check_size("a" * 64 * 1024)
    with pytest.raises(AgendaInputError) as caught:
        check_size("é" * 40_000)  # 80 KB in UTF-8
    assert caught.value.errors == [
        "Your agenda is 78 KB; agendas can be up to 64 KB (most are a few KB)."
    ]


def test_the_fd_limit_is_raised_to_the_hard_limit() -> None:
    script = textwrap.dedent(
        """
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, hard))
        from facilitator.server.limits import raise_fd_limit
        print(raise_fd_limit() == (hard, hard), resource.getrlimit(resource.RLIMIT_NOFILE)[0])
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.split()[0] == "True", out.stdout


async def test_an_unexpected_error_gets_the_error_page_with_the_headers() -> None:
    async def broken(request: web.Request) -> web.Response:
        raise RuntimeError("a bug")

    app = web.Application(middlewares=[security_headers])
    app[TEMPLATES] = jinja2.Environment(
        loader=jinja2.FileSystemLoader(ROOT / "facilitator" / "web" / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    app.router.add_get("/broken", broken)
    app.router.add_get("/api/broken", broken)
    async with TestClient(TestServer(app)) as client:
        response = await client.get("/broken")
        assert response.status == 500
        assert response.headers["X-Frame-Options"] == "DENY"
        assert "Content-Security-Policy" in response.headers
        assert "Something went wrong" in await response.text()
        response = await client.get("/api/broken")
        assert response.status == 500 and (await response.json())["error"] == "server-error"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
