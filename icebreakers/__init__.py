"""Sample icebreaker decks: installed as ``facilitator.samples.icebreakers`` (only the .yaml
files matter)."""
