"""The cron lines of ``deploy/crontab.example``, docs/cron.md and docs/deploy.md, run as cron
runs them (``/bin/sh -c``, ``\\%`` unescaped, the crontab's variables in the environment)
against a generated mirror; only ``-a base_url=…`` is added (and ``-a mode=full`` for the
backfill docs/cron.md says to run by hand), and the paths moved into a temporary directory.

What the docs promise: quiet logs — an unchanged run writes the four lines docs/cron.md
shows (plus the line saying a local ``base_url`` drops the delays), a run with trouble adds
its WARNINGs and nothing else; one log file per UTC day, each run appended, old ones
deleted; an unhealthy run's last lines (``Unhealthy run:``, ``Summary:``) printed for cron
to mail; no scheduled full run, the hourly line catching up with a changed site alone; and
the weekly check writing the tombstone of an article the site took down, and nothing else.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import unquote

import pytest
from conftest import REPO, read_jsonl, summary_fields
from sitegen import SiteManifest, generate_site

from newsspider.dev.devserver import FaultRule, MirrorServer

CRONTAB = REPO / "deploy" / "crontab.example"
CRON_MD = REPO / "docs" / "cron.md"
DEPLOY_MD = REPO / "docs" / "deploy.md"
#: The line a base_url on this machine adds (docs: the politeness delays are dropped).
LOCAL_BASE = "[newsspider.spiders.arguments] INFO: base_url "
#: Where the project logs its retries (INFO, and a WARNING when a page is given up on).
RETRY_LOGGER = "newsspider.crawl.http.retry"
#: The start of every log line: date, time, [logger] LEVEL.
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[([\w.]+)\] (\w+): (\S+)")


def cron_jobs(text: str) -> tuple[dict[str, str], list[str]]:
    """A crontab's variables and its jobs' commands (the schedule's five fields dropped)."""
    variables, commands = {}, []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if re.match(r"^[A-Za-z_]\w*\s*=", line):
            name, value = line.split("=", 1)
            variables[name.strip()] = value.strip()
        else:
            commands.append(line.split(None, 5)[5])
    return variables, commands


def cron_block(doc: Path, after: str) -> str:
    """The first ``cron`` code block of ``doc`` after the text ``after``."""
    text = doc.read_text(encoding="utf-8").split(after, 1)[1]
    return re.search(r"^```cron\n(.*?)^```$", text, flags=re.S | re.M).group(1)  # type: ignore[union-attr]


def crawl_job(commands: list[str], mode: str | None = None) -> str:
    """The one crawl job of ``-a mode=<mode>``, or (no mode) the one giving none: the hourly run."""
    [job] = [c for c in commands if " crawl" in c and (f"-a mode={mode} " in c if mode else "mode=" not in c)]
    return job


def run_line(command: str, variables: dict[str, str], cwd: Path, base_url: str,
             *args: str) -> subprocess.CompletedProcess[str]:
    """``command`` as cron runs it: ``%`` would end the command, ``\\%`` is a ``%``."""
    assert not re.search(r"(?<!\\)%", command), command
    command = command.replace("\\%", "%")
    crawl = re.search(r"(scrapy crawl georgiatoday|newsspider crawl)", command)
    assert crawl is not None, command
    added = " ".join(["-a", f"base_url={base_url}", *args])
    command = f"{command[:crawl.end()]} {added}{command[crawl.end():]}"
    env = {"PATH": os.environ["PATH"], "HOME": str(cwd), "PYTHONPATH": str(REPO), **variables}
    return subprocess.run(["/bin/sh", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=180)


def checkout(root: Path) -> Path:
    """A directory laid out as the docs' checkout: ``scrapy.cfg`` and ``.venv/bin/scrapy``
    (this interpreter's Scrapy); the project itself comes from PYTHONPATH, as the venv's install."""
    root.mkdir(parents=True)
    shutil.copy(REPO / "scrapy.cfg", root / "scrapy.cfg")
    for name, module in (("scrapy", "scrapy"), ("newsspider", "newsspider.cli")):
        script = root / ".venv" / "bin" / name
        script.parent.mkdir(parents=True, exist_ok=True)
        script.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m {module} "$@"\n', encoding="utf-8")
        script.chmod(0o755)
    return root


def day_log(root: Path) -> Path:
    return root / "logs" / f"crawl-{datetime.now(timezone.utc):%Y%m%d}.log"


def shape(line: str) -> tuple[str, str, str]:
    """(logger, level, first word) of a log line."""
    match = LOG_LINE.match(line)
    assert match, line
    return match.group(1), match.group(2), match.group(3)


def documented_quiet_run() -> list[tuple[str, str, str]]:
    """The unchanged run's lines as docs/cron.md shows them (the block after "Quiet mode")."""
    text = CRON_MD.read_text(encoding="utf-8").split("**Quiet mode.**", 1)[1]
    block = re.search(r"^```\n(.*?)^```$", text, flags=re.S | re.M).group(1)  # type: ignore[union-attr]
    return [shape(line) for line in block.splitlines()]


class Log:
    """The day's log file; ``new()`` is what was appended since the last call."""

    def __init__(self, root: Path) -> None:
        self.root, self.seen = root, 0

    def new(self) -> list[str]:
        lines = [line for path in sorted((self.root / "logs").glob("*.log"))
                 for line in path.read_text(encoding="utf-8").splitlines()]
        fresh, self.seen = lines[self.seen:], len(lines)
        return [line for line in fresh if LOCAL_BASE not in line]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> SiteManifest:
    return generate_site(tmp_path_factory.mktemp("site") / "mirror", n_articles=12, per_page=5, term_archives=False)


def test_the_example_crontab_schedules_no_full_run() -> None:
    """Three jobs: the hourly incremental crawl (no mode), quiet, into a dated log; the weekly
    check, the same line with ``-a mode=check``; the log clean-up.  No full run."""
    variables, commands = cron_jobs(CRONTAB.read_text(encoding="utf-8"))
    assert set(variables) == {"SHELL", "MAILTO", "REPO", "UA"}
    assert len(commands) == 3 and "mode=full" not in " ".join(commands)
    hourly, weekly = crawl_job(commands), crawl_job(commands, "check")
    assert "-s NEWSSPIDER_QUIET=True" in hourly
    assert weekly == hourly.replace(" crawl georgiatoday ", " crawl georgiatoday -a mode=check ")
    schedules = {line.split(None, 5)[5]: line.split(None, 5)[:5] for line in CRONTAB.read_text(encoding="utf-8")
                 .splitlines() if line[:1].isdigit()}
    assert schedules[hourly][1:] == ["*"] * 4 and schedules[weekly][2:] == ["*", "*", "0"]  # hourly; Sundays


def test_crontab_example_quiet_daily_logs_and_catching_up(tmp_path: Path) -> None:
    """deploy/crontab.example's hourly line: a backfill by hand, an unchanged run, a run with
    the feed failing, an unhealthy run, the site changed; then the log clean-up line."""
    started = datetime.now(timezone.utc)
    root = tmp_path / "mirror"
    generate_site(root, n_articles=12, per_page=5, term_archives=False)
    repo = checkout(tmp_path / "srv")
    variables, commands = cron_jobs(CRONTAB.read_text(encoding="utf-8"))
    variables["REPO"] = str(repo)
    hourly = crawl_job(commands)
    log = Log(repo)
    with MirrorServer(root) as server:
        backfill = run_line(hourly, variables, tmp_path, server.base_url, "-a", "mode=full")
        assert backfill.returncode == 0, backfill.stderr[-3000:] + backfill.stdout
        assert backfill.stdout == ""  # nothing for cron to mail
        assert summary_fields(log.new()[-1])["new"] == "12"

        unchanged = run_line(hourly, variables, tmp_path, server.base_url)
        assert (unchanged.returncode, unchanged.stdout) == (0, "")
        lines = log.new()
        assert [shape(line) for line in lines] == documented_quiet_run(), "\n".join(lines)
        fields = summary_fields(lines[-1])
        assert (fields["new"], fields["output"], fields["health"]) == ("0", "none", "ok")

        # trouble is logged: the feed failing is a WARNING (after the project's lines on its
        # retries), and nothing else is added
        server.faults.rules.append(FaultRule("/feed/", statuses=[500]))
        feed_down = run_line(hourly, variables, tmp_path, server.base_url, "-s", "NEWSSPIDER_RETRY_BASE_DELAY=0")
        assert (feed_down.returncode, feed_down.stdout) == (0, "")
        lines = log.new()
        trouble = [line for line in lines if shape(line)[1] == "WARNING" or shape(line)[0] == RETRY_LOGGER]
        assert any("WARNING: The feed https://georgiatoday.ge/feed/ failed" in line for line in trouble), lines
        assert [shape(line) for line in lines if line not in trouble] == documented_quiet_run(), "\n".join(lines)
        assert len(lines) <= 8, "\n".join(lines)

        # an unhealthy run: exit 1, and the `||` part prints the verdict for cron to mail
        server.faults.rules[:] = [FaultRule("/", statuses=[403])]
        blocked = run_line(hourly, variables, tmp_path, server.base_url)
        assert blocked.returncode == 0  # tail's: cron mails because there is output
        printed = blocked.stdout.splitlines()
        assert printed == log.new()[-3:] and len(printed) == 3
        assert any("WARNING: Unhealthy run: blocked" in line for line in printed[:2]), printed
        assert summary_fields(printed[2])["health"] == "unhealthy"

        # the site changes: the hourly line alone exports exactly what is new or edited
        server.faults.rules.clear()
        v2 = generate_site(root, n_articles=12, per_page=5, term_archives=False, version=2)
        outputs = set((repo / "output" / "georgiatoday").glob("*.jsonl"))
        caught_up = run_line(hourly, variables, tmp_path, server.base_url)
        assert (caught_up.returncode, caught_up.stdout) == (0, "")
        [new_output] = set((repo / "output" / "georgiatoday").glob("*.jsonl")) - outputs
        urls = sorted(item["url"] for item in read_jsonl(new_output))
        assert urls == sorted(v2.new_urls + v2.edited_urls) and len(urls) == 4
    days = {f"crawl-{day:%Y%m%d}.log" for day in (started, datetime.now(timezone.utc))}
    logs = {path.name for path in (repo / "logs").iterdir()}
    assert logs and logs <= days  # one file a day (two if the runs crossed midnight)

    # the clean-up line deletes the logs of more than 30 days ago, and only those
    old = repo / "logs" / "crawl-20000101.log"
    old.write_text("old\n", encoding="utf-8")
    month_ago = time.time() - 32 * 86400
    os.utime(old, (month_ago, month_ago))
    [cleanup] = [c for c in commands if c.startswith("find ")]
    done = subprocess.run(["/bin/sh", "-c", cleanup.replace("\\%", "%")], env={"PATH": os.environ["PATH"], **variables},
                          capture_output=True, text=True, timeout=30)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert {path.name for path in (repo / "logs").iterdir()} == logs


def test_the_weekly_check_writes_the_tombstone_of_an_article_taken_down(tmp_path: Path) -> None:
    """deploy/crontab.example's weekly line on the dataset a backfill by hand built, once the
    site took one article down (its page answers 404): a tombstone for it, nothing else."""
    root = tmp_path / "mirror"
    site = generate_site(root, n_articles=12, per_page=5, term_archives=False)
    repo = checkout(tmp_path / "srv")
    variables, commands = cron_jobs(CRONTAB.read_text(encoding="utf-8"))
    variables["REPO"] = str(repo)
    output = repo / "output" / "georgiatoday"
    with MirrorServer(root) as server:
        backfill = run_line(crawl_job(commands), variables, tmp_path, server.base_url, "-a", "mode=full")
        assert backfill.returncode == 0, backfill.stderr[-3000:] + backfill.stdout
        articles = {path: path.read_bytes() for path in output.glob("*.jsonl")}
        assert sum(len(read_jsonl(path)) for path in articles) == 12
        taken_down = site.articles[4]
        shutil.rmtree(root / unquote(taken_down.path).strip("/"))
        check = run_line(crawl_job(commands, "check"), variables, tmp_path, server.base_url)
        assert (check.returncode, check.stdout) == (0, ""), check.stderr[-3000:]
    fields = summary_fields(day_log(repo).read_text(encoding="utf-8").splitlines()[-1])
    assert (fields["mode"], fields["deleted"], fields["moved"], fields["health"]) == ("check", "1", "0", "ok")
    assert (fields["new"], fields["updated"], fields["reexported"], fields["items"]) == ("0", "0", "0", "0")
    [tombstones] = (output / "tombstones").glob("*.jsonl")
    assert [(t["url"], t["reason"]) for t in read_jsonl(tombstones)] == [(taken_down.url, "http_404")]
    assert {path: path.read_bytes() for path in output.glob("*.jsonl")} == articles  # nothing re-exported


@pytest.mark.parametrize(
    ("doc", "after", "directory"),
    [(CRON_MD, "ready-made crontab", "/srv/newsspider"),
     (DEPLOY_MD, "## Cron, with the installed command", "/var/lib/newsspider")],
)
def test_cron_lines_of_the_docs(tmp_path: Path, site: SiteManifest, doc: Path, after: str, directory: str) -> None:
    """The crontab lines docs/cron.md and docs/deploy.md show: a quiet log in the day's file
    (the backfill by hand, the weekly check finding nothing to write, then an unchanged
    hourly run of four lines), output under the directory."""
    repo = checkout(tmp_path / "srv")
    block = cron_block(doc, after).replace(directory, str(repo)).replace("/opt/newsspider/bin/", f"{repo}/.venv/bin/")
    variables, commands = cron_jobs(block)
    hourly, weekly = crawl_job(commands), crawl_job(commands, "check")
    log = Log(repo)
    with MirrorServer(site.root) as server:
        for job, extra in ((hourly, ("-a", "mode=full")), (weekly, ()), (hourly, ())):
            result = run_line(job, variables, tmp_path, server.base_url, *extra)
            assert (result.returncode, result.stdout) == (0, ""), result.stderr[-3000:]
            lines = log.new()
            if job is weekly:
                fields = summary_fields(lines[-1])
                assert (fields["mode"], fields["health"], fields["output"]) == ("check", "ok", "none"), lines[-1]
    assert [shape(line) for line in lines] == documented_quiet_run(), "\n".join(lines)
    assert len(list((repo / "output" / "georgiatoday").glob("*.jsonl"))) == 1
    assert day_log(repo).is_file()
    assert any(c.startswith(f"find {repo}/logs ") for c in commands)
