"""``page_selector`` parses as parsel's own ``Selector`` does, with a C-level element
class lookup: the same tree, every element an ``HtmlElement``."""

from __future__ import annotations

import pytest
from conftest import FIXTURES
from lxml.html import HtmlComment, HtmlElement
from parsel import Selector
from scrapy.http import HtmlResponse

from newsspider.extraction.selector import page_selector

PAGES = sorted(FIXTURES.glob("*.html"))[:10] + sorted((FIXTURES / "jnews-real").glob("*.html"))[:3]
ODD = [
    (b"", None),
    (b"\x00\x00<p>x</p>", None),
    ("<html><body><p>Ol\u00e1 \u10e5</p><form><input name=q></form><!-- c --></body></html>".encode("utf-16"),
     "utf-16"),
    ("<html><body><p>\u041f\u0440\u0438\u0432\u0435\u0442</p></body></html>".encode("cp1251"), "windows-1251"),
    (b"<html><body><p>caf\xe9 \xff\xfe broken utf-8</p></body></html>", "utf-8"),
    (b"<html><body><p>unknown charset</p></body></html>", "x-no-such-charset"),
]


def parsel_selector(response: HtmlResponse) -> Selector:
    try:
        return Selector(body=response.body, encoding=response.encoding, type="html", base_url=response.url)
    except (LookupError, ValueError):
        return Selector(text=response.text, type="html", base_url=response.url)


@pytest.mark.parametrize(("body", "encoding"), [(p.read_bytes(), None) for p in PAGES] + ODD)
def test_same_tree_as_parsel(body: bytes, encoding: str | None) -> None:
    headers = {"Content-Type": f"text/html; charset={encoding}"} if encoding else {}
    response = HtmlResponse("https://georgiatoday.ge/x/", body=body, headers=headers)
    ours = page_selector(response)
    assert ours.get() == parsel_selector(response).get()
    root = ours.root
    assert isinstance(root, HtmlElement)
    for el in root.iter():
        assert isinstance(el, HtmlComment) if not isinstance(el.tag, str) else isinstance(el, HtmlElement)
