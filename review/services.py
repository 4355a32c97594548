"""The stores and outside services the web app uses, one set per worker thread.

SQLite connections must not cross threads, and FastAPI runs plain handlers in a thread
pool, so each store is built lazily per thread from a factory.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from notices.fetch import Fetcher
from notices.recheck import HttpRechecker, Rechecker
from notices.send import Mailer, SmtpMailer, SmtpSettings
from notices.storage import NoticeStore, SqlNoticeStore
from notices.tracking import NoticeDesk, Policy, RunSummary
from review.auth import Throttle
from review.settings import ReviewSettings
from review.storage import ReviewStore, SqlReviewStore
from store import HitStore, SqlStore
from store.db import exclusive
from wire import utc_now


class Services:
    def __init__(
        self,
        settings: ReviewSettings,
        hit_store: Callable[[], HitStore] | None = None,
        clock: Callable[[], str] = utc_now,
        mailer: Mailer | None = None,
        rechecker: Rechecker | None = None,
        throttle: Throttle | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.throttle = throttle or Throttle()
        self.fetcher = Fetcher.with_networks(settings.allowed_networks)
        self.mailer = mailer or SmtpMailer(SmtpSettings.from_env())
        self.rechecker = rechecker or HttpRechecker(self.fetcher)
        self._hit_factory = hit_store
        self._local = threading.local()

    def _get(self, name: str, make: Callable[[], Any]) -> Any:
        value = getattr(self._local, name, None)
        if value is None:
            value = make()
            setattr(self._local, name, value)
        return value

    @property
    def cases(self) -> SqlStore:
        return self._get("cases", lambda: SqlStore(self.settings.db))

    @property
    def hits(self) -> HitStore:
        if self._hit_factory is None:
            return self.cases
        return self._get("hits", self._hit_factory)

    @property
    def review(self) -> ReviewStore:
        return self._get("review", lambda: SqlReviewStore(self.settings.db))

    @property
    def notices(self) -> NoticeStore:
        return self._get("notices", lambda: SqlNoticeStore(self.settings.db))

    @property
    def desk(self) -> NoticeDesk:
        return NoticeDesk(self.notices, self.clock)

    def notice_round(self, policy: Policy) -> RunSummary | None:
        """The scheduled notice round (re-check what is due, remind, escalate), run by one
        replica at a time: None when another review replica or a ``radar notices recheck``
        holds it (its follow-ups would otherwise be drafted and mailed twice)."""
        with exclusive(self.settings.db, "notice-round") as mine:
            if not mine:
                return None
            return self.desk.run_due(self.rechecker, self.mailer, policy)

    def now(self) -> str:
        return self.clock()

    def later(self, minutes: float) -> str:
        return shift(self.clock(), minutes)

    def seconds_until(self, ts: str) -> float:
        """Seconds from now to ``ts`` (negative if it is past)."""
        return seconds_between(self.clock(), ts)

    def day_start(self) -> str:
        """Midnight UTC of today: the exposure budget is per calendar day (UTC)."""
        return self.clock()[:10] + "T00:00:00Z"


def _parse(ts: str) -> datetime:
    return datetime.strptime(ts, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def shift(ts: str, minutes: float) -> str:
    moved = _parse(ts) + timedelta(minutes=minutes)
    return moved.strftime("%Y-%m-%dT%H:%M:%SZ")


def seconds_between(start: str, end: str) -> float:
    """``end - start`` in seconds (negative if ``end`` is earlier)."""
    return (_parse(end) - _parse(start)).total_seconds()
