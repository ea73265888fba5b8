"""The labeled page sets the accuracy and speed parts run on — all in the repository.

* ``fixtures``  — ``tests/fixtures/<case>.html`` (+ ``_pages`` for multi-page posts) with the
  expected item in ``<case>.json``; non-articles (``_not_article``/``_expect_drop``) skipped.
  Provenance of each page: ``tests/fixtures/README.md``.
* ``sample``    — ``newsspider/dev/snapshot/site`` with its ``truth.jsonl`` (full items): the public offline
  sample of georgiatoday.ge the demo serves (``newsspider/dev/snapshot/MARKUP.md``), the four article pages.
* ``jnews-real``— real third-party JNews pages in ``tests/fixtures/jnews-real`` with
  ``labels.jsonl`` (title, published, authors, categories, tags, first/last paragraph,
  paragraph count; no full body); provenance in ``tests/fixtures/jnews-real/README.md``.

A set whose directory is missing is skipped with a note in the report.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures"
SAMPLE = REPO / "newsspider" / "dev" / "snapshot" / "site"
SAMPLE_TRUTH = REPO / "newsspider" / "dev" / "snapshot" / "truth.jsonl"


@dataclass
class LabeledPage:
    set: str
    name: str
    url: str
    pages: list[bytes]                    # page 1 first (multi-page posts: all pages)
    expected: dict[str, Any]              # item fields (full body) or jnews-real labels
    full_body: bool = True                # False: only first/last paragraph + count known
    notes: list[str] = field(default_factory=list)


def fixture_pages(notes: list[str]) -> list[LabeledPage]:
    if not FIXTURES.is_dir():
        notes.append("tests/fixtures absent: fixture set skipped")
        return []
    out = []
    for spec in sorted(FIXTURES.glob("*.json")):
        data = json.loads(spec.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("_not_article") or data.get("_expect_drop"):
            continue
        if "body" not in data or "title" not in data:
            continue
        names = data.get("_pages") or [spec.with_suffix(".html").name]
        files = [FIXTURES / n for n in names]
        if not all(f.is_file() for f in files):
            notes.append(f"fixture {spec.stem}: HTML missing, skipped")
            continue
        url = data.get("_canonical_url") or data.get("url") or "https://georgiatoday.ge/"
        out.append(LabeledPage("fixtures", spec.stem, url, [f.read_bytes() for f in files], data))
    return out


def _sample_dir_for(root: Path, url: str) -> Path:
    return root / unquote(urlsplit(url).path).strip("/")


def sample_pages(notes: list[str]) -> list[LabeledPage]:
    root, truth = SAMPLE, SAMPLE_TRUTH
    if not truth.is_file():
        notes.append(f"{truth} absent: sample set skipped")
        return []
    out = []
    for line in truth.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        item = json.loads(line)
        if item.get("bad"):
            continue
        folder = _sample_dir_for(root, item["url"])
        files = [folder / "index.html"]
        n = 2
        while (folder / str(n) / "index.html").is_file():
            files.append(folder / str(n) / "index.html")
            n += 1
        if not files[0].is_file():
            notes.append(f"sample {folder.name}: page missing, skipped")
            continue
        out.append(LabeledPage("sample", folder.name[:40], item["url"], [f.read_bytes() for f in files], item))
    return out


def jnews_pages(notes: list[str]) -> list[LabeledPage]:
    out: list[LabeledPage] = []
    seen: set[str] = set()
    found_any = False
    for root in (FIXTURES / "jnews-real",):
        labels = root / "labels.jsonl"
        if not labels.is_file():
            continue
        found_any = True
        for line in labels.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            label = json.loads(line)
            if label.get("kind") != "article":
                continue
            file = root / label["file"]
            if not file.is_file():
                continue
            body = file.read_bytes()
            digest = hashlib.sha1(body).hexdigest()
            if digest in seen:
                continue
            seen.add(digest)
            out.append(LabeledPage("jnews-real", file.stem, label["url"], [body], label, full_body=False))
    if not found_any:
        notes.append("jnews-real labels absent: jnews-real set skipped")
    return out


def all_pages(notes: list[str]) -> list[LabeledPage]:
    return fixture_pages(notes) + sample_pages(notes) + jnews_pages(notes)


def build_site(n_articles: int, seed: int = 5) -> Path:
    """The generated mirror (cached in ``bench/.work``: generating 10k articles takes ~20 s)."""
    site = REPO / "bench" / ".work" / f"site-{n_articles}-s{seed}"
    marker = site / ".bench-complete"
    if marker.is_file():
        return site
    sys.path.insert(0, str(REPO / "tests"))
    sys.path.insert(0, str(REPO))
    import sitegen  # type: ignore[import-not-found]

    started = time.perf_counter()
    sitegen.generate_site(site, n_articles=n_articles, seed=seed)
    marker.write_text(f"templates=tests/fixtures/site-templates\ngenerated in {time.perf_counter() - started:.1f}s\n")
    return site
