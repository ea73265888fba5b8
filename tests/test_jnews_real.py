"""Real markup nobody here wrote: saved pages of other JNews news sites.

``tests/fixtures/jnews-real/`` holds the pages byte for byte with hand-checked labels
(see its README for sources). The extraction must get title, published (the same
instant as the page's first ``article:published_time``), authors and the first and last
body paragraph right; listing pages must give the main-column article links and the next
page.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from conftest import FIXTURES, read_jsonl
from parsel import Selector

from newsspider.dev.extract import extract_html
from newsspider.extraction.listing import parse_listing

REAL = FIXTURES / "jnews-real"
LABELS = read_jsonl(REAL / "labels.jsonl")
ARTICLES = [label for label in LABELS if label["kind"] == "article"]
LISTINGS = [
    label for label in LABELS if label["kind"] == "listing" and "\\" not in f"{label['url']}{label.get('next_page')}"
]


@pytest.mark.parametrize("label", ARTICLES, ids=[label["file"] for label in ARTICLES])
def test_real_article(label: dict) -> None:
    item = extract_html((REAL / label["file"]).read_bytes(), label["url"])
    assert item.title == label["title"]
    assert item.authors == label["authors"]
    assert item.published is not None
    assert datetime.fromisoformat(item.published) == datetime.fromisoformat(label["published"])
    paragraphs = item.body.split("\n\n") if item.body else []
    assert paragraphs[0] == label["first_paragraph"]
    if label.get("last_p_in_body"):
        # The body ends with an unlabelled credit line ("GIS"); the prose ends just before.
        assert paragraphs[-1] == label["last_p_in_body"]
        assert paragraphs[-2] == label["last_paragraph"]
    else:
        assert paragraphs[-1] == label["last_paragraph"]
    assert item.url == label["url"]


@pytest.mark.parametrize("label", LISTINGS, ids=[label["file"] for label in LISTINGS])
def test_real_listing(label: dict) -> None:
    html = (REAL / label["file"]).read_text(encoding="utf-8")
    listing = parse_listing(Selector(text=html), label["url"])
    assert [entry.url for entry in listing.entries] == label["article_urls"]
    assert listing.next_page == label["next_page"]


def test_structural_listing_with_relative_backslash_links() -> None:
    """7seen (a Windows offline copy): links are unrealistic, the structure is not."""
    label = next(lb for lb in LABELS if lb["file"] == "7seen-1.html")
    html = (REAL / label["file"]).read_text(encoding="utf-8")
    listing = parse_listing(Selector(text=html), "https://7seen.net/author/muath/")
    assert len(listing.entries) == len(label["article_urls"])


def test_every_real_page_is_present() -> None:
    assert {Path(label["file"]).name for label in LABELS} <= {p.name for p in REAL.glob("*.html")}


def test_empty_category_notice_is_recognised() -> None:
    """JNews prints "No Content Available" in an empty category: not a markup change."""
    html = (FIXTURES / "category-politics.html").read_text(encoding="utf-8")
    start = html.index('<div class="jeg_posts')
    end = html.index("</article>", html.rindex('<article class="jeg_post', 0, html.index("page_info"))) + 10
    emptied = html[:start] + "<div class='jeg_empty_module'>No Content Available</div>" + html[end:]
    listing = parse_listing(Selector(text=emptied), "https://georgiatoday.ge/category/politics/")
    assert listing.entries == [] and listing.says_empty
    full = parse_listing(Selector(text=html), "https://georgiatoday.ge/category/politics/")
    assert len(full.entries) == 10 and not full.says_empty
