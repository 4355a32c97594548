"""The whole service schema: every stage's tables on :data:`store.schema.metadata`.

Each stage owns its tables (:mod:`store.schema`, :mod:`crawler.storage`,
:mod:`review.storage`, :mod:`notices.storage`); the Alembic environment
(``store/migrations/env.py``) and the schema tests read them all from here.
"""

from __future__ import annotations

import crawler.storage
import notices.storage
import review.storage
from store.schema import metadata

STAGES = (crawler.storage, notices.storage, review.storage)

__all__ = ["STAGES", "metadata"]
