"""Log lines for dropped items: the URL and the reason, not the whole article."""

from __future__ import annotations

import logging
from typing import Any

from scrapy import Spider
from scrapy.http import Response
from scrapy.logformatter import LogFormatter, LogFormatterResult
from twisted.python.failure import Failure


class ConciseLogFormatter(LogFormatter):
    """``Dropped item: <reason>: <url>`` at WARNING (the item's body would flood the log)."""

    def dropped(
        self, item: Any, exception: BaseException, response: Response | Failure | None, spider: Spider
    ) -> LogFormatterResult:
        return {"level": logging.WARNING, "msg": "Dropped item: %(exception)s", "args": {"exception": exception}}
