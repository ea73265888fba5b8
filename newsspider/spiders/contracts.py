"""Scrapy contracts of the spider's callbacks (``scrapy check``).

``@mirror`` fetches the ``@url`` (written as the canonical ``https://georgiatoday.ge/...``)
from the spider's ``base_url`` instead, so the contracts run against the demo server or
any mirror: ``scrapy check -s NEWSSPIDER_BASE_URL=http://127.0.0.1:8765 georgiatoday``.
"""

from __future__ import annotations

from typing import Any

from scrapy.contracts import Contract


class MirrorContract(Contract):
    """``@mirror``: the request goes to the same path under ``base_url``."""

    name = "mirror"

    def adjust_request_args(self, args: dict[str, Any]) -> dict[str, Any]:
        spider = getattr(self._method, "__self__", None)
        origins = getattr(spider, "origins", None)
        if origins is not None and args.get("url"):
            args["url"] = origins.to_fetch(args["url"])
        return args

    def __init__(self, method: Any, *args: Any) -> None:
        super().__init__(method, *args)
        self._method = method
