"""Bad spider arguments stop the crawl before anything starts, with a clear message."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from conftest import REPO

from newsspider.spiders.georgiatoday import GeorgiaTodaySpider


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ("mode=fast", "mode must be one of full, incremental, got 'fast'"),
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
    assert f"bad spider argument: {message}" in result.stderr
    assert not out.exists() and not (tmp_path / "state.sqlite3").exists()


def test_arguments_are_parsed() -> None:
    origins, mode, since = GeorgiaTodaySpider.check_arguments("http://127.0.0.1:8000/", " FULL ", "2025-04-01")
    assert (origins.fetch, origins.canonical) == ("http://127.0.0.1:8000", "https://georgiatoday.ge")
    assert (mode, since) == ("full", date(2025, 4, 1))
    assert GeorgiaTodaySpider.check_arguments()[1] == "incremental"
