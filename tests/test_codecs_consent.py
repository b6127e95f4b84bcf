"""Two seams for real networks, without a network: the codecs offered and tolerant consent."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aioice.ice
import aioice.stun
import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription

from facilitator.media.aiortc_seams import (
    CONSENT_FAILURES,
    CONSENT_RETRANSMISSIONS,
    ParameterizedTransceiver,
    check_seams,
    offer_codecs,
    tolerant_consent,
    tolerant_query_consent,
)


def media_lines(sdp: str) -> list[list[str]]:
    """The rtpmap and fmtp lines of each m-section."""
    sections: list[list[str]] = []
    for line in sdp.splitlines():
        if line.startswith("m="):
            sections.append([])
        elif sections and line.startswith(("a=rtpmap:", "a=fmtp:")):
            sections[-1].append(line)
    return sections


async def test_offer_asks_for_opus_dtx_and_fec_and_vp8_with_rtx() -> None:
    pc = RTCPeerConnection()
    try:
        for kind in ("audio", "video"):
            for direction in ("recvonly", "sendonly"):
                offer_codecs(pc.addTransceiver(kind, direction=direction), kind)
        offer = await pc.createOffer()
        audio_in, audio_out, video_in, video_out = media_lines(offer.sdp)
        for audio in (audio_in, audio_out):
            assert audio == ["a=rtpmap:96 opus/48000/2", "a=fmtp:96 usedtx=1;useinbandfec=1"]
        for video in (video_in, video_out):
            assert video == ["a=rtpmap:97 VP8/90000", "a=rtpmap:98 rtx/90000", "a=fmtp:98 apt=97"]
    finally:
        await pc.close()


async def test_an_answer_keeps_the_parameters_and_aiortc_peers_are_untouched() -> None:
    server, client = RTCPeerConnection(), RTCPeerConnection()
    try:
        audio = server.addTransceiver("audio", direction="recvonly")
        offer_codecs(audio, "audio")
        offer_codecs(server.addTransceiver("video", direction="recvonly"), "video")
        await server.setLocalDescription(await server.createOffer())
        await client.setRemoteDescription(server.localDescription)
        await client.setLocalDescription(await client.createAnswer())
        answer = client.localDescription.sdp
        await server.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        assert isinstance(audio, ParameterizedTransceiver)
        (opus,) = audio._codecs
        assert opus.parameters == {"usedtx": 1, "useinbandfec": 1}
        # The client's own (ordinary) transceivers and aiortc's codec table did not change.
        assert "usedtx" not in answer
        fresh = RTCPeerConnection()
        fresh.addTransceiver("audio")
        assert "usedtx" not in (await fresh.createOffer()).sdp
        await fresh.close()
    finally:
        await server.close()
        await client.close()


class FakeProtocol:
    """Answers consent checks as told: "lost" raises a timeout, anything else answers."""

    def __init__(self, script: list[str]) -> None:
        self.script = script
        self.retransmissions: list[int | None] = []

    async def request(
        self, request: Any, addr: Any, integrity_key: Any = None, retransmissions: Any = None
    ) -> Any:
        self.retransmissions.append(retransmissions)
        if self.script.pop(0) == "lost":
            raise aioice.stun.TransactionTimeout()
        return request, addr


class FakePair:
    def __init__(self, protocol: FakeProtocol) -> None:
        self.protocol = protocol
        self.remote_addr = ("127.0.0.1", 9)


class FakeConnection:
    """The parts of an aioice Connection that the consent loop uses."""

    def __init__(self, script: list[str]) -> None:
        self.remote_password = "secret"
        self.protocol = FakeProtocol(script)
        self._nominated = {1: FakePair(self.protocol)}
        self._query_consent_task: object = "running"
        self.closed = False

    def build_request(self, pair: FakePair, nominate: bool) -> str:
        return "binding"

    async def close(self) -> None:
        self.closed = True


async def test_consent_tolerates_failures_short_of_the_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    script = ["lost"] * (CONSENT_FAILURES - 1) + ["ok"] + ["lost"] * (CONSENT_FAILURES - 1)
    connection = FakeConnection(script + ["ok"] * 10)
    monkeypatch.setattr(aioice.ice, "CONSENT_INTERVAL", 0.001)
    task = asyncio.ensure_future(tolerant_query_consent(connection))  # type: ignore[arg-type]
    for _ in range(2000):
        if task.done() or len(connection.protocol.retransmissions) >= len(script) + 2:
            break
        await asyncio.sleep(0.002)
    assert not task.done()  # still checking: never closed
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert not connection.closed
    assert set(connection.protocol.retransmissions) == {CONSENT_RETRANSMISSIONS}
    assert CONSENT_RETRANSMISSIONS > 0  # aioice's own checks have none


async def test_consent_closes_after_the_limit_and_says_so(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    connection = FakeConnection(["ok"] + ["lost"] * CONSENT_FAILURES)
    monkeypatch.setattr(aioice.ice, "CONSENT_INTERVAL", 0.001)
    with caplog.at_level(logging.WARNING, logger="facilitator.media.aiortc_seams"):
        await asyncio.wait_for(tolerant_query_consent(connection), 5)  # type: ignore[arg-type]
    assert connection.closed
    assert connection._query_consent_task is None
    assert len(connection.protocol.retransmissions) == 1 + CONSENT_FAILURES
    assert any("consent checks in a row" in r.getMessage() for r in caplog.records)


def test_tolerant_consent_is_installed_and_its_seam_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(aioice.ice.Connection, "query_consent", aioice.ice.Connection.query_consent)
    tolerant_consent()
    assert aioice.ice.Connection.query_consent is tolerant_query_consent
    check_seams()  # checks aioice's own loop, which the replacement follows
