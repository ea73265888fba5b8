"""The files of the offline commands: the WARC and JSON Lines inputs named on the command
line (``UnreadableInput`` when one is missing or unreadable) and the JSON Lines output,
written as the crawl's feed writes it, atomically."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from newsspider.crawl.archive import PART_SUFFIX
from newsspider.crawl.output.feedstorage import fsync_directory

WARC_NAMES = (".warc.gz", ".warc", PART_SUFFIX)


class UnreadableInput(Exception):
    """An input path that is missing or not a readable WARC / JSON Lines file."""


def warc_files(paths: Sequence[str | Path]) -> list[Path]:
    """The WARC files named or inside the directories named (sorted by name, i.e. by
    time), ``.warc.gz.part`` files of unfinished runs included."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and p.name.endswith(WARC_NAMES))
            if not found:
                raise UnreadableInput(f"{path}: no .warc.gz files in this directory")
            files += found
        elif path.is_file():
            files.append(path)
        else:
            raise UnreadableInput(f"{path}: no such file or directory")
    return files


def jsonl_files(paths: Sequence[str | Path]) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.is_file() and p.name.endswith(".jsonl"))
        elif path.is_file():
            files.append(path)
        else:
            raise UnreadableInput(f"{path}: no such file or directory")
    return files


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
