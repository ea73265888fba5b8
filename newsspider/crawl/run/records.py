"""What the state stores and what a run hands to it: plain records, no SQL."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from newsspider.items import content_hash


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
    sitemap: Iterable[tuple[str, str | None]] | None = None  # (url, lastmod) of every listed post: replaces the list


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
