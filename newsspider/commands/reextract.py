"""``scrapy reextract PATH… -O dataset.jsonl``: rebuild the dataset from WARC archives, offline.

PATH: WARC files (``.warc.gz``) or directories of them (``archive/georgiatoday/``).  Runs the
current extraction, loader and item pipelines over the archived article pages (see
``newsspider.offline``) and writes the same JSON Lines as the crawl.  Exit status 1 with an
``error:`` line when an input cannot be read; 2 on bad usage.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError
from scrapy.utils.log import configure_logging

from newsspider.crawl.report.stats import DROPPED_PREFIX
from newsspider.offline import Progress, UnreadableInput, reextract

logger = logging.getLogger(__name__)


def jobs_option(value: str) -> int:
    jobs = int(value)
    if jobs < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return jobs


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False

    def syntax(self) -> str:
        return "PATH... -O FILE [--all-versions] [-j N]"

    def short_desc(self) -> str:
        return "Rebuild the dataset from WARC archives with the current extraction (offline)"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("-O", "--overwrite-output", dest="output", metavar="FILE",
                            help="write the items to FILE (JSON Lines), replacing it")
        parser.add_argument("--all-versions", action="store_true",
                            help="every distinct version of each article, not only the latest")
        parser.add_argument("-j", "--jobs", type=jobs_option, default=os.cpu_count() or 1, metavar="N",
                            help="extraction processes (default: all cores)")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if not args:
            raise UsageError("give at least one WARC file or directory")
        if not opts.output:
            raise UsageError("-O FILE is required")
        assert self.settings is not None
        configure_logging(self.settings)
        progress = Progress(interval=self.settings.getfloat("NEWSSPIDER_PROGRESS_INTERVAL"))
        try:
            outcome = reextract(args, Path(opts.output), jobs=opts.jobs, all_versions=opts.all_versions,
                                progress=progress)
        except UnreadableInput as exc:
            print(f"error: cannot read {exc}", file=sys.stderr)
            self.exitcode = 1
            return
        stats = outcome.stats
        skipped = ", ".join(f"{k.rsplit('/', 1)[-1]}={v}" for k, v in sorted(stats.items())
                            if k.startswith("newsspider/reextract/skipped/"))
        dropped = ", ".join(f"{k.rsplit('/', 1)[-1]}={v}" for k, v in sorted(stats.items())
                            if k.startswith(DROPPED_PREFIX))
        logger.info("Re-extracted %d articles from %d records in %d archive file(s) into %s "
                    "(pages skipped: %s; dropped: %s)", stats["newsspider/reextract/articles"],
                    stats["newsspider/reextract/records"], stats["newsspider/reextract/files"], opts.output,
                    skipped or "none", dropped or "none")
