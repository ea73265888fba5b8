"""``extract_all``: extraction while reading, in ``-j N`` worker processes (at most a few
chunks in flight), deferred pages done at the end."""

from __future__ import annotations

import logging
import multiprocessing
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from newsspider.offline.extract import Result, extract_entry, extract_task
from newsspider.offline.reader import Reader
from newsspider.offline.scan import Archive, Entry, Task, scan_tasks

if TYPE_CHECKING:
    from newsspider.offline.progress import Progress


def _init_worker() -> None:
    logging.getLogger("scrapy").setLevel(logging.WARNING)


def _extract_tasks(tasks: list[Task]) -> list[Result]:
    return [extract_task(task) for task in tasks]


def _chunks(tasks: Iterator[Task], size: int) -> Iterator[list[Task]]:
    chunk: list[Task] = []
    for task in tasks:
        chunk.append(task)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def extract_all(paths: Sequence[str | Path], archive: Archive, jobs: int, progress: Progress | None = None,
                chunk_size: int = 32) -> Iterator[Result]:
    """Read the archives once and extract while reading: candidates go to ``jobs``
    processes (at most a few chunks in flight: memory stays bounded); deferred ones
    (multi-page posts) are done at the end with the whole archive indexed."""
    reader = Reader(archive)
    deferred: list[Entry] = []

    def finished(results: list[Result]) -> Iterator[Result]:
        for result in results:
            if result.deferred:
                deferred.append(result.entry)
            else:
                if progress is not None:
                    progress.extracted(result.item is not None)
                yield result

    try:
        chunks = _chunks(scan_tasks(paths, archive, progress, reader), chunk_size)
        if jobs <= 1:
            for chunk in chunks:
                yield from finished(_extract_tasks(chunk))
        else:
            methods = multiprocessing.get_all_start_methods()
            context = multiprocessing.get_context("fork" if "fork" in methods else None)
            with ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_init_worker) as pool:
                inflight: deque[Future[list[Result]]] = deque()
                for chunk in chunks:
                    inflight.append(pool.submit(_extract_tasks, chunk))
                    while len(inflight) > jobs * 2 or (inflight and inflight[0].done()):
                        yield from finished(inflight.popleft().result())
                while inflight:
                    yield from finished(inflight.popleft().result())
        for entry in deferred:
            result = extract_entry(reader, entry)
            if progress is not None:
                progress.extracted(result.item is not None)
            yield result
    finally:
        reader.close()
