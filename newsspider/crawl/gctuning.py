"""``GarbageCollectorTuning``: fewer cyclic-GC passes during a crawl.

A crawl allocates and frees many small containers per page (selectors, dicts, item
loaders); reference counting frees them, but CPython's cyclic collector still runs every
700 net allocations and, every so often, walks the whole heap.  On the benchmark crawl
that was ~17% of the CPU.  Raising the thresholds keeps memory flat (the crawl makes few
reference cycles: see ``newsspider.extraction.page_selector``) and the CPU for pages.
"""

from __future__ import annotations

import gc

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured


class GarbageCollectorTuning:
    """Sets ``gc.set_threshold(*NEWSSPIDER_GC_THRESHOLDS)`` for the crawl process;
    an empty setting leaves Python's defaults."""

    def __init__(self, thresholds: tuple[int, ...]) -> None:
        gc.set_threshold(*thresholds)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> GarbageCollectorTuning:
        values = crawler.settings.getlist("NEWSSPIDER_GC_THRESHOLDS")
        if not values:
            raise NotConfigured
        thresholds = tuple(int(v) for v in values)
        if not 1 <= len(thresholds) <= 3 or any(t < 0 for t in thresholds):
            raise ValueError(f"NEWSSPIDER_GC_THRESHOLDS takes 1 to 3 non-negative ints, got {values!r}")
        return cls(thresholds)
