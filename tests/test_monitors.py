"""Issue 13: the health verdict as spidermon monitors, and the exit status agrees.

Real ``scrapy crawl georgiatoday`` runs against a generated mirror on 127.0.0.1, with
spidermon switched on by settings only (``SPIDERMON_ENABLED``) and a test action
(``monitor_helpers.WriteResults``, listed in ``NEWSSPIDER_MONITOR_FINISHED_ACTIONS``)
writing what spidermon decided to a file.  For a clean crawl and for unhealthy ones (a
finish reason, invalid items, a state lost at the commit point) the failed monitors say
exactly what the run's verdict says, and the exit status follows.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from conftest import FIXTURES, REPO, crawl_command, crawl_env, log_text, project_crawler, summary_line
from sitegen import SiteManifest, generate_site
from spidermon.contrib.scrapy.pipelines import ItemValidationPipeline

from newsspider import settings
from newsspider.crawl.report import health, monitors
from newsspider.crawl.report.monitors import HealthMonitorSuite
from newsspider.dev.devserver import MirrorServer
from newsspider.items import ArticleItem, Tombstone

N_ARTICLES = 20

PIPELINES = json.dumps({"cron_helpers.BlankFields": 50, **settings.ITEM_PIPELINES})
EXTENSIONS = json.dumps({**settings.EXTENSIONS, "cron_helpers.DeleteState": 900})


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> SiteManifest:
    return generate_site(tmp_path_factory.mktemp("site") / "mirror", n_articles=N_ARTICLES, per_page=5,
                         term_archives=False)


def monitored_crawl(site: SiteManifest, tmp: Path, *extra: str) -> tuple[int, dict[str, Any], str]:
    """A crawl with spidermon on; returns the exit status, spidermon's results, the log."""
    results, log = tmp / "monitors.json", tmp / "crawl.log"
    with MirrorServer(site.root) as server:
        command = crawl_command(
            server.base_url, "-s", "SPIDERMON_ENABLED=True",
            "-s", "NEWSSPIDER_MONITOR_FINISHED_ACTIONS=monitor_helpers.WriteResults",
            "-s", f"MONITOR_TEST_RESULTS={results}", *extra,
            output=tmp / "out.jsonl", log_file=log, state=tmp / "state.sqlite3")
        run = subprocess.run(command, cwd=REPO, env=crawl_env(), capture_output=True, text=True, timeout=120)
    assert results.exists(), log_text(log)[-3000:] + run.stderr[-2000:]
    return run.returncode, json.loads(results.read_text(encoding="utf-8")), log_text(log)


def failures(results: dict[str, Any]) -> dict[str, str]:
    """Failed monitor -> its message (the last line of the assertion)."""
    failed = {}
    for name, result in results["monitors"].items():
        if result["status"] != "OK":
            assert result["status"] == "FAIL", result  # a check that crashed would be "ERROR"
            failed[name] = re.findall(r"AssertionError: (.*)", result["error"])[-1]
    return failed


def verdict_problems(log: str) -> list[str]:
    """The problems the run's verdict named (the ``Unhealthy run:`` WARNING)."""
    lines = re.findall(r"WARNING: Unhealthy run: (.*)", log)
    assert len(lines) == 1, log[-3000:]
    return [lines[0]]


def monitor_name(check: health.Check) -> str:
    """``check_failed_requests`` -> ``failed requests``."""
    return check.__name__.removeprefix("check_").replace("_", " ")


def test_one_monitor_per_health_check_calling_the_check_itself() -> None:
    suite = HealthMonitorSuite()
    assert sorted(m.method_name for m in suite.all_monitors) == sorted(monitor_name(c) for c in health.CHECKS)
    for check in health.CHECKS:  # each monitor calls its own check, and only it
        called: list[health.Check] = []
        getattr(monitors.HealthMonitor, "test_" + check.__name__.removeprefix("check_"))(
            SimpleNamespace(judge=called.append))
        assert called == [check]


def test_clean_crawl_passes_every_monitor_and_exits_zero(tmp_path: Path, site: SiteManifest) -> None:
    status, results, log = monitored_crawl(site, tmp_path)
    assert status == 0, summary_line(tmp_path / "crawl.log")
    assert "health=ok" in summary_line(tmp_path / "crawl.log")
    assert results["passed"] is True
    assert set(results["monitors"]) == {monitor_name(check) for check in health.CHECKS}
    assert results["monitors"]["finish reason"]["name"] == "health/finish reason"
    assert failures(results) == {}
    # every exported item went through spidermon's JSON Schema validation
    assert f"'spidermon/validation/items': {N_ARTICLES}," in log
    assert "'spidermon/validation/items/errors'" not in log
    assert "[Spidermon] OK" in log and "ERROR" not in log


def test_articles_and_tombstones_are_validated_each_against_its_schema() -> None:
    """The project's ``SPIDERMON_VALIDATION_SCHEMAS``, as spidermon's pipeline loads it: an
    article against ``article.schema.json``, a tombstone against ``tombstone.schema.json``
    — each valid against its own schema only — and the invalid ones judged by the check."""
    crawler = project_crawler(SPIDERMON_ENABLED=True)
    pipeline = ItemValidationPipeline.from_crawler(crawler)
    case = json.loads((FIXTURES / "sample-batumi-boulevard.json").read_text(encoding="utf-8"))
    article = ArticleItem(**{k: v for k, v in case.items() if not k.startswith("_")},
                          crawled_at="2026-11-26T21:00:00+00:00")
    gone = Tombstone(url=article.url, post_id=article.post_id, detected_at="2026-12-07T18:00:00+00:00",
                     reason="moved", modified=article.modified,
                     moved_to="https://georgiatoday.ge/batumi-boulevard-reconstruction-completed/")
    for item in (article, gone, replace(article, word_count=None), replace(gone, moved_to=None)):
        assert pipeline.process_item(item) is item  # exported all the same
    stats = crawler.stats.get_stats()
    limits = health.Limits.from_settings(crawler.settings)
    facts = health.Facts(mode="full", finish_reason="finished", stopped=None, archive_problem=None,
                         home="ok", home_url="https://georgiatoday.ge/")
    assert health.check_invalid_items(facts, stats, limits) == (
        "2 of 4 items failed JSON Schema validation (moved_to, word_count)")


UNHEALTHY = {
    # the spider closed early: finish reason
    "finish_reason": (["-s", "CLOSESPIDER_ITEMCOUNT=3"], "finish reason", "finish reason 'closespider_itemcount'"),
    # items that pass RequireFields but break the JSON Schema (word_count: null); the
    # verdict names the field
    "invalid_items": (["-s", f"ITEM_PIPELINES={PIPELINES}", "-s", "CRON_TEST_BLANK=word_count:3"],
                      "invalid items", f"3 of {N_ARTICLES} items failed JSON Schema validation (word_count)"),
    # the state file is deleted during the run: the commit point fails *after* the
    # spider_closed handlers started — only a suite run at engine_stopped sees it
    "state_lost_at_commit": (["-s", f"EXTENSIONS={EXTENSIONS}"], "stopped", "deleted or replaced during the run"),
}


@pytest.mark.parametrize("case", sorted(UNHEALTHY))
def test_unhealthy_crawl_fails_the_monitor_of_its_check_and_exits_one(
        tmp_path: Path, site: SiteManifest, case: str) -> None:
    extra, monitor, message = UNHEALTHY[case]
    status, results, log = monitored_crawl(site, tmp_path, *extra)
    line = summary_line(tmp_path / "crawl.log")
    assert status == 1, line
    assert "health=unhealthy" in line
    assert results["passed"] is False
    failed = failures(results)
    assert list(failed) == [monitor], failed
    assert message in failed[monitor]
    # the monitors say, word for word, what the verdict (and so the exit status) says
    assert ["; ".join(failed.values())] == verdict_problems(log)
    assert "[Spidermon] FAILED (failures=1)" in log



#: The Slack example of docs/cron.md ("Notifications"), word for word but for the token
#: and SPIDERMON_SLACK_FAKE (spidermon renders the message and logs it instead of
#: posting it: no network in tests).
SLACK_EXAMPLE = {
    "SPIDERMON_ENABLED": "True",
    "NEWSSPIDER_MONITOR_FAILED_ACTIONS": "spidermon.contrib.actions.slack.notifiers.SendSlackMessageSpiderFinished",
    "SPIDERMON_SLACK_SENDER_TOKEN": "xoxb-test-token",
    "SPIDERMON_SLACK_SENDER_NAME": "newsspider",
    "SPIDERMON_SLACK_RECIPIENTS": "#crawls",
}


def test_the_slack_example_of_the_docs_names_the_failed_check(tmp_path: Path, site: SiteManifest) -> None:
    docs = (REPO / "docs" / "cron.md").read_text(encoding="utf-8")
    for key, value in SLACK_EXAMPLE.items():
        if key != "SPIDERMON_SLACK_SENDER_TOKEN":
            assert re.search(rf"^{key} = .*{re.escape(value)}", docs, re.M), key
    settings_ = [arg for key, value in SLACK_EXAMPLE.items() for arg in ("-s", f"{key}={value}")]
    status, results, log = monitored_crawl(site, tmp_path, *settings_, "-s", "SPIDERMON_SLACK_FAKE=True",
                                           "-s", "CLOSESPIDER_ITEMCOUNT=3")
    assert status == 1 and results["passed"] is False
    message = log[log.index("FAILED ACTIONS"):]
    assert ":skull: `georgiatoday` *spider finished with errors!* _(errors=1)_" in message
    assert '"text": "•  _health/finish reason_\\n"' in message, message
    assert "SendSlackMessageSpiderFinished... OK" in message
