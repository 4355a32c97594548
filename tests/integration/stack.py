"""Run the distributed roles as real processes against the local Kafka and Elasticsearch.

Each test gets its own Kafka topic namespace, consumer groups and Elasticsearch index
prefix, so tests sharing the session's servers never see each other's records.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bus.kafka import KafkaBus, KafkaSettings, ensure_topics
from devservers.servers import Servers
from store.elastic import ElasticHitStore, ElasticSettings
from wire import ALL_TOPICS, COMPACTED_TOPICS, Hit


def wait_until(
    predicate: Callable[[], Any],
    timeout: float,
    what: str | Callable[[], str],
    interval: float = 0.5,
) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail with ``what`` on timeout.

    ``what`` may be a callable, so that logs in the message are read at the timeout,
    not before the wait began."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            said = what() if callable(what) else what
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {said}")
        time.sleep(interval)


class Stack:
    def __init__(self, servers: Servers, workdir: Path, partitions: int = 4, db: str = "") -> None:
        """``db``: the shared service store (a PostgreSQL URL, as deployed); default a
        SQLite file in ``workdir``."""
        run = uuid.uuid4().hex[:8]
        self.workdir = workdir
        self.env = {
            **os.environ,
            "RADAR_KAFKA_BOOTSTRAP": servers.kafka_bootstrap,
            "RADAR_KAFKA_NAMESPACE": f"test-{run}.",
            "RADAR_ES_URL": servers.elasticsearch_url,
            "RADAR_ES_PREFIX": f"test-{run}",
            "RADAR_MATCHER_GROUP": f"matchers-{run}",
            "RADAR_CRAWLER_GROUP": f"crawlers-{run}",
            "RADAR_ALLOWED_NETWORKS": "127.0.0.1/32",
            "RADAR_DB": db or str(workdir / "radar.db"),
            "RADAR_MATCHER_MAX_BACKOFF": "2",
            "RADAR_LOG_LEVEL": "INFO",
        }
        self.kafka = KafkaSettings.from_env(self.env)
        self.elastic = ElasticSettings.from_env(self.env)
        ensure_topics(self.kafka, ALL_TOPICS, partitions, COMPACTED_TOPICS)
        self.hits = ElasticHitStore(self.elastic)
        self.hits.ensure_index()
        self.bus = KafkaBus(self.kafka)
        self.procs: list[subprocess.Popen[bytes]] = []

    def radar(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "radar", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert result.returncode == 0, f"radar {' '.join(args)}: {result.stderr[-3000:]}"
        return result

    def start(self, role: str, **env: str) -> subprocess.Popen[bytes]:
        """Start ``python -m <role>`` (crawler or matcher); its output goes to a log file."""
        log = open(self.workdir / f"{role}-{len(self.procs)}.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen(
            [sys.executable, "-m", role],
            env={**self.env, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.procs.append(proc)
        return proc

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}"
            for p in sorted(self.workdir.glob("*.log"))
        )

    def kill(self, proc: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
        proc.send_signal(sig)
        proc.wait(timeout=60)

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.bus.close()

    def all_hits(self) -> list[Hit]:
        self.hits.refresh()
        return self.hits.hits(limit=10_000)

    def topic_records(self, topic: str, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Every record of a topic of this test, decoded as JSON."""
        from bus.kafka import consumer

        reader = consumer(self.kafka, None, [topic], consumer_timeout_ms=int(timeout * 1000))
        try:
            return [json.loads(r.value) for r in reader]
        finally:
            reader.close()
