from __future__ import annotations

import time
import urllib.error
import urllib.request
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, Counter
from prometheus_client.parser import text_string_to_metric_families

from ops.health import HealthServer
from ops.metrics import new_registry


def get(port: int | None, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def get_metrics(port: int | None) -> tuple[str, dict[tuple[str, tuple[str, ...]], float]]:
    """The content type and the samples of /metrics: {(name, label values): value}."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        content_type, text = r.headers["Content-Type"], r.read().decode()
    samples = {
        (s.name, tuple(s.labels.values())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    return content_type, samples


def test_probes_follow_the_role_state() -> None:
    state = {"ready": False}
    registry = new_registry()
    records = Counter("radar_test_records", "Records.", ["outcome"], registry=registry)
    records.labels("matched").inc(3)
    health = HealthServer(
        "matcher",
        ready=lambda: state["ready"],
        registry=registry,
        stall_seconds=0.5,
        host="127.0.0.1",
        port=0,
    ).start()
    try:
        assert get(health.port, "/healthz") == (200, "ok\n")
        assert get(health.port, "/readyz") == (503, "not ready\n")
        state["ready"] = True
        assert get(health.port, "/readyz") == (200, "ready\n")
        content_type, samples = get_metrics(health.port)
        assert content_type == CONTENT_TYPE_LATEST
        assert samples[("radar_test_records_total", ("matched",))] == 3
        records.labels("matched").inc()
        assert get_metrics(health.port)[1][("radar_test_records_total", ("matched",))] == 4
        assert get(health.port, "/nope")[0] == 404
        time.sleep(0.6)  # no beat: the main loop looks stalled
        assert get(health.port, "/healthz") == (503, "stalled\n")
        health.beat()
        assert get(health.port, "/healthz")[0] == 200
    finally:
        health.stop()


def test_a_failing_readiness_check_is_not_ready() -> None:
    def broken() -> bool:
        raise ConnectionError("store down")

    health = HealthServer("x", ready=broken, host="127.0.0.1", port=0).start()
    try:
        assert get(health.port, "/readyz") == (503, "not ready\n")
    finally:
        health.stop()


def test_no_port_configured_means_no_server(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("RADAR_HEALTH_PORT", raising=False)
    health = HealthServer("x").start()
    assert health.port is None and health._server is None
    monkeypatch.setenv("RADAR_HEALTH_PORT", "8081")
    assert HealthServer("x").port == 8081


def test_a_role_without_beats_can_stay_alive() -> None:
    health = HealthServer("review", stall_seconds=float("inf"), host="127.0.0.1", port=0)
    health._last_beat -= 10**6
    assert health.alive()


def test_a_broken_collector_is_a_500_not_a_dropped_connection() -> None:
    from ops.metrics import FamilyCollector

    def broken() -> list[Any]:
        raise RuntimeError("dictionary changed size during iteration")

    registry = new_registry()
    registry.register(FamilyCollector(broken))
    health = HealthServer("x", registry=registry, host="127.0.0.1", port=0).start()
    try:
        assert get(health.port, "/metrics") == (500, "metrics failed\n")
        assert get(health.port, "/healthz")[0] == 200
    finally:
        health.stop()
