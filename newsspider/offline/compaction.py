"""``compact``: dated JSON Lines outputs merged into one line per article, its latest
version; the articles the site has taken down or moved since (their tombstones, the
``tombstones/`` output beside the articles) dropped, or kept and marked."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from newsspider.crawl.export.feedstorage import BadLine, read_items
from newsspider.items import TOMBSTONE_REASONS
from newsspider.normalize import parse_moment
from newsspider.offline.files import JSONL_NAMES, UNFINISHED, UnreadableInput, input_files, unfinished, write_jsonl
from newsspider.offline.versions import moment_key

logger = logging.getLogger(__name__)

#: The subdirectory of an output directory that holds its tombstones (``<time>.jsonl``).
TOMBSTONES = "tombstones"
#: What ``keep_deleted`` adds to a deleted article, under the key ``deleted``.
DELETED_KEYS = ("reason", "detected_at", "moved_to")


@dataclass(frozen=True)
class Compaction:
    read: int  # article lines read
    written: int  # articles written
    deleted: int  # articles dropped (or marked) as taken down ...
    moved: int  # ... and as moved to another URL


def compact(paths: Sequence[str | Path], output: Path, tombstones: Sequence[str | Path] = (),
            keep_deleted: bool = False) -> Compaction:
    """The dated outputs merged: one line per article, its latest version (by
    ``modified``, then ``crawled_at``, then file order), in the order articles first
    appeared.  An article whose latest tombstone (by ``detected_at``) is not older than
    every line of it (by ``crawled_at``: it did not come back) is dropped — or, with
    ``keep_deleted``, kept with a ``deleted`` key (``DELETED_KEYS`` of the tombstone).  The
    tombstones are those of ``tombstone_files``.  ``.part`` files are left out with a
    WARNING.  Raises ``UnreadableInput`` (``MissingInput``), also when no finished output
    is left."""
    latest: dict[str, tuple[tuple[Any, ...], int, dict[str, Any]]] = {}
    seen: dict[str, tuple[int, float]] = {}  # url -> its latest crawled_at
    read = 0  # items read so far: the order of the one in hand
    files = 0
    for path in input_files(paths, JSONL_NAMES):
        if _left_out(path):
            continue
        files += 1
        try:
            items, _ = read_items(path.read_bytes(), strict=True)
        except OSError as exc:
            raise UnreadableInput(f"{path}: cannot read ({exc})") from exc
        except BadLine as exc:
            raise UnreadableInput(f"{path}:{exc.number}: {exc}") from exc
        for item in items:
            read += 1
            crawled = moment_key(item.get("crawled_at"))
            key = (moment_key(item.get("modified")), crawled, read)
            best = latest.get(item["url"])
            if best is None or key > best[0]:
                latest[item["url"]] = (key, best[1] if best else read, item)
            seen[item["url"]] = max(seen.get(item["url"], crawled), crawled)
    if not files:
        raise UnreadableInput(f"{', '.join(map(str, paths))}: no finished output to merge")
    gone = latest_tombstones(tombstone_files(paths, tombstones))
    merged: list[dict[str, Any]] = []
    deleted = moved = 0
    for _, _, item in sorted(latest.values(), key=lambda e: e[1]):
        tombstone = gone.get(item["url"])
        if tombstone is not None and moment_key(tombstone["detected_at"]) >= seen[item["url"]]:
            if tombstone["reason"] == "moved":
                moved += 1
            else:
                deleted += 1
            if not keep_deleted:
                continue
            item = {**item, "deleted": {name: tombstone.get(name) for name in DELETED_KEYS}}
        merged.append(item)
    return Compaction(read, write_jsonl(merged, output), deleted, moved)


def tombstone_files(paths: Sequence[str | Path], tombstones: Sequence[str | Path] = ()) -> list[Path]:
    """The ``*.jsonl`` files of the ``tombstones/`` subdirectory of every directory in
    ``paths`` (none, or an empty one: no deletions), then those of ``tombstones`` (files
    or directories, as ``input_files`` takes them)."""
    files: list[Path] = []
    for path in paths:
        directory = Path(path) / TOMBSTONES
        if directory.is_dir():
            with suppress(UnreadableInput):  # none in it
                files += input_files([directory], JSONL_NAMES)
    return files + input_files(tombstones, JSONL_NAMES)


def latest_tombstones(files: Sequence[Path]) -> dict[str, dict[str, Any]]:
    """The latest tombstone (by ``detected_at``, then file order) of each URL in the
    finished ``files``."""
    latest: dict[str, dict[str, Any]] = {}
    for path in files:
        if _left_out(path):
            continue
        for tombstone in read_tombstones(path):
            best = latest.get(tombstone["url"])
            if best is None or moment_key(tombstone["detected_at"]) >= moment_key(best["detected_at"]):
                latest[tombstone["url"]] = tombstone
    return latest


def read_tombstones(path: Path) -> list[dict[str, Any]]:
    """The tombstones of a finished file (``newsspider.items.Tombstone`` as JSON Lines);
    ``UnreadableInput`` naming the first line that is not one: no ``url``, ``reason`` of
    ``TOMBSTONE_REASONS`` and ``detected_at`` moment."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UnreadableInput(f"{path}: cannot read ({exc})") from exc
    tombstones: list[dict[str, Any]] = []
    for number, line in enumerate(data.splitlines(), 1):
        if not line.strip():
            continue
        try:
            tombstone = json.loads(line)
        except ValueError as exc:  # UnicodeDecodeError too
            raise UnreadableInput(f"{path}:{number}: not a JSON line ({exc})") from exc
        if not (isinstance(tombstone, dict) and tombstone.get("url") and tombstone.get("reason") in TOMBSTONE_REASONS
                and parse_moment(tombstone.get("detected_at")) is not None):
            raise UnreadableInput(f"{path}:{number}: not a tombstone (url, reason, detected_at)")
        tombstones.append(tombstone)
    return tombstones


def _left_out(path: Path) -> bool:
    """A ``.part`` file, left out with a WARNING."""
    if unfinished(path):
        logger.warning("Left out %s: the output of an unfinished run (%s)", path, UNFINISHED)
        return True
    return False
