"""``reextract -j N`` reads archive files in spans (one gzip member per record lets a reader
start at any member): the member finder, and spans that start inside a payload holding
gzip members that look like records (an archived ``.warc.gz``, stored uncompressed by a
zlib writer)."""

from __future__ import annotations

import json
import os
import zlib
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES, read_jsonl
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from newsspider import offline
from newsspider.crawl.archive import CALLBACK_HEADER, CANONICAL_HEADER
from newsspider.crawl.archive.format import gzip_member
from newsspider.crawl.archive.reading import complete_members, member_at_or_after
from newsspider.offline import workers

CASE = json.loads((FIXTURES / "sample-batumi-boulevard.json").read_text(encoding="utf-8"))
PAGE = (FIXTURES / "sample-batumi-boulevard.html").read_bytes()
INSIDE = json.loads((FIXTURES / "cyrillic.json").read_text(encoding="utf-8"))["_canonical_url"]
THIRD = json.loads((FIXTURES / "sample-kutaisi-georgian.json").read_text(encoding="utf-8"))["_canonical_url"]


def _page(name: str) -> bytes:
    return (FIXTURES / f"{name}.html").read_bytes()


def _response(writer: WARCWriter, url: str, body: bytes, content_type: str = "text/html; charset=UTF-8",
              date: str = "2026-01-01T10:00:00Z") -> None:
    http = StatusAndHeaders("200 OK", [("Content-Type", content_type)], protocol="HTTP/1.1")
    writer.write_record(writer.create_warc_record(
        url, "response", payload=BytesIO(body), length=len(body), http_headers=http,
        warc_headers_dict={"WARC-Date": date, CANONICAL_HEADER: url, CALLBACK_HEADER: "parse_article"}))


def _starts(path: Path) -> list[int]:
    with path.open("rb") as fh:
        ends = list(complete_members(fh))
    return [0, *ends[:-1]]


@pytest.mark.parametrize("gzip", ["zlib (warcio)", "ISA-L (the crawl)"])
def test_the_member_finder_finds_the_next_record_from_any_byte(tmp_path: Path, gzip: str) -> None:
    buffer = BytesIO()
    writer = WARCWriter(buffer, gzip=gzip.startswith("zlib"), warc_version="WARC/1.1")
    for n in range(4):
        _response(writer, f"https://georgiatoday.ge/p{n}/", PAGE[: 3000 * (n + 1)])
    data = buffer.getvalue()
    if not gzip.startswith("zlib"):  # our writer: the same records, one ISA-L member each
        members, position = [], 0
        while position < len(data):
            end = data.index(b"WARC/1.1", position + 1) if b"WARC/1.1" in data[position + 1:] else len(data)
            members.append(gzip_member(data[position:end]))
            position = end
        data = b"".join(members)
    path = tmp_path / "a.warc.gz"
    path.write_bytes(data)
    starts = _starts(path)
    assert len(starts) == 4
    with path.open("rb") as fh:
        for offset in range(len(data) + 1):
            following = [s for s in starts if s >= offset]
            assert member_at_or_after(fh, offset, len(data)) == (following[0] if following else None), offset
        assert member_at_or_after(fh, starts[1] + 1, starts[2]) is None  # none starts in that span


def _archive_holding_an_archive(path: Path) -> tuple[int, int]:
    """An article, a download whose payload is a ``.warc.gz`` (the record of an article
    inside), another article — one gzip member each, the download's with stored deflate
    blocks (as zlib writes incompressible data, or ``gzip -1`` a large download): the
    record inside is there byte for byte.  Returns where the download's member starts and
    where the member inside its payload starts."""
    inner = BytesIO()
    _response(WARCWriter(inner, gzip=True, warc_version="WARC/1.1"), INSIDE, _page("cyrillic"))
    members = []
    for url, body, content_type, level in (
            (CASE["_canonical_url"], PAGE, "text/html; charset=UTF-8", 6),
            ("https://georgiatoday.ge/files/old.warc.gz", inner.getvalue(), "application/gzip", 0),
            (THIRD, _page("sample-kutaisi-georgian"), "text/html; charset=UTF-8", 6)):
        record = BytesIO()
        _response(WARCWriter(record, gzip=False, warc_version="WARC/1.1"), url, body, content_type)
        compressor = zlib.compressobj(level, zlib.DEFLATED, zlib.MAX_WBITS | 16)
        members.append(compressor.compress(record.getvalue()) + compressor.flush())
    data = b"".join(members)
    path.write_bytes(data)
    return len(members[0]), data.index(inner.getvalue())


def test_a_span_starting_inside_an_archived_archive_is_read_again_from_its_record(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    path = inputs / "2026-01-01T10-00-00.warc.gz"
    download, inside = _archive_holding_an_archive(path)
    starts = _starts(path)
    assert download in starts and inside not in starts
    with path.open("rb") as fh:  # the finder alone is fooled there: the case is real
        assert member_at_or_after(fh, download + 1, path.stat().st_size) == inside
    one, spans = tmp_path / "one.jsonl", tmp_path / "spans.jsonl"
    single = offline.reextract([inputs], one, jobs=1)
    double = offline.reextract([inputs], spans, jobs=2, span_bytes=download + 1)
    urls = [item["url"] for item in read_jsonl(one)]
    assert urls == [CASE["_canonical_url"], THIRD]  # nothing from inside the download
    assert spans.read_bytes() == one.read_bytes()
    assert double.stats["newsspider/reextract/spans_read_again"] == 1
    assert "did not start at a record; read again from byte" in caplog.text
    assert {k: v for k, v in double.stats.items() if "/spans" not in k} == single.stats


SPY: dict[str, Any] = {}


def _spied_extract_entries(entries: list[Any]) -> list[Any]:
    """``workers._extract_entries`` noting the process it runs in (a forked worker)."""
    with SPY["pids"].open("a") as fh:
        fh.write(f"{os.getpid()}\n")
    result: list[Any] = SPY["extract"](entries)
    return result


def test_pages_needing_the_whole_archive_are_done_by_the_workers(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A page fetched again unchanged is a revisit of the first file's record: in its own
    file's span it cannot be read, so it is finished at the end — in the workers when
    there are more such pages than a job takes (here 1)."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    url = CASE["_canonical_url"]
    with (inputs / "2026-01-01T10-00-00.warc.gz").open("wb") as fh:
        _response(WARCWriter(fh, gzip=True, warc_version="WARC/1.1"), url, PAGE)
    digest: Any = None
    for n, day in enumerate(("02", "03", "04")):
        with (inputs / f"2026-01-{day}T10-00-00.warc.gz").open("wb") as fh:
            writer = WARCWriter(fh, gzip=True, warc_version="WARC/1.1")
            if digest is None:
                from newsspider.crawl.archive import payload_digest
                digest = payload_digest(PAGE)
            http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=UTF-8")], protocol="HTTP/1.1")
            writer.write_record(writer.create_revisit_record(
                url, digest, url, "2026-01-01T10:00:00Z", http_headers=http,
                warc_headers_dict={"WARC-Date": f"2026-01-{day}T10:00:0{n}Z", CANONICAL_HEADER: url,
                                   CALLBACK_HEADER: "parse_article"}))
    monkeypatch.setattr(workers, "CHUNK", 1)
    done_by = tmp_path / "pids"
    monkeypatch.setitem(SPY, "pids", done_by)
    monkeypatch.setitem(SPY, "extract", workers._extract_entries)
    monkeypatch.setattr(workers, "_extract_entries", _spied_extract_entries)
    one, spans = tmp_path / "one.jsonl", tmp_path / "spans.jsonl"
    offline.reextract([inputs], one, jobs=1, all_versions=True)
    offline.reextract([inputs], spans, jobs=2, all_versions=True, span_bytes=1 << 20)
    [item] = read_jsonl(one)  # one content: one version, its first fetch
    assert item["url"] == url and item["title"] == CASE["title"]
    assert spans.read_bytes() == one.read_bytes()
    pids = set(done_by.read_text().split())
    assert pids and str(os.getpid()) not in pids  # three revisits: three jobs, in the workers
    latest_one, latest_spans = tmp_path / "l1.jsonl", tmp_path / "l2.jsonl"
    offline.reextract([inputs], latest_one, jobs=1)
    offline.reextract([inputs], latest_spans, jobs=2, span_bytes=1 << 20)
    [latest] = read_jsonl(latest_one)
    assert latest["crawled_at"].startswith("2026-01-04T10:00:02")  # the last full fetch
    assert latest_spans.read_bytes() == latest_one.read_bytes()


def test_an_uncompressed_warc_is_one_span(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A plain ``.warc`` (another tool's, decompressed by hand) has no members to start at:
    one worker reads it whole, no span is read again."""
    path = tmp_path / "plain.warc"
    with path.open("wb") as fh:
        writer = WARCWriter(fh, gzip=False, warc_version="WARC/1.1")
        _response(writer, CASE["_canonical_url"], PAGE)
        _response(writer, THIRD, _page("sample-kutaisi-georgian"), date="2026-01-01T10:00:05Z")
    one, spans = tmp_path / "one.jsonl", tmp_path / "spans.jsonl"
    offline.reextract([path], one, jobs=1)
    double = offline.reextract([path], spans, jobs=2, span_bytes=4096)
    assert [item["url"] for item in read_jsonl(spans)] == [CASE["_canonical_url"], THIRD]
    assert spans.read_bytes() == one.read_bytes()
    assert double.stats["newsspider/reextract/spans"] == 1
    assert double.stats["newsspider/reextract/spans_read_again"] == 0 and "read again" not in caplog.text
