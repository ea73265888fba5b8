"""Exactly once, or a non-zero exit: the real ``scrapy crawl`` on a generated
mirror, broken on purpose — a full disk, an unwritable output or state, ``kill -9`` at the
named points of the commit protocol, a page truncated once, a bot wall, a wrong base, an
unreachable site, robots.txt forbidding everything, two Ctrl-C — and then run again
normally.  For each: across the bad run and the next one every article is in the outputs
exactly once, and the bad run exits 1 with its reason in the ``Summary:`` line.
"""

from __future__ import annotations

import json
import os
import re
import resource
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, crawl_env, dated_feeds, log_text, read_jsonl
from sitegen import SiteManifest, generate_site, local_path

from newsspider import settings
from newsspider.dev.devserver import FaultPlan, FaultRule, MirrorServer

N_ARTICLES = 20
PER_PAGE = 5


def extensions(*names: str) -> str:
    """The project's extensions plus test ones (``-s EXTENSIONS=`` replaces the whole dict)."""
    return json.dumps({**settings.EXTENSIONS, **dict.fromkeys(names, 900)})


KILL_AT = extensions("cron_helpers.KillAt")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> SiteManifest:
    return generate_site(tmp_path_factory.mktemp("site") / "mirror", n_articles=N_ARTICLES, per_page=PER_PAGE,
                         term_archives=False)


class Cron:
    """Runs of ``scrapy crawl georgiatoday`` as cron runs them: the default dated, atomic
    output (in ``tmp/out``) and one state file, run after run."""

    def __init__(self, tmp: Path) -> None:
        self.tmp, self.out, self.state = tmp, tmp / "out", tmp / "state" / "georgiatoday.sqlite3"
        self.runs = 0

    def feeds(self, out: Path | None = None) -> str:
        return json.dumps(dated_feeds(out or self.out))

    def command(self, base_url: str, *extra: str, mode: str | None = "full", out: Path | None = None,
                state: Path | None = None) -> tuple[list[str], Path]:
        self.runs += 1
        log = self.tmp / f"run{self.runs}.log"
        command = [sys.executable, "-m", "scrapy", "crawl", "georgiatoday", "-a", f"base_url={base_url}"]
        if mode:
            command += ["-a", f"mode={mode}"]
        command += ["-s", f"FEEDS={self.feeds(out)}", "-s", f"NEWSSPIDER_STATE_PATH={state or self.state}",
                    "-s", "NEWSSPIDER_RETRY_BASE_DELAY=0", "-s", "NEWSSPIDER_RETRY_JITTER=0",
                    "-s", f"LOG_FILE={log}", "-s", f"NEWSSPIDER_ARCHIVE_DIR={self.tmp / 'archive'}", *extra]
        return command, log

    def run(self, base_url: str, *extra: str, timeout: float = 120, file_size_limit: int | None = None,
            **kwargs: Any) -> tuple[int, str]:
        command, log = self.command(base_url, *extra, **kwargs)

        def limit() -> None:  # ulimit -f in the crawl process: writes past it fail with EFBIG
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))

        result = subprocess.run(command, cwd=REPO, env=crawl_env(), capture_output=True, text=True, timeout=timeout,
                                preexec_fn=limit if file_size_limit else None)
        return result.returncode, log_text(log)

    def outputs(self) -> list[Path]:
        return sorted(self.out.glob("*.jsonl")) if self.out.is_dir() else []

    def urls(self) -> list[str]:
        return [item["url"] for path in self.outputs() for item in read_jsonl(path)]

    def articles_in_state(self) -> set[str]:
        if not self.state.exists():
            return set()
        with sqlite3.connect(self.state) as db:
            return {row[0] for row in db.execute("SELECT url FROM articles")}


def summary(log: str) -> str:
    lines = [line for line in log.splitlines() if "Summary:" in line]
    assert len(lines) == 1, log[-3000:]
    return lines[0]


def assert_exactly_once(cron: Cron, site: SiteManifest) -> None:
    urls = cron.urls()
    assert len(urls) == len(set(urls)), "duplicates across the outputs"
    assert sorted(urls) == sorted(site.article_urls), "articles missing from the outputs"
    assert not list(cron.out.glob("*.part")), "a .part file left behind"
    # The state never runs ahead of the outputs: it holds exactly what they hold.
    assert cron.articles_in_state() == set(urls)


def assert_failed(status: int, log: str, reason: str) -> None:
    line = summary(log)
    assert status == 1, line
    assert "health=unhealthy" in line and reason in line, line


# --- kill -9 at the named points of the commit protocol ------------------------------------------
@pytest.mark.parametrize("point", ["item_written:6", "before_rename", "before_commit"])
def test_kill_9_at_each_point_then_rerun_delivers_each_article_once(
        tmp_path: Path, site: SiteManifest, point: str) -> None:
    cron = Cron(tmp_path)
    with MirrorServer(site.root) as server:
        status, _ = cron.run(server.base_url, "-s", f"EXTENSIONS={KILL_AT}", "-s", f"CRON_TEST_KILL_AT={point}")
        assert status == -signal.SIGKILL
        assert cron.articles_in_state() == set(), "nothing is committed before the commit point"
        status, log = cron.run(server.base_url, mode=None)  # the next cron run: incremental
    assert status == 0, summary(log)
    assert "Recovered" in log
    assert_exactly_once(cron, site)


def test_kill_9_mid_run_then_full_rerun_resumes_without_duplicates(tmp_path: Path, site: SiteManifest) -> None:
    cron = Cron(tmp_path)
    with MirrorServer(site.root) as server:
        status, _ = cron.run(server.base_url, "-s", f"EXTENSIONS={KILL_AT}", "-s", "CRON_TEST_KILL_AT=item_written:6")
        assert status == -signal.SIGKILL
        status, log = cron.run(server.base_url)  # a full run again
    assert status == 0, summary(log)
    assert "Recovered 6 items" in log and "resuming after it" in log
    assert_exactly_once(cron, site)


def test_a_part_file_whose_pid_is_alive_is_recovered_all_the_same(tmp_path: Path, site: SiteManifest) -> None:
    """In a container the crawler is PID 1 in every run: the lock says who is alive."""
    cron = Cron(tmp_path)
    with MirrorServer(site.root) as server:
        status, _ = cron.run(server.base_url, "-s", f"EXTENSIONS={KILL_AT}", "-s", "CRON_TEST_KILL_AT=before_rename")
        assert status == -signal.SIGKILL
        [part] = cron.out.glob("*.part")
        alive = part.with_name(re.sub(r"\.\d+-", f".{os.getpid()}-", part.name))  # a live PID in its name
        assert alive != part
        part.rename(alive)
        with sqlite3.connect(cron.state) as db:
            db.execute("UPDATE outputs SET part = ?", (str(alive.resolve()),))
        status, log = cron.run(server.base_url, mode=None)
    assert status == 0, summary(log)
    assert_exactly_once(cron, site)


# --- output and state failures -----------------------------------------------------------------
def test_unwritable_output_stops_before_fetching_and_loses_nothing(tmp_path: Path, site: SiteManifest) -> None:
    cron = Cron(tmp_path)
    cron.out.write_text("a file where the output directory should be")
    with MirrorServer(site.root) as server:
        status, log = cron.run(server.base_url)
        assert_failed(status, log, "Could not write the output")
        assert "export_failed" in summary(log)
        assert len(server.requests) == 0
        assert cron.articles_in_state() == set()
        cron.out.unlink()
        status, log = cron.run(server.base_url)  # the same command, once the disk is fixed
    assert status == 0, summary(log)
    assert_exactly_once(cron, site)


def test_full_disk_commits_only_what_is_on_disk(tmp_path: Path, site: SiteManifest) -> None:
    cron = Cron(tmp_path)
    storages = json.dumps({"file": "cron_helpers.FullDisk", "": "cron_helpers.FullDisk"})
    with MirrorServer(site.root) as server:
        status, log = cron.run(server.base_url, "-s", f"FEED_STORAGES={storages}", "-s", "CRON_TEST_DISK_BYTES=40000")
        assert_failed(status, log, "No space left on device")
        written = cron.urls()
        assert 0 < len(written) < N_ARTICLES
        assert cron.articles_in_state() == set(written)  # and every line is whole (read_jsonl parsed it)
        status, log = cron.run(server.base_url, mode=None)
    assert status == 0, summary(log)
    assert_exactly_once(cron, site)


def test_a_file_size_limit_fails_the_run_and_the_next_one_delivers(tmp_path: Path, site: SiteManifest) -> None:
    """A real limit (RLIMIT_FSIZE, as ``ulimit -f``): every file of the run - output, state,
    log - hits it; whatever fails first, nothing is lost or doubled."""
    cron = Cron(tmp_path)
    with MirrorServer(site.root) as server:
        status, log = cron.run(server.base_url, file_size_limit=40_000)
        assert status == 1, log[-2000:]
        status, log = cron.run(server.base_url)
    assert status == 0, summary(log)
    assert_exactly_once(cron, site)


def test_unwritable_state_stops_before_fetching(tmp_path: Path, site: SiteManifest) -> None:
    cron = Cron(tmp_path)
    cron.state.mkdir(parents=True)  # a directory where the SQLite file should be
    with MirrorServer(site.root) as server:
        status, log = cron.run(server.base_url)
        assert_failed(status, log, "Could not use the crawl state")
        assert "state_failed" in summary(log)
        assert len(server.requests) == 0
        assert cron.outputs() == []
        cron.state.rmdir()
        status, log = cron.run(server.base_url)
    assert status == 0, summary(log)
    assert_exactly_once(cron, site)


def test_state_disk_full_at_the_commit_point(tmp_path: Path, site: SiteManifest) -> None:
    cron = Cron(tmp_path)
    with MirrorServer(site.root) as server:
        status, log = cron.run(server.base_url, "-s", f"EXTENSIONS={extensions('cron_helpers.FillStateDisk')}")
        assert_failed(status, log, "Could not use the crawl state")
        assert "database or disk is full" in log
        status, log = cron.run(server.base_url, mode=None)
    assert status == 0, summary(log)
    assert_exactly_once(cron, site)


def test_state_deleted_during_the_run_is_reported(tmp_path: Path, site: SiteManifest) -> None:
    cron = Cron(tmp_path)
    with MirrorServer(site.root) as server:
        status, log = cron.run(server.base_url, "-s", f"EXTENSIONS={extensions('cron_helpers.DeleteState')}")
    assert_failed(status, log, "deleted or replaced during the run")


# --- transient page failures are retried by later runs -------------------------------------------
def test_a_page_truncated_once_is_delivered_by_the_next_run(tmp_path: Path, site: SiteManifest) -> None:
    cron = Cron(tmp_path)
    victim = site.article_urls[3]
    faults = FaultPlan([FaultRule(local_path(victim), cut_body=True, times=1)])
    with MirrorServer(site.root, faults=faults) as server:
        status, log = cron.run(server.base_url)
        assert status == 0, summary(log)  # one broken page of 20: under the thresholds
        assert victim not in cron.urls()
        assert "dropped=1 dropped_truncated_page=1" in summary(log)
        status, log = cron.run(server.base_url, mode=None)
    assert status == 0, summary(log)
    assert "pending_retried=1" in summary(log)
    assert_exactly_once(cron, site)
    # The page asked again is in the second run's archive: rebuilding offline finds it too.
    rebuilt = subprocess.run([sys.executable, "-m", "scrapy", "reextract", str(tmp_path / "archive"),
                              "-O", str(tmp_path / "rebuilt.jsonl"), "-j", "1"],
                             cwd=REPO, env=crawl_env(), capture_output=True, text=True, timeout=120)
    assert rebuilt.returncode == 0, rebuilt.stderr[-2000:]
    assert sorted(i["url"] for i in read_jsonl(tmp_path / "rebuilt.jsonl")) == sorted(site.article_urls)


def test_a_page_broken_for_good_is_retried_without_turning_later_runs_red(
        tmp_path: Path, site: SiteManifest) -> None:
    cron = Cron(tmp_path)
    victim = site.article_urls[4]
    faults = FaultPlan([FaultRule(local_path(victim), cut_body=True)])
    with MirrorServer(site.root, faults=faults) as server:
        cron.run(server.base_url)
        status, log = cron.run(server.base_url, "-s", "NEWSSPIDER_HEALTH_MAX_DROPPED_RATIO=0", "-s",
                               "NEWSSPIDER_HEALTH_MIN_BAD=1", mode=None)
        assert status == 0, summary(log)
        assert "still_failing=1" in summary(log)
        first = time.strftime("%Y-%m-%d", time.gmtime())
        assert f"Still failing since {first} (attempt 2)" in log
        status, log = cron.run(server.base_url, "-s", "NEWSSPIDER_PENDING_MAX_ATTEMPTS=3", mode=None)
        assert "Given up on" in log
        server.requests.clear()
        status, log = cron.run(server.base_url, mode=None)
        assert status == 0, summary(log)
        assert server.requests.paths() and local_path(victim) not in server.requests.paths()  # given up
        status, log = cron.run(server.base_url)  # a full run asks given-up pages again
        assert f"Still failing since {first}" in log


# --- a run that could not do its job exits 1 and says why ----------------------------------------
def test_a_403_wall_is_blocked(tmp_path: Path, site: SiteManifest) -> None:
    cron = Cron(tmp_path)
    with MirrorServer(site.root, faults=FaultPlan([FaultRule("/*", statuses=[403])])) as server:
        status, log = cron.run(server.base_url)
        assert_failed(status, log, "blocked")
        status, log = cron.run(server.base_url, mode=None)
        assert status == 1
    with MirrorServer(site.root) as server:
        status, log = cron.run(server.base_url)
    assert status == 0, summary(log)
    assert_exactly_once(cron, site)


def test_a_wrong_base_url_is_reported(tmp_path: Path, site: SiteManifest) -> None:
    cron = Cron(tmp_path)
    with MirrorServer(site.root) as server:
        status, log = cron.run(server.base_url + "/no-such-prefix")
    assert_failed(status, log, "wrong base_url")
    with sqlite3.connect(cron.state) as db:
        assert db.execute("SELECT value FROM meta WHERE key = 'horizon'").fetchone() is None


def test_robots_forbidding_everything_is_reported(tmp_path: Path, site: SiteManifest) -> None:
    root = tmp_path / "mirror"
    generate_site(root, n_articles=5, per_page=5, term_archives=False)
    (root / "robots.txt").write_text("User-agent: *\nDisallow: /\n")
    cron = Cron(tmp_path)
    with MirrorServer(root) as server:
        status, log = cron.run(server.base_url)
    assert_failed(status, log, "robots.txt forbids the start page")


def test_an_unreachable_site_is_reported(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens there once the socket is closed
    cron = Cron(tmp_path)
    status, log = cron.run(f"http://127.0.0.1:{port}", mode=None)
    assert_failed(status, log, "site unreachable")


def test_two_ctrl_c_still_end_with_a_summary(tmp_path: Path, site: SiteManifest) -> None:
    cron = Cron(tmp_path)
    # Every answer takes 3 s: the first Ctrl-C waits for requests in flight, the second forces.
    with MirrorServer(site.root, faults=FaultPlan([FaultRule("/*", delay=3.0)])) as server:
        command, log_file = cron.command(server.base_url)
        proc = subprocess.Popen(command, cwd=REPO, env=crawl_env(), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "Spider opened" not in log_text(log_file):
            time.sleep(0.05)
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        status = proc.wait(timeout=60)
    assert status != 0
    log = log_text(log_file)
    assert "Received SIGINT twice, forcing unclean shutdown" in log
    line = summary(log)
    assert "health=unhealthy" in line, line
    with MirrorServer(site.root) as server:
        status, log = cron.run(server.base_url)  # the same command again
    assert status == 0, summary(log)
    assert_exactly_once(cron, site)


def test_the_feed_failing_every_run_costs_one_try_and_one_warning(tmp_path: Path, site: SiteManifest) -> None:
    cron = Cron(tmp_path)
    faults = FaultPlan([FaultRule("/feed/", statuses=[500])])
    with MirrorServer(site.root, faults=faults) as server:
        assert cron.run(server.base_url)[0] == 0
        server.requests.clear()
        status, log = cron.run(server.base_url, mode=None)
        assert status == 0, summary(log)
        assert len([r for r in server.requests.snapshot() if r.path == "/feed/"]) == 2  # one retry
        assert "the feed is optional" in log
        server.requests.clear()
        status, log = cron.run(server.base_url, mode=None)
        assert status == 0, summary(log)
        assert len([r for r in server.requests.snapshot() if r.path == "/feed/"]) == 1
        assert "failing since" in log
        assert len([line for line in log.splitlines() if "WARNING" in line and "feed" in line]) == 1


def test_a_redirect_to_another_port_of_the_host_is_not_followed(tmp_path: Path, site: SiteManifest) -> None:
    with MirrorServer(site.root) as other:
        target = f"{other.base_url}/{local_path(site.article_urls[0]).strip('/')}/"
        faults = FaultPlan([FaultRule(local_path(site.article_urls[0]), redirect_to=target, redirect_status=302)])
        with MirrorServer(site.root, faults=faults) as server:
            cron = Cron(tmp_path)
            cron.run(server.base_url)
        assert len(other.requests) == 0
