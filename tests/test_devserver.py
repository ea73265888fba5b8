"""Tests for ``newsspider.dev.devserver``: URL mapping, request log, fault injection, CLI."""

from __future__ import annotations

import gzip
import http.client
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REPO

from newsspider.dev.devserver import (
    DROPPED,
    FaultPlan,
    FaultRule,
    MirrorServer,
    RequestLog,
    resolve_path,
)

GEORGIAN = "ქუთაისში-ბიბლიოთეკა"
GEORGIAN_LOWER = "%e1%83%a5%e1%83%a3%e1%83%97%e1%83%90%e1%83%98%e1%83%a1%e1%83%a8%e1%83%98-" + (
    "%e1%83%91%e1%83%98%e1%83%91%e1%83%9a%e1%83%98%e1%83%9d%e1%83%97%e1%83%94%e1%83%99%e1%83%90"
)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """Make urllib surface 3xx responses as HTTPError instead of following them."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


NO_REDIRECT = urllib.request.build_opener(NoRedirect)


def fetch(
    url: str, *, method: str = "GET", agent: str = "test-agent/1.0", follow: bool = False
) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of one request; HTTP errors are returned, not raised."""
    request = urllib.request.Request(url, method=method, headers={"User-Agent": agent})
    opener = urllib.request.build_opener() if follow else NO_REDIRECT
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, dict(response.headers.items()), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers.items()), error.read()


@pytest.fixture
def mirror(tmp_path: Path) -> Path:
    """A tiny mirror in the sample layout."""
    files = {
        "index.html": "<html><body class='home'>home</body></html>",
        "robots.txt": "User-agent: *\nDisallow: /wp-admin/\n\nSitemap: https://georgiatoday.ge/sitemap_index.xml\n",
        "sitemap_index.xml": "<?xml version='1.0'?><sitemapindex/>",
        "feed/index.xml": "<?xml version='1.0'?><rss version='2.0'/>",
        "some-article/index.html": "<html><body>article https://georgiatoday.ge/x/</body></html>",
        "category/politics/page/2/index.html": "<html><body>page 2</body></html>",
        f"{GEORGIAN}/index.html": "<html><body>ka</body></html>",
    }
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return tmp_path


@pytest.fixture
def server(mirror: Path) -> Iterator[MirrorServer]:
    with MirrorServer(mirror) as running:
        yield running


# --------------------------------------------------------------------------- mapping


def test_base_url_and_home(server: MirrorServer) -> None:
    assert server.base_url.startswith("http://127.0.0.1:")
    assert server.port > 0
    status, headers, body = fetch(server.base_url + "/")
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=UTF-8"
    assert b"home" in body


@pytest.mark.parametrize(
    ("path", "ctype", "needle"),
    [
        ("/robots.txt", "text/plain; charset=UTF-8", b"Sitemap:"),
        ("/sitemap_index.xml", "application/xml; charset=UTF-8", b"sitemapindex"),
        ("/feed/", "application/rss+xml; charset=UTF-8", b"<rss"),
        ("/some-article/", "text/html; charset=UTF-8", b"article"),
        ("/category/politics/page/2/", "text/html; charset=UTF-8", b"page 2"),
    ],
)
def test_file_mapping(server: MirrorServer, path: str, ctype: str, needle: bytes) -> None:
    status, headers, body = fetch(server.base_url + path)
    assert status == 200
    assert headers["Content-Type"] == ctype
    assert int(headers["Content-Length"]) == len(body)
    assert needle in body


def test_query_string_is_ignored_for_lookup(server: MirrorServer) -> None:
    status, _, body = fetch(server.base_url + "/some-article/?utm_source=newsletter&utm_medium=email")
    assert status == 200
    assert b"article" in body


@pytest.mark.parametrize("encoded", [GEORGIAN_LOWER, GEORGIAN_LOWER.upper()])
def test_percent_encoded_unicode_slug(server: MirrorServer, encoded: str) -> None:
    status, _, body = fetch(f"{server.base_url}/{encoded}/")
    assert status == 200
    assert body == b"<html><body>ka</body></html>"


@pytest.mark.parametrize(
    ("path", "location"),
    [
        ("/some-article", "/some-article/"),
        ("/some-article?utm_source=x", "/some-article/?utm_source=x"),
        ("/feed", "/feed/"),
        ("/category/politics/page/2", "/category/politics/page/2/"),
    ],
)
def test_missing_trailing_slash_redirects(server: MirrorServer, path: str, location: str) -> None:
    status, headers, _ = fetch(server.base_url + path)
    assert status == 301
    assert headers["Location"] == server.base_url + location


@pytest.mark.parametrize("path", ["/nope/", "/nope", "/robots.txt/", "/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd"])
def test_missing_is_404_with_html_body(server: MirrorServer, path: str) -> None:
    status, headers, body = fetch(server.base_url + path)
    assert status == 404
    assert headers["Content-Type"].startswith("text/html")
    assert b"Not Found" in body


def test_head_has_headers_but_no_body(server: MirrorServer) -> None:
    status, headers, body = fetch(server.base_url + "/some-article/", method="HEAD")
    assert status == 200
    assert int(headers["Content-Length"]) > 0
    assert body == b""


def test_resolve_path_directly(mirror: Path) -> None:
    assert resolve_path(mirror, "/").file == mirror / "index.html"
    assert resolve_path(mirror, "/feed/").file == mirror / "feed" / "index.xml"
    assert resolve_path(mirror, "/robots.txt").file == mirror / "robots.txt"
    assert resolve_path(mirror, "/category/politics").redirect == "/category/politics/"
    assert resolve_path(mirror, "/category").redirect == "/category/"
    assert resolve_path(mirror, "/category/").file is None  # a directory without a page is 404
    assert resolve_path(mirror, "/../x/").file is None


def test_url_helper_maps_site_urls(server: MirrorServer) -> None:
    assert server.url("https://georgiatoday.ge/some-article/?a=1") == server.base_url + "/some-article/?a=1"
    assert server.url("/feed/") == server.base_url + "/feed/"


def test_rewrite_origin(mirror: Path) -> None:
    with MirrorServer(mirror, rewrite_origin="https://georgiatoday.ge") as server:
        _, _, body = fetch(server.base_url + "/some-article/")
        _, _, robots = fetch(server.base_url + "/robots.txt")
    assert f"article {server.base_url}/x/".encode() in body
    assert f"Sitemap: {server.base_url}/sitemap_index.xml".encode() in robots


# --------------------------------------------------------------------------- request log


def test_request_log_records_requests(server: MirrorServer) -> None:
    fetch(server.base_url + "/robots.txt", agent="newsspider/0.1 (+https://example.org)")
    fetch(server.base_url + "/nope/", agent="other")
    fetch(server.base_url + "/some-article", method="HEAD")
    log = server.requests.snapshot()
    assert [(r.method, r.path, r.status) for r in log] == [
        ("GET", "/robots.txt", 200),
        ("GET", "/nope/", 404),
        ("HEAD", "/some-article", 301),
    ]
    assert log[0].user_agent == "newsspider/0.1 (+https://example.org)"
    assert log[0].headers["User-Agent"] == log[0].user_agent
    assert log[0].time <= log[1].time <= log[2].time <= time.monotonic()
    assert len(server.requests) == 3
    assert server.requests[1].path == "/nope/"
    assert server.requests.count("/nope/") == 1
    assert server.requests.paths() == ["/robots.txt", "/nope/", "/some-article"]
    server.requests.clear()
    assert len(server.requests) == 0


def test_request_log_is_thread_safe(server: MirrorServer) -> None:
    def worker() -> None:
        for _ in range(10):
            assert fetch(server.base_url + "/some-article/")[0] == 200

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(server.requests) == 80
    assert {r.status for r in server.requests} == {200}


def test_request_log_standalone() -> None:
    log = RequestLog()
    assert list(log) == [] and len(log) == 0


# --------------------------------------------------------------------------- faults


def serve(mirror: Path, plan: FaultPlan) -> MirrorServer:
    return MirrorServer(mirror, faults=plan)


def test_status_sequence_with_retry_after(mirror: Path) -> None:
    plan = FaultPlan(rules=[FaultRule("/some-article/", statuses=[503, 503, 200], retry_after="7")])
    with serve(mirror, plan) as server:
        results = [fetch(server.base_url + "/some-article/") for _ in range(4)]
    assert [r[0] for r in results] == [503, 503, 200, 200]
    assert results[0][1]["Retry-After"] == "7"
    assert "Retry-After" not in results[2][1]
    assert plan.hits(plan.rules[0]) == 4


def test_last_status_repeats_and_glob_matches(mirror: Path) -> None:
    plan = FaultPlan(rules=[FaultRule("/category/*", statuses=[500])])
    with serve(mirror, plan) as server:
        statuses = [fetch(server.base_url + "/category/politics/page/2/")[0] for _ in range(3)]
        other = fetch(server.base_url + "/some-article/")[0]
    assert statuses == [500, 500, 500]
    assert other == 200


@pytest.mark.parametrize("pattern", [f"/{GEORGIAN}/", f"/{GEORGIAN_LOWER}/", f"/{GEORGIAN_LOWER.upper()}/"])
@pytest.mark.parametrize("requested", [GEORGIAN_LOWER, GEORGIAN_LOWER.upper()])
def test_rule_matches_encoded_and_decoded_paths(mirror: Path, pattern: str, requested: str) -> None:
    plan = FaultPlan(rules=[FaultRule(pattern, statuses=[429], retry_after="1")])
    with serve(mirror, plan) as server:
        status, headers, _ = fetch(f"{server.base_url}/{requested}/")
    assert status == 429
    assert headers["Retry-After"] == "1"


def test_delay(mirror: Path) -> None:
    plan = FaultPlan(rules=[FaultRule("/some-article/", delay=0.4)])
    with serve(mirror, plan) as server:
        started = time.monotonic()
        status = fetch(server.base_url + "/some-article/")[0]
        elapsed = time.monotonic() - started
        fast = time.monotonic()
        fetch(server.base_url + "/robots.txt")
        fast_elapsed = time.monotonic() - fast
    assert status == 200
    assert elapsed >= 0.4
    assert fast_elapsed < 0.4


def test_drop_connection_then_recover(mirror: Path) -> None:
    plan = FaultPlan(rules=[FaultRule("/some-article/", drop=True, times=2)])
    with serve(mirror, plan) as server:
        for _ in range(2):
            with pytest.raises((urllib.error.URLError, ConnectionError, http.client.HTTPException)):
                fetch(server.base_url + "/some-article/")
        assert fetch(server.base_url + "/some-article/")[0] == 200
        assert [r.status for r in server.requests] == [DROPPED, DROPPED, 200]


def test_short_body(mirror: Path) -> None:
    plan = FaultPlan(rules=[FaultRule("/some-article/", short_body=True)])
    with serve(mirror, plan) as server:
        request = urllib.request.Request(server.base_url + "/some-article/")
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
            with pytest.raises(http.client.IncompleteRead):
                response.read()


def test_redirects_loop_and_off_site(mirror: Path) -> None:
    plan = FaultPlan(
        rules=[
            FaultRule("/loop-a/", redirect_to="/loop-b/"),
            FaultRule("/loop-b/", redirect_to="/loop-a/", redirect_status=302),
            FaultRule("/away/", redirect_to="https://example.com/elsewhere/"),
            FaultRule("/moved/", redirect_to="/some-article/", times=1),
        ]
    )
    with serve(mirror, plan) as server:
        status_a, headers_a, _ = fetch(server.base_url + "/loop-a/")
        status_b, headers_b, _ = fetch(server.base_url + "/loop-b/")
        status_away, headers_away, _ = fetch(server.base_url + "/away/")
        with pytest.raises(urllib.error.HTTPError, match="redirect"):
            urllib.request.urlopen(server.base_url + "/loop-a/", timeout=10)
        moved = fetch(server.base_url + "/moved/", follow=True)
        again = fetch(server.base_url + "/moved/")
    assert (status_a, headers_a["Location"]) == (301, server.base_url + "/loop-b/")
    assert (status_b, headers_b["Location"]) == (302, server.base_url + "/loop-a/")
    assert (status_away, headers_away["Location"]) == (301, "https://example.com/elsewhere/")
    assert moved[0] == 200 and b"article" in moved[2]
    assert again[0] == 404  # the rule is spent and /moved/ does not exist


def test_a_site_that_moved_gzip_bodies_bodies_without_length_and_held_answers(mirror: Path) -> None:
    hold = threading.Event()
    plan = FaultPlan(rules=[
        FaultRule("/category/*", moved_to="https://www.example.org/"),
        FaultRule("/some-article/", gzip=True, times=1),
        FaultRule("/robots.txt", no_length=True, hold=hold, times=1),
    ])
    with serve(mirror, plan) as server:
        moved = fetch(server.base_url + "/category/politics/page/2/?x=1")
        request = urllib.request.Request(server.base_url + "/some-article/", headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(request, timeout=10) as response:
            encoding, body = response.headers["Content-Encoding"], gzip.decompress(response.read())
        plain = fetch(server.base_url + "/some-article/")
        held: list[tuple[int, dict[str, str], bytes]] = []
        waiting = threading.Thread(target=lambda: held.append(fetch(server.base_url + "/robots.txt")))
        waiting.start()
        time.sleep(0.3)
        assert not held  # not answered until released
        hold.set()
        waiting.join(timeout=10)
    assert (moved[0], moved[1]["Location"]) == (301, "https://www.example.org/category/politics/page/2/?x=1")
    assert encoding == "gzip" and body == plain[2] and "Content-Encoding" not in plain[1]
    [(status, headers, robots)] = held
    assert status == 200 and "Content-Length" not in headers and robots.startswith(b"User-agent")


def test_robots_failure(mirror: Path) -> None:
    plan = FaultPlan(robots_status=503, robots_retry_after="120")
    with serve(mirror, plan) as server:
        status, headers, _ = fetch(server.base_url + "/robots.txt")
        page = fetch(server.base_url + "/some-article/")[0]
    assert status == 503
    assert headers["Retry-After"] == "120"
    assert page == 200


# --------------------------------------------------------------------------- lifecycle and CLI


def test_stop_closes_the_port(mirror: Path) -> None:
    server = MirrorServer(mirror).start()
    url = server.base_url + "/robots.txt"
    assert fetch(url)[0] == 200
    server.stop()
    with pytest.raises((urllib.error.URLError, ConnectionError)):
        fetch(url)


def test_stop_does_not_wait_for_slow_requests(mirror: Path) -> None:
    plan = FaultPlan(rules=[FaultRule("/some-article/", delay=5)])
    server = MirrorServer(mirror, faults=plan).start()
    outcome: list[object] = []

    def slow_client() -> None:
        try:
            outcome.append(fetch(server.base_url + "/some-article/")[0])
        except (urllib.error.URLError, ConnectionError, http.client.HTTPException) as error:
            outcome.append(error)

    thread = threading.Thread(target=slow_client)
    thread.start()
    time.sleep(0.2)
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 2
    thread.join(timeout=10)
    assert outcome and outcome[0] == 200  # the delayed request was answered at once


def test_cli_serves_until_interrupted(mirror: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "newsspider.dev.devserver", str(mirror), "--port", "0"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:")
        assert fetch(base_url + "/robots.txt")[0] == 200
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)
    assert process.returncode == 0


def test_cli_rejects_missing_root(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "newsspider.dev.devserver", str(tmp_path / "missing")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "not a directory" in result.stderr
