"""Cancellation of format work that runs in a worker thread (an export, an import).

The request's worker sets an Event when the user cancels (workers/formats_jobs.in_thread
polls for it); the thread's code calls `checkpoint()` per item, frame or file, which raises
`Cancelled` once the Event is set. The Event travels in a context variable, which
asyncio.to_thread copies into the thread, so exporters and importers need no parameter
for it. `Cancelled` is a BaseException so that the `except Exception` inside datumaro,
which drives our item generators, lets it through."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["Cancelled", "cancellable", "checkpoint"]

_event: ContextVar[threading.Event | None] = ContextVar("format_cancel_event", default=None)


class Cancelled(BaseException):
    """The request was cancelled; whatever was written so far is to be removed."""


def checkpoint() -> None:
    event = _event.get()
    if event is not None and event.is_set():
        raise Cancelled


@contextmanager
def cancellable(event: threading.Event) -> Iterator[None]:
    """Work started (or a thread spawned) inside this block stops at its next checkpoint
    once `event` is set."""
    token = _event.set(event)
    try:
        yield
    finally:
        _event.reset(token)
