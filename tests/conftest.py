"""Shared test helpers: the item JSON Schema and running the real ``scrapy crawl``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from scrapy.crawler import Crawler
from scrapy.utils.project import get_project_settings
from scrapy.utils.test import get_crawler

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SCHEMA_PATH = REPO / "newsspider" / "schema" / "article.schema.json"
TOMBSTONE_SCHEMA_PATH = REPO / "newsspider" / "schema" / "tombstone.schema.json"

sys.path.insert(0, str(Path(__file__).resolve().parent))

from newsspider.spiders.georgiatoday import GeorgiaTodaySpider  # noqa: E402


def load_validator(path: Path = SCHEMA_PATH) -> jsonschema.Draft202012Validator:
    """A validator of the item JSON Schema, or of the one at ``path`` (itself checked
    against the metaschema)."""
    schema = json.loads(path.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.fixture(scope="session")
def schema_validator() -> jsonschema.Draft202012Validator:
    return load_validator()


def project_crawler(**cmdline: Any) -> Crawler:
    """A crawler of the spider with the project's settings, as ``scrapy crawl`` loads them,
    plus ``cmdline`` values at command-line priority (like ``-s``); not frozen yet, as
    when the spider is created."""
    settings = get_project_settings()
    settings.setdict(cmdline, priority="cmdline")
    crawler = get_crawler(GeorgiaTodaySpider)
    crawler.settings = settings
    return crawler


def crawl_command(
    base_url: str,
    *extra: str,
    output: Path | None = None,
    mode: str | None = "full",
    log_file: Path,
    state: Path,
    archive: Path | None = None,
) -> list[str]:
    """``scrapy crawl georgiatoday`` against a local mirror, as the evaluation runs it;
    ``-s`` values in ``extra`` come last and win.  No WARC archive unless ``archive`` names
    its directory (a crawl run by the project's crawl command would otherwise archive into
    the repository's ``archive/``)."""
    command = [sys.executable, "-m", "scrapy", "crawl", "georgiatoday", "-a", f"base_url={base_url}"]
    if mode:
        command += ["-a", f"mode={mode}"]
    if output is not None:
        command += ["-O", str(output), "--with-state"]  # the state's behaviour is under test
    return [
        *command,
        "-s", f"NEWSSPIDER_STATE_PATH={state}",
        "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False",
        "-s", "HTTPCACHE_ENABLED=False", "-s", f"LOG_FILE={log_file}",
        "-s", f"NEWSSPIDER_ARCHIVE_DIR={archive or ''}",
        *extra,
    ]


def dated_feeds(directory: Path) -> dict[str, dict[str, Any]]:
    """FEEDS as the project's default ones, under ``directory``: dated, atomic, no file
    without items; the articles in it, the tombstones in its ``tombstones/``."""
    feed = {"format": "jsonlines", "encoding": "utf-8", "atomic": True, "store_empty": False}
    return {str(directory / "%(time)s.jsonl"): {**feed, "item_classes": ["newsspider.items.ArticleItem"]},
            str(directory / "tombstones" / "%(time)s.jsonl"): {**feed, "item_classes": ["newsspider.items.Tombstone"]}}


def crawl_env() -> dict[str, str]:
    """The project and ``tests/`` (test pipelines such as ``cron_helpers``) importable."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "tests")])}


def run_crawl(
    base_url: str,
    output: Path,
    *extra: str,
    mode: str = "full",
    log_file: Path | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """The crawl, to its end; its log and state sit next to ``output`` unless given."""
    command = crawl_command(base_url, *extra, output=output, mode=mode,
                            log_file=log_file or output.with_suffix(".log"),
                            state=output.with_suffix(".state.sqlite3"))
    return subprocess.run(command, cwd=REPO, env=crawl_env(), capture_output=True, text=True, timeout=timeout)


def start_crawl(base_url: str, output: Path, *extra: str) -> subprocess.Popen[str]:
    """``run_crawl``'s crawl, started in the background (to be signalled or raced)."""
    command = crawl_command(base_url, *extra, output=output, log_file=output.with_suffix(".log"),
                            state=output.with_suffix(".state.sqlite3"))
    return subprocess.Popen(command, cwd=REPO, env=crawl_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def log_text(log_file: Path) -> str:
    return log_file.read_text(encoding="utf-8") if log_file.exists() else ""


def log_records(log_file: Path, level: str) -> list[str]:
    return [line for line in log_text(log_file).splitlines() if f"] {level}:" in line]


def summary_fields(line: str) -> dict[str, str]:
    """The ``key=value`` fields of a ``Summary:`` line (values quoted when they hold spaces)."""
    import shlex

    return dict(part.split("=", 1) for part in shlex.split(line.split("Summary: ", 1)[1]))


def summary_line(log_file: Path) -> str:
    """The run's one ``Summary:`` line (the cron extension writes exactly one)."""
    lines = [line for line in log_text(log_file).splitlines() if "Summary:" in line]
    assert len(lines) == 1, log_text(log_file)[-3000:]
    return lines[0]
