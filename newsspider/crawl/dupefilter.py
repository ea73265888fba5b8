"""Scrapy's request de-duplication without a fingerprint set in memory.

``RFPDupeFilter`` keeps one 40-character fingerprint per request in a Python set (~150
bytes each: 30 MB for a 200 000-article backfill).  Here they go to the run's scratch file
(``newsspider.crawl.scratch``).  With ``JOBDIR`` Scrapy's own behaviour is kept (its
``requests.seen`` file is what makes a paused crawl resumable).
"""

from __future__ import annotations

from typing import Any

from scrapy.dupefilters import RFPDupeFilter
from scrapy.http import Request

from newsspider.crawl.extension import RunExtension
from newsspider.crawl.scratch import Scratch


class ScratchDupeFilter(RFPDupeFilter):
    scratch: Scratch | None = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> ScratchDupeFilter:
        dupefilter = super().from_crawler(crawler)
        if dupefilter.file is None:  # no JOBDIR
            dupefilter.scratch = RunExtension.of(crawler, default=True).scratch
        return dupefilter

    def request_seen(self, request: Request) -> bool:
        if self.scratch is None:
            return super().request_seen(request)
        return not self.scratch.first_time("fingerprint", self.request_fingerprint(request))
