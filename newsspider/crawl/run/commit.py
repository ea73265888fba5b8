"""The commit point of a run, and the one line that reports it.

``commit`` writes, in one SQLite transaction, what is durably in every output (the
pending articles and tombstones, each up to the smallest count any output of its kind
stored, and never past an output failure), the run's final outcomes and pending failures, the journal rows of the
finished files, and — only for a run that did its job — the incremental horizon.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime, timezone

from newsspider.crawl.report import health
from newsspider.crawl.report import stats as S
from newsspider.crawl.run.ledger import Ledger
from newsspider.crawl.run.policy import Policy
from newsspider.crawl.run.state import Commit, StateError

logger = logging.getLogger(__name__)


def commit(ledger: Ledger, policy: Policy, judge: Callable[[], health.Verdict]) -> None:
    """The commit point: what is durably in every output, and the run's bookkeeping,
    in one transaction.  Without a state, only counts.  ``judge``: the run's verdict
    with every check (the horizon moves only with a healthy run)."""
    if ledger.committed:
        return
    ledger.committed = True
    scratch = ledger.scratch
    # Only what EVERY output of its kind holds durably counts: the smallest count, never
    # past a failure (articles and tombstones each have their outputs).
    count = ledger.durable_count("article")
    ledger.delivered = count
    exported = scratch.exported(count)  # streamed from the scratch file, not held in memory
    tombstones = ledger.tombstones[:ledger.durable_count("tombstone")]
    if ledger.state is None:
        ledger.kinds["new"] += count
        return
    unread = ledger.sitemaps_unread
    whole = policy.mode != "incremental"  # a run meant to read every post sitemap
    if whole and unread:  # (none asked: a run resumed from a JOBDIR that had read them)
        ledger.inc(S.COVERAGE_UNKNOWN)
        logger.warning("Site coverage unknown: post sitemaps not read: %s", ", ".join(sorted(unread)))
    # The verdict as the state transaction is built; RunExtension.finish judges the run again
    # for the exit status, and must: this transaction may still fail, and the site coverage
    # is counted after it (what it made durable).
    healthy = finished(ledger) and judge().ok
    batch = Commit(
        exported=exported,
        tombstones=tombstones,
        touched={url: (scratch.lastmod(url), frozenset(ledger.aliases.get(url, ()))) for url in ledger.unchanged},
        outcomes=dict(ledger.outcomes),
        failures=dict(ledger.failures),  # an export of the same URL, later in the run, wins
        given_up=ledger.given_up,
        resolved=ledger.resolved,
        outputs_done=ledger.journal_done,
        duplicates=ledger.duplicates,
        meta=meta_changes(ledger, policy, healthy),
    )
    if count and policy.base_url and ledger.state.get_meta("base_url") is None:
        batch.meta["base_url"] = policy.base_url  # the dataset's first articles bind the state to their site
    if healthy:  # only a run that did its job saves validators: the next one trusts them
        batch.validators = ledger.validators
    # What each post sitemap read whole listed: kept by a run that did its job (the next
    # one checks what a re-read sitemap no longer lists against it), and by a full or check
    # run that read them all (the coverage account)
    complete = whole and unread == set()
    if healthy or complete:
        batch.sitemaps, batch.sitemaps_complete = ledger.scratch.listed(), complete
    try:
        ledger.state.check_same_file()
        counts = ledger.state.commit(batch)
    except StateError as exc:
        ledger.state_failed(exc)
        ledger.committed = False  # the summary says so (the outputs journaled in the state are recovered)
        return
    ledger.kinds.update(counts)
    ledger.inc(S.COMMITTED, count)
    ledger.inc(S.EXPORTED_NEW, counts["new"])
    ledger.inc(S.EXPORTED_UPDATED, counts["updated"])
    if complete:
        report_coverage(ledger)


def report_coverage(ledger: Ledger) -> None:
    """The post sitemaps against the dataset, as the state now holds it (``State.coverage``):
    in the stats (the ``Summary:`` line and the health check read them) and one INFO line."""
    assert ledger.state is not None
    coverage = ledger.state.coverage()
    assert coverage is not None  # the commit just wrote the sitemap's list
    counts = coverage.counts()
    for kind, number in counts.items():
        ledger.stats.set_value(S.coverage(kind), number)
    reasons = ", ".join(f"{reason} {n}" for reason, n in coverage.pending_reasons().items())
    logger.info("Site coverage: %d of the %d posts the sitemaps list are in the dataset; missing: pending %d%s, "
                "dead %d, not articles %d, never fetched %d (`newsspider coverage` lists them)",
                coverage.in_dataset, coverage.listed, counts["pending"], f" ({reasons})" if reasons else "",
                counts["dead"], counts["not_article"], counts["never_fetched"])


def finished(ledger: Ledger) -> bool:
    """The run ran to its end (not killed, stopped by a failure, a signal or a limit)."""
    return not ledger.stopping and ledger.finish_reason == "finished"


def meta_changes(ledger: Ledger, policy: Policy, healthy: bool) -> dict[str, str | None]:
    """A run that ran to its end closes its open-run marker (the next full run starts over,
    not resuming after it); only one that also did its job moves the horizon."""
    meta: dict[str, str | None] = {}
    if ledger.feed_ok is False:
        meta["feed_failing_since"] = policy.feed_failing_since or datetime.now(timezone.utc).isoformat(
            timespec="seconds")
    elif ledger.feed_ok:
        meta["feed_failing_since"] = None
    if not finished(ledger):
        return meta
    meta["open_run_started"] = None
    if not healthy:
        return meta
    assert ledger.state is not None
    if policy.mode == "full" and policy.since is None:
        meta["horizon"] = ""  # the whole archive is covered
    elif ledger.state.get_meta("horizon") is None:
        meta["horizon"] = policy.since.isoformat() if policy.since else ""
    return meta


def summary_value(value: object) -> str:
    """A value of the ``Summary:`` line: as it is when it has no space or quote, else a
    double-quoted JSON string (``shlex.split`` reads both; non-ASCII kept as is, not as
    ``\\uXXXX`` escapes that a shell-like splitter would not decode)."""
    text = str(value)
    return text if text and not any(c.isspace() or c in "\"'\\" for c in text) else json.dumps(text, ensure_ascii=False)


def summary_line(ledger: Ledger, policy: Policy, verdict: health.Verdict, stats: dict) -> str:
    """``Summary: key=value …`` (docs/cron.md, "The summary line" says what each counts)."""
    drops = {k.rsplit("/", 1)[1]: int(v) for k, v in stats.items()
             if k.startswith(S.DROPPED_PREFIX) and k != S.DUPLICATE}
    fields: dict[str, object] = {
        "mode": policy.mode,
        "new": ledger.kinds["new"],
        "updated": ledger.kinds["updated"],
        "reexported": ledger.kinds["unchanged"],
        "deleted": ledger.kinds["deleted"],
        "moved": ledger.kinds["moved"],
        "unchanged_skipped": int(stats.get(S.UNCHANGED_SKIPPED, 0)),
        "dropped": sum(drops.values()),
        **{f"dropped_{reason}": count for reason, count in sorted(drops.items())},
        "pending_retried": int(stats.get(S.PENDING_RETRIED, 0)),
        "still_failing": int(stats.get(S.PENDING_FAILED_AGAIN, 0)),
        "errors": health.spider_exceptions(stats),
        "failed_requests": health.failed_count(stats),
        "dead_links": health.dead_count(stats),
        "requests": health.requests_count(stats),
        **({"coverage": f"{int(stats[S.coverage('in_dataset')])}/{int(stats[S.coverage('listed')])}"}
           if S.coverage("listed") in stats else {}),
        "finish_reason": ledger.stop_reason or ledger.finish_reason or "forced",
        "health": "ok" if verdict.ok else "unhealthy",
    }
    if not verdict.ok:
        fields["problems"] = "; ".join(verdict.problems)
    fields["items"] = ledger.delivered  # articles (tombstones: deleted + moved)
    fields["output"] = ",".join(ledger.outputs) or "none"
    fields["committed"] = "yes" if ledger.committed else "no"
    return summary(fields)


def summary(fields: dict[str, object]) -> str:
    return "Summary: " + " ".join(f"{key}={summary_value(value)}" for key, value in fields.items())
