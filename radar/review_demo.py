"""``radar review --demo``: the app on the demo data, with nothing outside 127.0.0.1.

Serves the demo site (benign photos) with a ``security.txt``, crawls it into a fresh
store, creates one user per role with printed random passwords, and catches outgoing
notices in a local SMTP sink that writes each message to ``<workdir>/outbox/``.
"""

from __future__ import annotations

import secrets
import shutil
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from review.auth import hash_password
from review.storage import SqlReviewStore, User
from wire import utc_now

SECURITY_TXT = (
    "# Snapshare demo community\n"
    "Contact: mailto:abuse@snapshare.example\n"
    "Contact: https://snapshare.example/report\n"
    "Expires: 2099-12-31T23:00:00.000Z\n"
    "Preferred-Languages: en, es\n"
)


@dataclass
class Outbox:
    """An SMTP sink: keeps every message in memory and, with a folder, on disk."""

    folder: Path | None = None
    messages: list[EmailMessage] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = message_from_bytes(envelope.original_content or envelope.content, policy=policy.SMTP)
        with self.lock:
            self.messages.append(msg)
            if self.folder is not None:
                self.folder.mkdir(parents=True, exist_ok=True)
                (self.folder / f"{len(self.messages):04d}.eml").write_bytes(
                    envelope.original_content or envelope.content
                )
        return "250 Message accepted for delivery"


def start_outbox(folder: Path | None = None, port: int = 0) -> tuple[Controller, Outbox]:
    """An aiosmtpd server on 127.0.0.1 (an ephemeral port unless given); call
    ``controller.stop()`` when done. The port is ``controller.port``."""
    outbox = Outbox(folder)
    controller = Controller(outbox, hostname="127.0.0.1", port=port or _free_port())
    controller.start()
    return controller, outbox


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_users(db: str, roles: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """Create users with random passwords; return name -> password."""
    store = SqlReviewStore(db)
    out = {}
    try:
        for name, user_roles in roles.items():
            password = secrets.token_urlsafe(12)
            store.add_user(
                User(
                    name,
                    name.capitalize(),
                    f"{name}@hotline.example",
                    frozenset(user_roles),
                    hash_password(password),
                    created_at=utc_now(),
                )
            )
            out[name] = password
    finally:
        store.close()
    return out


def prepare_demo(workdir: Path, images: str | None = None) -> tuple[Any, str]:
    """Build, serve and crawl the demo site into ``workdir``; return (server, db path).
    The caller stops the server."""
    from crawler.storage import CrawlStore
    from radar.crawl import run_crawls
    from radar.demo.run import CASE_ID
    from radar.demo.site import DemoServer, build_site, find_photos
    from radar.references import hash_reference
    from store import Case, Target

    if workdir.exists():
        shutil.rmtree(workdir)
    site = build_site(find_photos(Path(images) if images else None))
    site.files["/.well-known/security.txt"] = ("text/plain; charset=utf-8", SECURITY_TXT.encode())
    db = str(workdir / "radar.db")
    store = CrawlStore(db)
    case = store.create_case(Case(CASE_ID, "Demo case: benign stand-in photos", priority=5))
    for label, path in sorted(site.references.items()):
        store.add_references(case.id, hash_reference(case, path, label))
    server = DemoServer(site).start()
    target = store.add_target(Target(CASE_ID, server.base_url + "/", ("127.0.0.1",), 4, 100))
    run_crawls(store, [target], allowed_networks=("127.0.0.1/32",))
    store.close()
    return server, db
