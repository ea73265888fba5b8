"""``reextract``: the dataset rebuilt offline from WARC archives (WARC archives -> items).

``reextract`` reads the archives written by ``newsspider.crawl.archive`` once, in order
(files sorted by name = by time), indexing every ``response``/``revisit`` record (position,
URIs, date, payload digest, the spider callback that parsed it: ``X-Newsspider-Callback``)
and extracting each page the crawl gave its article callback, with its payload (a
revisit's from the original record, by digest).  With ``-j N`` the files are cut into
spans of a few MiB that ``N`` worker processes read and extract on their own (one gzip
member per record: a reader can start at any member); the reading process merges their
indexes.  Extraction rebuilds the Scrapy response the crawl had and runs the crawl's own
code: ``ArticlePage``, ``check_article``, ``load_article`` with ``crawled_at`` = the
archived fetch time.  Multi-page posts (and revisits whose original is in another span)
are finished at the end, when the whole archive is indexed: further pages joined from
their archived ``/<slug>/N/`` records, ``crawled_at`` = the fetch time of the last page
(as in the crawl).

Then the item pipelines: ``RequireFields`` on every version; by default the latest
version of each article (by ``modified``, then fetch time) among the fetches the crawl
emitted (an incremental run does not emit an unchanged article) goes through ``DropDuplicates``;
with ``all_versions`` every distinct version (equal items but for ``crawled_at`` count
once) is kept, ``DropDuplicates`` applied per archive file (one file = one crawl run, as
in the crawl).  Output order: the archive order of each version's last page (where the crawl
emitted it).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from newsspider.offline.files import write_jsonl
from newsspider.offline.progress import Progress
from newsspider.offline.scan import Archive
from newsspider.offline.versions import Outcome, select_versions
from newsspider.offline.workers import SPAN_BYTES, extract_all


def reextract(paths: Sequence[str | Path], output: Path, *, jobs: int = 1, all_versions: bool = False,
              progress: Progress | None = None, span_bytes: int = SPAN_BYTES) -> Outcome:
    """Rebuild the dataset from WARC archives into ``output``; raises ``UnreadableInput``.
    With ``jobs`` > 1 the files are read in spans of about ``span_bytes``."""
    archive = Archive()
    try:
        outcome = select_versions(extract_all(paths, archive, jobs, progress, span_bytes), all_versions=all_versions,
                                  incremental_files=archive.incremental)
    finally:
        if progress is not None:
            progress.close()
    write_jsonl(outcome.items, output)
    outcome.stats["newsspider/reextract/records"] = archive.records
    outcome.stats["newsspider/reextract/files"] = len(archive.files)
    if archive.spans:
        outcome.stats["newsspider/reextract/spans"] = archive.spans
        outcome.stats["newsspider/reextract/spans_read_again"] = archive.spans_read_again
    outcome.stats["newsspider/reextract/articles"] = len(outcome.items)
    return outcome
