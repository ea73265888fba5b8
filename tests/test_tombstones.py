"""Tombstones in the state and the outputs: what a committed deletion or move does to the
dataset's records, the recovery of a killed run's tombstone file, the per-kind count of
the commit point, and where ``-o``/``-O`` send each kind of item.

The crawls that find deletions and moves on a changing mirror are in tests/test_deletions.py.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest
from scrapy.extensions.feedexport import ItemFilter
from scrapy.utils.project import get_project_settings

from newsspider.commands.crawl import Command
from newsspider.crawl.export.feedstorage import recover_outputs
from newsspider.crawl.run.ledger import ITEM_KINDS
from newsspider.crawl.run.records import Commit, ExportRecord, TombstoneRecord, is_tombstone
from newsspider.crawl.run.scratch import Scratch
from newsspider.crawl.run.state import State
from newsspider.items import Tombstone

SITE = "https://georgiatoday.ge"


def article(slug: str, post_id: int, body: str = "Body.",
            modified: str = "2026-01-02T10:00:00+04:00") -> dict[str, Any]:
    return {"url": f"{SITE}/{slug}/", "post_id": post_id, "title": slug.replace("-", " ").title(), "body": body,
            "published": "2026-01-01T09:00:00+04:00", "modified": modified, "authors": ["Nino Kharatishvili"]}


def tombstone(slug: str, post_id: int, reason: str, moved_to: str | None = None) -> TombstoneRecord:
    return TombstoneRecord(f"{SITE}/{slug}/", post_id, "2026-02-01T12:00:00+00:00", reason,
                           "2026-01-02T10:00:00+04:00", moved_to)


def rows(state: State, table: str) -> list[tuple[Any, ...]]:
    return sorted(state.db.execute(f"SELECT * FROM {table}").fetchall())


def test_a_deletion_takes_the_article_out_and_a_come_back_supersedes_it(tmp_path: Path) -> None:
    state = State(tmp_path / "state.sqlite3")
    state.record_article(article("flood-in-tbilisi", 11), aliases=[f"{SITE}/flood-in-tbilisi/?amp=1"])
    state.record_article(article("budget-vote", 12))
    counts = state.commit(Commit(tombstones=[tombstone("flood-in-tbilisi", 11, "http_410")]))
    assert counts["deleted"] == 1 and counts["moved"] == 0
    assert state.lookup(f"{SITE}/flood-in-tbilisi/") is None
    assert rows(state, "aliases") == []  # its aliases went with it
    assert state.known(f"{SITE}/budget-vote/")
    assert state.outcome(f"{SITE}/flood-in-tbilisi/") == ("dead:410", "2026-02-01T12:00:00+00:00")
    assert state.tombstone(f"{SITE}/flood-in-tbilisi/") == tombstone("flood-in-tbilisi", 11, "http_410")

    # the article came back: exported again, as new; no tombstone, no final outcome left
    assert state.record_article(article("flood-in-tbilisi", 11)) == "new"
    assert state.tombstone(f"{SITE}/flood-in-tbilisi/") is None
    assert state.outcome(f"{SITE}/flood-in-tbilisi/") is None


@pytest.mark.parametrize(("reason", "outcome"), [("http_404", "dead:404"), ("redirected", "not_article"),
                                                 ("not_an_article", "not_article")])
def test_each_deletion_reason_leaves_its_final_outcome(tmp_path: Path, reason: str, outcome: str) -> None:
    state = State(tmp_path / "state.sqlite3")
    state.record_article(article("old-news", 5))
    state.commit(Commit(tombstones=[tombstone("old-news", 5, reason)]))
    assert state.outcome(f"{SITE}/old-news/") is not None
    assert state.outcome(f"{SITE}/old-news/")[0] == outcome  # type: ignore[index]
    assert state.is_empty()


def test_a_move_keeps_one_record_under_the_new_url(tmp_path: Path) -> None:
    """Same post id under a new URL: the record is renamed (an update), the old URL an alias."""
    state = State(tmp_path / "state.sqlite3")
    state.record_article(article("old-slug", 7), aliases=[f"{SITE}/?p=7"])
    moved = article("new-slug", 7)
    counts = state.commit(Commit(exported=[ExportRecord.of(moved)],
                                 tombstones=[tombstone("old-slug", 7, "moved", f"{SITE}/new-slug/")]))
    assert counts == {"new": 0, "updated": 1, "unchanged": 0, "deleted": 0, "moved": 1}
    assert [r[0] for r in rows(state, "articles")] == [f"{SITE}/new-slug/"]
    for old in (f"{SITE}/old-slug/", f"{SITE}/?p=7"):
        record = state.lookup(old)
        assert record is not None and record.url == f"{SITE}/new-slug/"
    assert state.tombstone(f"{SITE}/old-slug/") is not None
    assert state.outcome(f"{SITE}/old-slug/") is None  # not a deletion


def test_a_redirect_to_another_post_takes_the_old_article_out(tmp_path: Path) -> None:
    state = State(tmp_path / "state.sqlite3")
    state.record_article(article("draft-story", 3))
    state.record_article(article("final-story", 4))
    state.commit(Commit(tombstones=[tombstone("draft-story", 3, "moved", f"{SITE}/final-story/")]))
    assert [r[0] for r in rows(state, "articles")] == [f"{SITE}/final-story/"]
    record = state.lookup(f"{SITE}/draft-story/")
    assert record is not None and record.post_id == 4  # an alias of the article it now points to


def test_recovery_commits_the_complete_tombstones_of_a_killed_run(tmp_path: Path) -> None:
    """A killed run's journaled tombstone ``.part``: its complete lines become final and are
    committed as tombstones (not as articles); a cut-off last line is not."""
    state = State(tmp_path / "state.sqlite3")
    for slug, post_id in (("one", 1), ("two", 2), ("three", 3)):
        state.record_article(article(slug, post_id))
    part = tmp_path / "out" / "tombstones" / "2026-02-01T12-00-00+00-00.jsonl.4242-0a1b2c3d.part"
    part.parent.mkdir(parents=True)
    lines = [json.dumps(vars(tombstone(slug, n, "http_404").item())) for slug, n in (("one", 1), ("two", 2))]
    cut = json.dumps(vars(tombstone("three", 3, "http_404").item()))[:40]
    part.write_text("\n".join(lines) + "\n" + cut, encoding="utf-8")
    state.journal_open(str(part.resolve()))

    [(final, count)] = recover_outputs(state)
    assert count == 2 and final == part.with_name("2026-02-01T12-00-00+00-00.jsonl")
    assert [json.loads(line)["url"] for line in final.read_text().splitlines()] == [f"{SITE}/one/", f"{SITE}/two/"]
    assert [r[0] for r in rows(state, "articles")] == [f"{SITE}/three/"]
    assert [r[0] for r in rows(state, "tombstones")] == [f"{SITE}/one/", f"{SITE}/two/"]
    assert state.journal() == []


def test_a_tombstone_line_is_told_from_an_article_line() -> None:
    assert is_tombstone(vars(Tombstone(f"{SITE}/a/", 1, "2026-02-01T12:00:00+00:00", "http_404")))
    assert not is_tombstone(article("a", 1))


# --- where each kind goes ---------------------------------------------------------------------
def feeds_of(*argv: str) -> dict[str, dict[str, Any]]:
    """The FEEDS the project's crawl command makes of these options."""
    command = Command()
    command.settings = get_project_settings()
    parser = argparse.ArgumentParser()
    command.add_options(parser)
    opts, _ = parser.parse_known_args(list(argv))
    command.process_options(["georgiatoday"], opts)
    return command.settings.getdict("FEEDS")


def kinds(options: dict[str, Any]) -> list[str]:
    item_filter = ItemFilter(options)
    return [kind for kind, cls in ITEM_KINDS.items() if item_filter.accepts(cls())]


def test_the_default_outputs_hold_one_kind_each() -> None:
    feeds = feeds_of()
    assert {uri: kinds(options) for uri, options in feeds.items()} == {
        "output/%(name)s/%(time)s.jsonl": ["article"], "output/%(name)s/tombstones/%(time)s.jsonl": ["tombstone"]}


def test_an_o_export_takes_articles_only_and_with_state_its_tombstones_go_beside_it(tmp_path: Path) -> None:
    one_off = feeds_of("-O", str(tmp_path / "all.jsonl"))
    assert {uri: kinds(options) for uri, options in one_off.items()} == {str(tmp_path / "all.jsonl"): ["article"]}
    with_state = feeds_of("-O", str(tmp_path / "all.jsonl"), "--with-state")
    assert {uri: kinds(options) for uri, options in with_state.items()} == {
        str(tmp_path / "all.jsonl"): ["article"], str(tmp_path / "tombstones" / "all.jsonl"): ["tombstone"]}
    assert with_state[str(tmp_path / "tombstones" / "all.jsonl")]["overwrite"] is True  # as -O


def test_feeds_of_ones_own_take_articles_and_keep_or_get_a_tombstones_output(tmp_path: Path) -> None:
    """``-s FEEDS=…`` (scrapyd's items_dir too): a feed without item_classes takes articles
    only, and gets a tombstones/ sibling; one that names its item classes is left as it is."""
    items = f"file://{tmp_path}/items/georgiatoday/job1.jl"
    mixed = feeds_of("-s", f"FEEDS={json.dumps({items: {'format': 'jsonlines'}})}")
    assert {uri: kinds(options) for uri, options in mixed.items()} == {
        items: ["article"], f"file://{tmp_path}/items/georgiatoday/tombstones/job1.jl": ["tombstone"]}
    both = {str(tmp_path / "a.jsonl"): {"format": "jsonlines", "item_classes": ["newsspider.items.ArticleItem"]},
            str(tmp_path / "t.jsonl"): {"format": "jsonlines", "item_classes": ["newsspider.items.Tombstone"]}}
    assert {uri: kinds(options) for uri, options in feeds_of("-s", f"FEEDS={json.dumps(both)}").items()} == {
        str(tmp_path / "a.jsonl"): ["article"], str(tmp_path / "t.jsonl"): ["tombstone"]}


def test_a_sitemap_read_empty_replaces_what_it_listed(tmp_path: Path) -> None:
    """A post sitemap that lists nothing any more: its posts are no longer listed (and so
    asked again by the run that reads it empty); the other sitemaps' rows stay."""
    state = State(tmp_path / "state.sqlite3")
    for slug, post_id in (("a", 1), ("b", 2)):
        state.record_article(article(slug, post_id))
    state.commit(Commit(sitemaps={f"{SITE}/post-sitemap.xml": [(f"{SITE}/a/", None)],
                                  f"{SITE}/post-sitemap2.xml": [(f"{SITE}/b/", None)]}))
    assert state.unlisted(f"{SITE}/post-sitemap2.xml", set()) == [f"{SITE}/b/"]
    scratch = Scratch()
    scratch.list_posts(f"{SITE}/post-sitemap2.xml", [])
    state.commit(Commit(sitemaps=scratch.listed()))
    assert rows(state, "sitemap") == [(f"{SITE}/a/", None, f"{SITE}/post-sitemap.xml")]
