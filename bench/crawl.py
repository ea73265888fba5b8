"""Part 3: the crawl — throughput, CPU per page, memory at two sizes, unchanged incremental runs.

``tests/sitegen.py`` writes georgiatoday.ge mirrors of two sizes (default 2,000 and 10,000
articles, from the page templates in ``tests/fixtures/site-templates``);
``newsspider.dev.devserver.MirrorServer`` serves each on 127.0.0.1 from this process. Each
crawl runs in a subprocess (``bench/crawl_worker.py``) whose RSS is sampled with psutil
every 50 ms together with the server's request count (the crawl's progress).

On the small mirror, ``rounds`` times in a row (CPU speed on a shared virtual machine
drifts by tens of percent from one minute to the next, so ratios are taken within a
round and their median reported):

1. ``ours``: the ``georgiatoday`` spider, ``mode=full``, politeness off, items to a feed;
2. ``download_only``: replays the exact request list of crawl 1 and parses nothing;
3. ``parse_only``: our spider whose article callback only parses the page (no
   extraction, no item, no state, no export) — what any extraction built on a parsed
   tree can at best reach.

On the large mirror, one full crawl (``ours``): its peak RSS against the small mirror's
says whether memory grows with the archive.

``unchanged_incremental_run``: on each mirror, the cron run (``mode=incremental``) right
after the full crawl, with its state, on the unchanged site — requests, CPU seconds and
bytes downloaded (in all and for sitemaps). An unchanged site should cost the same at
any size; conditional requests (304) for sitemaps are what makes that possible.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import psutil
from pages import REPO, build_site

WORK = Path(__file__).resolve().parent / ".work"
WORKER = Path(__file__).resolve().parent / "crawl_worker.py"
FRACTIONS = (0.25, 0.5, 0.75, 1.0)


def _crawl(kind: str, server: Any, workdir: Path, *args: str) -> dict[str, Any]:
    server.requests.clear()
    cmd = [sys.executable, str(WORKER), kind, server.base_url, str(workdir), *args]
    samples: list[tuple[float, int, int]] = []  # (t, requests served, rss bytes)
    started = time.perf_counter()
    proc = psutil.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        while proc.poll() is None:
            try:
                rss = proc.memory_info().rss
            except psutil.Error:
                break
            samples.append((time.perf_counter() - started, len(server.requests), rss))
            time.sleep(0.05)
        out, err = proc.communicate()
    finally:
        if proc.poll() is None:
            proc.kill()
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} crawl failed ({proc.returncode}):\n{err.decode(errors='replace')[-3000:]}")
    stats = json.loads(out.decode().strip().splitlines()[-1])
    log = server.requests.snapshot()
    total = len(log)
    at = {}
    for frac in FRACTIONS:
        hit = next((s for s in samples if s[1] >= frac * total), samples[-1] if samples else None)
        at[f"{int(frac * 100)}%"] = hit[2] / 2**20 if hit else None
    sitemap_paths = [r.path for r in log if r.status == 200 and urlsplit(r.path).path.endswith(".xml")]
    return {
        **stats,
        "served": total,
        "pages_per_s": stats["responses"] / stats["elapsed"] if stats["elapsed"] else None,
        "cpu_ms_per_page": stats["crawl_cpu"] * 1000 / stats["responses"] if stats["responses"] else None,
        "peak_rss_mb": max((s[2] for s in samples), default=0) / 2**20,
        "rss_at": at,
        "samples": len(samples),
        "sitemap_requests": sum(1 for r in log if urlsplit(r.path).path.endswith(".xml")),
        "sitemap_bytes": sum(_file_size(server.root, p) for p in sitemap_paths),
        "requests_log": [r.path for r in log],
    }


def _file_size(root: Path, path: str) -> int:
    """Size of the file the mirror serves for a ``.xml`` path (what a 200 sent)."""
    file = root / unquote(urlsplit(path).path).lstrip("/")
    return file.stat().st_size if file.is_file() else 0


def unchanged_incremental_run(server: Any, workdir: Path, state: Path) -> dict[str, Any]:
    """The cron run right after a full crawl, on the unchanged site: requests, CPU s and
    bytes downloaded (all, and of sitemaps).  It runs the crawl as it is: today every
    post sitemap is fetched and parsed again, so the cost grows with the archive; with
    conditional requests (sitemap validators in the state, 304 answers) it should not."""
    run = _crawl("ours", server, workdir, "--state", str(state), "--mode", "incremental")
    run.pop("requests_log")
    return run


def run(sizes: tuple[int, int], rounds: int = 5, incremental: bool = True) -> dict[str, Any]:
    sys.path.insert(0, str(REPO))
    from newsspider.dev.devserver import MirrorServer

    small, large = sizes
    t0 = time.perf_counter()
    sites = {n: build_site(n) for n in sizes}
    gen_s = time.perf_counter() - t0
    workdir = WORK / "crawl"
    workdir.mkdir(parents=True, exist_ok=True)
    items = workdir / "items.jsonl"
    result: dict[str, Any] = {"sizes": list(sizes), "site_gen_s": gen_s, "rounds": [], "incremental": {}}

    with MirrorServer(sites[small], host="127.0.0.1") as server:
        state = workdir / f"state-{small}.sqlite3"
        for number in range(max(1, rounds)):
            print(f"  crawl round {number + 1}/{rounds} ({small} articles)", file=sys.stderr, flush=True)
            state.unlink(missing_ok=True)  # each full crawl starts from an empty state
            ours = _crawl("ours", server, workdir, "--state", str(state))
            ours["items_in_feed"] = sum(1 for _ in items.open(encoding="utf-8")) if items.is_file() else 0
            urls = workdir / "requested-paths.txt"
            urls.write_text("\n".join(ours.pop("requests_log")) + "\n", encoding="utf-8")
            download = _crawl("download_only", server, workdir, "--urls", str(urls))
            download.pop("requests_log")
            parse = _crawl("parse_only", server, workdir)
            parse.pop("requests_log")
            result["rounds"].append({"ours": ours, "download_only": download, "parse_only": parse})
        if incremental:
            print(f"  unchanged incremental run ({small} articles)", file=sys.stderr, flush=True)
            result["incremental"][small] = unchanged_incremental_run(server, workdir, state)

    with MirrorServer(sites[large], host="127.0.0.1") as server:
        print(f"  full crawl ({large} articles)", file=sys.stderr, flush=True)
        state = workdir / f"state-{large}.sqlite3"
        state.unlink(missing_ok=True)
        big = _crawl("ours", server, workdir, "--state", str(state))
        big.pop("requests_log")
        big["items_in_feed"] = sum(1 for _ in items.open(encoding="utf-8")) if items.is_file() else 0
        result["large"] = big
        if incremental:
            print(f"  unchanged incremental run ({large} articles)", file=sys.stderr, flush=True)
            result["incremental"][large] = unchanged_incremental_run(server, workdir, state)

    rounds_ = result["rounds"]

    def ratios(a: str, b: str, key: str) -> list[float]:
        return [r[a][key] / r[b][key] for r in rounds_ if r[a][key] and r[b][key]]

    result["throughput_vs_parse_only"] = ratios("ours", "parse_only", "pages_per_s")
    result["throughput_vs_download_only"] = ratios("ours", "download_only", "pages_per_s")
    result["parse_only_vs_download_only"] = ratios("parse_only", "download_only", "pages_per_s")
    result["cpu_parse_vs_ours"] = ratios("parse_only", "ours", "cpu_ms_per_page")
    result["cpu_ms_per_page"] = {kind: statistics.median(r[kind]["cpu_ms_per_page"] for r in rounds_)
                                 for kind in ("ours", "parse_only", "download_only")}
    result["peak_rss_small"] = statistics.median(r["ours"]["peak_rss_mb"] for r in rounds_)
    result["peak_rss_large"] = result["large"]["peak_rss_mb"]
    result["rss_growth"] = result["peak_rss_large"] / result["peak_rss_small"]
    return result


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None
