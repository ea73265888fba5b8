"""Bad spider arguments stop the crawl before anything starts, with a clear message."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from conftest import REPO, project_crawler
from scrapy.settings import Settings
from scrapy.utils.project import get_project_settings

from newsspider.dev.devserver import MirrorServer
from newsspider.spiders.georgiatoday import GeorgiaTodaySpider

SNAPSHOT = REPO / "newsspider" / "dev" / "snapshot" / "site"


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ("mode=fast", "mode must be one of full, incremental, check, got 'fast'"),
        ("since=yesterday", "since must be a date YYYY-MM-DD, got 'yesterday'"),
        ("base_url=ftp://mirror", "base_url must be an http(s) URL such as http://127.0.0.1:8000, got 'ftp://mirror'"),
    ],
)
def test_bad_argument_is_a_usage_error(tmp_path: Path, argument: str, message: str) -> None:
    out = tmp_path / "out.jsonl"
    result = subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "georgiatoday", "-a", argument, "-O", str(out),
         "-s", f"NEWSSPIDER_STATE_PATH={tmp_path / 'state.sqlite3'}"],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    # one error line and a hint: no Scrapy usage banner, no start-up log before them
    error, hint = result.stderr.splitlines()
    assert error == f"error: bad spider argument: {message}"
    assert hint == ("hint: -a mode=full|incremental|check, -a since=YYYY-MM-DD, -a base_url=URL "
                    "(crawl -h says what they mean)")
    assert not out.exists() and not (tmp_path / "state.sqlite3").exists()


def test_arguments_are_parsed() -> None:
    origins, mode, since = GeorgiaTodaySpider.check_arguments("http://127.0.0.1:8000/", " FULL ", "2025-04-01")
    assert (origins.fetch, origins.canonical) == ("http://127.0.0.1:8000", "https://georgiatoday.ge")
    assert (mode, since) == ("full", date(2025, 4, 1))
    assert GeorgiaTodaySpider.check_arguments()[1] == "incremental"


def _crawler_settings(base_url: str, **cmdline: object) -> Settings:
    crawler = project_crawler(**cmdline)
    GeorgiaTodaySpider.from_crawler(crawler, base_url=base_url)
    return crawler.settings


@pytest.mark.parametrize("base_url", ["http://127.0.0.1:8000", "http://localhost:9000/mirror", "http://[::1]:8000"])
def test_local_mirror_is_crawled_without_politeness_delays(base_url: str) -> None:
    settings = _crawler_settings(base_url)
    assert settings.getfloat("DOWNLOAD_DELAY") == 0
    assert settings.getbool("AUTOTHROTTLE_ENABLED") is False
    assert settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN") == 8
    assert settings.getbool("ROBOTSTXT_OBEY") is True  # robots.txt is still obeyed


def test_command_line_politeness_wins_on_a_local_mirror() -> None:
    settings = _crawler_settings("http://127.0.0.1:8000", DOWNLOAD_DELAY=2, AUTOTHROTTLE_ENABLED=True)
    assert settings.getfloat("DOWNLOAD_DELAY") == 2
    assert settings.getbool("AUTOTHROTTLE_ENABLED") is True
    assert settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN") == 8


@pytest.mark.parametrize("base_url", ["https://georgiatoday.ge", "http://10.0.0.5:8000", "http://mirror.example"])
def test_other_sites_keep_the_polite_defaults(base_url: str) -> None:
    project = get_project_settings()
    settings = _crawler_settings(base_url)
    for name in ("DOWNLOAD_DELAY", "AUTOTHROTTLE_ENABLED", "CONCURRENT_REQUESTS_PER_DOMAIN"):
        assert settings.get(name) == project.get(name), name
    assert settings.getfloat("DOWNLOAD_DELAY") > 0


def test_unknown_argument_is_a_usage_error_and_fetches_nothing(tmp_path: Path) -> None:
    """A typo (``-a sinse=…``) must not run a crawl that silently ignores it."""
    out, state = tmp_path / "out.jsonl", tmp_path / "state.sqlite3"
    with MirrorServer(SNAPSHOT) as server:
        result = subprocess.run(
            [sys.executable, "-m", "scrapy", "crawl", "georgiatoday", "-a", f"base_url={server.base_url}",
             "-a", "mode=full", "-a", "sinse=2026-01-01", "-O", str(out), "-s", f"NEWSSPIDER_STATE_PATH={state}"],
            cwd=REPO, capture_output=True, text=True, timeout=60,
        )
        assert len(server.requests) == 0
    assert result.returncode == 2, result.stderr[-2000:]
    assert "bad spider argument: unknown argument 'sinse'" in result.stderr
    assert not out.exists() and not state.exists() and not Path(f"{state}.lock").exists()
