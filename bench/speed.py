"""Part 2: per-page CPU time in one process, medians over many rounds.

For every distinct labeled page (page 1 of each post): ``lxml.html.fromstring(bytes)`` (the
floor), our full extraction (``newsspider.dev.extract.extract_html``: Scrapy ``HtmlResponse``
decoding and parsing, article check, every field, the ``ArticleLoader``), trafilatura
(``bare_extraction`` with metadata) and newspaper4k (``Article.download(input_html)`` +
``parse()``). CPU time is ``time.process_time()`` around one call; each tool's median over
its rounds is divided by the floor's median on the same page, measured in the same run.
"""

from __future__ import annotations

import gc
import hashlib
import math
import statistics
import time
import warnings
from typing import Any

import lxml.html
from pages import LabeledPage
from tools import Tool


def distinct_pages(pages: list[LabeledPage]) -> list[LabeledPage]:
    seen: set[str] = set()
    out = []
    for page in pages:
        digest = hashlib.sha1(page.pages[0]).hexdigest()
        if digest not in seen:
            seen.add(digest)
            out.append(page)
    return out


def _median_cpu(call: Any, body: bytes, url: str, rounds: int) -> float:
    call(body, url)  # warm-up (imports, caches)
    samples = []
    for _ in range(rounds):
        start = time.process_time()
        call(body, url)
        samples.append(time.process_time() - start)
    return statistics.median(samples)


def run(pages: list[LabeledPage], tools: list[Tool], rounds: int, peer_rounds: int) -> dict[str, Any]:
    floor = Tool("lxml floor", extract=None, speed_call=lambda body, url: lxml.html.fromstring(body))
    timed = [floor] + [t for t in tools if t.speed_call is not None and (t.extract is not None)]
    rows = []
    gc.collect()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for page in distinct_pages(pages):
            body = page.pages[0]
            row: dict[str, Any] = {"page": page.name, "set": page.set, "kb": len(body) / 1024}
            for tool in timed:
                n = rounds if tool.name in ("lxml floor", "newsspider") else peer_rounds
                try:
                    row[tool.name] = _median_cpu(tool.speed_call, body, page.url, n)
                except Exception:
                    row[tool.name] = None
            rows.append(row)
    names = [t.name for t in timed]
    summary: dict[str, dict[str, float | None]] = {}
    for name in names:
        ok = [r for r in rows if r.get(name) is not None and r["lxml floor"]]
        if not ok:
            summary[name] = {"total_ms": None, "ratio_total": None, "ratio_geomean": None, "ratio_max": None}
            continue
        ratios = [r[name] / r["lxml floor"] for r in ok]
        summary[name] = {
            "total_ms": sum(r[name] for r in ok) * 1000,
            "median_ms": statistics.median(r[name] for r in ok) * 1000,
            "ratio_total": sum(r[name] for r in ok) / sum(r["lxml floor"] for r in ok),
            "ratio_geomean": math.exp(sum(math.log(x) for x in ratios) / len(ratios)),
            "ratio_max": max(ratios),
        }
    return {"rows": rows, "summary": summary, "tools": names, "rounds": rounds, "peer_rounds": peer_rounds}
