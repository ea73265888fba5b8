"""End to end on a generated site: every article exactly once, nothing else.

``tests/sitegen.py`` writes a georgiatoday.ge mirror from the real page templates: home
page, seven categories found through the site's menu, each paginated (10 posts a page),
articles in several categories, static pages, tag/author archives, a dead link, sidebar
links with tracking parameters and without trailing slash, robots.txt, Yoast sitemaps and
the feed.  The real ``scrapy crawl georgiatoday -a mode=full`` runs against it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import log_records, read_jsonl, run_crawl
from sitegen import SiteManifest, generate_site

from newsspider.dev.devserver import MirrorServer

N_ARTICLES = 45


@pytest.fixture(scope="module")
def site_crawl(tmp_path_factory: pytest.TempPathFactory) -> tuple[SiteManifest, list[dict], Path, int, list]:
    tmp = tmp_path_factory.mktemp("site")
    manifest = generate_site(tmp / "site", n_articles=N_ARTICLES, seed=7)
    out = tmp / "out.jsonl"
    with MirrorServer(manifest.root) as server:
        result = run_crawl(server.base_url, out)
        requests = server.requests.snapshot()
    return manifest, read_jsonl(out), out.with_suffix(".log"), result.returncode, requests


def test_clean_exit_without_error_records(site_crawl: tuple) -> None:
    _, _, log, status, _ = site_crawl
    assert status == 0, log.read_text(encoding="utf-8")[-3000:]
    assert log_records(log, "ERROR") == []


def test_every_article_exactly_once(site_crawl: tuple) -> None:
    manifest, items, *_ = site_crawl
    urls = [item["url"] for item in items]
    assert len(urls) == len(set(urls)), "duplicates"
    assert sorted(urls) == sorted(manifest.article_urls)
    post_ids = [item["post_id"] for item in items]
    assert len(post_ids) == len(set(post_ids))


def test_fields_match_the_site(site_crawl: tuple, schema_validator) -> None:
    manifest, items, *_ = site_crawl
    by_url = {item["url"]: item for item in items}
    for expected in manifest.items():
        got = by_url[expected["url"]]
        wrong = {k: (got.get(k), v) for k, v in expected.items() if got.get(k) != v}
        assert not wrong, f"{expected['url']}: {wrong}"
        schema_validator.validate(got)


def test_nothing_but_articles(site_crawl: tuple) -> None:
    manifest, items, *_ = site_crawl
    urls = {item["url"] for item in items}
    others = set(manifest.static_pages) | set(manifest.listing_urls) | set(manifest.archive_page_urls)
    assert not urls & others
    assert manifest.dead_url not in urls


def test_all_categories_and_their_last_pages_were_walked(site_crawl: tuple) -> None:
    manifest, _, _, _, requests = site_crawl
    fetched = {r.path for r in requests}
    for category in manifest.categories:
        last = category.page_urls[-1].removeprefix("https://georgiatoday.ge")
        assert last in fetched, f"{category.name}: last page {last} not fetched"


def test_sidebar_widgets_are_not_followed(site_crawl: tuple) -> None:
    """The dead link sits in a sidebar "Don't Miss" widget: only main listing blocks count."""
    manifest, _, _log, _, requests = site_crawl
    dead_path = manifest.dead_url.removeprefix("https://georgiatoday.ge")
    assert not any(r.path == dead_path for r in requests)
    assert not any("utm_" in r.path for r in requests), "tracking parameters are stripped before fetching"


def test_each_page_fetched_once(site_crawl: tuple) -> None:
    _, _, _, _, requests = site_crawl
    ok_paths = [r.path.split("?")[0] for r in requests if r.status == 200 and r.path != "/robots.txt"]
    assert len(ok_paths) == len(set(ok_paths)), "a page was downloaded twice"
