"""One dataset, one state: trials and exports cannot bend what cron delivers.

The real ``scrapy crawl`` against generated mirrors: an ``-O`` export is a one-off that
neither reads nor changes the state; a state is bound to the ``base_url`` it was built
from; a full run resumes only after a run that was killed or stopped; a damaged state or
an uncreatable lock stops the run with its reason in the ``Summary:`` line.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from conftest import crawl_env, log_text, read_jsonl, summary_fields, summary_line
from sitegen import disk_path, generate_site

from newsspider.dev.devserver import MirrorServer

N_ARTICLES = 6


def crawl(base_url: str, tmp: Path, name: str, *extra: str, mode: str = "full") -> subprocess.CompletedProcess[str]:
    """``newsspider crawl`` run in ``tmp`` as cron runs it (the default dated output under
    ``tmp/output/georgiatoday``, the state in ``tmp/state``); ``extra`` adds options."""
    command = [sys.executable, "-m", "newsspider.cli", "crawl", "-a", f"base_url={base_url}", "-a", f"mode={mode}",
               "-s", "NEWSSPIDER_RETRY_BASE_DELAY=0", "-s", f"LOG_FILE={tmp / f'{name}.log'}",
               "-s", "NEWSSPIDER_ARCHIVE_DIR=", *extra]
    return subprocess.run(command, cwd=tmp, env=crawl_env(), capture_output=True, text=True, timeout=120)


def dataset(tmp: Path) -> list[str]:
    """Every article URL in the dataset's outputs, with repetitions."""
    outputs = sorted((tmp / "output" / "georgiatoday").glob("*.jsonl"))
    return sorted(item["url"] for path in outputs for item in read_jsonl(path))


def test_an_export_is_a_one_off_that_never_changes_what_cron_delivers(tmp_path: Path) -> None:
    site = generate_site(tmp_path / "site", n_articles=N_ARTICLES, term_archives=False)
    with MirrorServer(site.root) as server:
        trial = crawl(server.base_url, tmp_path, "trial", "-O", str(tmp_path / "try.jsonl"))
        assert trial.returncode == 0, trial.stderr[-2000:]
        assert sorted(i["url"] for i in read_jsonl(tmp_path / "try.jsonl")) == sorted(site.article_urls)
        assert not (tmp_path / "state").exists(), "a one-off export created the state"
        assert not (tmp_path / "output").exists()
        # so the first cron run still delivers the whole site into the dataset
        cron = crawl(server.base_url, tmp_path, "cron")
        assert cron.returncode == 0, cron.stderr[-2000:]
        assert dataset(tmp_path) == sorted(site.article_urls)
        # and an export asked to use the state (--with-state) reads it like a cron run
        again = crawl(server.base_url, tmp_path, "again", "-O", str(tmp_path / "again.jsonl"), "--with-state",
                      mode="incremental")
        assert again.returncode == 0, again.stderr[-2000:]
        assert read_jsonl(tmp_path / "again.jsonl") == []


def test_a_state_is_bound_to_the_base_url_it_was_built_from(tmp_path: Path) -> None:
    site = generate_site(tmp_path / "site", n_articles=N_ARTICLES, term_archives=False)
    with MirrorServer(site.root) as first:
        assert crawl(first.base_url, tmp_path, "first").returncode == 0
    with MirrorServer(site.root) as other:
        moved = crawl(other.base_url, tmp_path, "other", mode="incremental")
        requests = other.requests.paths()
    assert moved.returncode == 2, moved.stderr[-2000:]
    assert f"describes the dataset fetched from {first.base_url}, not from {other.base_url}" in moved.stderr
    assert "NEWSSPIDER_STATE_PATH" in moved.stderr and "make reset" in moved.stderr
    assert requests == [], "nothing fetched"
    assert dataset(tmp_path) == sorted(site.article_urls), "nothing written"
    fields = summary_fields(summary_line(tmp_path / "other.log"))
    assert (fields["health"], fields["finish_reason"]) == ("unhealthy", "not_started")


def test_a_full_run_resumes_only_after_a_run_that_was_killed_or_stopped(tmp_path: Path) -> None:
    """A full run that finished unhealthy (2 of 6 pages broken) was not interrupted: the
    next full run exports the whole site again, not only what the unhealthy run lacked."""
    site = generate_site(tmp_path / "site", n_articles=N_ARTICLES, term_archives=False)
    pages = [site.root / disk_path(url) for url in site.article_urls[:2]]
    whole = [page.read_bytes() for page in pages]
    for page, body in zip(pages, whole, strict=True):
        page.write_bytes(body[: len(body) // 3])  # cut short: a truncated page, pending
    with MirrorServer(site.root) as server:
        bad = crawl(server.base_url, tmp_path, "bad")
        assert bad.returncode == 1, summary_line(tmp_path / "bad.log")
        assert len(dataset(tmp_path)) == N_ARTICLES - 2
        for page, body in zip(pages, whole, strict=True):
            page.write_bytes(body)
        full = crawl(server.base_url, tmp_path, "full")
    assert full.returncode == 0, summary_line(tmp_path / "full.log")
    assert "resuming after it" not in log_text(tmp_path / "full.log")
    assert summary_fields(summary_line(tmp_path / "full.log"))["items"] == str(N_ARTICLES)
    assert sorted(set(dataset(tmp_path))) == sorted(site.article_urls)


def test_a_damaged_state_stops_the_run_with_its_recovery_path(tmp_path: Path) -> None:
    site = generate_site(tmp_path / "site", n_articles=N_ARTICLES, term_archives=False)
    state = tmp_path / "state" / "georgiatoday.sqlite3"
    with MirrorServer(site.root) as server:
        assert crawl(server.base_url, tmp_path, "first").returncode == 0
        with sqlite3.connect(state) as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            pages = db.execute("PRAGMA page_count").fetchone()[0]
            size = db.execute("PRAGMA page_size").fetchone()[0]
        assert pages > 2
        with state.open("r+b") as fh:  # garbage over the last pages: what a bad disk leaves
            fh.seek(size * (pages - 2))
            fh.write(b"\xde\xad\xbe\xef" * (size // 2))
        damaged = crawl(server.base_url, tmp_path, "damaged", mode="incremental")
    assert damaged.returncode == 1
    line = summary_line(tmp_path / "damaged.log")
    assert summary_fields(line)["health"] == "unhealthy", line
    assert "state" in summary_fields(line)["problems"] and "make reset" in damaged.stderr + log_text(
        tmp_path / "damaged.log")
    assert dataset(tmp_path) == sorted(site.article_urls), "nothing exported twice"


def test_a_lock_that_cannot_be_created_ends_with_a_summary(tmp_path: Path) -> None:
    site = generate_site(tmp_path / "site", n_articles=1, term_archives=False)
    (tmp_path / "state").write_text("a file where the state directory should be")
    with MirrorServer(site.root) as server:
        result = crawl(server.base_url, tmp_path, "nolock")
        assert server.requests.paths() == []
    assert result.returncode == 1
    fields = summary_fields(summary_line(tmp_path / "nolock.log"))
    assert fields["health"] == "unhealthy" and "cannot create the lock file" in fields["problems"], fields
    assert "ERROR" not in log_text(tmp_path / "nolock.log")
