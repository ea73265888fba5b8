"""URLs: canonical form, and the mapping between the canonical site and ``base_url``.

Pages link to ``https://georgiatoday.ge/...``.  A crawl may fetch from another origin
(``-a base_url=http://127.0.0.1:8000`` for a mirror); ``OriginMap`` rewrites links to
the fetch origin and fetched URLs back to the canonical one, so items always carry
canonical URLs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import parse_qsl, urljoin, urlsplit, urlunsplit

from w3lib.url import safe_url_string, url_query_cleaner

#: Query parameters that only track the visitor; never part of a canonical URL.
TRACKING_PARAM = re.compile(
    r"^(?:utm_\w+|fbclid|gclid|dclid|msclkid|yclid|mc_cid|mc_eid|_ga|_gl|igshid|ref|ref_src|"
    r"amp|share|from)$",
    re.IGNORECASE,
)
_PERCENT_HEX = re.compile(r"%[0-9A-Fa-f]{2}")
#: Last path segment that names a file (``robots.txt``, ``feed.xml``): no trailing slash.
_FILE_SEGMENT = re.compile(r"\.[A-Za-z0-9]{1,5}$")


def _lower_hex(path: str) -> str:
    return _PERCENT_HEX.sub(lambda m: m.group(0).lower(), path)


def strip_tracking(url: str) -> str:
    """Remove tracking parameters (``utm_*``, ``fbclid`` …) and the fragment."""
    query = urlsplit(url).query
    if not query:
        return url.split("#", 1)[0]
    tracking = [k for k, _ in parse_qsl(query, keep_blank_values=True) if TRACKING_PARAM.match(k)]
    return url_query_cleaner(url, tracking, remove=True) if tracking else url.split("#", 1)[0]


@lru_cache(maxsize=16384)
def normalize_url(url: str) -> str:
    """Percent-encode (lower-case hex, as WordPress stores slugs), drop tracking
    parameters and the fragment, and end directory-like paths with a slash.

    Cached: every page repeats the same menu, category and article links."""
    parts = urlsplit(strip_tracking(safe_url_string(url.strip())))
    path = _lower_hex(parts.path) or "/"
    if not path.endswith("/") and not _FILE_SEGMENT.search(path):
        path += "/"
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, parts.query, ""))


def absolute_url(base: str, href: str) -> str | None:
    """``href`` resolved against ``base`` when it is a usable http(s) URL, else None
    (``mailto:``, ``javascript:``, a broken IPv6 literal or port, an invalid host …)."""
    try:
        url = urljoin(base, href.strip())
        if urlsplit(url).scheme not in ("http", "https"):
            return None
        normalize_url(url)
    except ValueError:
        return None
    return url


@dataclass(frozen=True)
class OriginMap:
    """Rewrites URLs between the canonical origin and the origin we fetch from."""

    canonical: str = "https://georgiatoday.ge"
    fetch: str = "https://georgiatoday.ge"

    def __post_init__(self) -> None:
        for name in ("canonical", "fetch"):
            value = getattr(self, name)
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"{name} origin must be an http(s) URL, got {value!r}")
            object.__setattr__(self, name, f"{parts.scheme}://{parts.netloc}".lower())

    @property
    def canonical_host(self) -> str:
        return urlsplit(self.canonical).hostname or ""

    def is_site(self, url: str) -> bool:
        """True for URLs on the canonical site (www. or not) or on the fetch origin."""
        try:
            parts = urlsplit(url)
        except ValueError:  # e.g. "http://[broken/": not a URL of ours
            return False
        if parts.netloc.lower() == urlsplit(self.fetch).netloc:
            return True
        host = (parts.hostname or "").lower().removeprefix("www.")
        return parts.scheme in ("http", "https") and host == self.canonical_host.removeprefix("www.")

    def _rebase(self, url: str, origin: str) -> str:
        parts = urlsplit(normalize_url(url))
        base = urlsplit(origin)
        return urlunsplit((base.scheme, base.netloc, parts.path, parts.query, ""))

    def to_fetch(self, url: str) -> str:
        """The URL to request for a link on the site (normalized, on the fetch origin)."""
        return self._rebase(url, self.fetch)

    def to_canonical(self, url: str) -> str:
        """The canonical ``https://georgiatoday.ge/...`` form of a site URL."""
        return self._rebase(url, self.canonical)
