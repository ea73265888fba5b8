"""Conditional requests: an unchanged cron run costs what changed, not what exists.

Sitemaps, the sitemap index, the feed and the first page of each category are requested
with ``If-None-Match`` / ``If-Modified-Since`` from the validators of the last run that did
its job (kept in the state's ``validators`` table, written at the commit point only: a
run that failed never makes a later one skip what it did not read).  A 304 costs no parse.
Children of the sitemap index are not requested at all while the index's ``<lastmod>`` for
them has not moved.  A ``mode=full`` (or ``check``) run revalidates none of these and reads
them all; a ``check`` run asks each article of the dataset whether it changed since it
was last seen (``recheck``).
"""

from __future__ import annotations

from datetime import timezone
from email.utils import format_datetime
from typing import Any

from newsspider.crawl.report import stats as S
from newsspider.crawl.run.ledger import Ledger
from newsspider.crawl.run.policy import Policy
from newsspider.normalize import parse_moment


def conditional(policy: Policy, ledger: Ledger, url: str) -> dict[str, Any]:
    """Request arguments that revalidate ``url`` (a sitemap, the feed, a category's first
    page) against the validators of the last run that did its job: a 304 costs no parse."""
    state = ledger.state
    etag, last_modified, _ = state.validators(url) if state is not None else (None, None, None)
    headers = {"If-None-Match": etag} if etag else {"If-Modified-Since": last_modified} if last_modified else {}
    if not policy.incremental or not headers:
        return {"meta": {"validate": url}}
    return {"headers": headers, "meta": {"validate": url, "handle_httpstatus_list": [304]}}


def not_modified(run: Ledger, response: Any) -> bool:
    """True for a 304 (nothing to read); remembers a 200's validators for the commit."""
    url = response.meta.get("validate")
    if url is None:
        return False
    if response.status == 304:
        run.inc(S.NOT_MODIFIED)
        return True
    etag, modified = response.headers.get(b"ETag"), response.headers.get(b"Last-Modified")
    if etag or modified:
        old = run.validators.get(url, (None, None, None))
        run.validators[url] = (etag.decode("latin-1") if etag else None,
                                modified.decode("latin-1") if modified else None, old[2])
    return False


def child_sitemap_changed(policy: Policy, run: Ledger, url: str, lastmod: str | None) -> bool:
    """A child of the sitemap index is read again only when the index's ``<lastmod>``
    for it moved — forward (a post added or edited) or back (its newest post deleted) —
    (incremental runs; a full run reads everything)."""
    old = run.validators.get(url, (None, None, None))
    run.validators[url] = (old[0], old[1], lastmod)
    known = run.state.validators(url)[2] if run.state is not None else None
    if policy.incremental and lastmod and known and lastmod == known:
        run.inc(S.SITEMAP_UNCHANGED)
        return False
    return True


def recheck(policy: Policy, ledger: Ledger, url: str) -> dict[str, Any]:
    """Request arguments that ask an article of the dataset whether it changed: its ETag
    when a check run saved one, else ``If-Modified-Since`` its ``modified`` (or
    ``published``) time in the dataset — a 304 says the page is no newer than what we have."""
    record = policy.lookup(url)
    etag, last_modified, _ = ledger.state.validators(url) if ledger.state is not None else (None, None, None)
    since = parse_moment(record.modified or record.published) if record is not None else None
    if etag:
        headers = {"If-None-Match": etag}
    elif last_modified:
        headers = {"If-Modified-Since": last_modified}
    elif since is not None:
        headers = {"If-Modified-Since": format_datetime(since.astimezone(timezone.utc), usegmt=True)}
    else:
        return {}
    return {"headers": headers, "meta": {"validate": url, "handle_httpstatus_list": [304]}}
