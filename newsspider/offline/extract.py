"""The crawl's own extraction over archived pages: ``extract_task`` (a worker's job, one
candidate page 1) and ``extract_entry`` (a multi-page post or an unresolved revisit, with
the whole archive indexed)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from scrapy.http import Response

from newsspider.extraction import ArticlePage, NotAnArticle
from newsspider.extraction.loader import load_article
from newsspider.extraction.post import article_page, next_page_of_post
from newsspider.items import ArticleItem
from newsspider.offline.reader import Reader, make_response
from newsspider.offline.scan import Archive, Entry, Task
from newsspider.urls import OriginMap


def warc_datetime(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc)


@dataclass
class Result:
    """What one candidate record gave: an item, or why not."""

    entry: Entry  # the post's page 1, the candidate record
    item: ArticleItem | None = None
    skipped: str | None = None  # not_article reason / later_page / missing_revisit / ...
    last: Entry | None = None  # the post's last page (None: page 1, or not read)
    deferred: bool = False

    @property
    def fetched(self) -> str:
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
    same_run = [e for e in options if e.file == after.file and e.offset > after.offset]
    if same_run:
        return min(same_run, key=lambda e: e.offset)
    return min(options, key=lambda e: abs(warc_datetime(e.date).timestamp() - warc_datetime(after.date).timestamp()))


def _first_page(response: Response | None, origins: OriginMap, result: Result) -> ArticlePage | None:
    """Page 1 of a post as the crawl's article callback takes it (``article_page``), or
    None with the reason in ``result.skipped``."""
    if response is None:
        result.skipped = "missing_revisit_original"
        return None
    try:
        return article_page(response, origins.to_canonical(response.url), first=True)
    except NotAnArticle as exc:
        result.skipped = exc.reason
        return None


def extract_task(task: Task) -> Result:
    """A worker's job: the item of a single-page post; a multi-page post (its further
    pages may be anywhere in the archive) or an unresolved revisit is ``deferred`` to
    ``extract_entry`` once the whole archive is indexed."""
    entry = task.entry
    result = Result(entry)
    if task.body is None:
        result.deferred = True
        return result
    page = _first_page(make_response(entry, task.headers, task.body), task.origins, result)
    if page is None:
        return result
    if next_page_of_post([page]) is not None:
        result.deferred = True
        return result
    result.item = load_article([page], crawled_at=warc_datetime(entry.date))
    return result


def extract_entry(reader: Reader, entry: Entry) -> Result:
    """The item of the post whose page 1 is ``entry``, further pages joined from the
    archive (``_later_page``: the record archived as that page of the post)."""
    archive = reader.archive
    origins = archive.origins[entry.file]
    result = Result(entry)
    page = _first_page(reader.response(entry), origins, result)
    if page is None:
        return result
    pages = [page]
    last = entry
    while (href := next_page_of_post(pages)) is not None:
        if not origins.is_site(href):
            break
        try:
            canonical = origins.to_canonical(href)
        except ValueError:
            break
        following = _later_page(archive, canonical, last, len(pages) + 1)
        more = reader.response(following) if following is not None else None
        try:
            if following is None or more is None:
                raise NotAnArticle("multipage_incomplete")
            pages.append(article_page(more, origins.to_canonical(more.url), first=False))  # as the crawl takes it
        except NotAnArticle:
            result.skipped = "multipage_incomplete"
            return result
        last = following
    result.item = load_article(pages, crawled_at=warc_datetime(last.date))
    result.last = last
    return result
