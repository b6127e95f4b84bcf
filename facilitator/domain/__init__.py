"""The meeting domain: agendas, decks, the clock, icebreaker rotation and the meeting itself.

Pure Python: nothing here imports aiohttp, aiortc or av, and nothing does I/O, so the server
can persist and restore every object and the tests can drive it with a fake clock.
"""
