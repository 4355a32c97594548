"""Storage of cases, reference banks, targets, hits and crawl reports.

Consumes hits from the matcher and case edits from the CLI; produces banks for the
matcher and queues for review. :class:`CaseStore` and :class:`HitStore` are the
interfaces; :class:`SqlStore` is the embedded implementation of both.
"""

from __future__ import annotations

from store.base import CaseStore, HitStore, StoreError
from store.models import HIT_STATUSES, Case, CrawlReport, Reference, Target
from store.sql import SqlStore

__all__ = [
    "HIT_STATUSES",
    "Case",
    "CaseStore",
    "CrawlReport",
    "HitStore",
    "Reference",
    "SqlStore",
    "StoreError",
    "Target",
]
