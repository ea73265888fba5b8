"""Guards of the crawl's promises, written against behaviour only, so that they hold
through a rewrite of the crawl core: the real ``scrapy crawl`` in a subprocess against the
mirror server, observed through what it writes, what the server saw and the system calls
it makes (``cron_helpers.install_syscall_hooks``, installed before Scrapy starts).

* durability: each JSON Lines output is written, fsync'd, renamed, its directory fsync'd,
  and only then committed to the state (SQLite at ``synchronous=FULL``) — also for the
  files of a dead run finished at start-up;
* exactly once with two outputs: the state never claims an item one output does not hold
  durably (a failed fsync, a failed write), a file whose fsync failed is never renamed
  into place, and the next run delivers the rest;
* a stopped run exits 1 even with the health checks switched off;
* ``since`` keeps the articles of its own day;
* a mirror's redirects (301/302/307/308) to the real site, or to itself, stay on the mirror;
* an unchanged cron run costs a fixed handful of requests: 304s won by the ETag, and no
  post sitemap asked while the index's ``<lastmod>`` for it has not moved.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, crawl_env, dated_feeds, log_text, read_jsonl
from sitegen import SITE, SiteManifest, generate_site, local_path

from newsspider.crawl.run.state import State
from newsspider.dev.devserver import FaultPlan, FaultRule, MirrorServer

N_ARTICLES = 10

#: ``scrapy crawl`` with the system-call hooks of ``cron_helpers`` installed first.
HOOKED_SCRAPY = ("import cron_helpers; cron_helpers.install_syscall_hooks(); "
                 "from scrapy.cmdline import execute; execute()")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> SiteManifest:
    return generate_site(tmp_path_factory.mktemp("site") / "mirror", n_articles=N_ARTICLES, per_page=5,
                         term_archives=False)


def dated(directory: Path) -> dict[str, Any]:
    """A FEEDS entry as the default one: dated, atomic, no file without items."""
    return dated_feeds(directory)


class Crawls:
    """Runs of ``scrapy crawl georgiatoday`` on one state, as cron runs them, with the
    outputs chosen (FEEDS) and the system-call hooks configured by ``env``."""

    def __init__(self, tmp: Path) -> None:
        self.tmp, self.state = tmp, tmp / "state" / "georgiatoday.sqlite3"
        self.syscalls = tmp / "syscalls.jsonl"
        self.runs = 0

    def run(self, base_url: str, feeds: dict[str, Any], *extra: str, mode: str | None = "full",
            env: dict[str, str] | None = None) -> tuple[int, str]:
        self.runs += 1
        log = self.tmp / f"run{self.runs}.log"
        command = [sys.executable, "-c", HOOKED_SCRAPY, "crawl", "georgiatoday", "-a", f"base_url={base_url}",
                   *(["-a", f"mode={mode}"] if mode else []),
                   "-s", f"FEEDS={json.dumps(feeds)}", "-s", f"NEWSSPIDER_STATE_PATH={self.state}",
                   "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False",
                   "-s", "NEWSSPIDER_RETRY_BASE_DELAY=0", "-s", "NEWSSPIDER_RETRY_JITTER=0",
                   "-s", f"LOG_FILE={log}", "-s", "NEWSSPIDER_ARCHIVE_DIR=", *extra]
        result = subprocess.run(command, cwd=REPO, env={**crawl_env(), **(env or {})}, capture_output=True,
                                text=True, timeout=120)
        assert "Traceback" not in result.stderr, result.stderr[-3000:]
        return result.returncode, log_text(log)

    def events(self) -> list[dict[str, Any]]:
        return read_jsonl(self.syscalls)

    def articles_in_state(self) -> set[str]:
        if not self.state.exists():
            return set()
        with sqlite3.connect(self.state) as db:
            return {row[0] for row in db.execute("SELECT url FROM articles")}


def urls_in(directory: Path) -> list[str]:
    return [item["url"] for path in sorted(directory.glob("*.jsonl")) for item in read_jsonl(path)]


def summary(log: str) -> str:
    lines = [line for line in log.splitlines() if "Summary:" in line]
    assert len(lines) == 1, log[-3000:]
    return lines[0]


# --- durability: fsync, rename, directory fsync, then the state commit -------------------------
def index(events: list[dict[str, Any]], call: str, path: Path, to: Path | None = None) -> int:
    """The position of the (only) event ``call`` on ``path``."""
    found = [i for i, e in enumerate(events) if e["call"] == call and e["path"] == str(path)
             and (to is None or e.get("to") == str(to))]
    assert len(found) == 1, (call, str(path), events)
    return found[0]


def assert_durable_before_commit(events: list[dict[str, Any]], part: Path, final: Path, before: set[str]) -> None:
    """``part`` was fsync'd whole (its final size), then renamed to ``final``, then its
    directory fsync'd — and the state, still at ``before`` meanwhile, runs at FULL."""
    fsync, rename = index(events, "fsync", part), index(events, "rename", part, final)
    directory = [i for i, e in enumerate(events) if e["call"] == "fsync" and e["path"] == str(final.parent)
                 and i > rename]
    assert directory, f"the directory of {final} was not fsync'd after the rename"
    assert fsync < rename < directory[0], (fsync, rename, directory)
    assert events[fsync]["size"] == final.stat().st_size, "fsync'd before the file was complete"
    for event in (events[fsync], events[rename], events[directory[0]]):
        assert set(event["articles"]) == before, f"the state was committed before {event['call']} of {event['path']}"
        assert event["synchronous"] and set(event["synchronous"]) == {2}, event  # FULL


def test_each_output_is_fsynced_renamed_and_its_directory_fsynced_before_the_state_commit(
        tmp_path: Path, site: SiteManifest) -> None:
    """Also for a dead run's ``.part`` finished at start-up, and for an in-place (-o style)
    output; on an SQLite whose default is ``synchronous=NORMAL`` the state still runs FULL."""
    crawls = Crawls(tmp_path)
    out, inplace = tmp_path / "out", tmp_path / "inplace" / "all.jsonl"
    out.mkdir()
    dead = out / "2026-01-01T00-00-00.jsonl.part"  # a killed run's file: two whole items, one cut
    lines = [json.dumps(item) for item in site.items()[:3]]
    dead.write_text(lines[0] + "\n" + lines[1] + "\n" + lines[2][:50], encoding="utf-8")
    state = State(crawls.state)
    state.journal_open(str(dead))  # as that run did when it opened the file
    state.close()
    recovered = set(site.article_urls[:2])
    feeds = {**dated(out), str(inplace): {"format": "jsonlines"}}
    env = {"GUARD_SYSCALL_LOG": str(crawls.syscalls), "GUARD_STATE": str(crawls.state),
           "GUARD_SQLITE_SYNCHRONOUS": "NORMAL"}
    with MirrorServer(site.root) as server:
        status, log = crawls.run(server.base_url, feeds, env=env)
    assert status == 0, summary(log)
    events = crawls.events()
    # the dead run's file: cut after its last whole item, fsync'd, renamed, directory fsync'd, committed
    assert_durable_before_commit(events, dead, out / "2026-01-01T00-00-00.jsonl", set())
    assert sorted(i["url"] for i in read_jsonl(out / "2026-01-01T00-00-00.jsonl")) == sorted(recovered)
    # this run's dated output
    [(part, final)] = [(Path(e["path"]), Path(e["to"])) for e in events
                       if e["call"] == "rename" and e["path"] != str(dead)]
    assert_durable_before_commit(events, part, final, recovered)
    # the in-place output: fsync'd whole, before the commit
    fsync = index(events, "fsync", inplace)
    assert events[fsync]["size"] == inplace.stat().st_size and set(events[fsync]["articles"]) == recovered
    assert set(events[fsync]["synchronous"]) == {2}
    # and then the commit: everything the outputs hold
    assert crawls.articles_in_state() == set(site.article_urls)
    assert sorted(i["url"] for i in read_jsonl(inplace)) == sorted(site.article_urls)


# --- exactly once with two outputs -------------------------------------------------------------
def test_a_failed_fsync_of_one_output_keeps_it_as_part_commits_nothing_and_the_next_run_delivers(
        tmp_path: Path, site: SiteManifest) -> None:
    """Two dated outputs; fsync(2) of one fails with EIO when it is stored: that file is not
    renamed into place (its items are not known to be on disk), the run exits 1, and the
    state claims nothing — not even what the other output holds.  The next run finishes the
    kept ``.part`` and both outputs hold every article once."""
    crawls = Crawls(tmp_path)
    a, b = tmp_path / "a", tmp_path / "b"
    feeds = {**dated(a), **dated(b)}
    with MirrorServer(site.root) as server:
        status, log = crawls.run(server.base_url, feeds, env={"GUARD_EIO": f"fsync:{b}/*.part"})
        assert status == 1, summary(log)
        assert "health=unhealthy" in summary(log) and "Input/output error" in summary(log), summary(log)
        assert sorted(urls_in(a)) == sorted(site.article_urls)
        assert list(b.glob("*.jsonl")) == [] and len(list(b.glob("*.part"))) == 1, sorted(os.listdir(b))
        assert crawls.articles_in_state() == set(), "the state claims items an output does not hold durably"
        status, log = crawls.run(server.base_url, feeds, mode=None)
    assert status == 0, summary(log)
    for output in (a, b):
        assert sorted(urls_in(output)) == sorted(site.article_urls), output
        assert not list(output.glob("*.part"))
    assert crawls.articles_in_state() == set(site.article_urls)


def test_a_failed_write_of_one_output_commits_what_both_hold_and_the_next_run_delivers_the_rest(
        tmp_path: Path, site: SiteManifest) -> None:
    """Two dated outputs; write(2) to one fails with EIO mid-run: that file keeps its whole
    lines, the run exits 1, the state claims only what both outputs hold, and the next run
    delivers the rest: the failed output then holds every article once (the other one holds
    them all, the line it got past the failure twice)."""
    crawls = Crawls(tmp_path)
    a, b = tmp_path / "a", tmp_path / "b"
    feeds = {**dated(a), **dated(b)}
    with MirrorServer(site.root) as server:
        status, log = crawls.run(server.base_url, feeds, env={"GUARD_EIO": f"write:{b}/*.part:20000"})
        assert status == 1, summary(log)
        assert "health=unhealthy" in summary(log) and "Input/output error" in summary(log), summary(log)
        written = urls_in(b)  # every line whole: read_jsonl parsed it
        assert 0 < len(written) < N_ARTICLES and not list(b.glob("*.part"))
        assert set(written) <= set(urls_in(a))
        assert crawls.articles_in_state() == set(written)
        status, log = crawls.run(server.base_url, feeds, mode=None)
    assert status == 0, summary(log)
    assert sorted(urls_in(b)) == sorted(site.article_urls)
    assert set(urls_in(a)) == set(site.article_urls)
    assert crawls.articles_in_state() == set(site.article_urls)


# --- exit status --------------------------------------------------------------------------------
@pytest.mark.parametrize("broken", ["output", "state"])
def test_a_stopped_run_exits_1_with_the_health_checks_off(tmp_path: Path, site: SiteManifest, broken: str) -> None:
    """``NEWSSPIDER_HEALTH_ENABLED=False`` silences the thresholds, never a run that could
    not write its output or its state (it stops before fetching anything)."""
    crawls = Crawls(tmp_path)
    out = tmp_path / "out"
    if broken == "output":
        out.write_text("a file where the output directory should be")
    else:
        crawls.state.mkdir(parents=True)  # a directory where the SQLite file should be
    with MirrorServer(site.root) as server:
        status, log = crawls.run(server.base_url, dated(out), "-s", "NEWSSPIDER_HEALTH_ENABLED=False")
        assert len(server.requests) == 0
    reason = "Could not write the output" if broken == "output" else "Could not use the crawl state"
    assert status == 1, summary(log)
    assert "health=unhealthy" in summary(log) and reason in summary(log), summary(log)


# --- since ---------------------------------------------------------------------------------------
def test_since_keeps_the_articles_of_its_own_day_and_none_of_the_day_before(
        tmp_path: Path, site: SiteManifest) -> None:
    days = sorted({a.published[:10] for a in site.articles})
    since = days[1]
    assert date.fromisoformat(days[0]) == date.fromisoformat(since) - timedelta(days=1)
    expected = sorted(a.url for a in site.articles if a.published[:10] >= since)
    assert any(a.published.startswith(since) for a in site.articles)  # the day itself has articles
    crawls = Crawls(tmp_path)
    with MirrorServer(site.root) as server:
        status, log = crawls.run(server.base_url, dated(tmp_path / "out"), "-a", f"since={since}")
    assert status == 0, summary(log)
    assert sorted(urls_in(tmp_path / "out")) == expected


# --- a mirror's redirects --------------------------------------------------------------------------
REDIRECTS = (301, 302, 307, 308)
#: Where a moved post's old URL on the mirror sends the crawler: the real site (as WordPress
#: writes it behind a mirror), another form of its origin, the mirror itself (absolute).
LOCATIONS = {"site": SITE, "www": "https://www.georgiatoday.ge", "mirror": ""}


def test_a_mirror_redirect_to_any_form_of_the_site_is_followed_on_the_mirror(tmp_path: Path) -> None:
    """A post moved to a new slug: on the mirror its old URL answers 301/302/307/308 with
    ``Location: https://georgiatoday.ge/<new slug>/`` (or ``www.``, or the mirror's own
    address).  Each is followed on the mirror and the article comes out once, under its
    new canonical URL (one moved article per status and form, in one crawl)."""
    site = generate_site(tmp_path / "mirror", n_articles=16, per_page=5, term_archives=False)
    english = iter(a for a in site.articles if a.language == "en")
    moved: dict[tuple[int, str], tuple[str, str]] = {}  # (status, form) -> (old URL, new URL)
    rules = []
    for status in REDIRECTS:
        for form, origin in LOCATIONS.items():
            article = next(english)
            new_path = article.path.rstrip("/") + "-moved/"
            page = (site.root / article.path.strip("/") / "index.html").read_text(encoding="utf-8")
            (site.root / new_path.strip("/")).mkdir()
            (site.root / new_path.strip("/") / "index.html").write_text(page.replace(article.url, SITE + new_path),
                                                                         encoding="utf-8")
            rules.append(FaultRule(article.path, redirect_to=origin + new_path, redirect_status=status))
            moved[status, form] = (article.url, SITE + new_path)
    expected = sorted({*site.article_urls} - {old for old, _ in moved.values()} | {new for _, new in moved.values()})
    crawls = Crawls(tmp_path)
    with MirrorServer(site.root, faults=FaultPlan(rules)) as server:
        status, log = crawls.run(server.base_url, dated(tmp_path / "out"))
        answered = {(r.path, r.status) for r in server.requests}
    urls = urls_in(tmp_path / "out")
    for (code, form), (old, new) in moved.items():
        assert (local_path(old), code) in answered  # the redirect was met...
        assert urls.count(new) == 1, f"{code} to {form}: {new} found {urls.count(new)} times"  # ...and followed
    assert sorted(urls) == expected
    assert status == 0, summary(log)


# --- the cost of an unchanged cron run -----------------------------------------------------------
def test_an_unchanged_incremental_run_makes_11_requests_wins_304s_by_etag_and_asks_no_post_sitemap(
        tmp_path: Path) -> None:
    """After a full run the site is regenerated byte for byte (every file gets a new mtime,
    so only the ETag still says "unchanged"): the next incremental run asks robots.txt, the
    home page, the feed, the sitemap index and each category's first page — the index and
    the categories answered 304 to ``If-None-Match`` — and no post sitemap.  Then, against a
    server that ignores conditional requests, the index is read again and the post sitemap,
    whose ``<lastmod>`` in the index has not moved, is still not asked."""
    site = generate_site(tmp_path / "mirror", n_articles=N_ARTICLES, per_page=5, term_archives=False)
    categories = {local_path(c.url) for c in site.categories}
    expected = {"/robots.txt", "/", "/feed/", "/sitemap_index.xml", *categories}
    assert len(expected) == 11
    crawls = Crawls(tmp_path)
    feeds = dated(tmp_path / "out")
    with MirrorServer(site.root) as server:
        status, log = crawls.run(server.base_url, feeds)
        assert status == 0, summary(log)
        assert server.requests.count("/post-sitemap.xml") == 1
        for file in site.root.rglob("*"):
            stat = file.stat()
            os.utime(file, (stat.st_atime, stat.st_mtime + 3600))
        server.requests.clear()
        status, log = crawls.run(server.base_url, feeds, mode=None)
        requests = server.requests.snapshot()
    assert status == 0, summary(log)
    assert sorted(r.path for r in requests) == sorted(expected)
    answers = {r.path: r for r in requests}
    for path in ("/sitemap_index.xml", *categories):
        assert answers[path].status == 304 and "If-None-Match" in answers[path].headers, (path, answers[path])
    assert len(list((tmp_path / "out").glob("*.jsonl"))) == 1  # the full run's: nothing new since
    port = int(server.base_url.rsplit(":", 1)[1])  # the same base_url: the state is bound to it
    with MirrorServer(site.root, conditional=False, port=port) as server:
        status, log = crawls.run(server.base_url, feeds, mode=None)
        requests = server.requests.snapshot()
    assert status == 0, summary(log)
    assert sorted(r.path for r in requests) == sorted(expected)
    assert {r.status for r in requests} == {200}
