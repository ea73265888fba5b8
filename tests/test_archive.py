"""The WARC archive of a crawl, ``scrapy reextract`` and ``scrapy compact``.

The real ``scrapy crawl georgiatoday`` runs in a subprocess against a generated site served
on 127.0.0.1 under a path prefix (a mirror at ``base_url=http://host/mirror/georgiatoday``):
full run on version 1 of the site, an unchanged incremental run, an incremental run on
version 2 (3 new posts, 1 edited), and a fresh full crawl of version 2 to compare with.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import random
import re
import resource
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from cdxj_indexer.main import write_cdx_index
from conftest import FIXTURES, REPO, crawl_command, crawl_env, dated_feeds, log_text, project_crawler, read_jsonl
from itemloaders.processors import MapCompose
from scrapy.exceptions import NotConfigured
from scrapy.http import HtmlResponse, Request
from scrapy.statscollectors import MemoryStatsCollector
from sitegen import SiteManifest, disk_path, generate_site
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.timeutils import iso_date_to_timestamp
from warcio.warcwriter import WARCWriter

from newsspider import offline
from newsspider import settings as project_settings
from newsspider.crawl.archive import (
    CALLBACK_HEADER,
    CANONICAL_HEADER,
    POST_PAGE_HEADER,
    complete_members,
    http_response_headers,
    index_path,
    payload_digest,
)
from newsspider.crawl.archive.format import _Fetch
from newsspider.crawl.archive.middleware import WarcArchiveMiddleware
from newsspider.crawl.archive.recovery import recover_archive_parts
from newsspider.crawl.archive.writer import WarcArchive
from newsspider.dev.devserver import FaultPlan, FaultRule, MirrorServer
from newsspider.extraction.loader import ArticleLoader
from newsspider.normalize import clean_text, parse_moment
from newsspider.offline import workers
from newsspider.urls import OriginMap

N_ARTICLES = 24
PER_PAGE = 6
PREFIX = "/mirror/georgiatoday"
REVISIT_PROFILE = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"


# --- helpers ----------------------------------------------------------------------------------
@dataclass
class Rec:
    type: str
    headers: dict[str, str]
    http: StatusAndHeaders | None
    payload: bytes
    file: str
    version: str


def read_warc(path: Path) -> list[Rec]:
    """Every record, digests verified by warcio (a mismatch raises)."""
    records = []
    with path.open("rb") as fh:
        for record in ArchiveIterator(fh, check_digests="raise"):
            headers = dict(record.rec_headers.headers)
            payload = record.content_stream().read()
            records.append(Rec(record.rec_type, headers, record.http_headers, payload, path.name,
                               record.rec_headers.protocol))
    return records


def archives(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.warc.gz"))


def read_index(warc: Path) -> list[dict[str, str]]:
    """The lines of ``warc``'s CDXJ index: each its JSON plus ``urlkey`` and ``timestamp``."""
    lines = []
    for line in index_path(warc).read_text("utf-8").splitlines():
        urlkey, timestamp, data = line.split(" ", 2)
        lines.append({"urlkey": urlkey, "timestamp": timestamp, **json.loads(data)})
    return lines


def crawl(base_url: str, tmp: Path, name: str, *extra: str, mode: str = "full", state: Path,
          archive: Path | None, wait: bool = True, output: bool = True) -> Any:
    command = crawl_command(
        base_url, "-s", "NEWSSPIDER_CRAWL_COMMAND=True", "-s", "NEWSSPIDER_RETRY_BASE_DELAY=0", *extra,
        output=tmp / "out" / f"{name}.jsonl" if output else None, mode=mode, log_file=tmp / f"{name}.log",
        state=state, archive=archive,
    )
    if not wait:
        return subprocess.Popen(command, cwd=REPO, env=crawl_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    result = subprocess.run(command, cwd=REPO, env=crawl_env(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, log_text(tmp / f"{name}.log")[-3000:]
    return result


def scrapy_command(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "scrapy", *args], cwd=REPO, env=crawl_env(),
                          capture_output=True, text=True, timeout=120)


def cdxj_index(warc: Path) -> Path:
    """The index the crawl writes beside a finished archive: ``<name>.cdxj``, by cdxj-indexer
    (sorted, as pywb reads it)."""
    index = warc.with_name(warc.name.removesuffix(".warc.gz") + ".cdxj")
    write_cdx_index(str(index), [str(warc)], {"sort": True})
    return index


def without_crawled_at(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {i["url"]: {k: v for k, v in i.items() if k != "crawled_at"} for i in items}


@dataclass
class Crawls:
    tmp: Path
    v1: SiteManifest
    v2: SiteManifest
    served_v1: dict[str, bytes]  # article URL -> bytes the server sent in version 1
    home_v1: bytes  # the home page in version 1 (unchanged in the incremental run 2)
    archive: Path
    runs: dict[str, list[Path]] = field(default_factory=dict)  # run -> archive files it wrote

    def out(self, name: str) -> Path:
        return self.tmp / "out" / f"{name}.jsonl"


@pytest.fixture(scope="module")
def crawls(tmp_path_factory: pytest.TempPathFactory) -> Crawls:
    tmp = tmp_path_factory.mktemp("archive")
    root = tmp / "www" / PREFIX.strip("/")
    v1 = generate_site(root, n_articles=N_ARTICLES, per_page=PER_PAGE, term_archives=False)
    served = {url: (root / disk_path(url)).read_bytes() for url in v1.article_urls}
    archive = tmp / "archive"
    state = tmp / "state.sqlite3"
    result = Crawls(tmp, v1, v1, served, (root / "index.html").read_bytes(), archive)
    with MirrorServer(tmp / "www") as server:
        base = server.base_url + PREFIX
        for name, mode in (("run1", "full"), ("run2", "incremental"), ("run3", "incremental")):
            if name == "run3":
                result.v2 = generate_site(root, n_articles=N_ARTICLES, per_page=PER_PAGE, version=2,
                                          term_archives=False)
            before = set(archives(archive))
            crawl(base, tmp, name, mode=mode, state=state, archive=archive)
            result.runs[name] = sorted(set(archives(archive)) - before)
        (tmp / "fresh").mkdir()
        crawl(base, tmp / "fresh", "run4", state=tmp / "fresh" / "state.sqlite3", archive=None)
    return result


# --- the archive of a crawl -------------------------------------------------------------------
def test_every_record_reads_and_articles_are_byte_identical(crawls: Crawls) -> None:
    [run1] = crawls.runs["run1"]
    assert not list(crawls.archive.glob("*.part"))
    records = read_warc(run1)
    assert records[0].type == "warcinfo" and records[0].headers["WARC-Filename"] == run1.name
    info = records[0].payload.decode()
    assert "software: newsspider/" in info and "base-url: http://127.0.0.1:" in info and PREFIX in info
    assert {r.headers["WARC-Type"] for r in records} == {"warcinfo", "request", "response"}
    assert {r.version for r in records} == {"WARC/1.1"}
    responses = [r for r in records if r.type == "response"]
    requests = {r.headers["WARC-Concurrent-To"]: r for r in records if r.type == "request"}
    for response in responses:
        # a request record per response, same URI and date; the canonical URL, whatever
        # the mirror it was fetched from (the warcinfo record names the base_url)
        request = requests[response.headers["WARC-Record-ID"]]
        assert request.headers["WARC-Target-URI"] == response.headers["WARC-Target-URI"]
        assert request.headers["WARC-Date"] == response.headers["WARC-Date"]
        assert request.http is not None
        assert response.headers["WARC-Target-URI"].startswith("https://georgiatoday.ge/")
        assert PREFIX not in response.headers["WARC-Target-URI"]
        path = response.headers["WARC-Target-URI"].removeprefix("https://georgiatoday.ge/")
        assert request.http.to_str().splitlines()[0] == f"GET /{path} HTTP/1.1"
        assert request.http.get_header("Host", "") == "georgiatoday.ge"
        assert request.http.get_header("User-Agent", "").startswith("newsspider/")
        assert response.headers[CANONICAL_HEADER] == response.headers["WARC-Target-URI"]
        assert response.headers["WARC-Payload-Digest"] == payload_digest(response.payload)
        assert response.http is not None and response.http.get_statuscode() == "200"
        assert response.http.get_header("Content-Length") == str(len(response.payload))
    by_canonical = {r.headers[CANONICAL_HEADER]: r for r in responses}
    for url, body in crawls.served_v1.items():
        assert by_canonical[url].payload == body, url
        assert by_canonical[url].headers[CALLBACK_HEADER] == "parse_article"
    kinds = Counter(r.headers[CALLBACK_HEADER] for r in responses)
    assert kinds["parse_article"] == N_ARTICLES
    assert kinds["parse_robots"] == 1, "robots.txt archived once (fetched once, reused by the spider)"
    assert kinds["parse_listing"] > 1 and kinds["parse_sitemap"] >= 2
    # one response per URL in a full run: nothing archived twice
    assert len(by_canonical) == len(responses)
    assert "newsspider/archive/responses" in log_text(crawls.tmp / "run1.log")


def test_unchanged_rerun_writes_revisits_not_copies(crawls: Crawls) -> None:
    [run1] = crawls.runs["run1"]
    later = crawls.runs["run2"] + crawls.runs["run3"]
    assert len(later) == 2
    first = {r.headers["WARC-Payload-Digest"]: r for r in read_warc(run1) if r.type == "response"}
    run2 = read_warc(crawls.runs["run2"][0])
    revisits = [r for r in run2 if r.type == "revisit"]
    assert revisits, "unchanged pages fetched again are revisit records"
    for revisit in revisits:
        assert revisit.headers["WARC-Profile"] == REVISIT_PROFILE
        original = first[revisit.headers["WARC-Payload-Digest"]]
        assert revisit.headers["WARC-Refers-To-Target-URI"] == original.headers["WARC-Target-URI"]
        assert revisit.headers["WARC-Refers-To-Date"] == original.headers["WARC-Date"]
        assert revisit.payload == b""
    # the same payload is stored once across all archives
    digests = [r.headers["WARC-Payload-Digest"] for path in archives(crawls.archive)
               for r in read_warc(path) if r.type == "response"]
    assert len(digests) == len(set(digests))
    # run 3 archived the new and edited posts as full responses
    run3 = read_warc(crawls.runs["run3"][0])
    stored = {r.headers[CANONICAL_HEADER] for r in run3 if r.type == "response"}
    assert set(crawls.v2.new_urls + crawls.v2.edited_urls) <= stored


def test_each_archive_has_the_cdxj_index_cdxj_indexer_writes(crawls: Crawls) -> None:
    files = archives(crawls.archive)
    assert len(files) == 3
    assert sorted(crawls.archive.glob("*.cdxj")) == [index_path(path) for path in files]
    assert not list(crawls.archive.glob("*.part"))
    for path in files:
        indexer = subprocess.run([sys.executable, "-m", "cdxj_indexer.main", "--sort", str(path)],
                                 capture_output=True, text=True, timeout=60, check=True)
        assert index_path(path).read_text("utf-8") == indexer.stdout
        lines = read_index(path)
        records = [r for r in read_warc(path) if r.type in ("response", "revisit")]
        assert len(lines) == len(records) and {line["filename"] for line in lines} == {path.name}
        with path.open("rb") as fh:  # each line points at its record
            for line in lines:
                fh.seek(int(line["offset"]))
                record = next(iter(ArchiveIterator(BytesIO(fh.read(int(line["length"]))))))
                assert record.rec_headers.get_header("WARC-Target-URI") == line["url"]
                assert record.rec_type == ("revisit" if line["mime"] == "warc/revisit" else "response")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_pywb_replays_archived_pages_from_the_archive_directory(crawls: Crawls, tmp_path: Path) -> None:
    """pywb's ``wayback`` on the archive directory as the crawl left it (WARC files and
    their CDXJ indexes): an article (a response record) and the home page fetched again
    unchanged by run 2 (a revisit of run 1's) replay byte-identical to what was served."""
    [run1], [run2] = crawls.runs["run1"], crawls.runs["run2"]
    article = next(r for r in read_warc(run1) if r.type == "response"
                   and r.headers[CANONICAL_HEADER] == crawls.v1.article_urls[0])
    home = next(r for r in read_warc(run2) if r.type == "revisit"
                and r.headers[CANONICAL_HEADER] == crawls.v1.home_url)
    collection = {"index_paths": str(crawls.archive), "archive_paths": f"{crawls.archive}/"}
    (tmp_path / "config.yaml").write_text(json.dumps({"collections": {"georgiatoday": collection}}))  # JSON is YAML
    port, log = _free_port(), tmp_path / "wayback.log"
    wayback = Path(sys.executable).with_name("wayback")
    with log.open("wb") as stderr:
        server = subprocess.Popen([str(wayback), "-b", "127.0.0.1", "-p", str(port)], cwd=tmp_path,
                                  stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        for record, served in ((article, crawls.served_v1[crawls.v1.article_urls[0]]), (home, crawls.home_v1)):
            stamp = iso_date_to_timestamp(record.headers["WARC-Date"])
            url = f"http://127.0.0.1:{port}/georgiatoday/{stamp}id_/{record.headers['WARC-Target-URI']}"
            deadline = time.monotonic() + 60
            while True:
                try:
                    with urllib.request.urlopen(url, timeout=30) as replay:
                        assert replay.status == 200
                        assert replay.read() == served
                    break
                except urllib.error.HTTPError:
                    raise
                except (urllib.error.URLError, ConnectionError):  # wayback still starting
                    assert server.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
                    time.sleep(0.2)
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_reextract_reproduces_the_crawl_exactly(crawls: Crawls, schema_validator: Any) -> None:
    [run1] = crawls.runs["run1"]
    single, double = crawls.tmp / "re1.jsonl", crawls.tmp / "re2.jsonl"
    first = scrapy_command("reextract", str(run1), "-O", str(single), "-j", "1")
    assert first.returncode == 0, first.stderr[-2000:]
    second = scrapy_command("reextract", str(run1), "-O", str(double), "-j", "2")
    assert second.returncode == 0, second.stderr[-2000:]
    crawled = crawls.out("run1").read_text(encoding="utf-8").splitlines()
    rebuilt = single.read_text(encoding="utf-8").splitlines()
    assert sorted(rebuilt) == sorted(crawled)  # byte for byte, crawled_at included
    assert double.read_bytes() == single.read_bytes()  # -j 2: same items, same order
    for item in read_jsonl(single):
        schema_validator.validate(item)
        assert item["url"].startswith("https://georgiatoday.ge/")  # canonical, not the mirror's
    assert "Re-extracted 24 articles" in first.stderr


def test_reextract_reads_the_index_beside_each_archive(crawls: Crawls, tmp_path: Path,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    """The ``.cdxj`` beside each finished archive (sorted by URL, as pywb wants it) says
    where its records are; a file without one, or with one that cannot be read, is indexed
    by cdxj-indexer there and then, with a WARNING for the unreadable index.  The items are
    the same either way."""
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    for path in archives(crawls.archive):
        (inputs / path.name).write_bytes(path.read_bytes())
    bare = tmp_path / "bare.jsonl"
    assert offline.reextract([inputs], bare, jobs=1).stats["newsspider/reextract/files_indexed_here"] == 3
    indexes = [cdxj_index(path) for path in archives(inputs)]
    indexed = tmp_path / "indexed.jsonl"
    assert offline.reextract([inputs], indexed, jobs=1).stats["newsspider/reextract/files_indexed_here"] == 0
    assert indexed.read_bytes() == bare.read_bytes()
    indexes[0].write_text("not an index\n", encoding="utf-8")
    again = tmp_path / "again.jsonl"
    assert offline.reextract([inputs], again, jobs=1).stats["newsspider/reextract/files_indexed_here"] == 1
    assert again.read_bytes() == bare.read_bytes()
    assert f"{archives(inputs)[0]}: unreadable index {indexes[0].name} (" in caplog.text


@pytest.mark.parametrize("job_records", [1, 5, 64])
def test_reextract_with_workers_gives_what_one_process_gives(
        crawls: Crawls, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        job_records: int) -> None:
    """``-j 2``: jobs of one record, a few, many, read by two worker processes; three runs
    (responses, and revisits whose originals are in another file and another job) and a
    killed run's ``.part`` cut in the middle of a record; files with an index and without."""
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    for path in archives(crawls.archive):
        (inputs / path.name).write_bytes(path.read_bytes())
    [run1] = crawls.runs["run1"]
    data = run1.read_bytes()
    (inputs / f"{run1.name[:-len('.warc.gz')]}-killed.warc.gz.part").write_bytes(data[: len(data) * 2 // 3])
    [run2] = crawls.runs["run2"]
    cdxj_index(inputs / run2.name)
    monkeypatch.setattr(workers, "JOB_RECORDS", job_records)
    unfinished = (f"Unfinished archive {inputs / run1.name[:-len('.warc.gz')]}-killed.warc.gz.part (a crawl is "
                  "running or was killed; the next crawl recovers it): reading its complete records, up to byte ")
    for all_versions in (False, True):
        one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
        single = offline.reextract([inputs], one, jobs=1, all_versions=all_versions)
        double = offline.reextract([inputs], two, jobs=2, all_versions=all_versions)
        assert read_jsonl(one) and two.read_bytes() == one.read_bytes()
        assert double.stats == single.stats
        assert single.stats["newsspider/reextract/files_indexed_here"] == 3  # run 1, run 3, the .part: no .cdxj
        assert caplog.text.count(unfinished) == 2 * (1 + all_versions)


def test_reextract_whole_archive_gives_latest_versions(crawls: Crawls, tmp_path: Path) -> None:
    out = tmp_path / "latest.jsonl"
    outcome = offline.reextract([crawls.archive], out, jobs=1)
    latest = read_jsonl(out)
    assert outcome.stats["newsspider/reextract/articles"] == N_ARTICLES + 3
    assert without_crawled_at(latest) == without_crawled_at(read_jsonl(crawls.tmp / "fresh" / "out" / "run4.jsonl"))
    [edited] = crawls.v2.edited_urls
    crawled_v2 = next(i for i in read_jsonl(crawls.out("run3")) if i["url"] == edited)
    assert next(i for i in latest if i["url"] == edited) == crawled_v2

    every = tmp_path / "all.jsonl"
    offline.reextract([crawls.archive], every, jobs=1, all_versions=True)
    versions = Counter(i["url"] for i in read_jsonl(every))
    assert sum(versions.values()) == N_ARTICLES + 3 + 1
    assert versions[edited] == 2 and set(versions.values()) == {1, 2}


def test_changed_extraction_rule_rebuilds_offline(crawls: Crawls, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("reextract must not touch the network")

    monkeypatch.setattr("socket.socket.connect", no_network)
    monkeypatch.setattr("socket.create_connection", no_network)
    # a new cleaning rule for titles
    monkeypatch.setattr(ArticleLoader, "title_in", MapCompose(lambda value: (clean_text(value) or "").upper() or None))
    out = tmp_path / "upper.jsonl"
    offline.reextract(crawls.runs["run1"], out, jobs=1)
    crawled = {i["url"]: i for i in read_jsonl(crawls.out("run1"))}
    rebuilt = read_jsonl(out)
    assert len(rebuilt) == N_ARTICLES
    for item in rebuilt:
        before = crawled[item["url"]]
        assert item["title"] == before["title"].upper() != before["title"]
        assert {k: v for k, v in item.items() if k != "title"} == {k: v for k, v in before.items() if k != "title"}


def test_compact_full_then_incremental_equals_fresh_full_crawl(crawls: Crawls) -> None:
    merged = crawls.tmp / "compact.jsonl"
    result = scrapy_command("compact", str(crawls.tmp / "out"), "-O", str(merged))
    assert result.returncode == 0, result.stderr[-2000:]
    items = read_jsonl(merged)
    assert len(items) == len({i["url"] for i in items}) == N_ARTICLES + 3
    assert without_crawled_at(items) == without_crawled_at(read_jsonl(crawls.tmp / "fresh" / "out" / "run4.jsonl"))
    # lines are the crawl's own (latest version), not re-extracted
    crawled_lines = {line for name in ("run1", "run3") for line in crawls.out(name).read_text("utf-8").splitlines()}
    assert set(merged.read_text("utf-8").splitlines()) <= crawled_lines


def test_unreadable_input_exits_nonzero_with_message(tmp_path: Path) -> None:
    missing = scrapy_command("reextract", str(tmp_path / "nope.warc.gz"), "-O", str(tmp_path / "x.jsonl"))
    assert missing.returncode == 2
    assert f"error: cannot read {tmp_path / 'nope.warc.gz'}: no such file or directory" in missing.stderr
    bad = tmp_path / "bad.warc.gz"
    bad.write_bytes(b"\x1f\x8b\x08\x00 this is not a gzip stream at all" * 10)
    broken = scrapy_command("reextract", str(bad), "-O", str(tmp_path / "x.jsonl"))
    assert broken.returncode == 1 and "bad.warc.gz: not a readable WARC file" in broken.stderr
    assert not (tmp_path / "x.jsonl").exists()
    usage = scrapy_command("reextract", str(bad))
    assert usage.returncode == 2 and "-O FILE is required" in usage.stderr
    (tmp_path / "bad.jsonl").write_text('{"url": "https://georgiatoday.ge/a/"}\n{"url": \n', encoding="utf-8")
    compact = scrapy_command("compact", str(tmp_path / "bad.jsonl"), "-O", str(tmp_path / "y.jsonl"))
    assert compact.returncode == 1 and "bad.jsonl:2: not a JSON line" in compact.stderr
    gone = scrapy_command("compact", str(tmp_path / "gone"), "-O", str(tmp_path / "y.jsonl"))
    assert gone.returncode == 2 and f"error: cannot read {tmp_path / 'gone'}: no such file or directory" in gone.stderr
    assert not (tmp_path / "y.jsonl").exists()


@pytest.mark.parametrize("index", ["with its index", "without"])
def test_reextract_of_a_cut_off_archive_says_where_and_exits_nonzero(crawls: Crawls, tmp_path: Path,
                                                                      index: str) -> None:
    """A finished archive cut off in the middle of its 10th article page (a copy that
    stopped, a full disk): the articles before are rebuilt as the crawl wrote them, a
    WARNING names the file and the byte where its complete records end, and the exit status
    says the output is incomplete.  Its index, written when the file was whole, lists
    records past the cut: they are not read either."""
    [run1] = crawls.runs["run1"]
    path = tmp_path / run1.name
    path.write_bytes(run1.read_bytes())
    if index == "with its index":
        cdxj_index(path)
    with run1.open("rb") as fh:
        iterator = ArchiveIterator(fh)
        pages = [(iterator.offset, record.rec_headers.get_header(CANONICAL_HEADER)) for record in iterator
                 if record.rec_headers.get_header(CALLBACK_HEADER) == "parse_article"]
    broken_at, _ = pages[9]
    cut = broken_at + 500
    with path.open("r+b") as fh:
        fh.truncate(cut)
    out = tmp_path / "out.jsonl"
    result = scrapy_command("reextract", str(path), "-O", str(out), "-j", "1")
    assert result.returncode == 1, result.stderr[-2000:]
    assert re.search(rf"WARNING: {re.escape(str(path))} is cut off or damaged at byte {broken_at} of {cut}: "
                     "the records from there on are lost", result.stderr), result.stderr[-2000:]
    assert "Incomplete: 1 archive file(s) cut off or damaged" in result.stderr
    crawled = {item["url"]: item for item in read_jsonl(crawls.out("run1"))}
    rebuilt = read_jsonl(out)
    assert [item["url"] for item in rebuilt] == [url for _, url in pages[:9]]
    assert all(item == crawled[item["url"]] for item in rebuilt)


def test_compact_says_what_it_leaves_out_and_when_nothing_is_left(crawls: Crawls, tmp_path: Path) -> None:
    """A killed run's output (``.part``, cut in the middle of a line) is left out with a
    WARNING saying the next crawl recovers it; a directory with no finished output, or none
    at all, is an error: no empty dataset is written."""
    outputs = tmp_path / "out"
    outputs.mkdir()
    data = crawls.out("run1").read_bytes()
    (outputs / "2026-01-02T03-00-00.jsonl.part").write_bytes(data[: len(data) // 2])
    merged = tmp_path / "merged.jsonl"
    only_part = scrapy_command("compact", str(outputs), "-O", str(merged))
    assert only_part.returncode == 1 and not merged.exists()
    assert f"error: cannot read {outputs}: no finished output to merge" in only_part.stderr
    left_out = (f"WARNING: Left out {outputs / '2026-01-02T03-00-00.jsonl.part'}: the output of an unfinished "
                "run (a crawl is running or was killed; the next crawl recovers it)")
    assert left_out in only_part.stderr
    (outputs / "2026-01-01T03-00-00.jsonl").write_bytes(data)
    with_part = scrapy_command("compact", str(outputs), "-O", str(merged))
    assert with_part.returncode == 0 and left_out in with_part.stderr
    assert merged.read_bytes() == data
    empty = tmp_path / "empty"
    empty.mkdir()
    nothing = scrapy_command("compact", str(empty), "-O", str(tmp_path / "none.jsonl"))
    assert nothing.returncode == 1
    assert f"error: cannot read {empty}: no .jsonl files in this directory" in nothing.stderr
    assert not (tmp_path / "none.jsonl").exists()


# --- kill -9 ----------------------------------------------------------------------------------
@pytest.mark.parametrize("kill", ["item_written", "timer"])
def test_kill_9_then_rerun_leaves_readable_archives_with_every_exported_article(tmp_path: Path, kill: str) -> None:
    """``kill -9`` right after the 6th item reached the output (the crawl kills itself at
    that checkpoint: no item of a page that is not archived yet may be there), or from
    outside at a moment the test does not choose."""
    site = generate_site(tmp_path / "site", n_articles=30, per_page=PER_PAGE, term_archives=False)
    archive, state, out = tmp_path / "archive", tmp_path / "state.sqlite3", tmp_path / "out"
    feeds = json.dumps(dated_feeds(out))
    if kill == "item_written":
        extra = ["-s", f"EXTENSIONS={json.dumps({**project_settings.EXTENSIONS, 'cron_helpers.KillAt': 900})}",
                 "-s", "CRON_TEST_KILL_AT=item_written:6"]
        plan = None
    else:
        extra, plan = [], FaultPlan([FaultRule("/*", delay=0.2)])  # ~1 s of crawl: time to see 6 exports
    with MirrorServer(site.root, faults=plan) as server:
        proc = crawl(server.base_url, tmp_path, "killed", "-s", f"FEEDS={feeds}", *extra, state=state,
                     archive=archive, wait=False, output=False)
        deadline, written = time.monotonic() + 60, 0
        while kill == "timer" and time.monotonic() < deadline and proc.poll() is None and written < 6:
            parts = list(out.glob("*.part")) if out.is_dir() else []  # items in the output, not committed
            written = parts[0].read_bytes().count(b"\n") if parts else 0
            time.sleep(0.02)
        if kill == "timer":
            assert proc.poll() is None, "the crawl ended before it could be killed"
            os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=60) == -signal.SIGKILL
    assert list(archive.glob("*.warc.gz.part")) and not archives(archive)
    # right after the kill, before any rerun: what the killed run exported is already in
    # its unfinished archive, and reextract reads it
    [jsonl_part] = out.glob("*.part")
    exported_at_kill = {json.loads(line)["url"] for line in jsonl_part.read_text("utf-8").splitlines()
                        if line.endswith("}")}
    at_kill = tmp_path / "at-kill.jsonl"
    offline.reextract([archive], at_kill, jobs=1)
    assert exported_at_kill and exported_at_kill <= {i["url"] for i in read_jsonl(at_kill)}
    with MirrorServer(site.root) as server:
        crawl(server.base_url, tmp_path, "rerun", "-s", f"FEEDS={feeds}", state=state, archive=archive,
              output=False)
    assert "Recovered" in log_text(tmp_path / "rerun.log")
    assert not list(archive.glob("*.part"))
    files = archives(archive)
    assert len(files) == 2
    assert sorted(archive.glob("*.cdxj")) == [index_path(path) for path in files]  # the recovered one too
    archived: set[str] = set()
    for path in files:
        records = read_warc(path)  # every record complete, digests right
        archived |= {r.headers[CANONICAL_HEADER] for r in records if r.type in ("response", "revisit")}
    outputs = sorted(out.glob("*.jsonl"))
    exported = [i["url"] for path in outputs for i in read_jsonl(path)]
    assert sorted(exported) == sorted(site.article_urls)
    assert set(exported) <= archived
    # what the killed run exported is in the killed run's recovered archive (file names
    # are start times: the killed run's come first)
    killed_items = {i["url"] for i in read_jsonl(outputs[0])}
    killed_archive = {r.headers[CANONICAL_HEADER] for r in read_warc(files[0]) if r.type in ("response", "revisit")}
    assert killed_items and killed_items <= killed_archive, killed_items - killed_archive
    # and the archives rebuild the dataset
    rebuilt = tmp_path / "rebuilt.jsonl"
    offline.reextract([archive], rebuilt, jobs=1)
    assert sorted(i["url"] for i in read_jsonl(rebuilt)) == sorted(site.article_urls)


# --- a slow page; the order of things ---------------------------------------------------------
#: Seconds the test server takes to serve one article page.  The archive has no timeout of
#: its own (the crawl refuses NEWSSPIDER_ARCHIVE_STALL_TIMEOUT as an unknown setting): with
#: the writer process of earlier versions and that setting at 1 s, this crawl exited 1,
#: "the archive's writer process wrote nothing for 1 s and was stopped".
SLOW_SECONDS = 4


@dataclass
class SlowCrawl:
    tmp: Path
    site: SiteManifest
    slow: str  # canonical URL of the slow article
    slow_path: str  # its path on the test server
    archive: Path
    returncode: int
    seconds: float
    events: list[list[Any]]  # archive_helpers.ArchiveWatch


@pytest.fixture(scope="module")
def slow_crawl(tmp_path_factory: pytest.TempPathFactory) -> SlowCrawl:
    """One real crawl of a small site whose one article page takes ``SLOW_SECONDS``,
    watched by ``archive_helpers.ArchiveWatch``."""
    tmp = tmp_path_factory.mktemp("slow")
    site = generate_site(tmp / "site", n_articles=8, per_page=PER_PAGE, term_archives=False)
    slow = site.articles[-1]
    archive, events = tmp / "archive", tmp / "events.jsonl"
    extensions = {**project_settings.EXTENSIONS, "archive_helpers.ArchiveWatch": 900}
    with MirrorServer(site.root, faults=FaultPlan([FaultRule(slow.path, delay=SLOW_SECONDS)])) as server:
        started = time.monotonic()
        proc = crawl(server.base_url, tmp, "slow", "-s", f"EXTENSIONS={json.dumps(extensions)}",
                     "-s", f"ARCHIVE_TEST_EVENTS={events}",
                     state=tmp / "state.sqlite3", archive=archive, wait=False)
        proc.communicate(timeout=120)
        seconds = time.monotonic() - started
    lines = events.read_text("utf-8").splitlines() if events.is_file() else []
    return SlowCrawl(tmp, site, slow.url, slow.path, archive, proc.returncode, seconds,
                     [json.loads(line) for line in lines])


def test_a_slow_page_is_archived_and_the_run_stays_healthy(slow_crawl: SlowCrawl) -> None:
    log = log_text(slow_crawl.tmp / "slow.log")
    assert slow_crawl.returncode == 0, log[-3000:]
    assert slow_crawl.seconds >= SLOW_SECONDS
    assert "WARC archive" not in log  # no archive WARNING
    exported = {i["url"] for i in read_jsonl(slow_crawl.tmp / "out" / "slow.jsonl")}
    assert exported == set(slow_crawl.site.article_urls) and slow_crawl.slow in exported
    [path] = archives(slow_crawl.archive)
    archived = {r.headers[CANONICAL_HEADER] for r in read_warc(path) if r.type == "response"}
    assert exported <= archived
    assert [line for line in read_index(path) if line["url"].endswith(slow_crawl.slow_path)]


def test_no_item_reaches_the_output_before_its_page_is_in_the_archive(slow_crawl: SlowCrawl) -> None:
    """At the moment each item is scraped (and exported), its page's records are in the
    archive's ``.part`` on disk."""
    items = [event for event in slow_crawl.events if event[0] == "item"]
    assert len(items) == len(slow_crawl.site.article_urls)
    assert [url for _, url, archived in items if not archived] == []


def test_the_archive_is_fsynced_renamed_indexed_then_the_directory_fsynced_before_the_state_commit(
        slow_crawl: SlowCrawl) -> None:
    """The crawl's own ``os.fsync``/``os.replace``/``os.rename`` calls on the archive's
    files, in order: WARC fsync → rename → index written atomically → directory fsync, all
    before the state transaction."""
    directory = os.path.realpath(slow_crawl.archive)
    [path] = archives(slow_crawl.archive)
    warc = os.path.realpath(path)
    index = os.path.realpath(index_path(path))

    seen = []
    for event in slow_crawl.events:
        if event == ["checkpoint", "before_commit"]:
            seen.append(event)
        elif event[0] in ("fsync", "replace", "rename") and \
                any(os.path.realpath(p).startswith(directory) for p in event[1:]):
            seen.append([event[0], *map(os.path.realpath, event[1:])])
    commit = seen.index(["checkpoint", "before_commit"])
    assert seen[:commit] == [
        ["fsync", f"{warc}.part"], ["replace", f"{warc}.part", warc],
        ["fsync", f"{index}.part"], ["replace", f"{index}.part", index],
        ["fsync", directory],
    ]


def _records(count: int) -> tuple[bytes, list[int]]:
    """``count`` gzipped response records and the end offset of each member."""
    buffer = BytesIO()
    writer = WARCWriter(buffer, gzip=True, warc_version="WARC/1.1")
    ends = []
    for n in range(count):
        body = (f"<html><body>page {n}</body></html>" * (50 + n)).encode()
        http = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
        writer.write_record(writer.create_warc_record(f"http://127.0.0.1/p{n}/", "response",
                                                      payload=BytesIO(body), length=len(body), http_headers=http))
        ends.append(buffer.tell())
    return buffer.getvalue(), ends


@pytest.mark.parametrize("cut", ["boundary", "mid_record", "gzip_trailer", "one_byte_in", "all"])
def test_recover_part_drops_a_cut_off_record(tmp_path: Path, cut: str) -> None:
    data, ends = _records(4)
    at = {"boundary": ends[2], "mid_record": (ends[1] + ends[2]) // 2, "gzip_trailer": ends[2] - 3,
          "one_byte_in": ends[2] + 1, "all": ends[3]}[cut]
    complete = sum(end <= at for end in ends)
    part = tmp_path / "2026-01-01T00-00-00.warc.gz.part"
    part.write_bytes(data[:at])
    with part.open("rb") as fh:
        assert list(complete_members(fh)) == ends[:complete]
    [recovered] = recover_archive_parts(tmp_path)
    assert recovered.name == "2026-01-01T00-00-00.warc.gz" and not part.exists()
    assert recovered.read_bytes() == data[: ends[complete - 1]]
    records = read_warc(recovered)
    assert [r.headers["WARC-Target-URI"] for r in records] == [f"http://127.0.0.1/p{n}/" for n in range(complete)]
    assert sorted(line["url"] for line in read_index(recovered)) == [r.headers["WARC-Target-URI"] for r in records]


def test_recovery_writes_the_index_a_killed_run_was_writing(tmp_path: Path) -> None:
    """A run killed after renaming its WARC, while writing its index: the next run writes
    the index; one whose WARC is gone is removed; one whose run still holds its WARC's lock
    is left alone."""
    data, _ = _records(3)
    warc = tmp_path / "2026-01-01T00-00-00.warc.gz"
    warc.write_bytes(data)
    (tmp_path / "2026-01-01T00-00-00.cdxj.part").write_text("ge,georgiatoday)/ 2026")
    gone = tmp_path / "2026-01-02T00-00-00.cdxj.part"
    gone.write_text("")
    live = tmp_path / "2026-01-03T00-00-00.warc.gz"
    live.write_bytes(data)
    (tmp_path / "2026-01-03T00-00-00.cdxj.part").write_text("")
    with live.open("rb") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        assert recover_archive_parts(tmp_path, patience=0.1) == []
    assert [line["url"] for line in read_index(warc)] == [f"http://127.0.0.1/p{n}/" for n in range(3)]
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "2026-01-01T00-00-00.cdxj", "2026-01-01T00-00-00.warc.gz",
        "2026-01-03T00-00-00.cdxj.part", "2026-01-03T00-00-00.warc.gz"]


def test_recover_removes_a_part_without_any_complete_record(tmp_path: Path) -> None:
    data, ends = _records(1)
    part = tmp_path / "x.warc.gz.part"
    part.write_bytes(data[: ends[0] // 2])
    assert recover_archive_parts(tmp_path) == []
    assert not part.exists()


# --- the extension on its own -----------------------------------------------------------------
def _response(url: str, body: bytes, **meta: Any) -> HtmlResponse:
    request = Request(url, meta=meta)
    return HtmlResponse(url=url, body=body, headers={"Content-Type": "text/html; charset=utf-8"}, request=request)


def _archive(directory: Path | str) -> WarcArchive:
    crawler = project_crawler(NEWSSPIDER_CRAWL_COMMAND=True, NEWSSPIDER_ARCHIVE_DIR=str(directory))
    crawler.stats = MemoryStatsCollector(crawler)
    return WarcArchive.from_crawler(crawler)


def test_archive_only_in_a_real_crawl_with_a_directory(tmp_path: Path) -> None:
    for settings in ({"NEWSSPIDER_ARCHIVE_DIR": str(tmp_path)}, {"NEWSSPIDER_CRAWL_COMMAND": True,
                                                                  "NEWSSPIDER_ARCHIVE_DIR": ""}):
        crawler = project_crawler(**settings)
        with pytest.raises(NotConfigured):
            WarcArchive.from_crawler(crawler)


def test_finish_is_idempotent_and_revisits_repeat_payloads(tmp_path: Path) -> None:
    archive = _archive(tmp_path)
    archive.record(_response("http://127.0.0.1/a/", b"<html>same</html>"), None)
    archive.record(_response("http://127.0.0.1/b/", b"<html>same</html>"), None)
    path = archive.finish()
    assert path is not None and path.parent == tmp_path and path.name.endswith(".warc.gz")
    assert archive.finish() == path
    assert [r.type for r in read_warc(path)] == ["warcinfo", "response", "request", "revisit", "request"]
    # the next run knows the payload from the digest index, even if rebuilt
    (tmp_path / "digests.sqlite3").unlink()
    again = _archive(tmp_path)
    again.record(_response("http://127.0.0.1/c/", b"<html>same</html>"), None)
    second = again.finish()
    assert second is not None and second != path
    assert [r.type for r in read_warc(second)] == ["warcinfo", "revisit", "request"]
    # an archive deleted by hand is no longer the original of anything
    path.unlink()
    third = _archive(tmp_path)
    third.record(_response("http://127.0.0.1/d/", b"<html>same</html>"), None)
    last = third.finish()
    assert last is not None
    assert [r.type for r in read_warc(last)] == ["warcinfo", "response", "request"]


def test_the_middleware_writes_a_page_to_the_file_before_its_callback_runs(tmp_path: Path) -> None:
    """Spider input, before the callback: the page's records are in the ``.part`` on disk
    (a 304 revalidation has nothing to archive)."""
    archive = _archive(tmp_path)
    middleware = WarcArchiveMiddleware(archive)
    middleware.process_spider_input(_response("http://127.0.0.1/a/", b"<html>a</html>"))
    middleware.process_spider_input(HtmlResponse(url="http://127.0.0.1/b/", status=304,
                                                 request=Request("http://127.0.0.1/b/")))
    [part] = tmp_path.glob("*.warc.gz.part")
    assert [(r.type, r.headers.get("WARC-Target-URI")) for r in read_warc(part)] == [
        ("warcinfo", None), ("response", "http://127.0.0.1/a/"), ("request", "http://127.0.0.1/a/")]


def test_every_revisit_refers_to_the_original_response(tmp_path: Path) -> None:
    """Three fetches of one payload in a run, two more in the next run: each revisit
    points at the first response record (its URI and date), never at another revisit."""
    first = _archive(tmp_path)
    for name in "abc":
        first.record(_response(f"http://127.0.0.1/{name}/", b"<html>same</html>"), None)
    path = first.finish()
    assert path is not None
    second = _archive(tmp_path)
    for name in "de":
        second.record(_response(f"http://127.0.0.1/{name}/", b"<html>same</html>"), None)
    later = second.finish()
    assert later is not None
    [original, *revisits] = [r for p in (path, later) for r in read_warc(p) if r.type in ("response", "revisit")]
    assert original.type == "response" and original.headers["WARC-Target-URI"] == "http://127.0.0.1/a/"
    assert [r.headers["WARC-Target-URI"] for r in revisits] == [f"http://127.0.0.1/{n}/" for n in "bcde"]
    assert len({r.headers["WARC-Date"] for r in (original, *revisits)}) == 5  # each capture its own date
    for revisit in revisits:
        assert revisit.type == "revisit"
        assert revisit.headers["WARC-Refers-To-Target-URI"] == "http://127.0.0.1/a/"
        assert revisit.headers["WARC-Refers-To-Date"] == original.headers["WARC-Date"]


def test_an_unreadable_digest_index_means_whole_records_not_a_failed_archive(tmp_path: Path) -> None:
    first = _archive(tmp_path)
    first.record(_response("http://127.0.0.1/a/", b"<html>same</html>"), None)
    assert first.finish() is not None
    second = _archive(tmp_path)
    second.record(_response("http://127.0.0.1/b/", b"<html>other</html>"), None)
    (tmp_path / "digests.sqlite3").write_bytes(b"not a database" * 100)  # mid-run, the index open
    second.record(_response("http://127.0.0.1/c/", b"<html>same</html>"), None)
    assert second.failed is None
    path = second.finish()
    assert path is not None
    assert [(r.type, r.headers.get("WARC-Target-URI")) for r in read_warc(path) if r.type != "request"] == [
        ("warcinfo", None), ("response", "http://127.0.0.1/b/"), ("response", "http://127.0.0.1/c/")]


def test_write_failure_is_counted_not_fatal(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    unwritable = _archive(blocker / "archive")
    assert isinstance(unwritable.failed, OSError)
    unwritable.record(_response("http://127.0.0.1/a/", b"<html>a</html>"), None)
    with pytest.raises(OSError):
        unwritable.finish()
    assert "WARC archive cannot open the archive directory" in caplog.text

    # the disk fills up under the crawl: a real file size limit on this process (EFBIG, as
    # a full disk's ENOSPC; CPython ignores SIGXFSZ, so the write fails instead of killing it)
    assert signal.getsignal(signal.SIGXFSZ) == signal.SIG_IGN
    archive = _archive(tmp_path / "full")
    archive.record(_response("http://127.0.0.1/a/", b"<html>a</html>"), None)
    assert archive.failed is None and archive.part_path is not None
    noise = random.Random(3).randbytes(60_000)  # incompressible: past the limit
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (archive.part_path.stat().st_size + 20_000, hard))
    try:
        archive.record(_response("http://127.0.0.1/b/", b"<html>" + noise + b"</html>"), None)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    assert isinstance(archive.failed, OSError) and archive.failed.errno == errno.EFBIG
    assert "WARC archive write failed: [Errno 27] File too large" in caplog.text
    archive.record(_response("http://127.0.0.1/c/", b"<html>c</html>"), None)  # archiving stopped
    assert archive.crawler.stats is not None
    assert archive.crawler.stats.get_value("newsspider/archive/failed") == 1
    assert archive.crawler.stats.get_value("newsspider/archive/responses") == 1
    with pytest.raises(OSError):
        archive.finish()
    [kept] = archives(tmp_path / "full")  # what was written before, finished, readable, indexed
    assert [r.headers.get("WARC-Target-URI") for r in read_warc(kept) if r.type == "response"] == \
        ["http://127.0.0.1/a/"]
    assert [line["url"] for line in read_index(kept)] == ["http://127.0.0.1/a/"]

    # the limit hit by the run's first write, its warcinfo record: no page written after it
    early = _archive(tmp_path / "early")
    resource.setrlimit(resource.RLIMIT_FSIZE, (100, hard))
    try:
        early.record(_response("http://127.0.0.1/a/", b"<html>a</html>"), None)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    assert isinstance(early.failed, OSError) and early.failed.errno == errno.EFBIG
    assert early.crawler.stats is not None and early.crawler.stats.get_value("newsspider/archive/failed") == 1
    early.record(_response("http://127.0.0.1/b/", b"<html>b</html>"), None)
    with pytest.raises(OSError):
        early.finish()
    assert [path.stat().st_size for path in archives(tmp_path / "early")] == [0]


def test_decoded_body_headers_say_so() -> None:
    raw = ((b"Content-Type", b"text/html"), (b"Content-Encoding", b"gzip"), (b"Content-Length", b"120"),
           (b"Vary", b"Accept-Encoding"))
    fetch = _Fetch(at=parse_moment("2026-01-01T00:00:00Z"), protocol="HTTP/1.1", headers=raw,
                   method="GET", request_headers=())
    http = http_response_headers(fetch, b"x" * 500, decoded_encoding=True, status=200)
    assert http.to_str().splitlines() == [
        "HTTP/1.1 200 OK", "Content-Type: text/html", "X-Crawler-Content-Encoding: gzip",
        "X-Crawler-Content-Length: 120", "Vary: Accept-Encoding", "Content-Length: 500",
    ]
    chunked = _Fetch(fetch.at, "HTTP/1.1", ((b"Transfer-Encoding", b"chunked"),), "GET", ())
    assert http_response_headers(chunked, b"abc", decoded_encoding=False, status=404).to_str().splitlines() == [
        "HTTP/1.1 404 Not Found", "X-Crawler-Transfer-Encoding: chunked", "Content-Length: 3"]


def test_header_bytes_beyond_ascii_are_archived_percent_encoded(tmp_path: Path) -> None:
    """HTTP allows any byte in a header value; warcio writes ASCII only: such bytes are
    percent-encoded, and the page is archived like any other."""
    archive = _archive(tmp_path)
    response = _response("http://127.0.0.1/a/", b"<html>a</html>")
    response.headers["X-Served-By"] = "café 100%".encode()
    response.headers["Link"] = '<http://127.0.0.1/ა/>; rel="shortlink"'.encode()
    archive.record(response, None)
    path = archive.finish()
    assert path is not None and archive.failed is None
    [record] = [r for r in read_warc(path) if r.type == "response"]
    assert record.http is not None and record.payload == b"<html>a</html>"
    assert record.http.get_header("X-Served-By") == "caf%C3%A9 100%"
    assert record.http.get_header("Link") == '<http://127.0.0.1/%E1%83%90/>; rel="shortlink"'
    assert record.http.get_header("Content-Type") == "text/html; charset=utf-8"


# --- multi-page posts and progress ------------------------------------------------------------
def test_reextract_joins_multi_page_posts(tmp_path: Path) -> None:
    case = json.loads((FIXTURES / "sample-mobile-library-multipage.json").read_text(encoding="utf-8"))
    url = case["_canonical_url"]
    pages = [FIXTURES / "sample-mobile-library-multipage.html", FIXTURES / "sample-mobile-library-multipage.page2.html"]
    path = tmp_path / "post.warc.gz"
    with path.open("wb") as fh:
        writer = WARCWriter(fh, gzip=True, warc_version="WARC/1.1")
        dates = ("2026-01-01T10:00:00.5Z", "2026-01-01T10:00:03.25Z")
        for number, (page, date) in enumerate(zip(pages, dates, strict=True), 1):
            body = page.read_bytes()
            page_url = url if number == 1 else url + f"{number}/"
            fields = {"WARC-Date": date, CANONICAL_HEADER: page_url, CALLBACK_HEADER: "parse_article"}
            if number > 1:
                fields[POST_PAGE_HEADER] = str(number)
            http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=UTF-8")], protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(page_url, "response", payload=BytesIO(body),
                                                          length=len(body), http_headers=http,
                                                          warc_headers_dict=fields))
    out = tmp_path / "post.jsonl"
    offline.reextract([path], out, jobs=1)
    [item] = read_jsonl(out)
    expected = {k: v for k, v in case.items() if not k.startswith("_")}
    assert {k: item[k] for k in expected} == expected
    assert item["crawled_at"] == "2026-01-01T10:00:03+00:00"  # fetch time of the last page
    # without its page 2 the post is incomplete, as in the crawl
    alone = tmp_path / "alone.warc.gz"
    with path.open("rb") as fh:
        first_member = next(iter(complete_members(fh)))
    alone.write_bytes(path.read_bytes()[:first_member])
    outcome = offline.reextract([alone], tmp_path / "alone.jsonl", jobs=1)
    assert read_jsonl(tmp_path / "alone.jsonl") == []
    assert outcome.stats["newsspider/reextract/skipped/multipage_incomplete"] == 1


class FakeTTY(BytesIO):
    def __init__(self) -> None:
        super().__init__()
        self.text = ""

    def isatty(self) -> bool:
        return True

    def write(self, text: Any) -> int:
        self.text += text
        return len(text)


def test_progress_on_a_tty_and_in_a_log(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    tty = FakeTTY()
    progress = offline.Progress(stream=tty, clock=lambda: now[0])  # type: ignore[arg-type]
    progress.start(256)
    now[0] = 2.0
    progress.scanned(64)  # a quarter of the records read in 2 s
    for n in range(40):
        progress.extracted(article=n % 4 != 0)
    progress.close()
    assert "\r" in tty.text and tty.text.endswith("\n")
    assert "reextract: 64 records read (25%), 30 articles, 15 articles/s, ETA 6s" in tty.text

    caplog.set_level("INFO", logger="newsspider.offline")
    now[0] = 0.0
    log = offline.Progress(stream=BytesIO(), interval=10, clock=lambda: now[0])  # type: ignore[arg-type]
    log.start(384)
    now[0] = 5.0
    log.scanned(128)  # before the interval: no line
    now[0] = 11.0
    log.scanned(192)
    log.extracted(article=True)
    lines = [r.getMessage() for r in caplog.records if "articles/s" in r.getMessage()]
    assert lines == ["reextract: 192 records read (50%), 0 articles, 0 articles/s, ETA 11s"]


def parse_article(response: Any) -> None:
    """Stands for the spider's article callback (its name goes into the archive)."""


def test_reextract_resolves_revisits_to_the_original_payload(tmp_path: Path) -> None:
    case = json.loads((FIXTURES / "sample-batumi-boulevard.json").read_text(encoding="utf-8"))
    expected = {k: v for k, v in case.items() if not k.startswith("_")}
    url = case["_canonical_url"]
    body = (FIXTURES / "sample-batumi-boulevard.html").read_bytes()

    def run(mode: str) -> str:
        """One crawl run (spider mode ``mode``) fetching the unchanged page; its WARC-Date."""
        archive = _archive(tmp_path)
        archive.crawler.spider = SimpleNamespace(name="georgiatoday", mode=mode, since=None, origins=OriginMap())
        archive.record(HtmlResponse(url=url, body=body, headers={"Content-Type": "text/html; charset=UTF-8"},
                                    request=Request(url, callback=parse_article)), None)
        path = archive.finish()
        assert path is not None
        [record] = [r for r in read_warc(path) if r.type in ("response", "revisit")]
        assert record.type == ("revisit" if dates else "response")
        time.sleep(1.01)  # crawled_at has whole seconds
        return record.headers["WARC-Date"]

    def rebuilt(**options: Any) -> list[dict[str, Any]]:
        out = tmp_path / "out.jsonl"
        offline.reextract([tmp_path], out, jobs=1, **options)
        return read_jsonl(out)

    def seconds(date: str) -> str:
        moment = parse_moment(date)
        assert moment is not None
        return moment.isoformat(timespec="seconds")

    dates: list[str] = []
    dates.append(run("full"))
    dates.append(run("incremental"))  # fetched again, unchanged: the crawl emitted nothing
    [item] = rebuilt()
    assert {k: item[k] for k in expected} == expected  # the revisit resolved to the page
    assert item["crawled_at"] == seconds(dates[0])
    dates.append(run("full"))  # a full run emits every article again
    [item] = rebuilt()
    assert item["crawled_at"] == seconds(dates[2])
    [first] = rebuilt(all_versions=True)  # one content: one version, the first fetch
    assert first["crawled_at"] == seconds(dates[0])
    # a revisit without its original cannot be resolved: nothing made up
    alone = tmp_path / "alone"
    alone.mkdir()
    newest = sorted(tmp_path.glob("*.warc.gz"))[-1]
    (alone / newest.name).write_bytes(newest.read_bytes())
    outcome = offline.reextract([alone], tmp_path / "none.jsonl", jobs=1)
    assert read_jsonl(tmp_path / "none.jsonl") == []
    assert outcome.stats["newsspider/reextract/skipped/missing_revisit_original"] == 1


SPIDER = '''
import scrapy


class EncodedSpider(scrapy.Spider):
    name = "encoded"

    async def start(self):
        yield scrapy.Request(self.url, callback=self.parse_article)

    def parse_article(self, response):
        return []
'''


def test_gzip_and_chunked_responses_are_stored_decoded_and_say_so(tmp_path: Path) -> None:
    """Through Scrapy's real downloader: the stored body is what the callback parsed
    (decoded), the headers are those received, marked where they no longer apply."""
    import gzip
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    page = ("<html><body>" + "Tbilisi news " * 500 + "</body></html>").encode()
    wire = gzip.compress(page)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("X-Served-By", "test")
            self.end_headers()
            for start in range(0, len(wire), 700):
                chunk = wire[start:start + 700]
                self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    spider = tmp_path / "encoded_spider.py"
    spider.write_text(SPIDER, encoding="utf-8")
    archive = tmp_path / "archive"
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/page/"
        result = scrapy_command(
            "runspider", str(spider), "-a", f"url={url}", "-s", "NEWSSPIDER_CRAWL_COMMAND=True",
            "-s", f"NEWSSPIDER_ARCHIVE_DIR={archive}", "-s", "NEWSSPIDER_STATE_PATH=", "-s", "ROBOTSTXT_OBEY=False",
            "-s", 'EXTENSIONS={"newsspider.crawl.archive.writer.WarcArchive": 400}', "-s", "LOG_LEVEL=INFO")
    finally:
        server.shutdown()
    assert result.returncode == 0, result.stderr[-3000:]
    [path] = archives(archive)
    [response] = [r for r in read_warc(path) if r.type == "response"]
    assert response.payload == page
    assert response.http is not None
    assert response.http.to_str().splitlines()[0] == "HTTP/1.1 200 OK"
    headers = [tuple(h) for h in response.http.headers]
    assert ("X-Crawler-Content-Encoding", "gzip") in headers
    # Twisted's HTTP client undoes the chunking and drops Transfer-Encoding before Scrapy
    # sees the headers: the body is whole, nothing claims otherwise
    assert not [h for h in headers if "transfer-encoding" in h[0].lower()]
    assert ("X-Served-By", "test") in headers
    assert response.http.get_header("Content-Length") == str(len(page))
    assert response.http.get_header("Content-Encoding") is None
    assert response.headers[CALLBACK_HEADER] == "parse_article"


def test_two_runs_starting_in_the_same_second_get_two_archive_names(tmp_path: Path) -> None:
    """scrapyd runs jobs side by side: a name whose .part is being written is taken."""
    from newsspider.crawl.archive.files import free_name

    first = tmp_path / "2026-11-30T10-53-17.warc.gz"
    assert free_name(first, also=".part") == first
    first.with_name(first.name + ".part").write_bytes(b"")
    second = free_name(first, also=".part")
    assert second.name == "2026-11-30T10-53-17-1.warc.gz"
    assert free_name(first) == first  # renaming its own .part at the end keeps the name
