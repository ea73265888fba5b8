"""The output contract: one ``ArticleItem`` per article, one JSON object per line; and one
``Tombstone`` per article the site took down or moved, in an output of its own.

The field docstrings are the documentation of the format; ``newsspider/schema/
article.schema.json`` says the same in JSON Schema and every test item is checked
against it.  Normalization lives in ``newsspider.normalize``, not here.  ``content_hash``
is what makes two items the same article content, for the crawl and ``reextract`` alike.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ArticleItem:
    url: str | None = None
    """Canonical article URL on ``https://georgiatoday.ge`` (no tracking parameters, no
    fragment, trailing slash; non-ASCII slugs percent-encoded with lower-case hex as
    WordPress stores them)."""

    post_id: int | None = None
    """WordPress post id (shortlink ``?p=N`` or body class ``postid-N``), or null."""

    title: str | None = None
    """Headline as printed, entities decoded, without the " - Georgia Today" suffix."""

    subtitle: str | None = None
    """JNews subtitle (``h2.jeg_post_subtitle``), or null."""

    summary: str | None = None
    """The post's description: Yoast ``WebPage.description``, else the description or
    og:description meta tag; or null."""

    authors: list[str] = field(default_factory=list)
    """Author display names as the byline shows them, in byline order."""

    published: str | None = None
    """ISO 8601 date and time with UTC offset, as the page gives it
    (``2025-04-28T10:41:09+00:00``); a local time without offset is Asia/Tbilisi
    (``+04:00``); a page that gives the day only (no machine-readable date, just the
    visible "June 3, 2025") gives midnight Asia/Tbilisi (``2025-06-03T00:00:00+04:00``)."""

    modified: str | None = None
    """Last modification, same format (and day-only rule) as ``published``, or null."""

    categories: list[str] = field(default_factory=list)
    """Category names in the order the post meta shows them."""

    tags: list[str] = field(default_factory=list)
    """Tag names in page order."""

    body: str | None = None
    """Article text only: one paragraph per ``p``/heading/``li``/quote paragraph/``<br>``
    line, joined with a blank line (``\\n\\n``); NFC, whitespace collapsed.  All pages of a
    multi-page post, in order."""

    image_url: str | None = None
    """Featured image URL (full size), or null when the post has none."""

    image_caption: str | None = None
    """Featured image caption, or null."""

    image_credit: str | None = None
    """Featured image credit from a trailing "Header image: …"/"Photo: …" line (label
    stripped), or null."""

    language: str | None = None
    """ISO 639-1 language of the page (``en``, ``ka``, …); null only when the page
    declares no language at all."""

    word_count: int | None = None
    """Number of whitespace-separated words in ``body``."""

    source: str | None = None
    """Publication name: ``Georgia Today``."""

    crawled_at: str | None = None
    """When the article was fetched: ISO 8601 UTC (``2026-11-26T21:00:00+00:00``)."""


#: Why an article left the dataset (``Tombstone.reason``).
TOMBSTONE_REASONS = ("http_404", "http_410", "redirected", "not_an_article", "moved")


@dataclass
class Tombstone:
    """An article of the dataset that the site took down or moved: one line of the
    ``tombstones/`` output (``newsspider/schema/tombstone.schema.json``), never of the
    article files.  A later article line for the same ``url`` (the article came back)
    supersedes it."""

    url: str | None = None
    """The article's canonical URL, as the dataset has it."""

    post_id: int | None = None
    """Its WordPress post id as the dataset has it, or null."""

    detected_at: str | None = None
    """When the crawl found it gone: ISO 8601 UTC (``2026-12-07T18:00:00+00:00``)."""

    reason: str | None = None
    """``http_404`` / ``http_410`` (the page answers so), ``redirected`` (it redirects to a
    page that is not an article: the home page, a category), ``not_an_article`` (the URL
    now serves a page that is not an article), or ``moved``: not a deletion — it redirects
    to another article, the same post (``post_id``) under the URL ``moved_to``, whose
    article line is in the article files."""

    modified: str | None = None
    """The article's last ``modified`` in the dataset, or null."""

    moved_to: str | None = None
    """For ``moved``: the canonical URL the article now has; null otherwise."""


#: The fields that make up an article's content (not ``modified``, ``crawled_at``, nor what is
#: derived from the others): two items with the same ``content_hash`` say the same.
HASHED_FIELDS = (
    "url", "post_id", "title", "subtitle", "summary", "authors", "published", "categories",
    "tags", "body", "image_url", "image_caption", "image_credit", "language",
)


def content_hash(item: Mapping[str, Any]) -> str:
    """What the article says (its ``HASHED_FIELDS``), as one digest: the crawl's state
    compares it to tell a changed article, ``reextract`` to tell versions apart."""
    data = {name: item.get(name) for name in HASHED_FIELDS}
    blob = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()
