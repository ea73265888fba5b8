#!/usr/bin/env python3
"""newsspider benchmarks: accuracy, extraction speed, the crawl (throughput, CPU, memory).

    python3 bench/run.py [--quick] [--parts accuracy,speed,crawl,archive] [--sizes SMALL,LARGE]
                         [--crawl-rounds R] [--rounds R] [--peer-rounds R] [--no-setup]
    python3 bench/run.py --publish        # bench/.work/RESULTS.md → bench/RESULTS.md

Run with any Python ≥ 3.10: the first step creates ``bench/.work/venv`` (gitignored),
installs the project's runtime dependencies (from pyproject.toml) and ``bench/requirements.txt``
into it (peers one at a time; a peer that does not install is reported unavailable), then
re-runs this script with that venv's Python. Prints the report and writes it to
``bench/.work/RESULTS.md`` (``bench/.work/results.json``: every figure); the tracked
``bench/RESULTS.md`` changes only with ``--publish`` (``make bench-results``).
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
REPORT = WORK / "RESULTS.md"
PUBLISHED = BENCH / "RESULTS.md"
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


def fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def median(values: list[float]) -> float | None:
    import statistics
    return statistics.median(values) if values else None


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
    total, worst = ours.get("ratio_total"), ours.get("ratio_max")
    goals.append(f"| extraction CPU ≤ 3× the bare lxml parse in total (the item path) | "
                 f"{verdict(None if total is None else total <= 3)} ({fmt(total)}×; worst page {fmt(worst)}×) |")
    return res


def part_crawl(args, out: list[str], goals: list[str]) -> dict:
    import crawl

    small, large = args.sizes
    res = crawl.run((small, large), args.crawl_rounds, incremental=not args.no_incremental)
    out.append("## 3. The crawl: throughput, CPU per page, memory\n")
    out.append(f"Generated mirrors of {small} and {large} articles (`tests/sitegen.py`), served by `MirrorServer` "
               "on 127.0.0.1 in the bench process; each crawl in a subprocess (`bench/crawl_worker.py`), RSS "
               "sampled every 50 ms with psutil, CPU = the crawl process's CPU time from start to finish "
               "(imports excluded). Politeness off (no robots, no AutoThrottle, no delay, 16 concurrent). "
               f"On the {small}-article mirror, {len(res['rounds'])} rounds of three crawls: **ours** "
               "(`mode=full`, items exported, state recorded), **download-only** (replays our exact request "
               "list, parses nothing) and **parse-only** (our spider whose article callback only parses the "
               "page with lxml: no extraction, item, state or export). Ratios are taken within a round and "
               "their median reported (CPU speed on a shared VM drifts between minutes).\n")
    rows = []
    for number, r in enumerate(res["rounds"], start=1):
        for name, key in (("ours", "ours"), ("parse-only", "parse_only"), ("download-only", "download_only")):
            c = r[key]
            rows.append([number, name, c["responses"], c["items"], c["elapsed"], c["pages_per_s"],
                         c["cpu_ms_per_page"], c["peak_rss_mb"], *c["rss_at"].values()])
    big = res["large"]
    rows.append([f"{large} articles", "ours", big["responses"], big["items"], big["elapsed"], big["pages_per_s"],
                 big["cpu_ms_per_page"], big["peak_rss_mb"], *big["rss_at"].values()])
    out.append(table(["round", "crawl", "responses", "items", "seconds", "pages/s", "CPU ms/page",
                      "peak RSS MiB", "RSS@25%", "RSS@50%", "RSS@75%", "RSS@100%"], rows) + "\n")
    vs_parse = median(res["throughput_vs_parse_only"])
    vs_download = median(res["throughput_vs_download_only"])
    parse_ceiling = median(res["parse_only_vs_download_only"])
    cpu = res["cpu_ms_per_page"]
    out.append("Ratios on this machine (medians of the per-round ratios):\n")
    out.append(table(["figure", "value", "per round"], [
        ["throughput, ours / parse-only", vs_parse, ", ".join(f"{x:.2f}" for x in res["throughput_vs_parse_only"])],
        ["throughput, ours / download-only", vs_download,
         ", ".join(f"{x:.2f}" for x in res["throughput_vs_download_only"])],
        ["throughput, parse-only / download-only", parse_ceiling,
         ", ".join(f"{x:.2f}" for x in res["parse_only_vs_download_only"])],
        ["CPU ms/page: ours / parse-only / download-only",
         f"{cpu['ours']:.2f} / {cpu['parse_only']:.2f} / {cpu['download_only']:.2f}", ""],
        ["CPU per page, parse-only / ours (the throughput ratio on an idle machine)", median(res["cpu_parse_vs_ours"]),
         ", ".join(f"{x:.2f}" for x in res["cpu_parse_vs_ours"])],
        [f"peak RSS, {large} / {small} articles (ours)",
         res["rss_growth"], f"{res['peak_rss_large']:.1f} / {res['peak_rss_small']:.1f} MiB"],
    ]) + "\n")
    goals.append(f"| full crawl throughput ≥ 0.6× the parse-only crawl | {verdict(vs_parse and vs_parse >= 0.6)} "
                 f"({fmt(vs_parse)}×; CPU ms/page ours {cpu['ours']:.2f}, parse-only {cpu['parse_only']:.2f}, "
                 f"download-only {cpu['download_only']:.2f}) |")
    goals.append(f"| full-crawl peak RSS at {large} articles ≤ 200 MiB | {verdict(res['peak_rss_large'] <= 200)} "
                 f"({res['peak_rss_large']:.1f} MiB; {res['peak_rss_small']:.1f} at {small}) |")
    part_incremental(res, out, goals)
    return res


def part_incremental(res: dict, out: list[str], goals: list[str]) -> None:
    """The unchanged incremental run at both sizes (``crawl.unchanged_incremental_run``)."""
    runs = res.get("incremental") or {}
    if len(runs) < 2:
        return
    (small, a), (large, b) = sorted(runs.items())
    out.append("### Unchanged incremental run\n")
    out.append("The cron run (`mode=incremental`) right after the full crawl, with its state, on the unchanged "
               "mirror: it should cost the same whatever the size of the archive. Bytes of sitemaps = the "
               "sitemap files the server sent in full (a 304 sends none).\n")
    out.append(table(["articles", "requests", "sitemap requests", "items", "CPU s", "bytes downloaded",
                      "sitemap bytes", "peak RSS MiB"],
                     [[n, r["requests"], r["sitemap_requests"], r["items"], r["crawl_cpu"], r["response_bytes"],
                       r["sitemap_bytes"], r["peak_rss_mb"]] for n, r in ((small, a), (large, b))]) + "\n")
    goals.append(f"| unchanged incremental run ≤ 11 requests | "
                 f"{verdict(max(a['requests'], b['requests']) <= 11)} ({a['requests']} at {small}, "
                 f"{b['requests']} at {large}; CPU {a['crawl_cpu']:.2f} and {b['crawl_cpu']:.2f} s) |")
    goals.append(f"| unchanged incremental run: sitemap bytes ≈ 0 (304s) | "
                 f"{verdict(b['sitemap_bytes'] == 0 and a['sitemap_bytes'] == 0)} "
                 f"({a['sitemap_bytes']} and {b['sitemap_bytes']} bytes) |")


# --- main -------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="short run (~2 min): mirrors of 300 and 1500 articles, one crawl round, few speed rounds")
    parser.add_argument("--parts", default="accuracy,speed,crawl,archive")
    parser.add_argument("--sizes", default=None,
                        help="articles of the two generated mirrors, SMALL,LARGE (default 2000,20000)")
    parser.add_argument("--crawl-rounds", type=int, default=None,
                        help="rounds of ours/download-only/parse-only on the small mirror (default 5; 1 with --quick)")
    parser.add_argument("--no-incremental", action="store_true", help="skip the unchanged incremental runs")
    parser.add_argument("--rounds", type=int, default=None, help="speed rounds for floor/ours (default 40)")
    parser.add_argument("--peer-rounds", type=int, default=None, help="speed rounds for peers (default 8)")
    parser.add_argument("--output", default=str(REPORT), help=f"report file (default {REPORT.relative_to(REPO)})")
    parser.add_argument("--publish", action="store_true",
                        help=f"copy the last report ({REPORT.relative_to(REPO)}) to bench/RESULTS.md, run nothing")
    parser.add_argument("--no-setup", action="store_true", help="use the current Python as is")
    args = parser.parse_args(argv)
    if args.publish:
        return publish()
    sizes = args.sizes or ("300,1500" if args.quick else "2000,20000")
    args.sizes = tuple(int(n) for n in sizes.split(","))
    if len(args.sizes) != 2 or not 0 < args.sizes[0] < args.sizes[1]:
        parser.error("--sizes takes two article counts, SMALL,LARGE, the small one first")
    args.rounds = args.rounds or (8 if args.quick else 40)
    args.crawl_rounds = args.crawl_rounds or (1 if args.quick else 5)
    args.peer_rounds = args.peer_rounds or (3 if args.quick else 8)
    command = "python3 bench/run.py" + ("" if argv is None and len(sys.argv) == 1 else " " + " ".join(
        a for a in (sys.argv[1:] if argv is None else argv) if a != "--no-setup"))

    failed_peers: dict[str, str] = {}
    if not args.no_setup and not in_bench_venv():
        failed_peers = setup()
        env = dict(os.environ, NEWSSPIDER_BENCH_COMMAND=os.environ.get("NEWSSPIDER_BENCH_COMMAND", command),
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
    goals: list[str] = ["| goal (floors, not targets) | result |", "|---|---|"]
    results: dict = {}
    if "accuracy" in parts:
        print("accuracy …", file=sys.stderr, flush=True)
        results["accuracy"] = part_accuracy(pages, tools, out, goals)
    if "speed" in parts:
        print("speed …", file=sys.stderr, flush=True)
        results["speed"] = part_speed(pages, tools, args, out, goals)
    if "crawl" in parts:
        print(f"crawl ({args.sizes[0]} and {args.sizes[1]} articles) …", file=sys.stderr, flush=True)
        results["crawl"] = part_crawl(args, out, goals)
    if "archive" in parts:  # bench/archive.py
        import archive as archive_bench

        print("archive …", file=sys.stderr, flush=True)
        results["archive"] = archive_bench.run(300 if args.quick else 1000, args.crawl_rounds)
        out += archive_bench.section(results["archive"], goals)
    out += redesign(results)
    elapsed = time.perf_counter() - started
    text = "\n".join([*head, "## Goals\n", *goals, "", *out, f"_Total bench time: {elapsed:.0f} s._", ""])
    print(text)
    WORK.mkdir(parents=True, exist_ok=True)
    (WORK / "results.json").write_text(json.dumps(results, indent=1, default=str))
    Path(args.output).write_text(text, encoding="utf-8")
    print(f"wrote {args.output} (`make bench-results` copies it to {PUBLISHED.relative_to(REPO)})", file=sys.stderr)
    return 0


#: Before the redesign that removed the speed-only machinery (GC tuning, the hand-made JSON
#: Lines exporter, the byte-level meta-refresh scan, the on-disk dupefilter, the spider's
#: pre-dedupe, the URL fast path, the archive's writer process with ISA-L gzip, the gzip span
#: reader of reextract): commit 443b732 and its published report (2026-11-30 13:48 UTC,
#: same machine kind, crawl sizes 2000 and 10000).
BEFORE = {"lines": 8776, "modules": 78, "extraction": 1.82, "vs_parse": 0.81, "cpu_ms": 3.18,
          "rss_large": 109.2, "rss_at": 10000, "archiving": 1.07, "reextract_j2": 1.79}


def code_size() -> tuple[int, int]:
    """Lines and modules of the ``newsspider`` package."""
    modules = sorted((REPO / "newsspider").rglob("*.py"))
    return sum(len(m.read_text(encoding="utf-8").splitlines()) for m in modules), len(modules)


def redesign(results: dict) -> list[str]:
    """The redesign's before/after table: what production would notice (module doc of BEFORE)."""
    lines, modules = code_size()
    crawl_res = results.get("crawl") or {}
    speed = ((results.get("speed") or {}).get("summary") or {}).get("newsspider", {})
    arch = results.get("archive") or {}
    rows = [["`newsspider/` size", f"{BEFORE['lines']} lines, {BEFORE['modules']} modules",
             f"{lines} lines, {modules} modules"]]
    if speed:
        rows.append(["extraction CPU / bare lxml parse", f"{BEFORE['extraction']:.2f}×",
                     f"{fmt(speed.get('ratio_total'))}×"])
    if crawl_res:
        rows += [["crawl throughput / parse-only crawl", f"{BEFORE['vs_parse']:.2f}×",
                  f"{fmt(median(crawl_res['throughput_vs_parse_only']))}×"],
                 ["CPU ms per page (full crawl)", f"{BEFORE['cpu_ms']:.2f}",
                  f"{crawl_res['cpu_ms_per_page']['ours']:.2f}"],
                 ["full-crawl peak RSS", f"{BEFORE['rss_large']:.1f} MiB at {BEFORE['rss_at']}",
                  f"{crawl_res['peak_rss_large']:.1f} MiB at {max(crawl_res['sizes'])}"]]
    if arch:
        rows.append(["archiving on / off throughput (writer process → the crawl's thread)",
                     f"{BEFORE['archiving']:.2f}×", f"{arch['throughput_ratio']:.2f}×"])
    return ["## 5. The redesign: before and after\n",
            "At 2 requests a second a page's CPU is under 1% of a core: what matters is that the figures stay "
            "inside the floors above. The \"before\" column is the last report of the old design "
            "(`bench/run.py`, `BEFORE`).\n",
            table(["figure", "before", "after"], rows) + "\n"]


def publish() -> int:
    """``make bench-results``: the last report becomes the tracked ``bench/RESULTS.md``."""
    if not REPORT.is_file():
        print(f"no report in {REPORT.relative_to(REPO)}: run `make bench` first", file=sys.stderr)
        return 1
    text = REPORT.read_text(encoding="utf-8")
    PUBLISHED.write_text(text, encoding="utf-8")
    stamp = next((line for line in text.splitlines() if line.startswith("- date:")), "")
    print(f"wrote {PUBLISHED.relative_to(REPO)} from {REPORT.relative_to(REPO)} ({stamp[2:]})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
