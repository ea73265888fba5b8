"""The ``newsspider`` entry point (``newsspider.cli``) run from a directory that is not the
repository: no ``scrapy.cfg`` anywhere above it, so only the entry point knows the project.
Relative outputs (``output/``, ``state/``) must land under that directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import REPO, read_jsonl, summary_line

from newsspider.dev.devserver import MirrorServer

SNAPSHOT = REPO / "newsspider" / "dev" / "snapshot"


def _cli(cwd: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCRAPY_")}
    env["PYTHONPATH"] = str(REPO)  # the project importable, as after `pip install .`
    return subprocess.run([sys.executable, "-m", "newsspider.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def _no_scrapy_cfg_above(path: Path) -> None:
    assert not any((parent / "scrapy.cfg").exists() for parent in (path, *path.parents))


def test_crawl_from_another_directory_writes_under_it(tmp_path: Path) -> None:
    _no_scrapy_cfg_above(tmp_path)
    with MirrorServer(SNAPSHOT / "site") as server:
        result = _cli(tmp_path, "crawl", "-a", f"base_url={server.base_url}", "-a", "mode=full",
                      "--logfile", "crawl.log")
    assert result.returncode == 0, result.stderr[-3000:]
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
    assert "bad spider argument" in result.stderr
    assert not (tmp_path / "output").exists()


def test_crawl_accepts_the_spider_name_and_scrapy_options(tmp_path: Path) -> None:
    """``newsspider crawl georgiatoday -O file`` = ``newsspider crawl -O file``."""
    with MirrorServer(SNAPSHOT / "site") as server:
        result = _cli(tmp_path, "crawl", "georgiatoday", "-a", f"base_url={server.base_url}", "-a", "mode=full",
                      "-O", "articles.jsonl", "-s", "NEWSSPIDER_STATE_PATH=", "-L", "WARNING")
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(read_jsonl(tmp_path / "articles.jsonl")) == 4
    assert not (tmp_path / "output").exists(), "-O replaces the default dated output"
    assert "] INFO:" not in result.stderr


def test_demo_writes_under_the_current_directory(tmp_path: Path) -> None:
    result = _cli(tmp_path, "demo")
    assert result.returncode == 0, result.stderr[-3000:]
    items = read_jsonl(tmp_path / "output" / "demo.jsonl")
    assert sorted(item["url"] for item in items) == sorted(t["url"] for t in read_jsonl(SNAPSHOT / "truth.jsonl"))
    assert "4 articles written to output/demo.jsonl (crawl exit status 0)" in result.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["output"], "nothing else written (no state)"


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
