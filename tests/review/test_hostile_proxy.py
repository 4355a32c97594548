"""The review app against a hostile host (tests/hostile_hosts.py, on 127.0.0.1): the
image route answers 502/504 with a placeholder (never 500) and counts the named error;
the dashboard re-check and ``radar notices recheck`` go on past it; with every image
fetch slot held by a hanging host, ``GET /review`` still answers and ``/readyz`` says
so."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from crawler.storage import CrawlStore
from notices.fetch import Fetcher
from notices.recheck import HttpRechecker
from radar.cli import main as radar_main
from review.app import create_app
from tests.hostile_hosts import HostileHost, elapsed
from tests.notices.samples import NOTIFIER, notice
from tests.notices.test_tracking import Mailer
from tests.review.conftest import Client
from tests.review.fixtures import PASSWORD, Env, environment, live_app
from wire import Hit

TIMEOUT = 1.5
ROUTE_STATUS = {  # mode -> (HTTP status of the image route, counted reason)
    "/garbage": (502, "not_http"),
    "/silent": (502, "connection"),
    "/drip": (504, "timeout"),
    "/endless-headers": (502, "too_large"),
    "/huge-header": (502, "too_large"),
    "/redirect-loop": (502, "redirects"),
    "/short-length": (502, "incomplete"),
    "/gzip-bomb": (502, "too_large"),
    "/png-bomb": (502, "image:too_many_pixels"),
}


@pytest.fixture(scope="module")
def host() -> Iterator[HostileHost]:
    with HostileHost(drip_interval=1.0) as h:
        yield h


def hostile_hits(env: Env, host: HostileHost, modes: list[str]) -> list[Hit]:
    """Confirmed hits whose image URLs are the hostile host's modes."""
    found = [
        replace(env.hits[0], image_url=host.url(mode), status="confirmed", content_sha256="0" * 64)
        for mode in modes
    ]
    store = CrawlStore(env.db)
    store.upsert_hits(found)
    store.close()
    return found


def fast(env: Env, timeout: float = TIMEOUT) -> None:
    env.services.fetcher = Fetcher.with_networks(["127.0.0.1/32"], timeout=timeout)
    env.services.rechecker = HttpRechecker(env.services.fetcher)


def signed_in(app: object, username: str) -> Client:
    http = TestClient(app, base_url="http://testserver")  # type: ignore[arg-type]
    response = http.post("/login", data={"username": username, "password": PASSWORD})
    assert response.status_code in (200, 303), response.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', http.get("/prefs").text)
    assert csrf
    return Client(http, csrf[1])


def test_the_image_route_answers_502_or_504_and_counts_the_reason(
    env: Env, host: HostileHost
) -> None:
    fast(env)
    modes = sorted(ROUTE_STATUS)
    found = hostile_hits(env, host, [*modes, "/ok.png"])
    app = create_app(env.settings, env.services)
    ana = signed_in(app, "ana")
    for hit, mode in zip(found, modes, strict=False):
        response, seconds = elapsed(lambda h=hit: ana.get(f"/review/hits/{h.id}/image"))  # type: ignore[misc]
        status, reason = ROUTE_STATUS[mode]
        assert response.status_code == status, (mode, response.headers.get("X-Radar-Detail"))
        assert response.headers["X-Radar-Live"] == "error", mode
        assert response.headers["content-type"].startswith("image/svg+xml")
        assert seconds < TIMEOUT + 5, mode
        assert app.state.fetch_pool.counts[f"error:{reason}"] >= 1, mode
    ok = ana.get(f"/review/hits/{found[-1].id}/image")
    assert ok.status_code == 200 and ok.headers["X-Radar-Live"] == "changed"
    assert ok.headers["content-type"] == "image/jpeg"
    ana.http.close()


def _sent_notice(env: Env, found: list[Hit]) -> int:
    desk = env.services.desk
    draft = desk.draft(
        found[0].site, found, "takeitdown", "abuse@x.example", "host", "lea", NOTIFIER
    )
    desk.update_draft(draft.id, "lea", notice("takeitdown").fields, draft.recipient, "takeitdown")
    desk.send(draft.id, "lea", Mailer())
    return draft.id


MODES_IN_ROUND = ["/garbage", "/huge-header", "/silent", "/ok.png"]


def test_dashboard_recheck_records_the_error_and_goes_on(env: Env, host: HostileHost) -> None:
    fast(env)
    found = hostile_hits(env, host, MODES_IN_ROUND)
    _sent_notice(env, found)
    lea = signed_in(create_app(env.settings, env.services), "lea")
    response = lea.post("/dashboard/recheck")
    assert response.status_code == 303
    results = {h.image_url: env.services.notices.rechecks(h.image_url, 1)[0] for h in found}
    assert results[host.url("/garbage")].status == "error"
    assert results[host.url("/garbage")].detail.startswith("not_http: ")
    assert results[host.url("/ok.png")].status == "changed"  # reached: the round went on
    lea.http.close()


def test_radar_notices_recheck_prints_each_error_and_goes_on(
    env: Env, host: HostileHost, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    found = hostile_hits(env, host, MODES_IN_ROUND)
    _sent_notice(env, found)
    monkeypatch.setenv("RADAR_SMTP_HOST", "127.0.0.1")
    before = host.connections["/ok.png"]
    with pytest.raises(SystemExit) as done:
        radar_main(
            ["--db", env.db, "notices", "recheck", "--all", "--allow-network", "127.0.0.1/32"]
        )
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert f"error {host.url('/garbage')}: not_http: " in out
    assert f"error {host.url('/huge-header')}: too_large: " in out
    assert "re-checked 4 URLs" in out and "3 without answer" in out
    assert host.connections["/ok.png"] == before + 1


def test_review_answers_while_every_fetch_slot_hangs(tmp_path: Path, kodak: list[Path]) -> None:
    hang_for = 6.0
    with HostileHost() as slow, environment(tmp_path, kodak, image_fetches=3) as env:
        fast(env, timeout=hang_for)
        found = hostile_hits(env, slow, ["/hang"])
        with live_app(env) as base, httpx.Client(base_url=base, timeout=30) as http:
            http.post("/login", data={"username": "ana", "password": PASSWORD})
            assert http.get("/readyz").status_code == 200
            image = f"/review/hits/{found[0].id}/image"
            views = [threading.Thread(target=http.get, args=(image,)) for _ in range(12)]
            for view in views:
                view.start()
            while slow.connections["/hang"] < 3:  # every slot now waits on the host
                time.sleep(0.05)
            start = time.monotonic()
            queue = http.get("/review")
            assert queue.status_code == 200 and "queue" in queue.text.lower()
            assert time.monotonic() - start < hang_for / 2  # well before any slot is free
            extra = http.get(image)
            assert extra.status_code == 503 and extra.headers["Retry-After"] == "2"
            ready = http.get("/readyz")
            assert ready.status_code == 503 and "saturated (3/3)" in ready.text
            for view in views:
                view.join(timeout=hang_for + 10)
            assert slow.connections["/hang"] == 3  # the other views never reached the host
            assert http.get("/readyz").status_code == 200


def test_readyz_is_not_ready_when_the_store_does_not_answer(env: Env, tmp_path: Path) -> None:
    app = create_app(
        env.settings.model_copy(update={"db": str(tmp_path / "nowhere" / "radar.db")}), env.services
    )
    with TestClient(app) as http:
        response = http.get("/readyz")
        assert response.status_code == 503 and "store:" in response.text
        assert http.get("/healthz").status_code == 200  # alive, only not ready
    with TestClient(create_app(env.settings, env.services)) as http:
        assert http.get("/readyz").text == "ready\n"
