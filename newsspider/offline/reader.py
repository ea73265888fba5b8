"""Archived records read by their index slot (warcio): what ``reextract`` keeps of each
(``Entry``) and the Scrapy response the crawl's callback received, rebuilt."""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from scrapy.http import Headers, Response
from scrapy.responsetypes import responsetypes
from warcio.archiveiterator import ArchiveIterator

from newsspider.crawl.archive import CALLBACK_HEADER, CANONICAL_HEADER, POST_PAGE_HEADER
from newsspider.normalize import parse_moment
from newsspider.offline.files import UnreadableInput
from newsspider.offline.index import Entry, Slot

#: Callbacks whose responses may be article pages (records without the header: any HTML):
#: the article callback, and the spider's router ``parse``, which pages failing in an earlier
#: run are asked again through (a listing among them is turned down by ``check_article``).
ARTICLE_CALLBACKS = frozenset({"parse_article", "parse"})


@dataclass
class Record:
    """A response or revisit record as read: what is kept of it, its HTTP headers, its content."""

    entry: Entry
    http: Any  # warcio's StatusAndHeaders, or None
    content: bytes
    callback: str | None  # X-Newsspider-Callback

    @property
    def candidate(self) -> bool:
        """May be page 1 of an article, as the crawl handed it to its article callback."""
        entry = self.entry
        if not 200 <= entry.status < 300 or entry.post_page:
            return False
        if self.callback:
            return self.callback in ARTICLE_CALLBACKS
        return "html" in (self.http.get_header("Content-Type") or "").lower()


class Reader:
    """Reads records by their slot (one open file per archive); a revisit's payload from
    its original in ``originals`` (payload digest -> slot)."""

    def __init__(self, files: Mapping[int, Path], originals: Mapping[str, Slot]) -> None:
        self.files = files
        self.originals = originals
        self._open: dict[int, IO[bytes]] = {}

    def read(self, slot: Slot) -> Record | None:
        """The response or revisit record in ``slot`` (None: another kind of record).
        Raises ``UnreadableInput``."""
        path = self.files[slot.file]
        fh = self._open.get(slot.file)
        if fh is None:
            fh = self._open[slot.file] = path.open("rb")
        fh.seek(slot.offset)
        data = fh.read(slot.length)
        if len(data) < slot.length:
            raise UnreadableInput(f"{path}: cut off at byte {slot.offset + len(data)}, inside the record "
                                  f"its index puts at {slot.offset}")
        try:
            record = next(iter(ArchiveIterator(io.BytesIO(data))), None)
            if record is None or record.format != "warc":
                raise UnreadableInput(f"{path}: no WARC record at offset {slot.offset}")
            content = record.content_stream().read()
        except UnreadableInput:
            raise
        except Exception as exc:  # warcio/zlib errors
            raise UnreadableInput(f"{path}: not a readable WARC record at offset {slot.offset} "
                                  f"({type(exc).__name__}: {exc})") from exc
        if record.rec_type not in ("response", "revisit"):
            return None
        headers, http = record.rec_headers, record.http_headers
        date = parse_moment(headers.get_header("WARC-Date"))
        if date is None:
            raise UnreadableInput(f"{path}: the record at offset {slot.offset} has no valid WARC-Date")
        try:
            status = int(http.get_statuscode()) if http is not None else 0
        except ValueError:
            status = 0
        target = headers.get_header("WARC-Target-URI") or ""
        page = headers.get_header(POST_PAGE_HEADER)
        entry = Entry(slot, record.rec_type, target, headers.get_header(CANONICAL_HEADER) or target, date,
                      headers.get_header("WARC-Payload-Digest") or "", status,
                      int(page) if page and page.isdigit() else None)
        return Record(entry, http, content, headers.get_header(CALLBACK_HEADER))

    def response(self, record: Record) -> Response | None:
        """The Scrapy response the crawl's callback received (same class, URL, headers,
        body); a revisit's body from its original; None when that is not in the inputs."""
        body: bytes | None = record.content
        if record.entry.kind == "revisit":
            original = self.originals.get(record.entry.digest)
            found = self.read(original) if original is not None else None
            body = found.content if found is not None else None
        if body is None:
            return None
        entry = record.entry
        headers = Headers(record.http.headers if record.http is not None else [])
        cls = responsetypes.from_args(headers=headers, url=entry.target, body=body)
        return cls(url=entry.target, status=entry.status, headers=headers, body=body)

    def close(self) -> None:
        for fh in self._open.values():
            fh.close()
        self._open.clear()
