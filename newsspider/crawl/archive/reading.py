"""Reading archive files as gzip members: where the complete records of a file end (the
recovery of a ``.part`` and ``scrapy reextract`` of an unfinished run read only those, and
agree on which they are)."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import IO

#: Most bytes of WARC headers looked at for a record's ``Content-Length`` (ours are < 2 KB).
MAX_HEADERS = 1 << 16


class _Record:
    """The decompressed bytes of one gzip member, as they come: is it a whole WARC record
    (its headers, then at least the ``Content-Length`` they declare)?"""

    def __init__(self) -> None:
        self.head = b""
        self.length: int | None = None  # the declared Content-Length, once the headers are read
        self.block = 0  # bytes after the headers

    def feed(self, data: bytes) -> None:
        if self.length is not None:
            self.block += len(data)
            return
        if len(self.head) > MAX_HEADERS:
            return
        self.head += data
        end = self.head.find(b"\r\n\r\n")
        if end >= 0:
            self.length = _content_length(self.head[:end]) if self.head.startswith(b"WARC/") else -1
            self.block = len(self.head) - end - 4
            self.head = b""

    def whole(self) -> bool:
        return self.length is not None and 0 <= self.length <= self.block


def _content_length(headers: bytes) -> int:
    for line in headers.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length" and value.strip().isdigit():
            return int(value)
    return -1


def complete_members(fh: IO[bytes], chunk: int = 1 << 16) -> Iterator[int]:
    """End offsets of the complete records of ``fh`` (one gzip member each), in order, in
    one streaming pass; stops at the first member that is cut off or corrupt, or whose
    WARC record is shorter than its declared ``Content-Length``."""
    fh.seek(0)
    offset = 0  # where the current member starts
    data = fh.read(chunk)
    while data:
        decomp = zlib.decompressobj(zlib.MAX_WBITS | 16)
        record = _Record()
        fed = 0  # bytes of this member fed before ``data``
        while True:
            try:
                record.feed(decomp.decompress(data))
            except zlib.error:
                return
            if decomp.eof:
                if not record.whole():
                    return
                rest = decomp.unused_data
                offset += fed + len(data) - len(rest)
                yield offset
                data = rest or fh.read(chunk)
                break
            fed += len(data)
            data = fh.read(chunk)
            if not data:
                return  # EOF inside a member
