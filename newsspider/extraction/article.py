"""Article page: one short method per output field, sources in precedence order.

``ArticlePage`` wraps a parsed page (a parsel ``Selector``) and answers "is this an
article?" and "what is its title / published / …?".  It returns *raw* values (strings as
the page has them, lists, ``None``); the ``ArticleLoader`` (``newsspider.extraction.loader``)
normalizes them.  The fields that span the pages of a post (body, image credit) are
``newsspider.extraction.post.Post``'s.  The head (meta tags, links, JSON-LD scripts) and
the landmarks (the article column, then its header, title, content and featured-image slot
in one walk) are found once in ``__init__``, the JSON-LD is parsed once on first use; field
methods only look inside them.

Source order per field (see README "Fields"): Yoast JSON-LD graph → meta tags → visible
JNews markup → other JSON-LD (JNews's own ``"@type": "article"`` script and other SEO
plugins' graphs, whose dates carry wrong offsets on real sites).
"""

from __future__ import annotations

import re
from functools import cached_property, lru_cache
from typing import Any

from lxml import etree
from lxml.html import HtmlElement
from parsel import Selector
from scrapy.http import TextResponse

from newsspider.extraction import body as bodytext
from newsspider.extraction.jsonld import (
    Graph,
    Node,
    StructuredData,
    names,
    node_types,
    parse_structured_data,
    text_list,
    text_value,
)
from newsspider.extraction.selector import BODY_CLASS_RAW, first, has_class, page_selector
from newsspider.normalize import is_site_url
from newsspider.site import TITLE_SUFFIX

# --- selectors (XPath, tag-qualified: the head, the landmarks, then queries inside them) --
BODY_CLASS = etree.XPath("/html/body/@class")
HTML_LANG = etree.XPath("/html/@lang")
#: Everything the page's ``<head>`` tells us, in one query: meta tags, canonical and
#: shortlink, JSON-LD scripts, the title.  ``DOCUMENT_PARTS`` is the fallback for broken
#: pages where the parser moved head elements into the body.
HEAD_PARTS_QUERY = (
    '/html/head/meta[@content] | /html/head/link[@rel="canonical" or @rel="shortlink"]'
    ' | /html/head/script[@type="application/ld+json"] | /html/head/title'
)
HEAD_PARTS = etree.XPath(HEAD_PARTS_QUERY)
DOCUMENT_PARTS = etree.XPath(HEAD_PARTS_QUERY.replace("/html/head/", "//"))
LD_SCRIPTS_ANYWHERE = etree.XPath('//script[@type="application/ld+json"]')


def _first_with_class(tag: str, cls: str, scope: str = ".") -> etree.XPath:
    """The first ``<tag>`` (in document order) whose class list holds ``cls``.  Written
    ``descendant::tag[…][1]`` (not ``(//tag[…])[1]``): libxml2 then stops at the first
    match instead of collecting every match of the page first."""
    return etree.XPath(f"{scope}/descendant::{tag}{has_class(cls)}[1]")


#: The single-post column is the first ``div.jeg_singlepage`` (header, featured image,
#: content — not the sidebar or footer); the landmarks inside it are found in one walk
#: (``_ColumnLandmarks``).  These queries look for them in the whole page when the
#: column has none.
H1_TITLE = _first_with_class("h1", "jeg_post_title")
CONTENT_INNER = _first_with_class("div", "content-inner")
FEATURED = _first_with_class("div", "jeg_featured")
#: Full-width header templates show the featured image in the header: as the CSS
#: background of ``.jeg_featured_img`` (single-post 4-6) or as an ``<img>`` (single-post 10).
FEATURED_BIG = _first_with_class("div", "jeg_featured_big", scope="")
FEATURED_BACKGROUND = _first_with_class("div", "jeg_featured_img")
FEATURED_BIG_IMG = etree.XPath("./descendant::div" + has_class("jeg_featured_bg") + "/descendant::img[1]")
BACKGROUND_URL = re.compile(r"background-image\s*:\s*url\(\s*['\"]?([^'\")]+)")

H2_SUBTITLE = ".//h2" + has_class("jeg_post_subtitle")
POST_META = ".//div" + has_class("jeg_post_meta")
META_AUTHOR_LINKS = './/div[contains(@class, "jeg_meta_author")]//a'
META_DATE = ".//div" + has_class("jeg_meta_date")
META_CATEGORY_LINKS = './/div[contains(@class, "jeg_meta_category")]//a'
POST_TAG_LINKS = './/div[contains(@class, "jeg_post_tags")]//a'
FEATURED_CAPTION = './/p[contains(@class, "wp-caption-text")]'
PAGE_LINKS = './/div[contains(@class, "jeg_pagelinks")]//a[@href]/@href'

TRUNCATED = ("…", "...")
POSTID_CLASS = re.compile(r"\bpostid-(\d+)\b")
PAGED_CLASS = re.compile(r"\bsingle-paged-(\d+)\b")
SHORTLINK_ID = re.compile(r"[?&]p=(\d+)\b")
#: A complete WordPress page ends with ``</html>`` (maybe followed by a cache comment),
#: looked for in the page's last bytes (lower-cased).
PAGE_END = re.compile(rb"</html\s*>")
PAGE_END_WINDOW = 8192
AUTHOR_SEPARATOR = re.compile(r"\s*,\s*|\s+and\s+|\s*&\s*")


class NotAnArticle(ValueError):
    """The page is not an article (listing, static page, broken shell …)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def _text(el: HtmlElement | None) -> str | None:
    if el is None:
        return None
    text = bodytext.normalize_text(el.text_content())
    return text or None


@lru_cache(maxsize=64)
def _ascii_compatible(encoding: str) -> bool:
    """Markup reads the same in the raw bytes (UTF-8, cp1251 …; not UTF-16/32)."""
    try:
        return "</html>".encode(encoding) == b"</html>"
    except (LookupError, UnicodeError):
        return False


def _enclosing(el: HtmlElement, tag: str, cls: str) -> HtmlElement | None:
    """The nearest ``<tag>`` ancestor of ``el`` whose class list holds ``cls``."""
    return next((a for a in el.iterancestors(tag) if cls in a.classes), None)


def _img_src(img: HtmlElement) -> str | None:
    """An image's URL: the lazy-loading attributes hold it, ``src`` a placeholder."""
    return img.get("data-src") or img.get("data-lazy-src") or img.get("src")


def _has_class(value: str, cls: str) -> bool:
    """``cls`` is one of the class names in ``value`` (a ``class`` attribute), split on
    XML whitespace as the XPath predicate ``has_class`` does."""
    return cls in value and cls in value.replace("\t", " ").replace("\n", " ").replace("\r", " ").split(" ")


def _first_div_with_class(root: HtmlElement, cls: str) -> HtmlElement | None:
    """The first ``<div>`` in document order whose class list holds ``cls``.  A walk in
    Python stops at the match and costs half the equivalent XPath: libxml2 builds the
    normalized class string of every ``div`` before it."""
    for el in root.iter("div"):
        value = el.get("class")
        if value and _has_class(value, cls):
            return el
    return None


class _ColumnLandmarks:
    """The landmarks inside the article column, found in one walk over its ``div`` and
    ``h1`` elements in document order (stopping once each one is found): the first
    ``div.entry-header``, ``h1.jeg_post_title`` (anywhere in the column, and inside that
    header), ``div.content-inner`` and ``div.jeg_featured``."""

    __slots__ = ("content", "featured", "header", "title", "title_in_header")

    def __init__(self, column: HtmlElement | None) -> None:
        self.header: HtmlElement | None = None
        self.title: HtmlElement | None = None
        self.title_in_header: HtmlElement | None = None
        self.content: HtmlElement | None = None
        self.featured: HtmlElement | None = None
        after_header: HtmlElement | None = None  # the first title after the header starts
        for el in column.iterdescendants("div", "h1") if column is not None else ():
            value = el.get("class")
            if not value:
                continue
            if el.tag == "h1":
                if _has_class(value, "jeg_post_title"):
                    if self.title is None:
                        self.title = el
                    if self.header is not None and after_header is None:
                        after_header = el
            else:
                if self.header is None and _has_class(value, "entry-header"):
                    self.header = el
                if self.content is None and _has_class(value, "content-inner"):
                    self.content = el
                if self.featured is None and _has_class(value, "jeg_featured"):
                    self.featured = el
            if after_header is not None and self.content is not None and self.featured is not None:
                break
        # The header's descendants follow it in document order: the first title after it
        # is the header's own title, or the header has none.
        if after_header is not None and any(a is self.header for a in after_header.iterancestors("div")):
            self.title_in_header = after_header


class ArticlePage:
    """One parsed page; field methods return raw values in precedence order."""

    def __init__(self, root: Selector, url: str, raw: bytes | None = None) -> None:
        self.tree: HtmlElement | None = root.root if isinstance(root.root, HtmlElement) else None
        self.url = url
        self.raw = raw
        """The page as received (ASCII-compatible encoding), for checks the tree cannot
        answer: a truncated page, a ``<body class>`` lxml dropped."""
        classes = first(self._xpath(BODY_CLASS))
        broken = classes is None
        if broken and raw is not None:
            match = BODY_CLASS_RAW.search(raw)
            classes = match.group(1).decode("latin-1") if match else None
        self.body_classes: set[str] = set((classes or "").split())
        self._sort_head(self._xpath(DOCUMENT_PARTS if broken else HEAD_PARTS))
        if not self.meta and not broken:
            self._sort_head(self._xpath(DOCUMENT_PARTS))
        found = _first_div_with_class(self.tree, "jeg_singlepage") if self.tree is not None else None
        # Elementor layouts have no .jeg_singlepage: fall back to the whole page.
        self.container: HtmlElement | None = found if found is not None else self.tree
        column = _ColumnLandmarks(self.container)
        header = column.header
        # The title sits in the header: look there first, not through the whole column.
        title = column.title_in_header
        if title is None:
            title = column.title if column.title is not None else self._outside_column(H1_TITLE)
            own = _enclosing(title, "div", "entry-header") if title is not None else None
            if own is not None:
                # JNews's full-width header templates (single-post 4-8) print the header
                # above the content column: the title's own header is the post's.
                header = own
        self.header: HtmlElement | None = header if header is not None else self.container
        self.title_h1: HtmlElement | None = title
        content = column.content
        self.content: HtmlElement | None = content if content is not None else self._outside_column(CONTENT_INNER)
        self.featured: HtmlElement | None = self._featured_slot(column)

    def _outside_column(self, query: etree.XPath) -> HtmlElement | None:
        """The first match of a landmark query in the whole page, when the article column
        has none (templates that print the header or the featured image above it)."""
        if self.tree is None or self.container is self.tree:
            return None  # the column is the whole page: already looked there
        return first(query(self.tree))

    def _featured_slot(self, column: _ColumnLandmarks) -> HtmlElement | None:
        """``div.jeg_featured`` in the column, else in a full-width header above it
        (single-post 9) — never one elsewhere on the page (a sidebar widget)."""
        if column.featured is not None or self.container is self.tree:
            return column.featured
        header = self.full_width_header
        return first(FEATURED(header)) if header is not None else None

    @classmethod
    def from_response(cls, response: TextResponse, url: str | None = None) -> ArticlePage:
        """The page of a Scrapy response; ``url`` is its canonical URL (default: the
        response's).  Parsed with ``page_selector`` (no response/selector cycle)."""
        raw = response.body if _ascii_compatible(response.encoding) else response.text.encode("utf-8")
        return cls(page_selector(response), url or response.url, raw)

    def _xpath(self, query: etree.XPath) -> list[Any]:
        """A document-level query on the lxml tree (compiled once; no parsel wrappers:
        strings stay str)."""
        return query(self.tree) if self.tree is not None else []

    def _sort_head(self, parts: list[HtmlElement]) -> None:
        self.meta: dict[str, list[str]] = {}
        """``<meta>`` contents by lower-cased ``property``/``name``, in document order."""
        self.links: dict[str, list[str]] = {}
        """``href`` of ``<link rel=canonical|shortlink>`` by ``rel``."""
        self.ld_scripts: list[HtmlElement] = []
        self.title_tag: HtmlElement | None = None
        for el in parts:
            tag = el.tag
            if tag == "meta":
                key = el.get("property") or el.get("name")
                if key:
                    self.meta.setdefault(key.lower(), []).append(el.get("content"))
            elif tag == "link":
                self.links.setdefault(el.get("rel"), []).append(el.get("href"))
            elif tag == "script":
                self.ld_scripts.append(el)
            elif self.title_tag is None:
                self.title_tag = el

    # --- cached page parts --------------------------------------------------------------
    @cached_property
    def data(self) -> StructuredData:
        # Yoast prints its graph in <head>; on a page with none there, the body's scripts.
        return parse_structured_data(self.ld_scripts or self._xpath(LD_SCRIPTS_ANYWHERE))

    def _meta(self, key: str) -> str | None:
        return first(self.meta.get(key, []))

    @cached_property
    def article_node(self) -> Node | None:
        return self.data.primary.article()

    @cached_property
    def secondary_article(self) -> Node | None:
        return self.data.secondary.article()

    @cached_property
    def webpage_node(self) -> Node | None:
        node = self.article_node
        if node is not None:
            page = self.data.primary.resolve(node.get("mainEntityOfPage") or node.get("isPartOf"))
            if isinstance(page, dict) and "webpage" in node_types(page):
                return page
        return self.data.primary.first(["WebPage"])

    @cached_property
    def full_width_header(self) -> HtmlElement | None:
        """``div.jeg_featured_big``: the header some templates print above the column."""
        return first(FEATURED_BIG(self.tree)) if self.tree is not None else None

    @cached_property
    def post_meta(self) -> HtmlElement | None:
        found = self.header.xpath(POST_META) if self.header is not None else []
        return found[0] if found else None

    # --- page type ----------------------------------------------------------------------
    def check_article(self) -> None:
        """Raise ``NotAnArticle`` unless the page has the structure of a post."""
        classes = self.body_classes
        # "single" + postid-N: a post type other themes/plugins label differently; an
        # attachment page (an image's own page) carries both and is not an article.
        is_post = "single-post" in classes or ("single" in classes and bool(self.post_id_class()))
        if not is_post or "attachment" in classes or "single-attachment" in classes:
            if not classes and self._truncated() and self.raw is not None and b"<html" in self.raw[:4096].lower():
                # Cut off before <body>: unknown, not "not a post" (a retry may bring the page).
                raise NotAnArticle("truncated_page", "the HTML stops before <body>")
            kinds = ("attachment", "home", "archive", "page", "search", "error404")
            kind = next((k for k in kinds if k in classes), "other")
            raise NotAnArticle("not_a_post", f"page type {kind!r}")
        if self._truncated():
            raise NotAnArticle("truncated_page", "the HTML stops before </html>")
        if self.title_h1 is None:
            raise NotAnArticle("no_title_heading", "no h1.jeg_post_title")
        if self.content is None:
            raise NotAnArticle("no_content_container", "no div.content-inner")

    def _truncated(self) -> bool:
        return self.raw is not None and not PAGE_END.search(self.raw[-PAGE_END_WINDOW:].lower())

    def page_number(self) -> int:
        """1 for the first page of a post, N for ``/<slug>/N/`` of a multi-page post."""
        match = PAGED_CLASS.search(" ".join(self.body_classes))
        return int(match.group(1)) if match else 1

    def page_links(self) -> list[str]:
        """Links of the ``<!--nextpage-->`` navigation (``.jeg_pagelinks``) in the content."""
        return self.content.xpath(PAGE_LINKS) if self.content is not None else []

    # --- fields -------------------------------------------------------------------------
    def urls(self) -> list[str]:
        """The candidates on the site (a canonical link to another host names a copy, not
        this page), then the URL the page was fetched at (canonical already)."""
        return [*filter(is_site_url, self.url_candidates()), self.url]

    def url_candidates(self) -> list[str]:
        """The URLs the page gives itself: Yoast ``WebPage.url``, canonical link and
        ``og:url`` (page 1 only), the permalink of the post meta's date."""
        candidates = []
        if self.page_number() == 1:
            if self.webpage_node is not None:
                candidates.append(text_value(self.webpage_node.get("url")))
            candidates += [first(self.links.get("canonical", [])), self._meta("og:url")]
        date_links = self.post_meta.xpath(META_DATE + "//a/@href") if self.post_meta is not None else []
        candidates.append(first(date_links))
        return [c for c in candidates if c]

    def post_id(self) -> str | None:
        shortlink = first(self.links.get("shortlink", [])) or ""
        match = SHORTLINK_ID.search(shortlink)
        return match.group(1) if match else self.post_id_class()

    def post_id_class(self) -> str | None:
        match = POSTID_CLASS.search(" ".join(self.body_classes))
        return match.group(1) if match else None

    def title(self) -> str | None:
        h1 = _text(self.title_h1)
        headline = text_value(self.article_node.get("headline")) if self.article_node else None
        if headline and not (h1 and headline != h1 and _looks_truncated(headline, h1)):
            return headline
        if h1:
            return h1
        for raw in (self._meta("og:title"), _text(self.title_tag)):
            if raw:
                return TITLE_SUFFIX.sub("", raw)
        return None

    def subtitle(self) -> str | None:
        found = self.header.xpath(H2_SUBTITLE) if self.header is not None else []
        return _text(found[0]) if found else None

    def summary(self) -> str | None:
        if self.webpage_node is not None:
            described = text_value(self.webpage_node.get("description"))
            if described:
                return described
        return self._meta("description") or self._meta("og:description")

    def authors(self) -> list[str]:
        if self.article_node is not None:
            found = names(self.data.primary, self.article_node.get("author"))
            if found:
                return found
        byline = self.post_meta.xpath(META_AUTHOR_LINKS) if self.post_meta is not None else []
        if byline:
            return [t for t in (_text(a) for a in byline) if t]
        meta_author = self._meta("author")
        if meta_author and not meta_author.startswith("http"):
            return AUTHOR_SEPARATOR.split(meta_author)
        if self.post_meta is None and self.secondary_article is not None:
            return names(self.data.secondary, self.secondary_article.get("author"))
        return []

    def published(self) -> str | None:
        return self._date("datePublished", "article:published_time", visible=True)

    def modified(self) -> str | None:
        return self._date("dateModified", "article:modified_time", visible=False)

    def _date(self, key: str, meta_key: str, *, visible: bool) -> str | None:
        if self.article_node is not None and (value := text_value(self.article_node.get(key))):
            return value
        if value := self._meta(meta_key):
            return value
        if self.secondary_article is not None and (value := text_value(self.secondary_article.get(key))):
            return value
        if visible and self.post_meta is not None:
            return _text(first(self.post_meta.xpath(META_DATE)))
        return None

    def categories(self) -> list[str]:
        if self.article_node is not None:
            sections = text_list(self.article_node.get("articleSection"))
            if sections:
                return sections
        links = self.post_meta.xpath(META_CATEGORY_LINKS) if self.post_meta is not None else []
        return [t for t in (_text(a) for a in links) if t]

    def tags(self) -> list[str]:
        if self.article_node is not None:
            keywords = text_list(self.article_node.get("keywords"))
            if keywords:
                return keywords
        links = self.content.xpath(POST_TAG_LINKS) if self.content is not None else []
        if not links and self.container is not None:
            links = self.container.xpath(POST_TAG_LINKS)
        return [t for t in (_text(a) for a in links) if t]

    @cached_property
    def _primary_image(self) -> Node | None:
        graph: Graph = self.data.primary
        for holder in (self.article_node, self.webpage_node):
            if holder is None:
                continue
            for key in ("image", "primaryImageOfPage"):
                ref = holder.get(key)
                node = graph.resolve(ref[0] if isinstance(ref, list) and ref else ref)
                if isinstance(node, dict) and (node.get("url") or node.get("contentUrl")):
                    return node
        return None

    @cached_property
    def _featured_slot_empty(self) -> bool:
        """JNews prints an empty ``div.jeg_featured`` when the post has no featured image
        (Yoast may still name the first inline image as the page's primary image)."""
        slot = self.featured
        return slot is not None and len(slot) == 0 and not (slot.text or "").strip()

    def image_url(self) -> str | None:
        if self._featured_slot_empty:
            return None
        if self._primary_image is not None:
            return text_value(self._primary_image.get("url") or self._primary_image.get("contentUrl"))
        if self.article_node is not None:
            return None  # a Yoast graph without a primary image: the post has none
        if self.featured is None:
            # No featured-image slot (og:image could be an inline image), unless a
            # full-width header shows it.
            return self._header_image()
        link = first(self.featured.xpath(".//a/@href"))
        if link:
            return str(link)
        img = first(self.featured.xpath(".//img"))
        if img is not None:
            return _img_src(img)
        # JNews's lazy background option: <div class="lazyload" data-bgset="URL [size], …">
        bgset = first(self.featured.xpath(".//@data-bgset"))
        if bgset and bgset.split()[0].startswith(("http://", "https://")):
            return str(bgset.split()[0].rstrip(","))
        return self._meta("og:image")

    def _header_image(self) -> str | None:
        """The featured image of a full-width header template, if the page has one."""
        header = self.full_width_header
        if header is None:
            return None
        background = first(FEATURED_BACKGROUND(header))
        match = BACKGROUND_URL.search(background.get("style") or "") if background is not None else None
        if match:
            return match.group(1).strip()
        img = first(FEATURED_BIG_IMG(header))
        return _img_src(img) if img is not None else None

    def image_caption(self) -> str | None:
        if self._featured_slot_empty:
            return None
        if self._primary_image is not None:
            caption = text_value(self._primary_image.get("caption"))
            if caption:
                return caption
        if self.featured is not None:
            return _text(first(self.featured.xpath(FEATURED_CAPTION)))
        return None

    def body_parts(self) -> tuple[list[str], str | None]:
        """Body paragraphs of this page and the trailing credit line's value, if any
        (``Post`` joins them across the pages)."""
        if self.content is None:
            return [], None
        return bodytext.split_credit(bodytext.paragraphs(self.content))

    def language(self) -> str | None:
        for holder in (self.article_node, self.webpage_node):
            if holder is not None and (declared := text_value(holder.get("inLanguage"))):
                return declared
        return self._meta("og:locale") or first(self._xpath(HTML_LANG))


def _looks_truncated(headline: str, full: str) -> bool:
    stem = headline.rstrip("".join(TRUNCATED)).rstrip()
    return headline.endswith(TRUNCATED) or (full.startswith(stem) and len(stem) < len(full))
