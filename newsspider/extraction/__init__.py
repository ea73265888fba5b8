"""Extraction: plain code that takes a parsed page and returns data.

- ``selector``: ``page_selector`` (a response, parsed once, without a reference cycle)
- ``article``: ``ArticlePage`` (is it an article? one method per field)
- ``post``: ``article_page`` (the page an article callback received, as the crawl and
  ``reextract`` both take it), ``next_page_of_post`` (a multi-page post's next page) and
  ``Post`` (the fields that span a post's pages: body, image credit)
- ``loader``: ``ArticleLoader`` (each field's normalization) and ``load_article`` (the
  item of a post: the one way the crawl, ``newsspider extract`` and ``reextract`` build it)
- ``body``: the article text, cut into paragraphs, without chrome
- ``listing``: links to follow from home, category and pagination pages
- ``jsonld``: the JSON-LD graph, parsed once
- ``sitemap``, ``feed``: Yoast sitemaps, robots.txt ``Sitemap:`` lines, the RSS feed
"""

from newsspider.extraction.article import ArticlePage, NotAnArticle
from newsspider.extraction.selector import page_selector

__all__ = ["ArticlePage", "NotAnArticle", "page_selector"]
