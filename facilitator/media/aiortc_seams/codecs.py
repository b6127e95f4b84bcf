"""Seams on negotiation: which codecs are offered, with which fmtp parameters (13)."""

from __future__ import annotations

import copy
import inspect

from aiortc import RTCPeerConnection, RTCRtpSender, RTCRtpTransceiver
from aiortc.codecs import is_rtx
from aiortc.rtcpeerconnection import filter_preferred_codecs
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

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
OFFERED = {"audio": ("audio/opus",), "video": ("video/VP8",)}
"""The codecs offered for each kind: one codec (aiortc sends with the first). VP8's RTX is not
offered yet: with it, a subscriber on a lossy link (tests/media/test_network.py) got 4 fps instead
of 30 on the packet path; NACKs are answered with plain retransmissions meanwhile."""


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


def offer_codecs(transceiver: RTCRtpTransceiver, kind: str) -> None:
    """Offer Opus with DTX and in-band FEC, or VP8 (see OFFERED on RTX), and nothing else."""
    wanted = OFFERED[kind]
    capabilities = RTCRtpSender.getCapabilities(transceiver.kind).codecs
    codecs = [c for m in wanted for c in capabilities if c.mimeType.lower() == m.lower()]
    if len(codecs) != len(wanted):
        raise SeamError(f"aiortc offers no {' and '.join(wanted)}")
    transceiver.setCodecPreferences(codecs)
    if kind == "audio":
        transceiver.__class__ = ParameterizedTransceiver
        transceiver.__dict__["extra"] = {"audio/opus": dict(OPUS_PARAMETERS)}


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
    return problems
