"""The run lock: one crawl process at a time per state file."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import ClassVar


class StateLock:
    """An exclusive, non-blocking ``flock`` on ``<state path>.lock``, held for the process.

    Only the ``crawl`` command takes it, before the crawler starts; the run extension
    opens the state only when this process holds it (``held``), so ``scrapy shell``,
    ``parse`` or ``check`` never create or lock anything."""

    _held: ClassVar[dict[str, int]] = {}

    def __init__(self, state_path: str | os.PathLike[str]) -> None:
        self.path = str(Path(state_path).resolve()) + ".lock"

    @property
    def held(self) -> bool:
        return self.path in self._held

    def acquire(self) -> bool:
        """True when this process holds the lock now; OSError when the lock file cannot
        be created (its directory is not writable)."""
        if self.held:
            return True
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._held[self.path] = fd
        return True

    def release(self) -> None:
        fd = self._held.pop(self.path, None)
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
