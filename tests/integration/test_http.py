"""Pages, the JSON API and the security headers, over real HTTP."""

from __future__ import annotations

import aiohttp

from .harness import SharedMeeting


async def test_api_creates_meetings_from_a_name_or_yaml(server: SharedMeeting) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{server.base}/api/meetings", json={"agenda": "network-night"}) as r:
            assert r.status == 201
            data = await r.json()
        assert data["participant_url"].startswith(f"{server.base}/m/")
        assert data["facilitator_url"].startswith(data["participant_url"] + "?key=")
        meeting_id = data["id"]
        assert len(meeting_id) >= 22  # 128 random bits, URL-safe
        yaml = "title: Tiny\nitems:\n  - title: Hi\n    duration: 5 minutes\n"
        async with http.post(f"{server.base}/api/meetings", json={"yaml": yaml}) as r:
            assert r.status == 400
            errors = (await r.json())["errors"]
        assert errors == [
            'your agenda:4:15: items[0].duration: "5 minutes" is not a duration '
            "(use 90s, 5m, 1h30m or 1:30)"
        ]
        yaml = yaml.replace("5 minutes", "5m")
        body = {"yaml": yaml, "title": "My call", "max_people": 5}
        async with http.post(f"{server.base}/api/meetings", json=body) as r:
            assert r.status == 201
            assert (await r.json())["title"] == "My call"
        async with http.post(f"{server.base}/api/agendas/check", json={"yaml": yaml}) as r:
            check = await r.json()
        assert check["ok"] is True and check["timeline"][0]["duration"] == "5m"
        async with http.post(f"{server.base}/api/meetings", data=b"[]") as r:
            assert r.status == 400
        async with http.get(f"{server.base}/api/agendas") as r:
            names = [a["name"] for a in (await r.json())["agendas"]]
        assert {"network-night", "get-to-know-your-network", "quick-check-in"} <= set(names)


async def test_pages_carry_security_headers_and_hide_the_key(server: SharedMeeting) -> None:
    async with aiohttp.ClientSession() as http:
        for url in (server.base + "/", server.participant, server.facilitator):
            async with http.get(url) as r:
                assert r.status == 200
                assert r.headers["Referrer-Policy"] == "no-referrer"
                assert r.headers["X-Content-Type-Options"] == "nosniff"
                csp = r.headers["Content-Security-Policy"]
                assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
                assert "'unsafe-inline'" not in csp
                assert r.headers["Permissions-Policy"].startswith(
                    "camera=(self), microphone=(self)"
                )
                html = await r.text()
            key = server.facilitator.rsplit("key=", 1)[1]
            assert key not in html
        async with http.get(f"{server.base}/m/does-not-exist") as r:
            assert r.status == 404
            assert "Meeting not found" in await r.text()
    key = server.facilitator.rsplit("key=", 1)[1]
    assert key not in server.log()


async def test_landing_form_creates_a_meeting(server: SharedMeeting) -> None:
    # The form redirects to a page only its creator's cookie opens (an IP host needs unsafe=True).
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        form = aiohttp.FormData()
        form.add_field("agenda", "quick-check-in")
        form.add_field("title", "Friday check-in")
        form.add_field("max_people", "8")
        async with http.post(f"{server.base}/meetings", data=form) as r:
            assert r.status == 200
            html = await r.text()
        assert "Friday check-in" in html and "?key=" in html
        form = aiohttp.FormData()
        form.add_field("agenda", "custom")
        form.add_field("yaml", "title: X\nitems:\n  - title: A\n    duration: 3m\n    notes: [1]\n")
        async with http.post(f"{server.base}/meetings", data=form) as r:
            assert r.status == 400
            html = await r.text()
        assert "your agenda:5:12: items[0].notes: must be a single value" in html
