"""Normalization: plain functions for text, dates, ids, languages and URLs.

The bottom floor of the package: every layer imports it (extraction, the loader's
processors, the crawl's state), and it imports nothing of the package but ``site`` and
``urls``.  Each function takes a raw value as a page has it and returns the normalized
value or None, so the property-based tests can call it directly.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from w3lib.html import replace_entities

from newsspider.site import SITE_TIMEZONE
from newsspider.urls import SITE, normalize_url

#: Invisible characters dropped from text: zero-width space, BOM, soft hyphen, word joiner.
_INVISIBLE = re.compile("[\u200b\ufeff\u00ad\u2060\x00]")

_ISO_DATETIME = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})[T ](?P<time>\d{1,2}:\d{2}(?::\d{2})?)(?:\.\d+)?"
    r"\s*(?P<tz>Z|[+-]\d{2}:?\d{2})?$",
    re.IGNORECASE,
)
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_NUMERIC_DATE = re.compile(r"^(\d{1,2})[./](\d{1,2})[./](\d{4})$")
_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan", "იანვარი", "января", "январь", "enero"),
            ("february", "feb", "თებერვალი", "февраля", "февраль", "febrero"),
            ("march", "mar", "მარტი", "марта", "март", "marzo"),
            ("april", "apr", "აპრილი", "апреля", "апрель", "abril"),
            ("may", "მაისი", "мая", "май", "mayo"),
            ("june", "jun", "ივნისი", "июня", "июнь", "junio"),
            ("july", "jul", "ივლისი", "июля", "июль", "julio"),
            ("august", "aug", "აგვისტო", "августа", "август", "agosto"),
            ("september", "sep", "sept", "სექტემბერი", "сентября", "сентябрь", "septiembre"),
            ("october", "oct", "ოქტომბერი", "октября", "октябрь", "octubre"),
            ("november", "nov", "ნოემბერი", "ноября", "ноябрь", "noviembre"),
            ("december", "dec", "დეკემბერი", "декабря", "декабрь", "diciembre"),
        ],
        start=1,
    )
    for name in names
}
_WORDY_DATE = re.compile(r"^(?:(?P<d1>\d{1,2})\s+(?:de\s+)?(?P<m1>[^\W\d_]+)\.?,?\s+(?:de\s+)?(?P<y1>\d{4})"
                         r"|(?P<m2>[^\W\d_]+)\.?\s+(?P<d2>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<y2>\d{4}))")
_LANGUAGE = re.compile(r"^([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]+)*$")


def normalize_text(text: str) -> str:
    """NFC, invisible characters dropped, NBSP and friends to spaces, whitespace runs
    collapsed, trimmed.  (ASCII text skips the Unicode steps: most of an English page.)"""
    if not text.isascii():
        text = unicodedata.normalize("NFC", _INVISIBLE.sub("", text))
    elif "\x00" in text:
        text = text.replace("\x00", "")
    # str.split() splits on exactly the characters the regex ``\s`` matches (NBSP, figure
    # and narrow no-break spaces too): ``re.sub(r"\s+", " ", text).strip()`` in a sixth
    # of the time.
    return " ".join(text.split())


def clean_text(value: Any) -> str | None:
    """Entities decoded, NFC, whitespace collapsed; empty strings become None."""
    if not isinstance(value, str):
        return None
    return normalize_text(replace_entities(value) if "&" in value else value) or None


def parse_date(value: Any) -> str | None:
    """A date/time as the page gives it → ISO 8601 with offset, or ``YYYY-MM-DD``.

    Offsets are kept as given (``Z`` is written ``+00:00``); a time with no offset is
    local Tbilisi time.  Date-only texts ("March 18, 2025", "18/03/2025", Georgian month
    names) give ``YYYY-MM-DD``.  Unparseable or impossible values give None.
    """
    text = clean_text(value)
    if not text:
        return None
    try:
        return _parse_datetime(text) or _parse_day(text)
    except (ValueError, OverflowError):
        return None


def parse_moment(value: str | None) -> datetime | None:
    """An aware datetime from ISO 8601 (``Z`` or an offset; no offset: UTC; a plain date:
    midnight UTC), for comparing moments: the state's dates, ``modified``, ``WARC-Date``;
    None if unparsable."""
    if not value:
        return None
    text = str(value).strip().replace("Z", "+00:00")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        try:
            moment = datetime.combine(date.fromisoformat(text[:10]), datetime.min.time())
        except ValueError:
            return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def newer(candidate: str | None, *than: str | None) -> bool:
    """True when ``candidate`` is later than every known moment in ``than`` (unknown = not newer)."""
    moment = parse_moment(candidate)
    if moment is None:
        return False
    known = [m for m in (parse_moment(t) for t in than) if m is not None]
    return not known or moment > max(known)


def parse_timestamp(value: Any) -> str | None:
    """An item's date (``published``, ``modified``) → ISO 8601 with offset, always with a
    time: ``parse_date``, and a day without a time (a visible "June 3, 2025") becomes
    midnight in Asia/Tbilisi (``2025-06-03T00:00:00+04:00``).  None as ``parse_date``."""
    text = parse_date(value)
    if text is None or "T" in text:
        return text
    return datetime.combine(date.fromisoformat(text), time(), SITE_TIMEZONE).isoformat(timespec="seconds")


def _parse_datetime(text: str) -> str | None:
    match = _ISO_DATETIME.match(text)
    if not match:
        return None
    clock = match.group("time")
    if clock.count(":") == 1:
        clock += ":00"
    moment = datetime.fromisoformat(f"{match.group('date')}T{clock.zfill(8)}")
    offset = match.group("tz")
    if offset is None:
        moment = moment.replace(tzinfo=SITE_TIMEZONE)
    elif offset.upper() == "Z":
        moment = moment.replace(tzinfo=timezone.utc)
    else:
        sign = 1 if offset[0] == "+" else -1
        digits = offset[1:].replace(":", "")
        delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        if delta >= timedelta(hours=24):
            return None
        moment = moment.replace(tzinfo=timezone(sign * delta))
    stamp = moment.isoformat(timespec="seconds")
    return stamp if stamp[-6] in "+-" else None


def _parse_day(text: str) -> str | None:
    text = text.lower()
    if match := _ISO_DATE.match(text):
        year, month, day = (int(g) for g in match.groups())
    elif match := _NUMERIC_DATE.match(text):
        day, month, year = (int(g) for g in match.groups())
    elif match := _WORDY_DATE.match(text):
        if match.group("y1"):
            day, month_name, year = int(match.group("d1")), match.group("m1"), int(match.group("y1"))
        else:
            day, month_name, year = int(match.group("d2")), match.group("m2"), int(match.group("y2"))
        if month_name not in _MONTHS:
            return None
        month = _MONTHS[month_name]
    else:
        return None
    return date(year, month, day).isoformat()


def parse_post_id(value: Any) -> int | None:
    text = str(value).strip() if value is not None else ""
    return int(text) if text.isascii() and text.isdigit() and 0 < int(text) < 2**63 else None


def parse_language(value: Any) -> str | None:
    """``en-US`` / ``en_US`` / ``ka-GE`` → ``en`` / ``ka``."""
    text = clean_text(value)
    match = _LANGUAGE.match(text) if text else None
    return match.group(1).lower() if match else None


def is_site_url(value: Any) -> bool:
    """An http(s) URL on the canonical site: ``site.ORIGIN``'s host, with or without www."""
    return isinstance(value, str) and SITE.is_site(value.strip())


def canonical_url(value: Any) -> str | None:
    """An http(s) URL in normal form (``urls.normalize_url``); one on the site moves to
    ``site.ORIGIN`` (``http://www.georgiatoday.ge/x`` → ``https://georgiatoday.ge/x/``)."""
    text = clean_text(value)
    if not text or not text.lower().startswith(("http://", "https://")):
        return None
    try:
        return SITE.to_canonical(text) if SITE.is_site(text) else normalize_url(text)
    except ValueError:  # unparseable host (bad IPv6 literal, IDNA error …)
        return None


def absolute_http_url(value: Any) -> str | None:
    text = clean_text(value)
    return text if text and text.lower().startswith(("http://", "https://")) else None


def utc_timestamp(value: Any) -> str | None:
    """A ``datetime`` (naive: the machine's local time) → ISO 8601 in UTC to the second
    (``2026-11-26T21:00:00+00:00``)."""
    if not isinstance(value, datetime):
        return None
    return value.astimezone(timezone.utc).isoformat(timespec="seconds")


def unique(values: list[Any]) -> list[Any]:
    """Drop repeated values, keeping the first occurrence's position."""
    return list(dict.fromkeys(values))
