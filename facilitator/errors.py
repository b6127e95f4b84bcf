"""The base class of every refusal that carries a stable code for clients."""

from __future__ import annotations


class CodedError(Exception):
    """A refusal: ``code`` is stable for clients and tests, ``str()`` is a friendly message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
