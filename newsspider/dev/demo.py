"""``make demo`` / ``newsspider demo``: crawl the bundled offline snapshot of the site, then
watch the weekly check find an article the site took down.

Serves the snapshot (``newsspider/dev/snapshot/site``, installed with the package) on
127.0.0.1 and runs the real crawl (``newsspider crawl``, the project's crawl command)
against it twice, politeness off (it is our own server), with a state in a temporary
directory (deleted at the end) and no archive:

1. ``-a mode=full``: every article, into ``--output`` (relative to the current directory;
   default ``output/demo.jsonl``);
2. the server answers 404 for one of those articles, and a ``-a mode=check`` run asks each
   article again: its tombstone goes to ``demo-tombstones.jsonl`` beside the output, the
   articles it exports (none: nothing else changed) to ``demo-check.jsonl`` (no file when none).

A ``--port`` already in use (``newsspider serve`` running) is said and replaced by a free one.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from newsspider.crawl.export.feedstorage import read_items
from newsspider.dev.devserver import SNAPSHOT, FaultRule, open_server

DESCRIPTION = ("Crawl the bundled offline snapshot of georgiatoday.ge, served on 127.0.0.1, with the real "
               "spider into a JSON Lines file; then take one article down and run the weekly check, which "
               "writes its tombstone. The state lives in a temporary directory; no archive is written.")


def feeds(articles: Path, tombstones: Path) -> str:
    """``-s FEEDS=…``: articles and tombstones each to a JSON Lines file (none when empty)."""
    def feed(item_class: str) -> dict[str, object]:
        return {"format": "jsonlines", "encoding": "utf-8", "overwrite": True, "store_empty": False,
                "item_classes": [f"newsspider.items.{item_class}"]}
    return json.dumps({str(articles): feed("ArticleItem"), str(tombstones): feed("Tombstone")})


def read_lines(path: Path) -> list[dict[str, object]]:
    return read_items(path.read_bytes(), strict=True)[0] if path.exists() else []


def main(argv: list[str] | None = None, prog: str = "python -m newsspider.dev.demo") -> int:
    parser = argparse.ArgumentParser(prog=prog, description=DESCRIPTION)
    parser.add_argument("--site", type=Path, default=SNAPSHOT / "site",
                        help="mirror directory to serve (default: the bundled snapshot)")
    parser.add_argument("--port", type=int, default=0, help="0 (the default) picks a free port, as does a port in use")
    parser.add_argument("--output", type=Path, default=Path("output", "demo.jsonl"),
                        help="JSON Lines file of the full crawl (default: output/demo.jsonl under the current "
                             "directory); the check run writes beside it, -check and -tombstones")
    args = parser.parse_args(argv)
    output: Path = args.output
    checked = output.with_name(f"{output.stem}-check{output.suffix}")
    tombstones = output.with_name(f"{output.stem}-tombstones{output.suffix}")
    output.parent.mkdir(parents=True, exist_ok=True)
    for path in (output, checked, tombstones):  # this demo's files of an earlier demo
        path.unlink(missing_ok=True)
    try:
        server = open_server(args.site, port=args.port)
    except OSError as exc:
        parser.error(f"cannot serve on 127.0.0.1:{args.port}: {exc.strerror or exc}")
    with server, tempfile.TemporaryDirectory(prefix="newsspider-demo-") as state_dir:
        print(f"serving {args.site} at {server.base_url}", flush=True)

        def crawl(mode: str, articles: Path) -> int:
            return subprocess.call([
                sys.executable, "-m", "newsspider.cli", "crawl",
                "-a", f"base_url={server.base_url}", "-a", f"mode={mode}",
                "-s", f"FEEDS={feeds(articles, tombstones)}",
                # a server on 127.0.0.1: the spider drops the politeness delays by itself
                "-s", f"NEWSSPIDER_STATE_PATH={Path(state_dir, 'demo.sqlite3')}", "-s", "NEWSSPIDER_ARCHIVE_DIR=",
                "-s", "LOG_LEVEL=WARNING",
            ])

        status = crawl("full", output)
        items = read_lines(output)
        print(f"{len(items)} articles written to {output} (crawl exit status {status})", flush=True)
        if status or not items:
            return status
        taken_down = min((str(item["url"]) for item in items), key=lambda url: (len(url), url))  # a short one
        server.faults.rules.append(FaultRule(urlsplit(taken_down).path, statuses=[404]))
        check = crawl("check", checked)
    gone, again = read_lines(tombstones), read_lines(checked)
    reasons = ", ".join(sorted({str(t["reason"]) for t in gone}))
    print(f"then the site took {taken_down} down (it answers 404): the check run (exit status {check})")
    print(f"wrote {len(gone)} tombstone{'' if len(gone) == 1 else 's'} to {tombstones} ({reasons or 'none'}) and "
          + (f"{len(again)} articles to {checked}" if again else "re-exported nothing"))
    return status or check


if __name__ == "__main__":
    sys.exit(main())
