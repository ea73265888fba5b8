"""``scrapy coverage [--json]``: does the dataset hold every post the site lists?

Reads the state (``NEWSSPIDER_STATE_PATH``, read-only: a running crawl is not disturbed)
and reconciles the post sitemaps, as the last ``mode=full`` or ``check`` run that read
them all listed them, with what the state knows now (``newsspider.crawl.run.state.coverage``).  Prints the
counts, then each missing post and why, to stdout:

* TSV (default): a first line ``# coverage=<in dataset>/<listed> listed=… in_dataset=…
  pending=… dead=… not_article=… never_fetched=… read=<when> pending.<reason>=…``, then
  a header ``url  why  detail  lastmod  given_up`` and one row per missing post;
* ``--json``: JSON Lines, the counts first (``pending_reasons`` an object), then one
  object per missing post (``url``, ``why``, ``detail``, ``lastmod``, ``given_up``).

``why`` is ``pending`` (``detail``: the reason; ``given_up``: ``yes`` when later runs no
longer ask it), ``dead`` (``detail``: 404 or 410), ``not_article`` or ``never_fetched``
(no answer kept for it).
Exit status: 0; 2 with an ``error:`` line when the state does not exist (or is disabled);
1 when it cannot be read or no full or check run has read the sitemaps into it yet.
"""

from __future__ import annotations

import argparse
import csv
import json
import sqlite3
import sys
from pathlib import Path
from typing import Any

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from newsspider.crawl.run.state import Coverage, State, coverage


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False

    def syntax(self) -> str:
        return "[--json]"

    def short_desc(self) -> str:
        return "Count the posts the sitemaps list against the dataset, and list the missing ones (reads the state)"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--json", action="store_true", help="JSON Lines instead of TSV")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if args:
            raise UsageError("no arguments: the state is NEWSSPIDER_STATE_PATH (-s NEWSSPIDER_STATE_PATH=FILE)")
        assert self.settings is not None
        path = self.settings.get("NEWSSPIDER_STATE_PATH") or ""
        if not path or not Path(path).is_file():
            print(f"error: no state at {path!r} (NEWSSPIDER_STATE_PATH): a crawl writes it", file=sys.stderr)
            self.exitcode = 2
            return
        try:
            db = State.read_only(path)
            try:
                found = coverage(db)
            finally:
                db.close()
        except sqlite3.Error as exc:
            print(f"error: cannot read the state {path}: {exc}", file=sys.stderr)
            self.exitcode = 1
            return
        if found is None:
            print(f"error: no mode=full or mode=check run has read the post sitemaps into the state {path} yet "
                  "(newsspider crawl -a mode=check)", file=sys.stderr)
            self.exitcode = 1
            return
        (write_json if opts.json else write_tsv)(found)


def counts(found: Coverage) -> dict[str, Any]:
    return {"coverage": f"{found.in_dataset}/{found.listed}", **found.counts(), "read": found.read}


def write_tsv(found: Coverage) -> None:
    head = {**counts(found), **{f"pending.{reason}": n for reason, n in found.pending_reasons().items()}}
    print("# " + " ".join(f"{key}={value}" for key, value in head.items()))
    writer = csv.writer(sys.stdout, delimiter="\t", lineterminator="\n")
    writer.writerow(("url", "why", "detail", "lastmod", "given_up"))
    writer.writerows((post.url, post.why, post.detail, post.lastmod or "", "yes" if post.given_up else "")
                     for post in found.missing)


def write_json(found: Coverage) -> None:
    print(json.dumps({**counts(found), "pending_reasons": found.pending_reasons()}))
    for post in found.missing:
        print(json.dumps({"url": post.url, "why": post.why, "detail": post.detail, "lastmod": post.lastmod,
                          "given_up": post.given_up}, ensure_ascii=False))
