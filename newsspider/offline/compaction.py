"""``compact``: dated JSON Lines outputs merged into one line per article, its latest
version."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from newsspider.crawl.export.feedstorage import BadLine, read_items
from newsspider.offline.files import JSONL_NAMES, UNFINISHED, UnreadableInput, input_files, unfinished, write_jsonl
from newsspider.offline.versions import moment_key

logger = logging.getLogger(__name__)


def compact(paths: Sequence[str | Path], output: Path) -> tuple[int, int]:
    """The dated outputs merged: one line per article, its latest version (by
    ``modified``, then ``crawled_at``, then file order), in the order articles first
    appeared.  ``.part`` files are left out with a WARNING.  Returns (lines read, written);
    raises ``UnreadableInput`` (``MissingInput``), also when no finished output is left."""
    latest: dict[str, tuple[tuple[Any, ...], int, dict[str, Any]]] = {}
    read = 0  # items read so far: the order of the one in hand
    files = 0
    for path in input_files(paths, JSONL_NAMES):
        if unfinished(path):
            logger.warning("Left out %s: the output of an unfinished run (%s)", path, UNFINISHED)
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
            key = (moment_key(item.get("modified")), moment_key(item.get("crawled_at")), read)
            best = latest.get(item["url"])
            if best is None or key > best[0]:
                latest[item["url"]] = (key, best[1] if best else read, item)
    if not files:
        raise UnreadableInput(f"{', '.join(map(str, paths))}: no finished output to merge")
    merged = [entry[2] for entry in sorted(latest.values(), key=lambda e: e[1])]
    return read, write_jsonl(merged, output)
