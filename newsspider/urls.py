"""URLs: canonical form, and the mapping between the canonical site and ``base_url``.

Pages link to ``https://georgiatoday.ge/...``.  A crawl may fetch from another base
(``-a base_url=http://127.0.0.1:8000`` for a mirror, or ``http://host/prefix`` for a
mirror under a path); ``OriginMap`` rewrites links to the fetch base and fetched URLs
back to the canonical origin, so items always carry canonical URLs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import SplitResult, parse_qsl, urljoin, urlsplit, urlunsplit

from w3lib.url import safe_url_string, url_query_cleaner

from newsspider.site import ORIGIN

#: Query parameters that only track the visitor; never part of a canonical URL.
TRACKING_PARAM = re.compile(
    r"^(?:utm_\w+|fbclid|gclid|dclid|msclkid|yclid|mc_cid|mc_eid|_ga|_gl|igshid|ref|ref_src|"
    r"amp|share|from)$",
    re.IGNORECASE,
)
_PERCENT_HEX = re.compile(r"%[0-9A-Fa-f]{2}")
#: Last path segment that names a file (``robots.txt``, ``feed.xml``): no trailing slash.
_FILE_SEGMENT = re.compile(r"\.[A-Za-z0-9]{1,5}$")
#: ``normalize_url`` cache size: the menu, category and recent article links that every
#: page repeats; bounded so that a long crawl's memory does not grow with the archive.
URL_CACHE_SIZE = 4096


def _lower_hex(path: str) -> str:
    return _PERCENT_HEX.sub(lambda m: m.group(0).lower(), path)


def strip_tracking(url: str) -> str:
    """Remove tracking parameters (``utm_*``, ``fbclid`` …) and the fragment."""
    query = urlsplit(url).query
    if not query:
        return url.split("#", 1)[0]
    tracking = [k for k, _ in parse_qsl(query, keep_blank_values=True) if TRACKING_PARAM.match(k)]
    return url_query_cleaner(url, tracking, remove=True) if tracking else url.split("#", 1)[0]


@lru_cache(maxsize=URL_CACHE_SIZE)
def normalize_url(url: str) -> str:
    """Percent-encode (lower-case hex, as WordPress stores slugs), drop tracking
    parameters and the fragment, and end directory-like paths with a slash (cached:
    every page repeats the same menu, category and article links)."""
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
    """Rewrites URLs between the canonical origin and the base we fetch from.

    ``fetch`` may carry a path: a mirror served under a prefix
    (``http://host/georgiatoday``) gets every site path appended to that prefix, and
    fetched URLs lose it again on the way back to canonical form."""

    canonical: str = "https://georgiatoday.ge"
    fetch: str = "https://georgiatoday.ge"
    _fetch_netloc: str = field(init=False, repr=False, compare=False, default="")
    _prefix: str = field(init=False, repr=False, compare=False, default="")

    def __post_init__(self) -> None:
        for name in ("canonical", "fetch"):
            value = getattr(self, name)
            try:
                parts = urlsplit(value)
                valid = parts.scheme in ("http", "https") and bool(parts.hostname)
            except ValueError:  # a broken IPv6 literal or port
                valid = False
            if not valid or parts.query or parts.fragment:
                raise ValueError(f"{name} origin must be an http(s) URL, got {value!r}")
            prefix = urlsplit(normalize_url(value)).path.rstrip("/") if name == "fetch" else ""
            object.__setattr__(self, name, f"{parts.scheme}://{parts.netloc}".lower() + prefix)
        fetch = urlsplit(self.fetch)
        object.__setattr__(self, "_fetch_netloc", fetch.netloc)
        object.__setattr__(self, "_prefix", fetch.path)

    @property
    def canonical_host(self) -> str:
        return urlsplit(self.canonical).hostname or ""

    def _on_fetch_base(self, parts: SplitResult) -> bool:
        """On the fetch origin and, for a mirror under a prefix, under that prefix."""
        if parts.netloc.lower() != self._fetch_netloc:
            return False
        prefix = self._prefix
        return not prefix or parts.path == prefix or parts.path.startswith(prefix + "/")

    def is_site(self, url: str) -> bool:
        """True for URLs on the canonical site (www. or not) or under the fetch base."""
        try:
            parts = urlsplit(url)
        except ValueError:  # e.g. "http://[broken/": not a URL of ours
            return False
        if self._on_fetch_base(parts):
            return True
        host = (parts.hostname or "").lower().removeprefix("www.")
        return parts.scheme in ("http", "https") and host == self.canonical_host.removeprefix("www.")

    def _site_path(self, parts: SplitResult) -> str:
        """The path on the site: a fetched URL's path without the mirror's prefix."""
        if self._prefix and self._on_fetch_base(parts):
            return parts.path[len(self._prefix):] or "/"
        return parts.path

    def to_fetch(self, url: str) -> str:
        """The URL to request for a link on the site (normalized, under the fetch base)."""
        parts = urlsplit(normalize_url(url))
        base = urlsplit(self.fetch)
        return urlunsplit((base.scheme, base.netloc, self._prefix + self._site_path(parts), parts.query, ""))

    def to_canonical(self, url: str) -> str:
        """The canonical ``https://georgiatoday.ge/...`` form of a site URL."""
        parts = urlsplit(normalize_url(url))
        base = urlsplit(self.canonical)
        return urlunsplit((base.scheme, base.netloc, self._site_path(parts), parts.query, ""))


#: The canonical site itself (no mirror): its URLs in any form → canonical form.
SITE = OriginMap(ORIGIN, ORIGIN)
