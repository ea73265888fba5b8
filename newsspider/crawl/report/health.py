"""The health verdict of a run: did it do its job?  One function per check.

Each check takes a few facts of the run (``Facts``: how it ended, what the home page
answered), the crawl stats and the thresholds, and returns a one-line problem or None.
``judge`` runs them all; the crawl command turns the verdict into the exit status, and the spidermon monitors
(``newsspider.crawl.report.monitors``) run the same checks one by one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from scrapy.settings import BaseSettings

from newsspider.crawl.report import stats as S
from newsspider.site import ORIGIN

#: A site whose home page or more than this share of requests redirect to another origin moved.
MOVED_RATIO = 0.5

COVERAGE_FIELDS = ("title", "published", "body", "authors")


@dataclass(frozen=True)
class Facts:
    """What the verdict needs besides the stats."""

    mode: str
    finish_reason: str | None  # None: the crawl never closed (forced shutdown)
    stopped: str | None  # why the run stopped itself (output or state failed)
    archive_problem: str | None
    home: str | None  # what the home page answered: ok / http_<status> / error:<message> / robots
    home_url: str  # the home page as fetched (under base_url for a mirror): what the operator configured
    since: date | None = None  # the run's -a since (a full run then leaves older posts out on purpose)


@dataclass(frozen=True)
class Limits:
    """The ``NEWSSPIDER_HEALTH_*`` thresholds (defaults in settings.py; docs/cron.md, Exit status)."""

    max_spider_exceptions: int
    max_empty_listings: int
    max_dropped_ratio: float
    min_coverage: Mapping[str, float]
    max_failed_ratio: float
    max_blocked_ratio: float
    min_bad: int
    max_invalid_items: int
    min_site_coverage: float

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> Limits:
        return cls(
            max_spider_exceptions=settings.getint("NEWSSPIDER_HEALTH_MAX_SPIDER_EXCEPTIONS"),
            max_empty_listings=settings.getint("NEWSSPIDER_HEALTH_MAX_EMPTY_LISTINGS"),
            max_dropped_ratio=settings.getfloat("NEWSSPIDER_HEALTH_MAX_DROPPED_RATIO"),
            min_coverage={k: float(v) for k, v in settings.getdict("NEWSSPIDER_HEALTH_MIN_COVERAGE").items()},
            max_failed_ratio=settings.getfloat("NEWSSPIDER_HEALTH_MAX_FAILED_RATIO"),
            max_blocked_ratio=settings.getfloat("NEWSSPIDER_HEALTH_MAX_BLOCKED_RATIO"),
            min_bad=settings.getint("NEWSSPIDER_HEALTH_MIN_BAD"),
            max_invalid_items=settings.getint("NEWSSPIDER_HEALTH_MAX_INVALID_ITEMS"),
            min_site_coverage=settings.getfloat("NEWSSPIDER_HEALTH_MIN_SITE_COVERAGE"),
        )

    def too_many(self, bad: int, total: int, limit: float) -> bool:
        """A ratio threshold trips when bad/total exceeds ``limit`` with at least
        ``min_bad`` bad ones."""
        return total > 0 and bad >= self.min_bad and bad / total > limit


@dataclass
class Verdict:
    ok: bool = True
    problems: list[str] = field(default_factory=list)

    def text(self) -> str:
        return "ok" if self.ok else "UNHEALTHY: " + "; ".join(self.problems)


def _int(stats: Mapping[str, Any], key: str) -> int:
    return int(stats.get(key, 0) or 0)


def spider_exceptions(stats: Mapping[str, Any]) -> int:
    """Exceptions raised in the spider's callbacks, each once: Scrapy counts every one under
    ``spider_exceptions/count`` (and again under ``spider_exceptions/<type>``)."""
    return _int(stats, S.SCRAPY_SPIDER_EXCEPTIONS)


def dropped_count(stats: Mapping[str, Any]) -> int:
    """Dropped articles that mean trouble (not the duplicates of an emitted article)."""
    return sum(int(v) for k, v in stats.items() if k.startswith(S.DROPPED_PREFIX) and k != S.DUPLICATE)


def _failure_name(key: str) -> str | None:
    """``newsspider/failed/<name>`` as counted by the run (one level only)."""
    if not key.startswith(S.FAILED_PREFIX) or "/" in key[len(S.FAILED_PREFIX):]:
        return None
    return key[len(S.FAILED_PREFIX):]


def _status(name: str) -> int | None:
    return int(name[5:]) if name.startswith("http_") and name[5:].isdigit() else None


def failed_count(stats: Mapping[str, Any]) -> int:
    """Requests that failed after all retries: network errors, 5xx and 429 answers.
    Dead links (404/410) and refusals (403 …, judged by ``blocked``) are not counted."""
    total = 0
    for key, value in stats.items():
        name = _failure_name(key)
        if name is None:
            continue
        status = _status(name)
        if status is None or status >= 500 or status == 429:
            total += int(value)
    return total


def dead_count(stats: Mapping[str, Any]) -> int:
    return sum(int(v) for k, v in stats.items()
               if (n := _failure_name(k)) is not None and (s := _status(n)) is not None and S.is_dead_status(s))


def requests_count(stats: Mapping[str, Any]) -> int:
    """Requests of the run, each counted once however often it was retried."""
    return max(_int(stats, S.SCRAPY_REQUESTS) - _int(stats, S.SCRAPY_RETRIES), 0)


# --- the checks -------------------------------------------------------------------------------
def check_stopped(facts: Facts, stats: Mapping[str, Any], limits: Limits) -> str | None:
    """The output or the state failed: nothing beyond what is on disk was committed."""
    return facts.stopped


def check_archive(facts: Facts, stats: Mapping[str, Any], limits: Limits) -> str | None:
    """The WARC archive could not be written (the outputs and the state are fine)."""
    return facts.archive_problem


def check_finish_reason(facts: Facts, stats: Mapping[str, Any], limits: Limits) -> str | None:
    reason = facts.finish_reason
    if reason in (None, "finished") or facts.stopped:
        return None if reason else "the crawl did not close (forced shutdown)"
    return f"finish reason {reason!r}"


def check_unreachable(facts: Facts, stats: Mapping[str, Any], limits: Limits) -> str | None:
    if facts.finish_reason in (None, "shutdown"):
        return None  # stopped by a signal: the answers did not have time to come
    home = facts.home
    if home and home.startswith("error:"):
        return f"site unreachable: {facts.home_url} {home[6:]}"
    if _int(stats, S.SCRAPY_REQUESTS) and not _int(stats, "downloader/response_count"):
        return f"site unreachable: none of {requests_count(stats)} requests got an answer"
    return None


def check_moved(facts: Facts, stats: Mapping[str, Any], limits: Limits) -> str | None:
    """The site (or the mirror) moved: the home page, or more than ``MOVED_RATIO`` of
    the requests, answered with a redirect to another origin (``newsspider.crawl.http.offsite``)."""
    target = stats.get(S.OFF_ORIGIN_TO)
    moved, requests = _int(stats, S.OFF_ORIGIN_REDIRECTS), requests_count(stats)
    home = bool(stats.get(S.OFF_ORIGIN_HOME))
    if not target or not (home or limits.too_many(moved, requests, MOVED_RATIO)):
        return None
    configured = facts.home_url.rstrip("/")
    fix = (f"if the mirror moved, crawl -a base_url={target} (with a state of its own once this one holds "
           "articles: docs/cron.md, One dataset, one state)" if configured != ORIGIN else
           f"report it: the spider crawls {ORIGIN}")
    return (f"site moved: {configured} → {target} ({'the home page and ' if home else ''}{moved} of {requests} "
            f"requests redirected there); {fix}")


def check_blocked(facts: Facts, stats: Mapping[str, Any], limits: Limits) -> str | None:
    home = facts.home
    if home in ("http_403", "http_429", "http_401"):
        return f"blocked: the home page {facts.home_url} answered {home[5:]}"
    responses = _int(stats, "downloader/response_count")
    refused = sum(_int(stats, f"{S.SCRAPY_RESPONSE_STATUS}{code}") for code in (401, 403, 429))
    if limits.too_many(refused, responses, limits.max_blocked_ratio):
        return f"blocked: {refused} of {responses} answers were 401/403/429"
    return None


def check_wrong_base(facts: Facts, stats: Mapping[str, Any], limits: Limits) -> str | None:
    home = facts.home
    if home in ("http_404", "http_410"):
        return f"wrong base_url: the home page {facts.home_url} answered {home[5:]}"
    return None


def check_robots(facts: Facts, stats: Mapping[str, Any], limits: Limits) -> str | None:
    if facts.home == "robots":
        return f"robots.txt forbids the start page {facts.home_url}"
    return None


def check_no_articles(facts: Facts, stats: Mapping[str, Any], limits: Limits) -> str | None:
    if facts.mode == "full" and not facts.stopped and _int(stats, S.PAGES_ARTICLE) == 0 and not any(
        k.startswith(S.DROPPED_PREFIX) for k in stats):
        return "no article page fetched in mode=full"
    return None


def check_errors(facts: Facts, stats: Mapping[str, Any], limits: Limits) -> str | None:
    errors = _int(stats, S.SCRAPY_LOG_ERRORS) + _int(stats, S.SCRAPY_LOG_CRITICAL) - _int(stats, S.STOP_ERRORS)
    return f"{errors} ERROR log records" if errors > 0 else None


def check_spider_exceptions(facts: Facts, stats: Mapping[str, Any], limits: Limits) -> str | None:
    count = spider_exceptions(stats)
    return f"{count} spider exceptions" if count > limits.max_spider_exceptions else None


def check_empty_listings(facts: Facts, stats: Mapping[str, Any], limits: Limits) -> str | None:
    empty = _int(stats, S.LISTING_EMPTY)
    if empty > limits.max_empty_listings:
        return f"{empty} listing pages answered 200 without article links"
    return None


def check_dropped(facts: Facts, stats: Mapping[str, Any], limits: Limits) -> str | None:
    # Article pages: items the spider yielded, plus pages it dropped itself (broken pages,
    # incomplete multi-page posts); pipeline drops are among the yielded items already.
    total = dropped_count(stats)
    pages = _int(stats, S.PAGES_ARTICLE) + max(total - _int(stats, S.ITEMS_DROPPED_BY_PIPELINE), 0)
    # A pending page a pipeline dropped again was judged by the run that first met it.
    dropped = total - _int(stats, S.PENDING_DROPPED_AGAIN)
    if limits.too_many(dropped, pages, limits.max_dropped_ratio):
        return f"{dropped} of {pages} article pages dropped (> {limits.max_dropped_ratio:.0%})"
    return None


def check_coverage(facts: Facts, stats: Mapping[str, Any], limits: Limits) -> str | None:
    problems = []
    for name, minimum in limits.min_coverage.items():
        judged, present = _int(stats, S.ITEMS_JUDGED), _int(stats, S.with_field(name))
        if limits.too_many(judged - present, judged, round(1 - minimum, 9)):  # 1 - 0.9 == 0.09999999999999998
            problems.append(f"{name} coverage {present}/{judged} (< {minimum:.0%})")
    return "; ".join(problems) or None


def check_failed_requests(facts: Facts, stats: Mapping[str, Any], limits: Limits) -> str | None:
    failed, requests = failed_count(stats), requests_count(stats)
    if limits.too_many(failed, requests, limits.max_failed_ratio):
        return f"{failed} of {requests} requests failed after all retries (> {limits.max_failed_ratio:.0%})"
    return None


def check_invalid_items(facts: Facts, stats: Mapping[str, Any], limits: Limits) -> str | None:
    """Items that break the JSON Schema (spidermon's ``ItemValidationPipeline``; no
    count when it is off)."""
    invalid = _int(stats, S.SPIDERMON_INVALID_ITEMS)
    if invalid <= limits.max_invalid_items:
        return None
    # spidermon/validation/fields/errors/<error>/<field>
    fields = sorted({key.rsplit("/", 1)[1] for key in stats
                     if key.startswith(S.SPIDERMON_FIELD_ERRORS) and "/" in key[len(S.SPIDERMON_FIELD_ERRORS):]})
    return (f"{invalid} of {_int(stats, S.SPIDERMON_VALIDATED_ITEMS)} items failed JSON Schema validation"
            + (f" ({', '.join(fields)})" if fields else ""))


def check_site_coverage(facts: Facts, stats: Mapping[str, Any], limits: Limits) -> str | None:
    """A full or check run that ran to its end, without ``since``: the posts its sitemaps list that
    are not in the dataset (pending, dead, not articles, never fetched), or that it could
    not tell (a post sitemap it asked was not read)."""
    if facts.finish_reason != "finished" or facts.stopped or facts.since is not None:
        return None
    if _int(stats, S.COVERAGE_UNKNOWN):
        return "site coverage unknown: a post sitemap was not read"
    listed, present = _int(stats, S.coverage("listed")), _int(stats, S.coverage("in_dataset"))
    if limits.too_many(listed - present, listed, round(1 - limits.min_site_coverage, 9)):
        return (f"site coverage {present}/{listed} (< {limits.min_site_coverage:.1%}): posts the sitemaps list are "
                "missing from the dataset (newsspider coverage lists them)")
    return None


Check = Callable[[Facts, Mapping[str, Any], Limits], "str | None"]

#: Every check, in the order the summary names the problems.
CHECKS: tuple[Check, ...] = (
    check_stopped, check_archive, check_finish_reason, check_unreachable, check_moved, check_blocked,
    check_wrong_base, check_robots, check_no_articles, check_errors, check_spider_exceptions, check_empty_listings,
    check_dropped, check_coverage, check_failed_requests, check_invalid_items, check_site_coverage,
)


#: The checks that still speak when ``NEWSSPIDER_HEALTH_ENABLED`` is off: only a stopped
#: run is unhealthy then (the exit status and the spidermon monitors agree).
ALWAYS_ON: tuple[Check, ...] = (check_stopped,)


def judge(facts: Facts, stats: Mapping[str, Any], limits: Limits, checks: tuple[Check, ...] = CHECKS) -> Verdict:
    problems = [p for check in checks if (p := check(facts, stats, limits))]
    return Verdict(ok=not problems, problems=problems)
