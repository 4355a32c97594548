from __future__ import annotations

import time
import urllib.error
import urllib.request

from ops.health import HealthServer, render_metrics


def get(port: int | None, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_probes_follow_the_role_state() -> None:
    state = {"ready": False}
    health = HealthServer(
        "matcher",
        ready=lambda: state["ready"],
        counters=lambda: {"records": 3, "hits/target/1": 2},
        stall_seconds=0.5,
        host="127.0.0.1",
        port=0,
    ).start()
    try:
        assert get(health.port, "/healthz") == (200, "ok\n")
        assert get(health.port, "/readyz") == (503, "not ready\n")
        state["ready"] = True
        assert get(health.port, "/readyz") == (200, "ready\n")
        status, body = get(health.port, "/metrics")
        assert status == 200
        assert body.splitlines() == ["radar_hits_target_1 2", "radar_records 3", "radar_up 1"]
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


def test_metrics_skip_non_numbers() -> None:
    assert (
        render_metrics({"a": 1, "b": "text", "c": True, "d-e": 2.5}) == "radar_a 1\nradar_d_e 2.5\n"
    )
