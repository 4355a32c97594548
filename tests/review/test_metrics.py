"""The review app's metrics: decisions by decision and outcome, their request latency,
reveals by result and requests by route template move with what analysts do; the figures
carry no user, hit, case or URL; they are served on the health port, never on the app's."""

from __future__ import annotations

import urllib.request
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from ops.metrics import exposition
from review.app import create_app
from review.metrics import ReviewMetrics
from tests.review.conftest import Client
from tests.review.fixtures import Env


def value(m: ReviewMetrics, name: str, **labels: str) -> float:
    found = m.registry.get_sample_value(name, labels)
    assert found is not None, f"{name}{labels} is not exported"
    return float(found)


def test_decisions_and_reveals_move_the_figures(env: Env, login: Callable[[str], Client]) -> None:
    ana, ben = login("ana"), login("ben")
    m: ReviewMetrics = ana.http.app.state.metrics  # type: ignore[attr-defined]
    hit = env.hits[0]
    assert value(m, "radar_review_decisions_total", decision="confirmed", outcome="pending") == 0
    ana.get(f"/review/hits/{hit.id}")
    assert ana.post(f"/review/hits/{hit.id}/decide", {"decision": "confirmed"}).status_code == 303
    assert value(m, "radar_review_decisions_total", decision="confirmed", outcome="pending") == 1
    assert value(m, "radar_review_decision_seconds_count", kind="single") == 1
    assert value(m, "radar_review_decision_seconds_sum", kind="single") > 0
    ben.get(f"/review/hits/{hit.id}")
    assert ben.post(f"/review/hits/{hit.id}/decide", {"decision": "confirmed"}).status_code == 303
    assert value(m, "radar_review_decisions_total", decision="confirmed", outcome="confirmed") == 1
    assert value(m, "radar_review_decision_seconds_count", kind="single") == 2
    # A refused decision (unknown kind) is timed but not counted as a decision.
    ana.post(f"/review/hits/{env.hits[1].id}/decide", {"decision": "maybe"})
    assert value(m, "radar_review_decision_seconds_count", kind="single") == 3
    assert (
        m.registry.get_sample_value(
            "radar_review_decisions_total", {"decision": "maybe", "outcome": "pending"}
        )
        is None
    )

    env.services.review.update_user("ana", exposure_budget=1)
    headers = {"X-CSRF-Token": ana.csrf}
    assert ana.http.post(f"/review/hits/{hit.id}/reveal", headers=headers).status_code == 200
    assert ana.http.post(f"/review/hits/{hit.id}/reveal", headers=headers).status_code == 429
    assert value(m, "radar_review_reveals_total", result="granted") == 1
    assert value(m, "radar_review_reveals_total", result="refused") == 1
    route = "/review/hits/{hit_id}/decide"
    assert (
        value(m, "radar_review_http_requests_total", route=route, method="POST", status="303") == 3
    )

    text = exposition(m.registry)[0].decode()
    families = {f.name for f in text_string_to_metric_families(text)}
    assert {"radar_review_decisions", "radar_review_decision_seconds"} <= families
    for private in [h.id for h in env.hits] + [h.case_id for h in env.hits] + ["ana", "ben"]:
        assert private not in text, private
    assert "http://" not in text and "https://" not in text and env.base not in text


def test_metrics_are_served_on_the_health_port_only(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RADAR_HEALTH_PORT", "0")  # any free port
    monkeypatch.setenv("RADAR_HEALTH_HOST", "127.0.0.1")
    app = create_app(env.settings, env.services)
    with TestClient(app) as http:
        assert http.get("/metrics").status_code == 404  # not through the ingress
        assert http.get("/healthz").status_code == 200
        port = app.state.health.port
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            text = r.read().decode()
        assert "radar_review_decisions_total" in text
        assert 'route="/healthz"' in text  # the app's own probe, counted by template
    assert app.state.health._server is None, "stopped with the app"
