"""``python -m bench.review_load``: does ``GET /review`` stay fast while image views hang?

Serves the review app with uvicorn on 127.0.0.1 over a small seeded store, starts a host
on 127.0.0.1 that accepts every connection and never answers, opens ``--views`` (50)
image views of a hit on that host at once, and meanwhile starts ``--requests`` (40)
``GET /review`` evenly over 80 % of the fetch timeout (an open loop: each is timed on its
own, so a stalled app delays every sample). Prints the p50/p95/max latency and what the image views
got (503 busy, 504 timeout). ``--image-fetches`` sets the app's limit of upstream fetches
at once (a large value such as 1000 behaves like the unbounded proxy before the limit).
Loopback only; no picture is fetched.
"""

from __future__ import annotations

import argparse
import collections
import json
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn

from review.app import create_app
from review.auth import hash_password
from review.services import Services
from review.settings import ReviewSettings
from review.storage import SqlReviewStore, User
from store import Case, SqlStore
from wire import Hit

PASSWORD = "bench password, loopback only"


class HangingHost:
    """Accepts, reads the request, then holds the connection silently until closed."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0), backlog=256)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self._hold, args=(conn,), daemon=True).start()

    def _hold(self, conn: socket.socket) -> None:
        conn.settimeout(0.5)
        with conn:
            while not self._stop.is_set():
                try:
                    if not conn.recv(4096):
                        return
                except TimeoutError:
                    continue
                except OSError:
                    return

    def close(self) -> None:
        self._stop.set()
        self.sock.close()


def _seed(db: str, image_url: str) -> str:
    store = SqlStore(db)
    store.create_case(Case("bench", "Load bench case"))
    hits = [
        Hit(
            "bench",
            f"ref-{i}",
            "pdq",
            4,
            f"http://127.0.0.1:9/{i}.jpg",
            "http://127.0.0.1:9/",
            "127.0.0.1",
            "2026-01-01T10:00:00Z",
            200,
            "0" * 64,
        )
        for i in range(60)
    ]
    slow = Hit(
        "bench",
        "ref-slow",
        "pdq",
        4,
        image_url,
        "http://127.0.0.1:9/",
        "127.0.0.1",
        "2026-01-01T10:00:00Z",
        200,
        "0" * 64,
    )
    store.upsert_hits([*hits, slow])
    store.close()
    review = SqlReviewStore(db)
    review.add_user(
        User("ana", "Ana", "ana@bench.example", frozenset({"analyst"}), hash_password(PASSWORD))
    )
    review.close()
    return slow.id


def run(views: int, requests: int, image_fetches: int, fetch_timeout: float) -> dict[str, object]:
    host = HangingHost()
    with tempfile.TemporaryDirectory() as tmp:
        db = str(Path(tmp) / "radar.db")
        hit_id = _seed(db, f"http://127.0.0.1:{host.port}/slow.jpg")
        settings = ReviewSettings(
            db=db,
            secret_key="bench-" + "k" * 40,
            allowed_networks=("127.0.0.1/32",),
            scheduler_minutes=0,
            image_fetches=image_fetches,
        )
        services = Services(settings)
        from notices.fetch import Fetcher

        services.fetcher = Fetcher.with_networks(settings.allowed_networks, timeout=fetch_timeout)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(settings, services), host="127.0.0.1", port=port, log_level="warning"
            )
        )
        threading.Thread(target=server.run, daemon=True).start()
        while not server.started:
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port}"
        limits = httpx.Limits(max_connections=views + 10)
        outcomes: collections.Counter[str] = collections.Counter()
        try:
            with httpx.Client(base_url=base, timeout=fetch_timeout + 60, limits=limits) as http:
                http.post("/login", data={"username": "ana", "password": PASSWORD})
                http.get("/review")  # warm up

                def view() -> None:
                    try:
                        outcomes[str(http.get(f"/review/hits/{hit_id}/image").status_code)] += 1
                    except httpx.HTTPError as exc:
                        outcomes[type(exc).__name__] += 1

                threads = [threading.Thread(target=view) for _ in range(views)]
                for t in threads:
                    t.start()
                time.sleep(0.5)  # let the views reach the app and the host
                # Open loop: one GET /review every `interval` s while the views hang, each
                # timed on its own, so a stalled app shows in every sample it delays.
                latencies: list[float] = []
                interval = fetch_timeout * 0.8 / requests

                def timed_review() -> None:
                    start = time.monotonic()
                    status = http.get("/review").status_code
                    latencies.append(time.monotonic() - start)
                    outcomes[f"review {status}"] += 1

                probes = []
                for _ in range(requests):
                    probes.append(threading.Thread(target=timed_review))
                    probes[-1].start()
                    time.sleep(interval)
                for t in probes:
                    t.join()
                for t in threads:
                    t.join()
        finally:
            server.should_exit = True
            host.close()
    latencies.sort()
    p95 = latencies[max(0, round(0.95 * len(latencies)) - 1)]
    return {
        "views": views,
        "image_fetches": image_fetches,
        "fetch_timeout_s": fetch_timeout,
        "review_p50_ms": round(statistics.median(latencies) * 1000, 1),
        "review_p95_ms": round(p95 * 1000, 1),
        "review_max_ms": round(latencies[-1] * 1000, 1),
        "host_connections": host.accepted,
        "image_views": dict(outcomes),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.review_load", description=__doc__)
    parser.add_argument("--views", type=int, default=50)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--image-fetches", type=int, default=8, help="the app's limit")
    parser.add_argument("--fetch-timeout", type=float, default=10.0)
    args = parser.parse_args(argv)
    result = run(args.views, args.requests, args.image_fetches, args.fetch_timeout)
    print(json.dumps(result))
    return 0 if float(str(result["review_p95_ms"])) < 300 else 1


if __name__ == "__main__":
    raise SystemExit(main())
