"""``make demo``: crawl the bundled offline snapshot of the site (``demo/site``).

Serves the snapshot on 127.0.0.1 and runs the real ``scrapy crawl georgiatoday`` against
it, politeness off (it is our own server), writing JSON Lines to ``--output``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from newsspider.dev.devserver import MirrorServer

ROOT = Path(__file__).resolve().parents[2]  # the repository (newsspider/dev/demo.py)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m newsspider.dev.demo", description=__doc__.split("\n")[0])
    parser.add_argument("--site", type=Path, default=ROOT / "demo" / "site")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--output", type=Path, default=ROOT / "output" / "demo.jsonl")
    parser.add_argument("--archive", type=Path, default=ROOT / "output" / "demo-archive",
                        help="WARC archive directory of the demo crawl (kept apart from archive/)")
    args = parser.parse_args(argv)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    with MirrorServer(args.site, port=args.port) as server:
        print(f"serving {args.site} at {server.base_url}", flush=True)
        command = [
            sys.executable, "-m", "scrapy", "crawl", "georgiatoday",
            "-a", f"base_url={server.base_url}", "-a", "mode=full",
            "-O", str(args.output),
            # a server on 127.0.0.1: the spider drops the politeness delays by itself
            "-s", "NEWSSPIDER_STATE_PATH=", "-s", "LOG_LEVEL=WARNING",
            "-s", f"NEWSSPIDER_ARCHIVE_DIR={args.archive}",
        ]
        status = subprocess.call(command, cwd=ROOT)
    lines = args.output.read_text(encoding="utf-8").splitlines() if args.output.exists() else []
    print(f"{len(lines)} articles written to {args.output} (crawl exit status {status})")
    return status


if __name__ == "__main__":
    sys.exit(main())
