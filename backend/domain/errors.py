"""The one exception hierarchy of the domain, mapped to HTTP status codes in one place."""

from __future__ import annotations


class DomainError(Exception):
    """A command was refused. `field` names the offending input path (``shapes[3].points``)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.message = message
        self.field = field
        self.command_index: int | None = None  # which command of a batch, set by decide()


class ValidationError(DomainError):
    """The input is malformed or breaks a rule (unknown label, wrong point count, ...)."""


class NotFound(DomainError):
    """The object (or job) does not exist, or was deleted."""


class Conflict(DomainError):
    """The command contradicts the current state (e.g. creating a job that already exists)."""
