"""Scheduling: every target is crawled again ``interval_seconds`` after its last crawl.

* :func:`due_targets` -- pure: which enabled targets are due at a given time.
* :func:`run_due` -- one round: claims the due targets (a lease in the store, so two
  schedulers or a manual ``radar crawl`` never crawl a target twice at once), crawls them
  together, saves their reports, releases the leases. What ``radar schedule run`` does;
  it runs a reactor, so once per process.
* :class:`Scheduler` -- ``radar scheduler``: a long-running loop that sleeps until the
  next target is due (at most ``poll_seconds``) and stops cleanly on SIGTERM/SIGINT,
  letting a running round finish. Embedded mode starts each round in a child process (a
  crawl that crashes or leaks cannot take the scheduler down, and Scrapy's
  one-reactor-per-process rule holds); distributed mode (``kafka`` given) seeds the due
  targets on the crawl frontier (:func:`radar.distributed.seed_due`) for the crawlers.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import Counter, Histogram

from crawler.storage import CrawlStore
from ops.health import HealthServer
from ops.metrics import PIPELINE_BUCKETS, new_registry
from store import Target

log = logging.getLogger(__name__)

LEASE_SECONDS = 6 * 3600  # a round that takes longer loses its lease (then may be redone)


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def next_due(target: Target) -> datetime | None:
    """When the target is next due; None if disabled. Never crawled: due at once."""
    if not target.enabled:
        return None
    if not target.last_crawled_at:
        return datetime.min.replace(tzinfo=UTC)
    return parse_time(target.last_crawled_at) + timedelta(seconds=target.interval_seconds)


def due_targets(targets: Sequence[Target], now: datetime) -> list[Target]:
    """The enabled targets due at ``now``, longest overdue first."""
    due = [(when, t) for t in targets if (when := next_due(t)) is not None and when <= now]
    return [t for _, t in sorted(due, key=lambda pair: (pair[0], pair[1].id))]


@dataclass
class Round:
    """What one scheduling round did."""

    due: int = 0
    claimed: list[Target] | None = None
    run: Any = None  # radar.crawl.CrawlRun, when something was crawled


def owner_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def claim_due(
    store: CrawlStore, due: Sequence[Target], owner: str, now: datetime, until: str
) -> list[Target]:
    """Lease each due target, then keep it only if it is still due once leased: another
    replica may have run its round (and released the lease) since ``due`` was listed."""
    claimed = []
    for target in due:
        if not store.claim_target(target.id, owner, stamp(now), until):
            continue
        if due_targets([store.get_target(target.id)], now):
            claimed.append(target)
        else:
            store.release_target(target.id, owner)
    return claimed


def run_due(
    store: CrawlStore,
    allowed_networks: tuple[str, ...] = (),
    now: datetime | None = None,
    max_targets: int = 50,
    progress: Any = None,
    log_level: str = "WARNING",
) -> Round:
    """Claim and crawl the due targets (at most ``max_targets``); see the module docs."""
    from radar.crawl import run_crawls

    now = now or datetime.now(UTC)
    due = due_targets(store.all_targets(), now)
    owner = owner_name()
    until = stamp(now + timedelta(seconds=LEASE_SECONDS))
    claimed = claim_due(store, due[:max_targets], owner, now, until)
    result = Round(due=len(due), claimed=claimed)
    if not claimed:
        return result
    try:
        result.run = run_crawls(
            store, claimed, allowed_networks, progress=progress, log_level=log_level
        )
    finally:
        for target in claimed:
            store.release_target(target.id, owner)
    return result


class SchedulerMetrics:
    """``radar_scheduler_*``: rounds by result (``ok``, ``failed``), targets seeded on
    the frontier (distributed mode), and how long a round took."""

    def __init__(self) -> None:
        self.registry = new_registry()
        self.rounds = Counter(
            "radar_scheduler_rounds",
            "Scheduling rounds run, by result.",
            ["result"],
            registry=self.registry,
        )
        self.seeded = Counter(
            "radar_scheduler_targets_seeded",
            "Due targets seeded on the crawl frontier (distributed mode).",
            registry=self.registry,
        )
        self.round_seconds = Histogram(
            "radar_scheduler_round_seconds",
            "Duration of a scheduling round (a crawl in embedded mode, seeding in distributed).",
            buckets=PIPELINE_BUCKETS,
            registry=self.registry,
        )
        for result in ("ok", "failed"):
            self.rounds.labels(result)


class Scheduler:
    """The long-running loop of ``radar scheduler`` (see the module docstring)."""

    def __init__(
        self,
        db: str,
        allowed_networks: Sequence[str] = (),
        poll_seconds: float = 60.0,
        round_timeout: float = LEASE_SECONDS,
        kafka: Any = None,
    ) -> None:
        self.db = db
        self.kafka = kafka  # bus.kafka.KafkaSettings: distributed mode
        self.seeded = 0
        self.allowed_networks = list(allowed_networks)
        self.poll_seconds = poll_seconds
        self.round_timeout = round_timeout
        self.stopping = threading.Event()
        self.rounds = 0
        self.metrics = SchedulerMetrics()
        self._child: subprocess.Popen[bytes] | None = None

    def stop(self, *_: Any) -> None:
        """Stop after the running round (forwarded to it: Scrapy then finishes cleanly)."""
        self.stopping.set()
        if self._child is not None and self._child.poll() is None:
            self._child.send_signal(signal.SIGTERM)

    def seconds_to_next(self) -> float:
        store = CrawlStore(self.db)
        try:
            times = [w for t in store.all_targets() if (w := next_due(t)) is not None]
        finally:
            store.close()
        if not times:
            return self.poll_seconds
        wait = (min(times) - datetime.now(UTC)).total_seconds()
        return max(0.0, min(wait, self.poll_seconds))

    def run_round(self) -> int:
        if self.kafka is not None:
            return self.seed_round()
        argv = [sys.executable, "-m", "radar", "--db", self.db, "schedule", "run"]
        argv += ["--quiet", "--mode", "embedded"]
        for network in self.allowed_networks:
            argv += ["--allow-network", network]
        self._child = subprocess.Popen(argv)
        try:
            return self._child.wait(timeout=self.round_timeout)
        except subprocess.TimeoutExpired:
            log.error("scheduling round still running after %.0fs: stopping it", self.round_timeout)
            self._child.terminate()
            return self._child.wait()
        finally:
            self._child = None

    def seed_round(self) -> int:
        """Distributed mode: seed the due targets on the frontier; 0, or 1 on failure."""
        from bus.kafka import KafkaBus
        from radar.distributed import seed_due

        store = CrawlStore(self.db)
        bus = KafkaBus(self.kafka)
        try:
            done = seed_due(store, bus, datetime.now(UTC))
        except Exception as exc:  # Kafka away: the targets stay due, the next round retries
            log.warning("seeding the frontier failed: %s", exc)
            return 1
        finally:
            bus.close()
            store.close()
        self.seeded += len(done.claimed or [])
        self.metrics.seeded.inc(len(done.claimed or []))
        log.info("seeded %d of %d due targets", len(done.claimed or []), done.due)
        return 0

    def run(self, max_rounds: int | None = None) -> None:
        """Loop until stopped (or ``max_rounds`` rounds with work were run). Serves probes
        and metrics on ``RADAR_HEALTH_PORT`` (:mod:`ops.health`) while it runs."""
        health = HealthServer(
            "scheduler",
            registry=self.metrics.registry,
            stall_seconds=self.round_timeout + 2 * self.poll_seconds + 60,
        ).start()
        try:
            self._loop(max_rounds, health)
        finally:
            health.stop()

    def _loop(self, max_rounds: int | None, health: HealthServer) -> None:
        while not self.stopping.is_set():
            health.beat()
            wait = self.seconds_to_next()
            if wait > 0:
                self.stopping.wait(wait)
                continue
            started = time.monotonic()
            code = self.run_round()
            self.metrics.round_seconds.observe(time.monotonic() - started)
            self.metrics.rounds.labels("ok" if code == 0 else "failed").inc()
            self.rounds += 1
            if code != 0:
                log.warning("scheduling round exited with %d", code)
            # A due target leased by another scheduler stays due: never spin on it.
            self.stopping.wait(min(self.poll_seconds, 5.0 if code == 0 else 30.0))
            if max_rounds is not None and self.rounds >= max_rounds:
                break
