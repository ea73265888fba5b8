"""``scrapy compact output/georgiatoday/ -O dataset.jsonl``: merge the dated cron outputs.

One line per article, its latest version (by ``modified``, then ``crawled_at``, then file
order), in the order articles first appeared; no re-extraction.  PATH: JSON Lines files or
directories of them (``*.jsonl``; the ``.part`` files of unfinished runs are left out, with
a WARNING).  Exit status (``OfflineCommand``): 1 with an ``error:`` line when an input
cannot be read or there is no finished output to merge, 2 for a missing path.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from newsspider.offline import OfflineCommand, compact

logger = logging.getLogger(__name__)


class Command(OfflineCommand):
    inputs = "JSON Lines file or directory"

    def syntax(self) -> str:
        return "PATH... -O FILE"

    def short_desc(self) -> str:
        return "Merge dated JSON Lines outputs into one line per article (latest version)"

    def work(self, paths: list[str], output: Path, opts: argparse.Namespace) -> int:
        read, written = compact(paths, output)
        logger.info("Compacted %d lines into %d articles: %s", read, written, output)
        return 0
