"""One crawl in its own process (started by ``bench/crawl.py``, which samples its RSS).

    python bench/crawl_worker.py KIND BASE_URL WORKDIR [--state PATH] [--mode full|incremental]
                                 [--urls FILE]

``ours`` is ``scrapy crawl georgiatoday -a base_url=BASE_URL`` with the project settings,
politeness off and a JSON Lines feed (``WORKDIR/items.jsonl``). ``parse_only`` is the same
spider with an article callback that only parses the page (no extraction, no item): the
ceiling any extraction built on lxml can reach. ``download_only`` requests the exact list
of paths of ``--urls`` (our crawl's requests, read from the mirror server's log, same
order, redirects not followed, every status accepted) and parses nothing.

``--state`` keeps the SQLite state at that path (an incremental run reads the state a
full run left); by default each crawl starts from an empty state of its own.  Prints one
JSON line of stats on stdout at the end; ``crawl_cpu`` is the process CPU time of the crawl
itself (imports and set-up excluded).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.chdir(REPO)  # scrapy.cfg → project settings

import scrapy  # noqa: E402
from scrapy.crawler import CrawlerProcess  # noqa: E402
from scrapy.utils.project import get_project_settings  # noqa: E402

from newsspider.crawl.run.state import StateLock  # noqa: E402

POLITENESS_OFF = {
    "ROBOTSTXT_OBEY": False,
    "AUTOTHROTTLE_ENABLED": False,
    "DOWNLOAD_DELAY": 0,
    "CONCURRENT_REQUESTS": 16,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
    "LOG_LEVEL": "WARNING",
}
KINDS = ("ours", "parse_only", "download_only")


class DownloadOnlySpider(scrapy.Spider):
    name = "download_only"

    def __init__(self, base_url: str, urls_file: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base_url = base_url.rstrip("/")
        self.paths = Path(urls_file).read_text(encoding="utf-8").splitlines()

    async def start(self):  # type: ignore[override]
        for path in self.paths:
            yield scrapy.Request(self.base_url + path, callback=self.parse, dont_filter=True,
                                 meta={"dont_redirect": True, "handle_httpstatus_all": True})

    def parse(self, response: Any) -> None:
        return None


def parse_only_spider() -> type[scrapy.Spider]:
    from newsspider.extraction import page_selector
    from newsspider.spiders.georgiatoday import GeorgiaTodaySpider

    class ParseOnlySpider(GeorgiaTodaySpider):
        """Routing, listings and sitemaps as ours; article pages are parsed, nothing more."""

        def parse_article(self, response: Any, pages: Any = ()) -> list[Any]:  # type: ignore[override]
            page_selector(response)
            self._inc("pages/article")
            return []

    return ParseOnlySpider


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=KINDS)
    parser.add_argument("base_url")
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--state", type=Path, help="SQLite state to use and keep (default: a fresh one)")
    parser.add_argument("--mode", default="full", choices=("full", "incremental"))
    parser.add_argument("--urls", help="download_only: file of the paths to request")
    args = parser.parse_args()
    workdir: Path = args.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    settings = get_project_settings()
    settings.setdict(POLITENESS_OFF, priority="cmdline")
    settings.set("LOG_FILE", str(workdir / f"crawl-{args.kind}-{args.mode}.log"), priority="cmdline")
    state = args.state or workdir / f"state-{args.kind}-{os.getpid()}.sqlite3"
    settings.set("NEWSSPIDER_STATE_PATH", str(state), priority="cmdline")
    if args.kind == "ours":
        # As `scrapy crawl` runs it: the run lock held, the state opened and committed
        # (NEWSSPIDER_CRAWL_COMMAND); no WARC archive here (bench/archive.py measures it).
        assert StateLock(state).acquire()
        settings.set("NEWSSPIDER_CRAWL_COMMAND", True, priority="cmdline")
        settings.set("NEWSSPIDER_ARCHIVE_DIR", "", priority="cmdline")
        items = workdir / "items.jsonl"
        settings.set("FEEDS", {str(items): {"format": "jsonlines", "encoding": "utf-8", "overwrite": True}},
                     priority="cmdline")
    else:
        settings.set("FEEDS", {}, priority="cmdline")
    process = CrawlerProcess(settings)
    if args.kind in ("ours", "parse_only"):
        crawler = process.create_crawler("georgiatoday" if args.kind == "ours" else parse_only_spider())
        process.crawl(crawler, base_url=args.base_url, mode=args.mode)
    else:
        crawler = process.create_crawler(DownloadOnlySpider)
        process.crawl(crawler, base_url=args.base_url, urls_file=args.urls)
    started, cpu_started = time.perf_counter(), time.process_time()
    process.start()
    elapsed, crawl_cpu = time.perf_counter() - started, time.process_time() - cpu_started
    stats = crawler.stats.get_stats() if crawler.stats else {}
    usage = resource.getrusage(resource.RUSAGE_SELF)
    if args.state is None:
        state.unlink(missing_ok=True)
    print(json.dumps({
        "kind": args.kind,
        "mode": args.mode,
        "elapsed": elapsed,
        "crawl_cpu": crawl_cpu,
        "responses": stats.get("response_received_count", 0),
        "requests": stats.get("downloader/request_count", 0),
        "response_bytes": stats.get("downloader/response_bytes", 0),
        "items": stats.get("item_scraped_count", 0),
        "articles": stats.get("newsspider/pages/article", 0),
        "errors": {k: v for k, v in stats.items() if "error" in k or k.startswith("log_count/ERROR")},
        "cpu_user": usage.ru_utime, "cpu_sys": usage.ru_stime,
        "maxrss_kb": usage.ru_maxrss,
    }, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
