"""Benchmark and test tools: the protocol client, synthetic participants and the load test.

The product (``facilitator.server``, ``facilitator.media``, ``facilitator.domain``) never imports
this package.
"""
