"""The loader's processors and URL helpers on values real pages carry."""

from __future__ import annotations

import json

import pytest

from newsspider.extraction.sitemap import is_post_sitemap
from newsspider.normalize import (
    canonical_url,
    clean_text,
    normalize_text,
    parse_date,
    parse_language,
    parse_post_id,
    parse_timestamp,
)
from newsspider.urls import OriginMap, normalize_url


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2025-04-28T10:41:09+00:00", "2025-04-28T10:41:09+00:00"),  # Yoast: offset kept
        ("2022-04-21T20:37:15-06:00", "2022-04-21T20:37:15-06:00"),
        ("2025-04-28T10:41:09Z", "2025-04-28T10:41:09+00:00"),
        ("2025-04-28T10:41:09.123+0400", "2025-04-28T10:41:09+04:00"),
        ("2025-06-01T18:30:00", "2025-06-01T18:30:00+04:00"),  # no offset: Tbilisi
        ("2016-10-13 18:06:38", "2016-10-13T18:06:38+04:00"),  # JNews JSON-LD format
        ("March 18, 2025", "2025-03-18"),  # visible JNews date: date only
        (" February 21, 2025 ", "2025-02-21"),
        ("18 March 2025", "2025-03-18"),
        ("21/04/2022", "2022-04-21"),
        ("21 მარტი, 2025", "2025-03-21"),
        ("13 de octubre de 2016", "2016-10-13"),
        ("2 years ago", None),  # relative dates carry no date
        ("2025-02-30T10:00:00+00:00", None),  # impossible
        ("2025-02-01T10:00:00+25:00", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_date(raw: str | None, expected: str | None) -> None:
    assert parse_date(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2025-04-28T10:41:09Z", "2025-04-28T10:41:09+00:00"),  # a time: as parse_date
        ("2025-06-01T18:30:00", "2025-06-01T18:30:00+04:00"),
        ("March 18, 2025", "2025-03-18T00:00:00+04:00"),  # a day only: midnight in Tbilisi
        ("2025-06-03", "2025-06-03T00:00:00+04:00"),
        ("21 მარტი, 2025", "2025-03-21T00:00:00+04:00"),
        ("2 years ago", None),
        (None, None),
    ],
)
def test_parse_timestamp_always_gives_a_time_and_an_offset(raw: str | None, expected: str | None) -> None:
    """The items' dates (``published``, ``modified``): never a bare ``YYYY-MM-DD``."""
    assert parse_timestamp(raw) == expected


def test_clean_text_decodes_entities_and_normalizes() -> None:
    assert clean_text("Business &amp; Economy") == "Business & Economy"
    assert clean_text("Georgia&#8217;s\u00a0 mobile\n library ") == "Georgia’s mobile library"
    # decomposed "é" becomes NFC; curly quotes are kept as printed
    assert clean_text("“Cafe\u0301”") == "“Café”"
    assert clean_text("  \u00a0 ") is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Tbilisi\u00a0City\u202fHall\u2007 budget", "Tbilisi City Hall budget"),  # no-break spaces
        ("news\u00adpaper co\u200bop \ufeffBOM word\u2060joiner", "newspaper coop BOM wordjoiner"),
        ("\u10e1\u10d0\u10e5\u200b\u10d0\u10e0\u10d7\u10d5\u10d4\u10da\u10dd", "საქართველო"),
        ("NUL\x00 inside\x00", "NUL inside"),
        ("Cafe\u0301\t\n au\u00a0lait", "Café au lait"),
        ("plain ascii   text\r\n", "plain ascii text"),
        ("\u200b\u00a0\ufeff", ""),
    ],
)
def test_normalize_text(raw: str, expected: str) -> None:
    """Invisible characters go, every Unicode space is one plain space, NFC, trimmed."""
    assert normalize_text(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("en-US", "en"), ("ka_GE", "ka"), ("ka-GE", "ka"), ("ru", "ru"), ("english", None), ("", None)],
)
def test_parse_language(raw: str, expected: str | None) -> None:
    assert parse_language(raw) == expected


def test_parse_post_id() -> None:
    assert parse_post_id("321040") == 321040
    assert parse_post_id(" 7 ") == 7
    assert parse_post_id("0") is None
    assert parse_post_id("12a") is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://georgiatoday.ge/some-slug/?utm_source=fb&utm_medium=x", "https://georgiatoday.ge/some-slug/"),
        ("https://georgiatoday.ge/some-slug?fbclid=abc#comments", "https://georgiatoday.ge/some-slug/"),
        ("https://georgiatoday.ge/%E1%83%A5%E1%83%A3/", "https://georgiatoday.ge/%e1%83%a5%e1%83%a3/"),
        ("https://georgiatoday.ge/ქუ/", "https://georgiatoday.ge/%e1%83%a5%e1%83%a3/"),
        ("https://georgiatoday.ge/?p=123", "https://georgiatoday.ge/?p=123"),
        ("https://georgiatoday.ge/robots.txt", "https://georgiatoday.ge/robots.txt"),
    ],
)
def test_normalize_url(raw: str, expected: str) -> None:
    assert normalize_url(raw) == expected
    assert canonical_url(raw) == expected


def test_origin_map_rewrites_between_site_and_mirror() -> None:
    origins = OriginMap("https://georgiatoday.ge", "http://127.0.0.1:8000/")
    assert origins.to_fetch("https://georgiatoday.ge/a-slug?utm_source=x") == "http://127.0.0.1:8000/a-slug/"
    assert origins.to_canonical("http://127.0.0.1:8000/a-slug/") == "https://georgiatoday.ge/a-slug/"
    assert origins.is_site("https://www.georgiatoday.ge/x/")
    assert origins.is_site("http://127.0.0.1:8000/x/")
    assert not origins.is_site("http://127.0.0.1:9999/x/")
    assert not origins.is_site("https://facebook.com/GeorgiaToday")
    with pytest.raises(ValueError, match="origin must be an http"):
        OriginMap("https://georgiatoday.ge", "ftp://mirror")
    with pytest.raises(ValueError, match="origin must be an http"):
        OriginMap("https://georgiatoday.ge", "http://mirror/?site=gt")


@pytest.mark.parametrize("base", ["http://127.0.0.1:8000/mirror/gt", "http://127.0.0.1:8000/mirror/gt/"])
def test_origin_map_mirror_under_a_path(base: str) -> None:
    """A mirror served under a prefix: site paths go under it, and come back without it."""
    origins = OriginMap("https://georgiatoday.ge", base)
    assert origins.fetch == "http://127.0.0.1:8000/mirror/gt"
    assert origins.to_fetch("https://georgiatoday.ge/") == "http://127.0.0.1:8000/mirror/gt/"
    assert origins.to_fetch("https://georgiatoday.ge/category/politics/page/2") == (
        "http://127.0.0.1:8000/mirror/gt/category/politics/page/2/")
    # links the mirror already rewrote to itself are not prefixed twice
    assert origins.to_fetch("http://127.0.0.1:8000/mirror/gt/a-slug/") == "http://127.0.0.1:8000/mirror/gt/a-slug/"
    assert origins.to_canonical("http://127.0.0.1:8000/mirror/gt/a-slug/?p=7") == "https://georgiatoday.ge/a-slug/?p=7"
    assert origins.to_canonical("http://127.0.0.1:8000/mirror/gt") == "https://georgiatoday.ge/"
    # a canonical path that happens to start like the prefix keeps it
    assert origins.to_canonical("https://georgiatoday.ge/mirror/gt/x/") == "https://georgiatoday.ge/mirror/gt/x/"
    assert origins.is_site("http://127.0.0.1:8000/mirror/gt/x/")
    assert not origins.is_site("http://127.0.0.1:8000/other-site/x/")
    assert not origins.is_site("http://127.0.0.1:8000/mirror/gtx/")



def test_body_text_is_not_entity_decoded_twice() -> None:
    """The parser decodes entities once; a literal "&amp;" in an article stays."""
    from conftest import FIXTURES

    from newsspider.dev.extract import extract_html

    html = (FIXTURES / "sample-batumi-boulevard.html").read_text(encoding="utf-8")
    start = html.index('<div class="content-inner ">') + len('<div class="content-inner ">')
    end = html.index('<div class="jeg_post_tags">')
    text = "<p>In HTML, write &amp;amp; for an ampersand &amp; &lt;p&gt; for a paragraph.</p>"
    item = extract_html(html[:start] + text + html[end:], "https://georgiatoday.ge/x/")
    assert item.body == "In HTML, write &amp; for an ampersand & <p> for a paragraph."


@pytest.mark.parametrize(
    ("href", "expected"),
    [
        ("/category/politics/page/2/", "https://georgiatoday.ge/category/politics/page/2/"),
        ("https://georgiatoday.ge/a-slug/", "https://georgiatoday.ge/a-slug/"),
        ("mailto:news@georgiatoday.ge", None),
        ("javascript:void(0)", None),
        ("https://[broken-ipv6/", None),
        ("https://georgiatoday.ge:99999/", None),
    ],
)
def test_absolute_url_keeps_only_usable_http_links(href: str, expected: str | None) -> None:
    from newsspider.urls import absolute_url

    assert absolute_url("https://georgiatoday.ge/category/politics/", href) == expected


def test_a_broken_canonical_link_falls_back_to_the_next_source() -> None:
    """Found by fuzzing: a canonical like "https://[…" made urlsplit raise."""
    from conftest import FIXTURES

    from newsspider.dev.extract import extract_html

    html = (FIXTURES / "no-structured-data.html").read_text(encoding="utf-8")
    expected = json.loads((FIXTURES / "no-structured-data.json").read_text(encoding="utf-8"))
    broken = html.replace("<head>", '<head><link rel="canonical" href="https://[georgiatoday.ge/x/" />', 1)
    assert extract_html(broken, "https://georgiatoday.ge/").url == expected["url"]


def test_robots_sitemap_lines_skip_unusable_urls() -> None:
    """A broken Sitemap: line must not hide the others (Scrapy's helper raised on it)."""
    from newsspider.extraction.sitemap import robots_sitemaps

    robots = b"User-agent: *\nDisallow: /wp-admin/\nSitemap: https://[broken\nsitemap: /post-sitemap.xml # posts\n"
    robots += b"SITEMAP: https://georgiatoday.ge/sitemap_index.xml\n"
    assert robots_sitemaps(robots, "https://georgiatoday.ge/robots.txt") == [
        "https://georgiatoday.ge/post-sitemap.xml",
        "https://georgiatoday.ge/sitemap_index.xml",
    ]


@pytest.mark.parametrize(
    ("url", "is_posts"),
    [
        ("https://georgiatoday.ge/post-sitemap.xml", True),
        ("https://georgiatoday.ge/post-sitemap12.xml", True),
        ("https://georgiatoday.ge/wp-sitemap-posts-post-1.xml", True),  # WordPress core, no SEO plugin
        ("https://georgiatoday.ge/page-sitemap.xml", False),
        ("https://georgiatoday.ge/category-sitemap.xml", False),
        ("https://georgiatoday.ge/wp-sitemap-posts-page-1.xml", False),
        ("https://georgiatoday.ge/wp-sitemap-taxonomies-category-1.xml", False),
        ("https://georgiatoday.ge/author-sitemap.xml", False),
    ],
)
def test_post_sitemaps_of_an_index(url: str, is_posts: bool) -> None:
    assert is_post_sitemap(url) is is_posts
