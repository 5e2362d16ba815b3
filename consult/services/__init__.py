"""Use cases: each function does one thing a user asks for, inside one
transaction, and raises `ServiceError` with a message fit to show them."""

from __future__ import annotations


class ServiceError(ValueError):
    """A request that cannot be carried out; the message says why, in words
    the person who asked can act on."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
