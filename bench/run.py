#!/usr/bin/env python3
"""newsspider benchmarks: accuracy, extraction speed, crawl throughput & memory.

    python3 bench/run.py [--quick] [--parts accuracy,speed,crawl,archive] [--articles N]
                         [--rounds R] [--peer-rounds R] [--no-write] [--no-setup]

Run with any Python ≥ 3.10: the first step creates ``bench/.work/venv`` (gitignored),
installs the project's runtime dependencies (from pyproject.toml) and ``bench/requirements.txt``
into it (peers one at a time; a peer that does not install is reported unavailable), then
re-runs this script with that venv's Python. Prints tables and writes ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
WORK = BENCH / ".work"
VENV = WORK / "venv"
VENV_PY = VENV / "bin" / "python"


# --- setup ------------------------------------------------------------------------------
def _pip(*args: str) -> bool:
    return subprocess.run([str(VENV_PY), "-m", "pip", "install", "-q", "--disable-pip-version-check", *args],
                          check=False).returncode == 0


def runtime_requirements() -> list[str]:
    """``[project] dependencies`` of pyproject.toml (tomllib on 3.11+, a regex on 3.10)."""
    text = (REPO / "pyproject.toml").read_text()
    try:
        import tomllib
        return list(tomllib.loads(text)["project"]["dependencies"])
    except ImportError:
        block = re.search(r"^dependencies\s*=\s*\[(.*?)\]", text, re.S | re.M)
        return re.findall(r'"([^"]+)"', block.group(1)) if block else []


def setup() -> dict[str, str]:
    """Create/refresh the bench venv. Returns {peer requirement: "failed"} for failures."""
    WORK.mkdir(parents=True, exist_ok=True)
    if not VENV_PY.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    runtime = runtime_requirements()
    core, peers = [], []
    for line in (BENCH / "requirements.txt").read_text().splitlines():
        spec, _, comment = line.partition("#")
        if spec.strip():
            (peers if comment.strip().startswith("peer") else core).append(spec.strip())
    stamp = WORK / "venv.stamp"
    wanted = json.dumps([runtime, core, peers])
    if stamp.is_file() and stamp.read_text() == wanted:
        return json.loads((WORK / "venv.failed.json").read_text()) if (WORK / "venv.failed.json").is_file() else {}
    if not _pip(*runtime, *core):
        raise SystemExit("bench setup: could not install the runtime/core bench requirements")
    failed = {p: "pip install failed" for p in peers if not _pip(p)}
    (WORK / "venv.failed.json").write_text(json.dumps(failed))
    stamp.write_text(wanted)
    return failed


def in_bench_venv() -> bool:
    return Path(sys.prefix).resolve() == VENV.resolve()


# --- formatting -------------------------------------------------------------------------
def table(headers: list[str], rows: list[list[object]]) -> str:
    def cell(v: object) -> str:
        if v is None:
            return "n/a"
        if isinstance(v, float):
            return f"{v:.2f}"
        return str(v)
    body = [[cell(v) for v in r] for r in rows]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in body]
    return "\n".join(lines)


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("**met**" if ok else "**MISSED**")


# --- parts ------------------------------------------------------------------------------
def part_accuracy(pages, tools, out: list[str], goals: list[str]) -> dict:
    import accuracy

    res = accuracy.run(pages, tools)
    out.append("## 1. Accuracy\n")
    out.append("Exact-match rate per field (1.00 = every page right), body token F1 and paragraph F1 "
               "(full-body sets), first/last paragraph exact and paragraph-count match (jnews-real: "
               "labels give no full body). n/a = the tool has no such field. Rules: `bench/accuracy.py`.\n")
    all_met = True
    for page_set, by_tool in res["summary"].items():
        metrics = next(iter(by_tool.values())).keys()
        out.append(f"### {page_set} ({res['counts'][page_set]} article pages)\n")
        out.append(table(["tool", *metrics], [[t, *m.values()] for t, m in by_tool.items()]) + "\n")
        ours = by_tool.get("newsspider", {})
        behind = []
        for metric in metrics:
            peers = [m[metric] for t, m in by_tool.items() if t != "newsspider" and m[metric] is not None]
            if peers and ours.get(metric) is not None and ours[metric] + 1e-9 < max(peers):
                behind.append(f"{metric} ({ours[metric]:.2f} < {max(peers):.2f})")
        if behind:
            all_met = False
            out.append(f"Behind the best peer on {page_set}: {', '.join(behind)}\n")
    misses = [r for r in res["rows"] if r["tool"] == "newsspider"
              and any(r.get(k) is not None and r[k] < 1.0 for k in r if k not in ("set", "page", "tool", "error"))]
    if misses:
        out.append("Pages where newsspider is not exact:\n")
        for r in misses:
            bad = [f"{k}={r[k]:.2f}" for k in r if k not in ("set", "page", "tool", "error")
                   and r[k] is not None and r[k] < 1.0]
            out.append(f"- {r['set']}/{r['page']}: {', '.join(bad)}" + (f" ({r['error']})" if r["error"] else ""))
        out.append("")
    goals.append(f"| accuracy ≥ best peer on every page set and field | {verdict(all_met)} |")
    return res


def part_speed(pages, tools, args, out: list[str], goals: list[str]) -> dict:
    import speed

    res = speed.run(pages, tools, args.rounds, args.peer_rounds)
    out.append("## 2. Extraction speed (CPU per page, one process)\n")
    out.append(f"Median `time.process_time()` per call over {res['rounds']} rounds (floor, newsspider) / "
               f"{res['peer_rounds']} rounds (peers), on {len(res['rows'])} distinct pages. "
               "Ratio = tool / lxml floor on the same page; total = sum of medians.\n")
    rows = [[name, s.get("total_ms"), s.get("median_ms"), s.get("ratio_total"), s.get("ratio_geomean"),
             s.get("ratio_max")] for name, s in res["summary"].items()]
    out.append(table(["tool", "total ms", "median ms/page", "× floor (total)", "× floor (geomean)",
                      "× floor (worst page)"], rows) + "\n")
    out.append("<details><summary>per page (ms)</summary>\n")
    out.append(table(["set", "page", "KiB", *res["tools"], "ours × floor"],
                     [[r["set"], r["page"], r["kb"], *[None if r.get(t) is None else r[t] * 1000 for t in res["tools"]],
                       (r.get("newsspider") or 0) / r["lxml floor"]] for r in res["rows"]]) + "\n\n</details>\n")
    ours = res["summary"].get("newsspider", {})
    ratio = ours.get("ratio_total")
    goals.append(f"| extraction CPU ≤ 3× lxml floor | {verdict(None if ratio is None else ratio <= 3.0)} "
                 f"({ratio:.2f}× total, {ours.get('ratio_max', 0):.2f}× worst page) |" if ratio else
                 "| extraction CPU ≤ 3× lxml floor | n/a |")
    return res


def part_crawl(args, out: list[str], goals: list[str]) -> dict:
    import crawl

    res = crawl.run(args.articles, args.crawl_rounds)
    ours = res["ours"]
    out.append("## 3. Crawl throughput and memory\n")
    out.append(f"Synthetic mirror: {res['n_articles']} articles (`tests/sitegen.py`), served by "
               "`MirrorServer` on 127.0.0.1 in the bench process; each crawl in a subprocess, RSS sampled "
               "every 50 ms with psutil; progress = requests served. Politeness off (no robots, no "
               "AutoThrottle, no delay, 16 concurrent). Baseline = download-only spider replaying our "
               f"crawl's exact request list, parsing nothing. Items in feed: {res['items_in_feed']}. "
               f"{len(res['rounds'])} rounds, each ours then baseline; ratios are medians of the "
               "per-round ratios (CPU speed on a shared VM drifts between minutes).\n")
    rows = []
    for number, pair in enumerate(res["rounds"], start=1):
        runs = (("newsspider", pair["ours"]), ("download-only", pair["baseline"]), ("parse-only", pair["parse_only"]))
        for name, r in runs:
            rows.append([number, name, r["responses"], r["items"], r["elapsed"], r["pages_per_s"],
                         r["cpu_ms_per_page"], r["peak_rss_mb"], *r["rss_at"].values()])
    out.append(table(["round", "crawl", "responses", "items", "seconds", "pages/s", "crawler CPU ms/page",
                      "peak RSS MiB", "RSS@25%", "RSS@50%", "RSS@75%", "RSS@100%"], rows) + "\n")
    per_round = ", ".join(f"{r:.2f}" for r in res["throughput_ratios"])
    out.append(f"Throughput ratio {res['throughput_ratio']:.2f}× (per round: {per_round}), "
               f"peak RSS ratio {res['peak_rss_ratio']:.2f}×.\n")
    ceiling = res.get("parse_only_ratio")
    if ceiling:
        out.append(f"Parse-only ceiling: {ceiling:.2f}× the download-only throughput (per round: "
                   + ", ".join(f"{c:.2f}" for c in res["parse_only_ratios"] if c)
                   + "). That crawl is ours with an article callback that only parses each page with "
                   "lxml — no extraction, no item, no state, no export — and listings handled as "
                   "usual: what any extraction built on a parsed tree can at best reach here.\n")
    at = list(ours["rss_at"].values())
    growth = (at[-1] - at[0]) / at[0] if at[0] else None
    ceiling_note = f"; parse-only ceiling {ceiling:.2f}×" if ceiling else ""
    goals.append(f"| crawl throughput ≥ 0.5× download-only | {verdict(res['throughput_ratio'] >= 0.5)} "
                 f"({res['throughput_ratio']:.2f}×{ceiling_note}) |")
    goals.append(f"| peak RSS ≤ 1.5× download-only | {verdict(res['peak_rss_ratio'] <= 1.5)} "
                 f"({res['peak_rss_ratio']:.2f}×) |")
    flat = verdict(growth is not None and growth <= 0.10)
    goals.append(f"| RSS flat across the crawl (25%→100% growth ≤ 10%) | {flat} "
                 f"({'n/a' if growth is None else f'{growth * 100:+.0f}%'}) |")
    return res


# --- main -------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small run (~1-2 min): 300 articles, few rounds")
    parser.add_argument("--parts", default="accuracy,speed,crawl,archive")
    parser.add_argument("--articles", type=int, default=None, help="synthetic articles for the crawl (default 2500)")
    parser.add_argument("--crawl-rounds", type=int, default=None,
                        help="pairs of crawls, ours then baseline (default 3; 1 with --quick)")
    parser.add_argument("--rounds", type=int, default=None, help="speed rounds for floor/ours (default 40)")
    parser.add_argument("--peer-rounds", type=int, default=None, help="speed rounds for peers (default 8)")
    parser.add_argument("--no-write", action="store_true", help="print only, do not write bench/RESULTS.md")
    parser.add_argument("--no-setup", action="store_true", help="use the current Python as is")
    parser.add_argument("--output", default=str(BENCH / "RESULTS.md"))
    args = parser.parse_args(argv)
    args.articles = args.articles or (300 if args.quick else 2500)
    args.rounds = args.rounds or (8 if args.quick else 40)
    args.crawl_rounds = args.crawl_rounds or (1 if args.quick else 3)
    args.peer_rounds = args.peer_rounds or (3 if args.quick else 8)
    command = "python3 bench/run.py" + ("" if argv is None and len(sys.argv) == 1 else " " + " ".join(
        a for a in (sys.argv[1:] if argv is None else argv) if a != "--no-setup"))

    failed_peers: dict[str, str] = {}
    if not args.no_setup and not in_bench_venv():
        failed_peers = setup()
        env = dict(os.environ, NEWSSPIDER_BENCH_COMMAND=command,
                   NEWSSPIDER_BENCH_FAILED=json.dumps(failed_peers))
        return subprocess.run([str(VENV_PY), str(Path(__file__).resolve()), *(sys.argv[1:] if argv is None else argv),
                               "--no-setup"], env=env, cwd=REPO, check=False).returncode
    command = os.environ.get("NEWSSPIDER_BENCH_COMMAND", command)
    failed_peers = json.loads(os.environ.get("NEWSSPIDER_BENCH_FAILED", "{}"))

    sys.path.insert(0, str(BENCH))
    sys.path.insert(0, str(REPO))
    import pages as pages_mod
    import tools as tools_mod

    parts = {p.strip() for p in args.parts.split(",") if p.strip()}
    started = time.perf_counter()
    notes: list[str] = []
    pages = pages_mod.all_pages(notes)
    tools = tools_mod.load_tools()
    try:
        import psutil
        with open("/proc/cpuinfo") as cpuinfo:
            cpu_model = next(
                (line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")),
                platform.processor(),
            )
        mem = f"{psutil.virtual_memory().total / 2**30:.1f} GiB RAM"
    except Exception:
        cpu_model, mem = platform.processor(), ""
    head = [
        "# newsspider benchmark results\n",
        f"- date: {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- machine: {os.cpu_count()} CPUs ({cpu_model}), {mem}, {platform.system()} {platform.release()}",
        f"- Python {platform.python_version()}; command: `{command}` (from the repository root)",
        "- tools: "
        + ", ".join(
            f"{t.name} {t.version}" if t.extract else f"{t.name} **unavailable** ({t.unavailable[:80]})" for t in tools
        )
        + "".join(f"; {p}: **unavailable** ({why})" for p, why in failed_peers.items()),
        "- page sets: " + ", ".join(f"{s}: {n}" for s, n in
                                    __import__("collections").Counter(p.set for p in pages).items())
        + ("; " + "; ".join(notes) if notes else ""),
        "",
    ]
    out: list[str] = []
    goals: list[str] = ["| goal (issue 5) | result |", "|---|---|"]
    results: dict = {}
    if "accuracy" in parts:
        print("accuracy …", file=sys.stderr, flush=True)
        results["accuracy"] = part_accuracy(pages, tools, out, goals)
    if "speed" in parts:
        print("speed …", file=sys.stderr, flush=True)
        results["speed"] = part_speed(pages, tools, args, out, goals)
    if "crawl" in parts:
        print(f"crawl ({args.articles} articles) …", file=sys.stderr, flush=True)
        results["crawl"] = part_crawl(args, out, goals)
    if "archive" in parts:  # issue 10: bench/archive.py
        import archive as archive_bench

        print("archive …", file=sys.stderr, flush=True)
        results["archive"] = archive_bench.run(300 if args.quick else 1000, args.crawl_rounds)
        out += archive_bench.section(results["archive"], goals)
    elapsed = time.perf_counter() - started
    text = "\n".join([*head, "## Goals\n", *goals, "", *out, f"_Total bench time: {elapsed:.0f} s._", ""])
    print(text)
    (WORK / "results.json").write_text(json.dumps(results, indent=1, default=str))
    if not args.no_write:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
