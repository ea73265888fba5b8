"""``scrapy check`` runs the spider's contracts against a mirror, and ``scrapy parse``
routes a page by its type; neither creates a state or a lock."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import REPO, crawl_env

from newsspider.dev.devserver import MirrorServer

SNAPSHOT = REPO / "newsspider" / "dev" / "snapshot" / "site"
ARTICLE = "/north-korea-confirms-deployment-of-troops-to-support-russia-in-ukraine-war/"


def scrapy(*args: str, state: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "scrapy", *args, "-s", f"NEWSSPIDER_STATE_PATH={state}"],
                          cwd=REPO, env=crawl_env(), capture_output=True, text=True, timeout=120)


def test_scrapy_check_runs_the_contracts_on_the_mirror(tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite3"
    with MirrorServer(SNAPSHOT) as server:
        result = scrapy("check", "-s", f"NEWSSPIDER_BASE_URL={server.base_url}", "georgiatoday", state=state)
        paths = server.requests.paths()
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Ran 5 contracts" in result.stderr and "OK" in result.stderr
    assert ARTICLE in paths and "/category/politics/" in paths  # fetched from the mirror, not the site
    assert not state.exists() and not Path(f"{state}.lock").exists()


def test_scrapy_parse_prints_the_item_of_an_article_and_the_requests_of_a_listing(tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite3"
    with MirrorServer(SNAPSHOT) as server:
        # the canonical URL, fetched from base_url by the download handler
        article = scrapy("parse", "--spider", "georgiatoday", "-a", f"base_url={server.base_url}",
                         "https://georgiatoday.ge" + ARTICLE, state=state)
        listing = scrapy("parse", "--spider", "georgiatoday", "-a", f"base_url={server.base_url}",
                         "https://georgiatoday.ge/category/politics/", state=state)
        paths = {r.path for r in server.requests.snapshot()}
    assert ARTICLE in paths and "/category/politics/" in paths
    assert article.returncode == 0, article.stderr[-3000:]
    items, requests = article.stdout.split("# Requests")
    assert f"'url': 'https://georgiatoday.ge{ARTICLE}'" in items and "'title':" in items
    assert listing.returncode == 0, listing.stderr[-3000:]
    items, requests = listing.stdout.split("# Requests")
    assert "[]" in items and "<GET https://georgiatoday.ge/" in requests
    assert not state.exists() and not Path(f"{state}.lock").exists()
