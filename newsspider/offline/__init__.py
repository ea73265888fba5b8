"""Rebuild the dataset offline, behind ``scrapy reextract`` and ``scrapy compact``
(``newsspider/commands/``): ``reextract`` (WARC archives -> items, see ``reextraction``) and
``compact`` (dated JSON Lines outputs -> one line per article, see ``compaction``).

Modules: ``files`` (inputs, ``UnreadableInput``, the atomic JSON Lines output), ``scan``
(reading the archives once into an index, candidate pages as tasks), ``reader`` (records
at their offsets, Scrapy responses rebuilt), ``extract`` (the crawl's extraction over a
page or a multi-page post), ``workers`` (the ``-j N`` processes), ``versions`` (pipelines
and the choice of versions), ``progress``, ``reextraction``, ``compaction``.
"""

from newsspider.offline.compaction import compact
from newsspider.offline.extract import warc_datetime
from newsspider.offline.files import UnreadableInput
from newsspider.offline.progress import Progress
from newsspider.offline.reextraction import reextract
from newsspider.offline.versions import Outcome

__all__ = ["Outcome", "Progress", "UnreadableInput", "compact", "reextract", "warc_datetime"]
