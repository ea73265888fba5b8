"""Extraction on saved pages, compared field by field with the expected items.

Each case is ``tests/fixtures/<case>.html`` (+ ``<case>.page2.html`` … for multi-page
posts, listed in ``_pages``) with ``<case>.json``: the expected item, or
``{"_not_article": "<reason>"}`` for pages that must not become items, or ``{"_expect_drop":
"<reason>"}`` for broken articles that give no item.  The reason is exact: the
``NotAnArticle`` reason (the spider retries ``truncated_page`` in later runs but records
``not_a_post`` as final), or the ``RequireFields`` one.  ``_source`` and ``_why`` say
where the page came from and what it exercises (see tests/fixtures/README.md).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from pathlib import Path

import pytest
from conftest import FIXTURES
from scrapy.exceptions import DropItem

from newsspider.crawl.export.pipelines import RequireFields
from newsspider.dev.extract import extract_html
from newsspider.extraction import NotAnArticle

CASES = sorted(p for p in FIXTURES.glob("*.json") if not p.name.startswith("_"))
VOLATILE = {"crawled_at"}


def _load(case: Path) -> tuple[dict, list[bytes], str]:
    expected = json.loads(case.read_text(encoding="utf-8"))
    names = expected.get("_pages") or [case.with_suffix(".html").name]
    pages = [(FIXTURES / name).read_bytes() for name in names]
    url = expected.get("_canonical_url") or expected.get("url") or "https://georgiatoday.ge/"
    return expected, pages, url


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_fixture(case: Path, schema_validator) -> None:
    expected, pages, url = _load(case)
    if "_not_article" in expected:
        reason = expected["_not_article"]
        assert isinstance(reason, str) and reason, f"{case.stem}: _not_article must name the NotAnArticle reason"
        with pytest.raises(NotAnArticle) as raised:
            extract_html(pages[0], url, pages[1:])
        assert raised.value.reason == reason, f"{case.stem}: {raised.value}"
        return
    try:
        item = asdict(extract_html(pages[0], url, pages[1:]))
    except NotAnArticle as exc:
        assert exc.reason == expected.get("_expect_drop"), f"{case.stem}: unexpectedly not an article ({exc})"
        return
    if expected.get("_expect_drop"):
        with pytest.raises(DropItem, match=rf"^{re.escape(expected['_expect_drop'])}: "):
            RequireFields(None).process_item(item)
        return
    fields = {k for k in expected if not k.startswith("_")}
    # every field of the item is expected, and nothing else: a field added to the item
    # (or dropped from it) needs its fixtures updated
    assert set(item) - VOLATILE == fields, f"{case.stem}: keys {sorted(set(item) ^ (fields | VOLATILE))} differ"
    mismatches = {k: (item[k], expected[k]) for k in sorted(fields) if item[k] != expected[k]}
    assert not mismatches, f"{case.stem}: " + "; ".join(
        f"{k}: got {got!r} expected {want!r}" for k, (got, want) in mismatches.items()
    )
    schema_validator.validate(item)


def test_there_are_fixtures() -> None:
    assert len(CASES) >= 4


@pytest.mark.parametrize(
    ("body_class", "is_article"),
    [
        ("post-template-default single single-post postid-303115 single-format-standard", True),
        ("single single-jnews-review postid-303115 jnews", True),  # another post type of the theme
        ("attachment attachment-template-default single single-attachment postid-303116 attachmentid-303116",
         False),  # an image's attachment page: title and content box, but not an article
        ("page-template-default page page-id-12", False),
    ],
)
def test_page_type_from_body_class(body_class: str, is_article: bool) -> None:
    html = (FIXTURES / "sample-batumi-boulevard.html").read_text(encoding="utf-8")
    start = html.index('<body class="') + len('<body class="')
    page = html[:start] + body_class + html[html.index('"', start):]
    if is_article:
        assert extract_html(page, "https://georgiatoday.ge/x/").title
    else:
        with pytest.raises(NotAnArticle, match="not_a_post"):
            extract_html(page, "https://georgiatoday.ge/x/")


def test_featured_image_from_a_lazy_background_without_link() -> None:
    """JNews's lazy "background" image option prints no <img>, only data-bgset; with no
    Yoast graph and no link around it, that is where the featured image is."""
    html = (FIXTURES / "no-structured-data.html").read_text(encoding="utf-8")
    start = html.index('<div class="jeg_featured featured_image ">')
    end = html.index("</div>", html.index('<p class="wp-caption-text">', start)) + len("</div>")
    url = "https://georgiatoday.ge/wp-content/uploads/2025/06/parliament-plenary-session-750x375.jpg"
    slot = ('<div class="jeg_featured featured_image "><div class="thumbnail-container">'
            f'<div class="lazyload" data-bgset="{url} 750w, {url.replace("750x375", "360x180")} 360w"></div>'
            "</div></div>")
    item = extract_html(html[:start] + slot + html[end:], "https://georgiatoday.ge/parliament-approves-amendments-to-the-tax-code/")
    assert item.image_url == url
    assert item.image_caption is None


@pytest.mark.parametrize("case", ["sample-batumi-boulevard", "sample-north-korea-seed", "sample-kutaisi-georgian"])
def test_a_post_cut_off_anywhere_is_a_truncated_page(case: str) -> None:
    """A post whose HTML stops early (a CDN hiccup) is ``truncated_page`` wherever the cut
    falls, also before its title or its ``.content-inner``: the reason says what happened
    (docs/cron.md, the dropped counts of the summary), not which element was missing."""
    data = (FIXTURES / f"{case}.html").read_bytes()
    expected = json.loads((FIXTURES / f"{case}.json").read_text(encoding="utf-8"))
    start = data.index(b">", data.index(b"<body")) + 1
    end = data.rindex(b"</html>")
    for k in range(1, 21):
        cut = start + (end - start) * k // 21
        with pytest.raises(NotAnArticle) as raised:
            extract_html(data[:cut], expected["url"])
        assert raised.value.reason == "truncated_page", f"cut at byte {cut} of {len(data)}: {raised.value}"


DATELINE = "BATUMI, 18 March (Georgia Today)"


def nested_page(levels: int) -> bytes:
    """``sample-batumi-boulevard`` with a dateline inside ``levels`` nested inline spans (what
    a paste from a word processor leaves) before the first paragraph of its content.  Built
    here, not saved as a fixture: the benchmark's plain-lxml floor stops at 256 levels."""
    html = (FIXTURES / "sample-batumi-boulevard.html").read_text(encoding="utf-8")
    start = html.index('<div class="content-inner ">') + len('<div class="content-inner ">')
    nest = '<span style="font-weight: 400;">' * levels + DATELINE + "</span>" * levels
    return (html[:start] + nest + html[start:]).encode("utf-8")


def test_markup_nested_deeper_than_the_recursion_limit() -> None:
    """1,800 levels, beyond Python's recursion limit (the body walk recursed per level and
    raised RecursionError, crashing the run) but within the 2,048 libxml2 builds: the same
    item as the page without them, with the dateline as its first paragraph."""
    expected = json.loads((FIXTURES / "sample-batumi-boulevard.json").read_text(encoding="utf-8"))
    item = asdict(extract_html(nested_page(1800), expected["url"]))
    body = f"{DATELINE}\n\n{expected['body']}"
    assert {k: item[k] for k in expected if not k.startswith("_")} == {
        **{k: v for k, v in expected.items() if not k.startswith("_")}, "body": body, "word_count": len(body.split())}


def test_markup_deeper_than_the_parser_keeps_gives_an_item() -> None:
    """3,000 levels: no exception either.  libxml2 builds at most 2,048 levels and drops the
    rest of the page, so the item keeps what came before (head, header) and, with no body
    left, RequireFields drops it as ``missing_body``: a counted drop, not a crash."""
    expected = json.loads((FIXTURES / "sample-batumi-boulevard.json").read_text(encoding="utf-8"))
    item = asdict(extract_html(nested_page(3000), expected["url"]))
    kept = ("url", "title", "published")
    assert {k: item[k] for k in kept} == {k: expected[k] for k in kept}
    if item["body"] is None:
        with pytest.raises(DropItem, match=r"^missing_body: "):
            RequireFields(None).process_item(item)
    else:  # a parser that kept every level: the whole body
        assert item["body"] == f"{DATELINE}\n\n{expected['body']}"
