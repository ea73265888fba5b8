"""``compact``: dated JSON Lines outputs merged into one line per article, its latest
version."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from itemadapter import ItemAdapter

from newsspider.items import ArticleItem
from newsspider.offline.files import UnreadableInput, jsonl_files, write_jsonl
from newsspider.offline.versions import modified_key


def compact(paths: Sequence[str | Path], output: Path) -> tuple[int, int]:
    """The dated outputs merged: one line per article, its latest version (by
    ``modified``, then ``crawled_at``, then file order).  Returns (lines read, written)."""
    latest: dict[str, tuple[tuple[Any, ...], int, dict[str, Any]]] = {}
    order = 0
    read = 0
    for path in jsonl_files(paths):
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise UnreadableInput(f"{path}: cannot read ({exc})") from exc
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except ValueError as exc:
                raise UnreadableInput(f"{path}:{number}: not a JSON line ({exc})") from exc
            if not isinstance(item, dict) or not item.get("url"):
                raise UnreadableInput(f"{path}:{number}: not an article item")
            read += 1
            order += 1
            article = ArticleItem(**{k: v for k, v in item.items() if k in ArticleItem.__dataclass_fields__})
            key = (modified_key(article), str(item.get("crawled_at") or ""), order)
            best = latest.get(item["url"])
            if best is None or key > best[0]:
                latest[item["url"]] = (key, best[1] if best else order, item)
    items = [entry[2] for entry in sorted(latest.values(), key=lambda e: e[1])]
    written = write_jsonl((ItemAdapter(i).asdict() for i in items), output)
    return read, written
