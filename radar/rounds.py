"""Waiting for distributed crawl rounds to finish: ``radar seed CASE --wait``.

A round is finished in two steps, each observed from outside the crawlers and matchers:

1. **Crawled.** The seeder records each round's seed in ``round_pages`` before it
   publishes it; a crawler records every link before it publishes it, and marks a page
   done (or failed) once the page's links and image records are acknowledged by Kafka
   (:class:`crawler.frontier.FrontierSpider`). A round with no queued page left is
   crawled: every image record it will ever publish is on the hashes topic.
2. **Matched and stored.** The hashes topic's end offsets are read at that moment; the
   matchers commit an offset only after Elasticsearch accepted its hits
   (:mod:`matcher.service`), so once the matchers' group has committed up to those ends,
   every hit of the round is stored. Later rounds do not delay it: only the offsets of
   that moment count.

Needs crawlers that have the service store (``RADAR_DB``); the deployment gives it to
them. Without it no page is ever marked done, and the wait ends at its timeout.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bus.kafka import KafkaSettings
from crawler.storage import CrawlStore, RoundProgress
from radar.report import _short, printable
from wire import HASHES_TOPIC, Hit

log = logging.getLogger(__name__)


@dataclass(slots=True)
class RoundOutcome:
    """What :func:`wait_for_rounds` saw: each round's pages, and whether the wait ended
    with every round crawled and every record matched (False: it timed out)."""

    rounds: list[str]
    progress: dict[str, RoundProgress] = field(default_factory=dict)
    crawled: bool = False
    matched: bool = False
    seconds: float = 0.0

    @property
    def finished(self) -> bool:
        return self.crawled and self.matched


def crawled(progress: dict[str, RoundProgress], rounds: Sequence[str]) -> bool:
    """Every round has pages recorded and none of them is still queued."""
    return all(r in progress and progress[r].finished for r in rounds)


def unmatched(ends: dict[Any, int], committed: dict[Any, int]) -> int:
    """Records below ``ends`` that the group has not committed, over every partition."""
    return sum(max(0, end - committed.get(tp, 0)) for tp, end in ends.items())


def hashes_ends(kafka: KafkaSettings) -> dict[Any, int]:
    """The end offset of every partition of the hashes topic, now."""
    from kafka import KafkaConsumer, TopicPartition

    reader = KafkaConsumer(**kafka.client_kwargs())
    try:
        name = kafka.topic(HASHES_TOPIC)
        parts = [TopicPartition(name, p) for p in sorted(reader.partitions_for_topic(name) or ())]
        return dict(reader.end_offsets(parts)) if parts else {}
    finally:
        reader.close()


def committed_offsets(kafka: KafkaSettings, group: str) -> dict[Any, int]:
    """The offsets ``group`` has committed, by topic partition."""
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(**kafka.client_kwargs())
    try:
        return {tp: o.offset for tp, o in admin.list_consumer_group_offsets(group).items()}
    finally:
        admin.close()


def wait_for_rounds(
    store: CrawlStore,
    kafka: KafkaSettings,
    matcher_group: str,
    rounds: Sequence[str],
    timeout: float = 3600.0,
    poll: float = 1.0,
    clock: Callable[[], float] = time.monotonic,
) -> RoundOutcome:
    """Block until ``rounds`` are crawled and their records matched and stored (see the
    module's docstring), or ``timeout`` seconds passed; never raises on a timeout (the
    outcome says how far it got). Kafka or database errors are raised."""
    started = clock()
    outcome = RoundOutcome(list(rounds))
    while True:
        outcome.progress = store.round_progress(list(rounds))
        if crawled(outcome.progress, rounds):
            outcome.crawled = True
            break
        if clock() - started > timeout:
            outcome.seconds = clock() - started
            return outcome
        time.sleep(poll)
    ends = hashes_ends(kafka)
    while True:
        left = unmatched(ends, committed_offsets(kafka, matcher_group))
        if not left:
            outcome.matched = True
            break
        if clock() - started > timeout:
            log.warning("%d image records of the round not yet matched", left)
            break
        time.sleep(poll)
    outcome.seconds = clock() - started
    return outcome


def print_round_report(outcome: RoundOutcome, store: CrawlStore, hits: Sequence[Hit]) -> int:
    """Print each round's pages, images and hits (the hits whose latest sighting is the
    round); the exit status of ``radar seed --wait``: 0 when every round finished."""
    state = "finished" if outcome.finished else "NOT finished (timed out)"
    print(f"\nround {state} after {outcome.seconds:.1f}s")
    print(f"{'target':40} {'pages':>5} {'failed':>6} {'queued':>6} {'images':>6} {'hits':>4}")
    for crawl_id in outcome.rounds:
        target_id = int(crawl_id.split("@", 1)[0])
        try:
            url = store.get_target(target_id).url
        except Exception:
            url = "?"
        p = outcome.progress.get(crawl_id, RoundProgress(crawl_id, target_id, 0, 0, 0, 0))
        found = sum(1 for h in hits if h.crawl_id == crawl_id)
        label = _short(printable(f"#{target_id} {url}"), 40)
        note = "" if crawl_id in outcome.progress else "  (nothing recorded)"
        print(f"{label:40} {p.done:5} {p.failed:6} {p.queued:6} {p.images:6} {found:4}{note}")
    sys.stdout.flush()
    if not outcome.crawled:
        print("radar: error: pages of the round still queued at the timeout", file=sys.stderr)
    elif not outcome.matched:
        print("radar: error: image records not yet matched at the timeout", file=sys.stderr)
    return 0 if outcome.finished else 1
