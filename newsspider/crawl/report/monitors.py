"""The run's health verdict as spidermon monitors, for notifications by settings only.

One spidermon ``Monitor`` per health check (``newsspider.crawl.report.health.CHECKS``): each
calls the *same* check function with the run (``RunExtension.of(crawler)``), the crawl
stats and ``Limits.from_settings`` — the exit status (``Run.verdict`` = ``health.judge``)
and the monitor suite cannot disagree about what a check says.  Item validation against
``newsspider/schema/article.schema.json`` is spidermon's ``ItemValidationPipeline``
(``SPIDERMON_VALIDATION_SCHEMAS`` = ``ARTICLE_SCHEMA`` below); its count of invalid items
is judged by ``health.check_invalid_items``, so it reaches the exit status too.

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

#: The item JSON Schema, read from the package (works from a wheel or a scrapyd egg):
#: ``SPIDERMON_VALIDATION_SCHEMAS = ["newsspider.crawl.report.monitors.ARTICLE_SCHEMA"]``.
ARTICLE_SCHEMA: dict[str, Any] = json.loads(
    resources.files("newsspider").joinpath("schema/article.schema.json").read_text(encoding="utf-8"))

# spidermon 1.27 writes its report with ``Spider.log()``, deprecated since Scrapy 2.19: one
# ``py.warnings`` WARNING per run, about spidermon's code, not ours.
warnings.filterwarnings("ignore", message=r"Spider\.log\(\) is deprecated", category=ScrapyDeprecationWarning,
                        module=r"spidermon\.")

class HealthCheckMonitor(Monitor):
    """Base: runs ``check`` on the finished run and fails with the check's own words."""

    check: ClassVar[health.Check]

    def judge(self) -> None:
        crawler = self.data.crawler
        try:
            extension = crawler.get_extension(RunExtension)
        except RuntimeError:
            extension = None
        if extension is None:
            self.skipTest("newsspider.crawl.run.extension.RunExtension is not enabled")
            return
        check = type(self).check
        if check not in health.ALWAYS_ON and not crawler.settings.getbool("NEWSSPIDER_HEALTH_ENABLED"):
            self.skipTest("NEWSSPIDER_HEALTH_ENABLED is off")
        problem = extension.judge((check,)).problems
        if problem:
            self.fail(problem[0])


#: Spidermon names each monitor ``health/<check>`` (``health/failed requests``) in its
#: report and in the actions' messages.
MONITOR_NAME = "health"


def monitor_name(check: health.Check) -> str:
    """``check_failed_requests`` -> ``failed requests``."""
    return check.__name__.removeprefix("check_").replace("_", " ")


def _monitor(check: health.Check) -> type[HealthCheckMonitor]:
    def test(self: HealthCheckMonitor) -> None:
        self.judge()

    test.__doc__ = (check.__doc__ or f"The {monitor_name(check)} check of newsspider.crawl.report.health.").strip()
    test = monitors.name(monitor_name(check))(test)
    title = "".join(part.title() for part in monitor_name(check).split())
    cls = type(f"{title}Monitor", (HealthCheckMonitor,), {
        "check": staticmethod(check), "test_check": test, "__module__": __name__,
        "__doc__": f"Health check {check.__name__} (newsspider.crawl.report.health).",
    })
    return monitors.name(MONITOR_NAME)(cls)


#: One monitor per health check, in the order of ``health.CHECKS``.
HEALTH_MONITORS: tuple[type[HealthCheckMonitor], ...] = tuple(_monitor(check) for check in health.CHECKS)


class HealthMonitorSuite(MonitorSuite):
    """The health verdict of the run, one monitor per check; actions from settings."""

    monitors: ClassVar[list[type[HealthCheckMonitor]]] = list(HEALTH_MONITORS)

    def __init__(self, *args: Any, crawler: Any = None, **kwargs: Any) -> None:
        if crawler is not None:
            settings = crawler.settings
            for key, setting in (("monitors_finished_actions", "NEWSSPIDER_MONITOR_FINISHED_ACTIONS"),
                                 ("monitors_passed_actions", "NEWSSPIDER_MONITOR_PASSED_ACTIONS"),
                                 ("monitors_failed_actions", "NEWSSPIDER_MONITOR_FAILED_ACTIONS")):
                actions = [load_object(a) if isinstance(a, str) else a for a in settings.getlist(setting)]
                kwargs[key] = [*(kwargs.get(key) or ()), *actions]
        super().__init__(*args, crawler=crawler, **kwargs)
