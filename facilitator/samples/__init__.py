"""The sample agendas and icebreaker decks that ship with facilitator.

In a checkout they are the top-level ``agendas/`` and ``icebreakers/`` folders (edit them
there); ``pyproject.toml`` maps those folders to ``facilitator.samples.agendas`` and
``facilitator.samples.icebreakers`` so that a wheel carries them too.
"""
