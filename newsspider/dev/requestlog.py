"""What the mirror server saw: one ``LoggedRequest`` per request, in a thread-safe log."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import overload

#: Status recorded in the request log for a connection closed without a response.
DROPPED = 0


@dataclass(frozen=True)
class LoggedRequest:
    """One request as the server saw it.

    ``time`` is :func:`time.monotonic` when the request was parsed; ``path`` is the raw
    request target (percent-encoding and query string as sent); ``status`` is the status
    sent, or ``0`` (:data:`DROPPED`) when the connection was closed without a response.
    """

    time: float
    method: str
    path: str
    status: int
    user_agent: str
    headers: dict[str, str] = field(default_factory=dict, compare=False)


class RequestLog:
    """A thread-safe, append-only list of :class:`LoggedRequest`.

    A request is appended when its status is decided, before any byte of the response is
    sent, so a client that got a response always finds it logged. Entries are in that order
    (sort by ``time`` for arrival order). Iterating, indexing and ``len`` work on a snapshot;
    :meth:`clear` empties it.
    """

    def __init__(self) -> None:
        self._items: list[LoggedRequest] = []
        self._lock = threading.Lock()

    def append(self, item: LoggedRequest) -> None:
        """Record one request."""
        with self._lock:
            self._items.append(item)

    def snapshot(self) -> list[LoggedRequest]:
        """A copy of the log as a plain list."""
        with self._lock:
            return list(self._items)

    def clear(self) -> None:
        """Forget every logged request."""
        with self._lock:
            self._items.clear()

    def paths(self) -> list[str]:
        """The raw paths requested, in order."""
        return [r.path for r in self.snapshot()]

    def count(self, path: str) -> int:
        """How many requests had exactly this raw path (query included)."""
        return sum(1 for r in self.snapshot() if r.path == path)

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def __iter__(self) -> Iterator[LoggedRequest]:
        return iter(self.snapshot())

    @overload
    def __getitem__(self, index: int) -> LoggedRequest: ...
    @overload
    def __getitem__(self, index: slice) -> list[LoggedRequest]: ...
    def __getitem__(self, index: int | slice) -> LoggedRequest | list[LoggedRequest]:
        return self.snapshot()[index]
