"""The review and notices web app (issue 5).

Consumes hits from a hit store (SQLite or Elasticsearch) and the review, notice and
contact state of :mod:`review.storage` and :mod:`notices.storage`; produces analysts'
decisions and consensus on hits, the audit log, and notices through :mod:`notices`.
``create_app`` in :mod:`review.app` builds the FastAPI app; ``radar review`` serves it.
"""

from __future__ import annotations
