"""Rebuild the dataset offline, behind ``scrapy reextract`` and ``scrapy compact``
(``newsspider/commands/``): ``reextract`` (WARC archives -> items, see ``reextraction``) and
``compact`` (dated JSON Lines outputs -> one line per article, deletions applied, see
``compaction``).

Modules: ``files`` (inputs, ``UnreadableInput``, the atomic JSON Lines output), ``index``
(an archive's CDXJ index, read or made; ``Entry``/``Archive``: the records read),
``reader`` (records by (file, offset, length), Scrapy responses rebuilt), ``extract`` (the
crawl's extraction over a page or a multi-page post), ``workers`` (the jobs, ``-j N``
processes), ``versions`` (pipelines and the choice of versions), ``progress``,
``reextraction``, ``compaction``, ``command`` (the commands' shared command line).
"""

from newsspider.offline.command import OfflineCommand
from newsspider.offline.compaction import compact
from newsspider.offline.files import MissingInput, UnreadableInput
from newsspider.offline.progress import Progress
from newsspider.offline.reextraction import reextract
from newsspider.offline.versions import Outcome

__all__ = ["MissingInput", "OfflineCommand", "Outcome", "Progress", "UnreadableInput", "compact", "reextract"]
