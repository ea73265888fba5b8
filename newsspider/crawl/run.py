"""``CronRun``: the state, the lock, the health verdict and the summary line of a run.

* Opens the SQLite state (``NEWSSPIDER_STATE_PATH``; empty = no state) once per crawl
  process, after taking the lock file next to it; a crawl that cannot get the lock does
  nothing (its spider yields no request) and says so in the log.
* Records every exported article in the state on ``item_scraped`` — after the feed
  exporter (enabled before this extension) has written the item — never earlier.
* On ``spider_closed``: remembers the run's dead links / non-articles / drops, refreshes
  unchanged articles, and judges the run against the ``NEWSSPIDER_HEALTH_*`` thresholds
  (``crawler.newsspider_health``; the project's ``crawl`` command turns it into the exit
  status).
* On ``engine_stopped`` (after the feeds are stored): one summary line, then closes the
  state and releases the lock.
"""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from itemadapter import ItemAdapter
from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.extensions.feedexport import FeedExporter

from newsspider.crawl.state import State, StateLock
from newsspider.crawl.stats import is_dead_status

logger = logging.getLogger(__name__)

COVERAGE_FIELDS = ("title", "published", "body", "authors")


@dataclass
class Health:
    ok: bool = True
    problems: list[str] = field(default_factory=list)
    reason: str | None = None
    locked: bool = False


class CronRun:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.settings = crawler.settings
        self.state: State | None = None
        self.lock: StateLock | None = None
        self.locked = False
        self.kinds: Counter[str] = Counter()
        self.present: Counter[str] = Counter()
        self.judged_items = 0
        self.pipeline_drops = 0
        self.outputs: list[str] = []
        self.health = Health()
        crawler.newsspider_health = self.health  # type: ignore[attr-defined]
        path = self.settings.get("NEWSSPIDER_STATE_PATH") or ""
        if path:
            self.lock = StateLock(path)
            if self.lock.acquire():
                self.state = State(path)
                crawler.newsspider_state = self.state  # type: ignore[attr-defined]
            else:
                self.locked = self.health.locked = True
                crawler.newsspider_locked = True  # type: ignore[attr-defined]
                logger.warning("Another crawl holds the lock %s: this run does nothing", self.lock.path)
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(self.item_dropped, signal=signals.item_dropped)
        crawler.signals.connect(self.feed_slot_closed, signal=signals.feed_slot_closed)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(self.engine_stopped, signal=signals.engine_stopped)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CronRun:
        return cls(crawler)

    # --- signals ------------------------------------------------------------------------
    def spider_opened(self, spider: Spider) -> None:
        if self.locked:
            return
        if self.state is not None:
            spider.resume_after = self.state.begin_run()  # type: ignore[attr-defined]
            if spider.resume_after:  # type: ignore[attr-defined]
                logger.info("The run started %s did not finish: resuming after it", spider.resume_after)  # type: ignore[attr-defined]

    def _flush_feeds(self) -> None:
        """Make sure every exported line is in its file before the state says "done"."""
        exporter = self.crawler.get_extension(FeedExporter) if hasattr(self.crawler, "get_extension") else None
        for slot in getattr(exporter, "slots", ()) or ():
            file = getattr(slot, "file", None)
            if file is not None and hasattr(file, "flush"):
                with contextlib.suppress(OSError, ValueError):
                    file.flush()

    def _count_fields(self, item: Any) -> None:
        adapter = ItemAdapter(item)
        self.judged_items += 1
        for name in COVERAGE_FIELDS:
            value = adapter.get(name)
            if (isinstance(value, str) and value.strip()) or (isinstance(value, list) and value):
                self.present[name] += 1

    def item_scraped(self, item: Any, response: Any, spider: Spider) -> None:
        self._count_fields(item)
        if self.state is None:
            self.kinds["new"] += 1
            return
        self._flush_feeds()
        data = ItemAdapter(item)  # a Mapping view: no deep copy of the item
        url = data["url"]
        aliases = getattr(spider, "aliases", {}).get(url, ())
        lastmod = getattr(spider, "sitemap_lastmod", {}).get(url)
        kind = self.state.record_article(data, lastmod=lastmod, aliases=aliases)
        self.kinds[kind] += 1
        self.crawler.stats.inc_value(f"newsspider/state/{kind}")

    def item_dropped(self, item: Any, response: Any, exception: Exception, spider: Spider) -> None:
        reason = str(exception).split(":", 1)[0].strip() or type(exception).__name__
        if reason == "duplicate":
            return
        self._count_fields(item)
        self.pipeline_drops += 1
        url = ItemAdapter(item).get("url")
        outcomes = getattr(spider, "outcomes", None)
        if url and isinstance(outcomes, dict):
            outcomes[url] = f"dropped:{reason}"
            for alias in getattr(spider, "aliases", {}).get(url, ()):
                outcomes[alias] = f"dropped:{reason}"

    def feed_slot_closed(self, slot: Any) -> None:
        storage = getattr(slot, "storage", None)
        final = getattr(storage, "final_path", None) if getattr(storage, "atomic", False) else None
        self.outputs.append(f"{final or slot.uri} ({slot.itemcount} items)")

    def spider_closed(self, spider: Spider, reason: str) -> None:
        self.health.reason = reason
        if self.state is not None:
            self._save_run(spider, reason)
        self._judge(spider, reason)
        window = getattr(spider, "initial_window", None)
        if window and not self.locked and self.kinds["new"] + self.kinds["updated"] == 0:
            logger.warning("Nothing published since %s: the first incremental run on an empty state only "
                           "looks back %d days (NEWSSPIDER_INITIAL_WINDOW_DAYS); run with -a mode=full to "
                           "export the archive", getattr(spider, "since", "?"), window)

    def _save_run(self, spider: Spider, reason: str) -> None:
        state = self.state
        assert state is not None
        lastmods = getattr(spider, "sitemap_lastmod", {})
        aliases = getattr(spider, "aliases", {})
        try:
            for url in getattr(spider, "unchanged", set()):
                state.touch(url, lastmod=lastmods.get(url), aliases=aliases.get(url, ()))
            state.record_outcomes(getattr(spider, "outcomes", {}))
            answered: set[str] = getattr(spider, "rechecked", set())
            if answered:
                state.resolve_failed(answered)
            if reason == "finished" and getattr(spider, "mode", None) == "full" and not getattr(spider, "since", None):
                state.set_meta("horizon", "")
            if reason == "finished":
                state.end_run()
        except Exception:  # the run's output is already safe; never fail the close
            logger.exception("Could not save the run's bookkeeping in %s", state.path)

    # --- health -------------------------------------------------------------------------
    def _judge(self, spider: Spider, reason: str) -> None:
        if self.locked or not self.settings.getbool("NEWSSPIDER_HEALTH_ENABLED", True):
            return
        stats = self.crawler.stats.get_stats() if self.crawler.stats else {}
        s = self.settings
        min_bad = s.getint("NEWSSPIDER_HEALTH_MIN_BAD", 2)
        problems = self.health.problems

        def ratio_bad(bad: int, total: int, limit: float) -> bool:
            return total > 0 and bad >= min_bad and bad / total > limit

        if reason != "finished":
            problems.append(f"finish reason {reason!r}")
        exceptions = sum(v for k, v in stats.items() if k.startswith("spider_exceptions/") and k.count("/") == 1)
        if exceptions > s.getint("NEWSSPIDER_HEALTH_MAX_SPIDER_EXCEPTIONS", 0):
            problems.append(f"{exceptions} spider exceptions")
        empty = int(stats.get("newsspider/listing/empty", 0))
        if empty > s.getint("NEWSSPIDER_HEALTH_MAX_EMPTY_LISTINGS", 0):
            problems.append(f"{empty} listing pages answered 200 without article links")
        dropped = dropped_count(stats)
        # Article pages: items the spider yielded, plus pages it dropped itself (broken pages,
        # incomplete multi-page posts); pipeline drops are among the yielded items already.
        pages = int(stats.get("newsspider/pages/article", 0)) + max(dropped - self.pipeline_drops, 0)
        limit = s.getfloat("NEWSSPIDER_HEALTH_MAX_DROPPED_RATIO", 0.10)
        if ratio_bad(dropped, pages, limit):
            problems.append(f"{dropped} of {pages} article pages dropped (> {limit:.0%})")
        coverage = s.getdict("NEWSSPIDER_HEALTH_MIN_COVERAGE") or {}
        for name, minimum in coverage.items():
            missing = self.judged_items - self.present[name]
            if ratio_bad(missing, self.judged_items, 1 - float(minimum)):
                problems.append(f"{name} coverage {self.present[name]}/{self.judged_items} (< {float(minimum):.0%})")
        failed = failed_count(stats)
        requests = max(int(stats.get("downloader/request_count", 0)) - int(stats.get("retry/count", 0)), 0)
        limit = s.getfloat("NEWSSPIDER_HEALTH_MAX_FAILED_RATIO", 0.05)
        if ratio_bad(failed, requests, limit):
            problems.append(f"{failed} of {requests} requests failed after all retries (> {limit:.0%})")
        self.health.ok = not problems
        if problems:
            logger.warning("Unhealthy run: %s", "; ".join(problems))

    # --- the end ------------------------------------------------------------------------
    def engine_stopped(self) -> None:
        stats = self.crawler.stats.get_stats() if self.crawler.stats else {}
        spider = getattr(self.crawler, "spider", None)
        if self.locked:
            logger.info("Summary: skipped, another crawl holds the lock %s", self.lock.path if self.lock else "")
        else:
            drops = {k.rsplit("/", 1)[1]: v for k, v in stats.items() if k.startswith("newsspider/dropped/")}
            errors = sum(v for k, v in stats.items() if k.startswith("spider_exceptions/") and k.count("/") == 1)
            output = "; ".join(self.outputs) or "none (nothing new)"
            logger.info(
                "Summary: mode=%s new=%d updated=%d unchanged_skipped=%d dropped=%d %s errors=%d "
                "failed_requests=%d dead_links=%d requests=%d finish_reason=%s health=%s output=%s",
                getattr(spider, "mode", "?"), self.kinds["new"], self.kinds["updated"],
                int(stats.get("newsspider/unchanged_skipped", 0)), sum(drops.values()),
                "{" + ", ".join(f"{k}: {v}" for k, v in sorted(drops.items())) + "}",
                errors, failed_count(stats), dead_count(stats),
                int(stats.get("downloader/request_count", 0)), self.health.reason,
                "ok" if self.health.ok else "UNHEALTHY (" + "; ".join(self.health.problems) + ")",
                output,
            )
        if self.state is not None:
            self.state.close()
            self.state = None
        if self.lock is not None and not self.locked:
            self.lock.release()


def dropped_count(stats: dict[str, Any]) -> int:
    """Dropped items that mean trouble (not the duplicates of an emitted article)."""
    return sum(int(v) for k, v in stats.items()
               if k.startswith("newsspider/dropped/") and not k.endswith("/duplicate"))


def _failure_key(key: str) -> str | None:
    """``newsspider/failed/<name>`` as counted by the spider's errback (one level only)."""
    prefix = "newsspider/failed/"
    if not key.startswith(prefix) or "/" in key[len(prefix):]:
        return None
    return key[len(prefix):]


def failed_count(stats: dict[str, Any]) -> int:
    """Requests that failed after all retries: network errors and 5xx/429 answers that
    reached the spider's errback, or the retry middleware's ``retries_exhausted`` count,
    whichever is larger (both see the same requests).  404/410 and other 4xx are dead
    links, and robots.txt refusals are not failures."""
    total = 0
    for key, value in stats.items():
        name = _failure_key(key)
        if name is None or name in ("IgnoreRequest", "retries_exhausted"):
            continue
        if name.startswith("http_"):
            code = int(name[5:]) if name[5:].isdigit() else 0
            if is_dead_status(code):
                continue
        total += int(value)
    return max(total, int(stats.get("newsspider/failed/retries_exhausted", 0)))


def dead_count(stats: dict[str, Any]) -> int:
    total = 0
    for key, value in stats.items():
        name = _failure_key(key)
        if name and name.startswith("http_") and name[5:].isdigit():
            code = int(name[5:])
            if is_dead_status(code):
                total += int(value)
    return total
