"""``HeadMetaRefreshMiddleware``: Scrapy's meta-refresh redirects, without decoding
every page to find them."""

from __future__ import annotations

import pytest
from conftest import FIXTURES
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware
from scrapy.http import HtmlResponse, Request
from scrapy.settings import Settings
from scrapy.utils.conf import build_component_list
from scrapy.utils.project import get_project_settings
from scrapy.utils.test import get_crawler

from newsspider.crawl.metarefresh import HEAD_BYTES, HeadMetaRefreshMiddleware, may_refresh

URL = "http://127.0.0.1:8000/old-slug/"


def stub(target: str, filler: int = 0, refresh: str = "refresh") -> str:
    return (f'<html><head>{"<!-- x -->" * filler}<meta http-equiv="{refresh}" content="0; url={target}">'
            f'<title>Moved</title></head><body><a href="{target}">moved here</a></body></html>')


def middlewares() -> tuple[HeadMetaRefreshMiddleware, MetaRefreshMiddleware]:
    crawler = get_crawler(settings_dict={"METAREFRESH_ENABLED": True})
    return HeadMetaRefreshMiddleware.from_crawler(crawler), MetaRefreshMiddleware.from_crawler(crawler)


def outcome(result: object) -> tuple[str, str]:
    assert isinstance(result, (Request, HtmlResponse))
    return type(result).__name__, result.url


def real_pages() -> list[bytes]:
    return [p.read_bytes() for p in sorted(FIXTURES.glob("*.html"))]


@pytest.mark.parametrize(("body", "encoding"), [
    (stub("http://127.0.0.1:8000/new-slug/"), "utf-8"),
    (stub("/new-slug/", refresh="REFRESH"), "utf-8"),
    (stub("http://127.0.0.1:8000/new-slug/"), "utf-16"),
    (stub("http://127.0.0.1:8000/new-slug/"), "utf-32"),
    (stub("http://127.0.0.1:8000/new-slug/", filler=400), "utf-8"),  # tag at the end of the 4096 characters
    (stub("https://georgiatoday.ge/new-slug/").replace("0; url", "300; url"), "utf-8"),  # too slow: not followed
    ("<html><head><title>No refresh</title></head><body>refresh me</body></html>", "utf-8"),
])
def test_the_same_redirects_as_scrapys_middleware(body: str, encoding: str) -> None:
    ours, scrapys = middlewares()
    request = Request(URL)

    def response() -> HtmlResponse:
        return HtmlResponse(URL, body=body.encode(encoding), encoding=encoding, request=request)

    assert outcome(ours.process_response(request, response())) == outcome(scrapys.process_response(request, response()))


def test_redirect_stubs_are_followed() -> None:
    ours, _ = middlewares()
    request = Request(URL)
    redirected = ours.process_response(request, HtmlResponse(URL, body=stub("/new-slug/").encode(), request=request))
    assert isinstance(redirected, Request)
    assert redirected.url == "http://127.0.0.1:8000/new-slug/"


@pytest.mark.parametrize("page", real_pages()[:8])
def test_article_pages_pass_through_without_being_decoded(page: bytes) -> None:
    ours, scrapys = middlewares()
    request = Request(URL)
    response = HtmlResponse(URL, body=page, request=request)
    assert ours.process_response(request, response) is response
    # Scrapy's middleware decodes (and keeps) the whole body; ours does not touch it.
    assert response._cached_ubody is None
    assert not may_refresh(page)
    scrapys.process_response(request, response)
    assert response._cached_ubody is not None


def test_the_byte_window_covers_scrapys_character_window() -> None:
    georgian = "ქ" * 4000  # 3 bytes each in UTF-8: the tag starts past byte 12 000
    body = f'<html><head><title>{georgian}</title><meta http-equiv="refresh" content="0; url=/x/">'.encode()
    assert len(body) < HEAD_BYTES and may_refresh(body)
    assert not may_refresh(b" " * HEAD_BYTES + b'<meta http-equiv="refresh" content="0; url=/x/">')


def test_project_settings_replace_scrapys_middleware() -> None:
    settings: Settings = get_project_settings()
    enabled = build_component_list(settings.getwithbase("DOWNLOADER_MIDDLEWARES"))
    assert "newsspider.crawl.metarefresh.HeadMetaRefreshMiddleware" in enabled
    assert "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware" not in enabled
