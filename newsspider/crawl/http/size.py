"""Pages over ``DOWNLOAD_MAXSIZE``: a counted, pending drop, never a silent one.

Scrapy gives up on a page too large in three ways, each its own signal:

* a ``Content-Length`` over the limit: the HTTP/1.1 handler cancels the download with a
  ``DownloadCancelledError`` naming the size;
* a body without ``Content-Length`` that grows past it: the handler cancels the download
  (a ``DownloadCancelledError`` with no message: in Scrapy 2.19 the size limit is the
  only reason that handler cancels a download);
* a compressed body (a gzip bomb) that inflates past it: ``HttpCompressionMiddleware``
  raises ``IgnoreRequest`` (its only reason to).

``PageSizeMiddleware`` takes the place of ``HttpCompressionMiddleware`` (same order,
same decoding) and turns each into ``PageTooLarge``: not retried, and the request's
errback (``newsspider.crawl.run.failures``) counts the page as ``dropped/too_large`` and
keeps it pending, asked again by later runs like any broken page.
"""

from __future__ import annotations

from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.exceptions import DownloadCancelledError, IgnoreRequest
from scrapy.http import Request, Response

from newsspider.crawl.run.failures import PageTooLarge


class PageSizeMiddleware(HttpCompressionMiddleware):
    """``HttpCompressionMiddleware`` whose size limit, and the download handler's, raise
    ``PageTooLarge`` (module doc)."""

    # without the spider argument, deprecated since Scrapy 2.19
    def process_response(self, request: Request, response: Response) -> Request | Response:  # type: ignore[override]
        try:
            return super().process_response(request, response)
        except IgnoreRequest as exc:  # decompressed past DOWNLOAD_MAXSIZE
            raise PageTooLarge(str(exc)) from exc

    def process_exception(self, request: Request, exception: Exception) -> None:
        if isinstance(exception, DownloadCancelledError):
            raise PageTooLarge(f"over DOWNLOAD_MAXSIZE: {exception}" if str(exception)
                               else "over DOWNLOAD_MAXSIZE") from exception
