"""The ``.part`` files of dead runs: the crawl's recovery and ``scrapy reextract`` read the
same complete records of an unfinished WARC file (``complete_members``)."""

from __future__ import annotations

import gzip
import subprocess
import sys
from io import BytesIO
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from newsspider import offline
from newsspider.crawl.archive import complete_members
from newsspider.crawl.archive.recovery import recover_archive_parts


def _record(n: int) -> bytes:
    """One uncompressed WARC response record."""
    buffer = BytesIO()
    writer = WARCWriter(buffer, gzip=False, warc_version="WARC/1.1")
    body = (f"<html><body>page {n}</body></html>" * (50 + n)).encode()
    http = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
    writer.write_record(writer.create_warc_record(f"http://127.0.0.1/p{n}/", "response", payload=BytesIO(body),
                                                  length=len(body), http_headers=http))
    return buffer.getvalue()


def test_a_whole_gzip_member_holding_a_short_record_ends_the_complete_records(tmp_path: Path) -> None:
    """A gzip member can be complete while the record in it is not (its block shorter than
    its Content-Length): recovery and reextract both stop before it."""
    members = [gzip.compress(_record(0)), gzip.compress(_record(1)), gzip.compress(_record(2)[:-300])]
    part = tmp_path / "2026-01-01T00-00-00.warc.gz.part"
    part.write_bytes(b"".join(members))
    ends = [len(members[0]), len(members[0]) + len(members[1])]
    with part.open("rb") as fh:
        assert list(complete_members(fh)) == ends

    outcome = offline.reextract([part], tmp_path / "out.jsonl", jobs=1)
    assert outcome.stats["newsspider/reextract/records"] == 2

    [recovered] = recover_archive_parts(tmp_path)
    assert recovered.read_bytes() == b"".join(members[:2])
    with recovered.open("rb") as fh:
        assert [r.rec_headers.get_header("WARC-Target-URI") for r in ArchiveIterator(fh)] == [
            "http://127.0.0.1/p0/", "http://127.0.0.1/p1/"]


def test_a_member_that_is_not_a_warc_record_ends_the_complete_records(tmp_path: Path) -> None:
    members = [gzip.compress(_record(0)), gzip.compress(b"not a WARC record\r\n\r\n")]
    data = b"".join(members)
    assert list(complete_members(BytesIO(data))) == [len(members[0])]


HOLD = """
import fcntl, sys, time
with open(sys.argv[1], "rb") as fh:
    fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
"""


@pytest.mark.parametrize(("held", "recovered"), [(0.3, True), (30.0, False)])
def test_a_part_still_locked_for_a_moment_is_recovered_a_live_runs_is_not(tmp_path: Path, held: float,
                                                                          recovered: bool) -> None:
    """A lock let go a moment after its run died (a process that inherited the file):
    recovery waits that long (``patience``), not for a live run."""
    part = tmp_path / "2026-01-01T00-00-00.warc.gz.part"
    part.write_bytes(gzip.compress(_record(0)) + gzip.compress(_record(1)))
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(part), str(held)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        files = recover_archive_parts(tmp_path, patience=2.0)
    finally:
        holder.kill()
        holder.wait()
    assert [f.name for f in files] == (["2026-01-01T00-00-00.warc.gz"] if recovered else [])
    assert part.exists() is not recovered


FINISH = """
import fcntl, os, sys, time
with open(sys.argv[1], "rb") as fh:
    fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
    print("locked", flush=True)
    time.sleep(0.3)
    os.replace(sys.argv[1], sys.argv[2])  # as WarcArchive.finish(): renamed, then let go
"""


def test_a_part_its_live_run_finishes_meanwhile_is_left_to_it(tmp_path: Path) -> None:
    """A run sharing the directory (scrapyd jobs) starts while another's writer holds its
    .part and then finishes it: the waiting recovery must not take the finished file."""
    part = tmp_path / "2026-01-01T00-00-00.warc.gz.part"
    final = tmp_path / "2026-01-01T00-00-00.warc.gz"
    data = gzip.compress(_record(0)) + gzip.compress(_record(1)) + b"\x1f\x8b\x08 cut off"
    part.write_bytes(data)
    owner = subprocess.Popen([sys.executable, "-c", FINISH, str(part), str(final)], stdout=subprocess.PIPE, text=True)
    try:
        assert owner.stdout is not None and owner.stdout.readline() == "locked\n"
        assert recover_archive_parts(tmp_path, patience=5.0) == []
    finally:
        owner.wait()
    assert not part.exists() and final.read_bytes() == data  # the owner's, untouched
