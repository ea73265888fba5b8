"""``load_article`` applies ``FIELD_PROCESSORS`` directly; ``ArticleLoader`` is the same
table as a Scrapy ItemLoader.  Both must give the same item, on every saved page."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

import pytest
from conftest import FIXTURES

from newsspider.dev.extract import page_from_bytes
from newsspider.extraction.loader import ArticleLoader, build_item, raw_fields
from newsspider.urls import OriginMap

PAGES = sorted(FIXTURES.glob("*.html")) + sorted((FIXTURES / "jnews-real").glob("*.html"))
MOMENT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


@pytest.mark.parametrize("path", PAGES, ids=[p.stem for p in PAGES])
def test_item_loader_and_direct_processors_agree(path: Path) -> None:
    page = page_from_bytes(path.read_bytes(), "https://georgiatoday.ge/some-post/")
    # listings and broken pages too: they still have field values to compare
    raw = raw_fields([page], OriginMap(), crawled_at=MOMENT)
    loader = ArticleLoader()
    for name, value in raw.items():
        loader.add_value(name, value)
    assert asdict(build_item(raw)) == asdict(loader.load_item())


def test_values_the_processors_drop_or_merge() -> None:
    """Empty and unparseable values are dropped, repeats merged, the body joined."""
    raw = {
        "url": ["not a url", "https://georgiatoday.ge/A-Slug?utm_source=x#top"],
        "post_id": ["abc", "42"],
        "title": ["", "  Title &amp; more  "],
        "authors": ["Ana", None, "Ana", " Levan "],
        "published": ["yesterday", "2025-03-18 09:20"],
        "body": ["First  paragraph", "Second\u00a0one"],
        "image_url": "/relative.jpg",
        "language": "en-US",
    }
    loader = ArticleLoader()
    for name, value in raw.items():
        loader.add_value(name, value)
    expected = {
        "url": "https://georgiatoday.ge/A-Slug/", "post_id": 42, "title": "Title & more",
        "authors": ["Ana", "Levan"], "published": "2025-03-18T09:20:00+04:00",
        "body": "First paragraph\n\nSecond one", "image_url": None, "language": "en",
    }
    for item in (build_item(raw), loader.load_item()):
        assert {k: v for k, v in asdict(item).items() if k in expected} == expected
