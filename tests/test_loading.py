"""docs/fields.md, "Loading the data": its pandas and DuckDB snippets, taken from the doc's
text, run on the output of a real crawl of the bundled demo snapshot (the documented
``newsspider crawl``, from the directory the snippets read ``output/georgiatoday/`` in), and
on the item ``newsspider extract`` makes of a page that gives the day only — beside the
crawl's file (offsets ``+00:00`` and ``+04:00`` in one dataset) and alone (a file whose
``subtitle``, ``summary``, ``modified``, ``image_credit`` are null in every line).  Every
column must come out with its type: dates time-zone aware, integers nullable integers, text
nullable strings, lists lists; and every value equal to the JSON's.  Its "Tombstones"
snippet, after the pandas one, drops the rows of the articles deleted or moved since, as
``newsspider compact`` does."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import asdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
from conftest import FIXTURES, REPO, SCHEMA_PATH, read_jsonl

from newsspider import offline
from newsspider.dev.devserver import MirrorServer
from newsspider.items import Tombstone

DOC = REPO / "docs" / "fields.md"
SNAPSHOT = REPO / "newsspider" / "dev" / "snapshot" / "site"
DAY_ONLY_PAGE = FIXTURES / "no-structured-data.html"

FIELDS = list(json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))["required"])
DATES = {"published", "modified", "crawled_at"}
INTEGERS = {"post_id", "word_count"}
LISTS = {"authors", "categories", "tags"}
TEXT = set(FIELDS) - DATES - INTEGERS - LISTS


def _snippet(language: str, title: str = "Loading the data") -> str:
    """The one ``language`` code block of the doc's section ``title``."""
    section = DOC.read_text(encoding="utf-8").split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(rf"^```{language}\n(.*?)^```$", section, flags=re.S | re.M)
    assert len(blocks) == 1, f"one {language} block in the section, found {len(blocks)}"
    return blocks[0]


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("SCRAPY_")}, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "newsspider.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def datasets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Directories holding ``output/georgiatoday/*.jsonl``: the crawl's, the crawl's plus a
    later file with the day-only article, and that file alone."""
    crawl = tmp_path_factory.mktemp("crawl")
    with MirrorServer(SNAPSHOT) as server:
        result = _cli(crawl, "crawl", "-a", f"base_url={server.base_url}", "-a", "mode=full",
                      "-s", "NEWSSPIDER_ARCHIVE_DIR=", "--logfile", "crawl.log")
    assert result.returncode == 0, result.stderr[-3000:]
    extracted = _cli(crawl, "extract", str(DAY_ONLY_PAGE), "--url",
                     "https://georgiatoday.ge/parliament-approves-amendments-to-the-tax-code/")
    assert extracted.returncode == 0, extracted.stderr
    later = "2099-01-01T00-00-00+00-00.jsonl"
    both, alone = tmp_path_factory.mktemp("both"), tmp_path_factory.mktemp("alone")
    shutil.copytree(crawl / "output", both / "output")
    for directory in (both, alone):
        (directory / "output" / "georgiatoday").mkdir(parents=True, exist_ok=True)
        (directory / "output" / "georgiatoday" / later).write_text(extracted.stdout, encoding="utf-8")
    return {"crawl": crawl, "crawl and a day-only article": both, "a day-only article alone": alone}


def _lines(directory: Path) -> list[dict[str, Any]]:
    """Every line of the dataset, in the order of the sorted file names (as both snippets read)."""
    return [row for path in sorted((directory / "output" / "georgiatoday").glob("*.jsonl")) for row in read_jsonl(path)]


def test_the_datasets_hold_what_the_rules_are_about(datasets: dict[str, Path]) -> None:
    """The cases are real: four crawled articles; a day-only ``published`` at midnight
    Tbilisi beside ``+00:00`` values; columns null in every line of a file."""
    crawl = _lines(datasets["crawl"])
    assert len(crawl) == 4 and {row["published"][-6:] for row in crawl} == {"+00:00"}
    both = _lines(datasets["crawl and a day-only article"])
    assert both[-1]["published"] == "2025-06-03T00:00:00+04:00" and len(both) == 5
    alone = _lines(datasets["a day-only article alone"])
    assert len(alone) == 1
    assert [name for name in FIELDS if alone[0][name] is None] == ["subtitle", "summary", "modified", "image_credit"]


@pytest.mark.parametrize("case", ["crawl", "crawl and a day-only article", "a day-only article alone"])
def test_pandas_snippet_loads_every_column_with_its_type(
        datasets: dict[str, Path], case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(datasets[case])
    namespace: dict[str, Any] = {}
    exec(compile(_snippet("python"), f"{DOC} (pandas)", "exec"), namespace)
    articles: pd.DataFrame = namespace["articles"]
    assert list(articles.columns) == FIELDS
    for name in DATES:
        assert isinstance(articles[name].dtype, pd.DatetimeTZDtype), (name, articles[name].dtype)
    for name in INTEGERS:
        assert articles[name].dtype == pd.Int64Dtype(), (name, articles[name].dtype)
    for name in TEXT:
        dtype = articles[name].dtype
        assert isinstance(dtype, pd.StringDtype) and dtype.na_value is pd.NA, (name, dtype)
    expected = _lines(datasets[case])
    assert len(articles) == len(expected)
    for index, want in enumerate(expected):
        for name in FIELDS:
            got, value = articles.at[index, name], want[name]
            if value is None:
                assert got is (pd.NaT if name in DATES else pd.NA), (name, got)
            elif name in DATES:
                assert got == datetime.fromisoformat(value), (name, got, value)
            elif name in LISTS:
                assert isinstance(got, list) and got == value, (name, got)
            else:
                assert got == value, (name, got, value)


@pytest.mark.parametrize("case", ["crawl", "crawl and a day-only article", "a day-only article alone"])
def test_duckdb_snippet_loads_every_column_with_its_type(
        datasets: dict[str, Path], case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(datasets[case])
    connection = duckdb.connect()
    connection.execute(_snippet("sql"))
    types = {name: kind for name, kind, *_ in connection.sql("DESCRIBE articles").fetchall()}
    assert list(types) == FIELDS
    want_type = {**dict.fromkeys(DATES, "TIMESTAMP WITH TIME ZONE"), **dict.fromkeys(INTEGERS, "BIGINT"),
                 **dict.fromkeys(LISTS, "VARCHAR[]"), **dict.fromkeys(TEXT, "VARCHAR")}
    assert types == want_type
    rows = connection.sql("SELECT * FROM articles").fetchall()
    expected = _lines(datasets[case])
    for row, want in zip(rows, expected, strict=True):
        for name, got in zip(FIELDS, row, strict=True):
            value = want[name]
            if value is not None and name in DATES:
                value = datetime.fromisoformat(value)
            assert got == value, (name, got, value)


def _tombstone(article: dict[str, Any], detected_at: datetime, reason: str = "http_404",
               moved_to: str | None = None) -> dict[str, Any]:
    return asdict(Tombstone(url=article["url"], post_id=article["post_id"], detected_at=detected_at.isoformat(),
                            reason=reason, modified=article["modified"], moved_to=moved_to))


def _write(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")


@pytest.mark.parametrize("with_tombstones", [True, False])
def test_pandas_tombstone_snippet_drops_the_rows_deleted_since(
        datasets: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, with_tombstones: bool) -> None:
    """The crawl's four articles, a day later: the first answers 404, the second moved to a
    new URL (its line there in a later file), the third has a tombstone older than its line
    (it stays), the fourth was deleted (twice: the latest tombstone counts) and came back
    (its old row goes, its new one stays).
    The rows left are those ``newsspider compact`` keeps, with their types.  No
    ``tombstones/`` at all: every row stays."""
    shutil.copytree(datasets["crawl"] / "output", tmp_path / "output")
    outputs = tmp_path / "output" / "georgiatoday"
    crawl = _lines(tmp_path)
    first, moved, older, back = crawl
    crawled = datetime.fromisoformat(max(row["crawled_at"] for row in crawl))
    day, later = crawled + timedelta(days=1), crawled + timedelta(days=2)
    new_url = moved["url"].rstrip("/") + "-2/"
    again = [{**moved, "url": new_url, "crawled_at": (day + timedelta(seconds=5)).isoformat()},
             {**back, "crawled_at": later.isoformat()}]
    _write(outputs / "2099-01-01T00-00-00+00-00.jsonl", again)
    if with_tombstones:
        _write(outputs / "tombstones" / "2099-01-01T00-00-00+00-00.jsonl", [
            _tombstone(first, day), _tombstone(moved, day, "moved", new_url),
            _tombstone(older, crawled - timedelta(days=1), "redirected"), _tombstone(back, day, "http_410"),
            _tombstone(back, crawled - timedelta(days=2))])  # an earlier one: the latest counts
        expected = [older, *again]
    else:
        expected = [*crawl, *again]
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {}
    exec(compile(_snippet("python"), f"{DOC} (pandas)", "exec"), namespace)
    exec(compile(_snippet("python", "Tombstones (deletions and moves)"), f"{DOC} (tombstones)", "exec"), namespace)
    articles: pd.DataFrame = namespace["articles"]
    assert list(articles.columns) == FIELDS
    assert isinstance(articles["crawled_at"].dtype, pd.DatetimeTZDtype)
    assert isinstance(articles["url"].dtype, pd.StringDtype)
    assert list(zip(articles["url"], articles["crawled_at"], strict=True)) == [
        (row["url"], datetime.fromisoformat(row["crawled_at"])) for row in expected]
    merged = tmp_path / "dataset.jsonl"
    offline.compact([outputs], merged)
    assert sorted(row["url"] for row in read_jsonl(merged)) == sorted(articles["url"].drop_duplicates())
