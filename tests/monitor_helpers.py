"""A spidermon action for tests/test_monitors.py, loaded into the real ``scrapy crawl``
by settings only, as a user's Slack or e-mail action is:
``-s NEWSSPIDER_MONITOR_FINISHED_ACTIONS=monitor_helpers.WriteResults``
``-s MONITOR_TEST_RESULTS=/tmp/…/results.json``.

It writes what spidermon decided: whether every monitor passed, and each monitor's
name, status and failure message, by check (``finish reason`` …).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from spidermon.core.actions import Action


class WriteResults(Action):
    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = Path(path)

    @classmethod
    def from_crawler_kwargs(cls, crawler: Any) -> dict[str, Any]:
        return {"path": crawler.settings.get("MONITOR_TEST_RESULTS")}

    def run_action(self) -> None:
        monitors = {
            result.item.method_name: {"name": result.item.name, "status": result.status, "error": result.error}
            for result in self.result.monitor_results
        }
        self.path.write_text(json.dumps({
            "passed": self.result.all_monitors_passed,
            "monitors": monitors,
        }, indent=1), encoding="utf-8")
