"""The files of the offline commands: the WARC and JSON Lines inputs named on the command
line (``input_files``; ``MissingInput`` / ``UnreadableInput`` when one cannot be used) and the
JSON Lines output, written as the crawl's feed writes it, atomically."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from newsspider.crawl.export.feedstorage import PART, fsync_directory

WARC_NAMES = (".warc.gz", ".warc")
JSONL_NAMES = (".jsonl",)
#: Said of every ``.part`` file an offline command meets: whose it is, and what becomes of it.
UNFINISHED = "a crawl is running or was killed; the next crawl recovers it"


class UnreadableInput(Exception):
    """An input that cannot be read: not a readable WARC / JSON Lines file, or no input
    file where one was expected."""


class MissingInput(UnreadableInput):
    """An input path that does not exist."""


def unfinished(path: Path) -> bool:
    """A ``.part`` file: the output or archive of a run that is running or was killed."""
    return PART.match(path.name) is not None


def input_files(paths: Sequence[str | Path], names: tuple[str, ...]) -> list[Path]:
    """The files named, and in the directories named those whose names end with ``names``
    — with the ``.part`` files of unfinished runs (``unfinished``) — sorted by name, i.e.
    by time.  Raises ``MissingInput`` for a path that does not exist and
    ``UnreadableInput`` for a directory holding none of them."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and _named(p, names))
            if not found:
                raise UnreadableInput(f"{path}: no {names[0]} files in this directory")
            files += found
        elif path.is_file():
            files.append(path)
        else:
            raise MissingInput(f"{path}: no such file or directory")
    return files


def _named(path: Path, names: tuple[str, ...]) -> bool:
    part = PART.match(path.name)
    return (part["final"] if part else path.name).endswith(names)


def write_jsonl(items: Iterable[Any], output: Path) -> int:
    """Items as the crawl's feed writes them (Scrapy's JSON Lines exporter, UTF-8), into
    ``output`` atomically (temp file + rename)."""
    from scrapy.exporters import JsonLinesItemExporter

    output.parent.mkdir(parents=True, exist_ok=True)
    temp = output.with_name(f"{output.name}.{os.getpid()}.tmp")
    count = 0
    try:
        with temp.open("wb") as fh:
            exporter = JsonLinesItemExporter(fh, encoding="utf-8")  # type: ignore[arg-type]
            exporter.start_exporting()
            for item in items:
                exporter.export_item(item)
                count += 1
            exporter.finish_exporting()
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temp, output)
        fsync_directory(output.parent)  # the rename is durable too, as for the crawl's outputs
    finally:
        if temp.exists():
            temp.unlink()
    return count
