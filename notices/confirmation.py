"""How a noticed hit was confirmed, and the one sentence a notice says about it.

A notice must not claim more review than happened: the number of analysts who confirmed
a hit follows the consensus setting in force at the time, and an admin may have settled
a dispute alone. The review app derives a :class:`Confirmation` per hit from the recorded
decisions and disputes (``review.queue.confirmation``) and hands them to the notice desk;
this module only turns them into words, so it can be tested without a store.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

_NUMBERS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


@dataclass(frozen=True, slots=True)
class Confirmation:
    """``analysts``: how many analysts voted to confirm; ``by_admin``: why an admin's
    decision settled it instead (``dispute``: the analysts disagreed), "" when the
    analysts' consensus did. Neither: nothing is recorded (the hit was confirmed outside
    the review app). A hit an admin re-opened is reviewed afresh, so only its new votes
    count."""

    analysts: int = 0
    by_admin: str = ""

    @property
    def recorded(self) -> bool:
        return bool(self.by_admin) or self.analysts > 0

    def words(self) -> str:
        """What the notice says about one such hit, e.g. ``by two trained analysts``."""
        if self.by_admin:
            return "by an administrator of our hotline who settled a disagreement between analysts"
        if self.analysts == 1:
            return "by a trained analyst"
        number = _NUMBERS[self.analysts] if self.analysts < len(_NUMBERS) else str(self.analysts)
        return f"by {number} trained analysts"


def phrase(confirmations: Iterable[Confirmation]) -> str:
    """``confirmed by ...`` for the hits of one notice, or "" when none has a recorded
    review (the notice then claims no review at all). Hits confirmed in different ways
    are counted per way; hits without a record are not mentioned."""
    counts = Counter(c for c in confirmations if c.recorded)
    if not counts:
        return ""
    if len(counts) == 1:
        return "confirmed " + next(iter(counts)).words()
    order = sorted(counts, key=lambda c: (c.by_admin, -c.analysts))
    parts = [f"{counts[c]} {c.words()}" for c in order]
    return "confirmed in our review: " + ", ".join(parts)


__all__ = ["Confirmation", "phrase"]
