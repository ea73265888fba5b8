"""``make demo`` / ``newsspider demo``: crawl the bundled offline snapshot of the site.

Serves the snapshot (``newsspider/dev/snapshot/site``, installed with the package) on
127.0.0.1 and runs the real crawl (``newsspider crawl``, the project's crawl command)
against it, politeness off (it is our own server), writing JSON Lines to ``--output``
(relative to the current directory; default ``output/demo.jsonl``).  A ``--port`` already
in use (``newsspider serve`` running) is said and replaced by a free one.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from newsspider.dev.devserver import SNAPSHOT, open_server

DESCRIPTION = ("Crawl the bundled offline snapshot of georgiatoday.ge, served on 127.0.0.1, with the real "
               "spider into a JSON Lines file; nothing else is written (no state, no archive).")


def main(argv: list[str] | None = None, prog: str = "python -m newsspider.dev.demo") -> int:
    parser = argparse.ArgumentParser(prog=prog, description=DESCRIPTION)
    parser.add_argument("--site", type=Path, default=SNAPSHOT / "site",
                        help="mirror directory to serve (default: the bundled snapshot)")
    parser.add_argument("--port", type=int, default=0, help="0 (the default) picks a free port, as does a port in use")
    parser.add_argument("--output", type=Path, default=Path("output", "demo.jsonl"),
                        help="JSON Lines file (default: output/demo.jsonl under the current directory)")
    args = parser.parse_args(argv)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    try:
        server = open_server(args.site, port=args.port)
    except OSError as exc:
        parser.error(f"cannot serve on 127.0.0.1:{args.port}: {exc.strerror or exc}")
    with server:
        print(f"serving {args.site} at {server.base_url}", flush=True)
        command = [
            sys.executable, "-m", "newsspider.cli", "crawl",
            "-a", f"base_url={server.base_url}", "-a", "mode=full",
            "-O", str(args.output),
            # a server on 127.0.0.1: the spider drops the politeness delays by itself
            "-s", "NEWSSPIDER_STATE_PATH=", "-s", "NEWSSPIDER_ARCHIVE_DIR=", "-s", "LOG_LEVEL=WARNING",
        ]
        status = subprocess.call(command)
    lines = args.output.read_text(encoding="utf-8").splitlines() if args.output.exists() else []
    print(f"{len(lines)} articles written to {args.output} (crawl exit status {status})")
    return status


if __name__ == "__main__":
    sys.exit(main())
