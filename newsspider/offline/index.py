"""The archives' CDXJ indexes (the format of ``cdxj-indexer`` and pywb), and what
``reextract`` keeps of the records it read (``Entry``, ``Archive``).

``index_file`` gives one archive file's ``response``/``revisit`` records as (offset, length)
slots: from the ``<name>.cdxj`` the crawl writes beside each finished ``<name>.warc.gz``,
or, for a file without one (older archives, a lost index, a ``.part``), from
``cdxj-indexer`` run over the file there and then.  Only the file's complete records count
(``complete_members``, as the crawl's recovery of a ``.part``): a finished file cut off or
damaged says where (``FileIndex.broken``).  Its ``warcinfo`` gives the run's mode."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, NamedTuple

from cdxj_indexer.main import CDXJIndexer
from warcio.archiveiterator import ArchiveIterator

from newsspider.crawl.archive import complete_members, index_path
from newsspider.offline.files import UnreadableInput, unfinished

GZIP_MAGIC = b"\x1f\x8b"
NO_INDEX = "no index"


@dataclass(frozen=True)
class Slot:
    """Where a record is: a file (its number among the inputs), offset and length of its
    gzip member — one line of an index."""

    file: int
    offset: int
    length: int


class Line(NamedTuple):
    """What ``reextract`` reads of an index line."""

    offset: int
    length: int
    revisit: bool
    digest: str  # WARC-Payload-Digest


@dataclass
class FileIndex:
    """One archive file, indexed."""

    path: Path
    lines: list[Line]  # its complete response and revisit records, in file order
    incremental: bool  # by an incremental or check run (warcinfo ``spider-mode``): unchanged not emitted
    indexed_here: str | None  # why it was indexed here (None: by its ``.cdxj``)
    complete: int  # where its complete records end
    size: int

    @property
    def broken(self) -> bool:
        """A finished file whose complete records end before the file does: cut off or damaged."""
        return self.complete < self.size and not unfinished(self.path)


def index_file(path: Path) -> FileIndex:
    """``path`` indexed (see the module docstring).  Raises ``UnreadableInput``."""
    with _reading(path), path.open("rb") as fh:
        size = path.stat().st_size
        gzipped = fh.read(len(GZIP_MAGIC)) == GZIP_MAGIC
        ends = list(complete_members(fh)) if gzipped else [size]  # a plain .warc: read whole
        complete = ends[-1] if ends else 0
        fh.seek(0)
        first = next(iter(ArchiveIterator(_Prefix(fh, complete))), None)
        if (first is None and not unfinished(path)) or (first is not None and first.format != "warc"):
            raise UnreadableInput(f"{path}: not a readable WARC file (no WARC record at offset 0)")
        info = _info_fields(first.content_stream().read()) if first is not None and first.rec_type == "warcinfo" else {}
        lines, indexed_here = _index_lines(path, fh, complete)
    return FileIndex(path, sorted(line for line in lines if line.offset + line.length <= complete),
                     info.get("spider-mode") in ("incremental", "check"), indexed_here, complete, size)


def _index_lines(path: Path, fh: IO[bytes], complete: int) -> tuple[list[Line], str | None]:
    """The file's response and revisit records, from its ``.cdxj`` or else from
    ``cdxj-indexer`` run over its complete records; and why the latter (None: the former)."""
    index = index_path(path)
    why = NO_INDEX
    if not unfinished(path) and index.is_file():
        try:
            return [_cdxj_line(line) for line in index.read_text("utf-8").splitlines() if line.strip()], None
        except (OSError, ValueError, KeyError, IndexError) as exc:
            why = f"unreadable index {index.name} ({type(exc).__name__}: {exc})"
    out = io.StringIO()
    fh.seek(0)
    CDXJIndexer(out, [], records="response,revisit").process_one(_Prefix(fh, complete), out, path.name)
    return [_cdxj_line(line) for line in out.getvalue().splitlines() if line.strip()], why


def _cdxj_line(line: str) -> Line:
    """``urlkey timestamp {json}``: the JSON's ``offset``, ``length``, ``mime``, ``digest``."""
    fields = json.loads(line.split(" ", 2)[2])
    return Line(int(fields["offset"]), int(fields["length"]), fields.get("mime") == "warc/revisit",
                fields.get("digest") or "")


@contextmanager
def _reading(path: Path) -> Iterator[None]:
    try:
        yield
    except UnreadableInput:
        raise
    except Exception as exc:  # warcio/zlib/OS errors: the file is not a readable WARC
        raise UnreadableInput(f"{path}: not a readable WARC file ({type(exc).__name__}: {exc})") from exc


def _info_fields(payload: bytes) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in payload.decode("utf-8", "replace").splitlines():
        name, sep, value = line.partition(":")
        if sep:
            fields[name.strip().lower()] = value.strip()
    return fields


class _Prefix:
    """The first ``limit`` bytes of a file, for warcio (the complete records of a file)."""

    def __init__(self, fh: IO[bytes], limit: int) -> None:
        self.fh = fh
        self.left = limit - fh.tell()

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0 or size > self.left:
            size = self.left
        data = self.fh.read(size)
        self.left -= len(data)
        return data

    def tell(self) -> int:
        return self.fh.tell()


@dataclass(frozen=True)
class Entry:
    """One archived response (or revisit) record, as read."""

    slot: Slot
    kind: str  # "response" or "revisit"
    target: str  # WARC-Target-URI (the fetched URL)
    canonical: str  # the canonical URL it stands for
    date: datetime  # WARC-Date
    digest: str
    status: int  # 0: no HTTP headers
    post_page: int | None = None  # X-Newsspider-Post-Page: page N (2, 3 …) of a multi-page post

    @property
    def position(self) -> tuple[int, int]:
        """Where it is over all inputs (files in name order = time order)."""
        return (self.slot.file, self.slot.offset)


@dataclass
class Archive:
    """What ``reextract`` knows of its inputs: the files, their runs' modes,
    the originals of revisits (from the indexes) and, once read, every record."""

    files: list[Path] = field(default_factory=list)
    incremental: set[int] = field(default_factory=set)  # files of incremental or check runs
    originals: dict[str, Slot] = field(default_factory=dict)  # payload digest -> its first response record
    by_canonical: dict[str, list[Entry]] = field(default_factory=dict)
    records: int = 0
    indexed_here: int = 0  # files without a readable index
    broken: list[Path] = field(default_factory=list)  # finished files cut off or damaged

    def add_file(self, index: FileIndex) -> int:
        number = len(self.files)
        self.files.append(index.path)
        if index.incremental:
            self.incremental.add(number)
        self.indexed_here += index.indexed_here is not None
        for line in index.lines:
            if line.digest and not line.revisit:
                self.originals.setdefault(line.digest, Slot(number, line.offset, line.length))
        return number

    def add(self, entry: Entry) -> None:
        self.records += 1
        self.by_canonical.setdefault(entry.canonical, []).append(entry)
