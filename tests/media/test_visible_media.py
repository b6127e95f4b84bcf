"""Only the tiles a page has on screen get video (the `visible` message), through the real server
with synthetic participants on 127.0.0.1; audio always goes."""

from __future__ import annotations

import asyncio

from facilitator.bench.bot import Bot
from facilitator.bench.samples import SampleMedia

from ..integration.harness import SharedMeeting
from .test_rejoin import flowing, joined
from .test_sfu import until


async def test_video_goes_only_to_tiles_on_screen_even_when_reported_before_media(
    media_server: SharedMeeting, samples: SampleMedia
) -> None:
    async with joined(media_server, samples, "Ana", "Ben") as (ana, ben):
        ana_id, ben_id = ana.person_id or "", ben.person_id or ""
        cy = Bot(media_server.participant, "Cy", samples)
        try:
            await cy.join(with_media=False)
            # Cy's page shows only Ana's tile, and says so before its media starts.
            reply = await cy.client.request("visible", {"people": [ana_id]})
            assert reply["type"] == "ok", reply
            await cy.restart_media()
            await flowing(cy, ana_id)
            await until(lambda: cy.frames_from(ben_id, "audio") > 20, 10, "Ben's audio")
            await asyncio.sleep(1.0)  # anything sent before the plan is on the way by now
            held = cy.frames_from(ben_id, "video")
            await flowing(cy, ana_id)
            assert cy.frames_from(ben_id, "video") == held  # off screen: no video
            # Ben's tile comes on screen: his video comes.
            assert (await cy.client.request("visible", {"people": [ana_id, ben_id]}))["type"] == (
                "ok"
            )
            await flowing(cy, ben_id)
        finally:
            await cy.leave()
