"""The project under a real scrapyd (docs/deploy.md), as a user deploys and runs it.

A scrapyd daemon starts on 127.0.0.1 in a temporary directory with its own
``scrapyd.conf`` (items_dir set, as for its web UI), from a Python that has the project's
dependencies but not the project (docs/deploy.md, step 1: the deployed egg is the only
newsspider it can import); ``scrapyd-deploy`` builds the project's egg from a copy of the
repository and uploads it (``addversion.json``) with the version the doc uses, scrapyd-deploy's
default; ``schedule.json`` runs two crawls of the bundled snapshot, served by a
``MirrorServer``, passing spider arguments and settings: a healthy one and one stopped early
by ``CLOSESPIDER_ITEMCOUNT``.  The crawl processes run in scrapyd's directory, with no
``scrapy.cfg`` and no project on ``PYTHONPATH``: only the egg's ``scrapy`` entry point tells
them the settings module.  A redeploy runs the new code; a failed deploy is caught by the
doc's check.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, read_jsonl
from scrapy.utils.project import get_project_settings

from newsspider.dev.devserver import MirrorServer

SNAPSHOT = REPO / "newsspider" / "dev" / "snapshot"
PROJECT_FILES = ("newsspider", "pyproject.toml", "setup.py", "scrapy.cfg", "README.md")
BIN = Path(sys.executable).parent
TIMEOUT = 60.0


@dataclass
class Scrapyd:
    root: Path
    url: str
    log: Path

    def get(self, endpoint: str, **params: str) -> dict[str, Any]:
        query = urllib.parse.urlencode(params)
        with urllib.request.urlopen(f"{self.url}/{endpoint}?{query}", timeout=10) as reply:
            data: dict[str, Any] = json.load(reply)
        return data

    def post(self, endpoint: str, fields: list[tuple[str, str]]) -> dict[str, Any]:
        body = urllib.parse.urlencode(fields).encode()
        with urllib.request.urlopen(f"{self.url}/{endpoint}", data=body, timeout=30) as reply:
            data: dict[str, Any] = json.load(reply)
        return data

    def job_log(self, job: str) -> str:
        return (self.root / "logs" / "newsspider" / "georgiatoday" / f"{job}.log").read_text(encoding="utf-8")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _clean_env() -> dict[str, str]:
    """No project settings or path leaking in from the test process."""
    return {k: v for k, v in os.environ.items() if not k.startswith("SCRAPY") and k != "PYTHONPATH"}


def scrapyd_python(root: Path) -> Path:
    """A Python with scrapyd and the project's dependencies but not the project, as
    docs/deploy.md's step 1 leaves scrapyd's environment: a venv that sees this one's
    site-packages as a plain path, so the editable install of the repository (a ``.pth``
    hook there) is not active and only the deployed egg can provide ``newsspider``."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True, timeout=60)
    python = root / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    paths = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    (Path(purelib) / "dependencies.pth").write_text("\n".join(paths) + "\n", encoding="utf-8")
    probe = subprocess.run([str(python), "-c", "import scrapyd, warcio, spidermon; import newsspider"],
                           cwd=root, env=_clean_env(), capture_output=True, text=True, timeout=60)
    assert "No module named 'newsspider'" in probe.stderr, probe.stderr
    return python


@contextlib.contextmanager
def start_scrapyd(root: Path, items_dir: bool) -> Iterator[Scrapyd]:
    """A scrapyd daemon in ``root`` (its working directory) with its own ``scrapyd.conf``."""
    port = _free_port()
    root.mkdir(parents=True, exist_ok=True)
    python = scrapyd_python(root / "python")
    (root / "scrapyd.conf").write_text(
        "[scrapyd]\n"
        f"bind_address = 127.0.0.1\nhttp_port = {port}\n"
        f"eggs_dir = {root / 'eggs'}\nlogs_dir = {root / 'logs'}\ndbs_dir = {root / 'dbs'}\n"
        f"items_dir = {root / 'items' if items_dir else ''}\n"
        "poll_interval = 0.2\nmax_proc = 3\n",
        encoding="utf-8",
    )
    log = root / "scrapyd.out"
    with log.open("wb") as out:
        process = subprocess.Popen([str(python), "-m", "scrapyd", "--pidfile", str(root / "twistd.pid")], cwd=root,
                                   env=_clean_env(), stdout=out, stderr=subprocess.STDOUT)
    daemon = Scrapyd(root, f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                assert daemon.get("daemonstatus.json")["status"] == "ok"
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(log.read_text(encoding="utf-8", errors="replace")) from None
                time.sleep(0.1)
        yield daemon
    finally:
        process.terminate()
        process.wait(timeout=20)


def copy_project(daemon: Scrapyd, project: Path) -> Path:
    """A copy of the project with a ``[deploy:test]`` target in its ``scrapy.cfg``."""
    project.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_FILES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, project / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, project / name)
    with (project / "scrapy.cfg").open("a", encoding="utf-8") as cfg:
        cfg.write(f"\n[deploy:test]\nurl = {daemon.url}/\nproject = newsspider\n")
    return project


#: docs/deploy.md, step 3: scrapyd-deploy's default version, and the check of scrapyd's reply
#: (scrapyd-deploy itself exits 0 when scrapyd refuses the egg).
DEPLOY = "scrapyd-deploy test | tee /dev/stderr | grep -q '\"status\": \"ok\"'"


def scrapyd_deploy(project: Path) -> tuple[int, dict[str, Any]]:
    """The doc's deploy command in ``project``: its exit status and scrapyd's reply."""
    result = subprocess.run(["sh", "-c", DEPLOY], cwd=project, capture_output=True, text=True, timeout=120,
                            env={**_clean_env(), "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"})
    replies = [line for line in result.stderr.splitlines() if line.startswith("{")]
    assert len(replies) == 1, result.stderr
    reply: dict[str, Any] = json.loads(replies[0])
    return result.returncode, reply


def deploy(daemon: Scrapyd, project: Path) -> str:
    """The project deployed as the doc says; its version."""
    status, reply = scrapyd_deploy(project)
    assert status == 0 and reply["status"] == "ok" and reply["spiders"] == 1, reply
    assert daemon.get("listspiders.json", project="newsspider")["spiders"] == ["georgiatoday"]
    version: str = reply["version"]
    return version


def wait_for(daemon: Scrapyd, *job_ids: str) -> dict[str, dict[str, Any]]:
    """The listjobs.json entries of the jobs, once all have finished."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        listing = daemon.get("listjobs.json", project="newsspider")
        finished = {job["id"]: job for job in listing["finished"]}
        if set(job_ids) <= set(finished):
            return finished
        assert time.monotonic() < deadline, (listing, daemon.log.read_text(encoding="utf-8")[-3000:])
        time.sleep(0.2)


@pytest.fixture(scope="module")
def scrapyd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scrapyd]:
    """scrapyd with items_dir set (items listed in its web UI)."""
    with start_scrapyd(tmp_path_factory.mktemp("scrapyd"), items_dir=True) as daemon:
        yield daemon


@pytest.fixture(scope="module")
def deployed(scrapyd: Scrapyd, tmp_path_factory: pytest.TempPathFactory) -> str:
    return deploy(scrapyd, copy_project(scrapyd, tmp_path_factory.mktemp("project")))


@pytest.fixture(scope="module")
def jobs(scrapyd: Scrapyd, deployed: str) -> dict[str, dict[str, Any]]:
    """Two jobs scheduled at once, waited for; their listjobs.json entries by job id."""
    with MirrorServer(SNAPSHOT / "site") as server:
        common = [("project", "newsspider"), ("spider", "georgiatoday"),
                  ("base_url", server.base_url), ("mode", "full")]
        healthy = scrapyd.post("schedule.json", [*common, ("jobid", "healthy")])
        stopped = scrapyd.post("schedule.json", [
            *common, ("jobid", "stopped"),
            ("setting", "CLOSESPIDER_ITEMCOUNT=1"), ("setting", "NEWSSPIDER_STATE_PATH=state/stopped.sqlite3"),
        ])
        bad = scrapyd.post("schedule.json", [*common[:3], ("mode", "fast"), ("jobid", "badarg")])
        typo = scrapyd.post("schedule.json", [*common, ("jobid", "badsetting"),
                                               ("setting", "NEWSSPIDER_STATE_PATHH=state/typo.sqlite3")])
        replies = (healthy, stopped, bad, typo)
        assert all(reply["status"] == "ok" for reply in replies), replies
        return wait_for(scrapyd, "healthy", "stopped", "badarg", "badsetting")


def _summary(log: str) -> str:
    lines = [line for line in log.splitlines() if "Summary:" in line]
    assert len(lines) == 1, log[-3000:]
    return lines[0]


def test_healthy_job_items_and_summary(scrapyd: Scrapyd, jobs: dict[str, dict[str, Any]]) -> None:
    log = scrapyd.job_log("healthy")
    feed = scrapyd.root / "items" / "newsspider" / "georgiatoday" / "healthy.jl"
    truth = read_jsonl(SNAPSHOT / "truth.jsonl")
    assert sorted(item["url"] for item in read_jsonl(feed)) == sorted(t["url"] for t in truth), log[-3000:]
    summary = _summary(log)
    assert "finish_reason=finished health=ok" in summary
    assert f"items=4 output={feed} " in summary
    assert "'finish_reason': 'finished'" in log
    assert log.index("Dumping Scrapy stats") < log.index("Summary:"), "docs/deploy.md: the stats dump, then the Summary"
    assert "] ERROR:" not in log
    assert jobs["healthy"]["items_url"].endswith("/items/newsspider/georgiatoday/healthy.jl")
    # archived too, from the deployed egg
    assert "WARC archive" not in log and "Archived 11 responses in archive/georgiatoday/" in log


def test_paths_are_relative_to_the_jobs_directory(scrapyd: Scrapyd, jobs: dict[str, dict[str, Any]]) -> None:
    """The state lands under scrapyd's working directory; scrapyd's items_dir feed
    replaces the default dated output (docs/deploy.md)."""
    assert (scrapyd.root / "state" / "georgiatoday.sqlite3").is_file()
    assert (scrapyd.root / "state" / "stopped.sqlite3").is_file()
    assert not (scrapyd.root / "output").exists()


def test_unhealthy_job_is_visible(scrapyd: Scrapyd, jobs: dict[str, dict[str, Any]]) -> None:
    log = scrapyd.job_log("stopped")
    summary = _summary(log)
    assert ("finish_reason=closespider_itemcount health=unhealthy "
            "problems=\"finish reason 'closespider_itemcount'\"") in summary
    assert "'finish_reason': 'closespider_itemcount'" in log
    assert "WARNING: Unhealthy run: finish reason 'closespider_itemcount'" in log
    daemon_log = scrapyd.log.read_text(encoding="utf-8")
    died = [line for line in daemon_log.splitlines() if "Process died: exitstatus=1" in line]
    assert len([line for line in died if "job='stopped'" in line]) == 1, daemon_log[-3000:]
    assert not any("Process died" in line and "job='healthy'" in line for line in daemon_log.splitlines())


def test_bad_spider_argument_fails_the_job_at_once(scrapyd: Scrapyd, jobs: dict[str, dict[str, Any]]) -> None:
    daemon_log = scrapyd.log.read_text(encoding="utf-8")
    assert any("Process died: exitstatus=2" in line and "job='badarg'" in line for line in daemon_log.splitlines())
    assert "error: bad spider argument: mode must be one of full, incremental, check, got 'fast'" in daemon_log
    assert "Usage" not in daemon_log and "Traceback" not in daemon_log
    # stopped before the crawl (and its logging) started: no job log at all
    assert not (scrapyd.root / "logs" / "newsspider" / "georgiatoday" / "badarg.log").exists()


def test_unknown_setting_fails_the_job_at_once(scrapyd: Scrapyd, jobs: dict[str, dict[str, Any]]) -> None:
    daemon_log = scrapyd.log.read_text(encoding="utf-8")
    assert any("Process died: exitstatus=2" in line and "job='badsetting'" in line for line in daemon_log.splitlines())
    assert ("error: unknown setting NEWSSPIDER_STATE_PATHH (-s); did you mean NEWSSPIDER_STATE_PATH?"
            in daemon_log)
    assert not (scrapyd.root / "logs" / "newsspider" / "georgiatoday" / "badsetting.log").exists()
    assert not (scrapyd.root / "state" / "typo.sqlite3").exists()


def test_without_items_dir_the_default_output_is_under_the_jobs_directory(tmp_path: Path) -> None:
    """scrapyd's default (items_dir empty): the project's own dated, atomic output, relative
    to scrapyd's working directory; spider arguments and the job id pass through."""
    with start_scrapyd(tmp_path / "scrapyd", items_dir=False) as daemon, MirrorServer(SNAPSHOT / "site") as server:
        deploy(daemon, copy_project(daemon, tmp_path / "project"))
        reply = daemon.post("schedule.json", [("project", "newsspider"), ("spider", "georgiatoday"),
                                              ("jobid", "plain"), ("base_url", server.base_url), ("mode", "full")])
        assert reply["status"] == "ok", reply
        job = wait_for(daemon, "plain")["plain"]
    outputs = list((daemon.root / "output" / "georgiatoday").glob("*.jsonl"))
    assert len(outputs) == 1 and outputs[0].suffix == ".jsonl", outputs
    truth = read_jsonl(SNAPSHOT / "truth.jsonl")
    assert sorted(item["url"] for item in read_jsonl(outputs[0])) == sorted(t["url"] for t in truth)
    log = daemon.job_log("plain")
    assert f"health=ok items=4 output={outputs[0].relative_to(daemon.root)} " in _summary(log)
    started = [line for line in daemon.log.read_text(encoding="utf-8").splitlines() if "Process started" in line]
    assert len(started) == 1 and "'-a', '_job=plain'" in started[0], started  # the spider accepts _job
    assert not (daemon.root / "items").exists() and job.get("items_url") is None


def _user_agents(daemon: Scrapyd, server: MirrorServer, job: str) -> set[str]:
    """The user agents the job sent (a short incremental run: no state, no archive)."""
    reply = daemon.post("schedule.json", [
        ("project", "newsspider"), ("spider", "georgiatoday"), ("jobid", job), ("base_url", server.base_url),
        ("setting", "NEWSSPIDER_STATE_PATH="), ("setting", "NEWSSPIDER_ARCHIVE_DIR="),
    ])
    assert reply["status"] == "ok", reply
    wait_for(daemon, job)
    return {request.user_agent for request in server.requests}


def _next_second(version: str) -> None:
    """scrapyd-deploy's default version is the time in seconds: one version per deploy."""
    while str(int(time.time())) <= version:
        time.sleep(0.1)


def test_a_redeploy_runs_the_new_code(scrapyd: Scrapyd, deployed: str, jobs: dict[str, dict[str, Any]],
                                      tmp_path: Path) -> None:
    """docs/deploy.md, step 3 again after the jobs above: a deploy scrapyd cannot load (a
    dependency missing from its environment) fails the doc's check — scrapyd-deploy itself
    exits 0 — and stays stored as the newest version until delversion.json removes it; then
    changed code (its USER_AGENT) deployed with the doc's default version is what runs, as
    scrapyd runs the highest version (a git hash would be sorted as a string)."""
    project = copy_project(scrapyd, tmp_path / "project")
    settings = project / "newsspider" / "settings.py"
    original = settings.read_text(encoding="utf-8")
    settings.write_text(original + "import a_dependency_not_installed\n", encoding="utf-8")
    _next_second(deployed)
    status, reply = scrapyd_deploy(project)
    assert status == 1
    assert reply["status"] == "error" and "No module named 'a_dependency_not_installed'" in reply["message"]
    versions = scrapyd.get("listversions.json", project="newsspider")["versions"]
    assert len(versions) == 2 and versions[0] == deployed, versions
    assert scrapyd.post("delversion.json", [("project", "newsspider"), ("version", versions[1])])["status"] == "ok"

    changed = "newsspider/0.2 (+mailto:ops@example.org)"
    assert get_project_settings()["USER_AGENT"] != changed
    settings.write_text(re.sub(r"(?m)^USER_AGENT = .*$", f"USER_AGENT = {changed!r}", original), encoding="utf-8")
    _next_second(versions[1])
    redeployed = deploy(scrapyd, project)
    assert scrapyd.get("listversions.json", project="newsspider")["versions"] == [deployed, redeployed]
    with MirrorServer(SNAPSHOT / "site") as server:
        assert _user_agents(scrapyd, server, "redeployed") == {changed}
