"""Long backfills: pause a ``mode=full`` crawl that has a JOBDIR and resume it.

docs/cron.md ("Long backfills: pause and resume (JOBDIR)") promises that a full crawl
started with ``-s JOBDIR=...``, stopped gracefully before the end and run again with the
same job directory (and the same state file) finishes the job, and that the outputs of
the two runs taken together hold every article exactly once.  Two things must work
together for that: Scrapy's job directory (the pending requests are saved in
``requests.queue`` and the requests already scheduled in ``requests.seen``, so the second
run continues instead of starting over) and the project's state (``resuming after it``: a
full run after an unfinished one does not emit again what that run exported).

Each test runs the real ``scrapy crawl georgiatoday -a mode=full`` twice in a subprocess
against one generated mirror (``tests/sitegen.py``) served on 127.0.0.1 by
``newsspider.dev.devserver`` (one server for both runs: the saved requests carry its port):

* run 1 is stopped early and gracefully (``CLOSESPIDER_ITEMCOUNT``, deterministic; or one
  SIGTERM, as the docs tell an operator) and exits 1 because its finish reason is not
  ``finished`` (the project's health check, docs/cron.md "Exit status");
* run 2 is the same command without the stop, with its own ``-O`` file: it must exit 0
  without ERROR records, fetch none of the pages run 1 already fetched (robots.txt apart,
  which the robots middleware reads at every start outside the scheduler), and together
  with run 1's output hold every article of the site once.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from conftest import log_records, read_jsonl, run_crawl, start_crawl, summary_fields, summary_line
from sitegen import SiteManifest, generate_site, local_path

from newsspider.dev.devserver import LoggedRequest, MirrorServer

N_ARTICLES = 45
ITEM_LIMIT = 10
SIGTERM_AFTER = 5  # items in run 1's output before it gets its SIGTERM


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> SiteManifest:
    return generate_site(tmp_path_factory.mktemp("jobdir-site") / "site", n_articles=N_ARTICLES, seed=11)


def job_args(tmp: Path) -> tuple[str, ...]:
    """What both runs share: the job directory, the state file and one request at a time."""
    return (
        "-s", f"JOBDIR={tmp / 'job-full'}",
        "-s", f"NEWSSPIDER_STATE_PATH={tmp / 'state.sqlite3'}",
        "-s", "CONCURRENT_REQUESTS=1",
    )


def paths(requests: list[LoggedRequest]) -> list[str]:
    """Decoded request paths (the client may percent-encode Georgian slugs differently)."""
    return [unquote(r.path) for r in requests]


def check_stopped_run(items: list[dict[str, Any]], log: Path, status: int, reason: str, minimum: int) -> None:
    text = log.read_text(encoding="utf-8")
    assert status == 1, f"a run stopped before the end is unhealthy (exit 1), got {status}\n{text[-3000:]}"
    assert f"Closing spider ({reason})" in text
    assert f"Unhealthy run: finish reason {reason!r}" in text
    line = summary_line(log)
    assert f"finish_reason={reason}" in line and "health=unhealthy" in line, line
    assert log_records(log, "ERROR") == []
    assert minimum <= len(items) < N_ARTICLES, f"run 1 should stop early, emitted {len(items)}"
    assert summary_fields(line)["items"] == str(len(items)), line


def check_resumed_run(
    manifest: SiteManifest,
    first: list[dict[str, Any]],
    second: list[dict[str, Any]],
    first_requests: list[LoggedRequest],
    second_requests: list[LoggedRequest],
    log: Path,
    status: int,
    schema_validator: Any,
) -> None:
    text = log.read_text(encoding="utf-8")
    assert status == 0, text[-3000:]
    assert log_records(log, "ERROR") == []
    assert "[scrapy.core.scheduler] INFO: Resuming crawl (" in text, "the job directory was not resumed"
    assert "did not finish: resuming after it" in text
    line = summary_line(log)
    assert "finish_reason=finished" in line and "health=ok" in line, line

    # Every article exactly once across the two outputs.
    urls1 = [item["url"] for item in first]
    urls2 = [item["url"] for item in second]
    assert len(urls1) == len(set(urls1)), "duplicates in run 1's output"
    assert len(urls2) == len(set(urls2)), "duplicates in run 2's output"
    assert not set(urls1) & set(urls2), f"emitted by both runs: {sorted(set(urls1) & set(urls2))}"
    assert sorted(urls1 + urls2) == sorted(manifest.article_urls)
    post_ids = [item["post_id"] for item in first + second]
    assert len(post_ids) == len(set(post_ids))
    for item in first + second:
        schema_validator.validate(item)
    assert f"new={len(second)} updated=0 reexported=0 deleted=0 moved=0 unchanged_skipped=0" in line, line

    # Resumed, not restarted: run 2 fetches no page run 1 fetched, in particular none of
    # the articles run 1 exported (robots.txt is read by the middleware at each start).
    fetched1, fetched2 = paths(first_requests), paths(second_requests)
    exported1 = {unquote(local_path(url)) for url in urls1}
    assert not exported1 & set(fetched2), f"run 2 fetched again: {sorted(exported1 & set(fetched2))}"
    again = sorted((set(fetched1) & set(fetched2)) - {"/robots.txt"})
    assert not again, f"run 2 fetched again pages run 1 had fetched: {again}"
    assert len(fetched2) == len(set(fetched2)), "run 2 fetched a page twice"
    # ... and the articles run 1 never got to are fetched now.
    missing = {unquote(local_path(url)) for url in manifest.article_urls} - exported1
    assert missing <= set(fetched2)


def test_pause_at_item_limit_and_resume(site: SiteManifest, tmp_path: Path, schema_validator: Any) -> None:
    """Deterministic stop: CLOSESPIDER_ITEMCOUNT with one request at a time."""
    out1, out2 = tmp_path / "run1.jsonl", tmp_path / "run2.jsonl"
    with MirrorServer(site.root) as server:
        first = run_crawl(server.base_url, out1, *job_args(tmp_path), "-s", f"CLOSESPIDER_ITEMCOUNT={ITEM_LIMIT}")
        first_requests = server.requests.snapshot()
        server.requests.clear()
        second = run_crawl(server.base_url, out2, *job_args(tmp_path))
        second_requests = server.requests.snapshot()

    items1 = read_jsonl(out1)
    check_stopped_run(items1, out1.with_suffix(".log"), first.returncode, "closespider_itemcount", ITEM_LIMIT)
    # One request at a time: at most the one in flight at the limit finishes after it.
    assert len(items1) <= ITEM_LIMIT + 1, len(items1)
    check_resumed_run(site, items1, read_jsonl(out2), first_requests, second_requests,
                      out2.with_suffix(".log"), second.returncode, schema_validator)
    assert not list(tmp_path.glob("*.part"))


def test_pause_with_sigterm_and_resume(site: SiteManifest, tmp_path: Path, schema_validator: Any) -> None:
    """The documented way: one SIGTERM, wait for the graceful stop, run the same command."""
    out1, out2 = tmp_path / "run1.jsonl", tmp_path / "run2.jsonl"
    with MirrorServer(site.root) as server:
        # A small delay so that the crawl is still running when it has SIGTERM_AFTER items.
        proc = start_crawl(server.base_url, out1, *job_args(tmp_path), "-s", "DOWNLOAD_DELAY=0.05")
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and proc.poll() is None and len(read_jsonl(out1)) < SIGTERM_AFTER:
                time.sleep(0.02)
            assert proc.poll() is None, "run 1 ended before it could be stopped"
            proc.send_signal(signal.SIGTERM)
            _, stderr = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        first_requests = server.requests.snapshot()
        server.requests.clear()
        second = run_crawl(server.base_url, out2, *job_args(tmp_path))
        second_requests = server.requests.snapshot()

    log1 = out1.with_suffix(".log")
    assert "Received SIGTERM, shutting down gracefully" in log1.read_text(encoding="utf-8"), stderr[-2000:]
    items1 = read_jsonl(out1)
    check_stopped_run(items1, log1, proc.returncode, "shutdown", SIGTERM_AFTER)
    check_resumed_run(site, items1, read_jsonl(out2), first_requests, second_requests,
                      out2.with_suffix(".log"), second.returncode, schema_validator)
    assert not list(tmp_path.glob("*.part"))
