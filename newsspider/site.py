"""The Georgia Today profile: every fact about the site that is not JNews or WordPress.

A second JNews news site would be a second profile like this one (and a spider class
naming it); the extraction and the crawl machinery read these names, never literals.
"""

from __future__ import annotations

import re
from datetime import timedelta, timezone, tzinfo

#: The canonical origin: items carry URLs on it, whatever ``base_url`` the crawl fetches from.
ORIGIN = "https://georgiatoday.ge"
#: The spider's name, and the name of its state file and output directory.
NAME = "georgiatoday"
#: The ``source`` field of every item.
SOURCE_NAME = "Georgia Today"
#: What the site appends to ``<title>`` / ``og:title`` (" - Georgia Today").
TITLE_SUFFIX = re.compile(r"\s+[-–—|]\s+Georgia Today\s*$")

try:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    #: A time printed without offset is local time here.
    SITE_TIMEZONE: tzinfo = ZoneInfo("Asia/Tbilisi")
except (ImportError, ZoneInfoNotFoundError):  # no tz database: Tbilisi is UTC+4 all year
    SITE_TIMEZONE = timezone(timedelta(hours=4), "Asia/Tbilisi")
