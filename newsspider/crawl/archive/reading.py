"""Reading archive files as gzip members: where the complete records of a file end (the
recovery of a ``.part`` and ``scrapy reextract`` of an unfinished run read only those)."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import IO


def complete_members(fh: IO[bytes], chunk: int = 1 << 16) -> Iterator[int]:
    """End offsets of the complete gzip members of ``fh``, in order; stops at the first
    incomplete or corrupt one."""
    fh.seek(0)
    offset = 0  # where the current member starts
    data = fh.read(chunk)
    while data:
        decomp = zlib.decompressobj(zlib.MAX_WBITS | 16)
        fed = 0  # bytes of this member fed before ``data``
        while True:
            try:
                decomp.decompress(data)
            except zlib.error:
                return
            if decomp.eof:
                rest = decomp.unused_data
                offset += fed + len(data) - len(rest)
                yield offset
                data = rest or fh.read(chunk)
                break
            fed += len(data)
            data = fh.read(chunk)
            if not data:
                return  # EOF inside a member
