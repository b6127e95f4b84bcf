"""facilitator: timed, facilitated group video calls for meetups."""

__version__ = "0.1.0"
