"""``NEWSSPIDER_QUIET``: a log for cron — the run's own lines, without Scrapy's start-up and stats dumps.

With ``-s NEWSSPIDER_QUIET=True`` Scrapy's own loggers (``scrapy.*``) log WARNING and above
only: no versions dump, settings dump, lists of enabled components, "Spider opened" or
stats dump.  The project's lines stay as they are — ``Summary:``, ``Progress:``, recoveries
of killed runs, the archive's file — and so does every WARNING and ERROR, Scrapy's
included (its log counts, which the health verdict reads, still count every record that is
logged).  One Scrapy line remains, ``Scrapy x.y started (bot: newsspider)``: it is logged
while the crawler process is created, before any crawl code runs, and marks where each
run starts in a log that several runs append to.

``LOG_LEVEL=WARNING`` is not the same: it would drop the ``Summary:`` line, which is INFO.

The crawl command calls ``quiet_settings`` once the command line is read (the versions dump
is one of the first things the crawler process logs) and ``quiet_loggers`` once the
crawler process has configured logging (which resets the ``scrapy`` logger's level).
"""

from __future__ import annotations

import logging

from scrapy.settings import BaseSettings

#: The loggers quiet mode holds to WARNING: Scrapy's own (``scrapy.core.engine``, ``scrapy.middleware`` …).
SCRAPY_LOGGER = "scrapy"


def quiet_settings(settings: BaseSettings) -> None:
    """Before the crawler process exists: no versions dump (``LOG_VERSIONS``) in quiet mode."""
    if settings.getbool("NEWSSPIDER_QUIET"):
        settings.set("LOG_VERSIONS", [], priority="cmdline")


def quiet_loggers(settings: BaseSettings) -> None:
    """After the crawler process configured logging: Scrapy's loggers at WARNING in quiet mode."""
    if settings.getbool("NEWSSPIDER_QUIET"):
        logging.getLogger(SCRAPY_LOGGER).setLevel(logging.WARNING)
