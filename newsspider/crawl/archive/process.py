"""``WriterProcess``: the crawl's side of the archive's writer process (``child``): it is
started with the run's ``.part`` open, gets each parsed page's records to write, and
acknowledges them in order; ``wait_for`` blocks until a page is in the file."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from multiprocessing.connection import Connection
from pathlib import Path
from typing import IO, Any

import newsspider

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: the pipe keeps its default size
    fcntl = None  # type: ignore[assignment]

#: Pipe buffer asked for (Linux): about a dozen pages in flight without blocking the crawl.
PIPE_BYTES = 1 << 20
#: Seconds without an acknowledgement while pages wait before the writer counts as hung
#: (``NEWSSPIDER_ARCHIVE_STALL_TIMEOUT``): a hung disk or a stopped process must not hang
#: the crawl for good.
STALL_SECONDS = 300.0


class WriterProcess:
    """The writer process of one archive file (see ``child``)."""

    def __init__(self, fh: IO[bytes], level: int, index: Path | None,
                 stall: float = STALL_SECONDS) -> None:
        to_child, from_child = os.pipe(), os.pipe()
        if fcntl is not None and hasattr(fcntl, "F_SETPIPE_SZ"):
            with contextlib.suppress(OSError):  # a smaller limit (pipe-max-size): still correct
                fcntl.fcntl(to_child[1], fcntl.F_SETPIPE_SZ, PIPE_BYTES)
        package_root = str(Path(newsspider.__file__).resolve().parent.parent)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))}
        command = [sys.executable, "-m", "newsspider.crawl.archive.child", str(fh.fileno()), str(level),
                   str(to_child[0]), str(from_child[1]), str(index.resolve()) if index else ""]
        try:
            # its own session: a signal to the crawl's process group (Ctrl-C, a SIGTERM to
            # stop it) is the crawl's to handle; the child ends when the crawl closes the pipe
            # and the package's directory as its own (not an egg's zip file, as scrapyd deploys
            # it): this very newsspider is the one imported, whatever the crawl's directory holds
            cwd = package_root if os.path.isdir(package_root) else None
            self.process = subprocess.Popen(command, pass_fds=(fh.fileno(), to_child[0], from_child[1]), env=env,
                                            cwd=cwd, stdin=subprocess.DEVNULL, start_new_session=True)
        finally:
            os.close(to_child[0])
            os.close(from_child[1])
        self._out = Connection(to_child[1], readable=False)
        self._in = Connection(from_child[0], writable=False)
        self.sent = 0
        self.acked = 0
        self.kinds: Counter[str] = Counter()  # records written, by kind
        self.error: OSError | None = None  # the first failure (a write, the process itself)
        self.stall = stall
        self.stalled = False
        self._progress = time.monotonic()  # the last acknowledgement, or the send that found none due
        threading.Thread(target=self._watch, name="warc-writer-watchdog", daemon=True).start()

    def _watch(self) -> None:
        """Kill the writer when pages have waited ``stall`` seconds without any being
        acknowledged: the crawl, blocked on it, then sees it die and goes on without."""
        while self.process.poll() is None:
            time.sleep(min(1.0, self.stall / 4))
            if self.acked < self.sent and time.monotonic() - self._progress > self.stall:
                self.stalled = True
                self.process.kill()
                return

    def send(self, *record: Any) -> int:
        """Hand over a page's records; returns its sequence number (see ``wait_for``)."""
        self.drain()
        if self.acked == self.sent:
            self._progress = time.monotonic()
        if self.error is None:
            try:
                self._out.send(("record", self.sent + 1, *record))
            except OSError as exc:
                self._died(exc)
        self.sent += 1
        return self.sent

    def drain(self) -> None:
        """Take the acknowledgements already there (the pipe back must not fill up)."""
        with contextlib.suppress(OSError):
            while self.error is None and self.acked < self.sent and self._in.poll(0):
                self._receive()

    def wait_for(self, seq: int) -> None:
        """Block until page ``seq`` is written (or the writer failed: see ``error``)."""
        while self.error is None and self.acked < seq:
            self._receive()

    def _receive(self) -> None:
        try:
            seq, kind, error = self._in.recv()
        except (EOFError, OSError) as exc:
            self._died(exc)
            return
        self.acked = seq
        self._progress = time.monotonic()
        if error is not None:
            self.error = OSError(*error)
        else:
            self.kinds[kind] += 1

    def _died(self, exc: BaseException) -> None:
        if self.error is None:
            status = self.process.poll()
            how = f"exited with status {status}" if status is not None else "stopped answering"
            if self.stalled:
                how = f"wrote nothing for {self.stall:g} s and was stopped"
            self.error = OSError(f"the archive's writer process {how} ({exc.__class__.__name__})")
        self.acked = self.sent

    def finish(self) -> list[tuple[str, str, str]]:
        """Let the process write what it has and end; returns ``(digest, uri, date)`` of
        each response record written.  Raises ``OSError`` when it failed."""
        written: list[tuple[str, str, str]] = []
        try:
            if self.error is None:
                self.wait_for(self.sent)
            if self.error is None:
                self._out.send(("finish",))
                message = self._in.recv()
                written = message[1]
        except (EOFError, OSError) as exc:
            self._died(exc)
        finally:
            self._out.close()
            self._in.close()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.error is not None:
            raise self.error
        return written
