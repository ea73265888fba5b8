"""Part 1: per-field exact-match rates and body quality on every labeled page.

Comparison rules (the same for every tool):
* strings: Unicode NFC, whitespace collapsed and trimmed; otherwise exact;
* ``published``: compared as an instant when both sides have a time with an offset; a
  date-only value (either side) is compared as the date written on the expected value; a
  naive date-time from a tool is compared as wall-clock time with the expected value as written;
* ``authors``: the ordered list; ``categories``/``tags``: order-insensitive (set) equality;
* body (full-body sets): token F1 (bag of lower-cased ``\\w+`` tokens) and paragraph F1
  (exact paragraphs, multiset precision/recall); jnews-real has only first/last paragraph and
  the paragraph count, so it reports first-¶ and last-¶ exact match and count match.
A field a tool does not provide is n/a, not a miss.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from datetime import date, datetime
from typing import Any

from pages import LabeledPage
from tools import Result, Tool, safe_run

FIELDS = ("title", "published", "authors", "categories", "tags")
FULL_BODY = ("token_f1", "para_f1", "body_exact")
JNEWS_BODY = ("first_para", "last_para", "para_count")


def norm(text: Any) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", str(text))).strip()


def _as_moment(value: Any) -> datetime | date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime | date):
        return value
    text = str(value).strip().replace("Z", "+00:00")
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return date.fromisoformat(text)
        return datetime.fromisoformat(text.replace(" ", "T", 1))
    except ValueError:
        return None


def same_published(expected: Any, got: Any) -> bool:
    want, have = _as_moment(expected), _as_moment(got)
    if want is None or have is None:
        return False
    want_dt = isinstance(want, datetime)
    have_dt = isinstance(have, datetime)
    if not want_dt or not have_dt:
        want_day = want.date() if want_dt else want
        have_day = have.date() if have_dt else have
        return want_day == have_day
    if want.tzinfo is not None and have.tzinfo is not None:
        return want == have
    return want.replace(tzinfo=None) == have.replace(tzinfo=None)


def _tokens(paragraphs: list[str]) -> Counter[str]:
    return Counter(re.findall(r"\w+", " ".join(paragraphs).casefold()))


def _f1(expected: Counter[str], got: Counter[str]) -> float:
    if not expected and not got:
        return 1.0
    overlap = sum((expected & got).values())
    if not overlap:
        return 0.0
    precision, recall = overlap / sum(got.values()), overlap / sum(expected.values())
    return 2 * precision * recall / (precision + recall)


def score(page: LabeledPage, tool: Tool, result: Result) -> dict[str, float | None]:
    exp = page.expected
    row: dict[str, float | None] = {}
    row["title"] = float(result.title is not None and norm(result.title) == norm(exp.get("title", "")))
    row["published"] = float(same_published(exp.get("published"), result.published))
    row["authors"] = (None if "authors" not in tool.has else
                      float([norm(a) for a in result.authors or []] == [norm(a) for a in exp.get("authors") or []]))
    for key in ("categories", "tags"):
        row[key] = (None if key not in tool.has else
                    float({norm(v) for v in getattr(result, key) or []} == {norm(v) for v in exp.get(key) or []}))
    got = [norm(p) for p in result.paragraphs if norm(p)]
    if page.full_body:
        want = [norm(p) for p in (exp.get("body") or "").split("\n\n") if norm(p)]
        row["token_f1"] = _f1(_tokens(want), _tokens(got))
        row["para_f1"] = _f1(Counter(want), Counter(got))
        row["body_exact"] = float(want == got)
    else:
        last = {norm(exp.get("last_paragraph", ""))}
        if exp.get("last_p_in_body"):
            last.add(norm(exp["last_p_in_body"]))
        row["first_para"] = float(bool(got) and got[0] == norm(exp.get("first_paragraph", "")))
        row["last_para"] = float(bool(got) and got[-1] in last)
        count = exp.get("content_paragraph_count")
        row["para_count"] = float(count is not None and len(got) == count)
    return row


def run(pages: list[LabeledPage], tools: list[Tool]) -> dict[str, Any]:
    """{set: {tool: {metric: mean or None}}}, per-page rows, and the failures seen."""
    per_page: list[dict[str, Any]] = []
    for page in pages:
        for tool in tools:
            if tool.extract is None:
                continue
            result = safe_run(tool, page.pages, page.url)
            row = score(page, tool, result)
            per_page.append({"set": page.set, "page": page.name, "tool": tool.name, "error": result.error, **row})
    summary: dict[str, dict[str, dict[str, float | None]]] = {}
    counts: dict[str, int] = Counter(p.set for p in pages)
    for page_set in dict.fromkeys(p.set for p in pages):
        summary[page_set] = {}
        metrics = FIELDS + (FULL_BODY if page_set != "jnews-real" else JNEWS_BODY)
        for tool in tools:
            rows = [r for r in per_page if r["set"] == page_set and r["tool"] == tool.name]
            if not rows:
                continue
            summary[page_set][tool.name] = {
                m: (None if any(r.get(m) is None for r in rows) else sum(r[m] for r in rows) / len(rows))
                for m in metrics
            }
    return {"summary": summary, "rows": per_page, "counts": dict(counts)}
