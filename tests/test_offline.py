"""The offline rebuild's pieces on their own (``newsspider.offline``): the crawl's first-page
decisions shared with ``reextract``, the further pages of a post, ``compact`` reading the
outputs as the crawl's recovery does."""

from __future__ import annotations

import json
import re
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES, project_crawler
from scrapy.http import Request, Response
from scrapy.responsetypes import responsetypes
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from newsspider import offline
from newsspider.crawl.archive import CALLBACK_HEADER, CANONICAL_HEADER, POST_PAGE_HEADER
from newsspider.crawl.output.feedstorage import read_items
from newsspider.spiders.georgiatoday import GeorgiaTodaySpider

POST = "https://georgiatoday.ge/on-the-road-with-georgias-mobile-library-bus/"
PAGE_1 = FIXTURES / "sample-mobile-library-multipage.html"
PAGE_2 = FIXTURES / "sample-mobile-library-multipage.page2.html"
HTML = "text/html; charset=UTF-8"


def write_warc(path: Path, records: list[dict[str, Any]]) -> None:
    """Response records as the crawl archives them: ``url``, ``body``, ``type``, ``date``,
    ``callback`` (default ``parse_article``), ``post_page``."""
    with path.open("wb") as fh:
        writer = WARCWriter(fh, gzip=True, warc_version="WARC/1.1")
        for n, rec in enumerate(records):
            fields = {"WARC-Date": rec.get("date", f"2026-01-01T10:00:{n:02d}Z"), CANONICAL_HEADER: rec["url"],
                      CALLBACK_HEADER: rec.get("callback", "parse_article")}
            if rec.get("post_page"):
                fields[POST_PAGE_HEADER] = str(rec["post_page"])
            http = StatusAndHeaders("200 OK", [("Content-Type", rec.get("type", HTML))], protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(rec["url"], "response", payload=BytesIO(rec["body"]),
                                                          length=len(rec["body"]), http_headers=http,
                                                          warc_headers_dict=fields))


def response(url: str, body: bytes, content_type: str = HTML) -> Response:
    cls = responsetypes.from_args(headers={"Content-Type": content_type}, url=url, body=body)
    return cls(url=url, body=body, headers={"Content-Type": content_type}, request=Request(url))


# --- the first page: one decision for the crawl and reextract ----------------------------------
FIRST_PAGE_CASES = {
    "later_page": (POST + "2/", PAGE_2.read_bytes(), HTML),
    "not_html": (POST + "cover.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "image/jpeg"),
    "not_a_post": ("https://georgiatoday.ge/category/politics/",
                   (FIXTURES / "category-politics.html").read_bytes(), HTML),
}


def test_the_crawl_and_reextract_turn_down_the_same_first_pages(tmp_path: Path) -> None:
    spider = GeorgiaTodaySpider.from_crawler(project_crawler())
    outputs = {reason: spider.parse_article(response(*case)) for reason, case in FIRST_PAGE_CASES.items()}
    stats = spider.crawler.stats.get_stats()
    assert {reason: stats.get(f"newsspider/skipped/{reason}") for reason in FIRST_PAGE_CASES} == {
        "later_page": 1, "not_html": 1, "not_a_post": 1}
    # page 2 met on its own: the crawl reads the post from its first page
    [first] = outputs["later_page"]
    assert isinstance(first, Request) and first.url == POST
    assert outputs["not_html"] == outputs["not_a_post"] == []

    path = tmp_path / "run.warc.gz"
    write_warc(path, [{"url": url, "body": body, "type": kind} for url, body, kind in FIRST_PAGE_CASES.values()])
    outcome = offline.reextract([path], tmp_path / "out.jsonl", jobs=1)
    assert {reason: outcome.stats.get(f"newsspider/reextract/skipped/{reason}") for reason in FIRST_PAGE_CASES} == {
        "later_page": 1, "not_html": 1, "not_a_post": 1}
    assert outcome.items == []


# --- the further pages of a multi-page post ---------------------------------------------------
def test_a_further_page_is_the_record_archived_as_that_page_of_the_post(tmp_path: Path) -> None:
    """Page 2 is also linked on its own (a listing): the crawl fetched it once as a page
    it turned down (``later_page``), then as page 2 of the post (``X-Newsspider-Post-Page:
    2``), and built the item from that one: its fetch time is the item's ``crawled_at``."""
    page_1 = {"url": POST, "body": PAGE_1.read_bytes(), "date": "2026-01-01T10:00:00Z"}
    linked = {"url": POST + "2/", "body": PAGE_2.read_bytes(), "date": "2026-01-01T10:00:01Z"}
    as_page_2 = {**linked, "date": "2026-01-01T10:00:03Z", "post_page": 2}
    path = tmp_path / "run.warc.gz"
    write_warc(path, [page_1, linked, as_page_2])
    outcome = offline.reextract([path], tmp_path / "out.jsonl", jobs=1)
    [item] = outcome.items
    assert item.crawled_at == "2026-01-01T10:00:03+00:00"
    assert outcome.stats["newsspider/reextract/skipped/later_page"] == 1

    # an archive written before the header: the first record of page 2 after page 1, as before
    del as_page_2["post_page"]
    write_warc(path, [page_1, linked, as_page_2])
    [item] = offline.reextract([path], tmp_path / "out.jsonl", jobs=1).items
    assert item.crawled_at == "2026-01-01T10:00:01+00:00"



def test_a_multi_page_post_comes_out_where_the_crawl_emitted_it(tmp_path: Path) -> None:
    """The crawl emits a multi-page post when its last page arrives: after an article read
    in between.  reextract writes the items in that order too (it used page 1's place)."""
    single = "https://georgiatoday.ge/batumi-boulevard-reconstruction-enters-final-phase/"
    path = tmp_path / "run.warc.gz"
    write_warc(path, [{"url": POST, "body": PAGE_1.read_bytes()},
                      {"url": single, "body": (FIXTURES / "sample-batumi-boulevard.html").read_bytes()},
                      {"url": POST + "2/", "body": PAGE_2.read_bytes(), "post_page": 2}])
    for options in ({}, {"all_versions": True}):
        outcome = offline.reextract([path], tmp_path / "out.jsonl", jobs=1, **options)
        assert [item.url for item in outcome.items] == [single, POST]

# --- compact: the outputs read by feedstorage.read_items ---------------------------------------
def _line(url: str, **fields: Any) -> bytes:
    return json.dumps({"url": url, **fields}, ensure_ascii=False).encode() + b"\n"


def test_compact_reads_lines_as_the_crawl_writes_them(tmp_path: Path) -> None:
    """Lines split at ``\\n`` only: a U+2028 inside a string (written raw: the exporter
    does not escape it) is not a line break; a last line without its newline is read."""
    first = _line("https://georgiatoday.ge/a/", image_caption="one\u2028two")
    source = tmp_path / "run.jsonl"
    source.write_bytes(first + _line("https://georgiatoday.ge/b/").rstrip(b"\n"))
    assert offline.compact([source], tmp_path / "out.jsonl") == (2, 2)
    assert json.loads((tmp_path / "out.jsonl").read_bytes().splitlines()[0])["image_caption"] == "one\u2028two"
    # the crawl's recovery of a killed run's output: the cut-off last line is dropped
    assert read_items(source.read_bytes()) == ([json.loads(first)], len(first))


@pytest.mark.parametrize(("line", "error"), [
    (b'{"url": "https://georgiatoday.ge/b/"\n', "bad.jsonl:3: not a JSON line (Expecting ',' delimiter"),
    (b'["https://georgiatoday.ge/b/"]\n', "bad.jsonl:3: not an article item"),
    (b'{"title": "no url"}\n', "bad.jsonl:3: not an article item"),
    (b'{"url": "https://georgiatoday.ge/\xff/"}\n', "bad.jsonl:3: not a JSON line ('utf-8' codec can't decode"),
])
def test_compact_names_the_line_it_cannot_read(tmp_path: Path, line: bytes, error: str) -> None:
    source = tmp_path / "bad.jsonl"
    source.write_bytes(_line("https://georgiatoday.ge/a/") + b"\n" + line)
    with pytest.raises(offline.UnreadableInput, match="^" + re.escape(f"{source.parent}/") + re.escape(error)):
        offline.compact([source], tmp_path / "out.jsonl")
    assert not (tmp_path / "out.jsonl").exists()
