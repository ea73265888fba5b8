"""The spider's arguments (``-a base_url=… -a mode=… -a since=…``) and what they imply.

Checked by the crawl command before anything starts (a bad or unknown one is a usage
error, exit 2) and again by the spider.  A ``base_url`` on this machine drops the
politeness delays (``relax_for_local_mirror``).
"""

from __future__ import annotations

import ipaddress
import logging
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from scrapy.settings import SETTINGS_PRIORITIES, Settings

from newsspider import site
from newsspider.crawl.run.policy import MODES
from newsspider.urls import OriginMap

logger = logging.getLogger(__name__)

#: The spider's arguments (``-a NAME=VALUE``): the form of the value and what it means,
#: as ``crawl -h`` lists them.
ARGUMENTS = {
    "mode": ("|".join(MODES), "incremental (the default, for cron): only what is new or changed since the "
                              "state's last run, and the deletions the changed post sitemaps show; full: every "
                              "listing to its last page and the post sitemaps, every article; check (weekly): "
                              "every sitemap, every article of the dataset asked again conditionally, only new "
                              "articles, edits, moves and deletions emitted"),
    "since": ("YYYY-MM-DD", "skip articles published before this day; stop paging a listing at older entries"),
    "base_url": ("URL", f"fetch everything from this base (a mirror, the demo server) instead of {site.ORIGIN}; "
                        "items keep canonical URLs"),
}
#: Politeness protects someone else's server: a mirror on this machine is crawled at
#: full speed unless the command line says otherwise (robots.txt is still obeyed).
LOCAL_MIRROR_SETTINGS = {"DOWNLOAD_DELAY": 0.0, "AUTOTHROTTLE_ENABLED": False, "CONCURRENT_REQUESTS_PER_DOMAIN": 8}


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback IP address (127.0.0.0/8, ::1)."""
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def parse_since(value: str | None) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"since must be a date YYYY-MM-DD, got {value!r}") from None


def check_arguments(
    canonical_origin: str, base_url: str | None = None, mode: str | None = None, since: str | None = None,
    **others: Any,
) -> tuple[OriginMap, str, date | None]:
    """The spider arguments, parsed; ``ValueError`` says what is accepted.  Names starting
    with ``_`` belong to the scheduler (scrapyd's ``_job``)."""
    unknown = sorted(k for k in others if not k.startswith("_"))
    if unknown:
        raise ValueError(f"unknown argument {unknown[0]!r}; the arguments are {', '.join(ARGUMENTS)}")
    try:
        origins = OriginMap(canonical_origin, (base_url or canonical_origin).rstrip("/"))
    except ValueError:
        example = "http://127.0.0.1:8000"
        raise ValueError(f"base_url must be an http(s) URL such as {example}, got {base_url!r}") from None
    chosen = (mode or "incremental").strip().lower()
    if chosen not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    return origins, chosen, parse_since(since)


def relax_for_local_mirror(origins: OriginMap, settings: Settings) -> None:
    """``base_url`` on a loopback address: politeness delays off, except where the
    command line (or the spider's caller) set them; settings are not frozen yet here."""
    if not is_loopback(urlsplit(origins.fetch).hostname or "") or settings.frozen:
        return
    relaxed = {}
    for name, value in LOCAL_MIRROR_SETTINGS.items():
        if (settings.getpriority(name) or 0) <= SETTINGS_PRIORITIES["project"]:
            settings.set(name, value, priority="spider")
            relaxed[name] = value
    if relaxed:
        logger.info("base_url %s is on this machine: %s (set them with -s to change)", origins.fetch,
                    ", ".join(f"{k}={v}" for k, v in relaxed.items()))
