"""Fault injection end to end: the real ``scrapy crawl`` against a synthetic mirror
(``tests/sitegen.py``) served by ``newsspider.dev.devserver.MirrorServer`` with faults.

Three crawls, each asserted from the JSON Lines output, the log file and the server's
request log:

* ``eval_crawl`` — the evaluation's scenario with the default retry settings: first-try
  503s and 429s (``Retry-After: 1``) on many articles, a listing page failing twice, a
  slow article, a dropped connection, a short body.  Every article is captured exactly
  once with its exact fields, exit status 0, no ERROR line, Retry-After respected.
* ``hostile_crawl`` — robots.txt ``Disallow`` + ``Crawl-delay``, a permanent 500, 404/410
  links, an old slug redirecting to the new one, a redirect loop, an off-site redirect,
  pages over ``DOWNLOAD_MAXSIZE``, a huge inline script, a non-HTML body, truncated and
  empty pages, NUL bytes, a BOM contradicting the meta charset.
* ``robots_down_crawl`` — robots.txt itself answering 503: the crawl goes on.
"""

from __future__ import annotations

import itertools
import re
import sqlite3
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from conftest import FIXTURES, log_records, read_jsonl, run_crawl
from sitegen import SiteManifest, generate_site

from newsspider.dev.devserver import FaultPlan, FaultRule, LoggedRequest, MirrorServer

COMPARED = ("url", "post_id", "title", "subtitle", "summary", "authors", "published", "modified",
            "categories", "tags", "body", "image_url", "image_caption", "image_credit", "language")
CRAWL_DELAY = 0.25


@dataclass
class Crawl:
    items: list[dict[str, Any]]
    log: str
    log_file: Path
    status: int
    requests: list[LoggedRequest]
    manifest: SiteManifest
    state_path: Path
    seconds: float

    def stat(self, key: str) -> int:
        match = re.search(rf"'{re.escape(key)}': (\d+)", self.log)
        return int(match.group(1)) if match else 0

    def hits(self, path: str) -> list[LoggedRequest]:
        wanted = unquote(path)
        return [r for r in self.requests if unquote(r.path.split("?", 1)[0]) == wanted]

    def by_url(self) -> dict[str, list[dict[str, Any]]]:
        found: dict[str, list[dict[str, Any]]] = {}
        for item in self.items:
            found.setdefault(item["url"], []).append(item)
        return found


def _crawl(tmp: Path, manifest: SiteManifest, faults: FaultPlan, *settings: str) -> Crawl:
    out = tmp / "out.jsonl"
    extra = [arg for s in settings for arg in ("-s", s)]
    started = time.monotonic()
    with MirrorServer(manifest.root, faults=faults) as server:
        result = run_crawl(server.base_url, out, *extra, timeout=120)
        requests = server.requests.snapshot()
    log_file = out.with_suffix(".log")
    log = log_file.read_text(encoding="utf-8") if log_file.exists() else ""
    return Crawl(read_jsonl(out), log, log_file, result.returncode, requests, manifest,
                 out.with_suffix(".state.sqlite3"), time.monotonic() - started)


def _assert_clean_run(crawl: Crawl) -> None:
    assert crawl.status == 0, crawl.log[-3000:]
    assert log_records(crawl.log_file, "ERROR") == []
    assert log_records(crawl.log_file, "CRITICAL") == []
    assert "Traceback" not in crawl.log


def _assert_exact(crawl: Crawl, urls: list[str]) -> None:
    found = crawl.by_url()
    for url in urls:
        assert len(found.get(url, [])) == 1, f"{url}: {len(found.get(url, []))} items"
        expected, got = crawl.manifest.article(url).item(), found[url][0]
        for name in COMPARED:
            assert got[name] == expected[name], (url, name)


def _retry_gaps(crawl: Crawl, path: str) -> list[tuple[int, float]]:
    """(status of a failed try, seconds until the next try) for one path."""
    hits = crawl.hits(path)
    return [(a.status, b.time - a.time) for a, b in itertools.pairwise(hits)]


# --------------------------------------------------------------------------- 1. evaluation

@pytest.fixture(scope="module")
def eval_crawl(tmp_path_factory: pytest.TempPathFactory) -> Crawl:
    tmp = tmp_path_factory.mktemp("eval")
    manifest = generate_site(tmp / "site", n_articles=24, per_page=5, seed=4,
                             categories=["News", "Politics", "Culture"], term_archives=False)
    paths = [a.path for a in manifest.articles]
    rules = [FaultRule(p, statuses=[503, 200]) for p in paths[0:6]]
    rules += [FaultRule(p, statuses=[429, 200], retry_after="1") for p in paths[6:12]]
    rules += [FaultRule(p, statuses=[503, 200], retry_after="1") for p in paths[12:14]]
    rules += [
        FaultRule(paths[14], delay=4.0, times=1),  # slow article
        FaultRule(paths[15], drop=True, times=1),  # connection dropped without a response
        FaultRule(paths[16], short_body=True, times=1),  # half the bytes, then closed
    ]
    listing = unquote(manifest.categories[1].page_urls[1].removeprefix("https://georgiatoday.ge"))
    rules.append(FaultRule(listing, statuses=[503, 503, 200]))
    return _crawl(tmp, manifest, FaultPlan(rules=rules))


def test_eval_scenario_captures_every_article_once(eval_crawl: Crawl) -> None:
    _assert_clean_run(eval_crawl)
    urls = eval_crawl.manifest.article_urls
    assert sorted(eval_crawl.by_url()) == sorted(urls)
    _assert_exact(eval_crawl, urls)


def test_eval_scenario_retry_after_and_backoff_respected(eval_crawl: Crawl) -> None:
    paths = [a.path for a in eval_crawl.manifest.articles]
    for path in paths[6:14]:  # Retry-After: 1
        gaps = _retry_gaps(eval_crawl, path)
        assert gaps and gaps[0][0] in (429, 503)
        assert gaps[0][1] >= 0.95, (path, gaps)
    for path in paths[0:6]:  # no Retry-After: backoff 1 s +-50 %
        gaps = _retry_gaps(eval_crawl, path)
        assert gaps and gaps[0][1] >= 0.45, (path, gaps)
    listing = eval_crawl.manifest.categories[1].page_urls[1].removeprefix("https://georgiatoday.ge")
    statuses = [r.status for r in eval_crawl.hits(listing)]
    assert statuses == [503, 503, 200]
    gaps = _retry_gaps(eval_crawl, listing)
    assert gaps[1][1] > gaps[0][1] * 0.5 and gaps[1][1] >= 0.95  # exponential: ~1 s, then ~2 s
    # nothing hammered: no path requested more than its faults need
    counts = Counter(unquote(r.path) for r in eval_crawl.requests)
    assert max(counts.values()) <= 3
    assert eval_crawl.stat("retry/count") >= 17  # Scrapy's own retry stats (get_retry_request)


def test_eval_scenario_fast_enough(eval_crawl: Crawl) -> None:
    assert eval_crawl.seconds < 25  # the slowdown must not turn first-try faults into a crawl


# --------------------------------------------------------------------------- 2. hostile site

def _with_sitemap_links(root: Path, urls: list[str]) -> None:
    """Add URLs to the Yoast post sitemap (as stale/odd sitemap entries would be)."""
    sitemap = root / "post-sitemap.xml"
    text = sitemap.read_text(encoding="utf-8")
    entries = "".join(f"<url><loc>{u}</loc></url>\n" for u in urls)
    sitemap.write_text(text.replace("</urlset>", entries + "</urlset>"), encoding="utf-8")


def _inject_script(html: bytes, size: int) -> bytes:
    script = b"<script>var blob = '" + b"x" * size + b"';</script>"
    return html.replace(b"</head>", script + b"</head>", 1)


@pytest.fixture(scope="module")
def hostile_crawl(tmp_path_factory: pytest.TempPathFactory) -> Crawl:
    tmp = tmp_path_factory.mktemp("hostile")
    site = tmp / "site"
    manifest = generate_site(site, n_articles=12, per_page=6, seed=7, categories=["News", "Politics"],
                             term_archives=False)
    a = manifest.articles
    page = {x.path: (site / unquote(x.path).strip("/") / "index.html") for x in a}
    robots = (site / "robots.txt").read_text(encoding="utf-8")
    robots = robots.replace("Disallow: /wp-admin/", f"Disallow: /wp-admin/\nDisallow: {a[0].path}\n"
                            f"Crawl-delay: {CRAWL_DELAY}")
    (site / "robots.txt").write_text(robots, encoding="utf-8")
    # pages over the size limit / with a huge inline script under it
    page[a[2].path].write_bytes(_inject_script(page[a[2].path].read_bytes(), 1_500_000))
    page[a[3].path].write_bytes(_inject_script(page[a[3].path].read_bytes(), 600_000))
    # NUL bytes inside the article; a BOM contradicting the meta charset
    raw = page[a[4].path].read_bytes()
    page[a[4].path].write_bytes(raw.replace(b"<p>", b"<p>\x00", 3).replace(b"</p>", b"\x00</p>", 2))
    raw = page[a[5].path].read_bytes()
    page[a[5].path].write_bytes(b"\xef\xbb\xbf" + re.sub(rb'charset="?UTF-8"?', b'charset="windows-1251"', raw,
                                                         flags=re.I))
    # broken pages at extra URLs (sitemap entries)
    broken = {"truncated-page": (FIXTURES / "truncated-html.html").read_bytes(),
              "empty-shell": (FIXTURES / "empty-content-shell.html").read_bytes(),
              "cut-in-half": page[a[6].path].read_bytes()[:40_000]}
    for slug, body in broken.items():
        (site / slug).mkdir()
        (site / slug / "index.html").write_bytes(body)
    (site / "files").mkdir()
    (site / "files" / "report.pdf").write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n")
    extra = ["old-slug-of-article", "gone-article", "deleted-article", "loop-a", "offsite-redirect", "files/report.pdf",
             *broken]
    _with_sitemap_links(site, [f"https://georgiatoday.ge/{p}" + ("" if p.endswith(".pdf") else "/")
                               for p in extra])
    rules = [
        FaultRule(a[1].path, statuses=[500]),  # permanent 5xx
        FaultRule("/old-slug-of-article/", redirect_to=a[7].path),
        FaultRule("/gone-article/", statuses=[410]),
        FaultRule("/loop-a/", redirect_to="/loop-b/"),
        FaultRule("/loop-b/", redirect_to="/loop-a/"),
        FaultRule("/offsite-redirect/", redirect_to="https://example.com/elsewhere/", redirect_status=302),
    ]
    # Deliberately unhealthy (a permanent 500, many broken pages): the health verdict and its
    # exit status belong to the cron tests; here the crawl itself must not fail.
    return _crawl(tmp, manifest, FaultPlan(rules=rules), "NEWSSPIDER_HEALTH_ENABLED=False",
                  "RETRY_TIMES=2", "NEWSSPIDER_RETRY_BASE_DELAY=0.2",
                  "DOWNLOAD_MAXSIZE=1000000", "DOWNLOAD_WARNSIZE=500000")


def test_hostile_site_no_crash_no_error(hostile_crawl: Crawl) -> None:
    _assert_clean_run(hostile_crawl)


def test_hostile_site_reachable_articles_captured_once(hostile_crawl: Crawl) -> None:
    a = hostile_crawl.manifest.articles
    unreachable = {a[0].url, a[1].url, a[2].url}  # disallowed, permanent 500, too large
    reachable = [x.url for x in a if x.url not in unreachable]
    found = hostile_crawl.by_url()
    assert sorted(found) == sorted(reachable)  # nothing else: broken pages are drops
    exact = [u for u in reachable if u != a[4].url]  # a[4] has NULs inside its paragraphs
    _assert_exact(hostile_crawl, exact)
    assert len(found[a[4].url]) == 1 and found[a[4].url][0]["body"]
    assert "\x00" not in found[a[4].url][0]["body"]


def test_hostile_site_robots_rules_kept(hostile_crawl: Crawl) -> None:
    a = hostile_crawl.manifest.articles
    assert hostile_crawl.hits(a[0].path) == []  # Disallow: never fetched
    robots_at = min(r.time for r in hostile_crawl.requests if r.path == "/robots.txt")
    times = sorted(r.time for r in hostile_crawl.requests if r.time > robots_at)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(gaps) > 20
    assert min(gaps) >= CRAWL_DELAY * 0.9, sorted(gaps)[:5]


def test_hostile_site_failures_recorded_and_reported(hostile_crawl: Crawl) -> None:
    a = hostile_crawl.manifest.articles
    assert [r.status for r in hostile_crawl.hits(a[1].path)] == [500, 500, 500]  # 1 + RETRY_TIMES
    assert hostile_crawl.stat("retry/max_reached") == 1
    assert hostile_crawl.stat("newsspider/failed/http_500") == 1
    assert re.search(r"WARNING: Request failed \(HTTP 500\): .*" + re.escape(a[1].path) + ".*asked again next run",
                     hostile_crawl.log)
    assert re.search(r"WARNING: 1 URL\(s\) failed and will be asked again by the next run: .*" + re.escape(a[1].url),
                     hostile_crawl.log)
    summary = re.search(r"INFO: Summary: .*", hostile_crawl.log)
    assert summary is not None
    assert "failed_requests=1 " in summary.group(0), summary.group(0)
    with sqlite3.connect(hostile_crawl.state_path) as db:
        pending = dict(db.execute("SELECT url, reason FROM pending").fetchall())
    assert pending.get(a[1].url) == "http_500", pending


def test_hostile_site_dead_links_once_redirects_followed(hostile_crawl: Crawl) -> None:
    crawl = hostile_crawl
    assert [r.status for r in crawl.hits("/gone-article/")] == [410]  # not retried
    assert [r.status for r in crawl.hits("/deleted-article/")] == [404]
    assert len(re.findall(r"WARNING: .*gone-article", crawl.log)) == 1  # logged once
    assert len(re.findall(r"WARNING: .*deleted-article", crawl.log)) == 1
    assert crawl.stat("newsspider/failed/http_404") >= 1
    assert crawl.stat("newsspider/failed/http_410") == 1
    assert len(crawl.hits("/loop-a/")) + len(crawl.hits("/loop-b/")) <= 25
    assert not any("elsewhere" in r.path for r in crawl.requests)
    assert crawl.stat("offsite/filtered") >= 1  # the off-site redirect target was never fetched
    assert [r.status for r in crawl.hits("/old-slug-of-article/")] == [301]


def test_hostile_site_bad_pages_are_counted_drops(hostile_crawl: Crawl) -> None:
    crawl = hostile_crawl
    assert crawl.stat("newsspider/dropped/too_large") == 1
    assert re.search(r"WARNING: Broken article page dropped: .*" + re.escape(crawl.manifest.articles[2].path)
                     + r".*\(too_large\)", crawl.log)
    assert len(crawl.hits("/files/report.pdf")) == 1  # a PDF: skipped with a reason
    assert crawl.stat("newsspider/skipped/not_html") + crawl.stat("newsspider/skipped/not_a_post") >= 1
    dropped = sum(crawl.stat(f"newsspider/dropped/{r}") for r in
                  ("truncated_page", "no_content_container", "missing_body", "missing_title",
                   "missing_published", "missing_authors"))
    assert dropped >= 3  # truncated-page, empty-shell, cut-in-half


# --------------------------------------------------------------------------- 3. robots.txt down

@pytest.fixture(scope="module")
def robots_down_crawl(tmp_path_factory: pytest.TempPathFactory) -> Crawl:
    tmp = tmp_path_factory.mktemp("robots")
    manifest = generate_site(tmp / "site", n_articles=5, per_page=5, seed=3, categories=["News"],
                             term_archives=False)
    faults = FaultPlan(robots_status=503, robots_retry_after="1")
    return _crawl(tmp, manifest, faults, "NEWSSPIDER_RETRY_BASE_DELAY=0.1", "NEWSSPIDER_RETRY_AFTER_MAX=0.2")


def test_robots_txt_failing_does_not_stop_the_crawl(robots_down_crawl: Crawl) -> None:
    crawl = robots_down_crawl
    _assert_clean_run(crawl)
    assert sorted(crawl.by_url()) == sorted(crawl.manifest.article_urls)
    assert re.search(r"WARNING: robots\.txt of \S+ answered HTTP 503 after retries", crawl.log)
    assert crawl.stat("newsspider/robotstxt/unavailable") == 1
    # the middleware's fetch and the spider's own (for sitemaps): 1 + 2 retries each
    assert len(crawl.hits("/robots.txt")) <= 3 + 3
    assert not re.search(r"'newsspider/failed/", crawl.log)  # not a failed page
    assert crawl.stat("newsspider/skipped/robots_unavailable") == 1
