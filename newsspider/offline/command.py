"""What ``scrapy reextract`` and ``scrapy compact`` (``newsspider/commands/``) share:
``PATH… -O FILE``, the project's logging, and the exit status — 2 for bad usage or a path
that does not exist, 1 with an ``error:`` line when an input cannot be read (nothing is
written) or when the output is incomplete.  (Here, not in ``newsspider/commands/``: Scrapy
takes every command class defined there for a command of its own.)"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError
from scrapy.utils.log import configure_logging

from newsspider.offline.files import MissingInput, UnreadableInput


class OfflineCommand(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False
    #: What PATH may be, for the usage error.
    inputs = "file or directory"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("-O", "--overwrite-output", dest="output", metavar="FILE",
                            help="write to FILE (JSON Lines), replacing it")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if not args:
            raise UsageError(f"give at least one {self.inputs}")
        if not opts.output:
            raise UsageError("-O FILE is required")
        assert self.settings is not None
        configure_logging(self.settings)
        try:
            self.exitcode = self.work(args, Path(opts.output), opts)
        except UnreadableInput as exc:
            print(f"error: cannot read {exc}", file=sys.stderr)
            self.exitcode = 2 if isinstance(exc, MissingInput) else 1

    def work(self, paths: list[str], output: Path, opts: argparse.Namespace) -> int:
        """The command's job; its exit status."""
        raise NotImplementedError
