"""``ArticleLoader``: each field's processors, on values real pages carry; and
``load_article``'s URL: the page's own candidates only when they are on the site."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta, timezone

from conftest import FIXTURES

from newsspider.dev.extract import extract_html
from newsspider.extraction.loader import ArticleLoader
from newsspider.items import ArticleItem


def _load(item: ArticleItem | None = None, **raw: object) -> ArticleItem:
    loader = ArticleLoader(item)
    for name, value in raw.items():
        loader.add_value(name, value)
    return loader.load_item()


def test_values_the_processors_drop_or_merge() -> None:
    """Empty and unparseable values are dropped (the next source wins), repeats merged,
    the body joined and counted, the fetch time written in UTC."""
    item = _load(
        url=["not a url", "https://georgiatoday.ge/A-Slug?utm_source=x#top"],
        post_id=["abc", "42"],
        title=["", "  Title &amp; more  "],
        authors=["Ana", None, "Ana", " Levan "],
        published=["yesterday", "2025-03-18 09:20"],
        categories=["Politics", "Business &amp; Economy", "Politics"],
        body=["First  paragraph", "Second\u00a0one"],
        image_url=["/relative.jpg", "https://georgiatoday.ge/wp-content/uploads/a.jpg"],
        image_credit=[None, " AP "],
        language="en-US",
        source="Georgia Today",
        crawled_at=datetime(2026, 1, 2, 7, 4, 5, tzinfo=timezone(timedelta(hours=4))),
    )
    assert asdict(item) == {
        "url": "https://georgiatoday.ge/A-Slug/", "post_id": 42, "title": "Title & more", "subtitle": None,
        "summary": None, "authors": ["Ana", "Levan"], "published": "2025-03-18T09:20:00+04:00", "modified": None,
        "categories": ["Politics", "Business & Economy"], "tags": [], "body": "First paragraph\n\nSecond one",
        "image_url": "https://georgiatoday.ge/wp-content/uploads/a.jpg", "image_caption": None,
        "image_credit": "AP", "language": "en", "word_count": 4, "source": "Georgia Today",
        "crawled_at": "2026-01-02T03:04:05+00:00",
    }


def test_a_day_without_a_time_is_midnight_in_tbilisi() -> None:
    """Every date of an item has a time and an offset (docs/fields.md): a day alone — the
    visible date of a page without structured data, a date-only JSON-LD value — is midnight
    Asia/Tbilisi, in ``published`` and in ``modified``."""
    item = _load(published=["June 3, 2025"], modified=["2025-06-04"])
    assert (item.published, item.modified) == ("2025-06-03T00:00:00+04:00", "2025-06-04T00:00:00+04:00")


def test_nothing_loaded_is_an_empty_item() -> None:
    """No usable value: the field is unset (null, [] for lists); no body counts 0 words."""
    raw = {"title": ["", "   "], "body": [], "published": ["2 years ago"], "crawled_at": "not a datetime"}
    assert asdict(_load(**raw)) == {**asdict(ArticleItem()), "word_count": 0}
    # a loader given the item to fill starts from its field defaults (and older itemloaders
    # releases also from those of the item they build): every field's output runs on []
    assert asdict(_load(ArticleItem(), **raw)) == {**asdict(ArticleItem()), "word_count": 0}


def test_site_urls_move_to_the_canonical_origin() -> None:
    """A site URL in any spelling the site gives it (http, www., a port) is written on
    ``https://georgiatoday.ge``; a URL of another host keeps its own."""
    for raw in ("http://www.georgiatoday.ge/a-slug", "https://WWW.GeorgiaToday.ge:443/a-slug/?utm_medium=x"):
        assert _load(url=raw).url == "https://georgiatoday.ge/a-slug/"
    assert _load(url="https://www.nowgrenada.com/2022/04/pm/").url == "https://www.nowgrenada.com/2022/04/pm/"


PERMALINK = "https://georgiatoday.ge/parliament-approves-amendments-to-the-tax-code/"


def _page(canonical: str, permalink: str = PERMALINK) -> str:
    """``no-structured-data`` (no Yoast graph, og:url or canonical link: its URL is the
    permalink of the post meta's date) with a canonical link and that permalink."""
    html = (FIXTURES / "no-structured-data.html").read_text(encoding="utf-8")
    html = html.replace(f'<a href="{PERMALINK}">June 3, 2025</a>', f'<a href="{permalink}">June 3, 2025</a>', 1)
    return html.replace("<head>", f'<head><link rel="canonical" href="{canonical}" />', 1)


def test_url_candidates_count_only_on_the_site() -> None:
    """A canonical link or permalink to another host (a syndicated copy, a mirror) is not
    the post's URL: the next source is, in the end the URL the page was fetched at.  One on
    the site, www. or not, is."""
    page_url = "https://georgiatoday.ge/served-here/"
    assert extract_html(_page("https://www.georgiatoday.ge/the-post"), page_url).url == (
        "https://georgiatoday.ge/the-post/")
    assert extract_html(_page("https://agenda.ge/en/news/2025/1234"), page_url).url == PERMALINK
    mirror = "http://127.0.0.1:8000/parliament-approves-amendments-to-the-tax-code/"
    assert extract_html(_page(mirror, permalink=mirror), page_url).url == page_url
