"""Pre-encoded VP8 video and Opus audio for synthetic participants, made once with PyAV.

Encoding happens here, ahead of time, so a synthetic participant only sends bytes: the load it
puts on a machine is the network's, not an encoder's.
"""

from __future__ import annotations

import hashlib
import math
import random
import struct
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

OPUS_FRAME = 960
"""Samples per 20 ms Opus frame at 48 kHz."""


@dataclass(frozen=True)
class SampleMedia:
    """Encoded frames to loop: VP8 (first frame a keyframe) and 20 ms Opus packets."""

    video: tuple[bytes, ...]
    """VP8 frames in order; index 0 is a keyframe."""
    audio: tuple[bytes, ...]
    """Opus packets of 20 ms each."""
    width: int
    height: int
    fps: int


def make_samples(
    width: int = 320, height: int = 240, frames: int = 30, fps: int = 30, kbps: int = 300
) -> SampleMedia:
    """Encode a moving test picture (with some noise, to reach the bitrate) and a soft tone."""
    video = av.CodecContext.create("libvpx", "w")
    video.width, video.height = width, height
    video.pix_fmt = "yuv420p"
    video.time_base = Fraction(1, fps)
    video.bit_rate = kbps * 1000
    # One keyframe at the start; real-time settings, no lookahead (frames come out at once).
    video.options = {
        "deadline": "realtime",
        "cpu-used": "8",
        "g": str(max(frames, 1) * 10),
        "lag-in-frames": "0",
        "auto-alt-ref": "0",
    }
    rng = random.Random(1)
    encoded: list[bytes] = []
    # A moving block of noise keeps every frame costly to code, like a real camera; its size
    # (a fifth of the width, a seventh of the height) lands near 500 kbps at 640x480.
    block_w, block_h = width // 5, height // 7
    for index in range(frames):
        frame = av.VideoFrame(width, height, "yuv420p")
        luma = frame.planes[0]
        stride = luma.line_size
        row = bytes(((x * 2 + index * 6) & 255) for x in range(stride))
        picture = bytearray(row * height)
        left = (index * 5) % (width - block_w)
        for y in range(height // 5, height // 5 + block_h):
            picture[y * stride + left : y * stride + left + block_w] = rng.randbytes(block_w)
        luma.update(bytes(picture))
        frame.planes[1].update(bytes([128]) * frame.planes[1].buffer_size)
        frame.planes[2].update(bytes([(index * 5) & 255]) * frame.planes[2].buffer_size)
        frame.pts = index
        encoded += [bytes(p) for p in video.encode(frame)]
    encoded += [bytes(p) for p in video.encode(None)]

    audio = av.CodecContext.create("libopus", "w")
    audio.sample_rate = 48_000
    audio.layout = "mono"
    audio.format = "s16"
    audio.bit_rate = 32_000
    packets: list[bytes] = []
    for index in range(50):
        sound = av.AudioFrame(format="s16", layout="mono", samples=OPUS_FRAME)
        sound.sample_rate = 48_000
        samples = (
            int(2000 * math.sin(2 * math.pi * 440 * (index * OPUS_FRAME + n) / 48_000))
            for n in range(OPUS_FRAME)
        )
        sound.planes[0].update(struct.pack(f"<{OPUS_FRAME}h", *samples))
        sound.pts = index * OPUS_FRAME
        packets += [bytes(p) for p in audio.encode(sound)]
    return SampleMedia(tuple(encoded), tuple(packets), width, height, fps)


def cached_samples(
    folder: Path, width: int = 640, height: int = 480, frames: int = 90, kbps: int = 500
) -> SampleMedia:
    """``make_samples`` once, then read from ``folder`` (keyed by the settings)."""
    key = f"v2:{width}x{height}:{frames}:{kbps}"
    name = hashlib.sha256(key.encode()).hexdigest()[:12]
    path = folder / f"samples-{name}.bin"
    if path.exists():
        try:
            return _read(path, width, height)
        except (OSError, ValueError, struct.error):
            pass  # a broken cache is made again
    media = make_samples(width, height, frames, 30, kbps)
    folder.mkdir(parents=True, exist_ok=True)
    _write(path, media)
    return media


def _write(path: Path, media: SampleMedia) -> None:
    chunks = [struct.pack("<II", len(media.video), len(media.audio))]
    for blob in (*media.video, *media.audio):
        chunks.append(struct.pack("<I", len(blob)) + blob)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(b"".join(chunks))
    tmp.replace(path)


def _read(path: Path, width: int, height: int) -> SampleMedia:
    data = path.read_bytes()
    nvideo, naudio = struct.unpack_from("<II", data, 0)
    at = 8
    blobs = []
    for _ in range(nvideo + naudio):
        (size,) = struct.unpack_from("<I", data, at)
        blobs.append(data[at + 4 : at + 4 + size])
        at += 4 + size
    if at != len(data):
        raise ValueError("trailing bytes")
    return SampleMedia(tuple(blobs[:nvideo]), tuple(blobs[nvideo:]), width, height, 30)
