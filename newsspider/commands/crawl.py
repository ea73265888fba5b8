"""``scrapy crawl`` for cron: same options, plus an exit status that means something.

* Bad or unknown spider arguments: a usage error (exit 2) before anything starts.
* Another crawl holds the state lock (``<NEWSSPIDER_STATE_PATH>.lock``): log it, exit 0
  at once — nothing is fetched and no output file is touched (not even ``-O``).
* Only this command takes the lock and sets ``NEWSSPIDER_CRAWL_COMMAND``: the run
  extension opens the state (and the archive is written) only then, so ``scrapy shell``,
  ``parse``, ``check`` or ``fetch`` never create or lock anything.
* The run could not do its job (``newsspider.crawl.report.health``: output or state failures,
  unreachable or blocked site, thresholds …): exit 1.  Scrapy start-up failures: exit 1.
* Every run ends with its ``Summary:`` line, a forced shutdown (a second Ctrl-C) too.
"""

from __future__ import annotations

import argparse
import logging

from scrapy.commands.crawl import Command as ScrapyCrawlCommand
from scrapy.exceptions import UsageError

from newsspider.crawl.run.extension import RunExtension
from newsspider.crawl.run.state import StateLock

logger = logging.getLogger(__name__)

#: Exit status of an unhealthy run.
UNHEALTHY = 1


class Command(ScrapyCrawlCommand):
    def short_desc(self) -> str:
        return "Run a spider; exit non-zero when the run was unhealthy (cron)"

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        project_feeds = set(self.settings.getdict("FEEDS"))
        super().process_options(args, opts)
        # A real crawl (not scrapy shell/parse/check): components such as the WARC archive
        # (newsspider/crawl/archive/) only act when this is set.
        self.settings.set("NEWSSPIDER_CRAWL_COMMAND", True, priority="cmdline")
        if opts.output or opts.overwrite_output:
            # Scrapy merges the project's FEEDS into -o/-O; here -o/-O replace the default
            # dated output, as the README promises.
            feeds = self.settings.getdict("FEEDS")
            cli = {uri: options for uri, options in feeds.items() if uri not in project_feeds}
            self.settings.set("FEEDS", cli or feeds, priority="cmdline")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) < 1:
            raise UsageError
        if len(args) > 1:
            raise UsageError("running 'scrapy crawl' with more than one spider is not supported")
        assert self.crawler_process is not None and self.settings is not None
        spidercls = self.crawler_process.spider_loader.load(args[0])
        check = getattr(spidercls, "check_arguments", None)
        if check is not None:
            try:
                check(**opts.spargs)
            except (TypeError, ValueError) as exc:
                raise UsageError(f"bad spider argument: {exc}", print_help=False) from None
        state_path = self.settings.get("NEWSSPIDER_STATE_PATH")
        if state_path:
            lock = StateLock(state_path)
            try:
                locked = lock.acquire()
            except OSError as exc:
                logger.error("Cannot create the lock file %s: %s; nothing crawled", lock.path, exc)
                self.exitcode = UNHEALTHY
                return
            if not locked:
                logger.warning("Another crawl holds the lock %s; exiting without crawling", lock.path)
                logger.info("Summary: skipped, another crawl holds the lock %s", lock.path)
                self.exitcode = 0
                return
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
