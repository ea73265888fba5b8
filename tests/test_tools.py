"""Scrapy's tools in the project never touch the crawl state: ``scrapy parse`` and
``scrapy shell`` — also one left open — create no state file and take no lock, so the cron
crawl that starts beside or after them runs normally.  Only ``scrapy crawl`` (the project's
command, ``newsspider.commands.crawl``) opens the state and holds ``<state>.lock``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, crawl_command, crawl_env, log_text, read_jsonl, summary_line
from sitegen import SiteManifest, generate_site, local_path

from newsspider.dev.devserver import MirrorServer


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> SiteManifest:
    return generate_site(tmp_path_factory.mktemp("site") / "mirror", n_articles=4, per_page=5,
                         categories=["News"], term_archives=False)


def scrapy(*args: str, state: Path) -> list[str]:
    return [sys.executable, "-m", "scrapy", *args, "-s", f"NEWSSPIDER_STATE_PATH={state}"]


def test_parse_and_an_open_shell_leave_no_state_and_no_lock(tmp_path: Path, site: SiteManifest) -> None:
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    state = state_dir / "s.sqlite3"
    article = site.article_urls[0]
    outputs_before = sorted((REPO / "output").rglob("*")) if (REPO / "output").exists() else []
    with MirrorServer(site.root) as server:
        page = server.base_url + local_path(article)
        parse = subprocess.run(scrapy("parse", "--spider", "georgiatoday", "-a", f"base_url={server.base_url}",
                                      article, state=state),
                               cwd=REPO, env=crawl_env(), capture_output=True, text=True, timeout=60)
        assert parse.returncode == 0, parse.stderr[-3000:]
        assert f"'url': '{article}'" in parse.stdout, parse.stdout[-3000:]  # it did parse the article
        assert sorted(state_dir.iterdir()) == []

        shell = subprocess.run(scrapy("shell", page, "-c", "response.status", state=state),
                               cwd=REPO, env=crawl_env(), capture_output=True, text=True, timeout=60)
        assert shell.returncode == 0, shell.stderr[-3000:]
        assert shell.stdout.strip() == "200"
        assert sorted(state_dir.iterdir()) == []
        # nor any output directory (the default FEEDS) in the project
        assert (sorted((REPO / "output").rglob("*")) if (REPO / "output").exists() else []) == outputs_before

        # A shell left open (here: busy for a while) while cron starts the crawl.
        code = "print('opened', flush=True) or __import__('time').sleep(60)"
        open_shell = subprocess.Popen(scrapy("shell", page, "-c", code, state=state), cwd=REPO, env=crawl_env(),
                                      stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            assert open_shell.stdout is not None and open_shell.stdout.readline().strip() == "opened"
            assert sorted(state_dir.iterdir()) == []
            out, log = tmp_path / "out.jsonl", tmp_path / "crawl.log"
            crawl = subprocess.run(crawl_command(server.base_url, output=out, log_file=log, state=state),
                                   cwd=REPO, env=crawl_env(), capture_output=True, text=True, timeout=120)
            assert open_shell.poll() is None, "the shell was still open during the crawl"
        finally:
            open_shell.kill()
            open_shell.wait()
    assert "Another crawl holds the lock" not in log_text(log)
    assert crawl.returncode == 0, summary_line(log)
    assert sorted(item["url"] for item in read_jsonl(out)) == sorted(site.article_urls)
    assert state.is_file()  # the crawl, and only the crawl, opened the state
