"""Seams on negotiation: which codecs are offered, with which fmtp parameters (13)."""

from __future__ import annotations

import copy
import inspect
from typing import Any

from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCRtpSender, RTCRtpTransceiver
from aiortc.codecs import is_rtx
from aiortc.rtcdtlstransport import RtpRouter
from aiortc.rtcpeerconnection import filter_preferred_codecs
from aiortc.rtcrtpparameters import RTCRtpCodecParameters, RTCRtpReceiveParameters

from .base import RECEIVER as _RECEIVER
from .base import SeamError


def pin_codec(transceiver: RTCRtpTransceiver, mime_type: str) -> None:
    """Offer only one codec (VP8 or Opus): the sender would use whichever comes first."""
    capabilities = RTCRtpSender.getCapabilities(transceiver.kind)
    codecs = [c for c in capabilities.codecs if c.mimeType.lower() == mime_type.lower()]
    if not codecs:
        raise SeamError(f"aiortc offers no {mime_type}")
    transceiver.setCodecPreferences(codecs)


OPUS_PARAMETERS: dict[str, int | str | None] = {"usedtx": 1, "useinbandfec": 1}
"""fmtp the server's offers ask browsers for: silence costs almost nothing (DTX), and a lost
packet can be rebuilt from the next one (in-band FEC)."""
OFFERED = {"audio": ("audio/opus",), "video": ("video/VP8", "video/rtx")}
"""The codecs offered for each kind: one codec (aiortc sends with the first), and VP8's RTX.
Retransmissions go on the RTX stream where it is negotiated, as plain VP8 packets otherwise.
Every receiver of RTX must be given its RTX SSRC (``route_rtx``): aiortc's router drops them."""


class ParameterizedTransceiver(RTCRtpTransceiver):
    """An aiortc transceiver whose negotiated codecs carry extra fmtp parameters.

    aiortc assigns ``_codecs`` when it makes an offer or applies an answer, from its
    process-wide codec table; the copies kept here add ``extra`` to codecs of those MIME types,
    so only the server's own transceivers change and the table stays as it is.
    """

    extra: dict[str, dict[str, int | str | None]]
    """Lower-case MIME type -> parameters to add."""

    @property
    def _codecs(self) -> list[RTCRtpCodecParameters]:
        codecs: list[RTCRtpCodecParameters] = self.__dict__.get("_parameterized_codecs", [])
        return codecs

    @_codecs.setter
    def _codecs(self, codecs: list[RTCRtpCodecParameters]) -> None:
        chosen = []
        for codec in codecs:
            extra = self.__dict__.get("extra", {}).get(codec.mimeType.lower())
            if extra and not is_rtx(codec):
                codec = copy.deepcopy(codec)
                codec.parameters = {**codec.parameters, **extra}
            chosen.append(codec)
        self.__dict__["_parameterized_codecs"] = chosen


def route_rtx(receiver: RTCRtpReceiver) -> None:
    """Make the receiver's transport route the RTX packets of the streams it receives to it.

    aiortc's ``RtpRouter`` learns only the media SSRCs of a description; a packet with another
    SSRC goes to the one receiver of its payload type, and is dropped when several receivers
    share it. Every video m-line has the same RTX payload type, so with two videos every
    retransmission was dropped (a lossy subscriber then waited for keyframes: 1-2 fps).
    aiortc learns the RTX SSRCs in ``RTCRtpReceiver.receive``, once the connection is up:
    they are routed then, and at once for a receiver already started. Calling it again is
    harmless.
    """
    if not receiver.__dict__.get("_routes_rtx"):
        receiver.__dict__["_routes_rtx"] = True
        original = receiver.receive

        async def receive(parameters: RTCRtpReceiveParameters) -> Any:
            await original(parameters)
            _register_rtx(receiver)

        receiver.receive = receive  # type: ignore[method-assign]
    _register_rtx(receiver)


def _register_rtx(receiver: RTCRtpReceiver) -> None:
    rtx_ssrcs: dict[int, int] = getattr(receiver, _RECEIVER + "rtx_ssrc")
    if not rtx_ssrcs:
        return
    router = getattr(receiver.transport, "_rtp_router", None)
    if not isinstance(router, RtpRouter):
        raise SeamError("RTCDtlsTransport has no _rtp_router to route RTX with")
    for rtx_ssrc, media_ssrc in rtx_ssrcs.items():
        if router.ssrc_table.get(media_ssrc) is receiver:
            router.ssrc_table[rtx_ssrc] = receiver


def offer_codecs(transceiver: RTCRtpTransceiver, kind: str) -> None:
    """Offer Opus with DTX and in-band FEC, or VP8 with its RTX, and nothing else."""
    wanted = OFFERED[kind]
    capabilities = RTCRtpSender.getCapabilities(transceiver.kind).codecs
    codecs = [c for m in wanted for c in capabilities if c.mimeType.lower() == m.lower()]
    if len(codecs) != len(wanted):
        raise SeamError(f"aiortc offers no {' and '.join(wanted)}")
    transceiver.setCodecPreferences(codecs)
    if kind == "audio":
        transceiver.__class__ = ParameterizedTransceiver
        transceiver.__dict__["extra"] = {"audio/opus": dict(OPUS_PARAMETERS)}
    elif any(is_rtx(c) for c in codecs):
        route_rtx(transceiver.receiver)


def codec_problems() -> list[str]:
    problems = []
    offer = inspect.getsource(RTCPeerConnection.createOffer)
    if "transceiver._codecs = filter_preferred_codecs(" not in offer:
        problems.append("RTCPeerConnection.createOffer no longer assigns transceiver._codecs")
    if "transceiver._codecs = common" not in inspect.getsource(
        RTCPeerConnection.setRemoteDescription
    ):
        problems.append("RTCPeerConnection.setRemoteDescription no longer sets _codecs")
    if "self._codecs: list[RTCRtpCodecParameters] = []" not in inspect.getsource(
        RTCRtpTransceiver.__init__
    ):
        problems.append("RTCRtpTransceiver.__init__ no longer keeps _codecs")
    if "rtx_enabled" not in inspect.getsource(filter_preferred_codecs):
        problems.append("aiortc no longer adds RTX for a preferred codec")
    receive = inspect.getsource(RTCRtpReceiver.receive)
    if "self.__rtx_ssrc[encoding.rtx.ssrc] = encoding.ssrc" not in receive or (
        "self.__transport._register_rtp_receiver(self, parameters)" not in receive
    ):
        problems.append("RTCRtpReceiver.receive no longer learns RTX SSRCs and registers itself")
    if "self.ssrc_table.get(packet.ssrc)" not in inspect.getsource(RtpRouter.route_rtp):
        problems.append("RtpRouter.route_rtp no longer routes by ssrc_table (route_rtx)")
    return problems
