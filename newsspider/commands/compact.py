"""``scrapy compact output/georgiatoday/ -O dataset.jsonl``: merge the dated cron outputs.

One line per article, its latest version (by ``modified``, then ``crawled_at``, then file
order), in the order articles first appeared; no re-extraction.  PATH: JSON Lines files or
directories of them (``*.jsonl``; the ``.part`` files of unfinished runs are left out, with
a WARNING).  Deletions: the tombstones in the ``tombstones/`` subdirectory of every
directory PATH, and in each ``--tombstones PATH`` (a file or directory); an article whose
latest tombstone is not older than its latest line (it did not come back) is dropped, or
with ``--keep-deleted`` kept with a ``"deleted": {"reason", "detected_at", "moved_to"}``
key.  A move (reason ``moved``) drops the old URL's line; the new URL's is an ordinary
article line.  Exit status (``OfflineCommand``): 1 with an ``error:`` line when an input
(tombstones too) cannot be read or there is no finished output to merge, 2 for a missing
path.
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
        return "PATH... -O FILE [--tombstones PATH]... [--keep-deleted]"

    def short_desc(self) -> str:
        return "Merge dated JSON Lines outputs into one line per article (latest version, deletions applied)"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--tombstones", action="append", default=[], metavar="PATH",
                            help="apply the tombstones of PATH too (a JSON Lines file or a directory of them), "
                                 "besides those in the tombstones/ subdirectory of each directory PATH")
        parser.add_argument("--keep-deleted", action="store_true",
                            help='keep deleted and moved articles, marked with a "deleted" key, instead of '
                                 "dropping them")

    def work(self, paths: list[str], output: Path, opts: argparse.Namespace) -> int:
        done = compact(paths, output, opts.tombstones, keep_deleted=opts.keep_deleted)
        logger.info("Compacted %d lines into %d articles: %s; %s as deleted: %d, as moved: %d",
                    done.read, done.written, output, "marked" if opts.keep_deleted else "dropped",
                    done.deleted, done.moved)
        return 0
