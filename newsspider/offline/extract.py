"""The crawl's own extraction over archived pages: ``extract_page`` (a candidate page 1 as
read) and ``extract_post`` (a multi-page post, with every record of the archive known)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from scrapy.http import Response

from newsspider.extraction import ArticlePage, NotAnArticle
from newsspider.extraction.loader import load_article
from newsspider.extraction.post import article_page, next_page_of_post
from newsspider.items import ArticleItem
from newsspider.normalize import canonical_url, is_site_url
from newsspider.offline.index import Archive, Entry
from newsspider.offline.reader import Reader


@dataclass
class Result:
    """What one candidate record gave: an item, or why not."""

    entry: Entry  # the post's page 1, the candidate record
    item: ArticleItem | None = None
    skipped: str | None = None  # not_article reason / later_page / missing_revisit_original / ...
    last: Entry | None = None  # the post's last page (None: page 1, or not read)
    deferred: bool = False  # a multi-page post: for ``extract_post``

    @property
    def fetched(self) -> datetime:
        """WARC-Date of the last page (the item's ``crawled_at``)."""
        return (self.last or self.entry).date

    @property
    def order(self) -> tuple[int, int]:
        """Where the crawl emitted the item: the archive position of the post's last page."""
        return (self.last or self.entry).position


def _later_page(archive: Archive, canonical: str, after: Entry, number: int) -> Entry | None:
    """The archived record of page ``number`` of a post whose previous page is ``after``:
    of the records of that URL archived as page ``number`` (``X-Newsspider-Post-Page``; any
    record of the URL when none was, as in archives written before the header), the first
    one fetched after ``after`` in the same run, else the nearest in time."""
    options = [e for e in archive.by_canonical.get(canonical, ()) if 200 <= e.status < 300]
    options = [e for e in options if e.post_page == number] or options
    if not options:
        return None
    same_run = [e for e in options if e.slot.file == after.slot.file and e.slot.offset > after.slot.offset]
    if same_run:
        return min(same_run, key=lambda e: e.slot.offset)
    return min(options, key=lambda e: abs((e.date - after.date).total_seconds()))


def _first_page(response: Response | None, result: Result) -> ArticlePage | None:
    """Page 1 of a post as the crawl's article callback takes it (``article_page``), or
    None with the reason in ``result.skipped``."""
    if response is None:
        result.skipped = "missing_revisit_original"
        return None
    try:
        return article_page(response, result.entry.canonical, first=True)
    except NotAnArticle as exc:
        result.skipped = exc.reason
        return None


def extract_page(entry: Entry, response: Response | None) -> Result:
    """The item of a single-page post whose page 1 is ``entry`` (its ``response``: None
    for a revisit whose original is not in the inputs); a multi-page post is ``deferred``
    to ``extract_post`` (its further pages may be anywhere in the archive)."""
    result = Result(entry)
    page = _first_page(response, result)
    if page is None:
        return result
    if next_page_of_post([page]) is not None:
        result.deferred = True
        return result
    result.item = load_article([page], crawled_at=entry.date)
    return result


def extract_post(reader: Reader, archive: Archive, entry: Entry) -> Result:
    """The item of the post whose page 1 is ``entry``, further pages joined from the
    archive (``_later_page``: the record archived as that page of the post)."""
    result = Result(entry)
    first = reader.read(entry.slot)
    page = _first_page(reader.response(first) if first is not None else None, result)
    if page is None:
        return result
    pages = [page]
    last = entry
    while (href := next_page_of_post(pages)) is not None:
        canonical = canonical_url(href) if is_site_url(href) else None
        if canonical is None:
            break
        following = _later_page(archive, canonical, last, len(pages) + 1)
        record = reader.read(following.slot) if following is not None else None
        more = reader.response(record) if record is not None else None
        try:
            if following is None or more is None:
                raise NotAnArticle("multipage_incomplete")
            pages.append(article_page(more, following.canonical, first=False))  # as the crawl takes it
        except NotAnArticle:
            result.skipped = "multipage_incomplete"
            return result
        last = following
    result.item = load_article(pages, crawled_at=last.date)
    result.last = last
    return result
