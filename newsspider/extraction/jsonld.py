"""JSON-LD parsing: every ``application/ld+json`` script of a page, parsed once.

Yoast SEO prints one ``<script class="yoast-schema-graph">`` whose ``@graph`` holds the
``Article``/``NewsArticle``, ``WebPage``, ``ImageObject`` and ``Person`` nodes, linked by
``@id``.  That graph is the *primary* structured-data source.  Everything else (JNews's
own ``"@type": "article"`` script with local times and no offset, other SEO plugins'
graphs) is *secondary*: used only after the meta tags, because real pages show its
dates with wrong offsets.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from lxml.html import HtmlElement
from w3lib.html import replace_entities

ARTICLE_TYPES = frozenset(
    {"article", "newsarticle", "blogposting", "reportagenewsarticle", "analysisnewsarticle",
     "opinionnewsarticle", "reviewnewsarticle", "backgroundnewsarticle", "socialmediaposting"}
)

Node = dict[str, Any]


def node_types(node: Node) -> set[str]:
    """The node's ``@type`` values, lower-cased (a string or a list in JSON-LD)."""
    raw = node.get("@type")
    values = raw if isinstance(raw, list) else [raw]
    return {v.lower() for v in values if isinstance(v, str)}


def _flatten(data: Any) -> Iterator[Node]:
    if isinstance(data, list):
        for entry in data:
            yield from _flatten(entry)
    elif isinstance(data, dict):
        yield data
        graph = data.get("@graph")
        if graph is not None:
            yield from _flatten(graph)


@dataclass
class Graph:
    """The nodes of one or more JSON-LD scripts, indexed by ``@id``."""

    nodes: list[Node] = field(default_factory=list)
    by_id: dict[str, Node] = field(default_factory=dict)

    def add(self, data: Any) -> None:
        for node in _flatten(data):
            self.nodes.append(node)
            node_id = node.get("@id")
            if isinstance(node_id, str) and node_id not in self.by_id:
                self.by_id[node_id] = node

    def resolve(self, ref: Any) -> Any:
        """Follow an ``{"@id": ...}`` reference (or a bare id string) to its node."""
        if isinstance(ref, dict) and set(ref) <= {"@id"} and "@id" in ref:
            return self.by_id.get(ref["@id"], ref)
        if isinstance(ref, str) and ref in self.by_id:
            return self.by_id[ref]
        return ref

    def first(self, types: Iterable[str]) -> Node | None:
        wanted = {t.lower() for t in types}
        for node in self.nodes:
            if node_types(node) & wanted:
                return node
        return None

    def article(self) -> Node | None:
        return self.first(ARTICLE_TYPES)

    def __bool__(self) -> bool:
        return bool(self.nodes)


@dataclass
class StructuredData:
    """The page's JSON-LD split into the Yoast graph and everything else."""

    primary: Graph
    secondary: Graph


def parse_structured_data(scripts: Iterable[HtmlElement]) -> StructuredData:
    """Parse the page's JSON-LD scripts once; broken JSON is skipped, not fatal."""
    primary, secondary = Graph(), Graph()
    for script in scripts:
        try:
            data = json.loads(script.text or "", strict=False)
        except (ValueError, RecursionError):
            continue
        is_yoast = "yoast-schema-graph" in (script.get("class") or "")
        (primary if is_yoast else secondary).add(data)
    return StructuredData(primary=primary, secondary=secondary)


def text_value(value: Any) -> str | None:
    """A JSON-LD string with HTML entities decoded (Yoast escapes ``&`` and quotes)."""
    if isinstance(value, str):
        return replace_entities(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return None


def text_list(value: Any) -> list[str]:
    """A JSON-LD value that may be a list, a single string or a comma-joined string."""
    if isinstance(value, list):
        items = [text_value(v) for v in value]
        return [v for v in items if v]
    single = text_value(value)
    if not single:
        return []
    return [part for part in (p.strip() for p in single.split(",")) if part]


def names(graph: Graph, value: Any) -> list[str]:
    """Names of the Person/Organization nodes referenced by ``value`` (object, list or id)."""
    refs = value if isinstance(value, list) else [value]
    result: list[str] = []
    for ref in refs:
        node = graph.resolve(ref)
        if isinstance(node, dict):
            name = text_value(node.get("name"))
            if name:
                result.append(name)
    return result
