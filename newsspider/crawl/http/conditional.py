"""Conditional requests: an unchanged cron run costs what changed, not what exists.

Sitemaps, the sitemap index, the feed and the first page of each category are requested
with ``If-None-Match`` / ``If-Modified-Since`` from the validators of the last run that did
its job (kept in the state's ``validators`` table, written at the commit point only: a
run that failed never makes a later one skip what it did not read).  A 304 costs no parse.
Children of the sitemap index are not requested at all while the index's ``<lastmod>`` for
them has not moved.  A ``mode=full`` run revalidates nothing and reads everything.
"""

from __future__ import annotations

from typing import Any

from newsspider.crawl.report import stats as S
from newsspider.crawl.run.run import Run
from newsspider.crawl.run.state import newer


def conditional(run: Run, url: str) -> dict[str, Any]:
    """Request arguments that revalidate ``url`` (a sitemap, the feed, a category's first
    page) against the validators of the last run that did its job: a 304 costs no parse."""
    etag, last_modified, _ = run.state.validators(url) if run.state is not None else (None, None, None)
    headers = {"If-None-Match": etag} if etag else {"If-Modified-Since": last_modified} if last_modified else {}
    if not run.incremental or not headers:
        return {"meta": {"validate": url}}
    return {"headers": headers, "meta": {"validate": url, "handle_httpstatus_list": [304]}}


def not_modified(run: Run, response: Any) -> bool:
    """True for a 304 (nothing to read); remembers a 200's validators for the commit."""
    url = response.meta.get("validate")
    if url is None:
        return False
    if response.status == 304:
        run._inc(S.NOT_MODIFIED)
        return True
    etag, modified = response.headers.get(b"ETag"), response.headers.get(b"Last-Modified")
    if etag or modified:
        old = run.validators.get(url, (None, None, None))
        run.validators[url] = (etag.decode("latin-1") if etag else None,
                                modified.decode("latin-1") if modified else None, old[2])
    return False


def child_sitemap_changed(run: Run, url: str, lastmod: str | None) -> bool:
    """A child of the sitemap index is read again only when the index's ``<lastmod>``
    for it moved (incremental runs; a full run reads everything)."""
    canonical = run.origins.to_canonical(url)
    old = run.validators.get(canonical, (None, None, None))
    run.validators[canonical] = (old[0], old[1], lastmod)
    known = run.state.validators(canonical)[2] if run.state is not None else None
    if run.incremental and lastmod and known and not newer(lastmod, known):
        run._inc(S.SITEMAP_UNCHANGED)
        return False
    return True
