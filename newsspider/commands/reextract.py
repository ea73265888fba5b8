"""``scrapy reextract PATH… -O dataset.jsonl``: rebuild the dataset from WARC archives, offline.

PATH: WARC files (``.warc.gz``) or directories of them (``archive/georgiatoday/``).  Runs the
current extraction, loader and item pipelines over the archived article pages (see
``newsspider.offline``) and writes the same JSON Lines as the crawl.  Exit status
(``OfflineCommand``): 1 with an ``error:`` line when an input cannot be read (nothing is
written), 1 too when an archive was cut off or damaged (the output misses the articles of
its lost records: a WARNING names the file and where it broke); 2 on bad usage or a missing
path.
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from newsspider.crawl.report.stats import DROPPED_PREFIX
from newsspider.offline import OfflineCommand, Progress, reextract

logger = logging.getLogger(__name__)


def jobs_option(value: str) -> int:
    jobs = int(value)
    if jobs < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return jobs


class Command(OfflineCommand):
    inputs = "WARC file or directory"

    def syntax(self) -> str:
        return "PATH... -O FILE [--all-versions] [-j N]"

    def short_desc(self) -> str:
        return "Rebuild the dataset from WARC archives with the current extraction (offline)"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--all-versions", action="store_true",
                            help="every distinct version of each article, not only the latest")
        parser.add_argument("-j", "--jobs", type=jobs_option, default=os.cpu_count() or 1, metavar="N",
                            help="extraction processes (default: all cores)")

    def work(self, paths: list[str], output: Path, opts: argparse.Namespace) -> int:
        assert self.settings is not None
        progress = Progress(interval=self.settings.getfloat("NEWSSPIDER_PROGRESS_INTERVAL"))
        outcome = reextract(paths, output, jobs=opts.jobs, all_versions=opts.all_versions, progress=progress)
        stats = outcome.stats
        skipped = ", ".join(f"{k.rsplit('/', 1)[-1]}={v}" for k, v in sorted(stats.items())
                            if k.startswith("newsspider/reextract/skipped/"))
        dropped = ", ".join(f"{k.rsplit('/', 1)[-1]}={v}" for k, v in sorted(stats.items())
                            if k.startswith(DROPPED_PREFIX))
        logger.info("Re-extracted %d articles from %d records in %d archive file(s) (%d indexed here, "
                    "without their .cdxj) into %s (pages skipped: %s; dropped: %s)",
                    stats["newsspider/reextract/articles"], stats["newsspider/reextract/records"],
                    stats["newsspider/reextract/files"], stats["newsspider/reextract/files_indexed_here"], output,
                    skipped or "none", dropped or "none")
        if outcome.complete:
            return 0
        logger.warning("Incomplete: %d archive file(s) cut off or damaged (named above); %s misses the "
                       "articles of their lost records", stats["newsspider/reextract/files_broken"], output)
        return 1
