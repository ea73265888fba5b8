"""Tests for ``sitegen.Changes``: deleted (404, 410), unpublished, moved and unlisted posts,
served by the mirror server with the manifest's fault rules and checked from outside
(urllib without following redirects, ElementTree over the sitemaps), and their restore."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote

import pytest
from parsel import Selector
from sitegen import (
    CHANGED_AT,
    SITE,
    Changes,
    SiteManifest,
    disk_path,
    generate_site,
    iso,
    local_path,
    sitemap_posts,
)
from test_sitegen import changed_files, extract_article, listing_links, page, read, walk_listing

from newsspider.dev.devserver import FaultPlan, MirrorServer

N = 30
PER_PAGE = 5
SEED = 3
NEW_SLUG = "parliament-approves-the-renamed-plan"
FEED_SIZE = 10


@dataclass(frozen=True)
class Victims:
    gone_404: str
    gone_410: str  # a Georgian post: percent-encoded path
    unpublished: str
    moved: str
    unlisted: str

    def changes(self) -> Changes:
        return Changes(deleted_404={self.gone_404}, deleted_410={self.gone_410}, unpublished={self.unpublished},
                       moved={self.moved: NEW_SLUG}, unlisted={self.unlisted})


def generate(out: Path, changes: Changes | None = None, version: int = 2) -> SiteManifest:
    return generate_site(out, n_articles=N, per_page=PER_PAGE, seed=SEED, version=version, changes=changes)


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> SiteManifest:
    return generate(tmp_path_factory.mktemp("base"))


@pytest.fixture(scope="module")
def victims(base: SiteManifest) -> Victims:
    """Old posts linked from no site-wide chrome; the 404 and the moved one in the feed."""
    quiet = [a for a in base.articles if a.url not in {*base.chrome_urls, *base.new_urls, *base.edited_urls}]
    in_feed = [a.url for a in quiet if base.article_urls.index(a.url) < FEED_SIZE and a.language == "en"]
    georgian = [a.url for a in quiet if a.language == "ka"]
    assert len(in_feed) >= 2 and georgian, "the seed no longer gives enough quiet posts"
    rest = [a.url for a in quiet if a.url not in {*in_feed[:2], georgian[0]}]
    return Victims(gone_404=in_feed[0], moved=in_feed[1], gone_410=georgian[0], unpublished=rest[0],
                   unlisted=rest[1])


@pytest.fixture(scope="module")
def changed(tmp_path_factory: pytest.TempPathFactory, victims: Victims) -> SiteManifest:
    return generate(tmp_path_factory.mktemp("changed"), victims.changes())


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def fetch(url: str) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of one GET, redirects not followed."""
    opener = urllib.request.build_opener(NoRedirects)
    try:
        with opener.open(url, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def new_url(changed: SiteManifest) -> str:
    [url] = changed.moved_urls.values()
    return url


# --------------------------------------------------------------------------- the manifest


def test_manifest_describes_the_changes(base: SiteManifest, changed: SiteManifest, victims: Victims) -> None:
    ids = {a.url: a.post_id for a in base.articles}
    assert changed.removed_urls == {u: ids[u] for u in (victims.gone_404, victims.gone_410, victims.unpublished)}
    assert changed.moved_urls == {victims.moved: f"{SITE}/{NEW_SLUG}/"}
    assert {(r.change, r.status, r.location) for r in changed.removals} == {
        ("deleted_404", 404, None), ("deleted_410", 410, None), ("unpublished", 301, f"{SITE}/"),
        ("moved", 301, f"{SITE}/{NEW_SLUG}/"),
    }  # fmt: skip
    assert changed.unlisted_urls == [victims.unlisted]
    moved = changed.article(new_url(changed))
    before = base.article(victims.moved)
    assert moved.post_id == before.post_id and moved.path == f"/{NEW_SLUG}/"
    assert moved.modified == iso(CHANGED_AT[2]) > max(a.modified for a in base.articles)
    assert moved.item() | {"url": before.url, "modified": before.modified} == before.item()
    gone = {victims.gone_404, victims.gone_410, victims.unpublished, victims.moved}
    assert changed.article_urls == [new_url(changed) if u == victims.moved else u
                                    for u in base.article_urls if u not in gone - {victims.moved}]
    assert changed.new_urls == base.new_urls and changed.edited_urls == base.edited_urls
    assert base.removals == [] and base.unlisted_urls == [] and base.fault_rules() == []
    assert len(changed.fault_rules()) == 3  # the 404 needs none: its directory is gone
    assert changed.chrome_urls == base.chrome_urls


# --------------------------------------------------------------------------- served


def test_served_with_the_fault_rules(changed: SiteManifest, base: SiteManifest, victims: Victims) -> None:
    with MirrorServer(changed.root, faults=FaultPlan(changed.fault_rules())) as server:
        assert fetch(server.url(victims.gone_404))[0] == 404
        assert not (changed.root / disk_path(victims.gone_404)).parent.exists()
        georgian = local_path(victims.gone_410)
        for path in (georgian, re.sub(r"%[0-9a-f]{2}", lambda m: m.group().upper(), georgian)):
            assert fetch(server.base_url + path)[0] == 410
        assert not (changed.root / disk_path(victims.gone_410)).parent.exists()
        status, headers, _ = fetch(server.url(victims.unpublished))
        assert (status, headers["Location"]) == (301, server.base_url + "/")
        status, headers, _ = fetch(server.url(victims.moved))
        assert (status, headers["Location"]) == (301, server.url(new_url(changed)))
        assert not (changed.root / disk_path(victims.moved)).parent.exists()

        status, _, body = fetch(server.url(new_url(changed)))
        assert status == 200
        sel = Selector(text=body.decode("utf-8"))
        moved = changed.article(new_url(changed))
        assert sel.css("link[rel=shortlink]::attr(href)").get() == f"{SITE}/?p={moved.post_id}"
        assert f"postid-{moved.post_id}" in sel.css("body::attr(class)").get("").split()
        assert sel.css("link[rel=canonical]::attr(href)").get() == new_url(changed)
        assert sel.css('meta[property="og:url"]::attr(content)').get() == new_url(changed)
        assert sel.css('meta[property="article:modified_time"]::attr(content)').get() == moved.modified
        assert extract_article(sel) == moved.item()
        text = body.decode("utf-8")
        assert victims.moved not in text and quote(victims.moved, safe="") not in text
        assert text.count(new_url(changed)) >= 5  # canonical, og:url, Yoast graph, date link, share

        status, _, body = fetch(server.url(victims.unlisted))
        assert status == 200 and body == (base.root / disk_path(victims.unlisted)).read_bytes()
        untouched = changed.articles[-1]
        assert fetch(server.url(untouched.url))[0] == 200


# --------------------------------------------------------------------------- sitemaps, listings, feed


def test_a_moved_page_differs_only_by_its_url_and_modification_time(tmp_path: Path, base: SiteManifest,
                                                                    victims: Victims) -> None:
    site = generate(tmp_path, Changes(moved={victims.moved: NEW_SLUG}))
    before, after = base.article(victims.moved), site.article(f"{SITE}/{NEW_SLUG}/")
    expected = read(base, victims.moved)
    for old, new in ((before.url, after.url), (quote(before.url, safe=""), quote(after.url, safe="")),
                     (before.modified, after.modified)):
        assert old in expected
        expected = expected.replace(old, new)
    assert read(site, after.url) == expected
    assert before.path.strip("/")[:40] in expected  # its images keep their file names


def test_sitemaps_list_what_is_still_listed(changed: SiteManifest, base: SiteManifest, victims: Victims) -> None:
    listed = sitemap_posts(changed.root)
    assert listed == {a.url: a.modified for a in changed.articles if a.url != victims.unlisted}
    for url in (victims.gone_404, victims.gone_410, victims.unpublished, victims.moved, victims.unlisted):
        assert url not in listed
    assert listed[new_url(changed)] == iso(CHANGED_AT[2])
    before = sitemap_posts(base.root)
    assert {u: m for u, m in listed.items() if u != new_url(changed)} == {
        u: m for u, m in before.items()
        if u not in (victims.gone_404, victims.gone_410, victims.unpublished, victims.moved, victims.unlisted)
    }
    index = read(changed, "sitemap_index.xml")
    post_sitemap = re.search(r"<loc>[^<]*/post-sitemap\.xml</loc>\s*<lastmod>([^<]+)<", index)
    assert post_sitemap is not None and post_sitemap.group(1) == max(listed.values())


def test_a_deletion_alone_keeps_the_post_sitemap_lastmod(tmp_path: Path, base: SiteManifest,
                                                         victims: Victims) -> None:
    """As Yoast: the index lastmod of a post sitemap is its newest post's."""
    deleted = generate(tmp_path, Changes(deleted_404={victims.gone_404}, unlisted={victims.unlisted}))

    def lastmods(site: SiteManifest) -> list[str]:
        return re.findall(r"<lastmod>([^<]+)<", read(site, "sitemap_index.xml"))

    assert lastmods(deleted) == lastmods(base)
    assert len(sitemap_posts(deleted.root)) == len(sitemap_posts(base.root)) - 2
    # unlisting the newest-modified post does move it, to the newest one still listed
    by_modified = sorted(base.articles, key=lambda a: a.modified)
    newest = generate(tmp_path, Changes(unlisted={by_modified[-1].url}))
    assert lastmods(newest)[0] == by_modified[-2].modified < lastmods(base)[0] == by_modified[-1].modified


def test_listings_and_feed_drop_removed_posts(changed: SiteManifest, base: SiteManifest, victims: Victims) -> None:
    gone = [victims.gone_404, victims.gone_410, victims.unpublished, victims.moved]
    texts = {p: p.read_text(encoding="utf-8") for p in changed.root.rglob("*") if p.suffix in (".html", ".xml")}
    for path, text in texts.items():
        for url in gone:
            assert url not in text, f"{path} still links {url}"
    feed = Selector(text=read(changed, "feed/index.xml"), type="xml").xpath("//item/link/text()").getall()
    assert len(feed) == FEED_SIZE and new_url(changed) in feed
    assert feed == changed.article_urls[:FEED_SIZE]
    home = page(changed, changed.home_url)
    assert new_url(changed) in home.css(".jeg_post_title a::attr(href)").getall()
    for category in changed.categories:
        linked = [u for _, sel in walk_listing(changed, category.url) for u in listing_links(sel)]
        assert linked == category.article_urls
        expected = [new_url(changed) if u == victims.moved else u
                    for u in next(c for c in base.categories if c.slug == category.slug).article_urls
                    if u not in gone[:3]]
        assert category.article_urls == expected
    for article in changed.articles:
        related = page(changed, article.url).css(".jnews_related_post_container .jeg_post_title a::attr(href)")
        assert set(related.getall()) <= set(changed.article_urls)
        assert len(related) == 3 or article.url in changed.article_urls[-3:]
    moved = page(changed, new_url(changed))
    for link in moved.css(".jeg_meta_category a::attr(href), .jeg_post_tags a::attr(href)").getall():
        archive = [u for _, sel in walk_listing(changed, link) for u in listing_links(sel)]
        assert new_url(changed) in archive


def test_only_pages_that_list_the_changed_posts_change(changed: SiteManifest, base: SiteManifest,
                                                       victims: Victims) -> None:
    differ, only_changed = changed_files(changed.root, base.root)
    gone = {victims.gone_404, victims.gone_410, victims.unpublished, victims.moved}
    assert only_changed == {disk_path(new_url(changed)).as_posix()}
    assert {disk_path(u).as_posix() for u in gone} <= differ
    for article in base.articles:
        if article.url in gone:
            continue
        linked = set(page(base, article.url).css(".jnews_related_post_container a::attr(href)").getall())
        if disk_path(article.url).as_posix() in differ:
            assert linked & gone, f"{article.url} changed but lists no changed post"
    assert disk_path(victims.unlisted).as_posix() not in differ
    for url in base.static_pages:
        assert disk_path(url).as_posix() not in differ


# --------------------------------------------------------------------------- in place, restore


def test_changes_in_place_and_restore_are_byte_identical(tmp_path: Path, base: SiteManifest,
                                                         changed: SiteManifest, victims: Victims) -> None:
    root = tmp_path / "mirror"
    generate(root)
    generate(root, victims.changes())
    assert changed_files(changed.root, root) == (set(), set())  # stale archive pages pruned too
    restored = generate(root)
    assert changed_files(base.root, root) == (set(), set())
    assert restored.to_json() | {"root": ""} == base.to_json() | {"root": ""}
    assert restored.fault_rules() == []
    with MirrorServer(root, faults=FaultPlan(restored.fault_rules())) as server:
        for url in (victims.gone_404, victims.gone_410, victims.unpublished, victims.moved):
            assert fetch(server.url(url))[0] == 200
        assert fetch(server.url(new_url(changed)))[0] == 404


def test_version_1_changes_and_version_2_on_top(tmp_path: Path) -> None:
    v1 = generate(tmp_path / "v1", version=1)
    target = v1.articles[4]
    moved = generate(tmp_path / "v1", Changes(moved={target.url: "a-new-home"}), version=1)
    after = moved.article(f"{SITE}/a-new-home/")
    assert after.post_id == target.post_id and after.modified == iso(CHANGED_AT[1])
    assert after.modified > max(a.modified for a in v1.articles)
    later = generate(tmp_path / "v1", Changes(moved={target.url: "a-new-home"}), version=2)
    assert later.article(f"{SITE}/a-new-home/").modified == iso(CHANGED_AT[2])
    assert len(later.articles) == N + 3 and not (tmp_path / "v1" / disk_path(target.url)).exists()


def test_a_moved_georgian_post_keeps_its_images(tmp_path: Path, base: SiteManifest) -> None:
    post = next(a for a in base.articles if a.language == "ka")
    slug = "ბათუმში-ახალი-პარკი"
    site = generate(tmp_path, Changes(moved={post.url: slug}))
    moved = site.article(site.moved_urls[post.url])
    assert moved.path.isascii() and unquote(moved.path) == f"/{slug}/"
    assert moved.image_url == post.image_url and moved.post_id == post.post_id
    assert (tmp_path / slug / "index.html").is_file()


def test_bad_changes_are_refused(tmp_path: Path, base: SiteManifest, victims: Victims) -> None:
    bad = [
        Changes(deleted_404={f"{SITE}/no-such-post/"}),
        Changes(deleted_404={victims.gone_404}, unlisted={victims.gone_404}),
        Changes(moved={victims.moved: "Not A Slug"}),
        Changes(moved={victims.moved: local_path(victims.gone_404).strip("/")}),
        Changes(moved={victims.moved: "about-us"}),
        Changes(moved={victims.moved: "category"}),
        Changes(deleted_404=set(base.article_urls)),
    ]
    for changes in bad:
        with pytest.raises(ValueError):
            generate(tmp_path, changes)


def test_a_post_sitemap_past_the_last_is_deleted(tmp_path: Path) -> None:
    site = generate_site(tmp_path, n_articles=1001, per_page=100, term_archives=False)
    assert (tmp_path / "post-sitemap2.xml").is_file()
    unlisted = generate_site(tmp_path, n_articles=1001, per_page=100, term_archives=False,
                             changes=Changes(unlisted={site.article_urls[0]}))
    assert not (tmp_path / "post-sitemap2.xml").exists()
    assert len(sitemap_posts(tmp_path)) == 1000 and f"{SITE}/post-sitemap2.xml" not in unlisted.sitemap_urls
