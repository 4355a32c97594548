"""Shared fixtures: the benign test photos, a throw-away SQLite store, and the service
store on both backends (SQLite and the local PostgreSQL)."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crawler.storage import CrawlStore

# tests/deploy builds the image and plays the manifests with podman (minutes, root):
# `make deploy-test` runs it (RADAR_DEPLOY_TEST=1), `make test` does not collect it.
collect_ignore = [] if os.environ.get("RADAR_DEPLOY_TEST") == "1" else ["deploy"]

SHARED_IMAGES = Path(
    os.environ.get(
        "RADAR_SHARED_IMAGES", Path(__file__).resolve().parents[1].parent / "shared" / "images"
    )
)


@pytest.fixture(scope="session")
def shared_images() -> Path:
    """The read-only folder of benign test photos (see its README.md).

    Fails, never skips, when it is missing: a silently skipped hashing suite is worse
    than a red one.
    """
    if not (SHARED_IMAGES / "kodak24").is_dir() or not (SHARED_IMAGES / "pdq-reference").is_dir():
        pytest.fail(
            f"shared test images not found at {SHARED_IMAGES}: expected kodak24/ and "
            "pdq-reference/ there; set RADAR_SHARED_IMAGES to the folder holding them",
            pytrace=False,
        )
    return SHARED_IMAGES


@pytest.fixture(scope="session")
def kodak(shared_images: Path) -> list[Path]:
    """The 24 Kodak photos, kodim01.png .. kodim24.png, in order."""
    paths = sorted((shared_images / "kodak24").glob("kodim*.png"))
    if len(paths) != 24:
        pytest.fail(f"expected 24 kodak photos in {shared_images / 'kodak24'}, found {len(paths)}")
    return paths


@pytest.fixture
def tmp_store(tmp_path: Path) -> Iterator[CrawlStore]:
    """An empty SQLite store in a fresh temporary directory."""
    db = CrawlStore(tmp_path / "radar.db")
    yield db
    db.close()


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """The local PostgreSQL (``devservers.servers``, started once and left running) with a
    database migrated to this release's schema, to copy for each test. Fails, never
    skips, when PostgreSQL cannot start."""
    from devservers import servers
    from store.db import upgrade

    try:
        servers.start_postgres()
    except servers.ServersError as exc:
        pytest.fail(f"local PostgreSQL did not start: {exc}", pytrace=False)
    name = f"radar_template_{os.getpid()}"
    with _pg_admin() as admin:
        rows = admin.execute("SELECT datname FROM pg_database WHERE datname LIKE 'radar_t%'")
        for (stale,) in rows.fetchall():  # templates of sessions that ended abruptly
            pid = stale.removeprefix("radar_template_")
            if pid.isdigit() and not Path(f"/proc/{pid}").exists():
                admin.execute(f"DROP DATABASE IF EXISTS {stale} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {name}")
    upgrade(servers.postgres_url(database=name))
    yield name
    # The integration suite's servers fixture may have stopped PostgreSQL already; the
    # next session drops a template whose process is gone.
    with contextlib.suppress(Exception), _pg_admin() as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@contextlib.contextmanager
def _pg_admin() -> Iterator[Any]:
    import psycopg

    from devservers import servers

    with psycopg.connect(servers.postgres_url(database="postgres"), autocommit=True) as conn:
        yield conn


@pytest.fixture
def postgres_db(request: pytest.FixtureRequest) -> Iterator[str]:
    """The URL of a fresh, migrated PostgreSQL database, dropped after the test."""
    from devservers import servers

    template = request.getfixturevalue("postgres_template")
    servers.start_postgres()  # a no-op while it runs; an earlier test may have stopped it
    name = f"radar_test_{uuid.uuid4().hex[:12]}"
    with _pg_admin() as admin:
        admin.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
    yield servers.postgres_url(database=name)
    with contextlib.suppress(Exception), _pg_admin() as admin:  # see postgres_template
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(params=["sqlite", "postgresql"])
def service_db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The service store on each backend: a SQLite file, then a PostgreSQL database.
    Tests taking it prove that both modes store the same way."""
    if request.param == "sqlite":
        return str(tmp_path / "radar.db")
    return str(request.getfixturevalue("postgres_db"))
