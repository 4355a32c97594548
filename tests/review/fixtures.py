"""Test data for the review app: a local site of benign photos and a seeded store.

The site serves JPEG copies of Kodak photos on 127.0.0.1 (``DemoServer``), with a
``security.txt``; hits point at those URLs and carry the served bytes' SHA-256, so the
image proxy and re-checks see "present" until a test deletes a file ("gone").
"""

from __future__ import annotations

import hashlib
import io
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from PIL import Image

from radar.demo.site import DemoServer, DemoSite
from radar.review_demo import SECURITY_TXT, Outbox, start_outbox
from review.app import create_app
from review.auth import hash_password
from review.services import Services
from review.settings import ReviewSettings
from review.storage import SqlReviewStore, User
from store import Case, SqlStore
from wire import Hit, MatchEvidence

PASSWORD = "correct horse battery"
USERS = {
    "ana": ("analyst",),
    "ben": ("analyst",),
    "lea": ("legal",),
    "adm": ("admin",),
}
SECRET = "test-secret-" + "x" * 40


def jpeg(photo: Path, size: int = 320) -> bytes:
    with Image.open(photo) as opened:
        rgb = opened.convert("RGB")
    rgb.thumbnail((size, size))
    out = io.BytesIO()
    rgb.save(out, "JPEG", quality=85)
    return out.getvalue()


def build_fixture_site(kodak: list[Path], n: int = 6) -> DemoSite:
    files: dict[str, tuple[str, bytes]] = {}
    for i, photo in enumerate(kodak[:n], 1):
        files[f"/img/{i}.jpg"] = ("image/jpeg", jpeg(photo))
    files["/"] = ("text/html; charset=utf-8", b"<html><body>fixture</body></html>")
    files["/.well-known/security.txt"] = ("text/plain; charset=utf-8", SECURITY_TXT.encode())
    return DemoSite(files=files, planted=[], unrelated=[], references={})


def seed_hits(store: SqlStore, site: DemoSite, base_url: str) -> list[Hit]:
    """One case, one hit per photo; photo 6 duplicates photo 5's bytes at another URL."""
    store.create_case(Case("case-a", "Fixture case A", priority=2))
    store.create_case(Case("case-b", "Fixture case B", priority=1))
    host = base_url.split("//", 1)[1].split(":")[0]
    images = sorted(p for p in site.files if p.startswith("/img/"))
    site.files["/img/dup.jpg"] = site.files[images[4]]
    hits = []
    for i, path in enumerate([*images, "/img/dup.jpg"]):
        body = site.files[path][1]
        hits.append(
            Hit(
                case_id="case-a" if i % 3 else "case-b",
                reference_label=f"ref-{i % 5 + 1}",
                algorithm="pdq",
                distance=[4, 10, 2, 18, 6, 12, 6][i],
                image_url=base_url + path,
                page_url=base_url + "/",
                site=host,
                fetched_at=f"2026-01-0{i + 1}T10:00:00Z",
                http_status=200,
                content_sha256=hashlib.sha256(body).hexdigest(),
                matches=[MatchEvidence("pdq", [4, 10, 2, 18, 6, 12, 6][i], "original")],
            )
        )
    store.upsert_hits(hits)
    return hits


@dataclass
class Env:
    db: str
    site: DemoSite
    server: DemoServer
    settings: ReviewSettings
    services: Services
    outbox: Outbox
    smtp: Any
    hits: list[Hit]

    @property
    def base(self) -> str:
        return self.server.base_url


@contextmanager
def environment(
    tmp: Path, kodak: list[Path], db: str | None = None, **settings: Any
) -> Iterator[Env]:
    """A seeded store (a SQLite file under *tmp*, or the database *db*: a path or a
    PostgreSQL URL), the photo site, an SMTP outbox and the app's services."""
    site = build_fixture_site(kodak)
    server = DemoServer(site).start()
    db = db or str(tmp / "radar.db")
    store = SqlStore(db)
    hits = seed_hits(store, site, server.base_url)
    store.close()
    review = SqlReviewStore(db)
    hashed = hash_password(PASSWORD)
    for name, roles in USERS.items():
        review.add_user(
            User(name, name.capitalize(), f"{name}@hotline.example", frozenset(roles), hashed)
        )
    review.set_setting(
        "notifier",
        {
            "notifier_name": "Lea Legal",
            "notifier_org": "Example Hotline",
            "notifier_email": "lea@hotline.example",
            "notifier_phone": "+34 900 000 000",
            "notifier_address": "Calle Mayor 1, 06200 Almendralejo, Spain",
        },
    )
    review.close()
    controller, outbox = start_outbox()
    from notices.send import SmtpMailer, SmtpSettings

    cfg = ReviewSettings(
        db=db,
        secret_key=SECRET,
        allowed_networks=("127.0.0.1/32",),
        scheduler_minutes=0,
        **settings,
    )
    mailer = SmtpMailer(
        SmtpSettings(host="127.0.0.1", port=controller.port, sender="notices@hotline.example")
    )
    services = Services(cfg, mailer=mailer)
    try:
        yield Env(db, site, server, cfg, services, outbox, controller, hits)
    finally:
        controller.stop()
        server.stop()


@contextmanager
def live_app(env: Env, services: Services | None = None) -> Iterator[str]:
    """Serve the app with uvicorn on 127.0.0.1 in a thread; yield its base URL. Another
    *services* (its own store connections and caches) makes it another replica."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(
        create_app(env.settings, services or env.services),
        host="127.0.0.1",
        port=port,
        log_level="warning",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the app did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
