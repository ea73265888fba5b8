"""End to end: the real ``scrapy crawl`` on the bundled snapshot reproduces truth.jsonl.

``newsspider/dev/snapshot/site`` is the public georgiatoday.ge sample (home, a category with page 2, four
articles — one in two pages, one Georgian with a percent-encoded slug — a static page,
robots.txt, sitemaps, feed); its ``truth.jsonl`` holds the exact expected items.  Related
posts and most listing entries point at articles that are not in the sample: dead links.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import REPO, log_records, read_jsonl, run_crawl

from newsspider.dev.devserver import MirrorServer

SITE = REPO / "newsspider" / "dev" / "snapshot" / "site"
TRUTH = REPO / "newsspider" / "dev" / "snapshot" / "truth.jsonl"
INFORMATIONAL = {"features", "bad"}


@pytest.fixture(scope="module")
def crawl(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict], Path, int, list]:
    tmp = tmp_path_factory.mktemp("snapshot")
    out = tmp / "out.jsonl"
    with MirrorServer(SITE) as server:
        result = run_crawl(server.base_url, out)
        requests = server.requests.snapshot()
    return read_jsonl(out), out.with_suffix(".log"), result.returncode, requests


def test_exit_status_zero_and_no_error_records(crawl: tuple) -> None:
    _, log, status, _ = crawl
    assert status == 0
    assert log_records(log, "ERROR") == []
    assert log_records(log, "CRITICAL") == []


def test_every_article_once_and_field_for_field(crawl: tuple, schema_validator) -> None:
    items, *_ = crawl
    truth = read_jsonl(TRUTH)
    by_url = {item["url"]: item for item in items}
    assert len(by_url) == len(items), "duplicate items"
    assert sorted(by_url) == sorted(t["url"] for t in truth), "missing or extra items"
    for expected in truth:
        got = by_url[expected["url"]]
        for field, value in expected.items():
            if field not in INFORMATIONAL:
                assert got[field] == value, f"{expected['url']}: {field}"
        assert got["word_count"] == len(got["body"].split())
        assert got["source"] == "Georgia Today"
        schema_validator.validate(got)


def test_dead_links_are_warnings_not_errors(crawl: tuple) -> None:
    _, log, _, requests = crawl
    dead = [r for r in requests if r.status == 404]
    assert dead, "the snapshot links to articles it does not hold"
    warnings = "\n".join(log_records(log, "WARNING"))
    assert "Dead link (HTTP 404)" in warnings


def test_static_page_and_listings_never_emitted(crawl: tuple) -> None:
    items, *_ = crawl
    urls = {item["url"] for item in items}
    assert not any("/category/" in u or u.endswith("/about-us/") or u == "https://georgiatoday.ge/" for u in urls)


def test_fetches_stay_on_base_url_and_identify_themselves(crawl: tuple) -> None:
    _, _, _, requests = crawl
    assert requests
    assert all("newsspider" in (r.user_agent or "") for r in requests)
    assert any(r.path.startswith("/category/politics/page/2/") for r in requests), "pagination followed"


def test_mirror_served_under_a_path_prefix(tmp_path: Path) -> None:
    """``base_url`` may carry a path (a mirror of several sites, an archive): every request
    stays under it and the items are the same, with canonical URLs."""
    root = tmp_path / "www"
    shutil.copytree(SITE, root / "archive" / "georgiatoday")
    out = tmp_path / "out.jsonl"
    with MirrorServer(root) as server:
        result = run_crawl(server.base_url + "/archive/georgiatoday/", out)
        requests = server.requests.snapshot()
    assert result.returncode == 0, result.stderr[-2000:]
    assert log_records(out.with_suffix(".log"), "ERROR") == []
    truth = {item["url"]: item for item in read_jsonl(TRUTH)}
    items = read_jsonl(out)
    assert sorted(item["url"] for item in items) == sorted(truth)
    for item in items:
        assert item["body"] == truth[item["url"]]["body"]
        assert item["title"] == truth[item["url"]]["title"]
    # robots.txt too: the site's rules are those of the copy under the prefix
    outside = {r.path for r in requests if not r.path.startswith("/archive/georgiatoday/")}
    assert outside == set()
    assert any(r.path == "/archive/georgiatoday/robots.txt" for r in requests)
    assert any(r.path == "/archive/georgiatoday/category/politics/page/2/" for r in requests)


def test_local_mirror_politeness_relaxed_but_command_line_kept(crawl: tuple) -> None:
    """The test crawl sets DOWNLOAD_DELAY and AutoThrottle with -s: only the concurrency
    per domain is relaxed for the 127.0.0.1 mirror, and the log says so."""
    _, log, _, _ = crawl
    line = next(r for r in log_records(log, "INFO") if "is on this machine" in r)
    assert "CONCURRENT_REQUESTS_PER_DOMAIN=8" in line
    assert "DOWNLOAD_DELAY" not in line and "AUTOTHROTTLE" not in line


def test_robots_txt_downloaded_once(crawl: tuple) -> None:
    """The robots middleware and the spider (for the Sitemap: lines) share one download."""
    _, _, _, requests = crawl
    assert [r.path for r in requests].count("/robots.txt") == 1
    assert any(r.path == "/sitemap_index.xml" for r in requests), "the Sitemap: lines were still read"
