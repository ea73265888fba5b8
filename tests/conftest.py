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

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SCHEMA_PATH = REPO / "newsspider" / "schema" / "article.schema.json"

sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture(scope="session")
def schema_validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def run_crawl(
    base_url: str,
    output: Path,
    *extra: str,
    mode: str = "full",
    log_file: Path | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """``scrapy crawl georgiatoday`` against a local mirror, as the evaluation runs it."""
    log_file = log_file or output.with_suffix(".log")
    command = [
        sys.executable, "-m", "scrapy", "crawl", "georgiatoday",
        "-a", f"base_url={base_url}", "-a", f"mode={mode}",
        "-O", str(output),
        "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False",
        "-s", "HTTPCACHE_ENABLED=False", "-s", f"LOG_FILE={log_file}",
        *extra,
    ]
    if not any(arg.startswith("NEWSSPIDER_STATE_PATH=") for arg in extra):
        command += ["-s", f"NEWSSPIDER_STATE_PATH={output.with_suffix('.state.sqlite3')}"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def log_records(log_file: Path, level: str) -> list[str]:
    text = log_file.read_text(encoding="utf-8") if log_file.exists() else ""
    return [line for line in text.splitlines() if f"] {level}:" in line]
