"""The commit point of a run, and the one line that reports it.

``commit`` writes, in one SQLite transaction, what is durably in every output (the
pending items up to the smallest count any output stored, and never past an output
failure), the run's final outcomes and pending failures, the journal rows of the
finished files, and — only for a run that did its job — the incremental horizon.
"""

from __future__ import annotations

from datetime import datetime, timezone

from newsspider.crawl.report import health
from newsspider.crawl.report import stats as S
from newsspider.crawl.run.run import Run
from newsspider.crawl.run.state import Commit, StateError


def commit(run: Run) -> None:
    """The commit point: what is durably in every output, and the run's bookkeeping,
    in one transaction.  Without a state, only counts."""
    if run.committed:
        return
    run.committed = True
    count = min([run.scratch.exported_count, *run.durable]) if run.durable else 0
    if run.export_cap is not None:
        count = min(count, run.export_cap)
    exported = run.scratch.exported(count)  # streamed from the scratch file, not held in memory
    if run.state is None:
        run.kinds["new"] += count
        return
    batch = Commit(
        exported=exported,
        touched={url: (run.scratch.lastmod(url), frozenset(run.aliases.get(url, ())))
                 for url in run.unchanged},
        outcomes=dict(run.outcomes),
        failures=dict(run.failures),  # an export of the same URL, later in the run, wins
        given_up=run.given_up,
        resolved=run.resolved,
        outputs_done=run.journal_done,
        meta=meta_changes(run),
    )
    if batch.meta.get("open_run_started", "") is None:  # the run did its job (meta_changes)
        batch.validators = run.validators
    try:
        run.state.check_same_file()
        counts = run.state.commit(batch)
    except StateError as exc:
        run.state_failed(exc)
        run.committed = False  # the summary says so; the next run recovers the outputs
        return
    run.kinds.update(counts)
    run._inc(S.COMMITTED, count)
    run._inc(S.EXPORTED_NEW, counts["new"])
    run._inc(S.EXPORTED_UPDATED, counts["updated"])


def meta_changes(run: Run) -> dict[str, str | None]:
    """The horizon and the open-run marker move only with a run that did its job."""
    meta: dict[str, str | None] = {}
    if run.feed_ok is False:
        meta["feed_failing_since"] = run.feed_failing_since or datetime.now(timezone.utc).isoformat(
            timespec="seconds")
    elif run.feed_ok:
        meta["feed_failing_since"] = None
    if run.stopping or run.finish_reason != "finished":
        return meta
    # The verdict as the state transaction is built; RunExtension.finish judges the run again
    # for the exit status, and must: this transaction may still fail (test_exactly_once:
    # test_state_disk_full_at_the_commit_point exits 0 with this verdict reused).
    verdict = health.judge(run, run.stats.get_stats() if run.stats is not None else {},
                           health.Limits.from_settings(run.settings))
    if not verdict.ok:
        return meta
    meta["open_run_started"] = None
    assert run.state is not None
    if run.mode == "full" and run.since is None:
        meta["horizon"] = ""  # the whole archive is covered
    elif run.state.get_meta("horizon") is None:
        meta["horizon"] = run.since.isoformat() if run.since else ""
    return meta


def summary_line(run: Run) -> str:
    stats = run.stats.get_stats() if run.stats is not None else {}
    drops = {k.rsplit("/", 1)[1]: int(v) for k, v in stats.items()
             if k.startswith(S.DROPPED_PREFIX) and k != S.DUPLICATE}
    dropped = sum(drops.values())
    dropped_text = f"dropped={dropped}" + (
        " (" + ", ".join(f"{k}={v}" for k, v in sorted(drops.items())) + ")" if drops else "")
    verdict = run.verdict or health.Verdict()
    output = "; ".join(run.outputs) or "none (nothing new)"
    if not run.committed:
        output += "; not committed (recovered by the next run)"
    return (
        f"Summary: mode={run.mode} new={run.kinds['new']} updated={run.kinds['updated']} "
        f"unchanged_skipped={int(stats.get(S.UNCHANGED_SKIPPED, 0))} {dropped_text} "
        f"pending_retried={int(stats.get(S.PENDING_RETRIED, 0))} "
        f"still_failing={int(stats.get(S.PENDING_FAILED_AGAIN, 0))} "
        f"errors={health.spider_exceptions(stats)} failed_requests={health.failed_count(stats)} "
        f"dead_links={health.dead_count(stats)} requests={health.requests_count(stats)} "
        f"finish_reason={run.stop_reason or run.finish_reason or 'forced'} "
        f"health={verdict.text()} output={output}"
    )
