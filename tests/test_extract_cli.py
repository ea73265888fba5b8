"""``python -m newsspider.dev.extract``: the single-page tool users debug selectors with."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import FIXTURES, REPO


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "newsspider.dev.extract", *args], cwd=REPO, capture_output=True, text=True, timeout=60
    )


def test_prints_the_item_as_one_json_line(schema_validator) -> None:
    expected = json.loads((FIXTURES / "sample-batumi-boulevard.json").read_text(encoding="utf-8"))
    result = _run(str(FIXTURES / "sample-batumi-boulevard.html"), "--url", expected["url"])
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    item = json.loads(lines[0])
    assert {k: item[k] for k in ("url", "title", "authors", "published", "body", "image_credit")} == {
        k: expected[k] for k in ("url", "title", "authors", "published", "body", "image_credit")
    }
    assert "“" in lines[0] or "’" in lines[0], "UTF-8, not ASCII-escaped"
    schema_validator.validate(item)


def test_multi_page_post_with_further_pages() -> None:
    expected = json.loads((FIXTURES / "sample-mobile-library-multipage.json").read_text(encoding="utf-8"))
    result = _run(
        str(FIXTURES / "sample-mobile-library-multipage.html"),
        "--page", str(FIXTURES / "sample-mobile-library-multipage.page2.html"),
        "--url", expected["url"],
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["body"] == expected["body"]


def test_not_an_article_exits_1_with_a_message() -> None:
    result = _run(str(FIXTURES / "static-page-about-us.html"))
    assert result.returncode == 1
    assert result.stdout == ""
    assert "not an article" in result.stderr and "page type 'page'" in result.stderr


def test_missing_file_exits_1_with_a_message() -> None:
    result = _run(str(FIXTURES / "no-such-page.html"))
    assert result.returncode == 1
    assert "cannot read page" in result.stderr


def test_deeply_nested_markup_prints_an_item(tmp_path: Path) -> None:
    """3,000 nested inline tags before the first paragraph: an item, not a traceback."""
    from test_extraction import nested_page

    page = tmp_path / "deep.html"
    page.write_bytes(nested_page(3000))
    expected = json.loads((FIXTURES / "sample-batumi-boulevard.json").read_text(encoding="utf-8"))
    result = _run(str(page), "--url", expected["url"])
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert json.loads(result.stdout)["title"] == expected["title"]
