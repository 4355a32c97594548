"""The review queue's question to a hit store: which hits, in which order.

Shared by every :class:`store.HitStore` backend so SQLite and Elasticsearch answer the
same query the same way (tested against each other in ``tests/integration``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from store.models import HIT_STATUSES

ORDERS = ("priority", "newest", "last_seen")


@dataclass(frozen=True, slots=True)
class HitQuery:
    """Filters and order for :meth:`store.HitStore.find_hits`.

    ``priority`` order is the review queue's: case priority (from ``priorities``, a map
    of case id to priority, higher first; absent cases count 0), then match distance
    (closest first), then age (oldest first), then id (a stable tie-break). ``newest``
    orders by first sighting, newest first; ``last_seen`` by last sighting, newest first.
    Empty tuples mean "no filter"; ``exclude_ids`` drops hits (claimed, disputed...).
    """

    case_ids: tuple[str, ...] = ()
    sites: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    ids: tuple[str, ...] = ()
    content_sha256: str | None = None
    exclude_ids: tuple[str, ...] = ()
    priorities: Mapping[str, int] = field(default_factory=dict)
    order: str = "priority"
    limit: int = 50
    offset: int = 0

    def __post_init__(self) -> None:
        bad = [s for s in self.statuses if s not in HIT_STATUSES]
        if bad:
            raise ValueError(f"unknown hit status {bad[0]!r}")
        if self.order not in ORDERS:
            raise ValueError(f"unknown order {self.order!r}; expected one of {ORDERS}")
        if not 0 <= self.limit <= 10_000 or self.offset < 0:
            raise ValueError("limit must be 0..10000 and offset >= 0")
