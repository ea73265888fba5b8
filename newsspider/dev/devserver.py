"""Static HTTP server for an offline georgiatoday.ge mirror, with fault injection.

The mirror layout is the one of ``shared/reference/georgiatoday-sample`` and of the
synthetic sites written by ``tests/sitegen.py``: every page is stored as
``<decoded URL path>/index.html``; ``robots.txt`` and the ``*.xml`` sitemaps sit at the
root; the RSS feed is ``feed/index.xml`` (served at ``/feed/``).

URL → file mapping (query strings are ignored for the lookup):

* the path is percent-decoded as UTF-8 (upper- or lower-case hex both work);
* ``/x/y/`` → ``root/x/y/index.html`` (or ``index.xml``, as for the feed);
* ``/robots.txt``, ``/post-sitemap.xml`` … → that file;
* ``/x/y`` whose directory exists → ``301`` to ``/x/y/`` (query kept), like WordPress;
* anything else → ``404`` with a small HTML body.

Tests use :class:`MirrorServer` as a context manager and read ``server.requests`` to check
request counts, user agents and politeness delays. :class:`FaultPlan` makes chosen paths
fail (status sequences, ``Retry-After``, slow or held responses, dropped connections,
truncated bodies, redirects, a site that moved, gzip bodies, bodies without
``Content-Length``, a failing robots.txt).

CLI (``make demo`` runs ``MirrorServer`` in-process): ``newsspider serve [ROOT] [--host H]
[--port N]`` (or ``python -m newsspider.dev.devserver …``) serves a mirror by hand, by
default the bundled snapshot on port 8765; on a port already taken it says so and serves
on a free one.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import gzip
import hashlib
import mimetypes
import socket
import sys
import threading
import time
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from newsspider.dev.faults import FaultAction, FaultPlan, FaultRule
from newsspider.dev.requestlog import DROPPED, LoggedRequest, RequestLog

__all__ = [
    "DROPPED",
    "FaultPlan",
    "FaultRule",
    "LoggedRequest",
    "MirrorServer",
    "RequestLog",
    "main",
    "open_server",
    "resolve_path",
]

#: The bundled snapshot (installed with the package): ``site/`` (the mirror) and
#: ``truth.jsonl`` (its expected items).
SNAPSHOT = Path(__file__).resolve().parent / "snapshot"
#: The port ``newsspider serve`` and ``make demo`` ask for first.
PORT = 8765

HTML_TYPE = "text/html; charset=UTF-8"
XML_TYPE = "application/xml; charset=UTF-8"
RSS_TYPE = "application/rss+xml; charset=UTF-8"
TEXT_TYPE = "text/plain; charset=UTF-8"
NOT_FOUND_BODY = (
    b"<!doctype html>\n<html><head><title>Page not found - Georgia Today</title></head>"
    b'<body class="error404"><h1>404 Not Found</h1><p>Nothing was found at this location.</p>'
    b"</body></html>\n"
)
STATUS_BODY = "<!doctype html>\n<html><body><h1>{code} {reason}</h1></body></html>\n"


# --------------------------------------------------------------------------- mapping


@dataclass(frozen=True)
class Resolved:
    """Result of mapping a URL path onto the mirror: a file, a redirect, or nothing."""

    file: Path | None = None
    redirect: str | None = None


def resolve_path(root: Path, raw_path: str) -> Resolved:
    """Map a raw request path (no query) to a file under ``root`` or a slash redirect."""
    decoded = unquote(raw_path, encoding="utf-8", errors="replace")
    parts = [p for p in decoded.split("/") if p]
    if any(p in (".", "..") or "\x00" in p for p in parts):
        return Resolved()
    target = root.joinpath(*parts)
    if decoded.endswith("/") or not parts:
        for index in ("index.html", "index.xml"):
            if (target / index).is_file():
                return Resolved(file=target / index)
        return Resolved()
    if target.is_file():
        return Resolved(file=target)
    if target.is_dir():
        return Resolved(redirect=raw_path + "/")
    return Resolved()


def content_type_for(path: Path) -> str:
    """The Content-Type header for a mirror file."""
    name = path.name
    if name.endswith(".html"):
        return HTML_TYPE
    if name == "index.xml" and path.parent.name == "feed":
        return RSS_TYPE
    if name.endswith(".xml"):
        return XML_TYPE
    if name.endswith(".txt"):
        return TEXT_TYPE
    guessed, _ = mimetypes.guess_type(name)
    return guessed or "application/octet-stream"


# --------------------------------------------------------------------------- handler


class MirrorRequestHandler(BaseHTTPRequestHandler):
    """Serves one connection; configuration comes from the owning :class:`_Server`."""

    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "nginx"
    sys_version = ""
    timeout = 10.0  # idle keep-alive connections are closed after this many seconds
    disable_nagle_algorithm = True  # headers and body are separate writes: avoid 40 ms stalls
    _started = 0.0

    def do_GET(self) -> None:
        """Handle GET."""
        self._handle(send_body=True)

    def do_HEAD(self) -> None:
        """Handle HEAD (headers only)."""
        self._handle(send_body=False)

    def log_message(self, format: str, *args: object) -> None:
        """Silence the default stderr access log (``server.requests`` has it all)."""

    # -- request flow

    def _handle(self, send_body: bool) -> None:
        self._started = time.monotonic()
        raw_path = urlsplit(self.path).path or "/"
        decoded = unquote(raw_path, encoding="utf-8", errors="replace")
        action = self.server.faults.action_for(raw_path, decoded)
        if action.delay:
            self.server.stopping.wait(action.delay)
        if action.hold is not None:
            while not (action.hold.wait(0.05) or self.server.stopping.is_set()):
                pass
        if action.drop:
            self._log(DROPPED)
            self._drop()
            return
        self._respond(raw_path, action, send_body)

    def send_response(self, code: int, message: str | None = None) -> None:
        """Log the request (before any byte is sent, so tests never race) and respond."""
        self._log(code)
        super().send_response(code, message)

    def _respond(self, raw_path: str, action: FaultAction, send_body: bool) -> None:
        if action.moved_to is not None:
            self._redirect(action.redirect_status, action.moved_to.rstrip("/") + self.path, send_body)
        elif action.redirect_to is not None:
            self._redirect(action.redirect_status, action.redirect_to, send_body)
        elif action.status is not None:
            self._error(action.status, action.retry_after, send_body)
        else:
            self._serve(raw_path, action, send_body)

    def _serve(self, raw_path: str, action: FaultAction, send_body: bool) -> None:
        resolved = resolve_path(self.server.root, raw_path)
        if resolved.redirect is not None:
            query = urlsplit(self.path).query
            self._redirect(301, resolved.redirect + (f"?{query}" if query else ""), send_body)
        elif resolved.file is None:
            self._reply(404, HTML_TYPE, NOT_FOUND_BODY, send_body)
        else:
            body = self._read(resolved.file)
            if action.cut_body:
                body = body[: len(body) // 2]
            # Validators, as WordPress/nginx send them: a strong ETag of the bytes and the
            # file's mtime; a conditional request they match is answered 304, no body.
            etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
            modified = formatdate(int(resolved.file.stat().st_mtime), usegmt=True)
            validators = {"ETag": etag, "Last-Modified": modified}
            if self.server.conditional and self._not_modified(etag, resolved.file.stat().st_mtime):
                self.send_response(304)
                for name, value in validators.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            headers = dict(validators) if self.server.conditional else {}
            if action.gzip:
                body = gzip.compress(body, compresslevel=9, mtime=0)
                headers["Content-Encoding"] = "gzip"
            self._reply(200, content_type_for(resolved.file), body, send_body, headers=headers,
                        truncate=action.short_body, length=not action.no_length)

    def _not_modified(self, etag: str, mtime: float) -> bool:
        match = self.headers.get("If-None-Match")
        if match is not None:
            return etag in [tag.strip() for tag in match.split(",")] or match.strip() == "*"
        since = self.headers.get("If-Modified-Since")
        if since:
            try:
                return int(mtime) <= parsedate_to_datetime(since).timestamp()
            except (TypeError, ValueError):
                return False
        return False

    def _read(self, file: Path) -> bytes:
        body = file.read_bytes()
        origin = self.server.rewrite_origin
        if origin and file.suffix in (".html", ".xml", ".txt"):
            body = body.replace(origin.encode(), self.server.base_url.encode())
        return body

    # -- response helpers

    def _reply(
        self,
        status: int,
        ctype: str,
        body: bytes,
        send_body: bool,
        headers: dict[str, str] | None = None,
        truncate: bool = False,
        length: bool = True,
    ) -> None:
        """Send a complete response; ``truncate`` sends half the body, then closes;
        without ``length``, no ``Content-Length``: the body ends with the connection."""
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", ctype)
        if length:
            self.send_header("Content-Length", str(len(body)))
        if truncate or not length:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if send_body:
            self.wfile.write(body[: len(body) // 2] if truncate else body)

    def _redirect(self, status: int, location: str, send_body: bool) -> None:
        if location.startswith("/"):
            location = self.server.base_url + location
        body = f'<html><body><a href="{location}">Moved</a></body></html>\n'.encode()
        self._reply(status, HTML_TYPE, body, send_body, headers={"Location": location})

    def _error(self, status: int, retry_after: str | None, send_body: bool) -> None:
        reason = self.responses.get(status, ("Error",))[0]
        body = STATUS_BODY.format(code=status, reason=reason).encode()
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        ctype = TEXT_TYPE if self.path.startswith("/robots.txt") else HTML_TYPE
        self._reply(status, ctype, body, send_body, headers=headers)

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _log(self, status: int) -> None:
        self.server.requests.append(
            LoggedRequest(
                time=self._started or time.monotonic(),
                method=self.command or "",
                path=self.path,
                status=status,
                user_agent=self.headers.get("User-Agent", "") if self.headers else "",
                headers=dict(self.headers.items()) if self.headers else {},
            )
        )


class _Server(ThreadingHTTPServer):
    """ThreadingHTTPServer carrying the mirror configuration for its handlers."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128  # the default (5) drops SYNs under crawler concurrency: 1 s stalls

    def __init__(
        self,
        address: tuple[str, int],
        root: Path,
        faults: FaultPlan,
        rewrite_origin: str | None,
        conditional: bool = True,
    ) -> None:
        super().__init__(address, MirrorRequestHandler)
        self.conditional = conditional
        self.root = root
        self.faults = faults
        self.rewrite_origin = rewrite_origin
        self.requests = RequestLog()
        self.stopping = threading.Event()
        self.base_url = f"http://{address[0]}:{self.server_address[1]}"

    def handle_error(self, request: object, client_address: object) -> None:
        """Ignore clients that hang up mid-response; report anything else."""
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- public server


class MirrorServer:
    """Serve a mirror directory over HTTP from a background thread.

    >>> with MirrorServer(Path("site")) as server:  # doctest: +SKIP
    ...     urllib.request.urlopen(server.base_url + "/robots.txt")

    ``port=0`` picks a free port. ``rewrite_origin`` (e.g. ``"https://georgiatoday.ge"``)
    replaces that origin with :attr:`base_url` in served HTML/XML/text bodies; it is off by
    default, so pages keep their real absolute links.  ``conditional`` (on, as real servers
    do) sends ``ETag``/``Last-Modified`` and answers a matching conditional request 304.
    """

    def __init__(
        self,
        root: Path,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: FaultPlan | None = None,
        rewrite_origin: str | None = None,
        conditional: bool = True,
    ) -> None:
        self.root = Path(root)
        self.faults = faults if faults is not None else FaultPlan()
        self._httpd = _Server((host, port), self.root, self.faults, rewrite_origin, conditional)
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT`` without a trailing slash."""
        return self._httpd.base_url

    @property
    def port(self) -> int:
        """The TCP port the server listens on."""
        return int(self._httpd.server_address[1])

    @property
    def requests(self) -> RequestLog:
        """Every request handled so far (thread-safe)."""
        return self._httpd.requests

    def url(self, path_or_url: str) -> str:
        """Local URL for a path (``/feed/``) or a site URL (``https://georgiatoday.ge/x/``)."""
        parts = urlsplit(path_or_url)
        path = parts.path or "/"
        query = f"?{parts.query}" if parts.query else ""
        return f"{self.base_url}{path}{query}"

    def start(self) -> MirrorServer:
        """Start serving in a daemon thread; returns ``self``."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"MirrorServer:{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the listening socket."""
        self._httpd.stopping.set()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    def serve_forever(self) -> None:
        """Serve in the calling thread until :meth:`stop` or KeyboardInterrupt."""
        try:
            self._httpd.serve_forever(poll_interval=0.2)
        finally:
            self._httpd.server_close()

    def __enter__(self) -> MirrorServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


# --------------------------------------------------------------------------- CLI


def open_server(root: Path, host: str = "127.0.0.1", port: int = PORT) -> MirrorServer:
    """A :class:`MirrorServer` on ``port`` or, when that one is taken (another dev server,
    ``make demo``), on a free port, saying so on stderr."""
    try:
        return MirrorServer(root, host=host, port=port)
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE or port == 0:
            raise
    server = MirrorServer(root, host=host, port=0)
    print(f"port {port} on {host} is in use (another dev server?): serving on port {server.port} instead "
          f"(--port N picks another)", file=sys.stderr, flush=True)
    return server


def main(argv: list[str] | None = None, prog: str = "python -m newsspider.dev.devserver") -> int:
    """``newsspider serve [ROOT] [--host H] [--port N]``: the base URL on stdout, then serve."""
    parser = argparse.ArgumentParser(prog=prog, description="Serve an offline site mirror on this machine "
                                     "until Ctrl-C; the first line printed is its base URL.")
    parser.add_argument("root", type=Path, nargs="?", default=SNAPSHOT / "site",
                        help="mirror directory (default: the bundled snapshot of the site)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=PORT,
                        help=f"default {PORT}; 0 picks a free port, as does a port already in use")
    args = parser.parse_args(argv)
    if not args.root.is_dir():
        parser.error(f"not a directory: {args.root}")
    try:
        server = open_server(args.root, host=args.host, port=args.port)
    except OSError as exc:
        parser.error(f"cannot serve on {args.host}:{args.port}: {exc.strerror or exc}")
    print(server.base_url, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
