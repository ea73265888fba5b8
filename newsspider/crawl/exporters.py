"""JSON Lines export without Scrapy's per-field machinery for our dataclass items.

Scrapy's ``JsonLinesItemExporter`` builds an ``ItemAdapter`` and runs a serializer lookup
for every field of every item (~0.2 ms an article).  ``ArticleItem`` has no field
serializers and only JSON-native values, so the same line — the same encoder, the same
field order (the dataclass's), every field present — is built from the dataclass fields
directly.  Anything else (other items, ``fields_to_export``, serializers) goes through
Scrapy's code unchanged.
"""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from functools import cache
from typing import Any

from scrapy.exporters import JsonLinesItemExporter
from scrapy.utils.python import to_bytes


@cache
def _plain_fields(cls: type) -> tuple[str, ...] | None:
    """The field names of a dataclass none of whose fields has a serializer, else None."""
    found = fields(cls)
    return None if any("serializer" in f.metadata for f in found) else tuple(f.name for f in found)


class DataclassJsonLinesExporter(JsonLinesItemExporter):
    def export_item(self, item: Any) -> None:
        plain = self.fields_to_export is None and is_dataclass(item) and not isinstance(item, type)
        names = _plain_fields(item.__class__) if plain else None
        if names is None:
            super().export_item(item)
            return
        data = self.encoder.encode({name: getattr(item, name) for name in names}) + "\n"
        self.file.write(to_bytes(data, self.encoding))
