"""What every seam shares: the error raised when aiortc moved, and its private name prefixes."""

from __future__ import annotations

JITTER = "_RTCRtpReceiver__jitter_buffer"
NACKS = "_RTCRtpReceiver__nack_generator"
RTT = "_RTCRtpSender__rtt"
RECEIVER = "_RTCRtpReceiver__"
SENDER = "_RTCRtpSender__"
DTLS = "_RTCDtlsTransport__"


class SeamError(RuntimeError):
    """aiortc or aioice no longer has the shape this package relies on."""
