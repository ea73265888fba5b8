"""Local feed files that report every write failure, and the recovery of killed runs' files.

``AtomicFileFeedStorage`` replaces Scrapy's ``FileFeedStorage`` for local paths:

* every write goes through ``GuardedFile``: all bytes or a failure reported to the run
  (``Ledger.output_failed``: the run stops with close reason ``export_failed``), never an
  exception inside Scrapy's exporter, never a silently cut line;
* the directory is created and probed when the feed is set up, so an unwritable output
  (a file where the directory should be, a read-only mount) stops the run before anything
  is fetched;
* when stored, the file is flushed and fsync'd (and cut back to its last complete write
  after a failure) before the run may commit its items to the state.

A feed with ``"atomic": True`` (the default ``FEEDS`` entry) is written to
``<final name>.<pid>-<random>.part`` — a name no other run can have, registered in the
state's ``outputs`` journal — and renamed to its final name (then the directory fsync'd)
when stored; with ``store_empty: False`` a run without items leaves no file.
``recover_outputs`` finishes the files of dead runs at the start of the next run on the
same state (the run lock says they are dead, never a PID): only the files that state's
journal names.  Runs on other states may share the output directory (scrapyd jobs): a run
never renames or deletes a file it did not create.  ``-O``/``-o`` feeds are written in
place, as in plain Scrapy.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import re
import secrets
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from scrapy.extensions.feedexport import FileFeedStorage, ItemFilter

from newsspider.crawl.run.ledger import ITEM_KINDS
from newsspider.crawl.run.records import TombstoneRecord, is_tombstone
from newsspider.crawl.run.state import Commit, ExportRecord, State

logger = logging.getLogger(__name__)

#: ``<final>.<pid>-<random hex>.part`` (this version), ``<final>.part`` or
#: ``<final>.<pid>.part`` (earlier versions, whose journaled files are recovered too).
PART = re.compile(r"^(?P<final>.+?)(?:\.\d+(?:-[0-9a-f]+)?)?\.part$")


def fsync_directory(directory: Path) -> None:
    """Make a rename in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def free_name(path: Path, suffix: str | None = None, *, also: str = "") -> Path:
    """``path`` or, if it exists (or ``path + also`` exists: a ``.part`` being written),
    ``<stem>-1<suffix>``, ``-2`` …; ``suffix`` defaults to the last one (``.jsonl``) and
    may be a double one (``.warc.gz``)."""
    suffix = suffix if suffix is not None else path.suffix
    stem = path.name[: -len(suffix)] if suffix and path.name.endswith(suffix) else path.stem
    candidate, n = path, 0
    while candidate.exists() or (also and candidate.with_name(candidate.name + also).exists()):
        n += 1
        candidate = path.with_name(f"{stem}-{n}{suffix}")
    return candidate


class GuardedFile(io.RawIOBase):
    """A write-only file that writes every byte or reports why it could not.

    After the first failure (``ENOSPC``, ``EFBIG``, ``EIO`` …) it calls ``on_failure``
    once and ignores further writes: the run is stopping, and it counts as exported only
    what was written before.  ``good`` is the size of the file up to the end of the last
    complete write, where a failed file is cut back when stored."""

    def __init__(self, path: Path, fd: int, on_failure: Callable[[Path, OSError], None]) -> None:
        super().__init__()
        self.path, self.fd, self.on_failure = path, fd, on_failure
        self.good = os.lseek(fd, 0, os.SEEK_CUR)
        self.failure: OSError | None = None

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self.fd

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        if self.failure is None:
            try:
                done = 0
                while done < len(view):
                    done += self.write_some(view[done:])
            except OSError as exc:
                self.fail(exc)
            else:
                self.good += len(view)
        return len(view)

    def write_some(self, data: memoryview) -> int:
        """One ``write(2)``: may write fewer bytes than given, or raise."""
        return os.write(self.fd, data)

    def fail(self, exc: OSError) -> None:
        if self.failure is None:
            self.failure = exc
            self.on_failure(self.path, exc)

    def close(self) -> None:
        if not self.closed:
            with contextlib.suppress(OSError):
                os.close(self.fd)
        super().close()

    def finish(self) -> bool:
        """Cut back to the end of the last complete write, flush to disk, close.  True when
        what the file holds is durable (also after a failed write: the complete items
        before it are); False, with the failure reported, when the disk refuses."""
        ok = True
        try:
            if self.failure is not None:
                os.ftruncate(self.fd, self.good)
            os.fsync(self.fd)
        except OSError as exc:
            self.fail(exc)
            ok = False
        self.close()
        return ok


class AtomicFileFeedStorage(FileFeedStorage):
    """Local file feed storage: guarded writes, fsync when stored; atomic (``.part`` +
    rename) when the feed option ``atomic`` is true."""

    file_class = GuardedFile

    def __init__(self, uri: str, *, feed_options: dict[str, Any] | None = None) -> None:
        super().__init__(uri, feed_options=feed_options)
        self.atomic = bool((feed_options or {}).get("atomic"))
        item_filter = ItemFilter(feed_options)
        self.kinds = [kind for kind, cls in ITEM_KINDS.items() if item_filter.accepts(cls())]  # what it stores
        self.final_path: Path = Path(self.path)
        self.part_path: Path | None = None
        self.file: GuardedFile | None = None
        self.stored: Path | None = None  # where the items are, durably, once stored
        #: The run's ``Ledger`` (it owns the storages' failures and the journal), handed over
        #: by the run extension when the spider opens; None outside a crawl.
        self.ledger: Any = None

    @classmethod
    def from_crawler(cls, crawler: Any, uri: str, *, feed_options: dict[str, Any] | None = None
                     ) -> AtomicFileFeedStorage:
        return cls(uri, feed_options=feed_options)  # FileFeedStorage has no from_crawler to call

    def _failed(self, path: Path, exc: OSError) -> None:
        run = self.ledger
        if run is not None:
            run.output_failed(path, exc, self.kinds)
        else:  # no run to stop (a tool using the storage on its own): let the caller see it
            raise exc

    def probe(self) -> None:
        """Create the directory and a file in it (the run does it when the spider opens):
        an unwritable output stops the run before anything is fetched."""
        directory = self.final_path.parent
        try:
            directory.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(prefix=".probe-", dir=directory)
            os.close(fd)
            os.unlink(name)
        except OSError as exc:
            self._failed(self.final_path, exc)

    def open(self, spider: Any) -> Any:
        target = self.final_path
        flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if self.write_mode == "ab" else os.O_TRUNC)
        run = self.ledger
        if self.atomic:
            # Unique to this run: another run writing to the same directory (and final
            # name) never opens, truncates or renames it.
            name = f"{self.final_path.name}.{os.getpid()}-{secrets.token_hex(4)}.part"
            target = self.part_path = self.final_path.with_name(name)
            if run is not None:
                run.journal_open(target)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(target, flags, 0o644)
        except OSError as exc:
            self._failed(target, exc)
            fd = os.open(os.devnull, os.O_WRONLY)
        self.file = self.file_class(target, fd, self._failed)
        return self.file

    def store(self, file: Any) -> None:
        guarded = self.file
        if guarded is None:  # not opened by us (cannot happen with FeedExporter)
            super().store(file)
            return
        ok = guarded.finish()
        if not self.atomic or self.part_path is None:
            self.stored = self.final_path if ok else None
            return
        part = self.part_path
        run = self.ledger
        if guarded.good == 0:
            with contextlib.suppress(OSError):
                part.unlink()
            if run is not None:
                run.journal_drop(part)
            logger.info("Nothing new: no output file written")
            return
        if not ok:
            return  # the .part stays: the next run recovers what it holds
        final = free_name(self.final_path)
        try:
            if run is not None:
                run.checkpoint("before_rename")
                run.journal_final(part, final)
            os.replace(part, final)
            fsync_directory(final.parent)
        except OSError as exc:
            self._failed(part, exc)
            return
        self.final_path = self.stored = final



# --- recovery -------------------------------------------------------------------------------
class BadLine(ValueError):
    """A line of a JSON Lines file that is not an item; ``number`` counts from 1."""

    def __init__(self, number: int, reason: str) -> None:
        super().__init__(reason)
        self.number = number


def _item(line: bytes) -> dict[str, Any]:
    try:
        item = json.loads(line)
    except ValueError as exc:  # UnicodeDecodeError too
        raise ValueError(f"not a JSON line ({exc})") from exc
    if not isinstance(item, dict) or not item.get("url"):
        raise ValueError("not an article item or tombstone")
    return item


def read_items(data: bytes, *, strict: bool = False) -> tuple[list[dict[str, Any]], int]:
    """The items of a JSON Lines file and the size of its valid prefix: reading stops at a
    cut-off or unreadable line (a killed run's last write).  ``strict`` (a finished file):
    an unreadable line raises ``BadLine`` (its number, why) instead, and a last line without
    its newline is read."""
    items: list[dict[str, Any]] = []
    end = 0
    for number, line in enumerate(data.splitlines(keepends=True), 1):
        if not line.endswith(b"\n") and not strict:
            break
        if line.strip():
            try:
                items.append(_item(line))
            except ValueError as exc:
                if strict:
                    raise BadLine(number, str(exc)) from exc
                break
        end += len(line)
    return items, end


def finish_part(part: Path, size: int, target: Path) -> Path:
    """A dead run's ``part`` made final: cut to ``size`` bytes (the end of its last complete
    item), fsync'd, renamed to ``target``, the directory fsync'd (``recover_file``).
    Returns ``target``."""
    with part.open("r+b") as fh:
        fh.truncate(size)
        os.fsync(fh.fileno())
    os.replace(part, target)
    fsync_directory(target.parent)
    return target


def recover_file(part: Path, final: Path | None) -> tuple[Path | None, list[dict[str, Any]]]:
    """Finish a killed run's output: cut ``part`` after its last complete item, fsync,
    rename into place.  Returns the finished file (None when there was nothing) and its
    items; a file already renamed (``final`` exists, ``part`` does not) is read as is."""
    if not part.exists():
        if final is not None and final.exists():
            return final, read_items(final.read_bytes())[0]
        return None, []
    items, end = read_items(part.read_bytes())
    if not items:
        part.unlink()
        return None, []
    match = PART.match(part.name)
    target = final if final is not None and not final.exists() else None
    target = target or free_name(part.with_name(match["final"] if match else part.name + ".jsonl"))
    return finish_part(part, end, target), items


def recover_outputs(state: State) -> list[tuple[Path, int]]:
    """Finish the outputs of dead runs before a run decides anything: the files the
    state's journal names, and only those — a ``.part`` of a run on another state (alive
    or not), or any other file in the directory, is never touched.  The items they hold
    are committed to the state with the journal row in one transaction.  Call only while
    holding the run lock."""
    done: list[tuple[Path, int]] = []
    for part_name, final_name in state.journal():
        part = Path(part_name)
        path, items = recover_file(part, Path(final_name) if final_name else None)
        state.commit(Commit(exported=[ExportRecord.of(i) for i in items if not is_tombstone(i)],
                            tombstones=[TombstoneRecord.of(i) for i in items if is_tombstone(i)],
                            outputs_done=[str(part)]))
        if path is not None:
            done.append((path, len(items)))
            logger.warning("Recovered %d items of an interrupted run into %s (recorded in the state)",
                           len(items), path)
    return done
