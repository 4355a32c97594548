"""The store interfaces: what the matcher, crawler and CLI need from any backend."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from store.hitquery import HitQuery
from store.models import Case, CrawlReport, Reference, Target
from wire import Hit


class StoreError(Exception):
    """A request the store refuses (unknown case, duplicate id, stale update...)."""


class CaseStore(Protocol):
    def create_case(self, case: Case) -> Case: ...
    def get_case(self, case_id: str) -> Case:
        """Return the case; raise StoreError if there is none."""
        ...

    def list_cases(self) -> list[Case]: ...
    def add_references(self, case_id: str, references: Iterable[Reference]) -> int:
        """Add references, skipping exact duplicates; return how many were new.
        All or nothing: a failure adds none."""
        ...

    def references(self, case_id: str | None = None) -> list[Reference]: ...
    def bank_version(self) -> int:
        """A number that changes whenever any reference or case rule changes."""
        ...

    def add_target(self, target: Target) -> Target:
        """Store a new target; ValueError if its URL cannot be crawled."""
        ...

    def targets(self, case_id: str) -> list[Target]: ...
    def save_crawl_report(self, report: CrawlReport) -> CrawlReport: ...
    def crawl_reports(self, case_id: str) -> list[CrawlReport]: ...


class HitStore(Protocol):
    def upsert_hits(self, hits: Sequence[Hit]) -> None:
        """Store hits durably; a hit whose id exists is updated (last seen, count), its
        review status kept. Returns only once the hits are durable."""
        ...

    def hits(
        self, case_id: str | None = None, status: str | None = None, limit: int = 1000
    ) -> list[Hit]: ...
    def hit_version(self, hit_id: str) -> int:
        """The hit's current version; raise StoreError if there is no such hit."""
        ...

    def set_hit_status(self, hit_id: str, status: str, expected_version: int) -> int:
        """Change a hit's review status if its version is still ``expected_version``;
        return the new version; raise StoreError on a stale version."""
        ...

    def hit_counts(self, by: str) -> dict[str, int]:
        """Hits per ``site`` or per ``case_id``."""
        ...

    def get_hit(self, hit_id: str) -> tuple[Hit, int]:
        """The hit and its review version; raise StoreError if there is no such hit."""
        ...

    def find_hits(self, query: HitQuery) -> list[Hit]:
        """Hits matching ``query`` in its order, at most ``query.limit`` from
        ``query.offset``; an empty list when none match."""
        ...

    def count_hits(self, query: HitQuery) -> int:
        """How many hits match ``query`` (ignoring limit and offset)."""
        ...
