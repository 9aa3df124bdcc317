"""Errors the shop sees: each carries a sentence fit to show as it is (no stack traces)."""

from __future__ import annotations


class CraftError(Exception):
    """A refusal with a message meant for people."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(CraftError):
    """Bad input; `errors` maps each field to what is wrong with it."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__("; ".join(f"{field}: {msg}" for field, msg in self.errors.items()))


class NotFound(CraftError):
    pass


class TransitionRefused(CraftError):
    pass


class Conflict(CraftError):
    """Somebody else changed the record first (optimistic version check)."""


class PermissionDenied(CraftError):
    pass
