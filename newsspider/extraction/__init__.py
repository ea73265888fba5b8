"""Extraction: plain code that takes a parsed page and returns data.

- ``selector``: ``page_selector`` (a response, parsed once, without a reference cycle)
- ``article``: ``ArticlePage`` (is it an article? one method per field)
- ``post``: ``article_page`` (the page an article callback received, as the crawl and
  ``reextract`` both take it) and ``next_page_of_post`` (a multi-page post's next page)
- ``body``: the article text, cut into paragraphs, without chrome
- ``listing``: links to follow from home, category and pagination pages
- ``jsonld``: the JSON-LD graph, parsed once
- ``sitemap``, ``feed``: Yoast sitemaps, robots.txt ``Sitemap:`` lines, the RSS feed
"""

from newsspider.extraction.article import ArticlePage, NotAnArticle
from newsspider.extraction.selector import page_selector

__all__ = ["ArticlePage", "NotAnArticle", "page_selector"]
