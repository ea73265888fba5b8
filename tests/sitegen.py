"""Synthetic georgiatoday.ge mirror generator for crawler tests (standard library only).

The pages are built from the *real* sample page templates (home, article, category listing,
static page, feed, sitemaps, robots.txt) copied to ``tests/fixtures/site-templates/`` from
``shared/reference/georgiatoday-sample``: every template is cut into literal chunks and named
slots once per run, then each page is rendered by string joining, so thousands of pages take
seconds. The output directory has the layout :mod:`newsspider.dev.devserver` serves: each page
is ``<decoded URL path>/index.html``; ``robots.txt``, ``*.xml`` sitemaps at the root and the
RSS feed in ``feed/index.xml``.

What a generated site contains (``SITE`` = ``https://georgiatoday.ge``):

* ``/`` — home: JNews hero (4 newest), "Latest News" (10 newest), one block per category,
  main menu (desktop, sticky, footer and mobile copies) linking every category archive;
* ``/<slug>/`` — articles, each in one to three categories (so it is listed several times),
  with related posts, sidebar, footer; about 1 in 14 is in Georgian with a percent-encoded
  slug (lower-case hex) and a Unicode folder on disk;
* ``/category/<slug>/`` and ``/category/<slug>/page/N/`` — ``per_page`` posts each, newest
  first, JNews pagination (``a.page_nav.next``) and ``<link rel="next">``/``rel="prev"``;
* ``/tag/<slug>/``, ``/author/<slug>/`` (+ ``/page/N/``) — the same listing markup;
* static pages (not articles): about-us, history, our-team, advertising, subscription, contact;
* the sidebar "Don't Miss" box of every archive page (category/tag/author) links to a tracked
  URL (``?utm_source=...``), to an article URL without its trailing slash (the server answers
  301) and to :attr:`SiteManifest.dead_url`, the only internal link that is a 404 (the home
  page's box has two tracked URLs);
* article bodies mix in what a spider must strip: inline ads (some printing
  "- Advertisement -"), ``figure`` images with captions, ``<p>&nbsp;</p>``, a trailing
  ``Photo:``/``Header image:`` credit paragraph, ``h2`` subheadings (which count as body);
* ``/robots.txt`` (with ``Sitemap:``), ``/sitemap_index.xml`` → ``post-sitemap.xml``
  (+ ``post-sitemap2.xml``… above 1000 posts, ordered by last modification, oldest first),
  ``page-sitemap.xml``, ``category-sitemap.xml``; ``/feed/`` with the 10 newest posts.

``version=2`` (same ``seed``) is the same site later: three new articles on top and one old
article edited (an extra last paragraph, later ``dateModified``/``article:modified_time``/
sitemap ``lastmod``). Every other article page, static page and chrome block is byte-identical;
pages that list posts (home, archives, feed, sitemaps) change as they would on WordPress.

``changes=Changes(...)`` applies what happens to posts between crawls on top of either
version: deleted (404 or 410), unpublished (301 to the home page), moved to a new slug (301
from the old URL, same post id), or only dropped from the sitemaps. Pages are removed from
disk; the statuses and redirects the server must answer are ``manifest.fault_rules()``
(:mod:`newsspider.dev.faults`). Generating again without the change restores the site.
:func:`sitemap_posts` reads back what the post sitemaps list.

CLI: ``python tests/sitegen.py OUT --articles N [--version 2] [--seed S] [--manifest FILE]``.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import itertools
import json
import math
import os
import random
import re
import shutil
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

if TYPE_CHECKING:
    from newsspider.dev.faults import FaultRule

__all__ = [
    "SAMPLE_DIR",
    "SITE",
    "TEMPLATE_DIR",
    "CategoryInfo",
    "Changes",
    "ExpectedArticle",
    "Removal",
    "SiteManifest",
    "TemplateError",
    "generate_site",
    "main",
    "sitemap_posts",
]

SITE = "https://georgiatoday.ge"
SAMPLE_DIR = Path("/work/shared/reference/georgiatoday-sample")
TEMPLATE_DIR = Path(__file__).resolve().parent / "fixtures" / "site-templates"
ARTICLE_TEMPLATE = "north-korea-confirms-deployment-of-troops-to-support-russia-in-ukraine-war"
TEMPLATE_FILES = {
    "home": "index.html",
    "article": f"{ARTICLE_TEMPLATE}/index.html",
    "listing": "category/politics/index.html",
    "page": "about-us/index.html",
}
NOW = datetime(2026, 1, 30, 15, 10, tzinfo=timezone.utc)
"""Publication time of the newest version-1 article; version 2 happens a day later."""
CHANGED_AT = {1: NOW + timedelta(hours=6), 2: NOW + timedelta(days=1, hours=9)}
"""When the :class:`Changes` to each version happen (after all of that version's posts and
edits): the ``dateModified`` of a moved post."""
TBILISI = timezone(timedelta(hours=4))
SITEMAP_CHUNK = 1000
FEED_SIZE = 10
DEAD_SLUG = "this-story-is-no-longer-available"
MARK = "\x00"

# ----------------------------------------------------------------------------- text pools

DEFAULT_CATEGORIES: tuple[tuple[str, str], ...] = (
    ("News", "news"),
    ("Politics", "politics"),
    ("Business & Economy", "business"),
    ("Social & Society", "society"),
    ("Sports", "sports"),
    ("Culture", "culture"),
    ("International", "international"),
)
KNOWN_CATEGORY_SLUGS = dict(DEFAULT_CATEGORIES) | {
    "GEO": "geo",
    "OP-ED": "op-ed",
    "Highlights": "highlights",
}
AUTHORS = (
    "Georgia Today",
    "Ana Dumbadze",
    "Nini Gabritchidze",
    "Eka Maisuradze",
    "Tornike Jorjadze",
    "Ketevan Meladze",
    "Vazha Tavberidze",
    "Tamar Svanidze",
    "Levan Abashidze",
    "Mariam Kiknadze",
)
EN_TAGS = (
    "Tbilisi", "Batumi", "Kutaisi", "Adjara", "EU Integration", "Economy", "Tourism", "Wine",
    "Elections", "Education", "Healthcare", "Infrastructure", "Energy", "Agriculture",
    "Football", "Rugby", "Environment", "Urban Development", "Transport", "Parliament",
    "Human Rights", "Media", "Technology", "Startups", "Banking", "Regions", "Libraries",
    "Music", "Cinema", "Diplomacy",
)  # fmt: skip
KA_TAGS = ("ბიბლიოთეკა", "ქუთაისი", "ბათუმი", "კულტურა", "რეგიონები")
SUBJECTS = (
    "Parliament", "The Government", "Tbilisi City Hall", "Batumi City Hall",
    "The National Bank of Georgia", "The Ministry of Economy", "The Ministry of Education",
    "The Ministry of Culture", "The Ministry of Health", "Georgian Railway",
    "The Central Election Commission", "The Constitutional Court", "The Public Defender",
    "Kutaisi City Council", "The National Tourism Administration",
    "The Ministry of Agriculture", "Georgian Post", "The National Statistics Office",
    "The Georgian Football Federation", "The Tbilisi State Conservatoire",
)  # fmt: skip
VERBS = (
    "approves", "announces", "unveils", "debates", "postpones", "expands", "reviews",
    "launches", "completes", "funds", "suspends", "presents",
)  # fmt: skip
OBJECTS = (
    "plan for public transport", "reform of the tax code", "new cycle lanes",
    "budget for rural schools", "road works in Svaneti", "rules for short-term rentals",
    "support for wine exporters", "renovation of the Opera House",
    "digital services for citizens", "programme for young farmers",
    "strategy for mountain tourism", "changes to the election code",
    "investment in hydropower", "subsidies for heating", "a new museum quarter",
    "an air quality monitoring network",
)  # fmt: skip
SUFFIXES = (
    "", " in Kutaisi", " in Batumi", " for 2026", " after public hearings",
    " ahead of the summer season", " in Adjara", " in Kakheti", " despite criticism",
    " in Imereti", " after months of talks", " in Mtskheta",
)  # fmt: skip
SENTENCES = (
    "{subject} said on {weekday} that the {topic} would be ready by {month}.",
    "The project is expected to cost around GEL {num} million, according to officials.",
    "Officials in {place} welcomed the decision, calling it {adj} for the region.",
    "Critics argued that the plan had been prepared without enough public consultation.",
    "The city’s residents will be able to comment on the proposal until {month}.",
    "Representatives of trade & industry associations are expected to attend the hearing.",
    "Work on the first stage began in {month} and currently employs {num} people.",
    "“We want the changes to be visible to everyone,” {person} told journalists.",
    "According to the statistics office, visitor numbers in {place} grew by {num} percent.",
    "The opposition has asked for the documents to be published in full.",
    "Similar measures were introduced in {place} two years ago.",
    "A final decision is expected after consultations with international partners.",
)
TOPICS = ("new timetable", "first phase", "reform", "programme", "feasibility study", "tender")
PLACES = (
    "Tbilisi", "Batumi", "Kutaisi", "Rustavi", "Zugdidi", "Telavi", "Gori", "Mestia", "Poti",
    "Akhaltsikhe",
)  # fmt: skip
MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
ADJECTIVES = ("an important step", "long overdue", "a welcome change", "a real test")
PEOPLE = (
    "Deputy Minister Nino Beridze", "Mayor Giorgi Tsiklauri", "economist Levan Kalandadze",
    "analyst Mariam Gogua",
)  # fmt: skip
SUBHEADINGS = ("What happens next", "Background", "Reactions", "Key figures")
CREDITS = ("Georgia Today", "Batumi City Hall", "Tbilisi City Hall", "AP", "Government Press")
KA_CITIES = ("ქუთაისში", "ბათუმში", "თბილისში", "თელავში", "მესტიაში", "ზუგდიდში", "გორში", "ფოთში")
KA_EVENTS = (
    "ახალი საბავშვო ბიბლიოთეკა გაიხსნა", "ახალი პარკი გაიხსნა", "ღვინის ფესტივალი დაიწყო",
    "გზის რეაბილიტაცია დასრულდა", "ახალი სკოლა აშენდა", "თეატრის სეზონი გაიხსნა",
    "მუზეუმის რეკონსტრუქცია დაიწყო", "ველობილიკები მოეწყო", "ახალი ავტობუსები ამოქმედდა",
    "სტადიონის მშენებლობა დასრულდა",
)  # fmt: skip
KA_WHEN = ("", " დღეს", " გუშინ", " ამ კვირაში", " შაბათს", " კვირას")
KA_SENTENCES = (
    "ქალაქის მერიის ინფორმაციით, პროექტი წლის ბოლომდე დასრულდება.",
    "ღონისძიებას ადგილობრივი მოსახლეობა და სტუმრები დაესწრნენ.",
    "პროექტი ადგილობრივი ბიუჯეტით დაფინანსდა.",
    "მომდევნო ეტაპზე სამუშაოები სხვა უბნებშიც გაგრძელდება.",
    "ორგანიზატორების თქმით, ინტერესი მოსალოდნელზე მაღალი იყო.",
    "ახალი სივრცე ყველასთვის უფასოდ იქნება ხელმისაწვდომი.",
    "ქალაქში მსგავსი პროექტები წინა წლებშიც განხორციელდა.",
    "დეტალური ინფორმაცია მერიის ვებგვერდზე გამოქვეყნდება.",
)
STATIC_PAGE_TITLES = {
    "about-us": "About Us",
    "history": "History",
    "our-team": "Our Team",
    "advertising": "Advertising",
    "subscription": "Subscription",
    "contact": "Contact Us",
}
STATIC_PAGE_TEXT = {
    "history": (
        "Georgia Today was founded in 2000 as a weekly print newspaper.",
        "The website followed in 2004 and has published daily since 2010.",
    ),
    "our-team": (
        "Our newsroom in Tbilisi brings together editors, reporters and photographers.",
        "Correspondents in Batumi and Kutaisi cover the regions.",
    ),
    "advertising": (
        "Georgia Today offers print, online and newsletter advertising.",
        "Write to our sales team for the current rate card.",
    ),
    "subscription": (
        "The weekly print edition is available by subscription across Georgia.",
        "Businesses and embassies can order bulk subscriptions.",
    ),
    "contact": (
        "Editorial office: 22 Kostava Street, Tbilisi, Georgia.",
        "Send news tips and press releases to our editors by email.",
    ),
}
INLINE_AD = "<div class=\"jeg_ad jeg_ad_article jnews_content_inline_ads  \"><div class='ads-wrapper align-center '></div></div>"  # noqa: E501
INLINE_AD_TEXT = (
    '<div class="jeg_ad jeg_ad_article jnews_content_inline_ads  "><div class=\'ads-wrapper '
    "align-center '><a href='https://where.ge/?utm_source=georgiatoday&amp;utm_medium=banner' "
    'aria-label="Visit advertisement link" target="_blank" rel="nofollow noopener" '
    "class='adlink ads_image align-center'><img src='https://georgiatoday.ge/wp-content/themes/"
    "jnews/assets/img/jeg-empty.png' class='lazyload' data-src='https://georgiatoday.ge/"
    "wp-content/uploads/2024/03/where-ge-banner-728x90.jpg' alt='Advertisement' width='728' "
    "height='90'></a><div class='ads-text'>- Advertisement -</div></div></div>"
)


class TemplateError(RuntimeError):
    """A template page no longer has the markup this generator cuts it at."""


# ----------------------------------------------------------------------------- data model


@dataclass(frozen=True)
class Term:
    """A category, tag or author archive."""

    kind: str  # "category" | "tag" | "author"
    name: str
    slug: str  # decoded (Unicode) slug
    term_id: int

    @property
    def url(self) -> str:
        """Absolute archive URL with the slug percent-encoded like WordPress."""
        return f"{SITE}/{self.kind}/{encode_slug(self.slug)}/"


@dataclass(eq=False)
class Post:
    """One generated article (internal, mutable while the site is being built)."""

    post_id: int
    slug: str
    title: str
    lang: str
    published: datetime
    modified: datetime
    authors: list[Term]
    categories: list[Term]
    tags: list[Term]
    blocks: list[tuple[str, str]]  # (kind, text): p | h2 | empty | ad | ad_text | figure | credit
    caption: str | None  # featured image caption; None = no featured image
    stub: str = ""
    """ASCII file-name stem for this post's images (from the first slug: a move keeps it)."""

    def __post_init__(self) -> None:
        if not self.stub:
            self.stub = self.slug[:40] if self.slug.isascii() else f"post-{self.post_id}"

    @property
    def url(self) -> str:
        """Canonical URL (percent-encoded slug, trailing slash)."""
        return f"{SITE}/{encode_slug(self.slug)}/"

    @property
    def image_base(self) -> str | None:
        """Featured image URL without ``.jpg`` (sizes append ``-750x375``), or None."""
        if self.caption is None:
            return None
        return f"{SITE}/wp-content/uploads/{self.published:%Y/%m}/{self.stub}-{self.post_id}"

    @property
    def image(self) -> str | None:
        """Full-size featured image URL, or None."""
        base = self.image_base
        return None if base is None else f"{base}.jpg"

    @property
    def paragraphs(self) -> list[str]:
        """Body paragraphs as a crawler should extract them."""
        return [text for kind, text in self.blocks if kind in ("p", "h2")]

    @property
    def credit(self) -> str | None:
        """The trailing ``Photo:``/``Header image:`` credit, label stripped."""
        for kind, text in self.blocks:
            if kind == "credit":
                return text.split(": ", 1)[1]
        return None

    @property
    def summary(self) -> str:
        """Meta description: the first sentence of the first paragraph."""
        first = self.paragraphs[0]
        end = first.find(". ")
        return first if end < 0 else first[: end + 1]

    @property
    def word_count(self) -> int:
        """Words in the body."""
        return sum(len(p.split()) for p in self.paragraphs)


@dataclass(frozen=True)
class ExpectedArticle:
    """What a correct crawler emits for one generated article (truth.jsonl field names)."""

    url: str
    post_id: int
    title: str
    subtitle: str | None
    summary: str
    authors: list[str]
    published: str
    modified: str
    categories: list[str]
    tags: list[str]
    body: str
    image_url: str | None
    image_caption: str | None
    image_credit: str | None
    language: str
    path: str
    """Local URL path as served, e.g. ``/some-slug/`` (append to the server's base URL)."""

    def item(self) -> dict[str, Any]:
        """The fields of the item schema (everything but ``path``)."""
        data = asdict(self)
        del data["path"]
        return data


@dataclass(frozen=True)
class Changes:
    """What happened to some posts between two crawls, applied on top of a site version.

    Keys are canonical article URLs of that version (``SiteManifest.article_urls`` of the
    unchanged generation); one URL takes one change. What the site shows, as WordPress would:

    * ``deleted_404``: the page is gone (its directory is removed: the server answers 404);
    * ``deleted_410``: gone, answering 410 (directory removed; a rule of
      :meth:`SiteManifest.fault_rules`);
    * ``unpublished``: the URL answers 301 to the home page ``/`` (a rule; directory removed);
    * ``moved``: URL → new slug (decoded or percent-encoded; lower case words joined by
      ``-`` as WordPress makes them): the same post (id, title, body, images) at
      ``/<new slug>/`` with every self-reference updated and ``dateModified`` (meta, JSON-LD,
      sitemap ``lastmod``) at :data:`CHANGED_AT`; the old URL answers 301 to the new one
      (a rule; old directory removed);
    * ``unlisted``: dropped from the post sitemaps only; the page is served unchanged.

    Deleted and unpublished posts also leave the home page, the category/tag/author
    listings, the related-post boxes of other articles and the feed; a moved one is listed
    there under its new URL. The site-wide chrome (sidebar "Recommended"/"Don't Miss", footer
    highlights and trending, on every page) keeps its links, as a cached widget would:
    :attr:`SiteManifest.chrome_urls` lists those posts.
    """

    deleted_404: AbstractSet[str] = frozenset()
    deleted_410: AbstractSet[str] = frozenset()
    unpublished: AbstractSet[str] = frozenset()
    moved: Mapping[str, str] = field(default_factory=dict)
    unlisted: AbstractSet[str] = frozenset()


@dataclass(frozen=True)
class Removal:
    """A post no longer served at ``url``: what the server answers there instead."""

    url: str
    """Its canonical URL before the change."""
    post_id: int
    change: str
    """The :class:`Changes` field: ``deleted_404``, ``deleted_410``, ``unpublished``, ``moved``."""
    status: int
    """404 or 410 (deleted) or 301 (unpublished, moved)."""
    location: str | None = None
    """For a 301: the home page ``https://georgiatoday.ge/`` or the moved post's new URL."""

    @property
    def path(self) -> str:
        """Local URL path, as ``ExpectedArticle.path``."""
        return local_path(self.url)


@dataclass(frozen=True)
class CategoryInfo:
    """A category archive: its listing page URLs and articles (newest first)."""

    name: str
    slug: str
    url: str
    page_urls: list[str]
    article_urls: list[str]


@dataclass
class SiteManifest:
    """Everything a test needs to know about a generated site.

    URLs are absolute ``https://georgiatoday.ge/...`` as they appear in the markup; use
    :func:`local_path` (or ``MirrorServer.url``) to request them from the dev server.
    """

    root: Path
    version: int
    seed: int
    per_page: int
    articles: list[ExpectedArticle]
    """Every article served, newest first (by publication time); with changes, moved ones
    at their new URL, deleted and unpublished ones left out."""
    categories: list[CategoryInfo]
    static_pages: list[str]
    dead_url: str
    unslashed_url: str
    """An article link without trailing slash (sidebar of category pages; the server 301s)."""
    tracking_urls: list[str]
    """Article links with ``utm_*`` query strings found in sidebars."""
    tag_urls: list[str]
    author_urls: list[str]
    archive_page_urls: list[str]
    """Every tag and author archive page (empty when ``term_archives=False``)."""
    sitemap_urls: list[str]
    home_url: str = f"{SITE}/"
    feed_url: str = f"{SITE}/feed/"
    robots_url: str = f"{SITE}/robots.txt"
    sitemap_index_url: str = f"{SITE}/sitemap_index.xml"
    new_urls: list[str] = field(default_factory=list)
    """Version 2: the three articles that did not exist in version 1 (newest first)."""
    edited_urls: list[str] = field(default_factory=list)
    """Version 2: the version-1 article whose body and dateModified changed."""
    removals: list[Removal] = field(default_factory=list)
    """The :class:`Changes` that took posts from their URL (deleted, unpublished, moved),
    newest first; ``articles`` holds the moved ones under their new URL."""
    unlisted_urls: list[str] = field(default_factory=list)
    """Articles served but missing from the post sitemaps (``Changes.unlisted``)."""
    chrome_urls: list[str] = field(default_factory=list)
    """Articles linked from the sidebar and footer of every page (as of version 1): a change
    to one of them leaves those links in place."""

    @property
    def article_urls(self) -> list[str]:
        """Canonical URLs of every article, newest first."""
        return [a.url for a in self.articles]

    @property
    def listing_urls(self) -> list[str]:
        """Every category archive page URL."""
        return [url for cat in self.categories for url in cat.page_urls]

    def article(self, url: str) -> ExpectedArticle:
        """The expected article with this canonical URL."""
        for candidate in self.articles:
            if candidate.url == url:
                return candidate
        raise KeyError(url)

    def items(self) -> list[dict[str, Any]]:
        """Expected crawler items (truth.jsonl shape), newest first."""
        return [a.item() for a in self.articles]

    @property
    def removed_urls(self) -> dict[str, int]:
        """URL → post id of the deleted (404, 410) and unpublished posts."""
        return {r.url: r.post_id for r in self.removals if r.change != "moved"}

    @property
    def moved_urls(self) -> dict[str, str]:
        """Old URL → new URL of the moved posts (``article(new)`` has the same ``post_id``)."""
        return {r.url: r.location for r in self.removals if r.change == "moved" and r.location is not None}

    def fault_rules(self) -> list[FaultRule]:
        """New :class:`~newsspider.dev.faults.FaultRule` objects for the 410s and 301s of the
        changes (404s need none: their pages are gone), for ``MirrorServer(root,
        faults=FaultPlan(rules))`` or ``server.faults.rules[:] = ...``; none without changes."""
        from newsspider.dev.faults import FaultRule

        rules = []
        for removal in self.removals:
            if removal.status == 410:
                rules.append(FaultRule(removal.path, statuses=[410]))
            elif removal.location is not None:
                rules.append(FaultRule(removal.path, redirect_to=local_path(removal.location),
                                       redirect_status=removal.status))
        return rules

    def to_json(self) -> dict[str, Any]:
        """JSON-serialisable form (``root`` as a string)."""
        data = asdict(self)
        data["root"] = str(self.root)
        return data


# ----------------------------------------------------------------------------- text helpers

_ENTITIES = {"’": "&#8217;", "‘": "&#8216;", "“": "&#8220;", "”": "&#8221;", "–": "&#8211;"}


def esc(text: str) -> str:
    """Element text as WordPress prints it (``&amp;``, curly quotes as ``&#8217;``...)."""
    out = html.escape(text, quote=False)
    for char, entity in _ENTITIES.items():
        out = out.replace(char, entity)
    return out


def attr(text: str) -> str:
    """Attribute value as ``esc_attr`` prints it."""
    return html.escape(text, quote=True).replace("&#x27;", "&#039;")


def encode_slug(slug: str) -> str:
    """Percent-encode a slug with lower-case hex, as WordPress stores non-ASCII slugs."""
    return re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), quote(slug, safe="-"))


def slugify(text: str) -> str:
    """WordPress-like ``sanitize_title``: lower case, words joined by ``-``."""
    return "-".join(re.findall(r"\w+", text.lower().replace("’", "").replace("'", "")))


def iso(moment: datetime) -> str:
    """``2025-04-28T10:41:09+00:00``."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def local_date(moment: datetime) -> str:
    """Visible JNews date: the Tbilisi (UTC+4) calendar date, ``April 28, 2025``."""
    day = moment.astimezone(TBILISI)
    return f"{MONTHS[day.month - 1]} {day.day}, {day.year}"


def relative_date(moment: datetime, now: datetime) -> str:
    """JNews "time ago" format used by the sidebar (``9 months ago``)."""
    seconds = max(0.0, (now - moment).total_seconds())
    for unit, size in (("year", 31536000), ("month", 2592000), ("day", 86400), ("hour", 3600)):
        if seconds >= size:
            n = int(seconds // size)
            return f"{n} {unit}{'s' if n > 1 else ''} ago"
    return "1 hour ago"


def excerpt(post: Post, words: int = 20) -> str:
    """Card excerpt: the first words of the first paragraph."""
    parts = post.paragraphs[0].split()
    return esc(" ".join(parts[:words])) + ("..." if len(parts) > words else "")


def local_path(url: str) -> str:
    """Path part of a site URL (``https://georgiatoday.ge/x/`` → ``/x/``)."""
    return url[len(SITE) :] if url.startswith(SITE) else url


def disk_path(url: str) -> Path:
    """Relative file for a page URL: decoded path + ``index.html``."""
    parts = [p for p in unquote(local_path(url)).split("/") if p]
    return Path(*parts, "index.html") if parts else Path("index.html")


# ----------------------------------------------------------------------------- content


class ContentFactory:
    """Deterministic titles, bodies, authors and taxonomy for generated posts."""

    def __init__(self, rng: random.Random, categories: list[Term]) -> None:
        self.rng = rng
        self.categories = categories
        self.authors = [Term("author", n, slugify(n), 2 + i) for i, n in enumerate(AUTHORS)]
        tags = [*EN_TAGS, *KA_TAGS]
        self.tags = {n: Term("tag", n, slugify(n), 100 + i) for i, n in enumerate(tags)}
        self.titles: set[str] = set()
        self.slugs: set[str] = set()

    def post(self, index: int, published: datetime, post_id: int, georgian: bool) -> Post:
        """Make one post; ``index`` spreads primary categories over the list."""
        rng = self.rng
        title = self._title(georgian)
        modified = published + rng.choice(
            (timedelta(0), timedelta(minutes=rng.randint(2, 59)), timedelta(hours=rng.randint(1, 72)))
        )
        has_image = rng.random() < 0.9
        return Post(
            post_id=post_id,
            slug=self._slug(title),
            title=title,
            lang="ka" if georgian else "en",
            published=published,
            modified=min(modified, max(NOW, published)),
            authors=self._authors(),
            categories=self._categories(index),
            tags=self._tags(georgian),
            blocks=self._blocks(georgian, has_image),
            caption=f"A view of {rng.choice(PLACES)}." if has_image else None,
        )

    def update_paragraph(self) -> str:
        """The paragraph version 2 appends to the edited article."""
        return (
            f"Update: {self.rng.choice(SUBJECTS)} confirmed on "
            f"{self.rng.choice(WEEKDAYS)} that the timetable has not changed."
        )

    # -- pieces

    def _title(self, georgian: bool) -> str:
        rng = self.rng
        for attempt in range(200):
            if georgian:
                title = f"{rng.choice(KA_CITIES)} {rng.choice(KA_EVENTS)}{rng.choice(KA_WHEN)}"
            else:
                title = f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)}{rng.choice(SUFFIXES)}"
            if attempt > 100:
                title = f"{title} {attempt}"
            if title not in self.titles:
                self.titles.add(title)
                return title
        raise RuntimeError("cannot find a unique title")

    def _slug(self, title: str) -> str:
        base = slugify(title)
        slug, n = base, 2
        while slug in self.slugs or slug == DEAD_SLUG:
            slug, n = f"{base}-{n}", n + 1
        self.slugs.add(slug)
        return slug

    def _authors(self) -> list[Term]:
        k = 2 if self.rng.random() < 0.15 else 1
        return self.rng.sample(self.authors, k)

    def _categories(self, index: int) -> list[Term]:
        primary = self.categories[index % len(self.categories)]
        others = [c for c in self.categories if c is not primary]
        extra = self.rng.choice((0, 1, 1, 1, 2)) if others else 0
        chosen = [primary, *self.rng.sample(others, min(extra, len(others)))]
        return sorted(chosen, key=self.categories.index)

    def _tags(self, georgian: bool) -> list[Term]:
        pool = KA_TAGS if georgian else EN_TAGS
        names = self.rng.sample(pool, self.rng.randint(1, 3))
        return [self.tags[n] for n in sorted(names)]

    def _sentence(self, georgian: bool) -> str:
        rng = self.rng
        if georgian:
            return rng.choice(KA_SENTENCES)
        return rng.choice(SENTENCES).format(
            subject=rng.choice(SUBJECTS),
            weekday=rng.choice(WEEKDAYS),
            topic=rng.choice(TOPICS),
            month=rng.choice(MONTHS),
            num=rng.randint(2, 400),
            place=rng.choice(PLACES),
            adj=rng.choice(ADJECTIVES),
            person=rng.choice(PEOPLE),
        )

    def _blocks(self, georgian: bool, has_image: bool) -> list[tuple[str, str]]:
        rng = self.rng
        blocks: list[tuple[str, str]] = []
        count = rng.randint(3, 7)
        for i in range(count):
            text = " ".join(self._sentence(georgian) for _ in range(rng.randint(2, 4)))
            blocks.append(("p", text))
            if i == 0 and rng.random() < 0.1:
                blocks.append(("empty", ""))
            if i == 1 and rng.random() < 0.4:
                blocks.append(("ad_text" if rng.random() < 0.5 else "ad", ""))
            if i == 1 and rng.random() < 0.3:
                blocks.append(("figure", f"Illustration: {rng.choice(PLACES)} at dusk."))
            if i == 2 and i < count - 1 and not georgian and rng.random() < 0.35:
                blocks.append(("h2", rng.choice(SUBHEADINGS)))
        if has_image and rng.random() < 0.3:
            label = rng.choice(("Photo", "Header image"))
            blocks.append(("credit", f"{label}: {rng.choice(CREDITS)}"))
        return blocks


def content_html(post: Post, feed: bool = False) -> str:
    """The post content as WordPress prints it (Gutenberg spacing); ``feed`` omits ads."""
    parts: list[str] = []
    for kind, text in post.blocks:
        if kind == "p":
            parts.append(f"<p>{esc(text)}</p>")
        elif kind == "h2":
            parts.append(f'<h2 class="wp-block-heading">{esc(text)}</h2>')
        elif kind == "empty":
            parts.append("<p>&nbsp;</p>")
        elif kind in ("ad", "ad_text") and not feed:
            parts.append(INLINE_AD if kind == "ad" else INLINE_AD_TEXT)
        elif kind == "figure":
            parts.append(_figure(post, text))
        elif kind == "credit":
            parts.append(f"<p><em>{esc(text)}</em></p>")
    return "\n\n\n\n".join(parts)


def _figure(post: Post, caption: str) -> str:
    src = f"{SITE}/wp-content/uploads/{post.published:%Y/%m}/inline-{post.post_id}.jpg"
    return (
        f'<figure class="wp-block-image size-large"><img loading="lazy" decoding="async" '
        f'width="1024" height="576" src="{src}" alt="" class="wp-image-{post.post_id + 1}" />'
        f'<figcaption class="wp-element-caption">{esc(caption)}</figcaption></figure>'
    )


# ----------------------------------------------------------------------------- templates


class Tpl:
    """Text with ``\\x00name\\x00`` slots, pre-split for fast rendering."""

    __slots__ = ("parts",)

    def __init__(self, text: str) -> None:
        self.parts = text.split(MARK)
        if len(self.parts) % 2 != 1:
            raise TemplateError("unbalanced slot marker")

    @property
    def names(self) -> set[str]:
        """Slot names used."""
        return set(self.parts[1::2])

    def render(self, values: Mapping[str, str]) -> str:
        """Fill every slot from ``values`` (extra keys are ignored)."""
        parts = self.parts
        out = [parts[0]]
        for i in range(1, len(parts), 2):
            out.append(values[parts[i]])
            out.append(parts[i + 1])
        return "".join(out)


def slot(name: str) -> str:
    """The marker of slot ``name`` inside template text."""
    return f"{MARK}{name}{MARK}"


def must_sub(pattern: str, repl: str, text: str, count: int = 0, flags: int = 0) -> str:
    """``re.sub`` (``\\g<n>`` allowed in ``repl``) that must match at least once."""
    out, n = re.subn(pattern, repl, text, count=count, flags=flags)
    if n == 0:
        raise TemplateError(f"template has no match for {pattern[:70]!r}")
    return out


def must_search(pattern: str, text: str, flags: int = 0) -> re.Match[str]:
    """``re.search`` that must match."""
    m = re.search(pattern, text, flags)
    if m is None:
        raise TemplateError(f"template has no match for {pattern[:70]!r}")
    return m


def must_replace(text: str, old: str, new: str) -> str:
    """``str.replace`` that must find ``old``."""
    if old not in text:
        raise TemplateError(f"template has no {old[:70]!r}")
    return text.replace(old, new)


_DIV = re.compile(r"<div\b|</div>")


def div_end(text: str, start: int) -> int:
    """Index just after the ``</div>`` closing the ``<div`` that starts at ``start``."""
    depth = 0
    for m in _DIV.finditer(text, start):
        depth += 1 if m.group() == "<div" else -1
        if depth == 0:
            return m.end()
    raise TemplateError("unbalanced <div>")


def cut_div(text: str, marker: str, name: str) -> tuple[str, str]:
    """Replace the ``<div>`` starting at ``marker`` by slot ``name``; return both parts."""
    start = text.find(marker)
    if start < 0:
        raise TemplateError(f"template has no {marker!r}")
    end = div_end(text, start)
    return text[:start] + slot(name) + text[end:], text[start:end]


def cut_between(text: str, begin: str, end: str, name: str) -> tuple[str, str]:
    """Replace ``text`` from ``begin`` up to (not including) ``end`` by slot ``name``."""
    a = text.find(begin)
    b = text.find(end, a)
    if a < 0 or b < 0:
        raise TemplateError(f"template has no {begin!r}…{end!r}")
    return text[:a] + slot(name) + text[b:], text[a:b]


def yoast_graph(text: str) -> tuple[str, dict[str, dict[str, Any]]]:
    """Cut the Yoast JSON-LD into slot ``jsonld``; return its nodes keyed by ``@type``."""
    m = must_search(r'<script type="application/ld\+json" class="yoast-schema-graph">(.*?)</script>', text, re.S)
    nodes = {str(n["@type"]): n for n in json.loads(m.group(1))["@graph"]}
    return text[: m.start(1)] + slot("jsonld") + text[m.end(1) :], nodes


def meta_slot(text: str, key: str, name: str, attr_name: str = "property") -> str:
    """Turn the content of ``<meta property="key" content="...">`` into slot ``name``."""
    pattern = rf'(<meta {attr_name}="{re.escape(key)}" content=")[^"]*(")'
    return must_sub(pattern, rf"\g<1>{slot(name)}\g<2>", text, count=1)


# -- post cards

_CARD = r'<article class="jeg_post[^"]*"[^>]*>.*?</article>'
_CARD_RUN = re.compile(rf"{_CARD}(?:\s*{_CARD})*", re.S)
_CARD_SUBS: tuple[tuple[str, str], ...] = (
    (r'aria-label="Read article: [^"]*"', f'aria-label="Read article: {slot("title_attr")}"'),
    (r' alt="[^"]*"', f' alt="{slot("title_attr")}"'),
    (rf'(<h[23] class="jeg_post_title">\s*<a href="{slot("url")}">).*?(</a>)', rf"\g<1>{slot('title_html')}\g<2>"),
    (r'(<i class="fa fa-clock-o"></i> )[^<]*', rf"\g<1>{slot('date')}"),
    (
        rf'href="{SITE}/category/[^"/]+/" class="category-[^"]*">[^<]*</a>',
        f'href="{slot("cat_url")}" class="category-{slot("cat_slug")}">{slot("cat_name")}</a>',
    ),
    (rf'<a href="{SITE}/author/[^"/]+/">[^<]*</a>', f'<a href="{slot("author_url")}">{slot("author_name")}</a>'),
    (rf'{SITE}/wp-content/uploads/stub/[^"\s]*?(-\d+x\d+)?\.jpg', rf"{slot('thumb')}\g<1>.jpg"),
    (r'(<div class="jeg_post_excerpt">\s*<p>).*?(</p>)', rf"\g<1>{slot('excerpt')}\g<2>"),
    (r"jeg_hero_item_\d+", f"jeg_hero_item_{slot('hero_n')}"),
)


def card_template(card: str) -> Tpl:
    """Turn one sample JNews post card into a template with post slots."""
    m = must_search(rf'href="({SITE}/(?!category/|author/|tag/|wp-content/)[^"]+)"', card)
    card = card.replace(m.group(1), slot("url"))
    for pattern, repl in _CARD_SUBS:
        # an unmatched ``(-\d+x\d+)?`` group expands to "" (Python >= 3.5)
        card = re.sub(pattern, repl, card, flags=re.S)
    return Tpl(card)


def extract_groups(text: str, names: Sequence[str]) -> tuple[str, dict[str, Tpl]]:
    """Replace each run of adjacent post cards by a slot; return card templates by name."""
    runs = list(_CARD_RUN.finditer(text))
    if len(runs) != len(names):
        raise TemplateError(f"expected {len(names)} card groups, found {len(runs)}")
    cards: dict[str, Tpl] = {}
    out: list[str] = []
    pos = 0
    for name, run in zip(names, runs, strict=True):
        cards[name] = card_template(must_search(_CARD, run.group(), re.S).group())
        out += [text[pos : run.start()], slot(name)]
        pos = run.end()
    out.append(text[pos:])
    return "".join(out), cards


# -- menus

_MENU_LI = (
    r'<li (?:id|data-id)="menu-item-\d+" class="menu-item menu-item-type-taxonomy '
    r'menu-item-object-category[^"]*"[^>]*><a href="[^"]*">[^<]*</a></li>'
)


def rewrite_menus(text: str, categories: Sequence[Term]) -> str:
    """Make every category menu (main, sticky, footer, mobile) list ``categories``.

    Other links to category archives that are not generated (the footer's custom "GEO" item)
    are dropped, so that the only dead link of the site is :attr:`SiteManifest.dead_url`.
    """

    def main_menu(m: re.Match[str]) -> str:
        return m.group(1) + _menu_items(m.group(2), categories) + m.group(3)

    text, n = re.subn(r'(<ul class="jeg_menu jeg_main_menu[^"]*"[^>]*>)(.*?)(</ul>)', main_menu, text, flags=re.S)
    if n == 0:
        raise TemplateError("template has no main menu")
    for menu_id in ("menu-footer", "menu-mobile-menu"):
        text = _rewrite_category_items(text, menu_id, categories)
    known = {c.url for c in categories}
    return re.sub(
        rf'<li [^>]*><a href="({SITE}/category/[^"/]+/)">[^<]*</a></li>',
        lambda m: m.group() if m.group(1) in known else "",
        text,
    )


def _menu_items(items_html: str, categories: Sequence[Term]) -> str:
    """Menu ``<li>`` elements for ``categories`` modelled on the first category item."""
    first = must_search(_MENU_LI, items_html).group()
    base = int(must_search(r"menu-item-(\d+)", first).group(1))
    li = re.sub(r"menu-item-\d+", f"menu-item-{slot('id')}", first)
    li = re.sub(r'<a href="[^"]*">[^<]*</a>', f'<a href="{slot("url")}">{slot("name")}</a>', li)
    tpl = Tpl(li)
    return "\n".join(
        tpl.render({"id": str(base + 20 * i), "url": c.url, "name": esc(c.name)}) for i, c in enumerate(categories)
    )


def _rewrite_category_items(text: str, menu_id: str, categories: Sequence[Term]) -> str:
    """Replace the category items of one ``<ul id=menu_id>`` menu, keeping the others."""
    start = text.find(f'<ul id="{menu_id}"')
    if start < 0:
        raise TemplateError(f"template has no {menu_id}")
    end = text.index("</ul></div>", start)
    menu = text[start:end]
    items = list(re.finditer(_MENU_LI + r"\n?", menu))
    if not items:
        raise TemplateError(f"{menu_id} has no category items")
    out = [menu[: items[0].start()], _menu_items(items[0].group(), categories), "\n"]
    for prev, item in itertools.pairwise(items):
        out.append(menu[prev.end() : item.start()])
    out.append(menu[items[-1].end() :])
    return text[:start] + "".join(out) + text[end:]


# ----------------------------------------------------------------------------- page templates


@dataclass
class Templates:
    """All page templates of one generation run."""

    article: Tpl
    featured: Tpl
    og_image: Tpl
    listing: Tpl
    pagination_open: str
    page: Tpl
    home: Tpl
    home_block: Tpl
    cards: dict[str, Tpl]
    footer: Tpl
    sidebar: Tpl
    sidebar_picks: Tpl
    nodes: dict[str, dict[str, Any]]
    about_content: str
    feed_head: str
    xml_parts: dict[str, tuple[str, str]]
    page_lastmods: dict[str, str]
    robots: str


def _read(root: Path, rel: str) -> str:
    path = root / rel
    if not path.is_file():
        raise TemplateError(f"missing template file {path}")
    return path.read_text(encoding="utf-8")


def load_templates(root: Path, categories: Sequence[Term]) -> Templates:
    """Read the sample pages under ``root`` and cut them into templates."""
    raw = {k: rewrite_menus(_read(root, v), categories) for k, v in TEMPLATE_FILES.items()}
    chrome: dict[str, Tpl] = {}
    cut = {k: _cut_chrome(text, chrome) for k, text in raw.items()}
    cards = {k: v for k, v in chrome.items() if not k.startswith("_")}
    article, featured, og_image, nodes = _article_template(cut["article"], cards)
    listing, pagination_open = _listing_template(cut["listing"], cards)
    home, home_block = _home_template(cut["home"], cards)
    page, about_content = _page_template(cut["page"])
    page_sitemap = _read(root, "page-sitemap.xml")
    return Templates(
        article=article,
        featured=featured,
        og_image=og_image,
        listing=listing,
        pagination_open=pagination_open,
        page=page,
        home=home,
        home_block=home_block,
        cards=cards,
        footer=chrome["_footer"],
        sidebar=chrome["_sidebar"],
        sidebar_picks=chrome["_sidebar_picks"],
        nodes=nodes,
        about_content=about_content,
        feed_head=_read(root, "feed/index.xml").split("\t<item>", 1)[0],
        xml_parts={
            name: _xml_parts(_read(root, name), tag)
            for name, tag in (
                ("sitemap_index.xml", "sitemap"),
                ("post-sitemap.xml", "url"),
                ("page-sitemap.xml", "url"),
                ("category-sitemap.xml", "url"),
            )
        },
        page_lastmods=dict(re.findall(r"<loc>([^<]+)</loc>\s*<lastmod>([^<]+)<", page_sitemap)),
        robots=_read(root, "robots.txt"),
    )


def _xml_parts(text: str, tag: str) -> tuple[str, str]:
    """Header (up to the first entry) and footer (after the last) of a Yoast XML file."""
    head = text.split(f"\t<{tag}>", 1)[0]
    tail = text.rsplit(f"</{tag}>\n", 1)[1]
    return head, tail


def _cut_chrome(text: str, chrome: dict[str, Tpl]) -> str:
    """Cut footer and sidebar (identical on every page type) out of a page template."""
    text, footer = cut_between(text, '<div class="footer-holder"', "<!-- /.footer -->", "footer")
    text, sidebar = cut_div(text, '<div class="jeg_sidebar ', "sidebar")
    if "_footer" not in chrome:
        footer, groups = extract_groups(footer, ("highlights", "trending_box", "trending_small"))
        chrome.update(groups)
        chrome["_footer"] = Tpl(footer)
    has_picks = "gt-editors-picks" in sidebar
    if has_picks:
        sidebar = must_sub(r'<ul class="gt-editors-picks">.*?</ul>', slot("picks"), sidebar, flags=re.S)
    sidebar, groups = extract_groups(sidebar, ("recommended",))
    chrome.setdefault("recommended", groups["recommended"])
    chrome.setdefault("_sidebar_picks" if has_picks else "_sidebar", Tpl(sidebar))
    return text


def _article_template(text: str, cards: dict[str, Tpl]) -> tuple[Tpl, Tpl, Tpl, dict[str, dict[str, Any]]]:
    """Cut the article template into post slots; also the featured image and og:image."""
    url = _canonical(text)
    post_id = must_search(r"postid-(\d+)", text).group(1)
    title = must_search(r'<h1 class="jeg_post_title">(.*?)</h1>', text).group(1)
    text, nodes = yoast_graph(text)
    og = must_search(r'<meta property="og:image" .*?<meta property="og:image:type"[^>]*>\n', text, re.S)
    text = text[: og.start()] + slot("og_image") + text[og.end() :]
    og_image = re.sub(r'(?<=<meta property="og:image" content=")[^"]*', slot("img"), og.group())
    text = _head_slots(text, article=True)
    text, featured = cut_div(text, '<div class="jeg_featured', "featured")
    text = must_sub(
        r'<h1 class="jeg_post_title">.*?</h1>', f'<h1 class="jeg_post_title">{slot("title_html")}</h1>', text
    )
    text, _ = cut_div(text, '<div class="jeg_meta_author', "meta_author")
    text = must_sub(
        r'(<div class="jeg_meta_date">\s*<a href=")[^"]*(">)[^<]*',
        rf"\g<1>{slot('url')}\g<2>{slot('date')}",
        text,
        count=1,
    )
    text = must_sub(r'<a href="[^"]*" rel="category tag">[^\n]*</a>', slot("cat_links"), text)
    text = must_sub(r"Reading Time: \d+ mins? read", f"Reading Time: {slot('reading_time')}", text)
    text = must_sub(
        r'(<div class="content-inner ">).*?(<div class="jeg_post_tags">)',
        rf"\g<1>{slot('content')}\g<2>",
        text,
        count=1,
        flags=re.S,
    )
    text = must_sub(r'<div class="jeg_post_tags">.*?</div>', slot("tags"), text, count=1)
    text, groups = extract_groups(text, ("related",))
    cards.update(groups)
    text = _common_slots(text, url, post_id, title)
    _check_clean(text, (url.rstrip("/").rsplit("/", 1)[1], title))
    return Tpl(text), _featured_template(featured), Tpl(og_image), nodes


def _featured_template(featured: str) -> Tpl:
    """The ``.jeg_featured`` block with image, alt text and caption slots."""
    base = must_search(r'<a href="([^"]+)\.jpg"', featured).group(1)
    featured = featured.replace(base, slot("img_base"))
    featured = re.sub(r' alt="[^"]*"', f' alt="{slot("title_attr")}"', featured)
    return Tpl(must_sub(r'(<p class="wp-caption-text">).*?(</p>)', rf"\g<1>{slot('caption')}\g<2>", featured))


def _canonical(text: str) -> str:
    return must_search(r'<link rel="canonical" href="([^"]+)"', text).group(1)


def _head_slots(text: str, article: bool) -> str:
    """Slots for the Yoast head lines of articles and static pages."""
    text = must_sub(r"<title>.*?</title>", f"<title>{slot('doc_title')}</title>", text, count=1)
    text = meta_slot(text, "description", "description", "name")
    text = meta_slot(text, "og:title", "doc_title")
    text = meta_slot(text, "og:description", "description")
    text = meta_slot(text, "article:modified_time", "modified")
    if article:
        text = meta_slot(text, "og:locale", "locale")
        text = meta_slot(text, "article:published_time", "published")
        text = meta_slot(text, "author", "author_meta", "name")
        text = meta_slot(text, "twitter:data1", "author_meta", "name")
        text = meta_slot(text, "twitter:data2", "reading_minutes", "name")
        text = must_replace(text, 'lang="en-US"', f'lang="{slot("lang")}"')
    return text


def _common_slots(text: str, url: str, post_id: str, title: str) -> str:
    """Replace the template's own URL, id and title wherever else they occur."""
    text = must_replace(text, quote(url, safe=""), slot("url_q"))
    text = _url_slots(text, "url")
    text = text.replace(quote(title, safe=""), slot("title_q"))
    return must_sub(rf"(postid-|page-id-|posts/|pages/|\?p=){post_id}\b", rf"\g<1>{slot('post_id')}", text)


def _url_slots(text: str, name: str) -> str:
    """Slot the page's own URL in ``<link rel="canonical">`` and ``og:url``."""
    text = must_sub(r'(<link rel="canonical" href=")[^"]*(")', rf"\g<1>{slot(name)}\g<2>", text, count=1)
    return meta_slot(text, "og:url", name)


def _check_clean(text: str, needles: Iterable[str]) -> None:
    for needle in needles:
        if needle in text:
            raise TemplateError(f"template still contains {needle!r}")


def _listing_template(text: str, cards: dict[str, Tpl]) -> tuple[Tpl, str]:
    """Cut the category listing template into archive slots."""
    text, _ = yoast_graph(text)
    text = must_sub(r"<title>.*?</title>", f"<title>{slot('doc_title')}</title>", text, count=1)
    text = must_sub(r'<link rel="next" href="[^"]*" />\n', slot("rel_links"), text)
    text = meta_slot(text, "og:title", "doc_title")
    body_class = must_search(r'<body class="([^"]*)"', text).group(1)
    text = must_replace(text, f'class="{body_class}"', f'class="{slot("body_class")}"')
    text = must_sub(
        r'(<span class="breadcrumb_last_link">\s*)<a href="[^"]*">[^<]*</a>',
        rf'\g<1><a href="{slot("canonical")}">{slot("archive_name")}</a>',
        text,
    )
    text = must_sub(
        r'<h1 class="jeg_archive_title">.*?</h1>', f'<h1 class="jeg_archive_title">{slot("archive_name")}</h1>', text
    )
    text, pagination = cut_div(text, '<div class="jeg_navigation jeg_pagination', "pagination")
    text, groups = extract_groups(text, ("listing",))
    cards.update(groups)
    text = _url_slots(text, "canonical")
    _check_clean(text, ("Archives - Georgia Today",))
    return Tpl(text), pagination.split("\n", 1)[0]


def _page_template(text: str) -> tuple[Tpl, str]:
    """Cut the static page template; also return the sample's own content."""
    url = _canonical(text)
    post_id = must_search(r"page-id-(\d+)", text).group(1)
    title = must_search(r'<h1 class="jeg_post_title">(.*?)</h1>', text).group(1)
    text, _ = yoast_graph(text)
    text = _head_slots(text, article=False)
    text = must_sub(
        r'<h1 class="jeg_post_title">.*?</h1>', f'<h1 class="jeg_post_title">{slot("title_html")}</h1>', text
    )
    m = must_search(r'<div class="content-inner">\n\s*(.*?)\n\s*</div>', text, re.S)
    text = text[: m.start(1)] + slot("content") + text[m.end(1) :]
    text = _common_slots(text, url, post_id, title)
    extract_groups(text, ())
    return Tpl(text), m.group(1)


def _home_template(text: str, cards: dict[str, Tpl]) -> tuple[Tpl, Tpl]:
    """Cut the home template: hero, latest news and the per-category blocks."""
    start = text.find('<div class="row"><div class="col-md-6">')
    if start < 0:
        raise TemplateError("home template has no category blocks")
    start += len('<div class="row">')
    pos, blocks = start, []
    while text.startswith('<div class="col-md-6">', pos):
        end = div_end(text, pos)
        blocks.append(text[pos:end])
        pos = end
    text = text[:start] + slot("category_blocks") + text[pos:]
    block, groups = extract_groups(blocks[0], ("block_cards",))
    cards.update(groups)
    block = must_sub(
        r'<h3 class="jeg_block_title"><a href="[^"]*"><span>[^<]*</span></a></h3>',
        f'<h3 class="jeg_block_title"><a href="{slot("cat_url")}"><span>{slot("cat_name")}</span></a></h3>',
        block,
    )
    block = re.sub(r"jnews_module_[0-9a-f]+", f"jnews_module_{slot('module')}", block)
    text, groups = extract_groups(text, ("hero", "latest"))
    cards.update(groups)
    return Tpl(text), Tpl(block)


# ----------------------------------------------------------------------------- rendering

CONTENT_INDENT = "\n" + " " * 32
NO_FEATURED = '<div class="jeg_featured featured_image "></div>'
BODY_CLASS_TAIL = "wp-embed-responsive jeg_toggle_light jnews jsc_normal"
GRAPH_CONTEXT = "https://schema.org"


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def _dumps(graph: list[dict[str, Any]]) -> str:
    return json.dumps({"@context": GRAPH_CONTEXT, "@graph": graph}, ensure_ascii=False, separators=(",", ":"))


def _lang_tag(post: Post) -> str:
    return "ka-GE" if post.lang == "ka" else "en-US"


def _thumb(post: Post) -> str:
    return f"{SITE}/wp-content/uploads/stub/{post.stub}"


def _class_slug(slug: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "", encode_slug(slug))


def card_values(post: Post, date: str | None = None, with_excerpt: bool = True) -> dict[str, str]:
    """Slot values of a post card (primary category, first author)."""
    category, author = post.categories[0], post.authors[0]
    return {
        "url": post.url,
        "title_attr": attr(post.title),
        "title_html": esc(post.title),
        "date": date if date is not None else local_date(post.published),
        "cat_url": category.url,
        "cat_slug": _class_slug(category.slug),
        "cat_name": esc(category.name),
        "author_url": author.url,
        "author_name": esc(author.name),
        "thumb": _thumb(post),
        "excerpt": excerpt(post) if with_excerpt else "",
        "hero_n": "1",
    }


def render_cards(card: Tpl, values: Iterable[Mapping[str, str]]) -> str:
    """A run of cards, concatenated like JNews prints them."""
    return "".join(card.render(v) for v in values)


def person_node(author: Term, lang: str) -> dict[str, Any]:
    """Yoast ``Person`` node."""
    avatar = f"https://secure.gravatar.com/avatar/{_md5(author.slug)}?s=96&d=mm&r=g"
    return {
        "@type": "Person",
        "@id": f"{SITE}/#/schema/person/{_md5(author.name)}",
        "name": author.name,
        "image": {
            "@type": "ImageObject",
            "inLanguage": lang,
            "@id": f"{SITE}/#/schema/person/image/",
            "url": avatar,
            "contentUrl": avatar,
            "caption": author.name,
        },
        "url": author.url,
    }


def article_jsonld(post: Post, nodes: Mapping[str, dict[str, Any]]) -> str:
    """The Yoast graph of an article page."""
    url, lang, image = post.url, _lang_tag(post), post.image
    refs = [{"name": a.name, "@id": f"{SITE}/#/schema/person/{_md5(a.name)}"} for a in post.authors]
    article: dict[str, Any] = {
        "@type": "NewsArticle",
        "@id": f"{url}#article",
        "isPartOf": {"@id": url},
        "author": refs[0] if len(refs) == 1 else refs,
        "headline": esc(post.title),
        "datePublished": iso(post.published),
        "dateModified": iso(post.modified),
        "mainEntityOfPage": {"@id": url},
        "wordCount": post.word_count,
        "commentCount": 0,
        "publisher": {"@id": f"{SITE}/#organization"},
    }
    page: dict[str, Any] = {
        "@type": "WebPage",
        "@id": url,
        "url": url,
        "name": f"{post.title} - Georgia Today",
        "isPartOf": {"@id": f"{SITE}/#website"},
    }
    if image:
        article |= {"image": {"@id": f"{url}#primaryimage"}, "thumbnailUrl": image}
        page |= {
            "primaryImageOfPage": {"@id": f"{url}#primaryimage"},
            "image": {"@id": f"{url}#primaryimage"},
            "thumbnailUrl": image,
        }
    if post.tags:
        article["keywords"] = [esc(t.name) for t in post.tags]
    article |= {
        "articleSection": [esc(c.name) for c in post.categories],
        "inLanguage": lang,
        "potentialAction": [{"@type": "CommentAction", "name": "Comment", "target": [f"{url}#respond"]}],
    }
    page |= {
        "datePublished": iso(post.published),
        "dateModified": iso(post.modified),
        "description": post.summary,
        "breadcrumb": {"@id": f"{url}#breadcrumb"},
        "inLanguage": lang,
        "potentialAction": [{"@type": "ReadAction", "target": [url]}],
    }
    graph = [article, page]
    if image:
        graph.append(
            {
                "@type": "ImageObject",
                "inLanguage": lang,
                "@id": f"{url}#primaryimage",
                "url": image,
                "contentUrl": image,
                "width": 1200,
                "height": 800,
                "caption": post.caption,
            }
        )
    crumbs = [("Home", f"{SITE}/"), (post.categories[0].name, post.categories[0].url), (post.title, None)]
    graph += [_breadcrumb(url, crumbs), nodes["WebSite"], nodes["Organization"]]
    graph += [person_node(a, lang) for a in post.authors]
    return _dumps(graph)


def _breadcrumb(url: str, crumbs: Sequence[tuple[str, str | None]]) -> dict[str, Any]:
    items: list[dict[str, Any]] = []
    for position, (name, item) in enumerate(crumbs, 1):
        entry: dict[str, Any] = {"@type": "ListItem", "position": position, "name": name}
        if item is not None:
            entry["item"] = item
        items.append(entry)
    return {"@type": "BreadcrumbList", "@id": f"{url}#breadcrumb", "itemListElement": items}


def meta_author_html(post: Post) -> str:
    """``.jeg_meta_author`` (the ``coauthor`` variant for several authors)."""
    links = [f'<a href="{a.url}">{esc(a.name)}</a>' for a in post.authors]
    if len(links) == 1:
        return (
            '<div class="jeg_meta_author">\n                <span class="meta_text">by</span>\n'
            f"                {links[0]}            </div>"
        )
    joined = '<span class="meta_text"> and </span>'.join(links)
    return f'<div class="jeg_meta_author coauthor">\n                <span class="meta_text">by</span> {joined}</div>'


def tags_html(post: Post) -> str:
    """``div.jeg_post_tags`` (empty when the post has no tags)."""
    if not post.tags:
        return ""
    links = "".join(f'<a href="{t.url}" rel="tag">{esc(t.name)}</a>' for t in post.tags)
    return f'<div class="jeg_post_tags"><span>Tags:</span> {links}</div>'


def render_article(post: Post, related: Sequence[Post], tpl: Templates, chrome: Mapping[str, str]) -> str:
    """A full article page."""
    words = post.word_count
    img_base = post.image_base
    values = {
        **chrome,
        "doc_title": f"{attr(post.title)} - Georgia Today",
        "description": attr(post.summary),
        "locale": "ka_GE" if post.lang == "ka" else "en_US",
        "lang": _lang_tag(post),
        "published": iso(post.published),
        "modified": iso(post.modified),
        "og_image": tpl.og_image.render({"img": post.image}) if post.image else "",
        "author_meta": attr(", ".join(a.name for a in post.authors)),
        "reading_minutes": _minutes(max(1, round(words / 250))),
        "jsonld": article_jsonld(post, tpl.nodes),
        "url": post.url,
        "url_q": quote(post.url, safe=""),
        "title_q": quote(post.title, safe=""),
        "post_id": str(post.post_id),
        "title_html": esc(post.title),
        "meta_author": meta_author_html(post),
        "date": local_date(post.published),
        "cat_links": '<span class="category-separator">, </span>'.join(
            f'<a href="{c.url}" rel="category tag">{esc(c.name)}</a>' for c in post.categories
        ),
        "reading_time": _reading_time(words),
        "featured": NO_FEATURED
        if img_base is None
        else tpl.featured.render(
            {"img_base": img_base, "title_attr": attr(post.title), "caption": esc(post.caption or "")}
        ),
        "content": f"{CONTENT_INDENT}{content_html(post)}{CONTENT_INDENT}{CONTENT_INDENT}",
        "tags": tags_html(post),
        "related": render_cards(tpl.cards["related"], (card_values(p) for p in related)),
    }
    return tpl.article.render(values)


def _reading_time(words: int) -> str:
    n = max(1, math.ceil(words / 200))
    return f"{n} min{'s' if n > 1 else ''} read"


def _minutes(n: int) -> str:
    return f"{n} minute{'s' if n > 1 else ''}"


def page_url(base: str, page: int) -> str:
    """URL of page ``page`` of an archive whose first page is ``base``."""
    return base if page == 1 else f"{base}page/{page}/"


def pagination_html(opening: str, base: str, page: int, pages: int) -> str:
    """JNews numbered pagination (``a.page_nav.prev/next``, ``page_number``)."""
    if pages <= 1:
        return ""
    items: list[str] = []
    if page > 1:
        items.append(
            f'<a class="page_nav prev" data-id="{page - 1}" href="{page_url(base, page - 1)}">'
            '<span class="navtext">Prev</span></a>'
        )
    shown = sorted({1, pages, *range(max(1, page - 2), min(pages, page + 2) + 1)})
    for prev, n in itertools.pairwise([0, *shown]):
        if n - prev > 1:
            items.append("<span class='page_number dots'>&hellip;</span>")
        if n == page:
            items.append(f"<span class='page_number active'>{n}</span>")
        else:
            items.append(f"<a class='page_number' data-id='{n}' href='{page_url(base, n)}'>{n}</a>")
    if page < pages:
        items.append(
            f'<a class="page_nav next" data-id="{page + 1}" href="{page_url(base, page + 1)}">'
            '<span class="navtext">Next</span></a>'
        )
    return (
        f'{opening}\n                    <span class="page_info">Page {page} of {pages}</span>\n'
        f"                    {chr(10).join(items)}\n                </div>"
    )


def rel_links(base: str, page: int, pages: int) -> str:
    """Yoast ``<link rel="prev">``/``<link rel="next">`` head lines."""
    out = ""
    if page > 1:
        out += f'<link rel="prev" href="{page_url(base, page - 1)}" />\n'
    if page < pages:
        out += f'<link rel="next" href="{page_url(base, page + 1)}" />\n'
    return out


def archive_titles(term: Term, page: int, pages: int) -> tuple[str, str]:
    """(``<title>`` text, body class) of one archive page."""
    paged = f" - Page {page} of {pages}" if page > 1 else ""
    name = esc(term.name)
    if term.kind == "author":
        title = f"{name}, Author at Georgia Today{paged}"
    else:
        title = f"{name} Archives{paged} - Georgia Today"
    kind = term.kind
    classes = f"archive {'paged ' if page > 1 else ''}{kind} {kind}-{_class_slug(term.slug)} "
    classes += f"{kind}-{term.term_id} {BODY_CLASS_TAIL}{f' paged-{page}' if page > 1 else ''}"
    return title, classes


def render_archive(
    term: Term, posts: Sequence[Post], page: int, pages: int, tpl: Templates, chrome: Mapping[str, str]
) -> str:
    """One page of a category/tag/author archive."""
    url = page_url(term.url, page)
    title, body_class = archive_titles(term, page, pages)
    graph = [
        {
            "@type": "CollectionPage",
            "@id": url,
            "url": url,
            "name": html.unescape(title),
            "isPartOf": {"@id": f"{SITE}/#website"},
            "breadcrumb": {"@id": f"{url}#breadcrumb"},
            "inLanguage": "en-US",
        },
        _breadcrumb(url, [("Home", f"{SITE}/"), (term.name, None)]),
        tpl.nodes["WebSite"],
        tpl.nodes["Organization"],
    ]
    values = {
        **chrome,
        "doc_title": title,
        "rel_links": rel_links(term.url, page, pages),
        "jsonld": _dumps(graph),
        "body_class": body_class,
        "canonical": url,
        "archive_name": esc(term.name),
        "pagination": pagination_html(tpl.pagination_open, term.url, page, pages),
        "listing": render_cards(tpl.cards["listing"], (card_values(p, with_excerpt=False) for p in posts)),
    }
    return tpl.listing.render(values)


@dataclass(frozen=True)
class StaticPage:
    """A WordPress page (not an article)."""

    slug: str
    title: str
    page_id: int
    modified: datetime
    content: str

    @property
    def url(self) -> str:
        """Canonical URL."""
        return f"{SITE}/{self.slug}/"

    @property
    def description(self) -> str:
        """Yoast meta description (first 150 characters of the text)."""
        text = html.unescape(re.sub(r"<[^>]+>", "", self.content.split("\n", 1)[0]))
        return text[:150]


def static_pages(tpl: Templates) -> list[StaticPage]:
    """The static pages listed in the template ``page-sitemap.xml``."""
    pages: list[StaticPage] = []
    for i, (url, lastmod) in enumerate(u for u in tpl.page_lastmods.items() if u[0] != f"{SITE}/"):
        slug = url[len(SITE) + 1 : -1]
        if slug == "about-us":
            content = tpl.about_content
        else:
            lines = STATIC_PAGE_TEXT.get(slug, (f"{slug.replace('-', ' ').title()}.",))
            content = "\n".join(f"<p>{esc(line)}</p>" for line in lines)
        title = STATIC_PAGE_TITLES.get(slug, slug.replace("-", " ").title())
        modified = datetime.fromisoformat(lastmod)
        pages.append(StaticPage(slug, title, 1201 + 2 * i, modified, content))
    return pages


def render_page(page: StaticPage, tpl: Templates, chrome: Mapping[str, str]) -> str:
    """A static page."""
    url = page.url
    graph = [
        {
            "@type": "WebPage",
            "@id": url,
            "url": url,
            "name": f"{page.title} - Georgia Today",
            "isPartOf": {"@id": f"{SITE}/#website"},
            "datePublished": iso(page.modified - timedelta(days=3)),
            "dateModified": iso(page.modified),
            "description": page.description,
            "breadcrumb": {"@id": f"{url}#breadcrumb"},
            "inLanguage": "en-US",
            "potentialAction": [{"@type": "ReadAction", "target": [url]}],
        },
        _breadcrumb(url, [("Home", f"{SITE}/"), (page.title, None)]),
        tpl.nodes["WebSite"],
        tpl.nodes["Organization"],
    ]
    return tpl.page.render(
        {
            **chrome,
            "doc_title": f"{attr(page.title)} - Georgia Today",
            "description": attr(page.description),
            "modified": iso(page.modified),
            "jsonld": _dumps(graph),
            "url": url,
            "url_q": quote(url, safe=""),
            "post_id": str(page.page_id),
            "title_html": esc(page.title),
            "content": page.content,
        }
    )


def feed_item(post: Post) -> str:
    """One RSS ``<item>`` as WordPress prints it."""
    words = " ".join(" ".join(post.paragraphs).split()[:55])
    categories = "".join(f"\t\t<category><![CDATA[{t.name}]]></category>\n" for t in [*post.categories, *post.tags])
    return (
        f"\t<item>\n\t\t<title>{esc(post.title)}</title>\n\t\t<link>{post.url}</link>\n"
        f"\t\t<comments>{post.url}#respond</comments>\n"
        f"\t\t<dc:creator><![CDATA[{post.authors[0].name}]]></dc:creator>\n"
        f"\t\t<pubDate>{format_datetime(post.published)}</pubDate>\n{categories}"
        f'\t\t<guid isPermaLink="false">{SITE}/?p={post.post_id}</guid>\n\n'
        f"\t\t\t\t\t<description><![CDATA[{esc(words)} [&#8230;]]]></description>\n"
        f"\t\t\t\t\t\t\t\t\t\t<content:encoded><![CDATA[{content_html(post, feed=True)}]]>"
        f"</content:encoded>\n\t\t\t\t\t<wfw:commentRss>{post.url}feed/</wfw:commentRss>\n"
        f"\t\t\t<slash:comments>0</slash:comments>\n\t\t</item>\n"
    )


def render_feed(posts: Sequence[Post], tpl: Templates) -> str:
    """``/feed/``: the newest posts, newest first."""
    newest = sorted(posts, key=lambda p: p.published, reverse=True)[:FEED_SIZE]
    built = format_datetime(max(p.modified for p in posts))
    head = must_sub(r"<lastBuildDate>[^<]*</lastBuildDate>", f"<lastBuildDate>{built}</lastBuildDate>", tpl.feed_head)
    return head + "".join(feed_item(p) for p in newest) + "\t</channel>\n</rss>\n"


def url_entry(loc: str, lastmod: str, image: str | None = None) -> str:
    """One Yoast sitemap ``<url>``."""
    out = f"\t<url>\n\t\t<loc>{loc}</loc>\n\t\t<lastmod>{lastmod}</lastmod>\n"
    if image:
        out += f"\t\t<image:image>\n\t\t\t<image:loc>{image}</image:loc>\n\t\t</image:image>\n"
    return out + "\t</url>\n"


def sitemap_entry(loc: str, lastmod: str) -> str:
    """One ``<sitemap>`` of ``sitemap_index.xml``."""
    return f"\t<sitemap>\n\t\t<loc>{loc}</loc>\n\t\t<lastmod>{lastmod}</lastmod>\n\t</sitemap>\n"


def render_home(
    posts: Sequence[Post],
    categories: Sequence[Term],
    by_term: Mapping[Term, list[Post]],
    tpl: Templates,
    chrome: Mapping[str, str],
) -> str:
    """The home page: hero, latest news, one block per category."""
    hero = [card_values(p) | {"hero_n": str(i + 1)} for i, p in enumerate(posts[:4])]
    blocks = "".join(
        tpl.home_block.render(
            {
                "cat_url": c.url,
                "cat_name": esc(c.name),
                "module": _md5(c.slug)[:13],
                "block_cards": render_cards(tpl.cards["block_cards"], (card_values(p) for p in by_term.get(c, [])[:5])),
            }
        )
        for c in categories
    )
    return tpl.home.render(
        {
            **chrome,
            "hero": render_cards(tpl.cards["hero"], hero),
            "latest": render_cards(tpl.cards["latest"], (card_values(p) for p in posts[:10])),
            "category_blocks": blocks,
        }
    )


# ----------------------------------------------------------------------------- the site


@dataclass(frozen=True)
class ChromePicks:
    """Posts shown in site-wide chrome; chosen among version-1 posts so v2 keeps them."""

    recommended: list[Post]
    highlights: list[Post]
    trending: list[Post]
    editors: list[Post]

    @classmethod
    def choose(cls, posts: Sequence[Post], seed: int) -> ChromePicks:
        """Deterministic picks for ``seed``."""
        rng = random.Random(seed * 31 + 5)
        pool = list(posts)
        return cls(
            recommended=rng.sample(pool, min(8, len(pool))),
            highlights=rng.sample(pool, min(6, len(pool))),
            trending=rng.sample(pool, min(2, len(pool))),
            editors=rng.sample(pool, min(2, len(pool))),
        )


def make_categories(names: Sequence[str] | None) -> list[Term]:
    """Category terms for the given names (default: the sample site's main menu)."""
    if names is None:
        pairs = list(DEFAULT_CATEGORIES)
    else:
        pairs = [(n, KNOWN_CATEGORY_SLUGS.get(n) or slugify(n)) for n in names]
    if not pairs or len({slug for _, slug in pairs}) != len(pairs):
        raise ValueError("categories must be non-empty with distinct slugs")
    return [Term("category", name, slug, 3 + i) for i, (name, slug) in enumerate(pairs)]


def build_posts(factory: ContentFactory, n: int, seed: int) -> list[Post]:
    """The version-1 posts, newest first (the newest published at :data:`NOW`)."""
    rng = random.Random(seed * 7919 + 1)
    times = [NOW]
    for _ in range(n - 1):
        times.append(times[-1] - timedelta(minutes=rng.randint(90, 600)))
    ids = [250000]
    for _ in range(n - 1):
        ids.append(ids[-1] + rng.randint(3, 40))
    ids.reverse()  # the oldest post has the smallest id
    georgian = [i % 14 == 5 for i in range(n)]
    return [factory.post(i, times[i], ids[i], georgian[i]) for i in range(n)]


def apply_version2(posts: list[Post], factory: ContentFactory, seed: int) -> tuple[list[Post], Post]:
    """Add three newer posts on top and edit one old post, in place; return (new, edited)."""
    rng = random.Random(seed * 31 + 11)
    edited = rng.choice(posts)
    later = NOW + timedelta(days=1)
    top_id = max(p.post_id for p in posts)
    n = len(posts)
    new = [factory.post(n + k, later + timedelta(hours=1 + 2 * k), top_id + 10 * (k + 1), False) for k in range(3)]
    new.reverse()
    credit_at = next((i for i, b in enumerate(edited.blocks) if b[0] == "credit"), None)
    at = len(edited.blocks) if credit_at is None else credit_at
    edited.blocks.insert(at, ("p", factory.update_paragraph()))
    edited.modified = later + timedelta(hours=7)
    posts[:0] = new
    return new, edited


RESERVED_SLUGS = frozenset(
    ("category", "tag", "author", "feed", "page", "wp-content", "wp-json", "wp-admin", DEAD_SLUG)
)
"""Top-level path segments a moved post cannot take (besides other posts' and pages' slugs)."""


def apply_changes(
    posts: Sequence[Post], changes: Changes, when: datetime, reserved: AbstractSet[str]
) -> tuple[list[Post], list[Removal], set[int]]:
    """The posts the site still shows (newest first; moved ones as new :class:`Post` objects
    at their new slug, modified at ``when``), the removals and the ids of unlisted posts.

    ``reserved`` are top-level slugs taken by other pages. Raises ValueError for a URL that
    is not an article of ``posts``, a URL given two changes, a new slug that is not a
    WordPress slug or is taken, or changes that leave no post.
    """
    by_url = {p.url: p for p in posts}
    groups: dict[str, Iterable[str]] = {
        "deleted_404": changes.deleted_404,
        "deleted_410": changes.deleted_410,
        "unpublished": changes.unpublished,
        "moved": changes.moved,
        "unlisted": changes.unlisted,
    }
    change_of: dict[str, str] = {}
    for name, urls in groups.items():
        for url in urls:
            if url not in by_url:
                raise ValueError(f"{name}: {url} is not an article of this site version")
            if url in change_of:
                raise ValueError(f"{url} is in both {change_of[url]} and {name}")
            change_of[url] = name
    taken = {p.slug for p in posts} | set(reserved)
    kept: list[Post] = []
    removals: list[Removal] = []
    for post in posts:
        change = change_of.get(post.url)
        if change in ("deleted_404", "deleted_410"):
            removals.append(Removal(post.url, post.post_id, change, 410 if change == "deleted_410" else 404))
        elif change == "unpublished":
            removals.append(Removal(post.url, post.post_id, change, 301, f"{SITE}/"))
        elif change == "moved":
            slug = unquote(changes.moved[post.url]).strip("/")
            if not slug or slug != slugify(slug) or slug in taken:
                raise ValueError(f"moved: {changes.moved[post.url]!r} is not a free WordPress slug")
            taken.add(slug)
            moved = replace(post, slug=slug, modified=max(post.modified, when))
            removals.append(Removal(post.url, post.post_id, change, 301, moved.url))
            kept.append(moved)
        else:
            kept.append(post)
    if not kept:
        raise ValueError("the changes leave no post")
    unlisted = {by_url[url].post_id for url in changes.unlisted}
    return kept, removals, unlisted


def expected(post: Post) -> ExpectedArticle:
    """Manifest entry for one post."""
    return ExpectedArticle(
        url=post.url,
        post_id=post.post_id,
        title=post.title,
        subtitle=None,
        summary=post.summary,
        authors=[a.name for a in post.authors],
        published=iso(post.published),
        modified=iso(post.modified),
        categories=[c.name for c in post.categories],
        tags=[t.name for t in post.tags],
        body="\n\n".join(post.paragraphs),
        image_url=post.image,
        image_caption=post.caption,
        image_credit=post.credit,
        language=post.lang,
        path=local_path(post.url),
    )


class SiteWriter:
    """Renders every page of one site version and writes it under ``root``."""

    def __init__(
        self,
        root: Path,
        posts: list[Post],
        categories: list[Term],
        tpl: Templates,
        picks: ChromePicks,
        per_page: int,
        unlisted: AbstractSet[int] = frozenset(),
    ) -> None:
        self.root = root
        self.posts = posts
        self.unlisted = unlisted
        self.categories = categories
        self.tpl = tpl
        self.per_page = per_page
        self.by_term = self._index_terms()
        self.positions = {
            term: {id(p): i for i, p in enumerate(posts)}
            for term, posts in self.by_term.items()
            if term.kind == "category"
        }
        self.dead_url = f"{SITE}/{DEAD_SLUG}/"
        self.editors = picks.editors
        self.chrome = self._chrome(picks)
        self.written: set[Path] = set()

    # -- chrome

    def _index_terms(self) -> dict[Term, list[Post]]:
        by_term: dict[Term, list[Post]] = {}
        for post in self.posts:  # newest first
            for term in (*post.categories, *post.tags, *post.authors):
                by_term.setdefault(term, []).append(post)
        return by_term

    def _chrome(self, picks: ChromePicks) -> dict[str, dict[str, str]]:
        cards = self.tpl.cards
        recommended = render_cards(
            cards["recommended"], (card_values(p, relative_date(p.published, NOW)) for p in picks.recommended)
        )
        footer = self.tpl.footer.render(
            {
                "highlights": render_cards(cards["highlights"], map(card_values, picks.highlights)),
                "trending_box": render_cards(cards["trending_box"], map(card_values, picks.trending[:1])),
                "trending_small": render_cards(cards["trending_small"], map(card_values, picks.trending[1:2])),
            }
        )
        plain = self.tpl.sidebar.render({"recommended": recommended})
        home = self.tpl.sidebar_picks.render({"recommended": recommended, "picks": self._picks(False)})
        listing = self.tpl.sidebar_picks.render({"recommended": recommended, "picks": self._picks(True)})
        return {
            "plain": {"footer": footer, "sidebar": plain},
            "home": {"footer": footer, "sidebar": home},
            "listing": {"footer": footer, "sidebar": listing},
        }

    @property
    def tracking_urls(self) -> list[str]:
        """Sidebar links with utm parameters (unescaped)."""
        sources = ("utm_source=newsletter&utm_medium=email", "utm_source=facebook&utm_medium=social")
        return [f"{p.url}?{q}" for p, q in zip(self.editors, sources, strict=False)]

    @property
    def unslashed_url(self) -> str:
        """The article link printed without its trailing slash."""
        return self.editors[-1].url.rstrip("/")

    def _picks(self, listing: bool) -> str:
        tracked = self.tracking_urls
        links = [(tracked[0], self.editors[0])]
        if listing:
            links.append((self.unslashed_url, self.editors[-1]))
        elif len(tracked) > 1:
            links.append((tracked[1], self.editors[1]))
        items = [f'<li><a href="{attr(u)}">{esc(p.title)}</a></li>' for u, p in links]
        if listing:
            items.append(f'<li><a href="{self.dead_url}">Georgian wine exports hit a record</a></li>')
        return '<ul class="gt-editors-picks">\n' + "\n".join(items) + "\n</ul>"

    # -- output

    def write(self, url_or_path: str | Path, text: str) -> None:
        """Write a page (by URL) or a root file (by relative path)."""
        rel = disk_path(url_or_path) if isinstance(url_or_path, str) else url_or_path
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
        self.written.add(rel)

    def prune(self, post_ids: AbstractSet[int]) -> None:
        """Delete the pages this site no longer has, left by an earlier generation in ``root``.

        That is the directory of every top-level page of one of ``post_ids`` not written now
        (deleted, unpublished, moved away or moved back); archive pages past the last and
        archives without posts; post sitemaps past the last.
        """
        own = re.compile(rb'<body class="[^"]*\bpostid-(\d+)\b')
        for page in self.root.glob("*/index.html"):
            if page.relative_to(self.root) not in self.written:
                m = own.search(page.read_bytes())
                if m is not None and int(m.group(1)) in post_ids:
                    shutil.rmtree(page.parent)
        for kind in ("category", "tag", "author"):
            for page in sorted(self.root.glob(f"{kind}/**/index.html")):
                if page.relative_to(self.root) not in self.written:
                    page.unlink()
            for folder, _, _ in os.walk(self.root / kind, topdown=False):
                if not os.listdir(folder):
                    os.rmdir(folder)
        for sitemap in self.root.glob("post-sitemap*.xml"):
            if sitemap.relative_to(self.root) not in self.written:
                sitemap.unlink()

    def write_articles(self) -> None:
        """Every article page."""
        for i, post in enumerate(self.posts):
            related = self._related(i, post)
            self.write(post.url, render_article(post, related, self.tpl, self.chrome["plain"]))

    def _related(self, index: int, post: Post) -> list[Post]:
        """Up to three older posts, from the primary category first (stable across versions)."""
        same = self.by_term[post.categories[0]]
        at = self.positions[post.categories[0]][id(post)]
        related = same[at + 1 : at + 4]
        for candidate in self.posts[index + 1 :]:
            if len(related) >= 3:
                break
            if all(candidate is not r for r in related):
                related.append(candidate)
        return related

    def write_archives(self, kinds: Sequence[str]) -> dict[Term, list[str]]:
        """Archive pages of the given term kinds; returns page URLs per term."""
        pages_by_term: dict[Term, list[str]] = {}
        for term, posts in self._terms(kinds):
            pages = max(1, math.ceil(len(posts) / self.per_page))
            urls = [page_url(term.url, n) for n in range(1, pages + 1)]
            for n, url in enumerate(urls, 1):
                chunk = posts[(n - 1) * self.per_page : n * self.per_page]
                self.write(url, render_archive(term, chunk, n, pages, self.tpl, self.chrome["listing"]))
            pages_by_term[term] = urls
        return pages_by_term

    def _terms(self, kinds: Sequence[str]) -> Iterable[tuple[Term, list[Post]]]:
        if "category" in kinds:
            for category in self.categories:
                yield category, self.by_term.get(category, [])
        for term, posts in self.by_term.items():
            if term.kind != "category" and term.kind in kinds:
                yield term, posts

    def write_pages(self, pages: Sequence[StaticPage]) -> None:
        """Static pages."""
        for page in pages:
            self.write(page.url, render_page(page, self.tpl, self.chrome["plain"]))

    def write_home(self) -> None:
        """The home page."""
        self.write(f"{SITE}/", render_home(self.posts, self.categories, self.by_term, self.tpl, self.chrome["home"]))

    def write_feed(self) -> None:
        """``feed/index.xml``."""
        self.write(Path("feed", "index.xml"), render_feed(self.posts, self.tpl))

    def write_sitemaps(self, pages: Sequence[StaticPage]) -> list[str]:
        """Yoast sitemaps and ``robots.txt``; returns the sitemap URLs (index first)."""
        newest = iso(max(p.modified for p in self.posts))
        index: list[tuple[str, str]] = []
        listed = [p for p in self.posts if p.post_id not in self.unlisted]
        by_modified = sorted(listed, key=lambda p: (p.modified, p.post_id))
        for k in range(0, len(by_modified), SITEMAP_CHUNK):
            chunk = by_modified[k : k + SITEMAP_CHUNK]
            name = f"post-sitemap{k // SITEMAP_CHUNK + 1 if k else ''}.xml"
            entries = [url_entry(p.url, iso(p.modified), p.image) for p in chunk]
            self._xml(name, "post-sitemap.xml", entries)
            index.append((name, iso(chunk[-1].modified)))
        page_entries = [url_entry(f"{SITE}/", newest)]
        page_entries += [url_entry(p.url, iso(p.modified)) for p in pages]
        self._xml("page-sitemap.xml", "page-sitemap.xml", page_entries)
        index.append(("page-sitemap.xml", max(newest, *(iso(p.modified) for p in pages))))
        cats = [(c, self.by_term[c]) for c in self.categories if self.by_term.get(c)]
        cat_entries = [url_entry(c.url, iso(max(p.modified for p in ps))) for c, ps in cats]
        self._xml("category-sitemap.xml", "category-sitemap.xml", cat_entries)
        index.append(("category-sitemap.xml", max(iso(p.modified) for _, ps in cats for p in ps)))
        self._xml(
            "sitemap_index.xml",
            "sitemap_index.xml",
            [sitemap_entry(f"{SITE}/{name}", lastmod) for name, lastmod in index],
        )
        self.write(Path("robots.txt"), self.tpl.robots)
        return [f"{SITE}/sitemap_index.xml", *(f"{SITE}/{name}" for name, _ in index)]

    def _xml(self, name: str, template: str, entries: Sequence[str]) -> None:
        head, tail = self.tpl.xml_parts[template]
        self.write(Path(name), head + "".join(entries) + tail)


# ----------------------------------------------------------------------------- reading back

SITEMAP_NS = {"sm": "http://www.sitemaps.org/schemas/sitemap/0.9"}


def sitemap_posts(root: Path) -> dict[str, str]:
    """url -> lastmod of every post the mirror's post sitemaps list, read from the files
    on disk (the index names them) with ElementTree, without any of the project's code."""
    posts = {}
    index = ET.parse(root / "sitemap_index.xml").getroot()
    for loc in index.findall("sm:sitemap/sm:loc", SITEMAP_NS):
        name = local_path(loc.text or "").strip("/")
        if not name.startswith("post-sitemap"):
            continue
        for entry in ET.parse(root / name).getroot().findall("sm:url", SITEMAP_NS):
            posts[entry.findtext("sm:loc", namespaces=SITEMAP_NS) or ""] = entry.findtext(
                "sm:lastmod", namespaces=SITEMAP_NS) or ""
    return posts


# ----------------------------------------------------------------------------- entry point


def generate_site(
    out: Path,
    *,
    n_articles: int,
    categories: list[str] | None = None,
    per_page: int = 10,
    version: int = 1,
    seed: int = 0,
    extra: Mapping[str, str | bytes] | None = None,
    template_dir: Path = TEMPLATE_DIR,
    term_archives: bool = True,
    changes: Changes | None = None,
) -> SiteManifest:
    """Write a synthetic georgiatoday.ge mirror under ``out`` and describe it.

    ``categories`` are category *names* (default: News, Politics, Business & Economy,
    Social & Society, Sports, Culture, International); known names get the real site's slugs
    (``Business & Economy`` → ``business``), others a slugified name. ``version=2`` with the
    same arguments is the same site later (3 new posts, 1 edited). ``extra`` maps mirror-relative
    file paths (e.g. ``"broken-page/index.html"``) to content written verbatim after the site
    (to add broken pages or override generated ones). ``template_dir`` is a directory in the
    sample's layout (the repo copy by default; :data:`SAMPLE_DIR` works too). With
    ``term_archives=False`` no ``/tag/`` and ``/author/`` archives are written (their links
    then 404). ``changes`` (:class:`Changes`) deletes, unpublishes, moves or unlists posts of
    this version; the manifest's :meth:`~SiteManifest.fault_rules` are then the server's part.

    Generating into an existing mirror overwrites its files and deletes the pages the new
    site no longer has (pages of its posts at another URL, archive pages past the last,
    post sitemaps past the last); other files are left alone. So writing version 2 over
    version 1, a site with changes over one without, or without them again (a restore)
    leaves exactly what a fresh generation writes.
    """
    if n_articles < 1 or per_page < 1 or version not in (1, 2):
        raise ValueError("need n_articles >= 1, per_page >= 1 and version 1 or 2")
    cats = make_categories(categories)
    factory = ContentFactory(random.Random(seed), cats)
    posts = build_posts(factory, n_articles, seed)
    picks = ChromePicks.choose(posts, seed)
    new, edited = apply_version2(posts, factory, seed) if version == 2 else ([], None)
    tpl = load_templates(Path(template_dir), cats)
    pages = static_pages(tpl)
    reserved = RESERVED_SLUGS | {p.slug for p in pages}
    shown, removals, unlisted = apply_changes(posts, changes or Changes(), CHANGED_AT[version], reserved)
    writer = SiteWriter(Path(out), shown, cats, tpl, picks, per_page, unlisted)
    writer.write_articles()
    category_pages = writer.write_archives(("category",))
    term_pages = writer.write_archives(("tag", "author")) if term_archives else {}
    writer.write_pages(pages)
    writer.write_home()
    writer.write_feed()
    sitemaps = writer.write_sitemaps(pages)
    writer.prune({p.post_id for p in posts})
    now_at = {p.post_id: p.url for p in shown}
    for rel, content in (extra or {}).items():
        writer.write(Path(rel), content if isinstance(content, str) else content.decode("utf-8"))
    return SiteManifest(
        root=Path(out),
        version=version,
        seed=seed,
        per_page=per_page,
        articles=[expected(p) for p in shown],
        categories=[
            CategoryInfo(c.name, c.slug, c.url, category_pages[c], [p.url for p in writer.by_term.get(c, [])])
            for c in cats
        ],
        static_pages=[p.url for p in pages],
        dead_url=writer.dead_url,
        unslashed_url=writer.unslashed_url,
        tracking_urls=writer.tracking_urls,
        tag_urls=[t.url for t in term_pages if t.kind == "tag"],
        author_urls=[t.url for t in term_pages if t.kind == "author"],
        archive_page_urls=[u for urls in term_pages.values() for u in urls],
        sitemap_urls=sitemaps,
        new_urls=[now_at[p.post_id] for p in new if p.post_id in now_at],
        edited_urls=[now_at[edited.post_id]] if edited is not None and edited.post_id in now_at else [],
        removals=removals,
        unlisted_urls=[p.url for p in shown if p.post_id in unlisted],
        chrome_urls=list(dict.fromkeys(p.url for p in (*picks.recommended, *picks.highlights, *picks.trending,
                                                        *picks.editors))),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """``python tests/sitegen.py OUT --articles N [--version 2] [--seed S] [--manifest F]``."""
    parser = argparse.ArgumentParser(description="Generate a synthetic georgiatoday.ge mirror.")
    parser.add_argument("out", type=Path)
    parser.add_argument("--articles", type=int, required=True)
    parser.add_argument("--version", type=int, choices=(1, 2), default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--per-page", type=int, default=10)
    parser.add_argument("--templates", type=Path, default=TEMPLATE_DIR)
    parser.add_argument("--no-term-archives", action="store_true")
    parser.add_argument("--manifest", type=Path, help="also write the manifest as JSON here")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    manifest = generate_site(
        args.out,
        n_articles=args.articles,
        per_page=args.per_page,
        version=args.version,
        seed=args.seed,
        template_dir=args.templates,
        term_archives=not args.no_term_archives,
    )
    if args.manifest:
        args.manifest.write_text(json.dumps(manifest.to_json(), ensure_ascii=False, indent=1))
    elapsed = time.perf_counter() - started
    print(f"{len(manifest.articles)} articles written to {args.out} in {elapsed:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
