"""Every stat name the project writes or reads, spelled once.

Counters of ours live under ``newsspider/``; the few Scrapy stats the health check reads
are named here too, so a typo is an ``AttributeError``, not a check that never trips.
Families with a variable last part (``dropped/<reason>``) are functions.
"""

from __future__ import annotations

#: Prefix of every stat the project counts.
STAT = "newsspider"

# --- pages the spider handled -------------------------------------------------------------
PAGES_ARTICLE = f"{STAT}/pages/article"  # article pages turned into an item (before pipelines)
PAGES_LISTING = f"{STAT}/pages/listing"
UNCHANGED_SKIPPED = f"{STAT}/unchanged_skipped"  # known article fetched again, content unchanged
SITEMAP_ENTRIES = f"{STAT}/sitemap/entries"  # post URLs listed by the post sitemaps
SITEMAP_CHANGED = f"{STAT}/sitemap/changed"
SITEMAP_UNCHANGED = f"{STAT}/sitemap/unchanged_skipped"  # child sitemaps the index says are unchanged
NOT_MODIFIED = f"{STAT}/conditional/not_modified"  # 304 answers to revalidated pages
FEED_NEW = f"{STAT}/feed/new"
LINKS_OFFSITE = f"{STAT}/links/offsite"
LINKS_INVALID = f"{STAT}/links/invalid"
LISTING_EMPTY = f"{STAT}/listing/empty"
LISTING_NO_POSTS = f"{STAT}/listing/no_posts"
LISTING_STOPPED_MAX_PAGES = f"{STAT}/listing/stopped_max_pages"

# --- items judged by the health check (exported or dropped by a pipeline) -------------------
ITEMS_JUDGED = f"{STAT}/items/judged"
ITEMS_DROPPED_BY_PIPELINE = f"{STAT}/items/dropped_by_pipeline"
PENDING_DROPPED_AGAIN = f"{STAT}/pending/dropped_again"  # a pending page a pipeline dropped again
STOP_ERRORS = f"{STAT}/stop_errors"  # ERROR records of the run's own stop (its verdict names it)

# --- what the run exported (recorded in the state at the commit point) ---------------------
EXPORTED_NEW = f"{STAT}/state/new"
EXPORTED_UPDATED = f"{STAT}/state/updated"
COMMITTED = f"{STAT}/state/committed"
RECOVERED = f"{STAT}/state/recovered"

# --- the post sitemaps against the dataset (a full run, after its commit point) -------------
COVERAGE_UNKNOWN = f"{STAT}/coverage/unknown"  # a full run that could not read every post sitemap

# --- pages tried again (pending in the state after a transient failure) --------------------
PENDING_RETRIED = f"{STAT}/pending/retried"
PENDING_RESOLVED = f"{STAT}/pending/resolved"
PENDING_FAILED_AGAIN = f"{STAT}/pending/failed_again"
PENDING_GIVEN_UP = f"{STAT}/pending/given_up"

# --- optional discovery sources (the feed) ---------------------------------------------------
OPTIONAL_FAILED = f"{STAT}/optional/failed"

# --- requests ----------------------------------------------------------------------------
RETRY_AFTER = f"{STAT}/retry/retry_after"
RETRY_WAITED = f"{STAT}/retry/waited_seconds"
FAILED_URLS = f"{STAT}/failed_urls"
ROBOTS_UNAVAILABLE = f"{STAT}/robotstxt/unavailable"
ROBOTS_REUSED = f"{STAT}/robotstxt/reused"
ROBOTS_CRAWL_DELAY = f"{STAT}/robotstxt/crawl_delay"
THROTTLE_SLOWDOWNS = f"{STAT}/throttle/slowdowns"
THROTTLE_MAX_DELAY = f"{STAT}/throttle/max_delay"
OFFSITE_ORIGIN = f"{STAT}/skipped/other_origin"
# Redirects to another origin than the site's (another host, scheme or port), followed or not:
OFF_ORIGIN_REDIRECTS = f"{STAT}/redirects/off_origin"
OFF_ORIGIN_HOME = f"{STAT}/redirects/off_origin_home"  # 1: the home page redirected there
OFF_ORIGIN_TO = f"{STAT}/redirects/off_origin_to"  # a string: where to (the home page's, or the most common)

# --- Scrapy's own stats that the health check reads ----------------------------------------
SCRAPY_REQUESTS = "downloader/request_count"
SCRAPY_RETRIES = "retry/count"  # written by get_retry_request
SCRAPY_LOG_ERRORS = "log_count/ERROR"
SCRAPY_SPIDER_EXCEPTIONS = "spider_exceptions/count"  # and spider_exceptions/<type>
SCRAPY_LOG_CRITICAL = "log_count/CRITICAL"
SCRAPY_RESPONSE_STATUS = "downloader/response_status_count/"

# --- spidermon's item validation (ItemValidationPipeline, newsspider/crawl/report/monitors.py) --------
SPIDERMON_VALIDATED_ITEMS = "spidermon/validation/items"
SPIDERMON_INVALID_ITEMS = "spidermon/validation/items/errors"
SPIDERMON_FIELD_ERRORS = "spidermon/validation/fields/errors/"  # + <error>/<field>


def dropped(reason: str) -> str:
    """An article page or item that gave no article, for ``reason`` (``missing_title`` …)."""
    return f"{STAT}/dropped/{reason}"


def skipped(reason: str) -> str:
    """A page that is not an article, or not wanted (``not_a_post``, ``not_html`` …)."""
    return f"{STAT}/skipped/{reason}"


def failed(reason: str) -> str:
    """A request that gave up: ``http_<status>`` or the exception's name."""
    return f"{STAT}/failed/{reason}"


def with_field(name: str) -> str:
    """Judged items with a non-empty ``name`` (title, published, body, authors)."""
    return f"{STAT}/items/with_{name}"


def coverage(kind: str) -> str:
    """Posts the post sitemaps list (``listed``), those in the dataset (``in_dataset``),
    and those missing, by why (``pending``, ``dead``, ``not_article``, ``never_fetched``)."""
    return f"{STAT}/coverage/{kind}"


def tombstone(reason: str) -> str:
    """Tombstones emitted, by reason (``http_404`` … ``moved``)."""
    return f"{STAT}/tombstones/{reason}"


#: Answers that would have been tombstones while the home page had not answered (or failed).
TOMBSTONES_HELD = f"{STAT}/tombstones/held"
#: Articles of the dataset asked again: every one in check mode, and in any mode those a
#: re-read post sitemap no longer lists.
CHECKED_ARTICLES = f"{STAT}/check/articles"
CHECKED_UNLISTED = f"{STAT}/check/unlisted"


def listing_stopped(reason: str) -> str:
    return f"{STAT}/listing/stopped_{reason}"


DROPPED_PREFIX = f"{STAT}/dropped/"
FAILED_PREFIX = f"{STAT}/failed/"
DUPLICATE = dropped("duplicate")


def is_dead_status(status: int) -> bool:
    """A final answer that the page is gone: 404 and 410.  Other 4xx (403 of a bot wall,
    401, 451 …) and 5xx/429 may change: the page stays pending and later runs ask again."""
    return status in (404, 410)
