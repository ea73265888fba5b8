"""Scrapy settings for newsspider.  Every value here can be overridden with ``-s``."""

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

# --- items --------------------------------------------------------------------------------
ITEM_PIPELINES = {
    "newsspider.pipelines.RequireFields": 100,
    "newsspider.pipelines.DropDuplicates": 200,
}

# --- output -------------------------------------------------------------------------------
# -O/-o on the command line replace this default.
FEEDS = {
    "output/%(name)s/%(time)s.jsonl": {"format": "jsonlines", "encoding": "utf-8"},
}
FEED_EXPORT_ENCODING = "utf-8"

# --- project settings ---------------------------------------------------------------------
# SQLite state for incremental runs; empty string disables it.
NEWSSPIDER_STATE_PATH = "state/georgiatoday.sqlite3"

# --- Scrapy ---------------------------------------------------------------------------------
LOG_LEVEL = "INFO"
LOG_FORMATTER = "newsspider.logformatter.ConciseLogFormatter"
TELNETCONSOLE_ENABLED = False
REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
