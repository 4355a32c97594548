"""Per-host numbers for the dashboard: how many notices, how fast content comes down,
how often it comes back. Pure functions of the notices; nothing is stored.

Time to removal of a URL runs from the first notice that named it (the root of its
chain) to the first re-check that found it gone. The re-appearance rate is the share of
removed URLs later found online again.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from notices.render import parse_time
from notices.storage import Notice


@dataclass(slots=True)
class HostStats:
    host: str
    notices_sent: int = 0
    urls: int = 0
    removed: int = 0
    reappeared: int = 0
    open_notices: int = 0
    hours_to_removal: list[float] = field(default_factory=list)

    @property
    def median_hours(self) -> float | None:
        return percentile(self.hours_to_removal, 50)

    @property
    def p90_hours(self) -> float | None:
        return percentile(self.hours_to_removal, 90)

    @property
    def reappearance_rate(self) -> float | None:
        return self.reappeared / self.removed if self.removed else None


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile (the value at rank ceil(p/100 * n)); None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def host_stats(notices: Iterable[Notice]) -> dict[str, HostStats]:
    """Stats per host, sorted by host name."""
    all_notices = list(notices)
    by_id = {n.id: n for n in all_notices}
    out: dict[str, HostStats] = {}
    first_sent: dict[tuple[str, str], str] = {}
    for n in sorted(all_notices, key=lambda n: n.id):
        stats = out.setdefault(n.host, HostStats(n.host))
        if n.sent_at:
            stats.notices_sent += 1
            if n.status in ("sent", "acknowledged", "still-online", "reappeared"):
                stats.open_notices += 1
        root = n
        while root.parent_id and root.parent_id in by_id:
            root = by_id[root.parent_id]
        for u in n.urls:
            if root.sent_at:
                first_sent.setdefault((n.host, u.url), root.sent_at)
    seen: dict[tuple[str, str], tuple[str | None, str | None, str]] = {}
    for n in all_notices:
        for u in n.urls:
            key = (n.host, u.url)
            removed = u.removed_at
            old = seen.get(key)
            if old is None or (removed and (old[0] is None or removed < old[0])):
                seen[key] = (removed, u.reappeared_at or (old[1] if old else None), u.state)
            elif u.reappeared_at and not old[1]:
                seen[key] = (old[0], u.reappeared_at, old[2])
    for (host, url), (removed, reappeared, _state) in sorted(seen.items()):
        stats = out[host]
        stats.urls += 1
        sent = first_sent.get((host, url))
        if removed and sent:
            stats.removed += 1
            hours = (parse_time(removed) - parse_time(sent)).total_seconds() / 3600
            stats.hours_to_removal.append(max(0.0, hours))
            if reappeared:
                stats.reappeared += 1
    return dict(sorted(out.items()))


def human_hours(hours: float | None) -> str:
    """``None`` -> an em dash; otherwise minutes, hours or days, rounded."""
    if hours is None:
        return "\u2014"
    if hours < 1:
        return f"{round(hours * 60)} min"
    if hours < 48:
        return f"{hours:.1f} h"
    return f"{hours / 24:.1f} d"
