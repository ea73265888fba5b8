"""Property-based tests (hypothesis): extraction and the loader processors never crash.

* ``extract_html`` on random bytes, random tag soup and real fixture pages mutated
  (truncated, tags deleted or duplicated, NULs and garbage injected, charsets broken or
  contradicted by a BOM) either raises ``NotAnArticle`` or returns an item that is
  well-typed, and — unless the ``RequireFields`` pipeline drops it with a reason — valid
  against ``newsspider/schema/article.schema.json``.
* The processors (``parse_date``, ``clean_text``, ``canonical_url``, ``parse_language``,
  ``parse_post_id``) take any value and return their documented type; ``canonical_url``
  puts a site URL in any spelling on the canonical origin.
* The item schemas say what ``newsspider/items.py`` says: ``article.schema.json`` has the
  fields of ``ArticleItem``, ``tombstone.schema.json`` those of ``Tombstone`` and its rules
  (realistic tombstones accepted, broken ones rejected).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, fields, replace
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES, SCHEMA_PATH, TOMBSTONE_SCHEMA_PATH, load_validator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scrapy.exceptions import DropItem

from newsspider.crawl.export.pipelines import RequireFields
from newsspider.dev.extract import extract_html
from newsspider.extraction import NotAnArticle
from newsspider.items import TOMBSTONE_REASONS, ArticleItem, Tombstone
from newsspider.normalize import canonical_url, clean_text, parse_date, parse_language, parse_post_id

URL = "https://georgiatoday.ge/some-article/"
PROPS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: Article pages to mutate: the fixtures that are articles (expected item, not an error).
ARTICLE_PAGES = [
    p for p in sorted(FIXTURES.glob("*.html"))
    if p.with_suffix(".json").exists() and '"title"' in p.with_suffix(".json").read_text(encoding="utf-8")
][:12]
PAGE_BYTES = [p.read_bytes() for p in ARTICLE_PAGES]

ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2})?$")
#: An item's dates always carry a time and an offset (a day alone: midnight in Tbilisi).
ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$")


VALIDATOR = load_validator()  # module level: hypothesis tests take no fixtures


def check_item(item: ArticleItem) -> None:
    """Types per ``newsspider/items.py``; schema-valid unless RequireFields drops it."""
    assert isinstance(item, ArticleItem)
    data = asdict(item)
    for name in ("url", "title", "subtitle", "summary", "published", "modified", "body", "image_url",
                 "image_caption", "image_credit", "language", "source", "crawled_at"):
        assert data[name] is None or (isinstance(data[name], str) and data[name]), name
    for name in ("authors", "categories", "tags"):
        assert isinstance(data[name], list) and all(isinstance(v, str) and v for v in data[name]), name
    assert data["post_id"] is None or (isinstance(data["post_id"], int) and data["post_id"] > 0)
    assert isinstance(data["word_count"], int) and data["word_count"] >= 0
    for name in ("published", "modified"):
        assert data[name] is None or ISO_DATETIME.match(data[name]), (name, data[name])
    json.dumps(data, ensure_ascii=False)  # serializable as the feed writes it
    try:
        RequireFields(None).process_item(item)
    except DropItem:
        return  # a counted drop with a reason: fine for a broken page
    errors = [f"{list(e.path)}: {e.message[:120]}" for e in VALIDATOR.iter_errors(data)]
    assert not errors, errors


def extract_or_not_article(body: bytes, url: str = URL) -> None:
    try:
        item = extract_html(body, url)
    except NotAnArticle:
        return
    check_item(item)


# --------------------------------------------------------------------------- mutations

@st.composite
def mutated_page(draw: st.DrawFn) -> bytes:
    """A real article page with 1-4 random mutations."""
    page = draw(st.sampled_from(PAGE_BYTES))
    for _ in range(draw(st.integers(1, 4))):
        if not page:
            break
        n = len(page)
        kind = draw(st.sampled_from(["truncate", "delete", "duplicate", "nul", "garbage", "drop_tag",
                                     "dup_tag", "charset", "bom", "huge_script"]))
        i = draw(st.integers(0, n - 1))
        if kind == "truncate":
            page = page[:i]
        elif kind == "delete":
            page = page[:i] + page[i + draw(st.integers(1, 5000)):]
        elif kind == "duplicate":
            j = draw(st.integers(0, n - 1))
            page = page[:j] + page[i:i + draw(st.integers(1, 5000))] + page[j:]
        elif kind == "nul":
            page = page[:i] + b"\x00" * draw(st.integers(1, 8)) + page[i:]
        elif kind == "garbage":
            page = page[:i] + draw(st.binary(min_size=1, max_size=64)) + page[i:]
        elif kind in ("drop_tag", "dup_tag"):
            tags = [m.span() for m in re.finditer(rb"<[^<>]{1,200}>", page)]
            if tags:
                start, end = draw(st.sampled_from(tags))
                tag = page[start:end]
                page = page[:start] + (tag + tag if kind == "dup_tag" else b"") + page[end:]
        elif kind == "charset":
            bad = draw(st.sampled_from([b"windows-1251", b"iso-8859-1", b"utf-16", b"bogus-charset", b""]))
            page = re.sub(rb"charset=[\"']?[\w-]+", b"charset=" + bad, page, count=1, flags=re.I)
        elif kind == "bom":
            page = draw(st.sampled_from([b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"])) + page
        elif kind == "huge_script":
            script = b"<script>var x = '" + b"A" * 300_000 + b"';</script>"
            page = page[:i] + script + page[i:]
    return page


@PROPS
@given(mutated_page())
def test_mutated_real_pages_never_crash(page: bytes) -> None:
    extract_or_not_article(page)


@PROPS
@given(st.binary(max_size=4000))
def test_random_bytes_are_not_articles_or_valid(data: bytes) -> None:
    extract_or_not_article(data)


TAGS = ["html", "head", "body", "div", "p", "h1", "h2", "article", "script", "span", "a", "br", "meta",
        "ul", "li", "blockquote", "figure", "iframe", "title"]
CLASSES = ["single-post", "single", "postid-12", "jeg_singlepage", "entry-header", "jeg_post_title",
           "content-inner", "jeg_post_meta", "jeg_meta_author", "jeg_meta_date", "jeg_post_tags",
           "jeg_featured", "wp-caption-text", "jeg_pagelinks", "jeg_post_subtitle"]


@st.composite
def tag_soup(draw: st.DrawFn) -> str:
    """Random JNews-flavoured markup: real class names, random nesting, no guarantees."""
    parts = ['<body class="single single-post postid-12">'] if draw(st.booleans()) else []
    for _ in range(draw(st.integers(0, 40))):
        tag = draw(st.sampled_from(TAGS))
        classes = " ".join(draw(st.lists(st.sampled_from(CLASSES), max_size=3)))
        text = draw(st.text(max_size=30))
        close = draw(st.booleans())
        parts.append(f'<{tag} class="{classes}">{text}' + (f"</{tag}>" if close else ""))
    if draw(st.booleans()):
        ld = draw(st.sampled_from([
            '{"@context":"https://schema.org","@graph":[{"@type":"NewsArticle","headline":"H",'
            '"datePublished":"2025-01-01T10:00:00+04:00","author":{"name":"A"}}]}',
            '{"@graph":[{"@type":["Article"],"headline":null,"author":[1,{"name":[]}],"datePublished":5}]}',
            '{"@graph": {"@type": "Article"}}', "[1, 2, {]", '{"@type":"NewsArticle","image":[[]]}',
        ]))
        parts.append(f'<script type="application/ld+json">{ld}</script>')
    return "".join(parts)


@PROPS
@given(tag_soup())
def test_random_tag_soup_never_crashes(html: str) -> None:
    extract_or_not_article(html.encode("utf-8", "surrogatepass"))


@PROPS
@given(st.sampled_from(PAGE_BYTES), st.sampled_from(["utf-8", "windows-1251", "latin-1", "utf-16"]))
def test_charset_conflicts_between_header_meta_and_bom(page: bytes, header: str) -> None:
    from newsspider.dev.extract import page_from_bytes  # the crawl's decoding path

    page_from_bytes(page, URL, encoding=header)  # an explicit (HTTP header) charset
    extract_or_not_article(b"\xef\xbb\xbf" + page.replace(b"UTF-8", b"windows-1251", 1))


# --------------------------------------------------------------------------- processors

ANY_VALUE = st.one_of(st.none(), st.text(), st.integers(), st.floats(), st.binary(), st.lists(st.text()))

DATE_TEXT = st.one_of(
    st.text(max_size=40),
    st.from_regex(r"\A\d{4}-\d{1,2}-\d{1,2}([T ]\d{1,2}:\d{2}(:\d{2})?(\.\d{1,9})?\s*(Z|[+-]\d{2}:?\d{2})?)?\Z"),
    st.from_regex(r"\A\d{1,2}[./]\d{1,2}[./]\d{4}\Z"),
    st.builds(lambda d, m, y: f"{m} {d}, {y}", st.integers(-5, 40),
              st.sampled_from(["March", "may", "Sept", "მარტი", "мая", "Foo"]), st.integers(0, 10000)),
    st.builds(lambda d, m, y: f"{d} {m} {y}", st.integers(0, 99), st.sampled_from(["de octubre de", "June"]),
              st.integers(0, 99999)),
)


@PROPS
@given(st.one_of(DATE_TEXT, ANY_VALUE))
def test_parse_date_returns_iso_or_none(value: Any) -> None:
    result = parse_date(value)
    assert result is None or ISO_DATE.match(result), result


@PROPS
@given(st.datetimes(timezones=st.timezones()))
def test_parse_date_round_trips_aware_datetimes(moment: Any) -> None:
    offset = moment.utcoffset()
    if offset is None or offset.seconds % 60 or moment.year < 1000:
        return
    text = moment.replace(microsecond=0).isoformat()
    result = parse_date(text)
    assert result is not None and ISO_DATE.match(result)
    assert result[:19] == text[:19]


@PROPS
@given(ANY_VALUE)
def test_clean_text_returns_stripped_text_or_none(value: Any) -> None:
    result = clean_text(value)
    assert result is None or (isinstance(result, str) and result and result == result.strip())
    if result is not None:
        assert clean_text(result) == result  # idempotent


@PROPS
@given(st.one_of(ANY_VALUE, st.builds(lambda p, q: f"https://georgiatoday.ge/{p}?{q}", st.text(), st.text())))
def test_canonical_url_is_http_url_without_fragment(value: Any) -> None:
    result = canonical_url(value)
    assert result is None or (result.startswith(("http://", "https://")) and "#" not in result)
    if result is not None:
        assert canonical_url(result) == result  # idempotent


@PROPS
@given(st.one_of(ANY_VALUE, st.from_regex(r"\A[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8}){0,3}\Z")))
def test_parse_language_is_lowercase_code_or_none(value: Any) -> None:
    result = parse_language(value)
    assert result is None or re.fullmatch(r"[a-z]{2,3}", result)


@PROPS
@given(st.one_of(ANY_VALUE, st.integers().map(str), st.from_regex(r"\A\s*\d{1,25}\s*\Z")))
def test_parse_post_id_is_positive_int_or_none(value: Any) -> None:
    result = parse_post_id(value)
    assert result is None or (type(result) is int and 0 < result < 2**63)


@pytest.mark.parametrize("page", ARTICLE_PAGES[:3], ids=lambda p: p.stem)
def test_every_truncation_point_is_safe(page: Path) -> None:
    """Deterministic sweep: the page cut at 40 evenly spaced points."""
    data = page.read_bytes()
    for k in range(1, 41):
        extract_or_not_article(data[: len(data) * k // 41])


URL_PIECES = st.sampled_from([
    "a", "Z", "0", "-", ".", "_", "~", "!", "$", "&", "'", "(", ")", "*", "+", ",", ";", "=", ":", "@", "/",
    "%e1", "%E1", "%2", "%", "?", "#", " ", "|", "[", "]", "\"", "<", "ქ", "é", "xn--", "\t",
])
SAFE_PIECES = st.sampled_from(["slug", "-", ".", "_", "~", "!", "$", "&", "'", "(", ")", "*", "+", ",", ";", "=",
                               ":", "@", "/", "%e1", "%83", "%a5", "2"])
URL_LIKE = st.builds(
    lambda scheme, host, port, path, end: f"{scheme}://{host}{port}/{path}{end}",
    st.sampled_from(["http", "https", "HTTP", "ftp"]),
    st.one_of(st.sampled_from(["georgiatoday.ge", "www.georgiatoday.ge", "127.0.0.1", "localhost", "GeorgiaToday.ge",
                               "xn--80ak6aa92e.com", "a.xn--p1ai", "-a.ge", "a-.ge", "a..ge", ".ge", "ge.", "[::1]",
                               "a" * 63 + ".ge", "a" * 64 + ".ge"]),
              st.from_regex(r"\A[a-z0-9.-]{1,20}\Z")),
    st.sampled_from(["", ":8000", ":80", ":0", ":08000", ":59999", ":65535", ":65536", ":99999", ":"]),
    st.one_of(st.lists(URL_PIECES, max_size=25).map("".join), st.lists(SAFE_PIECES, max_size=12).map("".join)),
    st.sampled_from(["/", "", "/?utm_source=x", "/#top", ".xml"]),
)

@PROPS
@given(URL_LIKE)
def test_normalize_url_is_idempotent(url: str) -> None:
    """A normalized URL normalizes to itself: the same article is never two URLs."""
    from newsspider.urls import normalize_url

    try:
        once = normalize_url(url)
    except ValueError:
        return
    assert normalize_url(once) == once


@PROPS
@given(URL_LIKE)
def test_canonical_url_puts_site_urls_on_the_origin(url: str) -> None:
    """A URL of the site in any spelling (http, www., a port) comes out on
    ``https://georgiatoday.ge``, in normal form: canonical_url of it is itself."""
    from newsspider.normalize import is_site_url

    result = canonical_url(url)
    if result is None:
        return
    assert canonical_url(result) == result
    assert is_site_url(result) is is_site_url(url)
    if is_site_url(url):
        assert result.startswith("https://georgiatoday.ge/"), result


WHITESPACE_RUN = re.compile(r"\s+")
EVERY_SPACE = "".join(chr(i) for i in range(0x3001) if chr(i).isspace() or WHITESPACE_RUN.match(chr(i)))


@PROPS
@given(st.text(alphabet=st.sampled_from(EVERY_SPACE + "ab\u200bé\u00ad"), max_size=40))
def test_normalize_text_collapses_exactly_the_regex_whitespace(text: str) -> None:
    """``normalize_text`` splits on ``str.isspace``: the same characters as ``\\s``."""
    from newsspider.normalize import _INVISIBLE, normalize_text

    expected = WHITESPACE_RUN.sub(" ", _INVISIBLE.sub("", text)).strip()
    assert normalize_text(text) == expected


# --------------------------------------------------------------------------- item schemas

TOMBSTONE_VALIDATOR = load_validator(TOMBSTONE_SCHEMA_PATH)
BATUMI = json.loads((FIXTURES / "sample-batumi-boulevard.json").read_text(encoding="utf-8"))
#: The Batumi article of the fixtures, gone: the page answers 404.
GONE = Tombstone(url=BATUMI["url"], post_id=BATUMI["post_id"], detected_at="2026-12-07T18:00:00+00:00",
                 reason="http_404", modified=BATUMI["modified"])
#: The same post, moved to a new slug.
MOVED = replace(GONE, reason="moved",
                moved_to="https://georgiatoday.ge/batumi-boulevard-reconstruction-completed/")


@pytest.mark.parametrize(("path", "item"), [(SCHEMA_PATH, ArticleItem), (TOMBSTONE_SCHEMA_PATH, Tombstone)])
def test_each_schema_has_exactly_the_fields_of_its_item(path: Path, item: type) -> None:
    schema = json.loads(path.read_text(encoding="utf-8"))
    names = [f.name for f in fields(item)]
    assert list(schema["properties"]) == schema["required"] == names
    assert schema["additionalProperties"] is False


def test_the_tombstone_schema_knows_every_reason() -> None:
    schema = json.loads(TOMBSTONE_SCHEMA_PATH.read_text(encoding="utf-8"))
    assert tuple(schema["properties"]["reason"]["enum"]) == TOMBSTONE_REASONS


@pytest.mark.parametrize("tombstone", [
    GONE,
    replace(GONE, reason="http_410", post_id=None, modified=None),
    replace(GONE, reason="redirected", detected_at="2026-12-07T22:00:00+04:00"),
    replace(GONE, reason="not_an_article"),
    MOVED,
    replace(MOVED, url="https://georgiatoday.ge/%e1%83%a5%e1%83%90/",
            moved_to="https://georgiatoday.ge/%e1%83%a5%e1%83%90-2/"),
], ids=lambda t: t.reason)
def test_realistic_tombstones_are_valid(tombstone: Tombstone) -> None:
    errors = [e.message for e in TOMBSTONE_VALIDATOR.iter_errors(asdict(tombstone))]
    assert not errors, errors


@pytest.mark.parametrize(("tombstone", "where"), [
    ({**asdict(MOVED), "moved_to": None}, "moved_to"),  # a move says where to
    ({k: v for k, v in asdict(MOVED).items() if k != "moved_to"}, ""),  # every key present
    ({**asdict(GONE), "moved_to": MOVED.moved_to}, "moved_to"),  # only a move has a moved_to
    ({**asdict(GONE), "reason": "deleted"}, "reason"),  # not one of TOMBSTONE_REASONS
    ({**asdict(GONE), "reason": None}, "reason"),
    ({**asdict(GONE), "detected_at": "2026-12-07T18:00:00"}, "detected_at"),  # no offset
    ({**asdict(GONE), "detected_at": None}, "detected_at"),
    ({**asdict(GONE), "url": "http://www.georgiatoday.ge/batumi/"}, "url"),  # not canonical
    ({**asdict(MOVED), "moved_to": "https://georgiatoday.ge/batumi/#top"}, "moved_to"),
    ({**asdict(GONE), "post_id": 0}, "post_id"),
    ({**asdict(GONE), "title": BATUMI["title"]}, ""),  # an article's field
], ids=lambda case: str(case) if isinstance(case, str) else None)
def test_broken_tombstones_are_rejected(tombstone: dict[str, Any], where: str) -> None:
    errors = list(TOMBSTONE_VALIDATOR.iter_errors(tombstone))
    assert errors
    assert {"/".join(map(str, e.absolute_path)) for e in errors} == {where}
