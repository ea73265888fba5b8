"""Item pipelines and the choice of versions over the extraction results (see
``newsspider.offline.reextraction``)."""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any

from scrapy.exceptions import DropItem
from scrapy.statscollectors import StatsCollector

from newsspider.crawl.output.pipelines import DropDuplicates, RequireFields
from newsspider.items import ArticleItem
from newsspider.offline.extract import Result

logger = logging.getLogger(__name__)


def _content(item: ArticleItem) -> str:
    data = asdict(item)
    data.pop("crawled_at", None)
    return json.dumps(data, sort_keys=True, ensure_ascii=False)


def modified_key(item: ArticleItem) -> tuple[int, float]:
    if not item.modified:
        return (0, 0.0)
    try:
        moment = datetime.fromisoformat(item.modified)
    except ValueError:
        return (0, 0.0)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return (1, moment.timestamp())


class OfflineStats(StatsCollector):
    """Scrapy's stats collector without a crawler, for the pipelines run offline."""

    def __init__(self) -> None:
        self._dump = False
        self._stats: dict[str, Any] = {}


@dataclass
class Outcome:
    items: list[ArticleItem]
    stats: dict[str, Any]


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
        seen: dict[str, set[str]] = {}
        for result in valid:
            assert result.item is not None
            dedupe = per_run.setdefault(result.entry.file, DropDuplicates(stats))
            try:
                dedupe.process_item(result.item)
            except DropItem:
                continue
            versions = seen.setdefault(str(result.item.url), set())
            content = _content(result.item)
            if content in versions:
                stats.inc_value("newsspider/reextract/same_version")
                continue
            versions.add(content)
            chosen.append(result)
    else:
        # Per article, the fetches the crawl emitted: a new or changed version, or any
        # fetch of a full run (an incremental run skips an unchanged article); of those
        # the latest version (by modified, then fetch time) — the dataset's line.
        fetches: dict[str, list[Result]] = {}
        for result in valid:
            assert result.item is not None
            fetches.setdefault(str(result.item.url), []).append(result)
        latest: dict[str, Result] = {}
        for url, results in fetches.items():
            previous = None
            for result in sorted(results, key=lambda r: (r.fetched, r.order)):
                assert result.item is not None
                content = _content(result.item)
                emitted = content != previous or result.entry.file not in incremental_files
                previous = content
                if not emitted:
                    continue
                best = latest.get(url)
                key = (modified_key(result.item), result.fetched, result.order)
                if best is None or key > (modified_key(best.item), best.fetched, best.order):  # type: ignore[arg-type]
                    latest[url] = result
        dedupe = DropDuplicates(stats)
        chosen = []
        for result in sorted(latest.values(), key=lambda r: r.order):
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
