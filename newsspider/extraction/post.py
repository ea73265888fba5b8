"""A post across its pages: which page of a post an article callback received (the first
one, checked to be an article, or page N of a post being read), the next page to read, and
the fields that span the pages (``Post``).  The crawl (``spiders/georgiatoday.py``) and
``reextract`` (``offline/extract.py``) both decide with these."""

from __future__ import annotations

from collections.abc import Sequence

from scrapy.http import Response, TextResponse

from newsspider.extraction.article import ArticlePage, NotAnArticle


class Post:
    """The pages of one post, page 1 first: the fields that span them."""

    def __init__(self, pages: Sequence[ArticlePage]) -> None:
        self._parts = [page.body_parts() for page in pages]

    def body(self) -> list[str]:
        """The paragraphs of every page in order, without standalone credit lines."""
        return [paragraph for paragraphs, _ in self._parts for paragraph in paragraphs]

    def image_credit(self) -> list[str | None]:
        """The trailing credit line of each page, the last page's first."""
        return [credit for _, credit in reversed(self._parts)]


def next_page_of_post(pages: Sequence[ArticlePage]) -> str | None:
    """URL of page N+1 of a multi-page post (``/<slug>/N+1/``) from the page links of the
    last page read, if the post has one."""
    wanted = str(len(pages) + 1)
    for href in pages[-1].page_links():
        if href.strip().rstrip("/").rsplit("/", 1)[-1] == wanted:
            return href
    return None


class NotHtml(NotAnArticle):
    """A response that is not text (an image, a PDF …): not parsed at all."""

    def __init__(self, response: Response) -> None:
        super().__init__("not_html", str(response.headers.get("Content-Type")))


class LaterPage(NotAnArticle):
    """Page N > 1 of a multi-page post (``/<slug>/N/``) met on its own: the post starts at
    its first page, ``first_url`` (None when the page does not link it)."""

    def __init__(self, page: ArticlePage) -> None:
        super().__init__("later_page", f"page {page.page_number()}")
        candidates = page.url_candidates()
        self.first_url = candidates[-1] if candidates else None


def article_page(response: Response, url: str, *, first: bool) -> ArticlePage:
    """The page of a post that the article callback received (``url``: its canonical URL),
    as the crawl and ``reextract`` take it.  Raises ``NotAnArticle``: ``NotHtml`` for a
    response that is not text; for a ``first`` page (not one asked as page N of a post being
    read) also a reason of ``check_article``, or ``LaterPage``."""
    if not isinstance(response, TextResponse):
        raise NotHtml(response)
    page = ArticlePage.from_response(response, url)
    if first:
        page.check_article()
        if page.page_number() > 1:
            raise LaterPage(page)
    return page
