"""Each article once per run: the ``DropDuplicates`` pipeline on its own, and a
real crawl where two different URLs lead to one article.

The spider already requests each URL once, so only pages at *other* URLs reach the
pipeline twice: a copy of a post at an alias path (same canonical URL), or a post served at
an old slug that names itself as canonical (same post id under another URL).
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from conftest import FIXTURES, read_jsonl, run_crawl, summary_line
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler
from sitegen import SITE, SiteManifest, generate_site, local_path

from newsspider.crawl.export.pipelines import DropDuplicates
from newsspider.crawl.report import stats as S
from newsspider.dev.devserver import MirrorServer
from newsspider.dev.extract import extract_html
from newsspider.items import ArticleItem
from newsspider.spiders.georgiatoday import GeorgiaTodaySpider

BATUMI = "https://georgiatoday.ge/batumi-boulevard-reconstruction-enters-final-phase/"
KUTAISI_FIXTURE = "sample-kutaisi-georgian"


@pytest.fixture
def article() -> ArticleItem:
    """A real article item (the sample page of the Batumi boulevard post)."""
    return extract_html((FIXTURES / "sample-batumi-boulevard.html").read_bytes(), BATUMI)


@pytest.fixture
def pipeline() -> DropDuplicates:
    crawler = get_crawler(GeorgiaTodaySpider)
    crawler.stats.open_spider()
    return DropDuplicates.from_crawler(crawler)


def duplicates(pipeline: DropDuplicates) -> int:
    assert pipeline.stats is not None
    return int(pipeline.stats.get_value(S.DUPLICATE, 0))


def test_the_same_url_twice_is_dropped(pipeline: DropDuplicates, article: ArticleItem) -> None:
    assert pipeline.process_item(article) is article
    again = replace(article)  # the same page fetched again (another item object)
    with pytest.raises(DropItem, match=rf"^duplicate: {re.escape(BATUMI)}$"):
        pipeline.process_item(again)
    assert duplicates(pipeline) == 1


def test_the_same_post_id_under_another_url_is_dropped(pipeline: DropDuplicates, article: ArticleItem) -> None:
    pipeline.process_item(article)
    old_slug = replace(article, url="https://georgiatoday.ge/batumi-boulevard-reconstruction/")
    with pytest.raises(DropItem, match="duplicate"):
        pipeline.process_item(old_slug)
    assert duplicates(pipeline) == 1


def test_the_same_url_with_another_post_id_is_dropped(pipeline: DropDuplicates, article: ArticleItem) -> None:
    pipeline.process_item(article)
    assert article.post_id is not None
    with pytest.raises(DropItem, match="duplicate"):
        pipeline.process_item(replace(article, post_id=article.post_id + 1))
    assert duplicates(pipeline) == 1


def test_different_articles_pass_and_are_not_counted(pipeline: DropDuplicates, article: ArticleItem) -> None:
    other = extract_html((FIXTURES / f"{KUTAISI_FIXTURE}.html").read_bytes(),
                         _canonical(FIXTURES / f"{KUTAISI_FIXTURE}.json"))
    assert other.post_id != article.post_id and other.url != article.url
    assert pipeline.process_item(article) is article
    assert pipeline.process_item(other) is other
    # Without a post id only the URL tells: two URLs are two articles.
    first = replace(article, url="https://georgiatoday.ge/a/", post_id=None)
    second = replace(article, url="https://georgiatoday.ge/b/", post_id=None)
    assert pipeline.process_item(first) is first
    assert pipeline.process_item(second) is second
    assert duplicates(pipeline) == 0
    with pytest.raises(DropItem):
        pipeline.process_item(replace(first))
    with pytest.raises(DropItem):
        pipeline.process_item(replace(other, url="https://georgiatoday.ge/c/"))
    assert duplicates(pipeline) == 2


def _canonical(case_json: Path) -> str:
    return str(json.loads(case_json.read_text(encoding="utf-8"))["url"])


# --- a real crawl ------------------------------------------------------------------------------
def _page(root: Path, url: str) -> Path:
    return root / unquote(local_path(url)).strip("/") / "index.html"


def _sitemap_entries(root: Path, urls: list[str]) -> None:
    sitemap = root / "post-sitemap.xml"
    text = sitemap.read_text(encoding="utf-8")
    entries = "".join(f"<url><loc>{u}</loc></url>\n" for u in urls)
    sitemap.write_text(text.replace("</urlset>", entries + "</urlset>"), encoding="utf-8")


@pytest.fixture(scope="module")
def alias_crawl(tmp_path_factory: pytest.TempPathFactory) -> tuple[SiteManifest, dict[str, Any]]:
    """A mirror where two more URLs lead to articles already on the site: a verbatim copy
    of article 0 at ``/copy-of-article/`` (its canonical URL, og:url and JSON-LD still name
    article 0), and article 1 served at its old slug ``/old-slug/`` with every URL in the
    page rewritten to the old slug (a canonical naming the old slug, same post id).  Both
    are listed in the post sitemap, and the copy is linked from a category listing too."""
    tmp = tmp_path_factory.mktemp("alias")
    root = tmp / "mirror"
    site = generate_site(root, n_articles=8, per_page=4, term_archives=False, seed=11)
    first, second = site.articles[0], site.articles[1]
    copy_url, old_url = f"{SITE}/copy-of-article/", f"{SITE}/old-slug/"
    _page(root, copy_url).parent.mkdir(parents=True)
    _page(root, copy_url).write_bytes(_page(root, first.url).read_bytes())
    html = _page(root, second.url).read_text(encoding="utf-8")
    assert html.count(second.url) >= 3  # canonical, og:url, JSON-LD …
    _page(root, old_url).parent.mkdir(parents=True)
    _page(root, old_url).write_text(html.replace(second.url, old_url), encoding="utf-8")
    _sitemap_entries(root, [copy_url, old_url])
    listing = _page(root, site.categories[0].url)
    card = listing.read_text(encoding="utf-8")
    linked = next(a.url for a in site.articles if a.url in card)
    listing.write_text(card.replace(linked, copy_url, 1), encoding="utf-8")  # one card links the copy
    out = tmp / "out.jsonl"
    with MirrorServer(root) as server:
        result = run_crawl(server.base_url, out)
        fetched = {r.path for r in server.requests.snapshot() if r.status == 200}
    return site, {"status": result.returncode, "items": read_jsonl(out), "log": out.with_suffix(".log"),
                  "fetched": fetched, "first": first, "second": second}


def test_two_urls_of_one_article_give_one_item(alias_crawl: tuple[SiteManifest, dict[str, Any]]) -> None:
    site, crawl = alias_crawl
    line = summary_line(crawl["log"])
    assert crawl["status"] == 0, line
    assert {"/copy-of-article/", "/old-slug/"} <= crawl["fetched"], "both aliases were fetched"
    items = crawl["items"]
    post_ids = [item["post_id"] for item in items]
    assert len(post_ids) == len(set(post_ids)), "one article emitted twice"
    assert sorted(post_ids) == sorted(a.post_id for a in site.articles)
    urls = [item["url"] for item in items]
    assert len(urls) == len(set(urls))
    # The copy names article 0 as canonical: its one item is article 0's.  Article 1 came out
    # once, under whichever of its two URLs was read first.
    assert urls.count(crawl["first"].url) == 1
    assert set(urls) - {crawl["first"].url, crawl["second"].url, f"{SITE}/old-slug/"} == (
        set(site.article_urls) - {crawl["first"].url, crawl["second"].url})
    stats = crawl["log"].read_text(encoding="utf-8")
    assert f"'{S.DUPLICATE}': 2," in stats
    assert "health=ok" in line and "dropped=0 " in line, line  # duplicates are not trouble
