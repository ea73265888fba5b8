"""Routing a page by its kind (the spider's ``parse``: pages asked again, ``scrapy parse``)."""

from __future__ import annotations

import pytest
from conftest import FIXTURES
from scrapy.http import HtmlResponse, TextResponse, XmlResponse

from newsspider.extraction.kind import page_kind

TEMPLATES = FIXTURES / "site-templates"


@pytest.mark.parametrize(("page", "kind"), [
    ("home-page.html", "listing"), ("tag-archive.html", "listing"), ("author-archive.html", "listing"),
    ("category-politics.html", "listing"), ("sample-batumi-boulevard.html", "article"),
    ("static-page-about-us.html", "article"),  # the article extraction turns it down: not_a_post
])
def test_html_pages_by_their_body_class(page: str, kind: str) -> None:
    response = HtmlResponse("https://georgiatoday.ge/x/", body=(FIXTURES / page).read_bytes())
    assert page_kind(response) == kind


def test_robots_sitemaps_and_feed() -> None:
    robots = TextResponse("https://georgiatoday.ge/robots.txt", body=(TEMPLATES / "robots.txt").read_bytes())
    assert page_kind(robots) == "robots"
    for name in ("sitemap_index.xml", "post-sitemap.xml"):
        sitemap = XmlResponse(f"https://georgiatoday.ge/{name}", body=(TEMPLATES / name).read_bytes())
        assert page_kind(sitemap) == "sitemap"
    feed = XmlResponse("https://georgiatoday.ge/feed/", body=(TEMPLATES / "feed" / "index.xml").read_bytes())
    assert page_kind(feed) == "feed"
