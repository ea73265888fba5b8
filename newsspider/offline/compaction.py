"""``compact``: dated JSON Lines outputs merged into one line per article, its latest
version."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from itemadapter import ItemAdapter

from newsspider.crawl.output.feedstorage import BadLine, read_items
from newsspider.items import ArticleItem
from newsspider.offline.files import UnreadableInput, jsonl_files, write_jsonl
from newsspider.offline.versions import modified_key


def compact(paths: Sequence[str | Path], output: Path) -> tuple[int, int]:
    """The dated outputs merged: one line per article, its latest version (by
    ``modified``, then ``crawled_at``, then file order).  Returns (lines read, written)."""
    latest: dict[str, tuple[tuple[Any, ...], int, dict[str, Any]]] = {}
    read = 0  # items read so far: the order of the one in hand
    for path in jsonl_files(paths):
        try:
            items, _ = read_items(path.read_bytes(), strict=True)
        except OSError as exc:
            raise UnreadableInput(f"{path}: cannot read ({exc})") from exc
        except BadLine as exc:
            raise UnreadableInput(f"{path}:{exc.number}: {exc}") from exc
        for item in items:
            read += 1
            article = ArticleItem(**{k: v for k, v in item.items() if k in ArticleItem.__dataclass_fields__})
            key = (modified_key(article), str(item.get("crawled_at") or ""), read)
            best = latest.get(item["url"])
            if best is None or key > best[0]:
                latest[item["url"]] = (key, best[1] if best else read, item)
    merged = [entry[2] for entry in sorted(latest.values(), key=lambda e: e[1])]
    written = write_jsonl((ItemAdapter(i).asdict() for i in merged), output)
    return read, written
