"""The HTTP side: pages, the JSON API and the meeting WebSocket (aiohttp)."""
