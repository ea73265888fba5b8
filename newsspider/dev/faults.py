"""Fault injection for the mirror server: which paths misbehave, and how (``FaultPlan``)."""

from __future__ import annotations

import fnmatch
import threading
from dataclasses import dataclass, field
from urllib.parse import unquote


@dataclass
class FaultRule:
    """How requests whose path matches ``pattern`` misbehave.

    ``pattern`` is an exact path (``/category/politics/page/2/``) or an :mod:`fnmatch` glob
    (``/category/*``; ``*`` also matches ``/``), percent-encoded or not. Pattern and request
    path are compared both as given and percent-decoded (query string removed), so
    ``ExpectedArticle.path`` matches whatever hex case the client sends.

    Per matching request, in this order:

    1. ``delay`` seconds of sleep before anything is sent (a slow server); ``hold``: wait
       until this :class:`threading.Event` is set (a test decides when the answer comes);
    2. ``drop``: close the connection without any response;
    3. ``redirect_to``: answer ``redirect_status`` with ``Location: redirect_to`` (a path
       starting with ``/`` is made absolute against the server; an absolute URL, e.g. an
       off-site one, is sent as is; two rules pointing at each other make a loop);
       ``moved_to`` (an origin such as ``https://www.example.org``) answers
       ``redirect_status`` with ``Location: moved_to`` + the request's path and query, as
       a site that moved to another host or scheme does;
    4. ``statuses``: the n-th matching request gets ``statuses[n]``; the **last entry
       repeats** (``[503, 503, 200]`` = first two tries fail, then normal service; ``[500]``
       = always 500). A ``2xx`` entry means "serve normally". Error responses carry
       ``Retry-After: retry_after`` when set;
    5. ``short_body``: the page is served with its full ``Content-Length`` but only half of
       the bytes, then the connection is closed;
    6. ``cut_body``: a complete HTTP response of the first half of the page (its
       ``Content-Length`` says so): a CDN serving a truncated copy of the page;
    7. ``gzip``: the body is sent gzip-compressed (``Content-Encoding: gzip``);
       ``no_length``: without ``Content-Length``, the end of the body being the end of
       the connection.

    ``times`` limits all but ``statuses`` to the first ``times`` matching requests
    (``None`` = every request); ``statuses`` has its own sequence.
    """

    pattern: str
    statuses: list[int] = field(default_factory=list)
    retry_after: str | None = None
    delay: float = 0.0
    hold: threading.Event | None = None
    drop: bool = False
    short_body: bool = False
    cut_body: bool = False
    redirect_to: str | None = None
    redirect_status: int = 301
    moved_to: str | None = None
    gzip: bool = False
    no_length: bool = False
    times: int | None = None

    def matches(self, raw_path: str, decoded_path: str) -> bool:
        """True when the rule applies to this request path (query already removed)."""
        patterns = {self.pattern, unquote(self.pattern, encoding="utf-8", errors="replace")}
        return any(
            path == pattern or fnmatch.fnmatchcase(path, pattern)
            for path in (raw_path, decoded_path)
            for pattern in patterns
        )


@dataclass(frozen=True)
class FaultAction:
    """What the server does for one request, decided by :meth:`FaultPlan.action_for`."""

    delay: float = 0.0
    hold: threading.Event | None = None
    drop: bool = False
    redirect_to: str | None = None
    redirect_status: int = 301
    moved_to: str | None = None
    status: int | None = None
    retry_after: str | None = None
    short_body: bool = False
    cut_body: bool = False
    gzip: bool = False
    no_length: bool = False


NO_FAULT = FaultAction()


@dataclass
class FaultPlan:
    """A list of :class:`FaultRule` (first match wins) plus a robots.txt switch.

    ``robots_status`` makes ``/robots.txt`` always answer that status (e.g. ``503`` or
    ``404``); ``robots_retry_after`` adds a ``Retry-After`` header to it.
    """

    rules: list[FaultRule] = field(default_factory=list)
    robots_status: int | None = None
    robots_retry_after: str | None = None

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._hits: dict[int, int] = {}

    def hits(self, rule: FaultRule) -> int:
        """How many requests ``rule`` has matched so far."""
        with self._lock:
            return self._hits.get(id(rule), 0)

    def action_for(self, raw_path: str, decoded_path: str) -> FaultAction:
        """Decide (and count) the fault for one request."""
        if self.robots_status is not None and decoded_path == "/robots.txt":
            return FaultAction(status=self.robots_status, retry_after=self.robots_retry_after)
        for rule in self.rules:
            if rule.matches(raw_path, decoded_path):
                return self._apply(rule)
        return NO_FAULT

    def _apply(self, rule: FaultRule) -> FaultAction:
        with self._lock:
            n = self._hits.get(id(rule), 0)
            self._hits[id(rule)] = n + 1
        status = rule.statuses[min(n, len(rule.statuses) - 1)] if rule.statuses else None
        if status is not None and 200 <= status < 300:
            status = None
        active = rule.times is None or n < rule.times
        return FaultAction(
            delay=rule.delay if active else 0.0,
            hold=rule.hold if active else None,
            drop=rule.drop and active,
            redirect_to=rule.redirect_to if active else None,
            redirect_status=rule.redirect_status,
            moved_to=rule.moved_to if active else None,
            status=status,
            retry_after=rule.retry_after,
            short_body=rule.short_body and active,
            cut_body=rule.cut_body and active,
            gzip=rule.gzip and active,
            no_length=rule.no_length and active,
        )
