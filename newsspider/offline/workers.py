"""``extract_all``: the archives indexed (``index_file``, a job per file), their records
read and extracted in jobs of ``JOB_RECORDS`` records (a job names them by file, offset
and length; with ``-j N``, ``N`` worker processes take the jobs), then the multi-page posts,
which need every record known, in this process."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from newsspider.offline.extract import Result, extract_page, extract_post
from newsspider.offline.files import UNFINISHED, WARC_NAMES, input_files, unfinished
from newsspider.offline.index import NO_INDEX, Archive, Entry, FileIndex, Slot, index_file
from newsspider.offline.reader import Reader

if TYPE_CHECKING:
    from newsspider.offline.progress import Progress

#: Records per job: enough that handing a job to a worker costs nothing next to reading it.
JOB_RECORDS = 64

logger = logging.getLogger(__name__)
In = TypeVar("In")
Out = TypeVar("Out")


@dataclass(frozen=True)
class Job:
    """Records of one file for a worker, with what reading them needs."""

    file: int
    slots: list[tuple[int, int]]  # (offset, length)
    files: dict[int, Path]  # its file, and those holding the originals of its revisits
    originals: dict[str, Slot]  # payload digest -> original record, for its revisits


def read_job(job: Job) -> list[tuple[Entry, Result | None]]:
    """Each record of the job, and the extraction of those that may be page 1 of an
    article (``extract_page``)."""
    reader = Reader(job.files, job.originals)
    try:
        read = []
        for offset, length in job.slots:
            record = reader.read(Slot(job.file, offset, length))
            if record is not None:
                result = extract_page(record.entry, reader.response(record)) if record.candidate else None
                read.append((record.entry, result))
        return read
    finally:
        reader.close()


def _jobs(archive: Archive, indexes: list[FileIndex]) -> Iterator[Job]:
    for number, index in enumerate(indexes):
        for start in range(0, len(index.lines), JOB_RECORDS):
            lines = index.lines[start:start + JOB_RECORDS]
            originals = {line.digest: archive.originals[line.digest] for line in lines
                         if line.revisit and line.digest in archive.originals}
            files = {number: index.path} | {slot.file: archive.files[slot.file] for slot in originals.values()}
            yield Job(number, [(line.offset, line.length) for line in lines], files, originals)


def _quiet() -> None:
    logging.getLogger("scrapy").setLevel(logging.WARNING)


def extract_all(paths: Sequence[str | Path], archive: Archive, jobs: int,
                progress: Progress | None = None) -> Iterator[Result]:
    """Index the inputs into ``archive`` and yield the extraction result of every
    candidate page 1 (see the module docstring).  Raises ``UnreadableInput``."""
    files = input_files(paths, WARC_NAMES)
    pool = ProcessPoolExecutor(max_workers=jobs, initializer=_quiet) if jobs > 1 else None

    def each(function: Callable[[In], Out], items: Iterable[In]) -> Iterator[Out]:
        return pool.map(function, items) if pool is not None else map(function, items)

    deferred: list[Entry] = []
    try:
        indexes = list(each(index_file, files))
        for index in indexes:
            archive.add_file(index)
            if unfinished(index.path):
                logger.warning("Unfinished archive %s (%s): reading its complete records, up to byte %d of %d",
                               index.path, UNFINISHED, index.complete, index.size)
            if index.broken:
                logger.warning("%s is cut off or damaged at byte %d of %d: the records from there on are lost",
                               index.path, index.complete, index.size)
                archive.broken.append(index.path)
            if index.indexed_here and index.indexed_here != NO_INDEX:
                logger.warning("%s: %s; indexed the file itself", index.path, index.indexed_here)
        work = list(_jobs(archive, indexes))
        if progress is not None:
            progress.start(sum(len(job.slots) for job in work))
        done = 0
        for job, read in zip(work, each(read_job, work), strict=True):
            for entry, result in read:
                archive.add(entry)
                if result is None:
                    continue
                if result.deferred:
                    deferred.append(entry)
                    continue
                if progress is not None:
                    progress.extracted(result.item is not None)
                yield result
            done += len(job.slots)
            if progress is not None:
                progress.scanned(done)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    reader = Reader(dict(enumerate(archive.files)), archive.originals)
    try:
        for entry in deferred:
            result = extract_post(reader, archive, entry)
            if progress is not None:
                progress.extracted(result.item is not None)
            yield result
    finally:
        reader.close()
