"""Does the dataset hold every post the site lists?  The coverage account of a full run.

Real ``scrapy crawl georgiatoday -a mode=full`` runs (``--with-state``) against a generated
mirror on 127.0.0.1, with pages broken on purpose: 404s (dead), truncated bodies (pending),
a post whose page is not an article, and posts left out by ``since`` (never fetched).  The
expected figures are counted independently, from the mirror's own post sitemaps on disk
(read here with ElementTree) and the faults the test planted; they are checked against the
``coverage=`` field of the ``Summary:`` line, the health verdict, and ``newsspider
coverage`` (TSV and ``--json``) reading the state afterwards.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, crawl_command, crawl_env, read_jsonl, summary_fields, summary_line
from scrapy.utils.project import get_project_settings
from scrapy.utils.test import get_crawler
from sitegen import SITE, SiteManifest, disk_path, generate_site, local_path, sitemap_posts

from newsspider.crawl.report import health
from newsspider.crawl.report import stats as S
from newsspider.crawl.run.commit import commit
from newsspider.crawl.run.ledger import Ledger
from newsspider.crawl.run.policy import Policy
from newsspider.crawl.run.records import Commit
from newsspider.crawl.run.state import State
from newsspider.dev.devserver import FaultPlan, FaultRule, MirrorServer

N_ARTICLES = 40


def crawl(server: MirrorServer, tmp: Path, name: str, *extra: str,
          mode: str = "full") -> tuple[int, dict[str, str], list[dict[str, Any]]]:
    """A crawl with the state at ``tmp/state.sqlite3`` (bound to the server's address: the
    runs of one state use one server): exit status, Summary fields, items."""
    out, log = tmp / f"{name}.jsonl", tmp / f"{name}.log"
    command = crawl_command(server.base_url, *extra, output=out, mode=mode, log_file=log,
                            state=tmp / "state.sqlite3")
    run = subprocess.run(command, cwd=REPO, env=crawl_env(), capture_output=True, text=True, timeout=300)
    return run.returncode, summary_fields(summary_line(log)), read_jsonl(out)


def coverage_command(state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``newsspider coverage ARGS`` on the state."""
    return subprocess.run([sys.executable, "-m", "newsspider.cli", "coverage", *args,
                           "-s", f"NEWSSPIDER_STATE_PATH={state}"],
                          cwd=REPO, env=crawl_env(), capture_output=True, text=True, timeout=120)


def report(state: Path) -> tuple[dict[str, Any], dict[str, tuple[str, str]]]:
    """``newsspider coverage --json``: its counts, and url -> (why, detail) of the missing posts."""
    result = coverage_command(state, "--json")
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    return lines[0], {line["url"]: (line["why"], line["detail"]) for line in lines[1:]}


# --- everything exported --------------------------------------------------------------------
def test_every_listed_post_in_the_dataset(tmp_path: Path) -> None:
    site = generate_site(tmp_path / "site", n_articles=N_ARTICLES, seed=5, term_archives=False)
    listed = sitemap_posts(site.root)
    assert len(listed) == N_ARTICLES
    with MirrorServer(site.root) as server:
        status, summary, items = crawl(server, tmp_path, "full")
    assert status == 0, summary
    assert summary["health"] == "ok"
    assert summary["coverage"] == f"{N_ARTICLES}/{N_ARTICLES}"
    assert set(listed) <= {item["url"] for item in items}
    counts, missing = report(tmp_path / "state.sqlite3")
    assert missing == {}
    assert {k: counts[k] for k in ("coverage", "listed", "in_dataset", "pending", "dead", "not_article",
                                   "never_fetched")} == {
        "coverage": f"{N_ARTICLES}/{N_ARTICLES}", "listed": N_ARTICLES, "in_dataset": N_ARTICLES,
        "pending": 0, "dead": 0, "not_article": 0, "never_fetched": 0}
    # the TSV: the counts line, the header, no row; the state is only read
    before = (tmp_path / "state.sqlite3").read_bytes()
    tsv = coverage_command(tmp_path / "state.sqlite3")
    assert (tmp_path / "state.sqlite3").read_bytes() == before
    assert tsv.returncode == 0, tsv.stderr
    first, *rows = tsv.stdout.splitlines()
    assert first.startswith(f"# coverage={N_ARTICLES}/{N_ARTICLES} listed={N_ARTICLES} in_dataset={N_ARTICLES} ")
    assert rows == ["url\twhy\tdetail\tlastmod\tgiven_up"]


# --- dead, broken, not an article -------------------------------------------------------------
@pytest.fixture(scope="module")
def broken_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A full crawl of a site with 2 posts answering 404, 2 served truncated (every time)
    and one whose page is a static page; what it printed and the expected account (the
    server stays up for later runs on the same state)."""
    tmp = tmp_path_factory.mktemp("broken")
    site = generate_site(tmp / "site", n_articles=N_ARTICLES, seed=9, term_archives=False)
    listed = sorted(sitemap_posts(site.root))
    dead, truncated, not_article = listed[3:5], listed[10:12], listed[20]
    about = next(url for url in site.static_pages if url.endswith("/about-us/"))
    (site.root / disk_path(not_article)).write_bytes((site.root / disk_path(about)).read_bytes())
    faults = FaultPlan([*(FaultRule(local_path(url), statuses=[404]) for url in dead),
                        *(FaultRule(local_path(url), cut_body=True) for url in truncated)])
    expected = {**{url: ("dead", "404") for url in dead},
                **{url: ("pending", "dropped:truncated_page") for url in truncated},
                not_article: ("not_article", "")}
    with MirrorServer(site.root, faults=faults) as server:
        status, summary, items = crawl(server, tmp, "full")
        yield {"tmp": tmp, "site": site, "listed": listed, "status": status, "summary": summary, "items": items,
               "expected": expected, "server": server}


def test_the_summary_counts_what_the_dataset_holds(broken_site: dict[str, Any]) -> None:
    listed, expected, summary = broken_site["listed"], broken_site["expected"], broken_site["summary"]
    in_dataset = len(listed) - len(expected)
    assert summary["coverage"] == f"{in_dataset}/{len(listed)}"
    # the same posts as the output holds
    assert set(listed) - {item["url"] for item in broken_site["items"]} == set(expected)


def test_below_the_threshold_the_run_is_unhealthy(broken_site: dict[str, Any]) -> None:
    summary, listed, expected = broken_site["summary"], broken_site["listed"], broken_site["expected"]
    assert broken_site["status"] == 1, summary
    assert summary["health"] == "unhealthy"
    # nothing else is wrong with the run: 2 dropped of 37 article pages, dead links are no failures
    assert summary["problems"] == (f"site coverage {len(listed) - len(expected)}/{len(listed)} (< 99.0%): posts the "
                                   "sitemaps list are missing from the dataset (newsspider coverage lists them)")


def test_the_coverage_command_lists_each_missing_post_and_why(broken_site: dict[str, Any]) -> None:
    listed, expected = broken_site["listed"], broken_site["expected"]
    counts, missing = report(broken_site["tmp"] / "state.sqlite3")
    assert missing == expected
    assert counts == {"coverage": f"{len(listed) - 5}/{len(listed)}", "listed": len(listed),
                      "in_dataset": len(listed) - 5, "pending": 2, "dead": 2, "not_article": 1, "never_fetched": 0,
                      "read": counts["read"], "pending_reasons": {"dropped:truncated_page": 2}}
    # the TSV says the same
    tsv = coverage_command(broken_site["tmp"] / "state.sqlite3")
    assert tsv.returncode == 0, tsv.stderr
    first, *rest = tsv.stdout.splitlines()
    assert first == (f"# coverage={len(listed) - 5}/{len(listed)} listed={len(listed)} in_dataset={len(listed) - 5} "
                     f"pending=2 dead=2 not_article=1 never_fetched=0 read={counts['read']} "
                     "pending.dropped:truncated_page=2")
    rows = list(csv.DictReader(rest, delimiter="\t"))
    assert {row["url"]: (row["why"], row["detail"]) for row in rows} == expected
    lastmods = sitemap_posts(broken_site["site"].root)
    assert all(row["lastmod"] == lastmods[row["url"]] and row["given_up"] == "" for row in rows)


def test_an_export_later_counts_at_once(broken_site: dict[str, Any]) -> None:
    """The command reconciles the stored list with the state as it is now: once the
    truncated pages come back whole, an incremental run exports them and they count."""
    server, state = broken_site["server"], broken_site["tmp"] / "state.sqlite3"
    server.faults.rules[:] = []  # 404s are final: the dead posts are not asked again
    status, summary, _ = crawl(server, broken_site["tmp"], "again", mode="incremental")
    assert status == 0, summary
    assert "coverage" not in summary  # an incremental run does not read every post sitemap
    counts, missing = report(state)
    assert missing == {url: why for url, why in broken_site["expected"].items() if why[0] != "pending"}
    assert counts["in_dataset"] == len(broken_site["listed"]) - 3


def test_an_incremental_run_keeps_no_list(tmp_path: Path) -> None:
    """Even one that read every post sitemap (the first, on an empty state): it is not a
    full run, the list is not its business."""
    site = generate_site(tmp_path / "site", n_articles=N_ARTICLES, seed=5, term_archives=False)
    with MirrorServer(site.root) as server:
        status, summary, _ = crawl(server, tmp_path, "first", mode="incremental")
        sitemaps = {r.path for r in server.requests.snapshot() if r.path.startswith("/post-sitemap")}
    assert sitemaps == {"/post-sitemap.xml"}
    assert status == 0, summary
    assert "coverage" not in summary
    assert coverage_command(tmp_path / "state.sqlite3").returncode == 1


# --- never fetched: a full run with since ------------------------------------------------------
def quiet_day(site: SiteManifest) -> date:
    """A day in the middle of the site's history with no post in the 4 hours before its
    UTC midnight (the listings show Tbilisi dates, UTC+4: no post then sits on both sides)."""
    times = sorted(datetime.fromisoformat(a.published) for a in site.articles)
    day = times[len(times) // 2].date()
    while any(datetime.combine(day, datetime.min.time(), t.tzinfo) - timedelta(hours=4) <= t
              < datetime.combine(day, datetime.min.time(), t.tzinfo) for t in times):
        day += timedelta(days=1)
    return day


def test_posts_left_out_by_since_are_never_fetched_and_not_judged(tmp_path: Path) -> None:
    site = generate_site(tmp_path / "site", n_articles=N_ARTICLES, seed=5, term_archives=False)
    listed = sitemap_posts(site.root)
    since = quiet_day(site)
    # published before since (a post's sitemap lastmod is its last modification: later)
    older = {a.url for a in site.articles if a.published[:10] < since.isoformat()}
    assert older < set(listed) and 5 < len(older) < N_ARTICLES - 5
    with MirrorServer(site.root) as server:
        status, summary, items = crawl(server, tmp_path, "since", "-a", f"since={since}")
    assert summary["coverage"] == f"{N_ARTICLES - len(older)}/{N_ARTICLES}"
    # left out on purpose: not judged
    assert (status, summary["health"]) == (0, "ok"), summary
    assert {item["url"] for item in items} == set(listed) - older
    _, missing = report(tmp_path / "state.sqlite3")
    assert missing == dict.fromkeys(older, ("never_fetched", ""))


# --- the list is replaced only by a full run that read every post sitemap ------------------------
def test_a_post_sitemap_not_read_keeps_the_last_list_and_is_unhealthy(tmp_path: Path) -> None:
    site = generate_site(tmp_path / "site", n_articles=N_ARTICLES, seed=5, term_archives=False)
    faults = FaultPlan()
    with MirrorServer(site.root, faults=faults) as server:
        status, summary, _ = crawl(server, tmp_path, "v1")
        assert (status, summary["coverage"]) == (0, f"{N_ARTICLES}/{N_ARTICLES}")
        first, _ = report(tmp_path / "state.sqlite3")
        # the same site later: three new posts, but its post sitemap fails after all retries
        generate_site(tmp_path / "site", n_articles=N_ARTICLES, seed=5, term_archives=False, version=2)
        assert len(sitemap_posts(site.root)) == N_ARTICLES + 3
        faults.rules[:] = [FaultRule("/post-sitemap.xml", statuses=[500])]
        status, summary, items = crawl(server, tmp_path, "v2-broken")
        assert len(items) == N_ARTICLES + 3  # the listings still lead to every post
        assert status == 1, summary
        assert "coverage" not in summary
        assert summary["problems"] == "site coverage unknown: a post sitemap was not read"
        assert report(tmp_path / "state.sqlite3")[0] == first  # the list of the last complete read
        # read whole again: the list is replaced
        faults.rules[:] = []
        status, summary, _ = crawl(server, tmp_path, "v2")
    assert (status, summary["coverage"]) == (0, f"{N_ARTICLES + 3}/{N_ARTICLES + 3}"), summary
    counts, missing = report(tmp_path / "state.sqlite3")
    assert (counts["listed"], counts["in_dataset"], missing) == (N_ARTICLES + 3, N_ARTICLES + 3, {})
    assert counts["read"] > first["read"]


# --- the command's errors -------------------------------------------------------------------------
def test_a_missing_state_is_an_error(tmp_path: Path) -> None:
    result = coverage_command(tmp_path / "nowhere.sqlite3")
    assert result.returncode == 2
    assert result.stdout == ""
    assert "error: no state at" in result.stderr and "nowhere.sqlite3" in result.stderr
    assert not (tmp_path / "nowhere.sqlite3").exists()


def test_a_state_no_full_run_has_read_the_sitemaps_into(tmp_path: Path) -> None:
    State(tmp_path / "state.sqlite3").close()
    result = coverage_command(tmp_path / "state.sqlite3")
    assert result.returncode == 1
    assert result.stdout == ""
    assert "no mode=full or mode=check run has read the post sitemaps" in result.stderr


# --- the reconciliation and the check, on their own ---------------------------------------------
def test_a_post_listed_under_an_alias_of_an_exported_article_is_in_the_dataset(tmp_path: Path) -> None:
    state = State(tmp_path / "state.sqlite3")
    article = {"url": f"{SITE}/new-slug/", "post_id": 7, "title": "T", "body": "B"}
    state.record_article(article, aliases=[f"{SITE}/old-slug/"])
    state.record_failed(f"{SITE}/broken/", "http_503")
    state.commit(Commit(sitemaps={f"{SITE}/post-sitemap.xml": [
        (f"{SITE}/old-slug/", "2026-01-01T00:00:00+00:00"), (f"{SITE}/broken/", None), (f"{SITE}/unknown/", None)]},
        sitemaps_complete=True))
    found = state.coverage()
    state.close()
    assert found is not None
    assert (found.listed, found.in_dataset) == (3, 1)
    assert {(m.url, m.why, m.detail) for m in found.missing} == {(f"{SITE}/broken/", "pending", "http_503"),
                                                                (f"{SITE}/unknown/", "never_fetched", "")}


def test_a_page_dropped_as_a_duplicate_is_an_alias_of_the_article_kept(tmp_path: Path) -> None:
    """A sitemap URL whose page gave an item dropped as a duplicate (a copy naming another
    canonical URL, an old slug with the same post id) is in the dataset: the ledger notes
    it, the commit makes it an alias of the article in the state (by URL first, then post
    id), never of one that is not there, and never a URL recorded as an article itself."""
    ledger = Ledger(settings=get_project_settings(), stats=get_crawler().stats)
    ledger.led_to(f"{SITE}/a/", {f"{SITE}/copy-of-a/"})
    ledger.item_dropped({"url": f"{SITE}/a/", "post_id": 2}, "duplicate")  # a's post id is 1: a wins
    ledger.item_dropped({"url": f"{SITE}/old-b/", "post_id": 2}, "duplicate")
    ledger.item_dropped({"url": f"{SITE}/gone/", "post_id": 9}, "duplicate")
    ledger.item_dropped({"url": f"{SITE}/c-too/", "post_id": 3}, "duplicate")
    state = State(tmp_path / "state.sqlite3")
    for url, post_id in (("b", 2), ("a", 1), ("c-too", 30), ("c", 3)):
        state.record_article({"url": f"{SITE}/{url}/", "post_id": post_id, "title": url, "body": url})
    listed = ["a", "copy-of-a", "old-b", "gone", "c-too"]
    state.commit(Commit(duplicates=ledger.duplicates, sitemaps={f"{SITE}/post-sitemap.xml": [
        (f"{SITE}/{u}/", None) for u in listed]}, sitemaps_complete=True))
    aliases = dict(state.db.execute("SELECT alias, url FROM aliases"))
    found = state.coverage()
    state.close()
    assert aliases == {f"{SITE}/copy-of-a/": f"{SITE}/a/", f"{SITE}/old-b/": f"{SITE}/b/"}
    assert found is not None and (found.listed, found.in_dataset) == (5, 4)


@pytest.mark.parametrize(("asked", "read", "unknown"), [([], [], False), (["a", "b"], ["a"], True)],
                         ids=["none-asked", "one-unread"])
def test_coverage_is_unknown_only_when_an_asked_sitemap_was_not_read(
        tmp_path: Path, asked: list[str], read: list[str], unknown: bool) -> None:
    """A full run resumed from a JOBDIR whose first part read robots.txt asks no sitemap
    itself: no list, and nothing to judge.  One that asked a post sitemap and did not get
    it cannot tell: unknown (judged), and the last list is kept."""
    stats = get_crawler().stats
    assert stats is not None
    ledger = Ledger(settings=get_project_settings(), stats=stats, state=State(tmp_path / "state.sqlite3"))
    ledger.finish_reason = "finished"
    ledger.sitemaps_asked(f"{SITE}/{name}.xml" for name in asked)
    for name in read:
        ledger.sitemap_read(f"{SITE}/{name}.xml", [f"{SITE}/post/"])
    commit(ledger, Policy(mode="full"), health.Verdict)
    assert ledger.state is not None and ledger.state.coverage() is None
    ledger.state.close()
    assert (stats.get_value(S.COVERAGE_UNKNOWN) == 1) == unknown
    assert stats.get_value(S.coverage("listed")) is None


LIMITS = health.Limits.from_settings(get_project_settings())


def full_run(**changes: Any) -> health.Facts:
    return health.Facts(**{"mode": "full", "finish_reason": "finished", "stopped": None, "archive_problem": None,
                           "home": "ok", "home_url": f"{SITE}/", **changes})


def site_coverage(listed: int, in_dataset: int) -> dict[str, int]:
    return {S.coverage("listed"): listed, S.coverage("in_dataset"): in_dataset}


def test_the_documented_default() -> None:
    assert LIMITS.min_site_coverage == 0.99


@pytest.mark.parametrize(("in_dataset", "listed", "trips"), [(298, 300, False), (297, 300, False),
                                                             (296, 300, True), (1, 2, False), (0, 2, True)],
                         ids=["under", "at", "over", "one-missing-is-not-min-bad", "two-missing"])
def test_site_coverage_at_the_boundary(in_dataset: int, listed: int, trips: bool) -> None:
    """99 %: 3 of 300 missing is at the limit (healthy), 4 over it; at least min_bad (2) missing."""
    problem = health.check_site_coverage(full_run(), site_coverage(listed, in_dataset), LIMITS)
    assert (problem is not None) == trips, problem


def test_site_coverage_is_judged_only_on_a_full_run_that_ran_to_its_end_without_since() -> None:
    low = site_coverage(100, 10)
    assert health.check_site_coverage(full_run(), low, LIMITS) is not None
    assert health.check_site_coverage(full_run(finish_reason="closespider_itemcount"), low, LIMITS) is None
    assert health.check_site_coverage(full_run(stopped="the output failed"), low, LIMITS) is None
    assert health.check_site_coverage(full_run(since=date(2026, 1, 1)), low, LIMITS) is None
    assert health.check_site_coverage(full_run(), {}, LIMITS) is None  # not counted: no state, incremental
