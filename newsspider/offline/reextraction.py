"""``reextract``: the dataset rebuilt offline from WARC archives (WARC archives -> items).

``reextract`` takes the archives written by ``newsspider.crawl.archive`` in order (files
sorted by name = by time) and their CDXJ indexes (``index``: the ``.cdxj`` beside each
finished file, or ``cdxj-indexer`` run there and then): every ``response``/``revisit``
record is read by its (file, offset, length) with warcio — with ``-j N`` in ``N`` worker
processes, a job of records at a time — and each page the crawl gave its article callback
(``X-Newsspider-Callback``) is extracted with its payload (a revisit's from the original
record of the same payload digest, found by the indexes).  Extraction rebuilds the Scrapy
response the crawl had and runs the crawl's own code: ``ArticlePage``, ``check_article``,
``load_article`` with ``crawled_at`` = the archived fetch time.  Multi-page posts are
finished at the end, when every record is known: further pages joined from their archived
``/<slug>/N/`` records, ``crawled_at`` = the fetch time of the last page (as in the crawl).

Then the item pipelines: ``RequireFields`` on every version; by default the latest
version of each article (by ``modified``, then fetch time) among the fetches the crawl
emitted (an incremental or check run does not emit an unchanged article) goes through ``DropDuplicates``;
with ``all_versions`` every distinct version (equal items but for ``crawled_at`` count
once) is kept, ``DropDuplicates`` applied per archive file (one file = one crawl run, as
in the crawl).  Output order: the archive order of each version's last page (where the crawl
emitted it).

A finished file cut off or damaged is read up to its last complete record, with a WARNING
naming it and where it broke; ``Outcome.complete`` is then False (the command exits 1).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from newsspider.offline.files import write_jsonl
from newsspider.offline.index import Archive
from newsspider.offline.progress import Progress
from newsspider.offline.versions import Outcome, select_versions
from newsspider.offline.workers import extract_all


def reextract(paths: Sequence[str | Path], output: Path, *, jobs: int = 1, all_versions: bool = False,
              progress: Progress | None = None) -> Outcome:
    """Rebuild the dataset from WARC archives into ``output``; raises ``UnreadableInput``."""
    archive = Archive()
    try:
        outcome = select_versions(extract_all(paths, archive, jobs, progress), all_versions=all_versions,
                                  incremental_files=archive.incremental)
    finally:
        if progress is not None:
            progress.close()
    write_jsonl(outcome.items, output)
    outcome.stats["newsspider/reextract/records"] = archive.records
    outcome.stats["newsspider/reextract/files"] = len(archive.files)
    outcome.stats["newsspider/reextract/files_indexed_here"] = archive.indexed_here
    outcome.stats["newsspider/reextract/articles"] = len(outcome.items)
    if archive.broken:
        outcome.stats["newsspider/reextract/files_broken"] = len(archive.broken)
        outcome.complete = False
    return outcome
