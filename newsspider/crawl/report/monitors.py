"""The run's health verdict as spidermon monitors, for notifications by settings only.

The checks are declared once, in ``newsspider.crawl.report.health``; ``HealthMonitor`` has
one test method per check that calls the *same* check function through the run extension
(``RunExtension.judge``) — the exit status and the monitor suite cannot disagree about
what a check says.  Field coverage is one of those checks (counted in the crawl stats by
the run's ledger), not spidermon's ``FieldCoverageMonitor``: the exit status must judge it
with spidermon off too.  Item validation against
``newsspider/schema/article.schema.json`` (tombstones: ``tombstone.schema.json``) is
spidermon's ``ItemValidationPipeline`` (``SPIDERMON_VALIDATION_SCHEMAS`` = ``ARTICLE_SCHEMA``
and ``TOMBSTONE_SCHEMA`` below, by item class); its count of invalid items is judged by
``health.check_invalid_items``, so it reaches the exit status too.

``HealthMonitorSuite`` runs at ``engine_stopped`` (``SPIDERMON_ENGINE_STOP_MONITORS``),
not at ``spider_closed``: Scrapy runs the ``spider_closed`` handlers side by side, and
spidermon's (synchronous) one would judge the run before the outputs are stored and the
commit point has happened — an output that fails to be renamed, or a state that fails
to commit, stops the run *after* it.  At ``engine_stopped`` every input of the checks is
final.  Spidermon's extension sits after ``RunExtension`` in ``EXTENSIONS``: the
``Summary:`` line comes before spidermon's report.  Spidermon logs a failed monitor at
ERROR; Scrapy counts log records only until ``spider_closed`` (``LogCount``), so that
cannot feed back into the "errors" check.

Actions (Slack, e-mail, Telegram, Sentry …) come from settings, as lists of spidermon
action classes: ``NEWSSPIDER_MONITOR_FAILED_ACTIONS``, ``NEWSSPIDER_MONITOR_PASSED_ACTIONS``,
``NEWSSPIDER_MONITOR_FINISHED_ACTIONS``; each action reads its own ``SPIDERMON_*``
settings.  docs/cron.md has a worked e-mail example.
"""

from __future__ import annotations

import json
import warnings
from importlib import resources
from typing import Any, ClassVar

from scrapy.exceptions import ScrapyDeprecationWarning
from scrapy.utils.misc import load_object
from spidermon import Monitor, MonitorSuite, monitors

from newsspider.crawl.report import health
from newsspider.crawl.run.extension import RunExtension


def _schema(name: str) -> dict[str, Any]:
    """A JSON Schema of ``newsspider/schema/``, read from the package (works from a wheel or
    a scrapyd egg)."""
    return json.loads(resources.files("newsspider").joinpath(f"schema/{name}").read_text(encoding="utf-8"))


#: The item JSON Schemas, by item class: ``SPIDERMON_VALIDATION_SCHEMAS = {ArticleItem:
#: ["newsspider.crawl.report.monitors.ARTICLE_SCHEMA"], Tombstone: [….TOMBSTONE_SCHEMA]}``.
ARTICLE_SCHEMA: dict[str, Any] = _schema("article.schema.json")
TOMBSTONE_SCHEMA: dict[str, Any] = _schema("tombstone.schema.json")

# spidermon 1.27 writes its report with ``Spider.log()``, deprecated since Scrapy 2.19: one
# ``py.warnings`` WARNING per run, about spidermon's code, not ours.
warnings.filterwarnings("ignore", message=r"Spider\.log\(\) is deprecated", category=ScrapyDeprecationWarning,
                        module=r"spidermon\.")

@monitors.name("health")
class HealthMonitor(Monitor):
    """One spidermon monitor (test method) per health check: each calls the check itself
    on the finished run, and fails with the check's own words."""

    def judge(self, check: health.Check) -> None:
        crawler = self.data.crawler
        try:
            extension = crawler.get_extension(RunExtension)
        except RuntimeError:
            extension = None
        if extension is None:
            self.skipTest("newsspider.crawl.run.extension.RunExtension is not enabled")
            return
        if check not in health.ALWAYS_ON and not crawler.settings.getbool("NEWSSPIDER_HEALTH_ENABLED"):
            self.skipTest("NEWSSPIDER_HEALTH_ENABLED is off")
        problems = extension.judge((check,)).problems
        if problems:
            self.fail(problems[0])

    @monitors.name("stopped")
    def test_stopped(self) -> None:
        self.judge(health.check_stopped)

    @monitors.name("archive")
    def test_archive(self) -> None:
        self.judge(health.check_archive)

    @monitors.name("finish reason")
    def test_finish_reason(self) -> None:
        self.judge(health.check_finish_reason)

    @monitors.name("unreachable")
    def test_unreachable(self) -> None:
        self.judge(health.check_unreachable)

    @monitors.name("moved")
    def test_moved(self) -> None:
        self.judge(health.check_moved)

    @monitors.name("blocked")
    def test_blocked(self) -> None:
        self.judge(health.check_blocked)

    @monitors.name("wrong base")
    def test_wrong_base(self) -> None:
        self.judge(health.check_wrong_base)

    @monitors.name("robots")
    def test_robots(self) -> None:
        self.judge(health.check_robots)

    @monitors.name("no articles")
    def test_no_articles(self) -> None:
        self.judge(health.check_no_articles)

    @monitors.name("errors")
    def test_errors(self) -> None:
        self.judge(health.check_errors)

    @monitors.name("spider exceptions")
    def test_spider_exceptions(self) -> None:
        self.judge(health.check_spider_exceptions)

    @monitors.name("empty listings")
    def test_empty_listings(self) -> None:
        self.judge(health.check_empty_listings)

    @monitors.name("dropped")
    def test_dropped(self) -> None:
        self.judge(health.check_dropped)

    @monitors.name("coverage")
    def test_coverage(self) -> None:
        self.judge(health.check_coverage)

    @monitors.name("failed requests")
    def test_failed_requests(self) -> None:
        self.judge(health.check_failed_requests)

    @monitors.name("invalid items")
    def test_invalid_items(self) -> None:
        self.judge(health.check_invalid_items)

    @monitors.name("site coverage")
    def test_site_coverage(self) -> None:
        self.judge(health.check_site_coverage)


class HealthMonitorSuite(MonitorSuite):
    """The health verdict of the run, one monitor per check; actions from settings."""

    monitors: ClassVar[list[type[Monitor]]] = [HealthMonitor]

    def __init__(self, *args: Any, crawler: Any = None, **kwargs: Any) -> None:
        if crawler is not None:
            settings = crawler.settings
            for key, setting in (("monitors_finished_actions", "NEWSSPIDER_MONITOR_FINISHED_ACTIONS"),
                                 ("monitors_passed_actions", "NEWSSPIDER_MONITOR_PASSED_ACTIONS"),
                                 ("monitors_failed_actions", "NEWSSPIDER_MONITOR_FAILED_ACTIONS")):
                actions = [load_object(a) if isinstance(a, str) else a for a in settings.getlist(setting)]
                kwargs[key] = [*(kwargs.get(key) or ()), *actions]
        super().__init__(*args, crawler=crawler, **kwargs)
