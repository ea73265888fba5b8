"""The ``newsspider`` command (installed by ``pip install .``); works from any directory.

    newsspider crawl [scrapy crawl options]   # = scrapy crawl georgiatoday …, exit status included
    newsspider demo [--port N] [--output FILE]
    newsspider serve [ROOT] [--port N]                           # the dev server (bundled snapshot)
    newsspider extract FILE_OR_URL [--url URL] [--page FILE …]
    newsspider reextract PATH… -O FILE [--all-versions] [-j N]   # = scrapy reextract
    newsspider compact PATH… -O FILE                             # = scrapy compact
    newsspider coverage [--json]                                 # = scrapy coverage
    newsspider --version

``crawl`` runs the project's own crawl command (``newsspider/commands/crawl.py``) with the
project's settings (``SCRAPY_SETTINGS_MODULE=newsspider.settings`` unless already set), so
it needs no ``scrapy.cfg`` nearby; relative paths (``output/``, ``state/``) are under the
current directory, as with ``scrapy crawl`` in the repository.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version

SPIDER = "georgiatoday"
SETTINGS_MODULE = "newsspider.settings"

USAGE = """\
usage: newsspider COMMAND [ARGS]      (newsspider --version: the installed version)

commands:
  crawl     crawl georgiatoday.ge (same options as `scrapy crawl georgiatoday`: -a NAME=VALUE,
            -s NAME=VALUE, -O/-o FILE, -L LEVEL, --logfile FILE …; `newsspider crawl -h` lists
            them and the spider's arguments mode, since and base_url)
  demo      crawl the bundled offline snapshot on 127.0.0.1 into output/demo.jsonl
  serve     serve the bundled snapshot (or a mirror directory) on 127.0.0.1:8765 until Ctrl-C
  extract   print the item of one saved page (or URL) as one JSON line
  reextract rebuild the dataset offline from WARC archives (`newsspider reextract -h`)
  compact   merge the dated outputs into one line per article (`newsspider compact -h`)
  coverage  the posts the sitemaps list against the dataset, and the missing ones (from the state)

Relative paths (output/, state/) are under the current directory."""


def crawl(args: Sequence[str]) -> int:
    """``scrapy crawl georgiatoday ARGS`` with the project's settings; its exit status."""
    rest = list(args)
    if rest[:1] == [SPIDER]:  # `newsspider crawl georgiatoday …` means the same
        rest = rest[1:]
    return scrapy("crawl", SPIDER, *rest)


def scrapy(*args: str) -> int:
    """A project command (``scrapy crawl|reextract|compact|coverage …``) with the project's settings."""
    from scrapy.cmdline import execute

    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", SETTINGS_MODULE)
    try:
        execute(["scrapy", *args])
    except SystemExit as exc:  # scrapy's execute() always ends with sys.exit(status)
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        print(USAGE, file=sys.stderr)
        return 2
    if args[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0
    if args[0] in ("-V", "--version"):
        try:
            print(f"newsspider {version('newsspider')}")
        except PackageNotFoundError:
            print("newsspider: not installed (no package metadata); `pip install .` installs it", file=sys.stderr)
            return 1
        return 0
    command, rest = args[0], args[1:]
    if command == "crawl":
        return crawl(rest)
    if command in ("reextract", "compact", "coverage"):
        return scrapy(command, *rest)
    if command == "demo":
        from newsspider.dev import demo

        return demo.main(rest, prog="newsspider demo")
    if command == "serve":
        from newsspider.dev import devserver

        return devserver.main(rest, prog="newsspider serve")
    if command == "extract":
        from newsspider.dev import extract

        return extract.main(rest, prog="newsspider extract")
    print(f"newsspider: unknown command {command!r}\n\n{USAGE}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
