"""The ``newsspider`` entry point (``newsspider.cli``) run from a directory that is not the
repository: no ``scrapy.cfg`` anywhere above it, so only the entry point knows the project.
Relative outputs (``output/``, ``state/``) must land under that directory.  The operator's
path: ``--version``, ``crawl -h``, concise usage errors (bad spider arguments, mistyped
settings), ``serve`` and ``demo`` from an installed package, a port already in use."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import REPO, read_jsonl, summary_line

from newsspider.commands.crawl import KNOWN_SETTINGS
from newsspider.dev.devserver import MirrorServer

SNAPSHOT = REPO / "newsspider" / "dev" / "snapshot"
SETTINGS_HINT = "hint: settings are given with -s NAME=VALUE; newsspider/settings.py lists the project's, with defaults"


def _env(pythonpath: Path = REPO, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCRAPY_")}
    env["PYTHONPATH"] = str(pythonpath)  # the project importable, as after `pip install .`
    return {**env, **extra}


def _cli(cwd: Path, *args: str, timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "newsspider.cli", *args], cwd=cwd, env=_env(**env),
                          capture_output=True, text=True, timeout=timeout)


@contextmanager
def _serving(cwd: Path, *args: str, pythonpath: Path = REPO) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """``newsspider serve ARGS`` running; its base URL (the first line it prints)."""
    process = subprocess.Popen([sys.executable, "-m", "newsspider.cli", "serve", *args], cwd=cwd,
                               env=_env(pythonpath), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip(), process
    finally:
        process.terminate()
        process.wait(timeout=10)


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=10) as reply:
        return reply.status, reply.read()


def _no_scrapy_cfg_above(path: Path) -> None:
    assert not any((parent / "scrapy.cfg").exists() for parent in (path, *path.parents))


def test_crawl_from_another_directory_writes_under_it(tmp_path: Path) -> None:
    """The installed command as docs/deploy.md runs it from cron (that very line: test_crontab.py),
    against a mirror: the operator's USER_AGENT is sent."""
    _no_scrapy_cfg_above(tmp_path)
    agent = "newsspider/0.1 (+mailto:ops@example.org)"
    with MirrorServer(SNAPSHOT / "site") as server:
        result = _cli(tmp_path, "crawl", "-s", f"USER_AGENT={agent}", "--logfile", "crawl.log",
                      "-a", f"base_url={server.base_url}", "-a", "mode=full")
    assert result.returncode == 0, result.stderr[-3000:]
    assert {request.user_agent for request in server.requests} == {agent}
    outputs = list((tmp_path / "output" / "georgiatoday").glob("*.jsonl"))
    assert len(outputs) == 1, sorted(p.name for p in tmp_path.rglob("*"))
    truth = read_jsonl(SNAPSHOT / "truth.jsonl")
    assert sorted(item["url"] for item in read_jsonl(outputs[0])) == sorted(t["url"] for t in truth)
    assert (tmp_path / "state" / "georgiatoday.sqlite3").is_file()
    assert "health=ok" in summary_line(tmp_path / "crawl.log")
    # the archive is there too, and the offline commands work from the same directory
    assert len(list((tmp_path / "archive" / "georgiatoday").glob("*.warc.gz"))) == 1
    rebuilt = _cli(tmp_path, "reextract", "archive/georgiatoday", "-O", "rebuilt.jsonl", "-j", "1")
    assert rebuilt.returncode == 0, rebuilt.stderr[-3000:]
    assert read_jsonl(tmp_path / "rebuilt.jsonl") == read_jsonl(outputs[0])
    merged = _cli(tmp_path, "compact", "output/georgiatoday", "-O", "merged.jsonl")
    assert merged.returncode == 0, merged.stderr[-3000:]
    assert sorted(i["url"] for i in read_jsonl(tmp_path / "merged.jsonl")) == sorted(t["url"] for t in truth)


def test_crawl_keeps_the_crawl_commands_exit_status(tmp_path: Path) -> None:
    result = _cli(tmp_path, "crawl", "-a", "mode=fast")
    assert result.returncode == 2
    error = "error: bad spider argument: mode must be one of full, incremental, check, got 'fast'"
    assert result.stderr.splitlines()[0] == error
    assert "Usage" not in result.stderr and len(result.stderr.splitlines()) == 2, result.stderr
    assert not (tmp_path / "output").exists()


def test_version(tmp_path: Path) -> None:
    declared = re.search(r'^version = "(.+)"$', (REPO / "pyproject.toml").read_text(encoding="utf-8"), re.M)
    assert declared is not None
    result = _cli(tmp_path, "--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"newsspider {declared[1]}\n"


def test_crawl_help_lists_the_spider_arguments(tmp_path: Path) -> None:
    result = _cli(tmp_path, "crawl", "-h")
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())  # argparse wraps the lines
    assert "-s NAME=VALUE" in text and "-O FILE" in text  # Scrapy's options are still there
    assert "Spider Arguments" in text
    assert "-a mode=full|incremental|check incremental (the default, for cron): only what is new or changed" in text
    assert "check (weekly): every sitemap, every article of the dataset asked again conditionally" in text
    assert "-a since=YYYY-MM-DD skip articles published before this day" in text
    assert "-a base_url=URL fetch everything from this base (a mirror, the demo server)" in text
    assert "  -a since=YYYY-MM-DD" in result.stdout.splitlines()  # one argument a line, as the options


def test_demo_help_is_plain_text(tmp_path: Path) -> None:
    result = _cli(tmp_path, "demo", "-h")
    assert result.returncode == 0, result.stderr
    assert "Crawl the bundled offline snapshot" in result.stdout
    assert "``" not in result.stdout and "make demo" not in result.stdout


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (["-s", "NEWSSPIDER_STATE_PATHH=state/x.sqlite3"],
         "error: unknown setting NEWSSPIDER_STATE_PATHH (-s); did you mean NEWSSPIDER_STATE_PATH?"),
        (["-s", "NEWSPIDER_ARCHIVE_DIR=elsewhere/"],
         "error: unknown setting NEWSPIDER_ARCHIVE_DIR (-s); did you mean NEWSSPIDER_ARCHIVE_DIR?"),
        (["-s", "NEWSSPIDER_NO_SUCH_THING=1"], "error: unknown setting NEWSSPIDER_NO_SUCH_THING (-s)"),
        (["env", "SCRAPY_NEWSSPIDER_ARCHIVE_DIRS=elsewhere/"],
         "error: unknown setting NEWSSPIDER_ARCHIVE_DIRS (environment variable SCRAPY_NEWSSPIDER_ARCHIVE_DIRS); "
         "did you mean NEWSSPIDER_ARCHIVE_DIR?"),
        # Scrapy reads no settings from the environment: a right name there is ignored just as well
        (["env", "SCRAPY_NEWSSPIDER_STATE_PATH=state/x.sqlite3"],
         "error: environment variable SCRAPY_NEWSSPIDER_STATE_PATH is ignored by Scrapy: "
         "pass -s NEWSSPIDER_STATE_PATH=VALUE"),
    ],
)
def test_a_mistyped_setting_stops_the_crawl_before_anything(tmp_path: Path, given: list[str], message: str) -> None:
    env = dict([given[1].split("=", 1)]) if given[0] == "env" else {}
    options = [] if env else given
    with MirrorServer(SNAPSHOT / "site") as server:
        result = _cli(tmp_path, "crawl", "-a", f"base_url={server.base_url}", "-a", "mode=full", *options, **env)
        assert len(server.requests) == 0
    assert result.returncode == 2, result.stderr[-3000:]
    assert result.stderr.splitlines() == [message, SETTINGS_HINT]
    assert list(tmp_path.iterdir()) == [], "nothing written: no output, state, lock or archive"


def test_every_setting_the_code_reads_is_known() -> None:
    """Every ``"NEWSSPIDER_*"`` name the package reads has its default in settings.py:
    otherwise the code reads 0 or None, and the crawl command rejects ``-s`` of it as a typo."""
    used = {name for path in (REPO / "newsspider").rglob("*.py")
            for name in re.findall(r"\"(NEWSSPIDER_[A-Z_]+)\"", path.read_text(encoding="utf-8"))}
    assert used and sorted(used - set(KNOWN_SETTINGS)) == []


def test_crawl_accepts_the_spider_name_and_scrapy_options(tmp_path: Path) -> None:
    """``newsspider crawl georgiatoday -O file`` = ``newsspider crawl -O file``."""
    with MirrorServer(SNAPSHOT / "site") as server:
        result = _cli(tmp_path, "crawl", "georgiatoday", "-a", f"base_url={server.base_url}", "-a", "mode=full",
                      "-O", "articles.jsonl", "-s", "NEWSSPIDER_STATE_PATH=", "-L", "WARNING",
                      "-s", "NEWSPIDER_MODULE=newsspider.spiders")  # Scrapy's own, not a typo of ours
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(read_jsonl(tmp_path / "articles.jsonl")) == 4
    assert not (tmp_path / "output").exists(), "-O replaces the default dated output"
    assert "] INFO:" not in result.stderr


def test_demo_writes_under_the_current_directory(tmp_path: Path) -> None:
    """``make demo`` (``--port 8765``) while the dev server holds that port: a free one.  The
    full crawl writes every article of the snapshot; once one of them answers 404, the check
    run writes its tombstone and re-exports nothing; the state is gone at the end."""
    (tmp_path / "tmp").mkdir()  # the demo's temporary directory (its state) is made there
    with MirrorServer(SNAPSHOT / "site") as taken:
        result = _cli(tmp_path, "demo", "--port", str(taken.port), TMPDIR=str(tmp_path / "tmp"))
        assert len(taken.requests) == 0
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"port {taken.port} on 127.0.0.1 is in use (another dev server?): serving on port" in result.stderr
    assert "Traceback" not in result.stderr
    output = tmp_path / "output"
    items = read_jsonl(output / "demo.jsonl")
    assert sorted(item["url"] for item in items) == sorted(t["url"] for t in read_jsonl(SNAPSHOT / "truth.jsonl"))
    [tombstone] = read_jsonl(output / "demo-tombstones.jsonl")
    assert tombstone["url"] in {item["url"] for item in items} and tombstone["reason"] == "http_404"
    assert not (output / "demo-check.jsonl").exists()  # nothing unchanged re-exported
    assert result.stdout.splitlines()[1:] == [
        "4 articles written to output/demo.jsonl (crawl exit status 0)",
        f"then the site took {tombstone['url']} down (it answers 404): the check run (exit status 0)",
        "wrote 1 tombstone to output/demo-tombstones.jsonl (http_404) and re-exported nothing",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["output", "tmp"], "nothing else written"
    assert sorted(p.name for p in output.iterdir()) == ["demo-tombstones.jsonl", "demo.jsonl"]
    assert list((tmp_path / "tmp").iterdir()) == [], "the state's temporary directory is deleted"


def test_extract(tmp_path: Path) -> None:
    page = SNAPSHOT / "site" / "batumi-boulevard-reconstruction-enters-final-phase" / "index.html"
    result = _cli(tmp_path, "extract", str(page))
    assert result.returncode == 0, result.stderr
    expected = next(t for t in read_jsonl(SNAPSHOT / "truth.jsonl") if "batumi" in t["url"])
    item = json.loads(result.stdout)
    assert (item["url"], item["title"], item["body"]) == (expected["url"], expected["title"], expected["body"])


def test_usage(tmp_path: Path) -> None:
    assert _cli(tmp_path).returncode == 2
    unknown = _cli(tmp_path, "fetch")
    assert unknown.returncode == 2 and "unknown command 'fetch'" in unknown.stderr
    helped = _cli(tmp_path, "--help")
    assert helped.returncode == 0 and "newsspider crawl -h" in helped.stdout


def test_serve_serves_the_bundled_snapshot_from_any_directory(tmp_path: Path) -> None:
    with _serving(tmp_path, "--port", "0") as (base_url, _):
        assert base_url.startswith("http://127.0.0.1:")
        status, body = _get(base_url + "/batumi-boulevard-reconstruction-enters-final-phase/")
    page = SNAPSHOT / "site" / "batumi-boulevard-reconstruction-enters-final-phase" / "index.html"
    assert status == 200 and body == page.read_bytes()


def test_serve_on_a_port_in_use_takes_a_free_one(tmp_path: Path) -> None:
    with MirrorServer(tmp_path) as taken, _serving(tmp_path, "--port", str(taken.port)) as (base_url, process):
        assert base_url.startswith("http://127.0.0.1:") and not base_url.endswith(f":{taken.port}")
        assert _get(base_url + "/robots.txt")[0] == 200
        assert len(taken.requests) == 0
    assert process.stderr is not None
    port = base_url.rsplit(":", 1)[1]
    assert process.stderr.readline() == (f"port {taken.port} on 127.0.0.1 is in use (another dev server?): "
                                         f"serving on port {port} instead (--port N picks another)\n")


def test_installed_package_serves_its_snapshot(tmp_path: Path) -> None:
    """``pip install .`` (no checkout at run time): the snapshot ships with the package, so
    ``newsspider serve`` serves it, and ``--version`` reads the installed metadata."""
    source, target, work = tmp_path / "source", tmp_path / "installed", tmp_path / "work"
    shutil.copytree(REPO / "newsspider", source / "newsspider", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy2(REPO / name, source / name)
    installed = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target),
                                str(source)], capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stderr[-3000:]
    shutil.rmtree(source)  # nothing left to read but the installed copy
    work.mkdir()
    where = subprocess.run([sys.executable, "-c", "import newsspider; print(newsspider.__file__)"], cwd=work,
                           env=_env(target), capture_output=True, text=True, timeout=60)
    assert where.stdout.strip() == str(target / "newsspider" / "__init__.py"), where.stderr
    version = subprocess.run([sys.executable, "-m", "newsspider.cli", "--version"], cwd=work, env=_env(target),
                             capture_output=True, text=True, timeout=60)
    assert version.returncode == 0 and version.stdout.startswith("newsspider "), version.stderr
    with _serving(work, "--port", "0", pythonpath=target) as (base_url, _):
        assert _get(base_url + "/robots.txt")[0] == 200
        status, body = _get(base_url + "/post-sitemap.xml")
    assert status == 200 and body == (SNAPSHOT / "site" / "post-sitemap.xml").read_bytes()
