"""The match worker: hashed-image record in, hits out to the hit store.

Pure core (:func:`hits_for`) plus a thin handler that parses, reloads the bank when the
store says it changed, matches and writes. Records that do not parse (any failure of the
parser, not only :class:`wire.RecordError`) are counted and handed to ``dead_letter``
with the reason; they never stop the stream.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from matcher.bank import Bank, BankMatch, BankSource, IndexFactory
from matcher.metrics import MatcherMetrics
from matcher.mih import default_index
from matcher.video import VideoMatch, match_video
from store.base import HitStore
from wire import HashRecord, Hit, MatchEvidence, RecordError

log = logging.getLogger(__name__)

DeadLetter = Callable[[bytes, str], None]


def _hit(record: HashRecord, case_id: str, label: str, algorithm: str, distance: int) -> Hit:
    return Hit(
        case_id=case_id,
        reference_label=label,
        algorithm=algorithm,
        distance=distance,
        image_url=record.image_url,
        page_url=record.page_url,
        site=record.site,
        fetched_at=record.fetched_at,
        http_status=record.http_status,
        content_sha256=record.content_sha256,
        first_seen=record.fetched_at,
        last_seen=record.fetched_at,
        crawl_id=record.crawl_id,
    )


def video_hits_for(record: HashRecord, matches: list[VideoMatch]) -> list[Hit]:
    """One hit per matched (case, reference label) of a video record; its evidence lists
    the matching frames with their time in the video."""
    hits = []
    for m in matches:
        hit = _hit(record, m.case_id, m.label, m.algorithm, m.distance)
        hit.matches = list(m.evidence)
        hits.append(hit)
    return hits


def hits_for(record: HashRecord, matches: list[BankMatch]) -> list[Hit]:
    """Group a record's matches into one hit per (case, reference label). The hit's
    headline algorithm is PDQ when PDQ matched (it is the stronger hash), else pHash."""
    grouped: dict[tuple[str, str], list[BankMatch]] = {}
    for m in matches:
        grouped.setdefault((m.case_id, m.label), []).append(m)
    hits = []
    for (case_id, label), group in sorted(grouped.items()):
        lead = min(group, key=lambda m: (m.algorithm != "pdq", m.distance))
        hit = _hit(record, case_id, label, lead.algorithm, lead.distance)
        hit.matches = [MatchEvidence(m.algorithm, m.distance, m.variant) for m in group]
        hits.append(hit)
    return hits


@dataclass
class Batch:
    """What a batch of raw records gave: hits to write and dead letters to route."""

    hits: list[Hit] = field(default_factory=list)
    dead: list[tuple[str, bytes, str]] = field(default_factory=list)  # key, value, reason
    per_target: Counter[int] = field(default_factory=Counter)
    records: int = 0
    matched: int = 0  # records with at least one hit


class MatchWorker:
    """Matches records against the banks of ``cases`` (the case store, or in distributed
    mode the bank topic) and writes hits to the hit store.

    ``bank_check_seconds`` bounds how often it asks whether the bank changed; 0 asks
    before every record (what tests and the embedded crawl use). ``metrics``, when
    given, times each match and counts what :meth:`count_written` is told was written.
    """

    def __init__(
        self,
        cases: BankSource,
        hits: HitStore,
        index_factory: IndexFactory = default_index,
        dead_letter: DeadLetter | None = None,
        bank_check_seconds: float = 0.0,
        metrics: MatcherMetrics | None = None,
    ) -> None:
        self.cases = cases
        self.hit_store = hits
        self.index_factory = index_factory
        self.dead_letter = dead_letter
        self.bank_check_seconds = bank_check_seconds
        self.metrics = metrics
        self.stats: Counter[str] = Counter()
        self._bank: Bank | None = None
        self._checked_at = 0.0

    @property
    def bank(self) -> Bank:
        now = time.monotonic()
        if self._bank is None or now - self._checked_at >= self.bank_check_seconds:
            self._checked_at = now
            version = self.cases.bank_version()
            if self._bank is None or self._bank.version != version:
                self._bank = Bank(
                    self.cases.list_cases(), self.cases.references(), self.index_factory, version
                )
                self.stats["bank_loads"] += 1
                if self.metrics is not None:
                    self.metrics.bank_loads.inc()
                    self.metrics.bank_hashes.set(len(self._bank))
                log.info("bank v%d loaded: %d reference hashes", version, len(self._bank))
        return self._bank

    def match(self, record: HashRecord) -> list[Hit]:
        if record.is_video:
            return video_hits_for(record, match_video(self.bank, record.frames()))
        alternates: list[tuple[str, int | None]] = []
        if record.pdq_trimmed is not None:
            alternates.append((record.pdq_trimmed, record.pdq_trimmed_quality))
        matches = self.bank.match(
            {"pdq": record.pdq, "phash": record.phash}, record.pdq_quality, alternates
        )
        return hits_for(record, matches)

    def process(self, messages: Sequence[tuple[str, bytes]]) -> Batch:
        """Parse and match raw records without writing anything (the pure part).

        A record that does not parse, for whatever reason, becomes a dead letter with the
        reason; an error of the bank's source (the store or the bank topic) propagates, so
        the caller retries the batch."""
        batch = Batch()
        for key, value in messages:
            self.stats["records"] += 1
            batch.records += 1
            try:
                record = HashRecord.from_json(value)
            except RecordError as exc:
                reason = str(exc)
            except Exception as exc:
                # A parser bug, not an outage: parsing is pure, so the same bytes fail on
                # every retry. Dead-letter them rather than jam the stream behind them.
                log.exception("record parser failed (key %r)", key)
                reason = f"unreadable record: {type(exc).__name__}: {exc}"[:500]
            else:
                started = time.perf_counter()
                hits = self.match(record)  # may raise: the bank's source is infrastructure
                if self.metrics is not None:
                    self.metrics.match_seconds.observe(time.perf_counter() - started)
                batch.hits += hits
                batch.matched += bool(hits)
                batch.per_target[record.target_id] += len(hits)
                continue
            self.stats["dead_letters"] += 1
            log.warning("dead letter (key %r): %s", key, reason)
            batch.dead.append((key, value, reason))
        return batch

    def count_written(self, batch: Batch) -> None:
        """Count a batch's hits once the hit store has accepted them (and, in metrics, its
        records and dead letters: the batch is done for good)."""
        if self.metrics is not None:
            self.metrics.committed(batch.records, batch.matched, len(batch.dead), batch.hits)
        self.stats["hits"] += len(batch.hits)
        for target_id, n in batch.per_target.items():
            self.stats[f"hits/target/{target_id}"] += n

    def handle(self, key: str, value: bytes) -> list[Hit]:
        """Process one raw record and write its hits; return them (empty for a bad
        record, which goes to ``dead_letter`` with the reason)."""
        batch = self.process([(key, value)])
        for _key, raw, reason in batch.dead:
            if self.dead_letter is not None:
                self.dead_letter(raw, reason)
        if batch.hits:
            self.hit_store.upsert_hits(batch.hits)
        self.count_written(batch)
        return batch.hits
