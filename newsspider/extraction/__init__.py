"""Extraction: plain code that takes a parsed page and returns data.

- ``article``: ``ArticlePage`` (is it an article? one method per field)
- ``body``: the article text, cut into paragraphs, without chrome
- ``listing``: links to follow from home, category and pagination pages
- ``jsonld``: the JSON-LD graph, parsed once
"""

from newsspider.extraction.article import ArticlePage, NotAnArticle

__all__ = ["ArticlePage", "NotAnArticle"]
