"""The WARC records of a fetch: the project's header names, payload digests and dates,
the HTTP status line and headers as received (marked where the stored body differs from
the wire), and the bytes of the response (or revisit) and request records, written by
warcio's ``WARCWriter``, one gzip member per record.  Pure functions of their arguments:
no file, no crawler."""

from __future__ import annotations

import base64
import hashlib
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone
from http import HTTPStatus
from io import BytesIO
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders
from warcio.timeutils import datetime_to_iso_date
from warcio.warcwriter import WARCWriter

if TYPE_CHECKING:
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
#: zlib level of each record's gzip member.  warcio's own ``gzip=True`` is level 9: 1.8 ms
#: for an 80 KB Georgia Today page against 0.18 ms, for files a fifth smaller; with it the
#: crawl of bench/archive.py spent 1.40x the CPU per page of a crawl without archive, 1.18x
#: at level 1.
GZIP_LEVEL = 1


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


def gzipped(*records: Any) -> list[bytes]:
    """``records`` (made by ``WARCWriter``'s ``create_*`` methods) as warcio writes them,
    each its own gzip member (a reader can start at any record) at level ``GZIP_LEVEL``."""
    writer = WARCWriter(None, gzip=False, warc_version="WARC/1.1")
    members = []
    for record in records:
        writer.out = buffer = BytesIO()
        writer.write_record(record)
        compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, zlib.MAX_WBITS | 16)
        members.append(compressor.compress(buffer.getvalue()) + compressor.flush())
    return members


def fetch_records(url: str, body: bytes, digest: str, date: str, http: StatusAndHeaders,
                  request_http: StatusAndHeaders, fields: dict[str, str],
                  original: tuple[str, str] | None) -> tuple[ArcWarcRecord, list[bytes]]:
    """The response (or, when ``original`` = (URI, date) of the first record of the same
    payload, a revisit of it) and request records of one fetch: the first record (for
    the file's index) and the gzip members of both."""
    writer = WARCWriter(None, warc_version="WARC/1.1")
    fields = {**fields, "WARC-Payload-Digest": digest}
    if original is not None:
        record = writer.create_revisit_record(url, digest, original[0], original[1], http_headers=http,
                                              warc_headers_dict=fields)
    else:
        record = writer.create_warc_record(url, "response", payload=BytesIO(body), length=len(body),
                                           http_headers=http, warc_headers_dict=fields)
    request = writer.create_warc_record(url, "request", http_headers=request_http, warc_headers_dict={
        "WARC-Date": date, "WARC-Concurrent-To": record.rec_headers.get_header("WARC-Record-ID")})
    return record, gzipped(record, request)


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


#: What a header keeps as it is: tab and printable ASCII (warcio writes header blocks in ASCII).
_HEADER_SAFE = "\t" + "".join(map(chr, range(0x20, 0x7F)))


def _text(value: bytes) -> str:
    """A header name or value as text; bytes beyond ASCII (which HTTP allows in values)
    percent-encoded."""
    return value.decode("ascii") if value.isascii() else quote(value, safe=_HEADER_SAFE)


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
