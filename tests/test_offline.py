"""The offline rebuild's pieces on their own (``newsspider.offline``): the crawl's first-page
decisions shared with ``reextract``, the further pages of a post, ``compact`` reading the
outputs as the crawl's recovery does."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import zlib
from dataclasses import asdict
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES, REPO, project_crawler, read_jsonl
from scrapy.http import Request, Response
from scrapy.responsetypes import responsetypes
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from newsspider import offline
from newsspider.crawl.archive import CALLBACK_HEADER, CANONICAL_HEADER, POST_PAGE_HEADER, payload_digest
from newsspider.crawl.export.feedstorage import read_items
from newsspider.items import Tombstone
from newsspider.offline import workers
from newsspider.offline.compaction import Compaction
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
    assert offline.compact([source], tmp_path / "out.jsonl") == Compaction(read=2, written=2, deleted=0, moved=0)
    assert json.loads((tmp_path / "out.jsonl").read_bytes().splitlines()[0])["image_caption"] == "one\u2028two"
    # the crawl's recovery of a killed run's output: the cut-off last line is dropped
    assert read_items(source.read_bytes()) == ([json.loads(first)], len(first))


def test_compact_keeps_the_latest_modified_before_the_latest_fetch(tmp_path: Path) -> None:
    """An article fetched again later with an older ``modified`` (a stale cache; the newer
    one written with another offset) keeps the newer version; equal ``modified``: the later
    fetch; equal both: the later file."""
    a, b, c = (f"https://georgiatoday.ge/{name}/" for name in "abc")
    (tmp_path / "2026-01-01.jsonl").write_bytes(
        _line(a, title="new", modified="2026-01-02T06:00:00+00:00", crawled_at="2026-01-02T07:00:00+00:00")
        + _line(b, title="old", modified="2026-01-01T00:00:00+00:00", crawled_at="2026-01-01T07:00:00+00:00")
        + _line(c, title="first", modified=None, crawled_at="2026-01-01T07:00:00+00:00"))
    (tmp_path / "2026-01-03.jsonl").write_bytes(
        _line(a, title="stale", modified="2026-01-02T09:00:00+04:00", crawled_at="2026-01-03T07:00:00+00:00")
        + _line(b, title="refetched", modified="2026-01-01T00:00:00+00:00", crawled_at="2026-01-03T07:00:00+00:00")
        + _line(c, title="second", modified=None, crawled_at="2026-01-01T07:00:00+00:00"))
    assert offline.compact([tmp_path], tmp_path / "out" / "merged.jsonl") == Compaction(6, 3, 0, 0)
    merged = read_jsonl(tmp_path / "out" / "merged.jsonl")
    assert [(item["url"], item["title"]) for item in merged] == [(a, "new"), (b, "refetched"), (c, "second")]


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


# --- compact with tombstones: the articles deleted or moved since ------------------------------
def _article(fixture: str, crawled_at: str, **changes: Any) -> dict[str, Any]:
    """The item of a fixture page, as the crawl writes it (fetched at ``crawled_at``)."""
    case = json.loads((FIXTURES / f"{fixture}.json").read_text(encoding="utf-8"))
    return {**{k: v for k, v in case.items() if not k.startswith("_")}, "crawled_at": crawled_at, **changes}


BATUMI = _article("sample-batumi-boulevard", "2026-12-01T06:00:00+00:00")
CYRILLIC = _article("cyrillic", "2026-12-01T06:00:00+00:00")
KUTAISI = _article("sample-kutaisi-georgian", "2026-12-01T06:00:01+00:00")
#: Where the Batumi article moved (the same post under a new slug) on 7 December.
BATUMI_NEW_URL = "https://georgiatoday.ge/batumi-boulevard-reconstruction-completed/"


def _gone(article: dict[str, Any], detected_at: str, reason: str = "http_404",
          moved_to: str | None = None) -> dict[str, Any]:
    return asdict(Tombstone(url=article["url"], post_id=article["post_id"], detected_at=detected_at,
                            reason=reason, modified=article["modified"], moved_to=moved_to))


def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    """JSON Lines as the crawl's feed writes them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path


def _outputs(root: Path, articles: dict[str, list[dict[str, Any]]],
             tombstones: dict[str, list[dict[str, Any]]]) -> Path:
    """``output/georgiatoday/<time>.jsonl`` and ``output/georgiatoday/tombstones/<time>.jsonl``."""
    outputs = root / "output" / "georgiatoday"
    for time, rows in articles.items():
        _write(outputs / f"{time}.jsonl", rows)
    for time, rows in tombstones.items():
        _write(outputs / "tombstones" / f"{time}.jsonl", rows)
    return outputs


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The installed ``newsspider`` command, run from ``cwd``."""
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("SCRAPY_")}, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "newsspider.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


FIRST_RUN = "2026-12-01T06-00-00+00-00"


def test_compact_drops_the_articles_deleted_since(tmp_path: Path) -> None:
    """Batumi answered 404 on 3 December, came back on the 5th, answered 410 on the 7th:
    the latest event, the 410, deletes it.  A tombstone of a URL the dataset does not
    have deletes nothing."""
    back = {**BATUMI, "crawled_at": "2026-12-05T06:00:00+00:00"}
    outputs = _outputs(tmp_path, {FIRST_RUN: [BATUMI, CYRILLIC, KUTAISI], "2026-12-05T06-00-00+00-00": [back]}, {
        "2026-12-03T06-00-00+00-00": [_gone(BATUMI, "2026-12-03T06:00:07+00:00")],
        "2026-12-07T06-00-00+00-00": [_gone(BATUMI, "2026-12-07T06:00:07+00:00", "http_410"),
                                      _gone({**KUTAISI, "url": "https://georgiatoday.ge/never-seen/"},
                                            "2026-12-07T06:00:08+00:00")]})
    merged = tmp_path / "dataset.jsonl"
    assert offline.compact([outputs], merged) == Compaction(read=4, written=2, deleted=1, moved=0)
    assert read_jsonl(merged) == [CYRILLIC, KUTAISI]


def test_compact_keeps_deleted_articles_marked_when_asked(tmp_path: Path) -> None:
    """``keep_deleted``: the deleted article's line as it was, plus one key saying why and
    when; the others unmarked."""
    outputs = _outputs(tmp_path, {FIRST_RUN: [BATUMI, CYRILLIC, KUTAISI]},
                       {"2026-12-07T18-00-00+00-00": [_gone(CYRILLIC, "2026-12-07T18:00:03+00:00", "not_an_article")]})
    merged = tmp_path / "dataset.jsonl"
    assert offline.compact([outputs], merged, keep_deleted=True) == Compaction(3, 3, 1, 0)
    marked = {"reason": "not_an_article", "detected_at": "2026-12-07T18:00:03+00:00", "moved_to": None}
    assert read_jsonl(merged) == [BATUMI, {**CYRILLIC, "deleted": marked}, KUTAISI]


def test_compact_keeps_an_article_that_came_back_after_its_tombstone(tmp_path: Path) -> None:
    """Deleted on the 3rd, fetched again (edited) on the 5th: the later line stands, unmarked."""
    edited = {**BATUMI, "title": BATUMI["title"] + " (updated)", "modified": "2026-12-04T10:00:00+00:00",
              "crawled_at": "2026-12-05T06:00:00+00:00"}
    outputs = _outputs(tmp_path, {FIRST_RUN: [BATUMI, CYRILLIC], "2026-12-05T06-00-00+00-00": [edited]},
                       {"2026-12-03T06-00-00+00-00": [_gone(BATUMI, "2026-12-03T06:00:07+00:00", "http_410")]})
    merged = tmp_path / "dataset.jsonl"
    for keep_deleted in (False, True):
        assert offline.compact([outputs], merged, keep_deleted=keep_deleted) == Compaction(3, 2, 0, 0)
        assert read_jsonl(merged) == [edited, CYRILLIC]


def test_compact_keeps_an_article_seen_after_its_tombstone_in_its_chosen_version(tmp_path: Path) -> None:
    """A tombstone older than the article's latest version deletes nothing; nor one older
    than a later fetch that gave a stale copy (an older ``modified``, as from a cache): the
    article was there after it, and its latest version (by ``modified``) is kept."""
    newer = {**KUTAISI, "title": "Kutaisi (edited)", "modified": "2026-12-02T09:00:00+00:00",
             "crawled_at": "2026-12-02T10:00:00+00:00"}
    stale = {**KUTAISI, "crawled_at": "2026-12-06T06:00:00+00:00"}
    outputs = _outputs(tmp_path, {FIRST_RUN: [BATUMI, KUTAISI], "2026-12-02T10-00-00+00-00": [newer],
                                  "2026-12-06T06-00-00+00-00": [stale]},
                       {"2026-11-20T06-00-00+00-00": [_gone(BATUMI, "2026-11-20T06:00:00+00:00")],
                        "2026-12-04T06-00-00+00-00": [_gone(KUTAISI, "2026-12-04T06:00:00+00:00")]})
    merged = tmp_path / "dataset.jsonl"
    assert offline.compact([outputs], merged) == Compaction(4, 2, 0, 0)
    assert read_jsonl(merged) == [BATUMI, newer]


def test_compact_drops_the_old_url_of_a_moved_article_and_keeps_the_new(tmp_path: Path) -> None:
    moved_to = {**BATUMI, "url": BATUMI_NEW_URL, "crawled_at": "2026-12-07T18:00:05+00:00"}
    outputs = _outputs(tmp_path, {FIRST_RUN: [BATUMI, CYRILLIC], "2026-12-07T18-00-00+00-00": [moved_to]},
                       {"2026-12-07T18-00-00+00-00": [
                           _gone(BATUMI, "2026-12-07T18:00:04+00:00", "moved", BATUMI_NEW_URL)]})
    merged = tmp_path / "dataset.jsonl"
    assert offline.compact([outputs], merged) == Compaction(3, 2, 0, 1)
    assert read_jsonl(merged) == [CYRILLIC, moved_to]
    assert offline.compact([outputs], merged, keep_deleted=True) == Compaction(3, 3, 0, 1)
    marked = {"reason": "moved", "detected_at": "2026-12-07T18:00:04+00:00", "moved_to": BATUMI_NEW_URL}
    assert read_jsonl(merged) == [{**BATUMI, "deleted": marked}, CYRILLIC, moved_to]


def test_compact_leaves_out_an_unfinished_tombstone_file(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A running (or killed) run's tombstones, ``<time>.jsonl.<pid>-<hex>.part``: left out
    with the WARNING said of article ``.part`` files; an empty ``tombstones/`` deletes nothing."""
    outputs = _outputs(tmp_path, {FIRST_RUN: [BATUMI, CYRILLIC]}, {})
    part = _write(outputs / "tombstones" / "2026-12-07T18-00-00+00-00.jsonl.4242-9f3c.part",
                  [_gone(BATUMI, "2026-12-07T18:00:04+00:00")])
    merged = tmp_path / "dataset.jsonl"
    with caplog.at_level(logging.WARNING):
        assert offline.compact([outputs], merged) == Compaction(2, 2, 0, 0)
    assert [r.getMessage() for r in caplog.records] == [
        f"Left out {part}: the output of an unfinished run (a crawl is running or was killed; "
        "the next crawl recovers it)"]
    assert read_jsonl(merged) == [BATUMI, CYRILLIC]
    part.unlink()
    assert offline.compact([outputs], merged) == Compaction(2, 2, 0, 0)


@pytest.mark.parametrize(("line", "error"), [
    (json.dumps(BATUMI), "not a tombstone (url, reason, detected_at)"),  # an article line
    (json.dumps({**_gone(BATUMI, "2026-12-07T18:00:04+00:00"), "reason": "deleted"}), "not a tombstone"),
    (json.dumps({**_gone(BATUMI, "2026-12-07T18:00:04+00:00"), "detected_at": None}), "not a tombstone"),
    ('{"url": "https://georgiatoday.ge/b/", "reason": "http_404"', "not a JSON line (Expecting ',' delimiter"),
])
def test_compact_names_the_tombstone_line_it_cannot_read(tmp_path: Path, line: str, error: str) -> None:
    outputs = _outputs(tmp_path, {FIRST_RUN: [BATUMI, CYRILLIC]}, {})
    bad = outputs / "tombstones" / "2026-12-07T18-00-00+00-00.jsonl"
    bad.parent.mkdir()
    bad.write_text(json.dumps(_gone(CYRILLIC, "2026-12-07T18:00:03+00:00")) + "\n\n" + line + "\n", encoding="utf-8")
    merged = tmp_path / "dataset.jsonl"
    with pytest.raises(offline.UnreadableInput, match="^" + re.escape(f"{bad}:3: {error}")):
        offline.compact([outputs], merged)
    assert not merged.exists()


def test_compact_command_applies_the_tombstones_of_a_file_named(tmp_path: Path) -> None:
    """``newsspider compact DIR --tombstones FILE``: the tombstones of FILE with those of
    DIR's ``tombstones/``; the log line counts what was dropped.  A bad tombstone line:
    exit 1 naming it, nothing written."""
    moved_to = {**BATUMI, "url": BATUMI_NEW_URL, "crawled_at": "2026-12-07T18:00:05+00:00"}
    _outputs(tmp_path, {FIRST_RUN: [BATUMI, CYRILLIC, KUTAISI], "2026-12-07T18-00-00+00-00": [moved_to]},
             {"2026-12-07T18-00-00+00-00": [_gone(BATUMI, "2026-12-07T18:00:04+00:00", "moved", BATUMI_NEW_URL)]})
    _write(tmp_path / "elsewhere" / "deletions.jsonl", [_gone(KUTAISI, "2026-12-08T06:00:00+00:00", "http_410")])
    result = _cli(tmp_path, "compact", "output/georgiatoday", "--tombstones", "elsewhere/deletions.jsonl",
                  "-O", "dataset.jsonl")
    assert result.returncode == 0, result.stderr[-3000:]
    assert read_jsonl(tmp_path / "dataset.jsonl") == [CYRILLIC, moved_to]
    assert "INFO: Compacted 4 lines into 2 articles: dataset.jsonl; dropped as deleted: 1, as moved: 1" in result.stderr
    kept = _cli(tmp_path, "compact", "output/georgiatoday", "--tombstones", "elsewhere", "--keep-deleted",
                "-O", "kept.jsonl")
    assert kept.returncode == 0, kept.stderr[-3000:]
    assert [row.get("deleted", {}).get("reason") for row in read_jsonl(tmp_path / "kept.jsonl")] == [
        "moved", None, "http_410", None]
    assert "INFO: Compacted 4 lines into 4 articles: kept.jsonl; marked as deleted: 1, as moved: 1" in kept.stderr

    (tmp_path / "elsewhere" / "deletions.jsonl").write_text(json.dumps(KUTAISI) + "\n", encoding="utf-8")
    bad = _cli(tmp_path, "compact", "output/georgiatoday", "--tombstones", "elsewhere/deletions.jsonl",
               "-O", "bad.jsonl")
    assert bad.returncode == 1
    assert "error: cannot read elsewhere/deletions.jsonl:1: not a tombstone (url, reason, detected_at)" in bad.stderr
    assert not (tmp_path / "bad.jsonl").exists()
    missing = _cli(tmp_path, "compact", "output/georgiatoday", "--tombstones", "gone.jsonl", "-O", "bad.jsonl")
    assert missing.returncode == 2 and "error: cannot read gone.jsonl: no such file or directory" in missing.stderr


# --- records read from the indexes, by worker processes -----------------------------------------
CASE = json.loads((FIXTURES / "sample-batumi-boulevard.json").read_text(encoding="utf-8"))
PAGE = (FIXTURES / "sample-batumi-boulevard.html").read_bytes()
INSIDE = json.loads((FIXTURES / "cyrillic.json").read_text(encoding="utf-8"))["_canonical_url"]
THIRD = json.loads((FIXTURES / "sample-kutaisi-georgian.json").read_text(encoding="utf-8"))["_canonical_url"]


def _page(name: str) -> bytes:
    return (FIXTURES / f"{name}.html").read_bytes()


def _response(writer: WARCWriter, url: str, body: bytes, content_type: str = HTML,
              date: str = "2026-01-01T10:00:00Z") -> None:
    http = StatusAndHeaders("200 OK", [("Content-Type", content_type)], protocol="HTTP/1.1")
    writer.write_record(writer.create_warc_record(
        url, "response", payload=BytesIO(body), length=len(body), http_headers=http,
        warc_headers_dict={"WARC-Date": date, CANONICAL_HEADER: url, CALLBACK_HEADER: "parse_article"}))


def test_records_inside_an_archived_archive_are_not_read(tmp_path: Path) -> None:
    """A download whose payload is a ``.warc.gz`` (an article's record inside), stored
    with uncompressed deflate blocks (as zlib writes incompressible data): the record inside
    is in the file byte for byte, a gzip member that inflates to ``WARC/``.  Only the
    archive's own records are read, with one process or two."""
    inner = BytesIO()
    _response(WARCWriter(inner, gzip=True, warc_version="WARC/1.1"), INSIDE, _page("cyrillic"))
    members = []
    for url, body, content_type, level in (
            (CASE["_canonical_url"], PAGE, HTML, 6),
            ("https://georgiatoday.ge/files/old.warc.gz", inner.getvalue(), "application/gzip", 0),
            (THIRD, _page("sample-kutaisi-georgian"), HTML, 6)):
        record = BytesIO()
        _response(WARCWriter(record, gzip=False, warc_version="WARC/1.1"), url, body, content_type)
        compressor = zlib.compressobj(level, zlib.DEFLATED, zlib.MAX_WBITS | 16)
        members.append(compressor.compress(record.getvalue()) + compressor.flush())
    path = tmp_path / "2026-01-01T10-00-00.warc.gz"
    path.write_bytes(b"".join(members))
    assert inner.getvalue() in path.read_bytes()  # the case is real
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    offline.reextract([path], one, jobs=1)
    offline.reextract([path], two, jobs=2)
    assert [item["url"] for item in read_jsonl(one)] == [CASE["_canonical_url"], THIRD]
    assert two.read_bytes() == one.read_bytes()


def test_revisits_in_other_files_resolve_to_their_original_with_workers(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A page fetched again unchanged is a revisit of the first file's record: read by
    another worker's job, in another file, it still gets the original's payload."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    url = CASE["_canonical_url"]
    with (inputs / "2026-01-01T10-00-00.warc.gz").open("wb") as fh:
        _response(WARCWriter(fh, gzip=True, warc_version="WARC/1.1"), url, PAGE)
    for n, day in enumerate(("02", "03", "04")):
        with (inputs / f"2026-01-{day}T10-00-00.warc.gz").open("wb") as fh:
            writer = WARCWriter(fh, gzip=True, warc_version="WARC/1.1")
            http = StatusAndHeaders("200 OK", [("Content-Type", HTML)], protocol="HTTP/1.1")
            writer.write_record(writer.create_revisit_record(
                url, payload_digest(PAGE), url, "2026-01-01T10:00:00Z", http_headers=http,
                warc_headers_dict={"WARC-Date": f"2026-01-{day}T10:00:0{n}Z", CANONICAL_HEADER: url,
                                   CALLBACK_HEADER: "parse_article"}))
    monkeypatch.setattr(workers, "JOB_RECORDS", 1)
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    offline.reextract([inputs], one, jobs=1, all_versions=True)
    offline.reextract([inputs], two, jobs=2, all_versions=True)
    [item] = read_jsonl(one)  # one content: one version, its first fetch
    assert item["url"] == url and item["title"] == CASE["title"]
    assert two.read_bytes() == one.read_bytes()
    latest_one, latest_two = tmp_path / "l1.jsonl", tmp_path / "l2.jsonl"
    offline.reextract([inputs], latest_one, jobs=1)
    offline.reextract([inputs], latest_two, jobs=2)
    [latest] = read_jsonl(latest_one)
    assert latest["crawled_at"].startswith("2026-01-04T10:00:02")  # the last full fetch
    assert latest_two.read_bytes() == latest_one.read_bytes()


def test_an_uncompressed_warc_is_read(tmp_path: Path) -> None:
    """A plain ``.warc`` (another tool's, decompressed by hand) is indexed and read too."""
    path = tmp_path / "plain.warc"
    with path.open("wb") as fh:
        writer = WARCWriter(fh, gzip=False, warc_version="WARC/1.1")
        _response(writer, CASE["_canonical_url"], PAGE)
        _response(writer, THIRD, _page("sample-kutaisi-georgian"), date="2026-01-01T10:00:05Z")
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    offline.reextract([path], one, jobs=1)
    offline.reextract([path], two, jobs=2)
    assert [item["url"] for item in read_jsonl(two)] == [CASE["_canonical_url"], THIRD]
    assert two.read_bytes() == one.read_bytes()


def test_a_newer_modified_alone_is_a_new_version(tmp_path: Path) -> None:
    """The site bumps ``modified`` without changing the text: the crawl's state counts that
    as an update, so an incremental run emits it (and not the unchanged fetch before it) —
    reextract's latest version is that fetch, and ``--all-versions`` keeps both."""
    url = CASE["_canonical_url"]
    bumped = PAGE.replace(CASE["modified"].encode(), b"2025-03-25T07:45:00+00:00")
    assert bumped != PAGE
    for day, body, mode in (("01", PAGE, "full"), ("02", PAGE, "incremental"), ("03", bumped, "incremental")):
        with (tmp_path / f"2026-01-{day}T03-00-00.warc.gz").open("wb") as fh:
            writer = WARCWriter(fh, gzip=True, warc_version="WARC/1.1")
            writer.write_record(writer.create_warcinfo_record(fh.name, {"spider-mode": mode}))
            _response(writer, url, body, date=f"2026-01-{day}T03:00:05Z")
    outcome = offline.reextract([tmp_path], tmp_path / "latest.jsonl", jobs=1)
    [latest] = read_jsonl(tmp_path / "latest.jsonl")
    assert (latest["modified"], latest["crawled_at"]) == ("2025-03-25T07:45:00+00:00", "2026-01-03T03:00:05+00:00")
    assert outcome.stats["newsspider/reextract/records"] == 3
    offline.reextract([tmp_path], tmp_path / "all.jsonl", jobs=1, all_versions=True)
    assert [(item["modified"], item["crawled_at"]) for item in read_jsonl(tmp_path / "all.jsonl")] == [
        (CASE["modified"], "2026-01-01T03:00:05+00:00"), ("2025-03-25T07:45:00+00:00", "2026-01-03T03:00:05+00:00")]
