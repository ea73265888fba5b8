"""Print the item for one saved page (or URL) as one JSON line.

    python -m newsspider.dev.extract FILE_OR_URL [--url CANONICAL_URL] [--page FILE ...]

Exit status 0 with the item on stdout; 1 with a message on stderr when the page is not
an article (or cannot be read).  The item is built by the same code as the crawl.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.request
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from scrapy.http import HtmlResponse

from newsspider.extraction import ArticlePage, NotAnArticle
from newsspider.extraction.loader import load_article
from newsspider.items import ArticleItem

DEFAULT_URL = "https://georgiatoday.ge/"


def page_from_bytes(body: bytes, url: str, encoding: str | None = None) -> ArticlePage:
    """Parse raw page bytes the way Scrapy does (charset from header/BOM/meta)."""
    response = HtmlResponse(url=url, body=body, encoding=encoding)
    return ArticlePage.from_response(response)


def extract_html(body: bytes | str, url: str = DEFAULT_URL, more_pages: Sequence[bytes | str] = ()) -> ArticleItem:
    """The item for a saved page (and the further pages of a multi-page post) whose
    canonical URL is ``url``.

    Raises ``NotAnArticle`` when the page is not an article."""
    raw = [b.encode("utf-8") if isinstance(b, str) else b for b in (body, *more_pages)]
    pages = [page_from_bytes(data, url) for data in raw]
    pages[0].check_article()
    return load_article(pages)


def _read(source: str) -> bytes:
    if source.startswith(("http://", "https://")):
        request = urllib.request.Request(source, headers={"User-Agent": "newsspider-extract"})
        with urllib.request.urlopen(request, timeout=30) as reply:
            data: bytes = reply.read()
            return data
    return Path(source).read_bytes()


def main(argv: Sequence[str] | None = None, prog: str = "python -m newsspider.dev.extract") -> int:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n")[0])
    parser.add_argument("source", help="saved HTML file or http(s) URL")
    parser.add_argument("--url", help="canonical URL of the page (default: the URL given, or the site root)")
    parser.add_argument("--page", action="append", default=[], metavar="FILE_OR_URL",
                        help="further page of a multi-page post, in order (repeatable)")
    args = parser.parse_args(argv)
    url = args.url or (args.source if args.source.startswith(("http://", "https://")) else DEFAULT_URL)
    try:
        item = extract_html(_read(args.source), url, [_read(p) for p in args.page])
    except NotAnArticle as exc:
        print(f"{args.source}: not an article ({exc})", file=sys.stderr)
        return 1
    except (OSError, ValueError) as exc:
        print(f"{args.source}: cannot read page: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(asdict(item), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
