"""``scrapy compact output/georgiatoday/ -O dataset.jsonl``: merge the dated cron outputs.

One line per article, its latest version (by ``modified``, then ``crawled_at``, then file
order), in the order articles first appeared; no re-extraction.  PATH: JSON Lines files or
directories of them (``*.jsonl``; unfinished ``.part`` files are ignored).  Exit status 1
with an ``error:`` line when an input cannot be read.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError
from scrapy.utils.log import configure_logging

from newsspider.offline import UnreadableInput, compact

logger = logging.getLogger(__name__)


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False

    def syntax(self) -> str:
        return "PATH... -O FILE"

    def short_desc(self) -> str:
        return "Merge dated JSON Lines outputs into one line per article (latest version)"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("-O", "--overwrite-output", dest="output", metavar="FILE",
                            help="write the merged dataset to FILE, replacing it")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if not args:
            raise UsageError("give at least one JSON Lines file or directory")
        if not opts.output:
            raise UsageError("-O FILE is required")
        assert self.settings is not None
        configure_logging(self.settings)
        try:
            read, written = compact(args, Path(opts.output))
        except UnreadableInput as exc:
            print(f"error: cannot read {exc}", file=sys.stderr)
            self.exitcode = 1
            return
        logger.info("Compacted %d lines into %d articles: %s", read, written, opts.output)
