"""Reading archived records at their offsets, and the Scrapy response the crawl's callback
received rebuilt from a record."""

from __future__ import annotations

from typing import IO, Any

from scrapy.http import Headers, Response
from scrapy.responsetypes import responsetypes
from warcio.archiveiterator import ArchiveIterator

from newsspider.offline.scan import Archive, Entry


class Reader:
    """Reads archived records at their offsets (one open file per archive)."""

    def __init__(self, archive: Archive) -> None:
        self.archive = archive
        self._files: dict[int, IO[bytes]] = {}

    def _record(self, entry: Entry) -> Any:
        fh = self._files.get(entry.file)
        if fh is None:
            fh = self._files[entry.file] = self.archive.files[entry.file].open("rb")
        fh.seek(entry.offset)
        return next(iter(ArchiveIterator(fh)))

    def payload(self, entry: Entry) -> bytes | None:
        """The entry's body; a revisit's comes from the record it refers to."""
        if entry.kind == "revisit":
            original = self.archive.by_digest.get(entry.digest)
            if original is None:
                return None
            entry = original
        data: bytes = self._record(entry).content_stream().read()
        return data

    def response(self, entry: Entry) -> Response | None:
        """The Scrapy response the crawl's callback received (same class, URL, headers,
        body); None for a revisit whose original is not in the inputs."""
        record = self._record(entry)
        if entry.kind == "revisit":
            body = self.payload(entry)
            if body is None:
                return None
        else:
            body = record.content_stream().read()
        return make_response(entry, record.http_headers.headers, body)

    def close(self) -> None:
        for fh in self._files.values():
            fh.close()
        self._files.clear()


def make_response(entry: Entry, headers: list[tuple[str, str]], body: bytes) -> Response:
    """The Scrapy response the crawl's callback received: same class (by headers, URL and
    body, as Scrapy's downloader picks it), URL, status, headers and body."""
    scrapy_headers = Headers(headers)
    cls = responsetypes.from_args(headers=scrapy_headers, url=entry.target, body=body)
    return cls(url=entry.target, status=entry.status, headers=scrapy_headers, body=body)
