"""The bank as every matcher replica sees it: the compacted ``banks.changed.v1`` topic.

Each replica reads the whole topic (no consumer group: every replica needs every entry)
and keeps the latest case rule and reference per key. :meth:`BankFeed.bank_version`
first catches up to the topic's end offsets as they are at the moment of the call, so a
reference whose publication was acknowledged before a hashed-image record was polled is
always in the bank that matches that record: there is no window of missed matches.
"""

from __future__ import annotations

import logging
from typing import Any

from kafka import TopicPartition

from bus.kafka import KafkaSettings, consumer
from store.models import Case, Reference
from wire import BANK_TOPIC, RecordError, decode_bank_entry

log = logging.getLogger(__name__)


class BankFeed:
    """Implements :class:`matcher.bank.BankSource` from the bank topic. Not thread-safe."""

    def __init__(
        self, settings: KafkaSettings, topic: str = BANK_TOPIC, catch_up_seconds: float = 30.0
    ) -> None:
        self._consumer = consumer(settings, group_id=None)
        topic = settings.topic(topic)
        partitions = self._consumer.partitions_for_topic(topic) or set()
        if not partitions:
            raise RuntimeError(f"bank topic {topic!r} does not exist (run: radar topics)")
        self._partitions = [TopicPartition(topic, p) for p in sorted(partitions)]
        self._consumer.assign(self._partitions)
        self._consumer.seek_to_beginning(*self._partitions)
        self._catch_up_ms = int(catch_up_seconds * 1000)
        self._cases: dict[str, Case] = {}
        self._refs: dict[str, Reference] = {}
        self._version = 0
        self.rejected = 0

    def _apply(self, key: str, value: bytes | None) -> None:
        if value is None:  # tombstone: the entry was deleted
            self._cases.pop(key.removeprefix("case/"), None)
            self._refs.pop(key, None)
            return
        try:
            kind, fields = decode_bank_entry(value)
            if kind == "case":
                case = Case.from_dict(fields)
                self._cases[case.id] = case
            else:
                self._refs[key] = Reference.from_dict(fields)
        except (RecordError, ValueError, TypeError, KeyError) as exc:
            self.rejected += 1
            log.warning("ignoring bad bank entry %r: %s", key, exc)

    def catch_up(self) -> int:
        """Read everything published up to now; return how many entries were read."""
        ends: dict[Any, int] = self._consumer.end_offsets(self._partitions)
        read = 0
        while any(self._consumer.position(tp) < ends[tp] for tp in self._partitions):
            batch = self._consumer.poll(timeout_ms=min(self._catch_up_ms, 1000))
            for records in batch.values():
                for record in records:
                    key = record.key.decode() if record.key else ""
                    self._apply(key, record.value)
                    read += 1
        if read:
            self._version += 1
        return read

    def bank_version(self) -> int:
        self.catch_up()
        return self._version

    def list_cases(self) -> list[Case]:
        return sorted(self._cases.values(), key=lambda c: c.id)

    def references(self, case_id: str | None = None) -> list[Reference]:
        return [r for r in self._refs.values() if case_id is None or r.case_id == case_id]

    def close(self) -> None:
        self._consumer.close()
