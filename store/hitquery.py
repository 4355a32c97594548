"""The review queue's question to a hit store: which hits, in which order.

Shared by every :class:`store.HitStore` backend so SQLite and Elasticsearch answer the
same query the same way (tested against each other in ``tests/integration``): the sort
keys of each order (:func:`sort_keys`) and the search rule (:func:`search_pattern`) are
defined here once and only translated by each backend.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from store.models import HIT_STATUSES

# Each order: its column, whether it runs high to low unless asked otherwise, and the
# tie-breaks after it (always in their own direction; ``id`` last makes every order total
# and so pages stable).
ORDERS: dict[str, tuple[bool, tuple[tuple[str, bool], ...]]] = {
    "priority": (True, (("distance", False), ("first_seen", False), ("id", False))),
    "first_seen": (True, (("id", False),)),
    "last_seen": (True, (("id", False),)),
    "distance": (False, (("first_seen", False), ("id", False))),
    "seen_count": (True, (("distance", False), ("id", False))),
    "site": (False, (("distance", False), ("first_seen", False), ("id", False))),
}
# The fields a search looks in (a substring of any of them matches).
SEARCH_FIELDS = ("id", "image_url", "page_url", "site", "reference_label")
SEARCH_MAX = 200


@dataclass(frozen=True, slots=True)
class HitQuery:
    """Filters and order for :meth:`store.HitStore.find_hits`.

    ``order`` names the first sort key (:data:`ORDERS`); ``descending`` says its
    direction (None: the order's usual one). ``priority`` order is the review queue's:
    case priority (from ``priorities``, a map of case id to priority, higher first;
    absent cases count 0), then match distance (closest first), then age (oldest first),
    then id. ``first_seen`` and ``last_seen`` run newest first, ``seen_count`` most seen
    first, ``distance`` closest first, ``site`` A to Z; ties are broken as :data:`ORDERS`
    says. ``newest`` is kept as another name of ``first_seen`` descending.
    ``search`` keeps hits with the text in their id, image or page URL, site or
    reference label (letters' case ignored; empty: no search).
    Empty tuples mean "no filter"; ``exclude_ids`` drops hits (claimed, disputed...).
    Raises ValueError for an unknown status or order, a bad limit or a search longer
    than :data:`SEARCH_MAX`.
    """

    case_ids: tuple[str, ...] = ()
    sites: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    ids: tuple[str, ...] = ()
    content_sha256: str | None = None
    exclude_ids: tuple[str, ...] = ()
    priorities: Mapping[str, int] = field(default_factory=dict)
    order: str = "priority"
    descending: bool | None = None
    search: str = ""
    limit: int = 50
    offset: int = 0

    def __post_init__(self) -> None:
        bad = [s for s in self.statuses if s not in HIT_STATUSES]
        if bad:
            raise ValueError(f"unknown hit status {bad[0]!r}")
        if self.order == "newest":
            object.__setattr__(self, "order", "first_seen")
            object.__setattr__(self, "descending", True)
        if self.order not in ORDERS:
            raise ValueError(f"unknown order {self.order!r}; expected one of {tuple(ORDERS)}")
        if not 0 <= self.limit <= 10_000 or self.offset < 0:
            raise ValueError("limit must be 0..10000 and offset >= 0")
        if len(self.search) > SEARCH_MAX:
            raise ValueError(f"search at most {SEARCH_MAX} characters")

    @property
    def is_descending(self) -> bool:
        """The direction of the first sort key."""
        return ORDERS[self.order][0] if self.descending is None else self.descending


def sort_keys(query: HitQuery) -> list[tuple[str, bool]]:
    """(column, descending) pairs of ``query``'s order, first key first. ``priority`` is
    the case priority from ``query.priorities``, not a stored column: each backend
    computes it its own way."""
    _, ties = ORDERS[query.order]
    return [(query.order, query.is_descending), *ties]


def search_pattern(search: str) -> str:
    """The search text as every backend compares it: stripped, ASCII letters lowered
    (SQLite's ``LOWER`` lowers nothing else); empty means no search. Beyond ASCII the
    backends differ: SQLite matches accented letters as typed; PostgreSQL's ``LOWER``
    also lowers the stored text's accented capitals but not the search's, so "É" finds
    nothing there ("é" finds both); Elasticsearch ignores their case."""
    return search.strip().translate(_LOWER)


_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
