"""WARC archive benchmarks: crawl cost of archiving, disk use, re-extraction speed.

    python bench/archive.py [--articles N] [--rounds R] [--quick]      # standalone, prints the section
    python3 bench/run.py --parts archive                                 # as part of make bench

1. *Crawl, archiving on vs off*: the real ``scrapy crawl georgiatoday -a mode=full`` (a
   subprocess, politeness off) against a synthetic mirror (``tests/sitegen.py``) served by
   ``MirrorServer``; pages/s = responses / wall time, peak RSS sampled every 50 ms.  Rounds
   alternate on/off, on first then off first (a shared VM's CPU speed drifts); ratios are medians of per-round ratios.
2. *Disk use*: the run's ``.warc.gz`` bytes per exported article (and per 1,000).
3. *Re-extraction* of that archive: ``newsspider.offline.reextract`` with ``jobs=1`` and
   ``jobs=2`` (articles/s, wall time), next to the *floor* measured in the same run: reading
   the same WARC records (warcio, every record's content) and ``lxml.html.fromstring`` on
   each archived article page, nothing else.

Goal (a floor, not a target): archiving on keeps ≥ 0.85× the crawl throughput with it off.
The re-extraction figures are reported, not judged: at the real site's scale (a year of
archives) a user barely notices them.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from pages import build_site

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
WORK = BENCH / ".work" / "archive"


def _rss(pid: int) -> int:
    """Resident set size of ``pid`` in bytes (psutil if installed, else /proc)."""
    try:
        import psutil

        return int(psutil.Process(pid).memory_info().rss)
    except ImportError:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    return 0


def crawl(server: Any, archive: Path | None, workdir: Path, extra: tuple[str, ...] = ()) -> dict[str, Any]:
    """One full crawl in a subprocess; wall time, responses, items, peak RSS."""
    server.requests.clear()
    out = workdir / ("on.jsonl" if archive else "off.jsonl")
    log = workdir / ("on.log" if archive else "off.log")
    state = workdir / "state.sqlite3"
    for stale in (state, out, log):
        stale.unlink(missing_ok=True)
    command = [sys.executable, "-m", "scrapy", "crawl", "georgiatoday", "-a", f"base_url={server.base_url}",
               "-a", "mode=full", "-O", str(out), "-s", f"NEWSSPIDER_STATE_PATH={state}",
               "-s", "NEWSSPIDER_CRAWL_COMMAND=True", "-s", f"NEWSSPIDER_ARCHIVE_DIR={archive or ''}",
               "-s", "ROBOTSTXT_OBEY=True", "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0",
               "-s", "CONCURRENT_REQUESTS=16", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=16",
               "-s", "LOG_LEVEL=INFO", "-s", f"LOG_FILE={log}", *extra]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    while proc.poll() is None:
        with contextlib.suppress(OSError, ValueError):
            peak = max(peak, _rss(proc.pid))
        time.sleep(0.05)
    wall = time.perf_counter() - started
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.returncode != 0:
        raise RuntimeError(f"crawl failed ({proc.returncode}): {err[-2000:]}")
    items = sum(1 for line in out.open(encoding="utf-8") if line.strip())
    responses = len(server.requests)
    return {"wall": wall, "responses": responses, "items": items, "pages_per_s": responses / wall,
            "cpu_ms_per_page": cpu * 1000 / responses if responses else 0.0, "peak_rss_mb": peak / 2**20}


def floor(files: list[Path]) -> tuple[float, int]:
    """Seconds to read every record of ``files`` and parse each archived article page
    with ``lxml.html.fromstring``; and how many article pages that was."""
    import lxml.html
    from warcio.archiveiterator import ArchiveIterator

    from newsspider.crawl.archive import CALLBACK_HEADER

    started = time.perf_counter()
    pages = 0
    for path in files:
        with path.open("rb") as fh:
            for record in ArchiveIterator(fh):
                body = record.content_stream().read()
                if record.rec_type == "response" and record.rec_headers.get_header(CALLBACK_HEADER) == "parse_article":
                    lxml.html.fromstring(body)
                    pages += 1
    return time.perf_counter() - started, pages


def reextract(files: list[Path], jobs: int, workdir: Path) -> dict[str, Any]:
    from newsspider.offline import reextract as run

    out = workdir / f"reextract-j{jobs}.jsonl"
    self_before = resource.getrusage(resource.RUSAGE_SELF)
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    outcome = run(files, out, jobs=jobs)
    wall = time.perf_counter() - started
    self_after = resource.getrusage(resource.RUSAGE_SELF)
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    articles = outcome.stats["newsspider/reextract/articles"]
    return {"wall": wall, "articles": articles, "articles_per_s": articles / wall,
            "cpu_main": _cpu(self_after) - _cpu(self_before),
            "cpu_workers": _cpu(children_after) - _cpu(children_before)}


def _cpu(usage: Any) -> float:
    return float(usage.ru_utime + usage.ru_stime)


def run(n_articles: int, rounds: int, extra: tuple[str, ...] = ()) -> dict[str, Any]:
    sys.path.insert(0, str(REPO))
    from newsspider.dev.devserver import MirrorServer

    site = build_site(n_articles)
    workdir = WORK / "runs"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    pairs = []
    archive_bytes: list[int] = []
    archive_files: list[Path] = []
    with MirrorServer(site) as server:
        for number in range(max(1, rounds)):
            directory = workdir / f"archive-{number}"
            if number % 2:  # ABBA order: neither side always runs first
                off = crawl(server, None, workdir, extra)
                on = crawl(server, directory, workdir, extra)
            else:
                on = crawl(server, directory, workdir, extra)
                off = crawl(server, None, workdir, extra)
            files = sorted(directory.glob("*.warc.gz"))
            archive_bytes.append(sum(f.stat().st_size for f in files))
            archive_files = files
            pairs.append((on, off))
    items = pairs[-1][0]["items"]
    # re-extraction: floor, one process, two processes — interleaved, best of rounds
    floors, singles, doubles = [], [], []
    for _ in range(max(1, rounds)):
        seconds, pages = floor(archive_files)
        floors.append({"wall": seconds, "articles": pages, "articles_per_s": pages / seconds})
        singles.append(reextract(archive_files, 1, workdir))
        doubles.append(reextract(archive_files, 2, workdir))
    best = lambda runs: max(runs, key=lambda r: r["articles_per_s"])  # noqa: E731
    return {
        "n_articles": n_articles,
        "rounds": [{"on": on, "off": off} for on, off in pairs],
        "items": items,
        "archive_bytes": statistics.median(archive_bytes),
        "bytes_per_article": statistics.median(archive_bytes) / items if items else None,
        "throughput_ratio": statistics.median(on["pages_per_s"] / off["pages_per_s"] for on, off in pairs),
        "rss_ratio": statistics.median(on["peak_rss_mb"] / off["peak_rss_mb"] for on, off in pairs),
        "cpu_ratio": statistics.median(on["cpu_ms_per_page"] / off["cpu_ms_per_page"] for on, off in pairs),
        "floor": best(floors),
        "single": best(singles),
        "double": best(doubles),
        "reextract_rounds": {"floor": floors, "single": singles, "double": doubles},
    }


def table(headers: list[str], rows: list[list[Any]]) -> str:
    def cell(value: Any) -> str:
        return f"{value:.2f}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def section(res: dict[str, Any], goals: list[str]) -> list[str]:
    """Markdown for bench/RESULTS.md; appends goal rows to ``goals``."""
    out = ["## 4. WARC archive\n",
           f"Synthetic mirror: {res['n_articles']} articles; real `scrapy crawl georgiatoday -a mode=full` "
           "in a subprocess, politeness off (16 concurrent, robots.txt obeyed), archiving on "
           "(`NEWSSPIDER_CRAWL_COMMAND=True`, `NEWSSPIDER_ARCHIVE_DIR=<dir>`) vs off "
           f"(`NEWSSPIDER_ARCHIVE_DIR=`), {len(res['rounds'])} rounds of one each, which runs first "
           "alternating; pages/s = responses "
           "/ wall time (process start-up included), peak RSS sampled every 50 ms. "
           "Script: `bench/archive.py`.\n"]
    rows = []
    for number, pair in enumerate(res["rounds"], start=1):
        for name in ("on", "off"):
            r = pair[name]
            rows.append([number, f"archiving {name}", r["responses"], r["items"], r["wall"], r["pages_per_s"],
                         r["cpu_ms_per_page"], r["peak_rss_mb"]])
    out.append(table(["round", "crawl", "responses", "items", "seconds", "pages/s", "crawl CPU ms/page",
                      "peak RSS MiB"], rows) + "\n")
    out.append(f"Median per-round ratios, on/off: throughput {res['throughput_ratio']:.2f}×, crawl CPU per page "
               f"{res['cpu_ratio']:.2f}× (CPU time is steadier than wall time on a shared machine), "
               f"peak RSS {res['rss_ratio']:.2f}×.\n")
    per_article = res["bytes_per_article"]
    out.append(f"Archive: {res['archive_bytes'] / 2**20:.1f} MiB for {res['items']} articles = "
               f"{per_article / 1024:.1f} KiB per article, **{per_article * 1000 / 2**20:.0f} MiB per 1,000 "
               "articles** (listings, sitemaps and robots.txt included; request + response records, "
               "gzip per record).\n")
    floor_rate, single, double = res["floor"]["articles_per_s"], res["single"], res["double"]
    out.append("Re-extraction of that archive (best of the rounds; wall time includes reading the "
               "archive and writing the JSON Lines):\n")
    out.append(table(["run", "articles", "seconds", "articles/s", "× floor", "CPU s main process",
                      "CPU s workers"], [
        ["floor (warcio read + lxml.html.fromstring)", res["floor"]["articles"], res["floor"]["wall"], floor_rate, 1.0,
         "", ""],
        ["reextract -j 1", single["articles"], single["wall"], single["articles_per_s"],
         single["articles_per_s"] / floor_rate, single["cpu_main"], single["cpu_workers"]],
        ["reextract -j 2", double["articles"], double["wall"], double["articles_per_s"],
         double["articles_per_s"] / floor_rate, double["cpu_main"], double["cpu_workers"]],
    ]) + "\n")
    bound = single["cpu_main"] / max(double["cpu_main"], (double["cpu_main"] + double["cpu_workers"]) / 2, 1e-9)
    out.append(f"With -j 2 the main process used {double['cpu_main']:.2f} CPU s and the workers "
               f"{double['cpu_workers']:.2f}: on two otherwise idle cores that split allows about "
               f"{bound:.1f}× the single process; the wall-clock ratio above is what this machine gave.\n")
    ratio = res["throughput_ratio"]
    verdict = "**met**" if ratio >= 0.85 else "**MISSED**"
    goals.append(f"| archiving on / off crawl throughput ≥ 0.85× | {verdict} "
                 f"({ratio:.2f}×; CPU/page {res['cpu_ratio']:.2f}×, peak RSS {res['rss_ratio']:.2f}×) |")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=None, help="synthetic articles (default 1000; 300 quick)")
    parser.add_argument("--rounds", type=int, default=None, help="alternating rounds (default 3; 1 quick)")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", help="also write the raw results here")
    parser.add_argument("-s", dest="settings", action="append", default=[], metavar="NAME=VALUE",
                        help="extra scrapy setting for both crawls (e.g. CONCURRENT_REQUESTS=8)")
    args = parser.parse_args(argv)
    extra = tuple(arg for setting in args.settings for arg in ("-s", setting))
    res = run(args.articles or (300 if args.quick else 1000), args.rounds or (1 if args.quick else 3), extra)
    goals = ["| goal | result |", "|---|---|"]
    text = "\n".join(section(res, goals))
    print("\n".join(goals) + "\n\n" + text)
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    sys.exit(main())
