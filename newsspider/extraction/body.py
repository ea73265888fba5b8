"""Article body: the paragraphs of the JNews content container, without site chrome.

The content container (``div.content-inner``) holds the article text *and* things the
theme or editors put there: tags line, share buttons, ads, inline related-post boxes,
images with captions, embeds, page links, author boxes.  We walk the container once,
skipping those subtrees, and cut the text into paragraphs: every block element (``p``,
``h2``-``h6``, ``li``, each paragraph of a ``blockquote``) and every ``<br>``-separated
line is its own paragraph.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from lxml.html import HtmlElement

from newsspider.normalize import normalize_text

#: Elements whose whole subtree is never article text.
SKIP_TAGS = frozenset(
    {"script", "style", "noscript", "iframe", "figcaption", "img", "picture",
     "video", "audio", "svg", "object", "embed", "form", "input", "button", "select",
     "textarea", "ins", "template", "canvas", "map", "source", "track", "nav", "aside",
     # body text is p, h2-h4, li and quotes: h1/h5/h6 inside the content are widget notes
     "h1", "h5", "h6"}
)

#: Classes (any one of them) marking chrome inside the content container.
SKIP_CLASSES = frozenset(
    {
        # JNews
        "jeg_post_tags", "jeg_share_bottom_container", "jeg_share_top_container",
        "jeg_share_button", "jeg_sharelist", "jeg_pagelinks", "jeg_ad", "ads-wrapper",
        "jnews_inline_related_post_wrapper", "jnews_inline_related_post",
        "jnews_related_post_container", "jnews_author_box_container", "jeg_authorbox",
        "jnews_prev_next_container", "jeg_prevnext_post", "jnews_comment_container",
        "jeg_video_container", "jeg_postblock", "jnews-text-zoom", "jeg_meta_zoom",
        "jeg_breadcrumbs", "jeg_post_meta", "jeg_meta_container",
        # the featured video/gallery, printed inside the content by full-width templates
        "jeg_featured", "jeg_featured_big",
        # WordPress core / blocks
        "wp-caption", "wp-caption-text", "gallery", "wp-block-gallery", "wp-block-image",
        "wp-block-embed", "wp-block-video", "wp-block-audio", "wp-block-file",
        "wp-block-buttons", "wp-block-button", "wp-embedded-content", "sharedaddy",
        "wp-block-latest-posts", "wp-block-rss", "screen-reader-text",
        # embeds
        "twitter-tweet", "twitter-video", "instagram-media", "tiktok-embed", "fb-post",
        "fb-video", "fb-page", "embed-youtube", "embed-vimeo",
        # other plugins seen on JNews sites
        "molongui-author-box", "m-a-box", "m-a-box-container", "saboxplugin-wrap",
        "code-block", "adsbygoogle", "addtoany_share_save_container", "heateor_sss_sharing_container",
        "essb_links", "yarpp-related", "crp_related", "jp-relatedposts",
    }
)

#: Figures that hold text, not media (Gutenberg quote blocks); every other ``figure``
#: (image, gallery, embed, video, audio …) is skipped.
TEXT_FIGURE_CLASSES = frozenset({"wp-block-pullquote", "wp-block-quote"})

#: Block-level tags: they end the current paragraph (and their content starts a new one).
BLOCK_TAGS = frozenset(
    {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "dl", "dt", "dd",
     "blockquote", "section", "article", "header", "footer", "main", "table", "thead",
     "tbody", "tfoot", "tr", "td", "th", "caption", "pre", "hr", "address", "center",
     "details", "summary", "fieldset", "figure", "body", "html"}
)

#: A standalone credit line: "Photo: X", "Photos: X", "Header image: X", "Photo credit: X" …
CREDIT_LINE = re.compile(
    r"^(?:header\s+image|featured\s+image|cover\s+(?:image|photo)|top\s+image|main\s+image|"
    r"photos?|photo\s+credits?|image|images|image\s+credits?|credits?|"
    r"ფოტო|ფოტოები|фото)\s*:\s*(?P<value>\S.{0,200})$",
    re.IGNORECASE,
)


#: An editor's "Read also: <link>" teaser paragraph (an inline related post without the box).
RELATED_TEASER = re.compile(
    r"^\s*(?:read\s+(?:also|more)|also\s+read|see\s+also|related|ასევე\s+წაიკითხეთ|"
    r"читайте\s+также)\s*[:>»-]",
    re.IGNORECASE,
)


def _is_related_teaser(el: HtmlElement) -> bool:
    if el.tag != "p" or el.find(".//a") is None:
        return False
    return bool(RELATED_TEASER.match(el.text_content()[:60]))


def _is_skipped(el: HtmlElement) -> bool:
    tag = el.tag
    if not isinstance(tag, str):  # comments, processing instructions
        return True
    if tag in SKIP_TAGS:
        return True
    classes = el.get("class")
    if tag == "figure":
        return not classes or TEXT_FIGURE_CLASSES.isdisjoint(classes.split())
    if tag == "cite" and el.getparent() is not None and el.getparent().tag == "blockquote":
        return True  # a quote's attribution line, not a paragraph of it
    if classes and not SKIP_CLASSES.isdisjoint(classes.split()):
        return True
    if el.get("id", "").startswith(("attachment_", "div-gpt-ad")) or el.get("hidden") is not None:
        return True
    return _is_related_teaser(el)


class _Collector:
    """Accumulates inline text and cuts it into paragraphs at blocks and ``<br>``."""

    def __init__(self) -> None:
        self.paragraphs: list[str] = []
        self._buffer: list[str] = []

    def text(self, value: str | None) -> None:
        if value:
            self._buffer.append(value)

    def flush(self) -> None:
        if self._buffer:
            line = normalize_text("".join(self._buffer))
            self._buffer.clear()
            if line:
                self.paragraphs.append(line)

    def walk(self, container: HtmlElement) -> None:
        """Collect the container's children in document order.  A ``div`` with a class or
        a style (plugin notices) drops the text that sits directly in it and its inline
        children, while its block children still count.  The walk keeps its own stack of
        open elements: markup nested thousands of levels deep is no recursion."""
        # (element, its children still to visit, whether its own inline text counts)
        stack: list[tuple[HtmlElement, Iterator[HtmlElement], bool]] = [(container, iter(container), True)]
        while stack:
            el, children, inline = stack[-1]
            child = next(children, None)
            if child is None:  # el is done: close it in its parent's flow
                stack.pop()
                if stack:
                    if el.tag in BLOCK_TAGS:
                        self.flush()
                    if stack[-1][2]:
                        self.text(el.tail)
                continue
            if _is_skipped(child):
                # The tail belongs to the parent's flow, even after a skipped element.
                if inline:
                    self.text(child.tail)
                continue
            tag = child.tag
            if tag in BLOCK_TAGS:
                self.flush()
                keep = tag != "div" or not (child.get("class") or child.get("style"))
                if keep:
                    self.text(child.text)
                stack.append((child, iter(child), keep))
            elif tag == "br":
                self.flush()
                if inline:
                    self.text(child.tail)
            elif inline:
                self.text(child.text)
                stack.append((child, iter(child), True))


def paragraphs(container: HtmlElement) -> list[str]:
    """The text paragraphs of one content container, in document order."""
    collector = _Collector()
    collector.text(container.text)
    collector.walk(container)
    collector.flush()
    return collector.paragraphs


def credit_value(paragraph: str) -> str | None:
    """The credit in a standalone credit line ("Photo: AP" → "AP"), else None."""
    match = CREDIT_LINE.match(paragraph)
    return match.group("value").strip() if match else None


def split_credit(parts: list[str]) -> tuple[list[str], str | None]:
    """Remove standalone credit lines; the trailing one is the featured image's credit."""
    credit = None
    if parts:
        credit = credit_value(parts[-1])
        if credit is not None:
            parts = parts[:-1]
    kept = [p for p in parts if credit_value(p) is None]
    return kept, credit

