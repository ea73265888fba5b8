"""Scrapy settings for newsspider.  Every value here can be overridden with ``-s``."""

from newsspider.items import ArticleItem, Tombstone

BOT_NAME = "newsspider"
SPIDER_MODULES = ["newsspider.spiders"]
NEWSPIDER_MODULE = "newsspider.spiders"

# --- politeness ---------------------------------------------------------------------------
ROBOTSTXT_OBEY = True
USER_AGENT = "newsspider/0.1 (+https://github.com/newsspider/newsspider; research crawler)"
CONCURRENT_REQUESTS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_DELAY = 0.5
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
HTTPCACHE_ENABLED = False
DOWNLOAD_TIMEOUT = 60
DOWNLOAD_MAXSIZE = 16 * 1024 * 1024
DOWNLOAD_WARNSIZE = 4 * 1024 * 1024

# --- robustness (docs/robustness.md) -------------------------------------------------------
# Retries with exponential backoff + jitter, Retry-After and robots Crawl-delay honoured,
# site-wide slowdown on repeated 429/503; expected trouble is logged at WARNING, never ERROR.
DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "newsspider.crawl.http.politeness.PoliteRobotsTxtMiddleware": 100,
    "newsspider.crawl.http.retry.BackoffRetryMiddleware": 550,
    "newsspider.crawl.http.offsite.SameOriginMiddleware": 60,  # beside Scrapy's OffsiteMiddleware (50)
    # Scrapy's HttpCompressionMiddleware, with pages over DOWNLOAD_MAXSIZE (as sent or once
    # decompressed) made counted drops, pending for the next run (newsspider/crawl/http/size.py)
    "scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware": None,
    "newsspider.crawl.http.size.PageSizeMiddleware": 590,
}
# With a base_url (a mirror, the demo server), requests go there; everything above the
# downloader keeps canonical https://georgiatoday.ge/... URLs (newsspider/crawl/http/mirror.py).
DOWNLOAD_HANDLERS = {
    "http": "newsspider.crawl.http.mirror.MirrorDownloadHandler",
    "https": "newsspider.crawl.http.mirror.MirrorDownloadHandler",
}
RETRY_TIMES = 5  # 6 tries in all, spread over ~1+2+4+8+16 s of backoff
RETRY_HTTP_CODES = [429, 500, 502, 503, 504, 520, 521, 522, 524, 408]
NEWSSPIDER_RETRY_BASE_DELAY = 1.0  # seconds before the 1st retry; doubles per retry
NEWSSPIDER_RETRY_MAX_DELAY = 30.0  # cap of one backoff wait
NEWSSPIDER_RETRY_JITTER = 0.5  # +-50 % random spread of each backoff wait
NEWSSPIDER_RETRY_AFTER_MAX = 60.0  # cap on a server's Retry-After
NEWSSPIDER_ROBOTS_RETRY_TIMES = 2  # robots.txt blocks every request: give up on it sooner
NEWSSPIDER_CRAWL_DELAY_MAX = 30.0  # cap on robots.txt Crawl-delay
NEWSSPIDER_SLOWDOWN_WINDOW = 10  # last N responses of the site considered ...
NEWSSPIDER_SLOWDOWN_RATIO = 0.5  # ... slow down when this share of them is 429/503
NEWSSPIDER_SLOWDOWN_MIN_RESPONSES = 3  # ... and at least this many of them
NEWSSPIDER_SLOWDOWN_START_DELAY = 0.5  # first extra delay; doubles while it lasts
NEWSSPIDER_SLOWDOWN_MAX_DELAY = 5.0  # cap of the extra site-wide delay
NEWSSPIDER_MAX_LISTING_PAGES = 5000  # hard cap of pages per category chain (0 = none)


# --- items --------------------------------------------------------------------------------
ITEM_PIPELINES = {
    "newsspider.crawl.export.pipelines.RequireFields": 100,
    "newsspider.crawl.export.pipelines.DropDuplicates": 200,
    # JSON Schema validation of each exported item against newsspider/schema/
    # article.schema.json (spidermon; ~1 ms per item): only with SPIDERMON_ENABLED, a
    # pass-through otherwise.  Invalid items are counted, exported all the same, and
    # judged by the health check "invalid items" (NEWSSPIDER_HEALTH_MAX_INVALID_ITEMS).
    "spidermon.contrib.scrapy.pipelines.ItemValidationPipeline": 800,
}

# --- output -------------------------------------------------------------------------------
# -O/-o (or -s FEEDS) on the command line replace both: such an output takes articles, and
# with a state its tombstones go to tombstones/<its name> beside it (newsspider/commands/
# crawl.py, own_feeds).  Both defaults are atomic (written as *.part, renamed when the run ends) and not
# stored when empty; see newsspider/crawl/export/feedstorage.py and docs/cron.md.  The
# tombstones (articles the site took down or moved) have their own directory: a read of
# the article files never meets one.
FEEDS = {
    "output/%(name)s/%(time)s.jsonl": {
        "format": "jsonlines", "encoding": "utf-8", "atomic": True, "store_empty": False,
        "item_classes": ["newsspider.items.ArticleItem"],
    },
    "output/%(name)s/tombstones/%(time)s.jsonl": {
        "format": "jsonlines", "encoding": "utf-8", "atomic": True, "store_empty": False,
        "item_classes": ["newsspider.items.Tombstone"],
    },
}
FEED_STORAGES = {
    "": "newsspider.crawl.export.feedstorage.AtomicFileFeedStorage",
    "file": "newsspider.crawl.export.feedstorage.AtomicFileFeedStorage",
}
FEED_EXPORT_ENCODING = "utf-8"

# --- project settings ---------------------------------------------------------------------
# Where to fetch from when no -a base_url is given (a mirror for tools without spider
# arguments, such as scrapy check); items always carry canonical URLs.
NEWSSPIDER_BASE_URL = ""
# SQLite state for incremental runs; empty string disables it.
NEWSSPIDER_STATE_PATH = "state/georgiatoday.sqlite3"
# Incremental runs on an empty state only go this many days back (-a since=… overrides).
NEWSSPIDER_INITIAL_WINDOW_DAYS = 7
# A page that failed for a transient reason (truncated, unreadable, too large, dropped, 5xx
# after all retries, 403) is asked again by later runs; given up (WARNING) after this many attempts
# or days since it first failed; a full run asks given-up pages again too.
NEWSSPIDER_PENDING_MAX_ATTEMPTS = 8
NEWSSPIDER_PENDING_MAX_DAYS = 30
# Optional discovery sources (the feed): one retry; none while they keep failing.
NEWSSPIDER_OPTIONAL_RETRY_TIMES = 1
# Set by the project's crawl command only (a real crawl: state, lock, archive).
NEWSSPIDER_CRAWL_COMMAND = False

# --- WARC archive of every parsed response (newsspider/crawl/archive/, docs/archive.md) ---
# One <UTC time>.warc.gz per run in this directory, and its CDXJ index <UTC time>.cdxj;
# empty turns archiving off.  Only a real crawl archives: the project's crawl command sets
# NEWSSPIDER_CRAWL_COMMAND (not scrapy shell/parse/check, not tests that leave it unset).
NEWSSPIDER_ARCHIVE_DIR = "archive/georgiatoday/"
SPIDER_MIDDLEWARES = {
    # after HttpErrorMiddleware (50): exactly the responses that reach a callback
    "newsspider.crawl.archive.middleware.WarcArchiveMiddleware": 950,
}

# --- the run: state, lock, commit point, health → exit status (docs/cron.md) ----------------
COMMANDS_MODULE = "newsspider.commands"
EXTENSIONS = {
    "newsspider.crawl.http.politeness.SitePoliteness": 100,
    "newsspider.crawl.archive.writer.WarcArchive": 400,
    "newsspider.crawl.run.extension.RunExtension": 500,
    "newsspider.crawl.report.progress.CrawlProgress": 600,
    # after RunExtension: its report follows the Summary: line (newsspider/crawl/report/monitors.py)
    "spidermon.contrib.scrapy.extensions.Spidermon": 700,
}

# --- progress (newsspider/crawl/report/progress.py) -------------------------------------------------
# One "Progress:" line every NEWSSPIDER_PROGRESS_INTERVAL seconds (pages, queue, articles,
# rate, ETA in mode=full; 0 = off) and, on a terminal, a live line rewritten every
# NEWSSPIDER_PROGRESS_TTY_INTERVAL seconds.  It says all Scrapy's "Crawled N pages" line
# says, so that one is off (one line a minute at most in cron mail).
NEWSSPIDER_PROGRESS_INTERVAL = 60.0
NEWSSPIDER_PROGRESS_TTY_INTERVAL = 1.0
LOGSTATS_INTERVAL = 0
# Quiet mode for cron logs (-s NEWSSPIDER_QUIET=True): Scrapy's own loggers at WARNING, so
# no versions/settings/components/stats dumps; Summary:, Progress: and every WARNING stay
# (newsspider/commands/crawl.py).
NEWSSPIDER_QUIET = False
NEWSSPIDER_HEALTH_ENABLED = True
NEWSSPIDER_HEALTH_MAX_SPIDER_EXCEPTIONS = 0
NEWSSPIDER_HEALTH_MAX_EMPTY_LISTINGS = 0  # listing pages answering 200 without article links
NEWSSPIDER_HEALTH_MAX_DROPPED_RATIO = 0.10  # of article pages (duplicates not counted)
NEWSSPIDER_HEALTH_MIN_COVERAGE = {"title": 0.99, "published": 0.99, "body": 0.99, "authors": 0.90}
NEWSSPIDER_HEALTH_MAX_FAILED_RATIO = 0.05  # requests failing after all retries (404 = dead link, not failed)
NEWSSPIDER_HEALTH_MAX_BLOCKED_RATIO = 0.5  # answers that are 401/403/429 (a bot wall)
NEWSSPIDER_HEALTH_MIN_BAD = 2  # a ratio threshold only trips with at least this many bad ones
NEWSSPIDER_HEALTH_MAX_INVALID_ITEMS = 0  # items failing the JSON Schema (counted only with spidermon on)
NEWSSPIDER_HEALTH_MIN_SITE_COVERAGE = 0.99  # of the posts the sitemaps list, in the dataset (a full run's end)

# --- spidermon: the same verdict as monitors, notifications by settings (docs/cron.md) ---------
# Off by default: the verdict is already in the exit status and the Summary: line.  On
# (-s SPIDERMON_ENABLED=True), every health check runs as a spidermon monitor when the
# engine stops (newsspider/crawl/report/monitors.py), items are validated against the JSON
# Schema, and the actions listed below run — none by default.  Each is a spidermon
# action class configured by its own SPIDERMON_* settings, e.g.
# NEWSSPIDER_MONITOR_FAILED_ACTIONS = ["spidermon.contrib.actions.email.smtp.SendSmtpEmail"].
SPIDERMON_ENABLED = False
SPIDERMON_ENGINE_STOP_MONITORS = ["newsspider.crawl.report.monitors.HealthMonitorSuite"]
# By item class (spidermon keys the dict by the class itself): articles and tombstones each
# against their own schema.
SPIDERMON_VALIDATION_SCHEMAS = {
    ArticleItem: ["newsspider.crawl.report.monitors.ARTICLE_SCHEMA"],
    Tombstone: ["newsspider.crawl.report.monitors.TOMBSTONE_SCHEMA"],
}
NEWSSPIDER_MONITOR_FAILED_ACTIONS: list[str] = []  # when a monitor failed (an unhealthy run)
NEWSSPIDER_MONITOR_PASSED_ACTIONS: list[str] = []  # when every monitor passed
NEWSSPIDER_MONITOR_FINISHED_ACTIONS: list[str] = []  # after every run

# --- Scrapy ---------------------------------------------------------------------------------
LOG_LEVEL = "INFO"
LOG_FORMATTER = "newsspider.crawl.export.logformatter.ConciseLogFormatter"
TELNETCONSOLE_ENABLED = False
# Scrapy 2.19's remote control opens a code-executing endpoint on localhost and leaves a
# token file per run under ~/.local/state/scrapy/: never for a cron crawler.
REMOTE_CONTROL_ENABLED = False
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
