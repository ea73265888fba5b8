"""A run's two halves, as the spider and the components reach them (``RunExtension.of``):
``policy`` — what the incremental rules want (``newsspider.crawl.run.policy``) — and
``ledger`` — what this run did (``newsspider.crawl.run.ledger``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from newsspider.crawl.report.health import Verdict
from newsspider.crawl.run.ledger import Ledger
from newsspider.crawl.run.policy import Policy


@dataclass
class Run:
    ledger: Ledger
    policy: Policy = field(default_factory=Policy)  # replaced by the spider's when it starts
    verdict: Verdict | None = None  # judged when the run ends
