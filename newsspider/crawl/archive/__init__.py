"""WARC archive of every page the spider parses: crawl once, re-extract forever.

``WarcArchive`` (an extension) and ``WarcArchiveMiddleware`` (a spider middleware that hands
it exactly the responses reaching a callback) write one ``<UTC timestamp>.warc.gz`` per run
into ``NEWSSPIDER_ARCHIVE_DIR`` — only in a real crawl (``NEWSSPIDER_CRAWL_COMMAND`` true)
and only when that directory setting is not empty.

Format (WARC/1.1, written with warcio, one gzip member per record):

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

Writing: a writer process (``child``, started with the run's first page; ``process`` is
the crawl's side) hashes each body, chooses response or revisit, builds the records
(warcio), gzips each (ISA-L, ``isal``) and appends them to the ``.part`` with one
unbuffered ``write``, then acknowledges the page.  The crawl's thread only sends the page
(about a tenth of the work), and the middleware holds a callback's items until their
page is acknowledged — almost always already, since the writer works while the callback
parses.  (Writing on the crawl's thread cost it 10–12% of its throughput; a writer thread,
more: its Python work competes with the crawl for the GIL.)

Crash safety, as for the JSON Lines output: the run writes ``<name>.warc.gz.part`` (in the
OS after every record: ``kill -9`` loses at most the record being written, and never one
whose item was exported; locked with ``flock`` while the run lives), and ``finish()``
fsyncs and renames it — the lead's commit point calls it before committing the state.
``recover_archive_parts()`` turns the ``.part`` of a dead run into a readable ``.warc.gz``,
dropping a cut-off last record.  A write error is a WARNING, ``newsspider/archive/failed``
and ``WarcArchive.failed``; the crawl goes on without archiving.

Digest index: ``<archive dir>/digests.sqlite3`` maps each archived payload digest to the
first response record holding it (URI, date, file).  It is only a cache of the archives:
files not yet in it (a recovered ``.part``, a copied-in archive, a deleted index) are
scanned when the extension starts, files gone from the directory forgotten; a finished
file's digests are added by ``finish()``.

Modules: ``writer`` (the ``WarcArchive`` extension: the run's file, what each page's
records say, ``finish()``), ``process`` and ``child`` (the writer process),
``middleware`` (``WarcArchiveMiddleware``), ``format`` (header names and the WARC records
of a fetch), ``files`` (file names), ``recovery`` (``recover_archive_parts``), ``digests``
(``DigestIndex``), ``reading`` (the complete gzip members of a file and the next one
from any byte, for recovery and ``scrapy reextract``).  The settings name
``newsspider.crawl.archive.writer.WarcArchive`` and
``newsspider.crawl.archive.middleware.WarcArchiveMiddleware``.
"""

from newsspider.crawl.archive.files import PART_SUFFIX
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
#: ``WarcArchiveMiddleware``, ``recover_archive_parts``) is imported from its own module:
#: this package stays importable without Scrapy, as the writer process needs.
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
    "payload_digest",
]
