"""What a failed request means for the run: dead (final), pending, or not sent."""

from __future__ import annotations

import logging
from typing import Any

from scrapy.exceptions import IgnoreRequest
from twisted.python.failure import Failure

from newsspider.crawl.report import stats as S
from newsspider.crawl.run.ledger import Ledger
from newsspider.crawl.run.policy import Policy

logger = logging.getLogger(__name__)


class PageTooLarge(IgnoreRequest):
    """A page over ``DOWNLOAD_MAXSIZE``, as sent or once decompressed
    (``newsspider.crawl.http.size``): not retried; a broken page, pending."""


def request_error(run: Ledger, failure: Failure) -> None:
    """A request's errback (``failure.request`` and, for an HTTP error, its response);
    their URLs are canonical (``newsspider.crawl.http.mirror``)."""
    request = getattr(failure, "request", None)
    response = getattr(failure.value, "response", None)
    fetched = response.url if response is not None else request.url if request is not None else "?"
    record_error(run, fetched, dict(request.meta) if request is not None else {}, fetched,
                 status=response.status if response is not None else None,
                 ignored=bool(failure.check(IgnoreRequest)), too_large=bool(failure.check(PageTooLarge)),
                 error=(failure.type.__name__ if failure.type else "unknown", failure.getErrorMessage()))


def record_error(run: Ledger, url: str, meta: dict[str, Any], fetched: str, *, status: int | None, ignored: bool,
                 error: tuple[str, str], too_large: bool = False) -> None:
    """A request's errback: a dead link (final), a refusal or failure after all
    retries (pending), a page too large (dropped, pending), a request not sent
    (robots.txt, another origin)."""
    pending_url = meta.get("recheck") or url
    start_page = meta.get("start_page")
    if meta.get("post_page"):
        run.broken(set(meta.get("first_urls") or [url]), "multipage_incomplete",
                    f"{fetched} (page {meta['post_page']})")
    elif status is not None:
        if start_page:
            run.start_pages[start_page] = f"http_{status}"
        if S.is_dead_status(status):
            logger.warning("Dead link (HTTP %s): %s", status, fetched)
            run.inc(S.failed(f"http_{status}"))
            run.dead(pending_url, status)
        else:
            run.request_failed(pending_url, f"http_{status}", S.failed(f"http_{status}"),
                                f"Request failed (HTTP {status}): {fetched}; asked again next run")
    elif too_large:
        run.broken({pending_url}, "too_large", fetched)
    elif ignored:
        if start_page:
            run.start_pages[start_page] = "robots" if "robots" in error[1].lower() else "ignored"
        logger.info("Request not sent: %s (%s)", fetched, error[1])
    else:
        if start_page:
            run.start_pages[start_page] = f"error:{error[1]}"
        run.request_failed(pending_url, error[0], S.failed(error[0]),
                            f"Request failed: {fetched} ({error[1]}); asked again next run")


def feed_error(run: Ledger, policy: Policy, failure: Failure) -> None:
    """The optional feed failed after its one retry (or none)."""
    response = getattr(failure.value, "response", None)
    why = f"HTTP {response.status}" if response is not None else failure.getErrorMessage()
    request = getattr(failure, "request", None)
    url = request.url if request is not None else "/feed/"
    run.feed_failed(f"The feed {url} failed ({why})", policy.feed_failing_since)
