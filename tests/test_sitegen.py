"""Tests for ``tests/sitegen.py``: the generated mirror parses, is complete and consistent
with its manifest, paginates like JNews, and version 2 differs from version 1 exactly as
documented."""

from __future__ import annotations

import filecmp
import html
import json
import math
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from parsel import Selector
from sitegen import (
    SAMPLE_DIR,
    SITE,
    TEMPLATE_DIR,
    TEMPLATE_FILES,
    ExpectedArticle,
    SiteManifest,
    disk_path,
    generate_site,
)

from newsspider.dev.devserver import MirrorServer

N = 37
PER_PAGE = 10
SEED = 3
SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
CREDIT = re.compile(r"^(?:Header image|Photos?): (.+)$")


@pytest.fixture(scope="module")
def v1(tmp_path_factory: pytest.TempPathFactory) -> SiteManifest:
    return generate_site(tmp_path_factory.mktemp("v1"), n_articles=N, per_page=PER_PAGE, seed=SEED)


@pytest.fixture(scope="module")
def v2(tmp_path_factory: pytest.TempPathFactory) -> SiteManifest:
    out = tmp_path_factory.mktemp("v2")
    return generate_site(out, n_articles=N, per_page=PER_PAGE, seed=SEED, version=2)


def read(manifest: SiteManifest, url_or_file: str) -> str:
    """A page of the mirror by absolute URL, or a root file by name."""
    rel = disk_path(url_or_file) if url_or_file.startswith(SITE) else Path(url_or_file)
    return (manifest.root / rel).read_text(encoding="utf-8")


def page(manifest: SiteManifest, url: str) -> Selector:
    return Selector(text=read(manifest, url))


def norm(text: str) -> str:
    return " ".join(text.replace("\xa0", " ").split())


# --------------------------------------------------------------------------- reference extractor


def yoast_nodes(sel: Selector) -> dict[str, dict[str, Any]]:
    raw = sel.css("script.yoast-schema-graph::text").get()
    assert raw is not None
    nodes: dict[str, dict[str, Any]] = {}
    for node in json.loads(raw)["@graph"]:
        nodes.setdefault(str(node["@type"]), node)
    return nodes


def persons(sel: Selector) -> dict[str, str]:
    raw = sel.css("script.yoast-schema-graph::text").get() or "{}"
    return {n["@id"]: n["name"] for n in json.loads(raw)["@graph"] if n["@type"] == "Person"}


def body_and_credit(sel: Selector) -> tuple[str, str | None]:
    """Article text per MARKUP.md: p/h2-h4 children of div.content-inner, minus chrome."""
    blocks: list[str] = []
    for child in sel.css("div.content-inner > *"):
        tag = child.root.tag
        if tag not in ("p", "h2", "h3", "h4"):
            continue
        text = norm(" ".join(child.xpath(".//text()").getall()))
        if text:
            blocks.append(text)
    credit = None
    if blocks and (m := CREDIT.match(blocks[-1])):
        credit = m.group(1)
        blocks.pop()
    return "\n\n".join(blocks), credit


def extract_article(sel: Selector) -> dict[str, Any]:
    """What a careful spider extracts from an article page (JSON-LD first)."""
    nodes = yoast_nodes(sel)
    article, webpage = nodes["NewsArticle"], nodes["WebPage"]
    authors = article["author"] if isinstance(article["author"], list) else [article["author"]]
    people = persons(sel)
    image = nodes.get("ImageObject")
    body, credit = body_and_credit(sel)
    return {
        "url": webpage["url"],
        "post_id": int(sel.css("link[rel=shortlink]::attr(href)").get("").rsplit("=", 1)[1]),
        "title": html.unescape(article["headline"]),
        "subtitle": sel.css("h2.jeg_post_subtitle::text").get(),
        "summary": webpage["description"],
        "authors": [people[a["@id"]] for a in authors],
        "published": article["datePublished"],
        "modified": article["dateModified"],
        "categories": [html.unescape(c) for c in article["articleSection"]],
        "tags": [html.unescape(t) for t in article.get("keywords", [])],
        "body": body,
        "image_url": image["url"] if image else None,
        "image_caption": image["caption"] if image else None,
        "image_credit": credit,
        "language": article["inLanguage"].split("-")[0],
    }


def listing_links(sel: Selector) -> list[str]:
    return sel.css(".jnews_archive_content_wrapper article .jeg_post_title a::attr(href)").getall()


def walk_listing(manifest: SiteManifest, first: str) -> Iterator[tuple[str, Selector]]:
    """Follow ``a.page_nav.next`` from the first archive page."""
    url: str | None = first
    seen: set[str] = set()
    while url:
        assert url not in seen, "pagination loops"
        seen.add(url)
        sel = page(manifest, url)
        yield url, sel
        url = sel.css("a.page_nav.next::attr(href)").get()


# --------------------------------------------------------------------------- basics


def test_template_copy_is_the_sample() -> None:
    if not SAMPLE_DIR.is_dir():
        pytest.skip("shared sample not mounted")
    for rel in [*TEMPLATE_FILES.values(), "robots.txt", "feed/index.xml", "post-sitemap.xml"]:
        assert (TEMPLATE_DIR / rel).read_bytes() == (SAMPLE_DIR / rel).read_bytes(), rel


def test_layout_and_counts(v1: SiteManifest) -> None:
    root = v1.root
    assert len(v1.articles) == N
    assert len({a.url for a in v1.articles}) == N
    assert len({a.post_id for a in v1.articles}) == N
    for name in ("index.html", "robots.txt", "sitemap_index.xml", "post-sitemap.xml", "page-sitemap.xml",
                 "category-sitemap.xml", "feed/index.xml"):  # fmt: skip
        assert (root / name).is_file(), name
    for article in v1.articles:
        assert (root / disk_path(article.url)).is_file()
        assert article.url == f"{SITE}{article.path}" and article.url.endswith("/")
    assert {u.rsplit("/", 2)[1] for u in v1.static_pages} >= {"about-us", "contact", "advertising"}
    assert not (root / disk_path(v1.dead_url)).exists()
    published = [a.published for a in v1.articles]
    assert published == sorted(published, reverse=True)


def test_georgian_article_has_encoded_url_and_unicode_folder(v1: SiteManifest) -> None:
    georgian = [a for a in v1.articles if a.language == "ka"]
    assert georgian
    for article in georgian:
        assert re.fullmatch(r"https://georgiatoday\.ge/(%[0-9a-f]{2}|-|[0-9])+/", article.url)
        folder = disk_path(article.url).parts[0]
        assert not folder.isascii()
        sel = page(v1, article.url)
        assert sel.css("html::attr(lang)").get() == "ka-GE"
        assert sel.css('meta[property="og:locale"]::attr(content)').get() == "ka_GE"


# --------------------------------------------------------------------------- articles


def test_every_article_matches_its_manifest_entry(v1: SiteManifest) -> None:
    for expected in v1.articles:
        assert extract_article(page(v1, expected.url)) == expected.item(), expected.url


def test_article_markup_fallbacks_agree(v1: SiteManifest) -> None:
    """Meta tags and visible markup say the same as JSON-LD (MARKUP.md fallbacks)."""
    for expected in v1.articles:
        sel = page(v1, expected.url)
        classes = sel.css("body::attr(class)").get("").split()
        assert {"single", "single-post", f"postid-{expected.post_id}"} <= set(classes)
        assert sel.css(".entry-header h1.jeg_post_title::text").get() == expected.title
        assert sel.css("link[rel=canonical]::attr(href)").get() == expected.url
        assert sel.css('meta[property="og:url"]::attr(content)').get() == expected.url
        assert sel.css("title::text").get() == f"{expected.title} - Georgia Today"
        assert sel.css('meta[property="og:title"]::attr(content)').get() == f"{expected.title} - Georgia Today"
        assert sel.css('meta[name="description"]::attr(content)').get() == expected.summary
        assert sel.css('meta[property="article:published_time"]::attr(content)').get() == expected.published
        assert sel.css('meta[property="article:modified_time"]::attr(content)').get() == expected.modified
        assert sel.css('meta[name="author"]::attr(content)').get() == ", ".join(expected.authors)
        assert sel.css(".entry-header .jeg_meta_author a::text").getall() == expected.authors
        assert sel.css('.jeg_meta_category a[rel="category tag"]::text').getall() == expected.categories
        assert sel.css(".jeg_post_tags a[rel=tag]::text").getall() == expected.tags
        assert sel.css(".entry-header .jeg_meta_date a::attr(href)").get() == expected.url
        assert norm(sel.css(".entry-header .jeg_meta_date a::text").get("")) == tbilisi_date(expected.published)
        assert sel.css('meta[property="og:image"]::attr(content)').get() == expected.image_url
        if expected.image_url:
            assert sel.css(".jeg_featured a::attr(href)").get() == expected.image_url
            assert sel.css(".jeg_featured p.wp-caption-text::text").get() == expected.image_caption
        else:
            assert sel.css(".jeg_featured *").getall() == []


def tbilisi_date(iso_utc: str) -> str:
    local = datetime.fromisoformat(iso_utc).astimezone(timezone(timedelta(hours=4)))
    return f"{local:%B} {local.day}, {local.year}"


def test_articles_carry_chrome_to_strip(v1: SiteManifest) -> None:
    """The generated pages keep the sample's noise: related posts, sidebar, footer, ads."""
    texts = [read(v1, a.url) for a in v1.articles]
    assert all("jnews_related_post_container" in t and "Recommended" in t and "jeg_footer" in t for t in texts)
    template = (TEMPLATE_DIR / TEMPLATE_FILES["article"]).read_text(encoding="utf-8")
    assert all(t.count("No Result") == template.count("No Result") for t in texts)
    assert any("- Advertisement -" in t for t in texts)
    assert any("wp-block-image" in t for t in texts)
    assert any("<p>&nbsp;</p>" in t for t in texts)
    assert any("jeg_meta_author coauthor" in t for t in texts)
    assert any(a.image_credit for a in v1.articles)
    assert any(a.image_url is None for a in v1.articles) or N < 20


def test_related_posts_link_to_existing_articles(v1: SiteManifest) -> None:
    urls = set(v1.article_urls)
    for article in v1.articles:
        sel = page(v1, article.url)
        related = sel.css(".jnews_related_post_container .jeg_post_title a::attr(href)").getall()
        assert set(related) <= urls
        assert article.url not in related


def test_static_pages_are_not_articles(v1: SiteManifest) -> None:
    for url in v1.static_pages:
        sel = page(v1, url)
        classes = sel.css("body::attr(class)").get("").split()
        assert "page" in classes and "single-post" not in classes
        assert sel.css("h1.jeg_post_title::text").get()
        assert sel.css("link[rel=canonical]::attr(href)").get() == url
        types = set(yoast_nodes(sel))
        assert "WebPage" in types and not types & {"Article", "NewsArticle"}
    about = page(v1, f"{SITE}/about-us/")
    assert about.css(".jeg_top_menu a::attr(href)").get() == f"{SITE}/about-us/"
    contact = page(v1, f"{SITE}/contact/")
    assert contact.css(".jeg_top_menu a::attr(href)").get() == f"{SITE}/about-us/"


def test_every_internal_link_resolves_except_the_dead_one(v1: SiteManifest) -> None:
    """Crawling by links never meets another 404 (wp-content, feeds and APIs aside)."""
    skip = re.compile(r"/(wp-content|wp-json|wp-admin|xmlrpc\.php|comments/feed)|/feed/$|\?s=|#")
    broken: set[str] = set()
    for file in v1.root.rglob("index.html"):
        for href in Selector(text=file.read_text(encoding="utf-8")).css("a::attr(href)").getall():
            if not href.startswith(SITE) or skip.search(href):
                continue
            target = href.split("?", 1)[0]
            if target in (SITE, f"{SITE}/"):
                continue
            if not (v1.root / disk_path(target if target.endswith("/") else target + "/")).is_file():
                broken.add(target)
    assert broken == {v1.dead_url}


# --------------------------------------------------------------------------- listings


def test_menu_links_every_category(v1: SiteManifest) -> None:
    home = page(v1, v1.home_url)
    category_urls = [c.url for c in v1.categories]
    for menu in home.css("ul.jeg_main_menu"):
        assert menu.css("a::attr(href)").getall() == category_urls
    for menu_id in ("menu-footer", "menu-mobile-menu"):
        links = home.css(f"ul#{menu_id} a::attr(href)").getall()
        assert [u for u in links if "/category/" in u] == category_urls


def test_category_pagination(v1: SiteManifest) -> None:
    for category in v1.categories:
        pages = list(walk_listing(v1, category.url))
        assert [u for u, _ in pages] == category.page_urls
        assert len(pages) == max(1, math.ceil(len(category.article_urls) / PER_PAGE))
        links = [listing_links(sel) for _, sel in pages]
        assert [u for chunk in links for u in chunk] == category.article_urls
        assert all(len(chunk) == PER_PAGE for chunk in links[:-1])
        for n, (url, sel) in enumerate(pages, 1):
            assert sel.css("link[rel=canonical]::attr(href)").get() == url
            nxt = sel.css("link[rel=next]::attr(href)").get()
            prev = sel.css("link[rel=prev]::attr(href)").get()
            assert nxt == (pages[n][0] if n < len(pages) else None)
            assert prev == (pages[n - 2][0] if n > 1 else None)
            assert sel.css("h1.jeg_archive_title::text").get() == category.name
            classes = sel.css("body::attr(class)").get("").split()
            assert {"archive", "category", f"category-{category.slug}"} <= set(classes)
            if len(pages) > 1:
                assert norm(sel.css(".page_info::text").get("")) == f"Page {n} of {len(pages)}"


def test_listing_order_is_newest_first(v1: SiteManifest) -> None:
    published = {a.url: a.published for a in v1.articles}
    for category in v1.categories:
        dates = [published[u] for u in category.article_urls]
        assert dates == sorted(dates, reverse=True)


def test_articles_appear_in_several_listings_and_all_are_listed(v1: SiteManifest) -> None:
    listed = [u for c in v1.categories for u in c.article_urls]
    assert set(listed) == set(v1.article_urls)
    assert len(listed) > len(v1.article_urls)
    for article in v1.articles:
        in_categories = [c.name for c in v1.categories if article.url in c.article_urls]
        assert in_categories == article.categories


def test_category_sidebar_has_tracking_unslashed_and_dead_links(v1: SiteManifest) -> None:
    sel = page(v1, v1.categories[0].url)
    picks = sel.css(".gt-editors-picks a::attr(href)").getall()
    assert picks == [v1.tracking_urls[0], v1.unslashed_url, v1.dead_url]
    assert not v1.unslashed_url.endswith("/") and f"{v1.unslashed_url}/" in v1.article_urls
    for url in v1.tracking_urls:
        assert "utm_source=" in url and url.split("?")[0] in v1.article_urls


def test_tag_and_author_archives(v1: SiteManifest) -> None:
    assert v1.tag_urls and v1.author_urls
    for url in v1.tag_urls[:5] + v1.author_urls[:3]:
        sel = page(v1, url)
        assert listing_links(sel)
        assert set(listing_links(sel)) <= set(v1.article_urls)
        assert set(sel.css("body::attr(class)").get("").split()) & {"tag", "author"}


def test_home_lists_newest_articles(v1: SiteManifest) -> None:
    home = page(v1, v1.home_url)
    hero = home.css(".jeg_heroblock .jeg_post_title a::attr(href)").getall()
    latest = home.css(".jeg_postblock_3 .jeg_post_title a::attr(href)").getall()
    assert hero == v1.article_urls[:4]
    assert latest == v1.article_urls[:10]
    blocks = home.css(".jeg_postblock_9 .jeg_block_title a::attr(href)").getall()
    assert blocks == [c.url for c in v1.categories]
    assert set(home.css(".gt-editors-picks a::attr(href)").getall()) == set(v1.tracking_urls)


# --------------------------------------------------------------------------- feed, sitemaps, robots


def test_robots_points_at_the_sitemap_index(v1: SiteManifest) -> None:
    robots = read(v1, "robots.txt")
    assert "Sitemap: https://georgiatoday.ge/sitemap_index.xml" in robots
    assert "Disallow: /wp-admin/" in robots


def xml(manifest: SiteManifest, name: str) -> etree._Element:
    return etree.fromstring((manifest.root / name).read_bytes())


def test_feed_has_the_ten_newest(v1: SiteManifest) -> None:
    channel = xml(v1, "feed/index.xml").find("channel")
    assert channel is not None
    items = channel.findall("item")
    assert [i.findtext("link") for i in items] == v1.article_urls[:10]
    for item, article in zip(items, v1.articles, strict=False):
        assert html.unescape(item.findtext("title") or "") == article.title
        assert item.findtext("guid") == f"{SITE}/?p={article.post_id}"
        assert item.findtext("{http://purl.org/dc/elements/1.1/}creator") == article.authors[0]
        assert [c.text for c in item.findall("category")] == article.categories + article.tags
        pub = datetime.strptime(item.findtext("pubDate") or "", "%a, %d %b %Y %H:%M:%S %z")
        assert pub == datetime.fromisoformat(article.published)


def sitemap_urls(manifest: SiteManifest, name: str) -> list[tuple[str, str]]:
    return [(u.findtext(f"{SM}loc") or "", u.findtext(f"{SM}lastmod") or "") for u in xml(manifest, name)]


def test_sitemaps(v1: SiteManifest) -> None:
    index = sitemap_urls(v1, "sitemap_index.xml")
    assert [loc for loc, _ in index] == v1.sitemap_urls[1:]
    assert [loc.rsplit("/", 1)[1] for loc, _ in index] == ["post-sitemap.xml", "page-sitemap.xml",
                                                            "category-sitemap.xml"]  # fmt: skip
    posts = sitemap_urls(v1, "post-sitemap.xml")
    expected = sorted((a.modified, a.post_id, a.url) for a in v1.articles)
    assert [loc for loc, _ in posts] == [url for _, _, url in expected]
    assert dict(posts) == {a.url: a.modified for a in v1.articles}
    assert index[0][1] == max(a.modified for a in v1.articles)
    pages = [loc for loc, _ in sitemap_urls(v1, "page-sitemap.xml")]
    assert pages == [v1.home_url, *v1.static_pages]
    categories = dict(sitemap_urls(v1, "category-sitemap.xml"))
    for category in v1.categories:
        lastmod = max(v1.article(u).modified for u in category.article_urls)
        assert categories[category.url] == lastmod


def test_xml_files_keep_the_yoast_wrapping(v1: SiteManifest) -> None:
    for name in ("sitemap_index.xml", "post-sitemap.xml", "page-sitemap.xml", "category-sitemap.xml"):
        text = read(v1, name)
        assert text.startswith('<?xml version="1.0" encoding="UTF-8"?><?xml-stylesheet')
        assert text.endswith("<!-- XML Sitemap generated by Yoast SEO -->")
    assert read(v1, "feed/index.xml").endswith("</rss>\n")


def test_more_than_1000_posts_split_the_post_sitemap(tmp_path: Path) -> None:
    started = time.perf_counter()
    manifest = generate_site(tmp_path, n_articles=1003, per_page=50, term_archives=False)
    assert time.perf_counter() - started < 30
    first = sitemap_urls(manifest, "post-sitemap.xml")
    second = sitemap_urls(manifest, "post-sitemap2.xml")
    assert (len(first), len(second)) == (1000, 3)
    assert max(m for _, m in first) <= min(m for _, m in second)
    index = [loc for loc, _ in sitemap_urls(manifest, "sitemap_index.xml")]
    assert index[:2] == [f"{SITE}/post-sitemap.xml", f"{SITE}/post-sitemap2.xml"]
    assert not (tmp_path / "tag").exists() and manifest.archive_page_urls == []


@pytest.mark.skipif(not os.environ.get("SITEGEN_SCALE"), reason="set SITEGEN_SCALE=1 (writes ~600 MB)")
def test_5000_articles_in_well_under_a_minute(tmp_path: Path) -> None:
    started = time.perf_counter()
    manifest = generate_site(tmp_path, n_articles=5000)
    assert time.perf_counter() - started < 30
    assert len(manifest.articles) == 5000


# --------------------------------------------------------------------------- version 2


def changed_files(a: Path, b: Path) -> tuple[set[str], set[str]]:
    """(files that differ or exist only in b, files only in a), relative paths."""
    files_a = {p.relative_to(a).as_posix() for p in a.rglob("*") if p.is_file()}
    files_b = {p.relative_to(b).as_posix() for p in b.rglob("*") if p.is_file()}
    common = files_a & files_b
    _, mismatch, errors = filecmp.cmpfiles(a, b, sorted(common), shallow=False)
    assert not errors
    return set(mismatch) | (files_b - files_a), files_a - files_b


def test_v2_adds_three_articles_on_top_and_edits_one(v1: SiteManifest, v2: SiteManifest) -> None:
    assert len(v2.articles) == N + 3
    assert v2.new_urls == v2.article_urls[:3]
    assert not set(v2.new_urls) & set(v1.article_urls)
    assert v2.article_urls[3:] == v1.article_urls
    assert len(v2.edited_urls) == 1 and v2.edited_urls[0] in v1.article_urls
    assert v1.new_urls == [] and v1.edited_urls == []
    newest_v1 = max(a.modified for a in v1.articles)
    for url in v2.new_urls:
        assert v2.article(url).published > newest_v1


def test_v2_edit_is_a_new_paragraph_and_later_modified(v1: SiteManifest, v2: SiteManifest) -> None:
    url = v2.edited_urls[0]
    before, after = v1.article(url), v2.article(url)
    assert after.modified > before.modified and after.modified > max(a.modified for a in v1.articles)
    assert after.published == before.published
    paragraphs_before, paragraphs_after = before.body.split("\n\n"), after.body.split("\n\n")
    assert paragraphs_after[:-1] == paragraphs_before
    assert paragraphs_after[-1].startswith("Update:")
    assert {k: v for k, v in before.item().items() if k not in ("body", "modified")} == {
        k: v for k, v in after.item().items() if k not in ("body", "modified")
    }
    assert extract_article(page(v2, url)) == after.item()
    old_lines = read(v1, url).splitlines()
    new_lines = read(v2, url).splitlines()
    changed = [line for line in new_lines if line not in old_lines]
    allowed = re.compile(r"dateModified|article:modified_time|Update:|Reading Time|twitter:data2|^$")
    assert changed and all(allowed.search(line) for line in changed), changed
    posts = sitemap_urls(v2, "post-sitemap.xml")
    assert posts[-1] == (url, after.modified)


def test_v2_everything_else_is_byte_identical(v1: SiteManifest, v2: SiteManifest) -> None:
    changed, removed = changed_files(v1.root, v2.root)
    assert removed == set()
    new_terms: set[str] = set()
    for url in v2.new_urls:
        sel = page(v2, url)
        new_terms.update(sel.css('.jeg_meta_category a[rel="category tag"]::attr(href)').getall())
        new_terms.update(sel.css(".jeg_post_tags a::attr(href)").getall())
        new_terms.update(sel.css(".jeg_meta_author a::attr(href)").getall())
    archive_dirs = {disk_path(u).parent.as_posix() + "/" for u in new_terms}
    expected_roots = {disk_path(u).as_posix() for u in [*v2.new_urls, *v2.edited_urls, v2.home_url]}
    feeds_and_sitemaps = {"feed/index.xml", "sitemap_index.xml", "page-sitemap.xml", "category-sitemap.xml"}
    for path in changed:
        allowed = (
            path in expected_roots
            or path in feeds_and_sitemaps
            or re.fullmatch(r"post-sitemap\d*\.xml", path)
            or any(path.startswith(d) for d in archive_dirs)
        )
        assert allowed, f"{path} changed in version 2"
    untouched = [a for a in v1.articles if a.url not in v2.edited_urls]
    for article in untouched:
        assert disk_path(article.url).as_posix() not in changed
    for url in v1.static_pages:
        assert disk_path(url).as_posix() not in changed
    assert {disk_path(u).as_posix() for u in v2.new_urls} <= changed


def test_v2_over_v1_in_place_equals_fresh_v2(tmp_path: Path, v2: SiteManifest) -> None:
    generate_site(tmp_path, n_articles=N, per_page=PER_PAGE, seed=SEED)
    generate_site(tmp_path, n_articles=N, per_page=PER_PAGE, seed=SEED, version=2)
    changed, removed = changed_files(v2.root, tmp_path)
    assert changed == set() and removed == set()


# --------------------------------------------------------------------------- determinism, options, CLI


def test_same_seed_same_bytes_other_seed_other_site(tmp_path: Path, v1: SiteManifest) -> None:
    again = generate_site(tmp_path / "again", n_articles=N, per_page=PER_PAGE, seed=SEED)
    assert changed_files(v1.root, again.root) == (set(), set())
    assert again.to_json() | {"root": ""} == v1.to_json() | {"root": ""}
    other = generate_site(tmp_path / "other", n_articles=N, per_page=PER_PAGE, seed=SEED + 1)
    assert other.article_urls != v1.article_urls


def test_custom_categories_and_extra_files(tmp_path: Path) -> None:
    manifest = generate_site(
        tmp_path,
        n_articles=12,
        categories=["Politics", "Business & Economy", "Tech News"],
        per_page=4,
        extra={"broken-page/index.html": "<html><body><div class='content-inner'>", "raw.txt": b"x"},
    )
    assert [(c.name, c.slug) for c in manifest.categories] == [
        ("Politics", "politics"), ("Business & Economy", "business"), ("Tech News", "tech-news"),
    ]  # fmt: skip
    home = page(manifest, manifest.home_url)
    assert home.css("ul.jeg_main_menu")[0].css("a::text").getall() == ["Politics", "Business & Economy", "Tech News"]
    assert (tmp_path / "broken-page" / "index.html").read_text().endswith("content-inner'>")
    assert all(len(c.page_urls) == math.ceil(len(c.article_urls) / 4) for c in manifest.categories)
    with pytest.raises(ValueError):
        generate_site(tmp_path / "bad", n_articles=0)
    with pytest.raises(ValueError):
        generate_site(tmp_path / "bad", n_articles=3, categories=["A", "a"])


def test_sample_dir_works_as_template_dir(tmp_path: Path) -> None:
    if not SAMPLE_DIR.is_dir():
        pytest.skip("shared sample not mounted")
    manifest = generate_site(tmp_path, n_articles=8, template_dir=SAMPLE_DIR)
    assert extract_article(page(manifest, manifest.articles[0].url)) == manifest.articles[0].item()


def test_served_by_the_devserver(v1: SiteManifest) -> None:
    georgian = next(a for a in v1.articles if a.language == "ka")
    with MirrorServer(v1.root) as server:
        for article in (v1.articles[0], georgian):
            with urllib.request.urlopen(server.base_url + article.path, timeout=10) as response:
                sel = Selector(text=response.read().decode("utf-8"))
            assert extract_article(sel) == article.item()
        with pytest.raises(urllib.error.HTTPError) as error:
            urllib.request.urlopen(server.url(v1.dead_url), timeout=10)
        assert error.value.code == 404
        with urllib.request.urlopen(server.url(v1.unslashed_url), timeout=10) as response:
            assert response.url == server.url(v1.unslashed_url + "/")


def test_cli(tmp_path: Path) -> None:
    script = Path(__file__).resolve().parent / "sitegen.py"
    manifest_file = tmp_path / "manifest.json"
    result = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "site"), "--articles", "6", "--version", "2",
         "--manifest", str(manifest_file)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "9 articles written" in result.stdout
    data = json.loads(manifest_file.read_text())
    assert len(data["articles"]) == 9 and len(data["new_urls"]) == 3 and len(data["edited_urls"]) == 1
    assert (tmp_path / "site" / "index.html").is_file()


def test_manifest_items_have_the_truth_schema(v1: SiteManifest) -> None:
    keys = {"url", "post_id", "title", "subtitle", "summary", "authors", "published", "modified",
            "categories", "tags", "body", "image_url", "image_caption", "image_credit", "language"}  # fmt: skip
    for item in v1.items():
        assert set(item) == keys
        assert item["body"] and item["title"] and item["authors"] and item["published"]
    assert isinstance(v1.articles[0], ExpectedArticle)
