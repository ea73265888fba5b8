"""Deletions and moves through the real crawl: ``scrapy crawl georgiatoday`` on a generated
mirror (``sitegen.Changes``) where, between runs, articles are deleted (404, 410),
unpublished into a redirect to the home page, moved to a new slug (301, same post id),
dropped from the sitemaps only, and restored.  The expected tombstones come from the
changes the test made; the coverage from the mirror's own sitemap files
(``sitegen.sitemap_posts``).  Each tombstone is emitted once, also across ``kill -9`` at
the points of the commit protocol, and never into the article files.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, crawl_env, log_text, read_jsonl, summary_fields
from sitegen import Changes, SiteManifest, generate_site, sitemap_posts

from newsspider import settings
from newsspider.dev.devserver import FaultPlan, FaultRule, MirrorServer

N_ARTICLES = 30
SITE = "https://georgiatoday.ge"
SEED = 11
KILL_AT = json.dumps({**settings.EXTENSIONS, "cron_helpers.KillAt": 900})


class Cron:
    """Runs on one state with the project's two outputs, articles and tombstones, in ``tmp``."""

    def __init__(self, tmp: Path) -> None:
        self.tmp, self.out, self.state = tmp, tmp / "out", tmp / "state.sqlite3"
        self.runs = 0
        self.tombstone_uri: str | None = None  # another URI for the same tombstones directory

    def feeds(self) -> str:
        feed = {"format": "jsonlines", "encoding": "utf-8", "atomic": True, "store_empty": False}
        tombstones = self.tombstone_uri or str(self.out / "tombstones" / "%(time)s.jsonl")
        return json.dumps({str(self.out / "%(time)s.jsonl"): {**feed, "item_classes": ["newsspider.items.ArticleItem"]},
                           tombstones: {**feed, "item_classes": ["newsspider.items.Tombstone"]}})

    def run(self, base_url: str, mode: str, *extra: str) -> tuple[int, dict[str, str], str]:
        self.runs += 1
        log = self.tmp / f"run{self.runs}.log"
        command = [sys.executable, "-m", "scrapy", "crawl", "georgiatoday", "-a", f"base_url={base_url}",
                   "-a", f"mode={mode}", "-s", f"FEEDS={self.feeds()}", "-s", f"NEWSSPIDER_STATE_PATH={self.state}",
                   "-s", "NEWSSPIDER_ARCHIVE_DIR=", "-s", "NEWSSPIDER_RETRY_BASE_DELAY=0",
                   "-s", f"LOG_FILE={log}", *extra]
        result = subprocess.run(command, cwd=REPO, env=crawl_env(), capture_output=True, text=True, timeout=300)
        text = log_text(log)
        lines = [line for line in text.splitlines() if "Summary:" in line]
        return result.returncode, summary_fields(lines[0]) if lines else {}, text

    def articles(self) -> list[dict[str, Any]]:
        return [item for path in sorted(self.out.glob("*.jsonl")) for item in read_jsonl(path)]

    def tombstones(self) -> list[dict[str, Any]]:
        return [item for path in sorted((self.out / "tombstones").glob("*.jsonl")) for item in read_jsonl(path)]

    def table(self, sql: str) -> set[tuple[Any, ...]]:
        with sqlite3.connect(self.state) as db:
            return set(db.execute(sql).fetchall())


def expected_tombstones(before: SiteManifest, after: SiteManifest) -> dict[str, tuple[Any, ...]]:
    """url -> (post_id, reason, modified, moved_to) of every change the site made, as the
    dataset built from ``before`` must record it."""
    reasons = {"deleted_404": "http_404", "deleted_410": "http_410", "unpublished": "redirected", "moved": "moved"}
    expected = {}
    for removal in after.removals:
        item = before.article(removal.url).item()
        moved_to = after.moved_urls.get(removal.url)
        expected[removal.url] = (item["post_id"], reasons[removal.change], item["modified"], moved_to)
    return expected


def as_found(tombstones: list[dict[str, Any]]) -> dict[str, tuple[Any, ...]]:
    found = {t["url"]: (t["post_id"], t["reason"], t["modified"], t["moved_to"]) for t in tombstones}
    assert len(found) == len(tombstones), "a tombstone emitted twice"
    return found


def pick(site: SiteManifest, count: int) -> list[str]:
    """``count`` posts no sidebar/footer widget links (so no page keeps linking them), not
    the newest (a deletion alone then leaves the sitemap index's lastmod as it was)."""
    newest = max(site.items(), key=lambda item: item["modified"] or item["published"])["url"]
    urls = [u for u in sorted(site.article_urls) if u not in set(site.chrome_urls) and u != newest]
    assert len(urls) >= count
    return urls[:count]


def assert_schema_valid(tombstones: list[dict[str, Any]]) -> None:
    for tombstone in tombstones:
        assert set(tombstone) == {"url", "post_id", "detected_at", "reason", "modified", "moved_to"}
        assert datetime.fromisoformat(tombstone["detected_at"]).utcoffset() is not None


# --- cron finds what the changed sitemaps show -------------------------------------------------
def test_incremental_run_emits_each_deletion_and_move_once(tmp_path: Path) -> None:
    root = tmp_path / "mirror"
    before = generate_site(root, n_articles=N_ARTICLES, seed=SEED, term_archives=False)
    gone_404, gone_410, unpublished, moved, unlisted = pick(before, 5)
    cron = Cron(tmp_path)
    with MirrorServer(root, faults=FaultPlan()) as server:
        status, summary, _ = cron.run(server.base_url, "full")
        assert status == 0 and summary["new"] == str(N_ARTICLES), summary
        # later: 3 new posts, one edited (version 2), and the changes
        after = generate_site(root, n_articles=N_ARTICLES, seed=SEED, term_archives=False, version=2,
                              changes=Changes(deleted_404={gone_404}, deleted_410={gone_410},
                                              unpublished={unpublished}, moved={moved: "a-new-slug-for-it"},
                                              unlisted={unlisted}))
        server.faults.rules[:] = after.fault_rules()
        status, summary, log = cron.run(server.base_url, "incremental")
        assert status == 0, summary
        assert (summary["deleted"], summary["moved"], summary["health"]) == ("3", "1", "ok")
        tombstones = cron.tombstones()
        assert_schema_valid(tombstones)
        assert as_found(tombstones) == expected_tombstones(before, after)
        # the moved post: one identity, its article under the new URL, in the article files
        new_url = after.moved_urls[moved]
        [moved_item] = [item for item in cron.articles() if item["url"] == new_url]
        assert moved_item["post_id"] == before.article(moved).item()["post_id"]
        assert not any("reason" in item for item in cron.articles()), "a tombstone in the article files"
        # the state: the deleted ones out, the moved one renamed, the unlisted one (still there) in
        articles = {url for (url,) in cron.table("SELECT url FROM articles")}
        assert articles == set(after.article_urls)
        assert unlisted in articles and "asked again" not in log
        # where the unpublished one redirects (the home page) is not taken for a dead end
        assert (f"{SITE}/",) not in cron.table("SELECT url FROM outcomes")
        assert cron.table("SELECT url, outcome FROM outcomes") >= {(unpublished, "not_article"), (gone_404, "dead:404")}
        # the next unchanged run: nothing again, and no more requests than before
        status, summary, _ = cron.run(server.base_url, "incremental")
    assert status == 0 and (summary["deleted"], summary["moved"], summary["items"]) == ("0", "0", "0"), summary
    assert int(summary["requests"]) <= 11, summary
    assert as_found(cron.tombstones()) == expected_tombstones(before, after)
    # compact: the site as it stands — the deleted ones dropped, the moved one under its new URL
    compacted = tmp_path / "dataset.jsonl"
    result = subprocess.run([sys.executable, "-m", "newsspider.cli", "compact", str(cron.out), "-O", str(compacted)],
                            cwd=REPO, env=crawl_env(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    dataset = read_jsonl(compacted)
    assert sorted(item["url"] for item in dataset) == sorted(after.article_urls)
    assert {item["url"]: item["post_id"] for item in dataset}[after.moved_urls[moved]] == (
        before.article(moved).item()["post_id"])


def test_a_post_a_cron_run_found_is_found_deleted_by_a_later_one(tmp_path: Path) -> None:
    """Two posts go: the edited one (its sitemap's newest) and one a cron run found (new in
    version 2).  The index's lastmod for their sitemap goes back, the sitemap is read again
    and compared with what it listed at that cron run — the full run never saw the second."""
    root = tmp_path / "mirror"
    first = generate_site(root, n_articles=N_ARTICLES, seed=SEED, term_archives=False)
    cron = Cron(tmp_path)
    with MirrorServer(root, faults=FaultPlan()) as server:
        assert cron.run(server.base_url, "full")[0] == 0
        site = generate_site(root, n_articles=N_ARTICLES, seed=SEED, term_archives=False, version=2)
        status, summary, _ = cron.run(server.base_url, "incremental")
        assert status == 0 and summary["new"] == "3", summary
        newest = max(site.items(), key=lambda item: item["modified"] or item["published"])["url"]
        found_by_cron = sorted(set(site.article_urls) - set(first.article_urls))[0]
        index_before = (root / "sitemap_index.xml").read_text(encoding="utf-8")
        after = generate_site(root, n_articles=N_ARTICLES, seed=SEED, term_archives=False, version=2,
                              changes=Changes(deleted_404={newest, found_by_cron}))
        assert (root / "sitemap_index.xml").read_text(encoding="utf-8") != index_before
        status, summary, _ = cron.run(server.base_url, "incremental")
        assert status == 0 and (summary["deleted"], summary["items"]) == ("2", "0"), summary
        assert as_found(cron.tombstones()) == expected_tombstones(site, after)
        # both come back (the index's lastmod moves again): exported again, tombstones superseded
        generate_site(root, n_articles=N_ARTICLES, seed=SEED, term_archives=False, version=2)
        status, summary, _ = cron.run(server.base_url, "incremental")
    assert status == 0 and (summary["new"], summary["deleted"], summary["items"]) == ("2", "0", "2"), summary
    assert {url for (url,) in cron.table("SELECT url FROM articles")} == set(site.article_urls)
    assert cron.table("SELECT url FROM tombstones") == set()


# --- the weekly check finds the rest ----------------------------------------------------------------
def test_check_run_finds_a_deletion_the_index_does_not_show_and_a_restore(tmp_path: Path) -> None:
    root = tmp_path / "mirror"
    before = generate_site(root, n_articles=N_ARTICLES, seed=SEED, term_archives=False)
    [gone] = pick(before, 1)
    cron = Cron(tmp_path)
    with MirrorServer(root, faults=FaultPlan()) as server:
        assert cron.run(server.base_url, "full")[0] == 0
        exported = len(cron.articles())
        after = generate_site(root, n_articles=N_ARTICLES, seed=SEED, term_archives=False,
                              changes=Changes(deleted_404={gone}))
        # cron: the sitemap index did not move, nothing is re-read, nothing found (by design)
        status, summary, _ = cron.run(server.base_url, "incremental")
        assert status == 0 and summary["deleted"] == "0" and int(summary["requests"]) <= 11, summary
        # the weekly check asks every article: the deletion, once; nothing unchanged re-exported
        server.requests.clear()
        status, summary, _ = cron.run(server.base_url, "check")
        assert status == 0, summary
        assert (summary["deleted"], summary["items"], summary["health"]) == ("1", "0", "ok"), summary
        assert as_found(cron.tombstones()) == expected_tombstones(before, after)
        assert len(cron.articles()) == exported
        listed = sitemap_posts(root)
        assert summary["coverage"] == f"{len(listed)}/{len(listed)}" and gone not in listed
        asked = [r for r in server.requests.snapshot() if r.path in {a.path for a in after.articles}]
        assert len(asked) == N_ARTICLES - 1  # every article of the dataset, once
        # a second check: the ETags it saved make every unchanged article a 304 (no body)
        server.requests.clear()
        status, summary, _ = cron.run(server.base_url, "check")
        assert status == 0 and summary["deleted"] == "0" and summary["items"] == "0", summary
        statuses = [r.status for r in server.requests.snapshot() if r.path in {a.path for a in after.articles}]
        assert statuses == [304] * (N_ARTICLES - 1)
        # the article comes back: the check exports it again, the tombstone is superseded
        generate_site(root, n_articles=N_ARTICLES, seed=SEED, term_archives=False)
        status, summary, _ = cron.run(server.base_url, "check")
    assert status == 0 and (summary["new"], summary["deleted"]) == ("1", "0"), summary
    assert [item["url"] for item in cron.articles()].count(gone) == 2
    assert cron.table("SELECT url FROM tombstones") == set()
    assert len(cron.tombstones()) == 1


# --- exactly once across kills ------------------------------------------------------------------
@pytest.mark.parametrize("point", ["item_written:1", "item_written:3", "before_rename", "before_commit",
                                   "after_commit"])
def test_kill_9_then_rerun_emits_each_tombstone_once(tmp_path: Path, point: str) -> None:
    root = tmp_path / "mirror"
    before = generate_site(root, n_articles=N_ARTICLES, seed=SEED, term_archives=False)
    gone, moved = pick(before, 2)
    cron = Cron(tmp_path)
    with MirrorServer(root, faults=FaultPlan()) as server:
        assert cron.run(server.base_url, "full")[0] == 0
        after = generate_site(root, n_articles=N_ARTICLES, seed=SEED, term_archives=False, version=2,
                              changes=Changes(deleted_404={gone}, moved={moved: "moved-for-good"}))
        server.faults.rules[:] = after.fault_rules()
        status, _, _ = cron.run(server.base_url, "incremental", "-s", f"EXTENSIONS={KILL_AT}",
                                "-s", f"CRON_TEST_KILL_AT={point}")
        assert status == -signal.SIGKILL
        status, summary, _ = cron.run(server.base_url, "incremental")
    assert status == 0, summary
    assert as_found(cron.tombstones()) == expected_tombstones(before, after)
    urls = [item["url"] for item in cron.articles()]
    assert urls.count(after.moved_urls[moved]) == 1
    assert {url for (url,) in cron.table("SELECT url FROM articles")} == set(after.article_urls)
    assert not list(cron.out.rglob("*.part"))


def test_a_full_disk_under_the_tombstones_commits_none_of_them_and_the_next_run_emits_each_once(
        tmp_path: Path) -> None:
    """The tombstones' output fails (ENOSPC at its first write) while the articles' does
    not: the run exits 1, its tombstones are not committed (nor the move's rename), and the
    next run emits each once — the moved article's line, already durable, not again."""
    root = tmp_path / "mirror"
    before = generate_site(root, n_articles=N_ARTICLES, seed=SEED, term_archives=False)
    gone, moved = pick(before, 2)
    cron = Cron(tmp_path)
    full_tombstones = {"file": "cron_helpers.FullDisk",
                       "": "newsspider.crawl.export.feedstorage.AtomicFileFeedStorage"}
    with MirrorServer(root, faults=FaultPlan()) as server:
        assert cron.run(server.base_url, "full")[0] == 0
        after = generate_site(root, n_articles=N_ARTICLES, seed=SEED, term_archives=False, version=2,
                              changes=Changes(deleted_404={gone}, moved={moved: "moved-for-good"}))
        server.faults.rules[:] = after.fault_rules()
        cron.tombstone_uri = (cron.out / "tombstones").as_uri() + "/%(time)s.jsonl"  # file://: the full disk
        status, summary, _ = cron.run(server.base_url, "incremental", "-s", "CRON_TEST_DISK_BYTES=0",
                                      "-s", f"FEED_STORAGES={json.dumps(full_tombstones)}")
        assert status == 1 and summary["finish_reason"] == "export_failed", summary
        assert (summary["deleted"], summary["moved"]) == ("0", "0"), summary
        assert cron.tombstones() == []
        assert {url for (url,) in cron.table("SELECT url FROM tombstones")} == set()
        cron.tombstone_uri = None
        status, summary, _ = cron.run(server.base_url, "incremental")
    assert status == 0 and (summary["deleted"], summary["moved"]) == ("1", "1"), summary
    assert as_found(cron.tombstones()) == expected_tombstones(before, after)
    assert [item["url"] for item in cron.articles()].count(after.moved_urls[moved]) == 1
    assert {url for (url,) in cron.table("SELECT url FROM articles")} == set(after.article_urls)


def test_a_site_answering_404_everywhere_takes_nothing_out_of_the_dataset(tmp_path: Path) -> None:
    """The site (home page, sitemaps, every article) answers 404 — a broken deploy, a CDN
    misconfigured: the weekly check writes no tombstone and exits 1; the dataset stays."""
    root = tmp_path / "mirror"
    site = generate_site(root, n_articles=N_ARTICLES, seed=SEED, term_archives=False)
    cron = Cron(tmp_path)
    with MirrorServer(root, faults=FaultPlan()) as server:
        assert cron.run(server.base_url, "full")[0] == 0
        server.faults.rules[:] = [FaultRule("/*", statuses=[404])]
        status, summary, log = cron.run(server.base_url, "check")
    assert status == 1 and summary["health"] == "unhealthy", summary
    assert f"'newsspider/tombstones/held': {N_ARTICLES}," in log  # every article asked, none buried
    assert (summary["deleted"], summary["moved"]) == ("0", "0"), summary
    assert cron.tombstones() == []
    assert {url for (url,) in cron.table("SELECT url FROM articles")} == set(site.article_urls)
