"""Crawl stats shared by the spider, middlewares, pipelines and the cron extension."""

from __future__ import annotations

#: Prefix of every stat the project counts (``newsspider/dropped/<reason>`` …).
STAT = "newsspider"


def is_dead_status(status: int) -> bool:
    """A final HTTP answer saying the page is gone or refused (404, 410, 403 …): a dead
    link.  5xx and 429 are failures instead: the next run asks again."""
    return status < 500 and status != 429
