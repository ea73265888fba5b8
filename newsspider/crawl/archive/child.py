"""The archive's writer process: ``python -m newsspider.crawl.archive.child``, started by
``WarcArchive`` with the run's ``.part`` open on an inherited descriptor and two pipes.
Per fetched page it hashes the body, chooses response or revisit (this run's payloads,
then the digest index), builds the records (warcio), gzips each (ISA-L) and appends them
with one ``write``, then acknowledges: the crawl holds a page's items until then, so an
exported article is always in the file.  Imports stay light (no Scrapy): it starts while
the crawl does.

Messages (pickled, ``multiprocessing.connection``): in ``("record", seq, url, body, date,
http, request_http, fields)`` and ``("finish",)``; out ``(seq, kind, error)`` per record
(``kind`` ``response``/``revisit``; ``error`` the ``(errno, strerror)`` of a failed write,
after which every later record answers with it) and ``("finished", written, error)``
(``written``: ``(digest, uri, date)`` of each response record, for the digest index).
The crawl's death closes the pipe: what was received is written, the rest is the next
run's recovery."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import sys
from multiprocessing.connection import Connection
from pathlib import Path

from newsspider.crawl.archive.digests import DigestIndex
from newsspider.crawl.archive.format import _pair_bytes, gzip_member, payload_digest


def serve(fd: int, level: int, index_path: str, inbox: Connection, outbox: Connection) -> None:
    """Write what ``inbox`` brings to the file ``fd``, after what is there already."""
    index = DigestIndex(Path(index_path).parent) if index_path else None
    digests: dict[str, tuple[str, str]] = {}
    written: list[tuple[str, str, str]] = []
    error: tuple[int, str] | None = None  # (errno, strerror) of the failed write
    while True:
        try:
            message = inbox.recv()
        except EOFError:
            return  # the crawl is gone: the .part stays for the next run's recovery
        if message[0] == "finish":
            outbox.send(("finished", written, error))
            return
        _, seq, url, body, date, http, request_http, fields = message
        digest = payload_digest(body)
        original = digests.get(digest) or _earlier(index, digest)
        kind = "response" if original is None else "revisit"
        if error is None:
            fields["WARC-Payload-Digest"] = digest
            failure = append(fd, _pair_bytes(url, body, digest, date, http, request_http, fields, original), level)
            if failure is not None:
                error = (failure.errno or 0, failure.strerror or str(failure))
            elif original is None:
                digests[digest] = (url, date)
                written.append((digest, url, date))
        outbox.send((seq, kind, error))


def append(fd: int, records: list[bytes], level: int) -> OSError | None:
    """Gzip each record as its own member and append them to ``fd`` with one unbuffered
    ``write`` (in the OS once written, whatever happens to either process).  A failed
    write is cut off again, leaving no cut-off record; returns its error."""
    blob = memoryview(b"".join(gzip_member(data, level) for data in records))
    start = os.lseek(fd, 0, os.SEEK_CUR)
    try:
        while blob:
            blob = blob[os.write(fd, blob):]
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.ftruncate(fd, start)
        return exc
    return None


def _earlier(index: DigestIndex | None, digest: str) -> tuple[str, str] | None:
    """The first record of ``digest`` in an earlier run's archive; an unreadable index
    (only a cache) means none: a whole response record, never a wrong revisit."""
    if index is None:
        return None
    try:
        return index.lookup(digest)
    except sqlite3.Error:
        return None


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the crawl, which says when to stop
    if hasattr(signal, "SIGXFSZ"):
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a file size limit is an EFBIG write error
    fd, level, inbox_fd, outbox_fd = (int(arg) for arg in sys.argv[1:5])
    index_path = sys.argv[5] if len(sys.argv) > 5 else ""
    serve(fd, level, index_path, Connection(inbox_fd, writable=False), Connection(outbox_fd, readable=False))


if __name__ == "__main__":
    main()
