"""The WARC records of a fetch: the project's header names, payload digests and dates,
the HTTP status line and headers as received (marked where the stored body differs from
the wire), the bytes of the response (or revisit) and request records, and their gzip
members.  Pure functions of their arguments: no file, no crawler."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone
from http import HTTPStatus
from io import BytesIO
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from isal import isal_zlib
from warcio.statusandheaders import StatusAndHeaders
from warcio.timeutils import datetime_to_iso_date
from warcio.warcwriter import WARCWriter

if TYPE_CHECKING:  # Scrapy is not imported at run time: the writer process does without
    from scrapy.http import Request, Response

CANONICAL_HEADER = "X-Newsspider-Canonical-URI"
CALLBACK_HEADER = "X-Newsspider-Callback"
POST_PAGE_HEADER = "X-Newsspider-Post-Page"
#: ``request.meta`` key: the fetch time (a UTC datetime) of the response to this request.
FETCHED_AT = "newsspider_fetched_at"
#: ``request.meta`` key: what the downloader received, before decompression (see ``_Fetch``).
_FETCH = "newsspider_fetch"
#: warcinfo fields naming the run's origins (``reextract`` maps URLs back with them).
INFO_BASE_URL = "base-url"
INFO_CANONICAL = "canonical-origin"


#: gzip levels of ISA-L (``NEWSSPIDER_ARCHIVE_GZIP_LEVEL``): 0 fastest … 3 smallest.
GZIP_LEVELS = range(isal_zlib.ISAL_BEST_SPEED, isal_zlib.ISAL_BEST_COMPRESSION + 1)
#: Default level.  On Georgia Today pages (bench/archive.py) level 1 gzips a page in
#: 0.08 ms to 13.0 KiB; zlib (Python's gzip) takes 0.34 ms at its fastest level, 0.39 ms
#: for 12.5 KiB at level 3.
GZIP_LEVEL = 1


def gzip_member(data: bytes, level: int = GZIP_LEVEL) -> bytes:
    """``data`` as one complete gzip member (RFC 1952: any gzip reader, warcio included)."""
    compressor = isal_zlib.compressobj(level, isal_zlib.DEFLATED, 16 + isal_zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


def payload_digest(body: bytes) -> str:
    """``sha1:<base32>``, the form warcio writes and checks."""
    return "sha1:" + base64.b32encode(hashlib.sha1(body).digest()).decode("ascii")


def fetched_at(response: Response) -> datetime | None:
    """When the response was downloaded (set while archiving), else None."""
    try:
        value = response.meta.get(FETCHED_AT)
    except AttributeError:  # a response without request
        return None
    return value if isinstance(value, datetime) else None


def warc_date(moment: datetime) -> str:
    return str(datetime_to_iso_date(moment.astimezone(timezone.utc).replace(tzinfo=None), use_micros=True))


def _record_bytes(writer: WARCWriter, record: Any) -> bytes:
    """One record, uncompressed."""
    buffer = BytesIO()
    writer.out = buffer
    writer.write_record(record)
    return buffer.getvalue()


def _pair_bytes(url: str, body: bytes, digest: str, date: str, http: StatusAndHeaders,
                request_http: StatusAndHeaders, fields: dict[str, str],
                original: tuple[str, str] | None) -> list[bytes]:
    """The response (or revisit of ``original``) and request records of one fetch."""
    writer = WARCWriter(None, gzip=False, warc_version="WARC/1.1")
    if original is not None:
        record = writer.create_revisit_record(url, digest, original[0], original[1], http_headers=http,
                                              warc_headers_dict=fields)
    else:
        record = writer.create_warc_record(url, "response", payload=BytesIO(body), length=len(body),
                                           http_headers=http, warc_headers_dict=fields)
    request = writer.create_warc_record(url, "request", http_headers=request_http, warc_headers_dict={
        "WARC-Date": date, "WARC-Concurrent-To": record.rec_headers.get_header("WARC-Record-ID")})
    return [_record_bytes(writer, record), _record_bytes(writer, request)]


@dataclass(frozen=True)
class _Fetch:
    """What the downloader got, before Scrapy's middlewares decoded it."""

    at: datetime
    protocol: str
    headers: tuple[tuple[bytes, bytes], ...]
    method: str
    request_headers: tuple[tuple[bytes, bytes], ...]


def _header_pairs(headers: Any) -> tuple[tuple[bytes, bytes], ...]:
    return tuple((bytes(name), bytes(value)) for name, values in headers.items() for value in values)


def _text(value: bytes) -> str:
    return value.decode("latin-1")


def http_response_headers(fetch: _Fetch, body: bytes, decoded_encoding: bool, status: int) -> StatusAndHeaders:
    """Status line and headers as received, marked where the stored body differs from the
    wire (decoded chunks or content coding)."""
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = ""
    pairs: list[tuple[str, str]] = []
    differs = False
    for raw_name, raw_value in fetch.headers:
        name, value = _text(raw_name), _text(raw_value)
        lower = name.lower()
        if lower == "transfer-encoding" or (lower == "content-encoding" and decoded_encoding):
            pairs.append((f"X-Crawler-{name}", value))
            differs = True
            continue
        pairs.append((name, value))
    length_wrong = any(n.lower() == "content-length" and v.strip() != str(len(body)) for n, v in pairs)
    if differs or length_wrong:
        pairs = [(f"X-Crawler-{n}", v) if n.lower() == "content-length" else (n, v) for n, v in pairs]
        pairs.append(("Content-Length", str(len(body))))
    return StatusAndHeaders(f"{status} {reason}".strip(), pairs, protocol=fetch.protocol)


def http_request_headers(url: str, fetch: _Fetch | None, request: Request) -> StatusAndHeaders:
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    pairs = [(_text(n), _text(v)) for n, v in (fetch.request_headers if fetch else _header_pairs(request.headers))]
    if not any(n.lower() == "host" for n, _ in pairs):
        pairs.insert(0, ("Host", parts.netloc))
    method = fetch.method if fetch else request.method
    protocol = fetch.protocol if fetch else "HTTP/1.1"
    return StatusAndHeaders(f"{method} {target} {protocol}", pairs, is_http_request=True)
