"""Item pipelines and the choice of versions over the extraction results (see
``newsspider.offline.reextraction``)."""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from itemadapter import ItemAdapter
from scrapy.exceptions import DropItem
from scrapy.statscollectors import StatsCollector

from newsspider.crawl.export.pipelines import DropDuplicates, RequireFields
from newsspider.items import ArticleItem, content_hash
from newsspider.normalize import newer, parse_moment
from newsspider.offline.extract import Result

logger = logging.getLogger(__name__)


def moment_key(value: str | None) -> tuple[int, float]:
    """Orders ISO 8601 moments (``modified``, ``crawled_at``): unknown first."""
    moment = parse_moment(value)
    return (1, moment.timestamp()) if moment is not None else (0, 0.0)


def _changed(result: Result, before: Result) -> bool:
    """The crawl state's rule for an article fetched again: its content (``content_hash``)
    differs, or its ``modified`` is newer."""
    assert result.item is not None and before.item is not None
    return (content_hash(ItemAdapter(result.item)) != content_hash(ItemAdapter(before.item))
            or newer(result.item.modified, before.item.modified))


def _recency(result: Result) -> tuple[tuple[int, float], datetime, tuple[int, int]]:
    """The latest version: greatest ``modified``, then latest fetch, then archive order."""
    assert result.item is not None
    return (moment_key(result.item.modified), result.fetched, result.order)


class OfflineStats(StatsCollector):
    """Scrapy's stats collector without a crawler, for the pipelines run offline."""

    def __init__(self) -> None:
        self._dump = False
        self._stats: dict[str, Any] = {}


@dataclass
class Outcome:
    items: list[ArticleItem]
    stats: dict[str, Any]
    complete: bool = True  # False: an input was cut off or damaged, the items of its lost records are missing


def select_versions(results: Iterable[Result], all_versions: bool = False,
                    incremental_files: Collection[int] = ()) -> Outcome:
    """Pipelines and version choice over the extraction results (see module docstring)."""
    stats = OfflineStats()
    require = RequireFields(stats)
    skipped: dict[str, int] = {}
    valid: list[Result] = []
    for result in results:
        if result.item is None:
            reason = result.skipped or "unknown"
            skipped[reason] = skipped.get(reason, 0) + 1
            continue
        try:
            require.process_item(result.item)
        except DropItem as exc:
            logger.warning("Dropped item: %s", exc)
            continue
        valid.append(result)
    valid.sort(key=lambda r: r.order)
    chosen: list[Result]
    if all_versions:
        chosen = []
        per_run: dict[int, DropDuplicates] = {}
        seen: dict[str, set[tuple[str, str | None]]] = {}
        for result in valid:
            assert result.item is not None
            dedupe = per_run.setdefault(result.entry.slot.file, DropDuplicates(stats))
            try:
                dedupe.process_item(result.item)
            except DropItem:
                continue
            versions = seen.setdefault(str(result.item.url), set())
            version = (content_hash(ItemAdapter(result.item)), result.item.modified)
            if version in versions:
                stats.inc_value("newsspider/reextract/same_version")
                continue
            versions.add(version)
            chosen.append(result)
    else:
        # Per article, the fetches the crawl emitted: any fetch of a full run, and in an
        # incremental run a new or changed version (content_hash differs, or modified is
        # newer: the crawl state's rule) — of those the latest version (by modified, then
        # fetch time): the dataset's line.
        fetches: dict[str, list[Result]] = {}
        for result in valid:
            assert result.item is not None
            fetches.setdefault(str(result.item.url), []).append(result)
        latest = []
        for results in fetches.values():
            emitted: list[Result] = []
            for result in sorted(results, key=lambda r: (r.fetched, r.order)):
                if emitted and result.entry.slot.file in incremental_files and not _changed(result, emitted[-1]):
                    continue  # an incremental run does not emit an unchanged article
                emitted.append(result)
            latest.append(max(emitted, key=_recency))
        dedupe = DropDuplicates(stats)
        chosen = []
        for result in sorted(latest, key=lambda r: r.order):
            try:
                dedupe.process_item(result.item)
            except DropItem as exc:
                logger.info("Dropped item: %s", exc)
                continue
            chosen.append(result)
    values = stats.get_stats()
    for reason, count in skipped.items():
        values[f"newsspider/reextract/skipped/{reason}"] = count
    return Outcome([r.item for r in chosen if r.item is not None], values)
