"""One adapter per extractor: HTML bytes of a post's pages → a normalized result.

Every adapter returns ``Result`` fields as the tool gives them (``None`` for a field the
tool does not have at all, so it is reported as n/a rather than as a miss). Multi-page
posts: metadata from page 1, the body is the tool's text of every page in order.
Peers that are not installed are reported unavailable, never fatal.
"""

from __future__ import annotations

import logging
import re
import sys
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from pages import REPO

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


@dataclass
class Result:
    title: str | None = None
    published: Any = None                 # str (ISO) or datetime, or None
    authors: list[str] | None = None
    categories: list[str] | None = None
    tags: list[str] | None = None
    paragraphs: list[str] = field(default_factory=list)
    error: str | None = None


def split_paragraphs(text: str | None) -> list[str]:
    return [p for p in (re.sub(r"\s+", " ", line).strip() for line in re.split(r"\n+", text or "")) if p]


@dataclass
class Tool:
    name: str
    extract: Callable[[list[bytes], str], Result] | None  # None: unavailable
    version: str = ""
    unavailable: str = ""
    has: tuple[str, ...] = ("title", "published", "authors", "categories", "tags", "body")
    #: the call timed in the speed part (one page: bytes, url) → anything
    speed_call: Callable[[bytes, str], Any] | None = None


# --- ours -------------------------------------------------------------------------------
def _ours() -> Tool:
    from newsspider.dev.extract import extract_html
    from newsspider.extraction import NotAnArticle

    def run(pages: list[bytes], url: str) -> Result:
        try:
            item = extract_html(pages[0], url, pages[1:])
        except NotAnArticle as exc:
            return Result(error=f"NotAnArticle: {exc}")
        d = asdict(item)
        return Result(d["title"], d["published"], d["authors"], d["categories"], d["tags"],
                      (d["body"] or "").split("\n\n") if d["body"] else [])

    def speed(body: bytes, url: str) -> Any:
        try:
            return extract_html(body, url)
        except NotAnArticle:
            return None

    return Tool("newsspider", run, _version("newsspider"), speed_call=speed)


# --- trafilatura ------------------------------------------------------------------------
def _trafilatura() -> Tool:
    try:
        import trafilatura
    except Exception as exc:
        return Tool("trafilatura", None, unavailable=f"{type(exc).__name__}: {exc}")
    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
    logging.getLogger("htmldate").setLevel(logging.CRITICAL)

    def one(body: bytes, url: str) -> Any:
        doc = trafilatura.bare_extraction(body, url=url, with_metadata=True, include_comments=False)
        if doc is None:
            return {}
        return doc if isinstance(doc, dict) else doc.as_dict()

    def run(pages: list[bytes], url: str) -> Result:
        first = one(pages[0], url)
        texts = [first.get("text")] + [one(p, url).get("text") for p in pages[1:]]
        authors = [a.strip() for a in (first.get("author") or "").split(";") if a.strip()]
        return Result(first.get("title"), first.get("date"), authors, list(first.get("categories") or []),
                      list(first.get("tags") or []), [p for t in texts for p in split_paragraphs(t)])

    return Tool("trafilatura", run, trafilatura.__version__, speed_call=one)


# --- newspaper4k ------------------------------------------------------------------------
def _newspaper() -> Tool:
    try:
        import newspaper
        from newspaper import Article
    except Exception as exc:
        return Tool("newspaper4k", None, unavailable=f"{type(exc).__name__}: {exc}")

    def one(body: bytes, url: str) -> Any:
        article = Article(url, fetch_images=False)
        article.download(input_html=body.decode("utf-8", "replace"))
        article.parse()
        return article

    def run(pages: list[bytes], url: str) -> Result:
        first = one(pages[0], url)
        texts = [first.text] + [one(p, url).text for p in pages[1:]]
        return Result(first.title, first.publish_date, list(first.authors), None, sorted(first.tags or []),
                      [p for t in texts for p in split_paragraphs(t)])

    return Tool("newspaper4k", run, newspaper.__version__, has=("title", "published", "authors", "tags", "body"),
                speed_call=one)


# --- news-please ------------------------------------------------------------------------
def _newsplease() -> Tool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from newsplease import NewsPlease
        from importlib.metadata import version
        ver = version("news-please")
    except Exception as exc:
        return Tool("news-please", None, unavailable=f"{type(exc).__name__}: {exc}")
    for name in ("newsplease", "readability", "newspaper"):
        logging.getLogger(name).setLevel(logging.CRITICAL)

    def one(body: bytes, url: str) -> Any:
        return NewsPlease.from_html(body.decode("utf-8", "replace"), url=url, fetch_images=False)

    def run(pages: list[bytes], url: str) -> Result:
        first = one(pages[0], url)
        texts = [first.maintext] + [one(p, url).maintext for p in pages[1:]]
        return Result(first.title, first.date_publish, list(first.authors or []), None, None,
                      [p for t in texts for p in split_paragraphs(t)])

    return Tool("news-please", run, ver, has=("title", "published", "authors", "body"), speed_call=None)


def _version(dist: str) -> str:
    try:
        from importlib.metadata import version
        return version(dist)
    except Exception:
        return "source"


def load_tools() -> list[Tool]:
    return [_ours(), _trafilatura(), _newspaper(), _newsplease()]


def safe_run(tool: Tool, pages: list[bytes], url: str) -> Result:
    assert tool.extract is not None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return tool.extract(pages, url)
    except Exception as exc:
        return Result(error=f"{type(exc).__name__}: {exc}")
