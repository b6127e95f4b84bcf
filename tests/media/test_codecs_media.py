"""The codecs the server offers (Opus DTX and FEC, VP8 with RTX) with real aiortc peers."""

from __future__ import annotations

import re

from facilitator.bench.bot import Bot
from facilitator.bench.samples import SampleMedia

from ..integration.harness import SharedMeeting
from .test_sfu import until


async def test_offers_ask_for_dtx_fec_and_rtx_and_media_still_flows(
    media_server: SharedMeeting, samples: SampleMedia
) -> None:
    bots = [Bot(media_server.participant, f"Codec {i}", samples) for i in range(2)]
    try:
        for bot in bots:
            await bot.join()
        ids = [bot.person_id or "" for bot in bots]
        await until(
            lambda: all(
                b.frames_from(other, kind) >= 20
                for b in bots
                for other in ids
                if other != b.person_id
                for kind in ("audio", "video")
            ),
            20,
            "audio and video both ways",
        )
        sdp = bots[0].last_offer
        opus = re.findall(r"a=rtpmap:(\d+) opus/48000/2", sdp)
        vp8 = re.findall(r"a=rtpmap:(\d+) VP8/90000", sdp)
        rtx = re.findall(r"a=rtpmap:(\d+) rtx/90000", sdp)
        assert opus and vp8 and len(rtx) == len(vp8)
        for pt in set(opus):
            assert f"a=fmtp:{pt} usedtx=1;useinbandfec=1" in sdp
        for video, retransmit in zip(vp8, rtx, strict=True):
            assert f"a=fmtp:{retransmit} apt={video}" in sdp
        assert sdp.count("a=ssrc-group:FID ") == len(vp8)  # each video announces its RTX SSRC
        assert "H264" not in sdp and "PCMU" not in sdp  # still one codec per kind
    finally:
        for bot in bots:
            await bot.leave()
