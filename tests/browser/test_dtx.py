"""Opus DTX from a real Chromium (issue 14): a silent microphone costs a few packets a second,
and the active speaker is still found.

Each Chromium plays a WAV file as its microphone (``--use-file-for-fake-audio-capture``): one of
digital silence, one of a loud tone. The server counts the RTP packets it receives from each
person's microphone (``/api/stats``, with ``--stats``).
"""

from __future__ import annotations

import json
import math
import struct
import time
import wave
from collections.abc import Iterator
from pathlib import Path
from urllib.request import urlopen

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect

from ..integration.harness import ServerProcess, running_server
from .conftest import CHROMIUM, FLAGS
from .test_video import pytestmark

__all__ = ["pytestmark"]

RATE = 48_000
SILENT_MAX_PACKETS_PER_SECOND = 10.0
"""The target (issue 14); without DTX Chromium sends 50 (one per 20 ms Opus frame)."""
# Keeps the `speaking` messages the page receives.
SPEAKING = """(() => {
  const WS = window.WebSocket;
  window.__speaking = [];
  window.WebSocket = class extends WS {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (event) => {
        const msg = JSON.parse(String(event.data));
        if (msg.type === "speaking") window.__speaking.push(msg.value.person);
      });
    }
  };
})();"""


def write_wav(path: Path, seconds: float, amplitude: float) -> Path:
    """A mono 16-bit WAV: a 440 Hz tone at ``amplitude`` (0: digital silence)."""
    frames = int(RATE * seconds)
    samples = (
        int(amplitude * 32767 * math.sin(2 * math.pi * 440 * i / RATE)) for i in range(frames)
    )
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(b"".join(struct.pack("<h", s) for s in samples))
    return path


@pytest.fixture
def stats_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A media server on 127.0.0.1 with ``/api/stats``."""
    yield from running_server(tmp_path, extra=["--ice-address", "127.0.0.1", "--stats"])


def launch(playwright: Playwright, wav: Path) -> Browser:
    """A Chromium whose microphone plays ``wav`` (looped)."""
    flags = [
        *FLAGS,
        "--allow-loopback-in-peer-connection",
        f"--use-file-for-fake-audio-capture={wav}",
    ]
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=flags)


def join(browser: Browser, link: str, name: str) -> Page:
    context = browser.new_context(permissions=["camera", "microphone"])
    context.add_init_script(SPEAKING)
    page = context.new_page()
    page.goto(link)
    expect(page.get_by_role("button", name="Mic on")).to_have_attribute("aria-pressed", "true")
    page.get_by_label("Your name").fill(name)
    page.get_by_role("button", name="Join").click()
    expect(page.locator("#room")).to_be_visible()
    return page


def own_id(page: Page) -> str:
    person = page.locator("#tiles article.tile.is-you").get_attribute("data-person-id")
    assert person
    return person


def audio_packets(server: ServerProcess) -> dict[str, int]:
    with urlopen(f"{server.base}/api/stats") as response:
        packets: dict[str, int] = json.loads(response.read())["audio_packets_in"]
    return packets


def rate(server: ServerProcess, person: str, seconds: float) -> float:
    """Audio packets per second the server receives from ``person`` over ``seconds``."""
    before, start = audio_packets(server).get(person, 0), time.monotonic()
    time.sleep(seconds)
    after, end = audio_packets(server).get(person, 0), time.monotonic()
    return (after - before) / (end - start)


def test_a_silent_microphone_sends_few_packets_and_the_speaker_is_still_found(
    stats_server: ServerProcess, playwright: Playwright, tmp_path: Path
) -> None:
    silent = launch(playwright, write_wav(tmp_path / "silence.wav", 5, 0.0))
    loud = launch(playwright, write_wav(tmp_path / "tone.wav", 5, 0.5))
    try:
        quiet = join(silent, stats_server.facilitator, "Quiet")
        talker = join(loud, stats_server.participant, "Talker")
        quiet_id, talker_id = own_id(quiet), own_id(talker)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            packets = audio_packets(stats_server)
            if packets.get(quiet_id, 0) > 0 and packets.get(talker_id, 0) > 50:
                break
            time.sleep(0.5)
        time.sleep(2)  # past the first second, when the encoder has not settled yet
        silent_rate = rate(stats_server, quiet_id, 5)
        talking_rate = rate(stats_server, talker_id, 2)
        print(f"\nDTX: silent microphone {silent_rate:.1f} packets/s, talking {talking_rate:.1f}")
        assert silent_rate <= SILENT_MAX_PACKETS_PER_SECOND, silent_rate
        assert talking_rate >= 40, talking_rate  # a sound goes out every 20 ms
        # The speaker is found from the audio levels, and the silent one never is.
        for page in (quiet, talker):
            heard = page.evaluate("() => window.__speaking")
            assert talker_id in heard and quiet_id not in heard, heard
    finally:
        silent.close()
        loud.close()
