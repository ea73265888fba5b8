"""The fast JSON Lines exporter writes exactly the lines Scrapy's exporter writes."""

from __future__ import annotations

import io
import json

from conftest import FIXTURES
from scrapy.exporters import JsonLinesItemExporter

from newsspider.crawl.exporters import DataclassJsonLinesExporter
from newsspider.dev.extract import extract_html
from newsspider.extraction import NotAnArticle


def lines(exporter_class: type, items: list[object]) -> bytes:
    out = io.BytesIO()
    exporter = exporter_class(out, encoding="utf-8")
    exporter.start_exporting()
    for item in items:
        exporter.export_item(item)
    exporter.finish_exporting()
    return out.getvalue()


def test_same_bytes_as_scrapys_exporter_on_every_fixture_article() -> None:
    items = []
    for case in sorted(FIXTURES.glob("*.json")):
        expected = json.loads(case.read_text(encoding="utf-8"))
        html = case.with_suffix(".html")
        if not html.exists():
            continue
        try:
            items.append(extract_html(html.read_bytes(), expected.get("_canonical_url", "https://georgiatoday.ge/")))
        except NotAnArticle:
            continue
    assert len(items) >= 20  # Georgian, Cyrillic, quotes, nulls, lists: every shape of value
    assert lines(DataclassJsonLinesExporter, items) == lines(JsonLinesItemExporter, items)


def test_other_items_go_through_scrapys_code() -> None:
    items: list[object] = [{"url": "https://georgiatoday.ge/a/", "title": "ა"}, {"b": [1, None]}]
    assert lines(DataclassJsonLinesExporter, items) == lines(JsonLinesItemExporter, items)
