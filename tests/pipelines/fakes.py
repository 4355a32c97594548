"""Stand-ins for what Scrapy hands a pipeline."""

from __future__ import annotations

from collections import Counter


class Stats:
    """Scrapy's stats collector, as far as the pipelines use it."""

    def __init__(self) -> None:
        self.values: Counter[str] = Counter()

    def inc_value(self, key: str, n: int = 1) -> None:
        self.values[key] += n
