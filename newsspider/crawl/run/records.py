"""What the state stores and what a run hands to it: plain records, no SQL."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from newsspider.items import Tombstone, content_hash


@dataclass(frozen=True)
class ArticleRecord:
    url: str
    post_id: int | None
    published: str | None
    modified: str | None
    lastmod: str | None
    content_hash: str
    first_seen: str
    last_seen: str


@dataclass(frozen=True)
class ExportRecord:
    """An item written to the output, waiting for the commit point."""

    url: str
    post_id: int | None
    published: str | None
    modified: str | None
    digest: str
    lastmod: str | None = None
    aliases: frozenset[str] = frozenset()

    @classmethod
    def of(cls, item: Mapping[str, Any], lastmod: str | None = None, aliases: Iterable[str] = ()) -> ExportRecord:
        return cls(str(item["url"]), item.get("post_id"), item.get("published"), item.get("modified"),
                   content_hash(item), lastmod, frozenset(aliases))


@dataclass(frozen=True)
class TombstoneRecord:
    """A tombstone written to the output, waiting for the commit point (the state keeps
    one row per URL: the latest)."""

    url: str
    post_id: int | None
    detected_at: str
    reason: str
    modified: str | None
    moved_to: str | None

    @classmethod
    def of(cls, item: Any) -> TombstoneRecord:
        data = item if isinstance(item, Mapping) else vars(item)
        return cls(str(data["url"]), data.get("post_id"), str(data["detected_at"]), str(data["reason"]),
                   data.get("modified"), data.get("moved_to"))

    def item(self) -> Tombstone:
        return Tombstone(self.url, self.post_id, self.detected_at, self.reason, self.modified, self.moved_to)

    @property
    def deletion(self) -> bool:
        """Taken down (not ``moved``: the article lives on under ``moved_to``)."""
        return self.reason != "moved"

    @property
    def outcome(self) -> str:
        """The final answer the state keeps for the URL of a deletion."""
        return f"dead:{self.reason.removeprefix('http_')}" if self.reason.startswith("http_") else "not_article"


def is_tombstone(line: Mapping[str, Any]) -> bool:
    """A line of a tombstone output, not an article."""
    return "detected_at" in line and "reason" in line and "title" not in line


@dataclass(frozen=True)
class PendingPage:
    url: str
    reason: str
    first_failed: str
    attempts: int
    given_up: bool


@dataclass
class Commit:
    """Everything a run writes to the state, applied in one transaction."""

    exported: Iterable[ExportRecord] = ()
    tombstones: Iterable[TombstoneRecord] = ()  # applied after the exports (a move renames the row first)
    touched: dict[str, tuple[str | None, frozenset[str]]] = field(default_factory=dict)  # url -> (lastmod, aliases)
    outcomes: dict[str, str] = field(default_factory=dict)  # url -> dead:<status> / not_article
    failures: dict[str, str] = field(default_factory=dict)  # url -> reason (pending)
    given_up: set[str] = field(default_factory=set)
    resolved: set[str] = field(default_factory=set)  # pending URLs answered for good (not exported)
    outputs_done: list[str] = field(default_factory=list)  # journal rows (part paths) now committed
    meta: dict[str, str | None] = field(default_factory=dict)  # None deletes the key
    # url -> (ETag, Last-Modified, sitemap-index lastmod): saved only by a run that did its job
    validators: dict[str, tuple[str | None, str | None, str | None]] = field(default_factory=dict)
    # URLs that led to items dropped as duplicates -> (item URL, post id): aliases of the
    # article recorded under that URL, else under that post id
    duplicates: dict[str, tuple[str, int | None]] = field(default_factory=dict)
    # post sitemap -> (url, lastmod) of every post it listed, read whole by this run: replaces its rows
    sitemaps: dict[str, list[tuple[str, str | None]]] = field(default_factory=dict)
    sitemaps_complete: bool = False  # every post sitemap was read: the others' rows go, coverage is current


#: Why a post listed in the sitemaps is not in the dataset (``Coverage.missing``).
MISSING_KINDS = ("pending", "dead", "not_article", "never_fetched")


@dataclass(frozen=True)
class MissingPost:
    """A post the sitemaps list that is not in the dataset: ``why`` is one of
    ``MISSING_KINDS``; ``detail`` the pending reason or the dead page's status."""

    url: str
    why: str
    detail: str
    lastmod: str | None
    given_up: bool = False  # a pending page later runs no longer ask (a full run still does)


@dataclass(frozen=True)
class Coverage:
    """The post sitemaps (as the last full run that read them all listed them) against
    the dataset the state describes."""

    read: str  # when the sitemaps were read
    listed: int
    in_dataset: int
    missing: list[MissingPost]

    def counts(self) -> dict[str, int]:
        """``listed``, ``in_dataset`` and the missing posts per ``MISSING_KINDS``."""
        counts = {"listed": self.listed, "in_dataset": self.in_dataset, **dict.fromkeys(MISSING_KINDS, 0)}
        for post in self.missing:
            counts[post.why] += 1
        return counts

    def pending_reasons(self) -> dict[str, int]:
        reasons: dict[str, int] = {}
        for post in self.missing:
            if post.why == "pending":
                reasons[post.detail] = reasons.get(post.detail, 0) + 1
        return dict(sorted(reasons.items()))
