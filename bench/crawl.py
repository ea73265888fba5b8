"""Part 3: crawl throughput and memory against a large synthetic mirror.

``tests/sitegen.py`` writes a georgiatoday.ge mirror with N articles (same markup as the
sample); ``newsspider.dev.devserver.MirrorServer`` serves it on 127.0.0.1 from this process.
Each crawl runs in a subprocess (``bench/crawl_worker.py``) whose RSS is sampled with psutil
every 50 ms together with the server's request count (the crawl's progress):

1. ours: the ``georgiatoday`` spider, politeness off, items to a JSON Lines feed;
2. baseline: the download-only spider replaying the exact request list of crawl 1;
3. parse-only: our spider whose article callback only parses the page (no extraction, no
   item) — the throughput ceiling of any extraction that parses pages with lxml.

The pair is repeated (``--crawl-rounds``, default 3): CPU speed on a shared virtual machine
drifts by tens of percent from one minute to the next, so one pair can mislead; the
per-round ratios and their median are reported.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
from pages import REPO

WORK = Path(__file__).resolve().parent / ".work"
WORKER = Path(__file__).resolve().parent / "crawl_worker.py"
FRACTIONS = (0.25, 0.5, 0.75, 1.0)


def build_site(n_articles: int, seed: int = 5) -> Path:
    site = WORK / f"site-{n_articles}-s{seed}"
    marker = site / ".bench-complete"
    if marker.is_file():
        return site
    sys.path.insert(0, str(REPO / "tests"))
    sys.path.insert(0, str(REPO))
    import sitegen  # type: ignore[import-not-found]

    started = time.perf_counter()
    try:
        sitegen.generate_site(site, n_articles=n_articles, seed=seed)
        templates = "tests/fixtures/site-templates"
    except Exception as exc:
        if not Path(sitegen.SAMPLE_DIR).is_dir():
            raise
        print(f"  sitegen with repo templates failed ({exc}); using {sitegen.SAMPLE_DIR}", file=sys.stderr)
        sitegen.generate_site(site, n_articles=n_articles, seed=seed, template_dir=Path(sitegen.SAMPLE_DIR))
        templates = str(sitegen.SAMPLE_DIR)
    marker.write_text(f"templates={templates}\ngenerated in {time.perf_counter() - started:.1f}s\n")
    return site


def _crawl(kind: str, server: Any, args: list[str], workdir: Path) -> dict[str, Any]:
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
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} crawl failed ({proc.returncode}):\n{err.decode(errors='replace')[-3000:]}")
    stats = json.loads(out.decode().strip().splitlines()[-1])
    total = len(server.requests)
    at = {}
    for frac in FRACTIONS:
        hit = next((s for s in samples if s[1] >= frac * total), samples[-1] if samples else None)
        at[f"{int(frac * 100)}%"] = hit[2] / 2**20 if hit else None
    cpu = stats["cpu_user"] + stats["cpu_sys"]
    return {
        **stats,
        "wall": wall,
        "served": total,
        "pages_per_s": stats["responses"] / stats["elapsed"] if stats["elapsed"] else None,
        "cpu_ms_per_page": cpu * 1000 / stats["responses"] if stats["responses"] else None,
        "peak_rss_mb": max((s[2] for s in samples), default=0) / 2**20,
        "rss_at": at,
        "samples": len(samples),
        "requests_log": server.requests.paths(),
    }


def run(n_articles: int, rounds: int = 3) -> dict[str, Any]:
    """``rounds`` pairs of crawls (ours, then the baseline replaying ours' request list),
    alternated so both see the same load on a shared machine; the result of each kind is
    its median round, and the ratios are the medians of the per-round ratios."""
    sys.path.insert(0, str(REPO))
    from newsspider.dev.devserver import MirrorServer

    t0 = time.perf_counter()
    site = build_site(n_articles)
    gen_s = time.perf_counter() - t0
    workdir = WORK / "crawl"
    workdir.mkdir(parents=True, exist_ok=True)
    pairs: list[tuple[dict[str, Any], dict[str, Any]]] = []
    ceilings: list[float | None] = []
    parse_only_runs: list[dict[str, Any]] = []
    items = workdir / "items.jsonl"
    n_items = []
    with MirrorServer(site, host="127.0.0.1") as server:
        for _ in range(max(1, rounds)):
            for old in workdir.glob("state-*"):
                old.unlink()  # each crawl starts from an empty state
            ours = _crawl("ours", server, [], workdir)
            n_items.append(sum(1 for _ in items.open(encoding="utf-8")) if items.is_file() else 0)
            urls = workdir / "requested-paths.txt"
            urls.write_text("\n".join(ours.pop("requests_log")) + "\n", encoding="utf-8")
            base = _crawl("baseline", server, [str(urls)], workdir)
            base.pop("requests_log")
            for old in workdir.glob("state-*"):
                old.unlink()
            parse_only = _crawl("parse_only", server, [], workdir)
            parse_only.pop("requests_log")
            pairs.append((ours, base))
            ceilings.append(parse_only["pages_per_s"] / base["pages_per_s"] if base["pages_per_s"] else None)
            parse_only_runs.append(parse_only)
    ratios = [o["pages_per_s"] / b["pages_per_s"] for o, b in pairs if o["pages_per_s"] and b["pages_per_s"]]
    rss_ratios = [o["peak_rss_mb"] / b["peak_rss_mb"] for o, b in pairs if b["peak_rss_mb"]]
    return {
        "n_articles": n_articles,
        "site_gen_s": gen_s,
        "rounds": [{"ours": o, "baseline": b, "parse_only": p}
                   for (o, b), p in zip(pairs, parse_only_runs, strict=True)],
        "ours": _median_run([o for o, _ in pairs]),
        "baseline": _median_run([b for _, b in pairs]),
        "items_in_feed": min(n_items),
        "throughput_ratio": statistics.median(ratios) if ratios else None,
        "throughput_ratios": ratios,
        "peak_rss_ratio": statistics.median(rss_ratios) if rss_ratios else None,
        "parse_only_ratios": ceilings,
        "parse_only_ratio": statistics.median([c for c in ceilings if c]) if any(ceilings) else None,
    }


def _median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median throughput (the middle of an odd number of rounds)."""
    ordered = sorted(runs, key=lambda r: r["pages_per_s"] or 0)
    return ordered[(len(ordered) - 1) // 2]
