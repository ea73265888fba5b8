"""WARC archive of every page the spider parses: crawl once, re-extract forever.

``WarcArchive`` (an extension) and ``WarcArchiveMiddleware`` (a spider middleware that hands
it exactly the responses reaching a callback) write one ``<UTC timestamp>.warc.gz`` per run
into ``NEWSSPIDER_ARCHIVE_DIR`` — only in a real crawl (``NEWSSPIDER_CRAWL_COMMAND`` true)
and only when that directory setting is not empty — and beside it its CDXJ index
``<UTC timestamp>.cdxj`` (``cdxj-indexer``'s, the index pywb reads).

Format (WARC/1.1, written with warcio's ``WARCWriter``, one gzip member per record):

* one ``warcinfo`` record: software and versions, spider arguments, settings that matter;
* per parsed response a ``request`` record and a ``response`` record: the HTTP status line
  and headers as received (Scrapy's header-name case), the body as served after transfer
  and content decoding.  When the stored body is not the bytes on the wire, the headers say
  so the way Common Crawl does: ``Transfer-Encoding``/``Content-Encoding``/``Content-Length``
  become ``X-Crawler-Transfer-Encoding``/``X-Crawler-Content-Encoding``/
  ``X-Crawler-Content-Length`` and ``Content-Length`` is the stored payload's length;
* ``WARC-Date`` is the fetch time (the ``response_downloaded`` signal), microseconds;
* a payload already archived (same ``WARC-Payload-Digest``, this run or an earlier one) is a
  ``revisit`` record, profile ``identical-payload-digest``, pointing at the original;
* project fields: ``X-Newsspider-Canonical-URI`` (the ``https://georgiatoday.ge/...`` URL a
  mirror's ``WARC-Target-URI`` stands for), ``X-Newsspider-Callback`` (the spider callback
  that parsed it: ``parse_article``, ``parse_listing`` …) and ``X-Newsspider-Post-Page``
  (``2``, ``3`` … for the further pages of a multi-page post).

Writing happens in the crawl's thread, before the callback runs: the middleware hands the
response to ``WarcArchive.record``, which appends its records to the ``.part`` with
unbuffered writes.  Once that returns they are in the OS: ``kill -9`` loses nothing
written, and no item of the page can have reached the output before.

Crash safety, as for the JSON Lines output: the run writes ``<name>.warc.gz.part`` (locked
with ``flock`` while the run lives), and ``finish()`` — the commit point calls it before
committing the state — seals it (``files.seal``): fsync, rename, the CDXJ index written
atomically, directory fsync.  ``recover_archive_parts()`` turns the ``.part`` of a dead
run into a readable, indexed ``.warc.gz``, dropping a cut-off last record.  A write error
is a WARNING, ``newsspider/archive/failed`` and ``WarcArchive.failed``; the crawl goes on
without archiving and the run exits 1.

Digest index: ``<archive dir>/digests.sqlite3`` maps each archived payload digest to the
first response record holding it (URI, date, file).  It is only a cache of the archives:
files not yet in it (a recovered ``.part``, a copied-in archive, a deleted index) are
scanned when the extension starts, files gone from the directory forgotten; a finished
file's digests are added by ``finish()``.

Modules: ``writer`` (the ``WarcArchive`` extension: the run's file, what each page's
records say, the writes, ``finish()``), ``middleware`` (``WarcArchiveMiddleware``),
``format`` (header names and the gzipped WARC records of a fetch), ``files`` (file names,
the CDXJ index, ``seal``), ``recovery`` (``recover_archive_parts``), ``digests``
(``DigestIndex``), ``reading`` (the complete gzip members of a file, for recovery and
``scrapy reextract``).  The settings name
``newsspider.crawl.archive.writer.WarcArchive`` and
``newsspider.crawl.archive.middleware.WarcArchiveMiddleware``.
"""

from newsspider.crawl.archive.files import PART_SUFFIX, index_path
from newsspider.crawl.archive.format import (
    CALLBACK_HEADER,
    CANONICAL_HEADER,
    INFO_BASE_URL,
    INFO_CANONICAL,
    POST_PAGE_HEADER,
    fetched_at,
    http_response_headers,
    payload_digest,
)
from newsspider.crawl.archive.reading import complete_members

#: What the spider, the offline rebuild and the tests use; the rest (``WarcArchive``,
#: ``WarcArchiveMiddleware``, ``recover_archive_parts``) is imported from its own module.
__all__ = [
    "CALLBACK_HEADER",
    "CANONICAL_HEADER",
    "INFO_BASE_URL",
    "INFO_CANONICAL",
    "PART_SUFFIX",
    "POST_PAGE_HEADER",
    "complete_members",
    "fetched_at",
    "http_response_headers",
    "index_path",
    "payload_digest",
]
