"""The health thresholds at their boundaries: every ratio check of
``newsspider.crawl.report.health`` just under, at and just over its limit, and
``NEWSSPIDER_HEALTH_MIN_BAD``.

Each check is called as ``health.judge`` calls it: with the run's ``Facts``, the crawl
stats and the ``Limits`` read from the project's settings.  A ratio
threshold trips only when the share of bad ones is *above* the limit ("at" is healthy) and
at least ``min_bad`` are bad.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import log_text, read_jsonl, run_crawl, summary_line
from scrapy.utils.project import get_project_settings
from sitegen import generate_site, local_path

from newsspider.crawl.report import health
from newsspider.crawl.report import stats as S
from newsspider.dev.devserver import FaultPlan, FaultRule, MirrorServer

#: The project's thresholds, as a crawl reads them (docs/cron.md, Exit status).
LIMITS = health.Limits.from_settings(get_project_settings())


def test_the_documented_defaults() -> None:
    """The boundaries below are computed from these; docs/cron.md promises them."""
    assert LIMITS.max_dropped_ratio == 0.10
    assert LIMITS.max_failed_ratio == 0.05
    assert LIMITS.max_blocked_ratio == 0.5
    assert health.MOVED_RATIO == 0.5
    assert LIMITS.min_bad == 2
    assert dict(LIMITS.min_coverage) == {"title": 0.99, "published": 0.99, "body": 0.99, "authors": 0.90}


def a_run(**facts: Any) -> health.Facts:
    defaults = {"mode": "incremental", "finish_reason": "finished", "stopped": None, "archive_problem": None,
                "home": None, "home_url": "https://georgiatoday.ge/"}
    return health.Facts(**{**defaults, **facts})


def coverage(judged: int, present: dict[str, int]) -> dict[str, int]:
    """The stats of ``judged`` items, ``present[field]`` of them with the field."""
    return {S.ITEMS_JUDGED: judged, **{S.with_field(name): n for name, n in present.items()}}


def with_limits(**changes: Any) -> health.Limits:
    return health.Limits(**{**LIMITS.__dict__, **changes})


# --- dropped articles (NEWSSPIDER_HEALTH_MAX_DROPPED_RATIO = 0.10) -----------------------------
# (dropped, article pages, trips): 3 of 31 is under 10 %, 3 of 30 is 10 %, 3 of 29 is over.
BOUNDARY_DROPPED = [(3, 31, False), (3, 30, False), (3, 29, True)]


@pytest.mark.parametrize(("dropped", "pages", "trips"), BOUNDARY_DROPPED, ids=["under", "at", "over"])
def test_dropped_by_the_spider_at_the_boundary(dropped: int, pages: int, trips: bool) -> None:
    """Pages the spider dropped itself (truncated …) are article pages it did not count."""
    stats = {S.PAGES_ARTICLE: pages - dropped, S.dropped("truncated_page"): dropped,
             S.DUPLICATE: 50}  # duplicates of an emitted article are no trouble
    problem = health.check_dropped(a_run(), stats, LIMITS)
    if trips:
        assert problem == f"{dropped} of {pages} article pages dropped (> 10%)"
    else:
        assert problem is None


@pytest.mark.parametrize(("dropped", "pages", "trips"), BOUNDARY_DROPPED, ids=["under", "at", "over"])
def test_dropped_by_a_pipeline_at_the_boundary(dropped: int, pages: int, trips: bool) -> None:
    """Items a pipeline dropped are among the article pages already counted."""
    stats = {S.PAGES_ARTICLE: pages, S.dropped("missing_authors"): dropped, S.ITEMS_DROPPED_BY_PIPELINE: dropped}
    problem = health.check_dropped(a_run(), stats, LIMITS)
    assert (problem == f"{dropped} of {pages} article pages dropped (> 10%)") if trips else problem is None


def test_pending_pages_dropped_again_by_a_pipeline_are_not_this_runs_trouble() -> None:
    """A page broken for weeks (the same missing field every run) must not turn every run red."""
    stats = {S.PAGES_ARTICLE: 10, S.dropped("missing_authors"): 3, S.ITEMS_DROPPED_BY_PIPELINE: 3}
    assert health.check_dropped(a_run(), stats, LIMITS) == "3 of 10 article pages dropped (> 10%)"
    assert health.check_dropped(a_run(), {**stats, S.PENDING_DROPPED_AGAIN: 3}, LIMITS) is None


def test_duplicates_are_not_dropped_articles() -> None:
    assert health.dropped_count({S.DUPLICATE: 9, S.dropped("missing_title"): 2}) == 2


# --- coverage (NEWSSPIDER_HEALTH_MIN_COVERAGE: authors 0.90, title 0.99) -------------------------
@pytest.mark.parametrize(("present", "judged", "trips"), [(19, 21, False), (18, 20, False), (17, 19, True)],
                         ids=["under", "at", "over"])
def test_authors_coverage_at_the_boundary(present: int, judged: int, trips: bool) -> None:
    """Authors on 18 of 20 items is 90 %: not below the 0.90 minimum."""
    stats = coverage(judged, {"title": judged, "published": judged, "body": judged, "authors": present})
    problem = health.check_coverage(a_run(), stats, LIMITS)
    assert (problem == f"authors coverage {present}/{judged} (< 90%)") if trips else problem is None


@pytest.mark.parametrize(("present", "judged", "trips"), [(199, 201, False), (198, 200, False), (197, 199, True)],
                         ids=["under", "at", "over"])
def test_title_coverage_at_the_boundary(present: int, judged: int, trips: bool) -> None:
    stats = coverage(judged, {"title": present, "published": judged, "body": judged, "authors": judged})
    problem = health.check_coverage(a_run(), stats, LIMITS)
    assert (problem == f"title coverage {present}/{judged} (< 99%)") if trips else problem is None


@pytest.mark.parametrize(("present", "judged", "trips"), [(7, 9, False), (6, 8, False), (5, 7, True)],
                         ids=["under", "at", "over"])
def test_a_minimum_exact_in_binary_at_the_boundary(present: int, judged: int, trips: bool) -> None:
    """0.75: no rounding anywhere, so only ``>`` against ``>=`` decides "at"."""
    limits = with_limits(min_coverage={"body": 0.75})
    problem = health.check_coverage(a_run(), coverage(judged, {"body": present}), limits)
    assert (problem == f"body coverage {present}/{judged} (< 75%)") if trips else problem is None


# --- failed requests (NEWSSPIDER_HEALTH_MAX_FAILED_RATIO = 0.05) --------------------------------
def request_stats(failed: int, requests: int, retries: int, reason: str = "http_500") -> dict[str, int]:
    """Stats of a run with ``requests`` distinct requests, ``retries`` of them retried once
    more (Scrapy counts every download in ``downloader/request_count``)."""
    return {S.SCRAPY_REQUESTS: requests + retries, S.SCRAPY_RETRIES: retries,
            S.failed(reason): failed, "downloader/response_count": requests + retries}


@pytest.mark.parametrize(("failed", "requests", "trips"), [(2, 41, False), (2, 40, False), (2, 39, True)],
                         ids=["under", "at", "over"])
def test_failed_requests_at_the_boundary(failed: int, requests: int, trips: bool) -> None:
    """The share is of distinct requests: retries (here 12) do not dilute it."""
    stats = request_stats(failed, requests, retries=12)
    problem = health.check_failed_requests(a_run(), stats, LIMITS)
    if trips:
        assert problem == f"{failed} of {requests} requests failed after all retries (> 5%)"
    else:
        assert problem is None


def test_requests_are_counted_once_however_often_retried() -> None:
    assert health.requests_count({S.SCRAPY_REQUESTS: 52, S.SCRAPY_RETRIES: 12}) == 40


@pytest.mark.parametrize(("reason", "counted"), [
    ("http_500", True), ("http_503", True), ("http_429", True), ("TimeoutError", True),
    ("ConnectionRefusedError", True), ("http_404", False), ("http_410", False), ("http_403", False),
])
def test_which_failures_are_failed_requests(reason: str, counted: bool) -> None:
    """Dead links are not failures; refusals belong to the blocked check."""
    stats = request_stats(3, 10, retries=0, reason=reason)
    assert health.failed_count(stats) == (3 if counted else 0)
    assert (health.check_failed_requests(a_run(), stats, LIMITS) is not None) is counted


# --- blocked (NEWSSPIDER_HEALTH_MAX_BLOCKED_RATIO = 0.5) ----------------------------------------
def answer_stats(refused: dict[int, int], responses: int) -> dict[str, int]:
    stats = {"downloader/response_count": responses, S.SCRAPY_REQUESTS: responses}
    stats.update({f"{S.SCRAPY_RESPONSE_STATUS}{code}": n for code, n in refused.items()})
    return stats


@pytest.mark.parametrize(("refused", "responses", "trips"), [(10, 21, False), (10, 20, False), (10, 19, True)],
                         ids=["under", "at", "over"])
def test_blocked_at_the_boundary(refused: int, responses: int, trips: bool) -> None:
    stats = answer_stats({403: refused - 4, 429: 3, 401: 1}, responses)
    problem = health.check_blocked(a_run(home="ok"), stats, LIMITS)
    if trips:
        assert problem == f"blocked: {refused} of {responses} answers were 401/403/429"
    else:
        assert problem is None


def test_other_refusals_are_not_blocked() -> None:
    stats = answer_stats({404: 15, 503: 5}, 20)
    assert health.check_blocked(a_run(home="ok"), stats, LIMITS) is None


# --- moved (health.MOVED_RATIO = 0.5) ---------------------------------------------
def moved_stats(moved: int, requests: int, home: bool = False, to: str = "https://www.example.org") -> dict[str, Any]:
    return {S.SCRAPY_REQUESTS: requests, S.OFF_ORIGIN_REDIRECTS: moved, S.OFF_ORIGIN_TO: to,
            **({S.OFF_ORIGIN_HOME: 1} if home else {})}


@pytest.mark.parametrize(("moved", "requests", "trips"), [(10, 21, False), (10, 20, False), (10, 19, True)],
                         ids=["under", "at", "over"])
def test_moved_at_the_boundary(moved: int, requests: int, trips: bool) -> None:
    """The real site (no base_url): what to do is to report it."""
    problem = health.check_moved(a_run(), moved_stats(moved, requests), LIMITS)
    if trips:
        assert problem == (f"site moved: https://georgiatoday.ge → https://www.example.org ({moved} of {requests} "
                           "requests redirected there); report it: the spider crawls https://georgiatoday.ge")
    else:
        assert problem is None


def test_the_home_page_moving_is_enough_and_a_mirror_is_told_its_new_base_url() -> None:
    mirror = a_run(home_url="http://127.0.0.1:8000/")
    assert health.check_moved(mirror, moved_stats(1, 30, home=True, to="http://127.0.0.1:9000"), LIMITS) == (
        "site moved: http://127.0.0.1:8000 → http://127.0.0.1:9000 (the home page and 1 of 30 requests redirected "
        "there); if the mirror moved, crawl -a base_url=http://127.0.0.1:9000 (with a state of its own once this "
        "one holds articles: docs/cron.md, One dataset, one state)")
    assert health.check_moved(mirror, {S.SCRAPY_REQUESTS: 30}, LIMITS) is None


# --- NEWSSPIDER_HEALTH_MIN_BAD -------------------------------------------------------------------
def one_of_each(bad: int) -> dict[str, tuple[health.Facts, dict[str, Any]]]:
    """For each ratio check: ``bad`` bad ones, far above every ratio."""
    total = bad + 1
    full = {"title": total, "published": total, "body": total, "authors": total}
    return {
        "dropped": (a_run(), {S.PAGES_ARTICLE: 1, S.dropped("truncated_page"): bad}),
        "coverage": (a_run(), coverage(total, {**full, "title": 1})),
        "failed": (a_run(), request_stats(bad, total, retries=2)),
        # every answer refused (1 of 2 would be at the 0.5 ratio, not above it)
        "blocked": (a_run(home="ok"), answer_stats({403: bad}, bad)),
        "moved": (a_run(), moved_stats(bad, bad)),
    }


CHECKS = {"dropped": health.check_dropped, "coverage": health.check_coverage,
          "failed": health.check_failed_requests, "blocked": health.check_blocked, "moved": health.check_moved}


@pytest.mark.parametrize("check", sorted(CHECKS))
def test_min_bad_default_one_bad_page_is_not_a_problem(check: str) -> None:
    """One broken page of two is 50 %, yet one page: NEWSSPIDER_HEALTH_MIN_BAD = 2."""
    run, stats = one_of_each(1)[check]
    assert CHECKS[check](run, stats, LIMITS) is None
    run, stats = one_of_each(2)[check]
    assert CHECKS[check](run, stats, LIMITS) is not None


@pytest.mark.parametrize("check", sorted(CHECKS))
def test_min_bad_from_the_setting(check: str) -> None:
    """``-s NEWSSPIDER_HEALTH_MIN_BAD=…`` moves the count at which a ratio may trip."""
    settings = get_project_settings()
    settings.set("NEWSSPIDER_HEALTH_MIN_BAD", 1, priority="cmdline")
    one = health.Limits.from_settings(settings)
    assert one.min_bad == 1
    run, stats = one_of_each(1)[check]
    assert CHECKS[check](run, stats, one) is not None
    settings.set("NEWSSPIDER_HEALTH_MIN_BAD", 4, priority="cmdline")
    four = health.Limits.from_settings(settings)
    run, stats = one_of_each(3)[check]
    assert CHECKS[check](run, stats, four) is None  # 3 bad of 4: still under the count
    run, stats = one_of_each(4)[check]
    assert CHECKS[check](run, stats, four) is not None  # 4 bad: at the count, trips


def test_too_many_boundaries() -> None:
    limits = with_limits(min_bad=2)
    assert not limits.too_many(1, 2, 0.1)  # over the ratio, under the count
    assert limits.too_many(2, 3, 0.1)  # at the count, over the ratio
    assert not limits.too_many(2, 20, 0.1)  # at the ratio
    assert not limits.too_many(0, 0, 0.1)  # nothing to judge


# --- a real crawl: retried-then-failed requests -----------------------------------------------
def test_the_failed_share_counts_each_request_once_in_a_real_crawl(tmp_path: Path) -> None:
    """Three articles answer 500 until the retries are exhausted (1 + RETRY_TIMES=2 tries
    each).  The summary's "N of M requests failed" counts M = distinct requests: every
    download Scrapy made (``downloader/request_count``) minus its retries
    (``retry/count``, written by ``get_retry_request``), i.e. what the server saw minus the
    six repeated tries."""
    site = generate_site(tmp_path / "mirror", n_articles=20, per_page=5, term_archives=False, seed=5,
                         categories=["News", "Politics"])
    victims = site.article_urls[2:5]
    faults = FaultPlan([FaultRule(local_path(url), statuses=[500]) for url in victims])
    out = tmp_path / "out.jsonl"
    with MirrorServer(site.root, faults=faults) as server:
        result = run_crawl(server.base_url, out, "-s", "RETRY_TIMES=2", "-s", "NEWSSPIDER_RETRY_BASE_DELAY=0",
                           "-s", "NEWSSPIDER_RETRY_JITTER=0")
        requests = server.requests.snapshot()
    for url in victims:
        assert [r.status for r in requests if r.path == local_path(url)] == [500, 500, 500], url
    distinct = len(requests) - 2 * len(victims)
    assert distinct == len({r.path for r in requests}), "only the victims were asked twice"
    line = summary_line(out.with_suffix(".log"))
    assert result.returncode == 1, line
    # the three posts the sitemap lists are missing from the dataset too: 17/20 is under 99 %
    assert (f'health=unhealthy problems="3 of {distinct} requests failed after all retries (> 5%); site coverage '
            '17/20 (< 99.0%): posts the sitemaps list are missing from the dataset (newsspider coverage lists them)"'
            ) in line, line
    assert f" failed_requests=3 dead_links=0 requests={distinct} " in line, line
    log = log_text(out.with_suffix(".log"))
    assert f"'{S.SCRAPY_RETRIES}': 6," in log and f"'{S.SCRAPY_REQUESTS}': {len(requests)}," in log
    assert sorted(item["url"] for item in read_jsonl(out)) == sorted(set(site.article_urls) - set(victims))


def test_each_spider_exception_counts_once() -> None:
    """Scrapy counts an exception in a callback twice: under ``spider_exceptions/count``
    and under its type; the limit and the summary see each one once."""
    stats = {"spider_exceptions/count": 3, "spider_exceptions/RecursionError": 2, "spider_exceptions/KeyError": 1}
    assert health.spider_exceptions(stats) == 3
    assert health.check_spider_exceptions(a_run(), stats, LIMITS) == "3 spider exceptions"
    assert health.check_spider_exceptions(a_run(), stats, with_limits(max_spider_exceptions=3)) is None
