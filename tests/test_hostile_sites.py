"""A hostile site, or a neighbour in the output directory, cannot bend what cron delivers.

Each test runs the real ``scrapy crawl georgiatoday`` against the mirror server, breaks
something on purpose, checks the exit status and the message, and then runs again
normally: across the runs every article is delivered exactly once.

* a site that moved (every answer a 301 to another origin) exits 1 with ``site moved``;
* pages over ``DOWNLOAD_MAXSIZE`` (as sent, streamed, or a gzip body that inflates past
  it) are counted drops, pending in the state, asked again by the next run;
* an unreachable site (refused port, unknown host) is reported within seconds;
* two runs on two states sharing an output directory touch only their own files.
"""

from __future__ import annotations

import json
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from conftest import REPO, crawl_env, log_text, read_jsonl, summary_fields
from sitegen import SiteManifest, generate_site, local_path

from newsspider.crawl.run.records import Commit
from newsspider.crawl.run.state import State
from newsspider.dev.devserver import FaultPlan, FaultRule, MirrorServer

N_ARTICLES = 12


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> SiteManifest:
    return generate_site(tmp_path_factory.mktemp("site") / "mirror", n_articles=N_ARTICLES, per_page=6,
                         term_archives=False)


class Cron:
    """Runs of ``scrapy crawl georgiatoday`` on one state, as cron runs them: the default
    dated, atomic output (``FEEDS`` may be replaced with ``-s``), retries without waiting
    unless ``waits``."""

    def __init__(self, tmp: Path, out: Path | None = None) -> None:
        tmp.mkdir(parents=True, exist_ok=True)
        self.tmp, self.out, self.state = tmp, out or tmp / "out", tmp / "state" / "georgiatoday.sqlite3"
        self.runs = 0

    def command(self, base_url: str, *extra: str, mode: str | None = "full", waits: bool = False,
                name: str = "%(time)s.jsonl") -> tuple[list[str], Path]:
        self.runs += 1
        log = self.tmp / f"run{self.runs}.log"
        feeds = {str(self.out / name): {"format": "jsonlines", "atomic": True, "store_empty": False}}
        command = [sys.executable, "-m", "scrapy", "crawl", "georgiatoday", "-a", f"base_url={base_url}",
                   *(["-a", f"mode={mode}"] if mode else []),
                   "-s", f"FEEDS={json.dumps(feeds)}", "-s", f"NEWSSPIDER_STATE_PATH={self.state}",
                   "-s", f"LOG_FILE={log}", "-s", "NEWSSPIDER_ARCHIVE_DIR=",
                   *([] if waits else ["-s", "NEWSSPIDER_RETRY_BASE_DELAY=0", "-s", "NEWSSPIDER_RETRY_JITTER=0"]),
                   *extra]
        return command, log

    def run(self, base_url: str, *extra: str, **kwargs: Any) -> tuple[int, str]:
        return self.start(base_url, *extra, **kwargs)()

    def start(self, base_url: str, *extra: str, **kwargs: Any) -> Callable[[], tuple[int, str]]:
        """The run, started; call the result to wait for its (exit status, log)."""
        command, log = self.command(base_url, *extra, **kwargs)
        process = subprocess.Popen(command, cwd=REPO, env=crawl_env(), stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, text=True)

        def wait() -> tuple[int, str]:
            _, stderr = process.communicate(timeout=120)
            assert "Traceback" not in stderr, stderr[-3000:]
            return process.returncode, log_text(log)

        return wait

    def outputs(self) -> list[Path]:
        return sorted(self.out.glob("*.jsonl")) if self.out.is_dir() else []

    def urls(self) -> list[str]:
        return [item["url"] for path in self.outputs() for item in read_jsonl(path)]

    def articles_in_state(self) -> set[str]:
        with sqlite3.connect(self.state) as db:
            return {row[0] for row in db.execute("SELECT url FROM articles")}

    def pending(self) -> dict[str, str]:
        with sqlite3.connect(self.state) as db:
            return dict(db.execute("SELECT url, reason FROM pending").fetchall())


def summary(log: str) -> dict[str, str]:
    lines = [line for line in log.splitlines() if "Summary:" in line]
    assert len(lines) == 1, log[-3000:]
    return summary_fields(lines[0])


def assert_exactly_once(cron: Cron, site: SiteManifest) -> None:
    urls = cron.urls()
    assert sorted(urls) == sorted(site.article_urls), "an article missing or delivered twice"
    assert cron.articles_in_state() == set(urls)


# --- two runs on two states, one output directory ------------------------------------------------
def test_two_runs_sharing_an_output_directory_touch_only_their_own_files(tmp_path: Path, site: SiteManifest) -> None:
    """Two scrapyd jobs in one working directory: one output directory and file name, a
    state each.  B runs whole while A is writing: B neither recovers, truncates nor
    renames A's live ``.part``, nor anyone's ``notes.part``; both deliver every article,
    and A's next run has nothing new to deliver."""
    shared = tmp_path / "out"
    shared.mkdir()
    notes = shared / "notes.part"
    notes.write_text("not an output of any run\n", encoding="utf-8")
    a, b = Cron(tmp_path / "a", out=shared), Cron(tmp_path / "b", out=shared)
    release = threading.Event()
    held = FaultPlan([FaultRule(local_path(site.article_urls[-1]), hold=release, times=1)])
    with MirrorServer(site.root, faults=held) as slow, MirrorServer(site.root) as server:
        job_a = a.start(slow.base_url, name="georgiatoday.jsonl")
        try:
            deadline = time.monotonic() + 60
            while not (parts := sorted(set(shared.glob("*.part")) - {notes})) and time.monotonic() < deadline:
                time.sleep(0.05)
            [a_part] = parts
            while held.hits(held.rules[0]) == 0 and time.monotonic() < deadline:
                time.sleep(0.05)
            a_file = a_part.stat()
            status, b_log = b.run(server.base_url, name="georgiatoday.jsonl")
            assert status == 0, summary(b_log)
            assert held.hits(held.rules[0]) == 1 and not release.is_set(), "A finished before B: nothing shared"
            assert a_part.exists(), "B took A's live .part"
            now = a_part.stat()
            assert (now.st_ino, now.st_size >= a_file.st_size) == (a_file.st_ino, True), "B touched A's live .part"
        finally:
            release.set()
            status, log = job_a()
        assert status == 0, summary(log)
        assert notes.read_text(encoding="utf-8") == "not an output of any run\n"
        outputs = sorted(shared.glob("*.jsonl"))
        assert [p.name for p in outputs] == ["georgiatoday-1.jsonl", "georgiatoday.jsonl"]  # B stored first
        for output in outputs:
            assert sorted(i["url"] for i in read_jsonl(output)) == sorted(site.article_urls)
        assert a.articles_in_state() == b.articles_in_state() == set(site.article_urls)
        status, log = a.run(slow.base_url, mode=None, name="georgiatoday.jsonl")  # A's next cron run
    assert status == 0, summary(log)
    assert summary(log)["items"] == "0" and sorted(shared.glob("*.jsonl")) == outputs
    assert sorted(p.name for p in shared.glob("*.part")) == ["notes.part"]


# --- pages over DOWNLOAD_MAXSIZE -----------------------------------------------------------------
def test_pages_over_the_size_limit_are_counted_pending_drops_the_next_run_delivers(
        tmp_path: Path, site: SiteManifest) -> None:
    """Three article pages grow past ``DOWNLOAD_MAXSIZE``: one says so in its
    ``Content-Length``, one is streamed without it, one is a gzip body of 12 KB that
    inflates past the limit (a gzip bomb).  Each is a counted drop (``dropped_too_large``),
    judged by the health check, and pending in the state; once the pages are fixed the
    next cron run delivers them, and every article is delivered once."""
    root = tmp_path / "mirror"
    shutil.copytree(site.root, root)
    big = {a.url: a.path for a in site.articles[2:5]}
    pages = {url: root / unquote(path).strip("/") / "index.html" for url, path in big.items()}
    fixed = {url: page.read_bytes() for url, page in pages.items()}
    padding = b"<script>var pad = '" + b"x" * 300_000 + b"';</script></head>"  # 300 KB, gzipped to 300 bytes
    for url, page in pages.items():
        page.write_bytes(fixed[url].replace(b"</head>", padding))
    announced, streamed, bomb = big.values()
    faults = FaultPlan([FaultRule(streamed, no_length=True), FaultRule(bomb, gzip=True)])
    cron = Cron(tmp_path)
    with MirrorServer(root, faults=faults) as server:
        status, log = cron.run(server.base_url, "-s", "DOWNLOAD_MAXSIZE=200000")
        fields = summary(log)
        assert status == 1, fields
        assert (fields["dropped"], fields["dropped_too_large"], fields["items"]) == ("3", "3", str(N_ARTICLES - 3))
        # the three posts the sitemap lists are missing from the dataset too
        assert fields["problems"] == (f"3 of {N_ARTICLES} article pages dropped (> 10%); site coverage "
                                      f"{N_ARTICLES - 3}/{N_ARTICLES} (< 99.0%): posts the sitemaps list are missing "
                                      "from the dataset (newsspider coverage lists them)")
        answered = {r.path: r for r in server.requests if r.path in big.values()}
        assert set(answered) == {announced, streamed, bomb}  # each fetched once: no retries
        assert "Content-Encoding" not in answered[announced].headers
        assert cron.pending() == dict.fromkeys(big, "dropped:too_large")
        assert not set(cron.urls()) & set(big)
        for url, page in pages.items():
            page.write_bytes(fixed[url])
        status, log = cron.run(server.base_url, "-s", "DOWNLOAD_MAXSIZE=200000", mode=None)  # the next cron run
    fields = summary(log)
    assert status == 0, fields
    assert (fields["pending_retried"], fields["new"], fields["dropped"]) == ("3", "3", "0")
    assert cron.pending() == {}
    assert_exactly_once(cron, site)


# --- an unreachable site ---------------------------------------------------------------------------
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # nothing listens there once the socket is closed


def test_an_unreachable_site_is_reported_within_seconds_and_the_next_run_delivers(
        tmp_path: Path, site: SiteManifest) -> None:
    """Nothing listens on the port, then the host name does not resolve (``.invalid``
    never does): each cron run, with the real retry delays and politeness, exits 1 within
    15 s saying ``site unreachable`` — not after a minute of backoff on every start
    request, nor a second per pending page — and does not say "Nothing published since"
    (the site said nothing).  The next run, on the site, delivers every article once."""
    runs = {f"http://127.0.0.1:{closed_port()}": Cron(tmp_path / "refused"),
            "http://no-such-host.invalid": Cron(tmp_path / "unknown_host")}
    for cron in runs.values():  # no article yet, and every one pending (an earlier run's 503s)
        state = State(cron.state)
        state.commit(Commit(failures=dict.fromkeys(site.article_urls, "http_503")))
        state.close()
    started = time.monotonic()
    waits = {base_url: cron.start(base_url, mode=None, waits=True) for base_url, cron in runs.items()}  # side by side
    for base_url, wait in waits.items():
        status, log = wait()
        elapsed = time.monotonic() - started
        fields = summary(log)
        assert status == 1, fields
        assert fields["problems"].startswith(f"site unreachable: {base_url}/"), fields
        assert elapsed < 15, f"{base_url}: {elapsed:.1f} s"
        assert "Nothing published since" not in log
    cron = runs[next(iter(runs))]
    with MirrorServer(site.root) as server:
        status, log = cron.run(server.base_url)
    assert status == 0, summary(log)
    assert_exactly_once(cron, site)
    assert not cron.pending(), "the home page and sitemaps answered: nothing is left pending"


# --- a site that moved -----------------------------------------------------------------------------
def test_a_mirror_that_moved_is_a_failure_that_says_where_and_nothing_is_lost(
        tmp_path: Path, site: SiteManifest) -> None:
    """After a full run, the mirror moves to another port: it answers every request with a
    301 to the same path there.  The next cron run exits 1 with ``site moved: <old> →
    <new>`` and the fix, and exports and commits nothing; the fix (the new address, with a
    state of its own: this one is bound to the old one) delivers every article once."""
    root = tmp_path / "mirror"
    shutil.copytree(site.root, root)
    cron = Cron(tmp_path / "cron")
    with MirrorServer(root) as old, MirrorServer(root) as new:
        status, log = cron.run(old.base_url)
        assert status == 0, summary(log)
        v2 = generate_site(root, n_articles=N_ARTICLES, per_page=6, term_archives=False, version=2)
        old.faults.rules.append(FaultRule("*", moved_to=new.base_url))
        old.requests.clear()
        status, log = cron.run(old.base_url, mode=None)
        fields = summary(log)
        assert status == 1, fields
        assert fields["problems"] == (
            f"site moved: {old.base_url} → {new.base_url} (the home page and 3 of 4 requests redirected there); "
            f"if the mirror moved, crawl -a base_url={new.base_url} (with a state of its own once this one holds "
            "articles: docs/cron.md, One dataset, one state)")
        assert {r.status for r in old.requests} == {301} and len(new.requests) == 0  # never followed
        assert (fields["items"], fields["output"]) == ("0", "none")
        assert cron.articles_in_state() == set(site.article_urls)
        assert sorted(cron.urls()) == sorted(site.article_urls)  # the full run's, nothing since
        elsewhere = Cron(tmp_path / "elsewhere")  # the fix
        status, log = elsewhere.run(new.base_url)
    assert status == 0, summary(log)
    assert sorted(elsewhere.urls()) == sorted(v2.article_urls)
    assert elsewhere.articles_in_state() == set(v2.article_urls)


def test_a_mirror_moving_to_https_is_a_failure(tmp_path: Path, site: SiteManifest) -> None:
    """The mirror moves to ``https://`` on its own host and port (fetched again as is, the
    same URL would loop until the redirect limit): a first cron run exits 1 saying so, and
    not that nothing was published."""
    with MirrorServer(site.root) as server:
        target = server.base_url.replace("http://", "https://")
        server.faults.rules.append(FaultRule("*", moved_to=target))
        status, log = Cron(tmp_path).run(server.base_url, mode=None)
        answered = server.requests.snapshot()
    fields = summary(log)
    assert status == 1, fields
    assert fields["problems"].startswith(f"site moved: {server.base_url} → {target} (the home page and "), fields
    assert len(answered) == 4 and {r.status for r in answered} == {301}
    assert "Nothing published since" not in log
