"""``newsspider.crawl.report.progress``: the progress line, its ETA, the terminal line, and one crawl."""

from __future__ import annotations

import io
import logging
import os
import re
import subprocess
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import REPO, crawl_command, crawl_env, log_records, log_text, project_crawler, run_crawl
from scrapy.exceptions import NotConfigured

from newsspider.crawl.report import stats as S
from newsspider.crawl.report.progress import (
    STAT_ITEMS,
    STAT_RESPONSES,
    CrawlProgress,
    Snapshot,
    TerminalLine,
    _ClearLine,
    duration,
)
from newsspider.dev.devserver import FaultPlan, FaultRule, MirrorServer

SITE = REPO / "newsspider" / "dev" / "snapshot" / "site"

# A full crawl 5 minutes in: 600 responses, 120 of the 1000 articles the sitemaps listed.
FULL_STATS = {
    STAT_RESPONSES: 600, S.PAGES_LISTING: 450, S.PAGES_ARTICLE: 120, S.SITEMAP_ENTRIES: 1000,
    S.EXPORTED_NEW: 110, S.EXPORTED_UPDATED: 4, S.UNCHANGED_SKIPPED: 0, STAT_ITEMS: 114,
    "newsspider/dropped/missing_title": 2, "newsspider/dropped/truncated_page": 1, S.DUPLICATE: 9,
    "newsspider/failed/http_404": 3,
}


def test_log_line_of_a_full_crawl_with_eta() -> None:
    snap = Snapshot.from_stats(FULL_STATS, elapsed=300, queued=57, in_flight=2, mode="full")
    # 880 articles left at 120 per 300 s: 2200 s.
    assert snap.eta() == pytest.approx(2200)
    assert snap.log_line() == (
        "Progress: 5m00s pages=600 queued=57 in_flight=2 listings=450 articles=120/1000 new=110 updated=4 "
        "unchanged=0 dropped=3 rate=120 pages/min 24 articles/min ETA 36m40s"
    )


def test_terminal_line_is_compact() -> None:
    snap = Snapshot.from_stats(FULL_STATS, elapsed=300, queued=57, in_flight=2, mode="full")
    assert snap.tty_line() == (
        "5m00s | 600 pages, 57 queued | 450 listings | articles 120/1000: 110 new, 4 upd, 0 same, 3 drop "
        "| 120 p/min | ETA 36m40s"
    )


@pytest.mark.parametrize(("stats", "elapsed", "mode", "eta"), [
    (FULL_STATS, 300, "incremental", None),  # no total to reach in cron mode
    ({**FULL_STATS, S.SITEMAP_ENTRIES: 0}, 300, "full", None),  # sitemaps not read yet
    ({**FULL_STATS, S.PAGES_ARTICLE: 0}, 300, "full", None),  # no article rate yet
    ({**FULL_STATS, S.PAGES_ARTICLE: 1000}, 900, "full", 0.0),  # all listed articles read
    ({**FULL_STATS, S.PAGES_ARTICLE: 1010}, 900, "full", 0.0),  # more than listed: never negative
    ({**FULL_STATS, S.PAGES_ARTICLE: 500}, 60, "full", 60.0),  # 500 left at 500/min
])
def test_eta(stats: dict, elapsed: float, mode: str, eta: float | None) -> None:
    snap = Snapshot.from_stats(stats, elapsed=elapsed, mode=mode)
    assert snap.eta() == (pytest.approx(eta) if eta is not None else None)
    assert ("ETA" in snap.log_line()) is (eta is not None)


def test_cron_mode_shows_articles_without_total() -> None:
    line = Snapshot.from_stats(FULL_STATS, elapsed=300, mode="incremental").log_line()
    assert " articles=120 " in line


def test_without_state_every_exported_item_is_new() -> None:
    stats = {STAT_ITEMS: 40, S.PAGES_ARTICLE: 41, "newsspider/dropped/missing_body": 1}
    snap = Snapshot.from_stats(stats, elapsed=0, mode="full")
    assert (snap.new, snap.updated, snap.dropped) == (40, 0, 1)
    assert "rate=0 pages/min 0 articles/min" in snap.log_line()  # no division by zero at the start


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "0s"), (59.4, "59s"), (60, "1m00s"), (185, "3m05s"), (3599, "59m59s"), (3600, "1h00m"), (7620, "2h07m"),
])
def test_duration(seconds: float, text: str) -> None:
    assert duration(seconds) == text


def test_terminal_line_rewrites_in_place_and_log_records_clear_it_first() -> None:
    stream = io.StringIO()
    line = TerminalLine(stream, width=30)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    handler.addFilter(_ClearLine(line))
    log = logging.getLogger("test_progress.terminal")
    log.addHandler(handler)
    log.propagate = False
    try:
        line.show("first")
        line.show("second, a line longer than the terminal is wide")
        log.warning("a record")
        log.warning("another")  # nothing shown: nothing to clear
        line.show("third")
    finally:
        log.removeHandler(handler)
    assert stream.getvalue() == (
        "\r\x1b[Kfirst"
        "\r\x1b[Ksecond, a line longer than th"  # cut to width - 1
        "\r\x1b[KWARNING: a record\n"
        "WARNING: another\n"
        "\r\x1b[Kthird"
    )


def test_snapshot_reads_the_scheduler_and_downloader() -> None:
    crawler = project_crawler()
    crawler.stats = SimpleNamespace(get_stats=lambda: dict(FULL_STATS))
    crawler.engine = SimpleNamespace(scheduler=[object()] * 7, downloader=SimpleNamespace(active={1, 2}))
    crawler.spider = SimpleNamespace(mode="full")
    progress = CrawlProgress(crawler, interval=60, tty_interval=0)
    snap = progress.snapshot()
    assert (snap.queued, snap.in_flight, snap.expected, snap.full) == (7, 2, 1000, True)


def test_off_when_both_intervals_are_zero_or_no_terminal() -> None:
    with pytest.raises(NotConfigured):
        CrawlProgress.from_crawler(project_crawler(NEWSSPIDER_PROGRESS_INTERVAL=0))
    # under pytest stderr is not a terminal: no live line, the log line stays
    progress = CrawlProgress.from_crawler(project_crawler(NEWSSPIDER_CRAWL_COMMAND=True))
    assert progress.display is None and progress.interval == 60


def test_a_crawl_logs_progress_lines(tmp_path: Path) -> None:
    """The real crawl with a short interval: periodic lines that count up to the articles."""
    slow = FaultPlan(rules=[FaultRule("/category/*", delay=0.4)])  # a crawl that lasts a moment
    out = tmp_path / "out.jsonl"
    with MirrorServer(SITE, faults=slow) as server:
        result = run_crawl(server.base_url, out, "-s", "NEWSSPIDER_PROGRESS_INTERVAL=0.2")
    assert result.returncode == 0, log_text(out.with_suffix(".log"))[-3000:]
    lines = [line for line in log_records(out.with_suffix(".log"), "INFO") if "Progress:" in line]
    assert len(lines) >= 2, log_text(out.with_suffix(".log"))[-3000:]
    pattern = re.compile(r"Progress: \S+ pages=(\d+) queued=\d+ in_flight=\d+ listings=(\d+) articles=(\d+)")
    counts = [tuple(int(g) for g in pattern.search(line).groups()) for line in lines]  # type: ignore[union-attr]
    for column in zip(*counts, strict=True):
        assert list(column) == sorted(column), "counters only grow"
    assert counts[-1][0] > 0 and counts[-1][1] > 0
    assert "Crawled " not in log_text(out.with_suffix(".log")), "Scrapy's own LogStats line is replaced"


def test_a_crawl_on_a_terminal_keeps_a_live_line(tmp_path: Path) -> None:
    """stderr a pseudo-terminal, as when run by hand: the compact line, rewritten in place,
    cleared at the end (the log goes to a file here, so the terminal shows only that line)."""
    master, slave = os.openpty()
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:  # EIO: the terminal's other end is closed
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    slow = FaultPlan(rules=[FaultRule("/category/*", delay=0.4)])
    out = tmp_path / "out.jsonl"
    try:
        with MirrorServer(SITE, faults=slow) as server:
            command = crawl_command(server.base_url, "-s", "NEWSSPIDER_CRAWL_COMMAND=True",
                                    "-s", "NEWSSPIDER_PROGRESS_TTY_INTERVAL=0.1", output=out,
                                    log_file=tmp_path / "crawl.log", state=tmp_path / "state.sqlite3")
            status = subprocess.run(command, cwd=REPO, env=crawl_env(), stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=slave, timeout=120).returncode
    finally:
        os.close(slave)
        reader.join(timeout=10)
        os.close(master)
    screen = b"".join(chunks).decode("utf-8", "replace")
    assert status == 0, log_text(tmp_path / "crawl.log")[-3000:]
    shown = re.findall(r"\r\x1b\[K(\d+s \| \d+ pages, \d+ queued \| \d+ listings \| articles \d+: [^\r]*)", screen)
    assert len(shown) >= 3, repr(screen[-2000:])
    assert all("\n" not in line for line in shown), "rewritten in place, never a new line"
    assert screen.endswith("\r\x1b[K"), repr(screen[-300:])
