"""Issue 3: scheduled runs — state, incremental mode, lock, crash safety, exit status.

Every test runs the real ``scrapy crawl georgiatoday`` in a subprocess against a small
synthetic mirror (``tests/sitegen.py``) served on 127.0.0.1 (``newsspider.dev.devserver``).
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, crawl_command, crawl_env, dated_feeds, log_text, read_jsonl, summary_fields, summary_line
from sitegen import SiteManifest, generate_site, local_path

from newsspider import settings
from newsspider.crawl.run.state import State, StateLock
from newsspider.dev.devserver import FaultPlan, FaultRule, MirrorServer

N_ARTICLES = 40
PER_PAGE = 5

PIPELINES = settings.ITEM_PIPELINES


def crawl(
    base_url: str,
    tmp: Path,
    name: str,
    *extra: str,
    mode: str | None = "full",
    output: bool = True,
    state: Path | None = None,
    wait: bool = True,
) -> Any:
    """``scrapy crawl georgiatoday`` as cron (or the evaluation) runs it, retries without
    waiting; returns the CompletedProcess (or the Popen with ``wait=False``)."""
    command = crawl_command(
        base_url, "-s", "NEWSSPIDER_RETRY_BASE_DELAY=0", "-s", "NEWSSPIDER_RETRY_JITTER=0", *extra,
        output=tmp / f"{name}.jsonl" if output else None, mode=mode,
        log_file=tmp / f"{name}.log", state=state or tmp / "state.sqlite3",
    )
    if not wait:
        return subprocess.Popen(command, cwd=REPO, env=crawl_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return subprocess.run(command, cwd=REPO, env=crawl_env(), capture_output=True, text=True, timeout=120)


def log_of(tmp: Path, name: str) -> str:
    return log_text(tmp / f"{name}.log")


def summary(tmp: Path, name: str) -> str:
    return summary_line(tmp / f"{name}.log")


@pytest.fixture(scope="module")
def site_v1(tmp_path_factory: pytest.TempPathFactory) -> SiteManifest:
    return generate_site(tmp_path_factory.mktemp("site") / "mirror", n_articles=N_ARTICLES,
                         per_page=PER_PAGE, term_archives=False)


# --- incremental mode ------------------------------------------------------------------------
def test_full_then_incremental_unchanged_then_v2(tmp_path: Path) -> None:
    root = tmp_path / "mirror"
    v1 = generate_site(root, n_articles=N_ARTICLES, per_page=PER_PAGE, term_archives=False)
    with MirrorServer(root) as server:
        run1 = crawl(server.base_url, tmp_path, "run1", mode="full")
        assert run1.returncode == 0, run1.stderr[-2000:]
        assert sorted(i["url"] for i in read_jsonl(tmp_path / "run1.jsonl")) == sorted(v1.article_urls)
        assert "new=40 updated=0" in summary(tmp_path, "run1")
        with sqlite3.connect(tmp_path / "state.sqlite3") as db:
            assert db.execute("SELECT COUNT(*) FROM articles").fetchone()[0] == N_ARTICLES

        # Unchanged site: nothing emitted, only robots/feed/sitemaps/first listing pages.
        server.requests.clear()
        run2 = crawl(server.base_url, tmp_path, "run2", mode="incremental")
        assert run2.returncode == 0, run2.stderr[-2000:]
        # -O with zero items: Scrapy still writes the (empty) file; a missing one is a bug.
        assert (tmp_path / "run2.jsonl").is_file(), "run 2 wrote no -O file"
        assert (tmp_path / "run2.jsonl").read_bytes() == b""
        paths = server.requests.paths()
        allowed = {"/robots.txt", "/", "/feed/", "/sitemap_index.xml", "/post-sitemap.xml"}
        allowed |= {local_path(c.url) for c in v1.categories}
        assert set(paths) <= allowed, sorted(set(paths) - allowed)
        assert len(paths) <= 2 + 1 + len(v1.categories) + 3, paths
        assert "new=0 updated=0" in summary(tmp_path, "run2")

        # Version 2: three new articles on top, one edited -> exactly those four.
        v2 = generate_site(root, n_articles=N_ARTICLES, per_page=PER_PAGE, version=2, term_archives=False)
        server.requests.clear()
        run3 = crawl(server.base_url, tmp_path, "run3", mode=None)  # incremental is the default
        assert run3.returncode == 0, run3.stderr[-2000:]
        items = read_jsonl(tmp_path / "run3.jsonl")
        assert sorted(i["url"] for i in items) == sorted(v2.new_urls + v2.edited_urls)
        edited = next(i for i in items if i["url"] in v2.edited_urls)
        assert edited["modified"] == v2.article(edited["url"]).modified
        line = summary(tmp_path, "run3")
        assert "mode=incremental new=3 updated=1" in line
        fields = summary_fields(line)  # machine-readable: key=value, every counter an integer
        assert {k: fields[k] for k in ("new", "updated", "reexported", "items", "health", "committed")} == {
            "new": "3", "updated": "1", "reexported": "0", "items": "4", "health": "ok", "committed": "yes"}
        assert fields["output"] == str(tmp_path / "run3.jsonl")
        assert all(fields[k].isdigit() for k in ("dropped", "errors", "failed_requests", "dead_links", "requests"))
        # Unchanged known articles are never fetched again.
        unchanged = {local_path(u) for u in v1.article_urls} - {local_path(u) for u in v2.edited_urls}
        assert not unchanged & set(server.requests.paths())

        # And once more: nothing new.
        run4 = crawl(server.base_url, tmp_path, "run4", mode="incremental")
        assert run4.returncode == 0, run4.stderr[-2000:]
        assert (tmp_path / "run4.jsonl").is_file() and (tmp_path / "run4.jsonl").read_bytes() == b""

        # A full run after finished runs is a complete export again, state or not.
        run5 = crawl(server.base_url, tmp_path, "run5", mode="full")
        assert run5.returncode == 0, run5.stderr[-2000:]
        assert sorted(i["url"] for i in read_jsonl(tmp_path / "run5.jsonl")) == sorted(v2.article_urls)
        # said as such: every article exported again, none new or updated
        fields = summary_fields(summary(tmp_path, "run5"))
        assert (fields["new"], fields["updated"], fields["reexported"], fields["items"]) == (
            "0", "0", str(len(v2.article_urls)), str(len(v2.article_urls)))


def test_incremental_on_empty_state_uses_window(tmp_path: Path, site_v1: SiteManifest) -> None:
    # The synthetic site's newest article is from 2026-01-30, long before "now"… unless a
    # window that wide is asked for.
    with MirrorServer(site_v1.root) as server:
        feeds = dated_feeds(tmp_path / "out")
        run = crawl(
            server.base_url, tmp_path, "inc", "-s", f"FEEDS={json.dumps(feeds)}", mode="incremental", output=False
        )
        assert run.returncode == 0, run.stderr[-2000:]
        assert "Empty state: incremental run looks back 7 days" in log_of(tmp_path, "inc")
        # ... and the user is told why nothing came out, and what to run instead.
        assert re.search(r"WARNING: Nothing published since \S+: the first incremental run on an empty state "
                         r"only looks back 7 days .*run with -a mode=full", log_of(tmp_path, "inc"))
        assert not [path for path in (tmp_path / "out").rglob("*") if path.is_file()]  # no file written
        assert "output=none" in summary(tmp_path, "inc")
        assert len(server.requests) <= 30


# --- cron safety -----------------------------------------------------------------------------
def test_lock_contention_exits_zero_without_crawling(tmp_path: Path, site_v1: SiteManifest) -> None:
    state = tmp_path / "state.sqlite3"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from newsspider.crawl.run.state import StateLock;"
         "assert StateLock(sys.argv[1]).acquire(); print('locked', flush=True); time.sleep(60)", str(state)],
        cwd=REPO, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with MirrorServer(site_v1.root) as server:
            run = crawl(server.base_url, tmp_path, "second", mode="incremental", state=state)
            assert run.returncode == 0, run.stderr[-2000:]
            assert len(server.requests) == 0
        assert "Another crawl holds the lock" in log_of(tmp_path, "second")
        skipped = summary_fields(summary(tmp_path, "second"))
        assert (skipped["skipped"], skipped["health"], skipped["items"]) == ("another crawl holds the lock", "ok", "0")
        assert not (tmp_path / "second.jsonl").exists()
        assert not state.exists()
    finally:
        holder.kill()
        holder.wait()
    assert StateLock(state).acquire()
    StateLock(state).release()


def test_kill_9_then_rerun_loses_and_duplicates_nothing(tmp_path: Path, site_v1: SiteManifest) -> None:
    out = tmp_path / "out"
    feeds = json.dumps(dated_feeds(out))
    state = tmp_path / "state.sqlite3"
    slow = FaultPlan([FaultRule("/*", delay=0.08)])
    with MirrorServer(site_v1.root, faults=slow) as server:
        proc = crawl(server.base_url, tmp_path, "killed", "-s", f"FEEDS={feeds}", output=False, wait=False)
        deadline = time.monotonic() + 60
        written = 0
        while time.monotonic() < deadline and proc.poll() is None:
            parts = list(out.glob("*.part")) if out.is_dir() else []
            written = parts[0].read_bytes().count(b"\n") if parts else 0
            if written >= 8:
                break
            time.sleep(0.02)
        assert proc.poll() is None, "the crawl ended before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert 8 <= written < N_ARTICLES
    assert list(out.glob("*.part")), "the killed run should leave its temp file"
    assert not list(out.glob("*.jsonl")), "no finished output from the killed run"
    with sqlite3.connect(state) as db:  # nothing is committed before the output is durable
        assert db.execute("SELECT COUNT(*) FROM articles").fetchone()[0] == 0

    with MirrorServer(site_v1.root) as server:
        rerun = crawl(server.base_url, tmp_path, "rerun", "-s", f"FEEDS={feeds}", output=False)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert not list(out.glob("*.part"))
    outputs = sorted(out.glob("*.jsonl"))
    assert len(outputs) == 2, outputs
    urls = [item["url"] for path in outputs for item in read_jsonl(path)]
    assert len(urls) == len(set(urls)), "duplicates across outputs"
    assert sorted(urls) == sorted(site_v1.article_urls)
    assert "Recovered" in log_of(tmp_path, "rerun")


# --- exit status -----------------------------------------------------------------------------
UNHEALTHY_CASES = {
    "spider_exception": (["-s", "SPIDER_MIDDLEWARES={\"cron_helpers.RaiseInSpider\": 100}",
                          "-s", "CRON_TEST_RAISE=1"], "spider exceptions", None),
    "finish_reason": (["-s", "CLOSESPIDER_ITEMCOUNT=3"], "finish reason 'closespider_itemcount'", None),
    "empty_listing": ([], "listing pages answered 200 without article links", "empty"),
    "dropped": (["-s", "ITEM_PIPELINES=" + json.dumps({"cron_helpers.BlankFields": 50, **PIPELINES}),
                 "-s", "CRON_TEST_BLANK=authors:6"], "article pages dropped", None),
    "coverage": (["-s", "ITEM_PIPELINES=" + json.dumps({"cron_helpers.BlankFields": 50, **PIPELINES}),
                  "-s", "CRON_TEST_BLANK=title:2"], "title coverage 38/40", None),
    "failed_requests": (["-s", "RETRY_TIMES=0"], "requests failed after all retries", "fail"),
}


@pytest.mark.parametrize("case", sorted(UNHEALTHY_CASES))
def test_unhealthy_run_exits_non_zero(tmp_path: Path, site_v1: SiteManifest, case: str) -> None:
    extra, message, fault = UNHEALTHY_CASES[case]
    root = site_v1.root
    faults = FaultPlan()
    if fault == "empty":
        root = tmp_path / "mirror"
        generate_site(root, n_articles=N_ARTICLES, per_page=PER_PAGE, term_archives=False, extra={
            local_path(site_v1.categories[0].page_urls[1]).strip("/") + "/index.html":
                "<!doctype html><html><body><div class=\"jeg_main_content\"><p>Nothing here</p></div></body></html>",
        })
    elif fault == "fail":
        faults = FaultPlan([FaultRule(local_path(url), statuses=[500]) for url in site_v1.article_urls[:6]])
    with MirrorServer(root, faults=faults) as server:
        run = crawl(server.base_url, tmp_path, case, *extra)
    line = summary(tmp_path, case)
    assert run.returncode == 1, line  # docs/cron.md: 1 = unhealthy run
    assert "health=unhealthy" in line and message in summary_fields(line)["problems"], line
    assert "Unhealthy run:" in log_of(tmp_path, case)
    # What failed is pending in the state: later runs ask for it again.
    pending = pending_rows(tmp_path / "state.sqlite3")
    if fault == "fail":
        assert pending == {url: "http_500" for url in site_v1.article_urls[:6]}, pending
    elif case == "dropped":
        assert sorted(pending.values()) == ["dropped:missing_authors"] * 6, pending
    elif case == "coverage":
        assert sorted(pending.values()) == ["dropped:missing_title"] * 2, pending


def pending_rows(state: Path) -> dict[str, str]:
    """The state's ``pending`` table, url -> reason (the state must exist)."""
    assert state.is_file(), f"no state file {state}"
    with sqlite3.connect(state) as db:
        return dict(db.execute("SELECT url, reason FROM pending").fetchall())


def test_clean_run_with_dead_link_and_retried_503_exits_zero(tmp_path: Path, site_v1: SiteManifest) -> None:
    dead, flaky = (local_path(url) for url in site_v1.article_urls[:2])
    faults = FaultPlan([FaultRule(dead, statuses=[404]), FaultRule(flaky, statuses=[503, 200])])
    with MirrorServer(site_v1.root, faults=faults) as server:
        run = crawl(server.base_url, tmp_path, "clean", "-s", "NEWSSPIDER_STATE_PATH=")
    assert run.returncode == 0, summary(tmp_path, "clean")
    line = summary(tmp_path, "clean")
    assert "health=ok" in line and "dead_links=1 " in line and "failed_requests=0 " in line, line
    assert len(read_jsonl(tmp_path / "clean.jsonl")) == N_ARTICLES - 1


def test_state_records_only_exported_items(tmp_path: Path) -> None:
    state = State(tmp_path / "s.sqlite3")
    item = {"url": "https://georgiatoday.ge/a/", "post_id": 1, "title": "A", "body": "x",
            "published": "2026-01-01T10:00:00+04:00", "modified": "2026-01-01T10:00:00+04:00"}
    assert state.classify(item) == "new" and state.is_empty()
    assert state.record_article(item, aliases=["https://georgiatoday.ge/a-old/"]) == "new"
    assert state.classify(item) == "unchanged"
    assert state.known("https://georgiatoday.ge/a-old/")
    assert state.classify({**item, "body": "y"}) == "updated"
    assert state.classify({**item, "modified": "2026-01-02T10:00:00+04:00"}) == "updated"
    state.record_failed("https://georgiatoday.ge/b/", "http_503")
    state.record_failed("https://georgiatoday.ge/b/", "http_503")
    [pending] = state.due_pending()
    assert (pending.url, pending.reason, pending.attempts) == ("https://georgiatoday.ge/b/", "http_503", 2)
    state.resolve(["https://georgiatoday.ge/b/"])
    assert state.due_pending() == []
    assert state.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    state.close()
