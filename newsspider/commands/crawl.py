"""``scrapy crawl`` for cron: same options, plus an exit status that means something.

* Bad or unknown spider arguments, and unknown ``NEWSSPIDER_*`` settings (a typo such as
  ``-s NEWSSPIDER_STATE_PATHH=…`` or ``NEWSPIDER_…``, from ``-s`` or a ``SCRAPY_…``
  environment variable): ``error: …`` and a hint on stderr, exit 2, before anything starts.
* Another crawl holds the state lock (``<NEWSSPIDER_STATE_PATH>.lock``): log it, exit 0
  at once — nothing is fetched and no output file is touched (not even ``-O``).
* Only this command takes the lock and sets ``NEWSSPIDER_CRAWL_COMMAND``: the run
  extension opens the state (and the archive is written) only then, so ``scrapy shell``,
  ``parse``, ``check`` or ``fetch`` never create or lock anything.
* The run could not do its job (``newsspider.crawl.report.health``: output or state failures,
  unreachable or blocked site, thresholds …): exit 1.  Scrapy start-up failures: exit 1.
* Every run ends with its ``Summary:`` line, a forced shutdown (a second Ctrl-C) too.
* ``-s NEWSSPIDER_QUIET=True``: Scrapy's own INFO lines off (``quiet_settings``, ``quiet_loggers``).
"""

from __future__ import annotations

import argparse
import difflib
import logging
import os
import sys
import textwrap
from collections.abc import Mapping
from typing import Any, NoReturn

from scrapy.commands import ScrapyHelpFormatter
from scrapy.commands.crawl import Command as ScrapyCrawlCommand
from scrapy.exceptions import UsageError
from scrapy.extensions.feedexport import ItemFilter
from scrapy.settings import SETTINGS_PRIORITIES, BaseSettings
from scrapy.utils.misc import load_object

from newsspider import settings as project_settings
from newsspider import site
from newsspider.crawl.run.commit import summary
from newsspider.crawl.run.extension import RunExtension
from newsspider.crawl.run.state import State, StateLock
from newsspider.items import ArticleItem, Tombstone
from newsspider.spiders.arguments import ARGUMENTS
from newsspider.urls import OriginMap

logger = logging.getLogger(__name__)

#: Exit status of an unhealthy run.
UNHEALTHY = 1
#: Exit status of a usage error (bad spider argument, unknown setting), as argparse's.
USAGE = 2
#: The project's settings: every one has its default in newsspider/settings.py.
KNOWN_SETTINGS = sorted(name for name in vars(project_settings) if name.startswith("NEWSSPIDER_"))
#: Prefixes of the project's settings as typed, right or wrong (Scrapy's NEWSPIDER_MODULE aside).
SETTING_PREFIXES = ("NEWSSPIDER_", "NEWSPIDER_")
SCRAPY_SETTINGS = {"NEWSPIDER_MODULE"}
SETTINGS_HINT = "hint: settings are given with -s NAME=VALUE; newsspider/settings.py lists the project's, with defaults"


def own_feeds(feeds: dict[str, Any], keeps_state: bool) -> dict[str, dict[str, Any]]:
    """Outputs given on the command line (``-o``/``-O``, ``-s FEEDS=…``, scrapyd's
    ``items_dir``): each takes articles only unless its ``item_classes`` say otherwise; and
    when the run keeps a state (it may find deletions) and none takes tombstones, each
    article output gets one for them beside it: ``<its directory>/tombstones/<its name>``."""
    own = {uri: {"item_classes": [ArticleItem], **options} for uri, options in feeds.items()}
    if keeps_state and not any(ItemFilter(options).accepts(Tombstone()) for options in own.values()):
        for uri, options in list(own.items()):
            head, _, name = uri.rpartition("/")
            beside = f"{head}/tombstones/{name}" if head else f"tombstones/{name}"
            own[beside] = {**options, "item_classes": [Tombstone], "store_empty": False}  # none: no file
    return own


class HelpFormatter(argparse.RawDescriptionHelpFormatter, ScrapyHelpFormatter):
    """Scrapy's help layout, keeping the line breaks of the spider arguments' list."""


def quiet_settings(settings: BaseSettings) -> None:
    """``NEWSSPIDER_QUIET``, a log for cron, before the crawler process exists: no versions
    dump (``LOG_VERSIONS``).  One Scrapy line stays, ``Scrapy x.y started``, logged before
    any crawl code runs: it marks where each run starts in a log several runs append to."""
    if settings.getbool("NEWSSPIDER_QUIET"):
        settings.set("LOG_VERSIONS", [], priority="cmdline")


def quiet_loggers(settings: BaseSettings) -> None:
    """``NEWSSPIDER_QUIET``, once the crawler process has configured logging (which resets
    the ``scrapy`` logger's level): Scrapy's own loggers at WARNING — no settings or stats
    dumps, no component lists.  The project's lines (``Summary:``, ``Progress:`` …) and every
    WARNING stay, and Scrapy's log counts, which the health verdict reads, still count every
    record logged.  (``LOG_LEVEL=WARNING`` would drop the ``Summary:`` line, an INFO one.)"""
    if settings.getbool("NEWSSPIDER_QUIET"):
        logging.getLogger("scrapy").setLevel(logging.WARNING)


def arguments_help(width: int = 78) -> str:
    """The spider's arguments, laid out as the options of ``-h``."""
    lines = []
    for name, (form, meaning) in ARGUMENTS.items():
        lines.append(f"-a {name}={form}")
        lines.append(textwrap.fill(meaning, width, initial_indent=" " * 22, subsequent_indent=" " * 22))
    return "\n".join(lines)


def usage_error(*lines: str) -> NoReturn:
    """``error: …`` and its hint on stderr, exit status 2 — without Scrapy's usage banner."""
    print("\n".join(lines), file=sys.stderr)
    raise SystemExit(USAGE)


def unknown_settings(settings: BaseSettings, environ: Mapping[str, str]) -> list[str]:
    """One ``error: …`` line per ``NEWSSPIDER_*`` (or ``NEWSPIDER_*``) setting the project
    does not have, with the closest known one; and per ``SCRAPY_NEWSSPIDER_*`` environment
    variable, which Scrapy ignores (it takes settings from ``-s`` only)."""

    def ours(name: str) -> bool:
        return name.startswith(SETTING_PREFIXES) and name not in SCRAPY_SETTINGS

    def unknown(name: str, source: str) -> str:
        suffix = name.split("_", 1)[1]  # the typo in the prefix, if any, is no clue
        close = difflib.get_close_matches(suffix, [known.split("_", 1)[1] for known in KNOWN_SETTINGS], n=1)
        guess = f"; did you mean NEWSSPIDER_{close[0]}?" if close else ""
        return f"error: unknown setting {name} ({source}){guess}"

    problems = []
    for name in sorted(settings):
        if ours(name) and name not in KNOWN_SETTINGS:
            cmdline = settings.getpriority(name) == SETTINGS_PRIORITIES["cmdline"]
            problems.append(unknown(name, "-s" if cmdline else "settings module"))
    for variable in sorted(environ):
        name = variable.removeprefix("SCRAPY_")
        if not variable.startswith("SCRAPY_") or not ours(name):
            continue
        if name in KNOWN_SETTINGS:
            problems.append(f"error: environment variable {variable} is ignored by Scrapy: pass -s {name}=VALUE")
        else:
            problems.append(unknown(name, f"environment variable {variable}"))
    return problems


class Command(ScrapyCrawlCommand):
    def short_desc(self) -> str:
        return "Run a spider; exit non-zero when the run was unhealthy (cron)"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.formatter_class = HelpFormatter
        parser.add_argument_group("spider arguments", arguments_help())
        parser.add_argument(
            "--with-state", action="store_true",
            help="with -o/-O: consult and advance the state (NEWSSPIDER_STATE_PATH) and write the WARC archive, as "
                 "a cron run does; without it, an -o/-O export is a one-off that touches neither")

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        project_feeds = set(self.settings.getdict("FEEDS"))
        super().process_options(args, opts)
        problems = unknown_settings(self.settings, os.environ)
        if problems:
            usage_error(*problems, SETTINGS_HINT)
        if len(args) == 1:
            self.check_arguments(args[0], opts.spargs)
        # A real crawl (not scrapy shell/parse/check): components such as the WARC archive
        # (newsspider/crawl/archive/) only act when this is set.
        self.settings.set("NEWSSPIDER_CRAWL_COMMAND", True, priority="cmdline")
        quiet_settings(self.settings)
        feeds = self.settings.getdict("FEEDS")
        given = {uri: options for uri, options in feeds.items() if uri not in project_feeds}
        if given:
            # Scrapy merges the project's FEEDS into -o/-O; here -o/-O replace the default
            # dated outputs, as the README promises.  Outputs of one's own take articles only.
            keeps_state = bool(self.settings.get("NEWSSPIDER_STATE_PATH")) and (
                opts.with_state or not (opts.output or opts.overwrite_output))
            self.settings.set("FEEDS", own_feeds(given, keeps_state), priority="cmdline")
        if (opts.output or opts.overwrite_output) and not opts.with_state:
            # A one-off export (a trial, `mode=full -O all.jsonl`): the dataset's state and
            # archive are neither read nor changed, so it never bends what cron delivers.
            self.settings.set("NEWSSPIDER_STATE_PATH", "", priority="cmdline")
            if (self.settings.getpriority("NEWSSPIDER_ARCHIVE_DIR") or 0) < SETTINGS_PRIORITIES["cmdline"]:
                self.settings.set("NEWSSPIDER_ARCHIVE_DIR", "", priority="cmdline")
        self.base_url = opts.spargs.get("base_url") or self.settings.get("NEWSSPIDER_BASE_URL") or site.ORIGIN

    def check_arguments(self, spider: str, spargs: dict[str, str]) -> None:
        """The spider's own check of its arguments, before the crawler process starts (and
        logs anything): a bad one is a usage error."""
        assert self.settings is not None
        loader = load_object(self.settings["SPIDER_LOADER_CLASS"]).from_settings(self.settings.frozencopy())
        try:
            check = getattr(loader.load(spider), "check_arguments", None)
        except KeyError:  # an unknown spider: Scrapy's own error, in run()
            return
        if check is None:
            return
        try:
            check(**spargs)
        except (TypeError, ValueError) as exc:
            forms = ", ".join(f"-a {name}={form}" for name, (form, _) in ARGUMENTS.items())
            usage_error(f"error: bad spider argument: {exc}", f"hint: {forms} (crawl -h says what they mean)")

    def check_dataset(self, state_path: str) -> None:
        """The state describes the dataset of one site: a run fetching from another
        ``base_url`` is refused (exit 2) before anything is fetched or written."""
        bound = State.bound_to(state_path)
        try:
            fetch = OriginMap(site.ORIGIN, self.base_url.rstrip("/")).fetch
        except ValueError:  # a bad base_url: the spider's own check says so
            return None
        if bound is not None and bound != fetch:
            self._refuse(f"error: the state {state_path} describes the dataset fetched from {bound}, not from "
                         f"{fetch}",
                         "hint: give this site its own state (-s NEWSSPIDER_STATE_PATH=state/<name>.sqlite3 and "
                         "its own output directory), run against -a base_url=" + bound + ", or start over with "
                         "make reset (rm -r output state archive)")
        return None

    def _refuse(self, *lines: str) -> None:
        print("\n".join(lines), file=sys.stderr)
        logger.info(summary({"finish_reason": "not_started", "health": "unhealthy", "problems": lines[0],
                             "items": 0, "output": "none", "committed": "no"}))
        raise SystemExit(USAGE)

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) < 1:
            raise UsageError
        if len(args) > 1:
            raise UsageError("running 'scrapy crawl' with more than one spider is not supported")
        assert self.crawler_process is not None and self.settings is not None
        quiet_loggers(self.settings)
        state_path = self.settings.get("NEWSSPIDER_STATE_PATH")
        if state_path:
            lock = StateLock(state_path)
            try:
                locked = lock.acquire()
            except OSError as exc:
                problem = f"cannot create the lock file {lock.path}: {exc.strerror or exc}"
                logger.warning("%s; nothing crawled", problem.capitalize())
                logger.info(summary({"finish_reason": "not_started", "health": "unhealthy", "problems": problem,
                                     "items": 0, "output": "none", "committed": "no"}))
                self.exitcode = UNHEALTHY
                return
            if not locked:
                logger.warning("Another crawl holds the lock %s; exiting without crawling", lock.path)
                logger.info(summary({"finish_reason": "skipped", "skipped": "another crawl holds the lock",
                                     "lock": lock.path, "health": "ok", "items": 0, "output": "none"}))
                self.exitcode = 0
                return
            self.check_dataset(state_path)
        crawler = self._create_crawler(args[0])
        self.crawler_process.crawl(crawler, **opts.spargs)
        self.crawler_process.start()
        if self.crawler_process.bootstrap_failed:
            self.exitcode = 1
            return
        try:
            extension = crawler.get_extension(RunExtension)
        except RuntimeError:  # the crawler never got as far as its extensions
            extension = None
        if extension is None:
            return
        extension.finish()  # no-op after a normal end; the summary after a forced one
        verdict = extension.run.verdict
        if verdict is not None and not verdict.ok:
            self.exitcode = UNHEALTHY
