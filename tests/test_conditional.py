"""Conditional requests: an unchanged cron run revalidates the sitemaps, the
feed and the categories' first pages and gets 304s (no body, no parse); a changed sitemap
is still read; a run that failed never saves validators."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from conftest import REPO, crawl_env, log_text, read_jsonl
from sitegen import generate_site, local_path

from newsspider.dev.devserver import FaultPlan, FaultRule, MirrorServer

N = 30


def crawl(base_url: str, tmp: Path, name: str, mode: str | None) -> tuple[int, str]:
    command = [sys.executable, "-m", "scrapy", "crawl", "georgiatoday", "-a", f"base_url={base_url}",
               "-O", str(tmp / f"{name}.jsonl"), "--with-state", "-s", f"NEWSSPIDER_STATE_PATH={tmp / 'state.sqlite3'}",
               "-s", f"LOG_FILE={tmp / f'{name}.log'}", "-s", "NEWSSPIDER_RETRY_BASE_DELAY=0",
               "-s", "NEWSSPIDER_ARCHIVE_DIR="]
    if mode:
        command += ["-a", f"mode={mode}"]
    result = subprocess.run(command, cwd=REPO, env=crawl_env(), capture_output=True, text=True, timeout=120)
    return result.returncode, log_text(tmp / f"{name}.log")


def test_unchanged_run_gets_304s_and_a_changed_sitemap_is_read(tmp_path: Path) -> None:
    root = tmp_path / "mirror"
    v1 = generate_site(root, n_articles=N, per_page=5, term_archives=False)
    # (the feed is read by incremental runs only: revalidated from the second one on)
    revalidated = {"/sitemap_index.xml"} | {local_path(c.url) for c in v1.categories}
    with MirrorServer(root) as server:
        assert crawl(server.base_url, tmp_path, "full", "full")[0] == 0
        full = {r.path: r.status for r in server.requests.snapshot()}
        assert all(full[p] == 200 for p in revalidated | {"/post-sitemap.xml"})  # a full run reads everything
        server.requests.clear()
        status, log = crawl(server.base_url, tmp_path, "unchanged", None)
        assert status == 0, log[-2000:]
        answers = {r.path: r.status for r in server.requests.snapshot()}
        assert {p: answers[p] for p in revalidated if p in answers} == dict.fromkeys(
            [p for p in revalidated if p in answers], 304), answers
        assert ("/sitemap_index.xml" in answers and "/post-sitemap.xml" not in answers) or \
            answers["/post-sitemap.xml"] == 304
        assert read_jsonl(tmp_path / "unchanged.jsonl") == []
        assert "'newsspider/conditional/not_modified'" in log

        v2 = generate_site(root, n_articles=N, per_page=5, version=2, term_archives=False)
        server.requests.clear()
        status, log = crawl(server.base_url, tmp_path, "v2", None)
        assert status == 0, log[-2000:]
        answers = {r.path: r.status for r in server.requests.snapshot()}
        assert answers.get("/post-sitemap.xml") == 200  # changed: read again
        items = read_jsonl(tmp_path / "v2.jsonl")
        assert sorted(i["url"] for i in items) == sorted(v2.new_urls + v2.edited_urls)


def test_a_failed_run_saves_no_validators(tmp_path: Path) -> None:
    root = tmp_path / "mirror"
    v1 = generate_site(root, n_articles=10, per_page=5, term_archives=False)
    broken = FaultPlan([FaultRule(local_path(u), statuses=[500]) for u in v1.article_urls[:5]])
    with MirrorServer(root, faults=broken) as server:
        status, _ = crawl(server.base_url, tmp_path, "failed", "full")
    assert status == 1
    with sqlite3.connect(tmp_path / "state.sqlite3") as db:
        assert db.execute("SELECT COUNT(*) FROM validators").fetchone()[0] == 0
    with MirrorServer(root) as server:
        crawl(server.base_url, tmp_path, "next", None)
        assert all(r.status != 304 for r in server.requests.snapshot())
