"""Scale: one fixture of 2,080 distinct images on 8 sites (127.0.0.2 to 127.0.0.9), crawled
by the embedded mode (one process, SQLite) and by the distributed mode (2 crawlers and 2
matchers on the local Kafka, Elasticsearch and PostgreSQL), side by side in one run,
against the machine's hashing limit.

The sites are served from this process, each on its own loopback address (one site alone
is bounded by per-site politeness, not by the system). Each has an index page linking 26
pages of 10 JPEGs: crops of benign photos at 640x480, every one distinct, 6 per site
being re-uploads (resized, recompressed, mirrored, cropped...) of the case's 6 reference
photos. Both modes crawl with the production settings (per-site concurrency and
AutoThrottle as shipped) and are timed the same way:

- **images/s**: images fetched (the servers count them) over the time from the first
  request to the last image served;
- **fetch-to-hit**: per planted image, from the moment its server finished sending it to
  the moment its hit was stored: embedded, when the SQLite store accepted it (the store's
  ``upsert_hits``, timed in the crawl's process); distributed, when this process received
  the hit on ``hits.matched.v1``, which the matchers publish after Elasticsearch accepted
  it. Both clocks are ``CLOCK_MONOTONIC``, shared by every process of the machine.

The anchor is the hashing limit: ``hashing.hash_bytes`` alone over the same JPEGs in 2
processes (both cores), images/s. A ratio near 1 means the mode is bounded by hashing;
far below it, by fetching, politeness or plumbing. The distributed round is started with
``radar seed --wait`` and ends when it returns.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
from PIL import Image

from bench.common import Record, percentile, record

SITES, PAGES, PER_PAGE, PLANTED_PER_SITE = 8, 26, 10, 6
QUICK = (2, 2, 5, 2)
SIZE = (640, 480)
ANCHOR = "hash_bytes alone, 2 processes (the machine's hashing limit)"


@dataclass
class Fixture:
    sites: list[Any]  # radar.demo.site.DemoSite, one per address
    planted: dict[tuple[int, str], str]  # (site, path) -> reference label
    references: dict[str, Path]
    images: list[bytes]


def _crop(photo: Image.Image, rng: np.random.Generator) -> Image.Image:
    w, h = photo.size
    f = rng.uniform(0.45, 0.8)
    cw, ch = int(w * f), int(h * f)
    x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    return photo.crop((x, y, x + cw, y + ch)).resize(SIZE, Image.Resampling.BILINEAR)


def _jpeg(image: Image.Image, quality: int = 85) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def build_fixture(quick: bool) -> Fixture:
    """The sites, in memory. References are 6 kodak photos (2 when quick); the other images
    are crops of the other photos (kodak and scikit-image's), seeded, so every run serves
    the same."""
    from radar.demo.site import HTML, JPEG, TRANSFORMS, DemoSite, find_photos, transform

    sites_n, pages, per_page, planted_n = (
        QUICK if quick else (SITES, PAGES, PER_PAGE, PLANTED_PER_SITE)
    )
    photos = find_photos()
    refs = photos[: 2 if quick else 6]  # each reference costs ~2 s of variant hashing
    others = [Image.open(p).convert("RGB") for p in photos[6:]]
    import skimage.data

    for name in ("astronaut", "coffee", "chelsea", "rocket", "camera", "grass", "brick"):
        others.append(Image.fromarray(np.asarray(getattr(skimage.data, name)())).convert("RGB"))
    references = {p.stem: p for p in refs}
    rng = np.random.default_rng(2026)
    sites, planted, images = [], {}, []
    for s in range(sites_n):
        files: dict[str, tuple[str, bytes]] = {}
        links = []
        for p in range(pages):
            tags = []
            for i in range(per_page):
                n = (p * per_page) + i
                path = f"/media/{s}-{p}-{i}.jpg"
                if n < planted_n:
                    ref = refs[(s + n) % len(refs)]
                    with Image.open(ref) as im:
                        edited = transform(im, TRANSFORMS[(s + n) % len(TRANSFORMS)])
                    with Image.open(io.BytesIO(edited)) as im:  # distinct bytes per site
                        w, h = im.size
                        body = _jpeg(im.convert("RGB").crop((s, 0, w, h)), 88)
                    planted[(s, path)] = ref.stem
                else:
                    body = _jpeg(_crop(others[int(rng.integers(len(others)))], rng))
                files[path] = (JPEG, body)
                images.append(body)
                tags.append(f'<img src="{path}" alt="">')
            page = f"/p/{p}.html"
            files[page] = (
                HTML,
                f"<html><body><h1>Page {p}</h1>{''.join(tags)}</body></html>".encode(),
            )
            links.append(f'<a href="{page}">page {p}</a>')
        files["/"] = (HTML, f"<html><body>{' '.join(links)}</body></html>".encode())
        sites.append(DemoSite(files=files, planted=[], unrelated=[], references=references))
    return Fixture(sites, planted, references, images)


class _Served:
    """Per site and path, when its server finished sending it (CLOCK_MONOTONIC)."""

    def __init__(self) -> None:
        self.at: dict[tuple[int, str], float] = {}
        self.first = float("inf")
        self.lock = threading.Lock()

    def server(self, index: int, site: Any) -> Any:
        from radar.demo.site import DemoServer

        served = self

        class Timed(DemoServer):
            def _serve(self, handler: Any, with_body: bool, form: str = "") -> None:
                start = time.monotonic()
                super()._serve(handler, with_body, form)
                path = urlsplit(handler.path).path
                with served.lock:
                    served.first = min(served.first, start)
                    if path.startswith("/media/"):
                        served.at.setdefault((index, path), time.monotonic())

        return Timed(site, host=f"127.0.0.{index + 2}")


@contextmanager
def _serving(fixture: Fixture) -> Iterator[tuple[_Served, list[str]]]:
    served = _Served()
    with ExitStack() as stack:
        servers = [stack.enter_context(served.server(i, s)) for i, s in enumerate(fixture.sites)]
        yield served, [s.base_url for s in servers]


def _site_of(url: str, bases: list[str]) -> int:
    return next(i for i, b in enumerate(bases) if url.startswith(b + "/"))


def _figures(
    mode: str, served: _Served, stored: dict[tuple[int, str], float], fixture: Fixture
) -> dict[str, Any]:
    latencies = sorted(stored[k] - served.at[k] for k in stored if k in served.at)
    last = max(served.at.values(), default=served.first)
    return {
        "mode": mode,
        "images": len(served.at),
        "seconds": last - served.first,
        "planted": len(fixture.planted),
        "found": len([k for k in stored if fixture.planted.get(k)]),
        "false_hits": len([k for k in stored if k not in fixture.planted]),
        "latencies": latencies,
    }


# -- embedded ----------------------------------------------------------------------------------
def _embedded_child(spec: Path, out: Path) -> None:
    """In a child process (Scrapy's reactor runs once per process): the case, the 8
    targets, one embedded crawl; writes when each hit was stored."""
    from crawler.storage import CrawlStore
    from radar.crawl import run_crawls
    from radar.references import hash_reference
    from store import Case, Target

    job = json.loads(spec.read_text())
    stored: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        store = CrawlStore(Path(tmp) / "radar.db")
        case = store.create_case(Case("bench"))
        for label, path in sorted(job["references"].items()):
            store.add_references(case.id, hash_reference(case, Path(path), label))
        upsert = store.upsert_hits

        def timed(hits: list[Any]) -> Any:
            result = upsert(hits)
            now = time.monotonic()
            for hit in hits:
                stored.setdefault(hit.image_url, now)
            return result

        store.upsert_hits = timed  # type: ignore[method-assign,assignment]
        targets = [
            store.add_target(Target(case.id, base + "/", (urlsplit(base).hostname or "",), 1, 100))
            for base in job["bases"]
        ]
        run_crawls(store, targets, allowed_networks=("127.0.0.0/8",), progress=None)
        store.close()
    out.write_text(json.dumps(stored))


def embedded(fixture: Fixture) -> dict[str, Any]:
    with _serving(fixture) as (served, bases), tempfile.TemporaryDirectory() as tmp:
        spec, out = Path(tmp) / "spec.json", Path(tmp) / "out.json"
        refs = {k: str(v) for k, v in fixture.references.items()}
        spec.write_text(json.dumps({"bases": bases, "references": refs}))
        repo = Path(__file__).resolve().parents[1]
        args = [sys.executable, "-m", "bench.scale", "embedded", str(spec), str(out)]
        subprocess.run(args, check=True, timeout=1200, cwd=repo)
        raw = json.loads(out.read_text())
    stored = {(_site_of(url, bases), urlsplit(url).path): at for url, at in raw.items()}
    return _figures("embedded (one process, SQLite)", served, stored, fixture)


# -- distributed ---------------------------------------------------------------------------------
def _database(servers: Any) -> tuple[str, Any]:
    """A fresh, migrated PostgreSQL database and its dropper."""
    import psycopg

    from devservers import servers as local
    from store.db import upgrade

    name = f"radar_bench_{uuid.uuid4().hex[:10]}"
    admin_url = local.postgres_url(database="postgres")
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    url = local.postgres_url(database=name)
    upgrade(url)

    def drop() -> None:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    return url, drop


def distributed(fixture: Fixture, workers: int = 2) -> dict[str, Any]:
    """2 crawlers and 2 matchers as separate processes on the local servers (started if
    they are not running: a failure to start raises)."""
    from bus.kafka import KafkaSettings, consumer, ensure_topics
    from crawler.storage import CrawlStore
    from devservers import servers as local
    from radar.references import hash_reference
    from store import Case, Target
    from wire import ALL_TOPICS, COMPACTED_TOPICS, HITS_TOPIC

    servers = local.up()
    run = uuid.uuid4().hex[:8]
    db, drop = _database(servers)
    env = {
        **os.environ,
        "RADAR_KAFKA_BOOTSTRAP": servers.kafka_bootstrap,
        "RADAR_ES_URL": servers.elasticsearch_url,
        "RADAR_KAFKA_NAMESPACE": f"bench-{run}.",
        "RADAR_ES_PREFIX": f"bench-{run}",
        "RADAR_MATCHER_GROUP": f"matchers-{run}",
        "RADAR_CRAWLER_GROUP": f"crawlers-{run}",
        "RADAR_ALLOWED_NETWORKS": "127.0.0.0/8",
        "RADAR_DB": db,
        "RADAR_LOG_LEVEL": "WARNING",
    }
    kafka = KafkaSettings.from_env(env)
    ensure_topics(kafka, ALL_TOPICS, 2 * workers, COMPACTED_TOPICS)
    received: dict[str, float] = {}
    stop = threading.Event()

    def listen() -> None:  # a consumer of hits.matched.v1: when each hit was stored
        reader = consumer(kafka, None, [HITS_TOPIC])
        try:
            while not stop.is_set():
                for records in reader.poll(timeout_ms=100).values():
                    now = time.monotonic()
                    for r in records:
                        received.setdefault(json.loads(r.value)["image_url"], now)
        finally:
            reader.close()

    procs: list[subprocess.Popen[bytes]] = []
    radar = [sys.executable, "-m", "radar"]
    try:
        with _serving(fixture) as (served, bases), tempfile.TemporaryDirectory() as tmp:
            store = CrawlStore(db)
            case = store.create_case(Case("bench"))
            for label, path in sorted(fixture.references.items()):
                store.add_references(case.id, hash_reference(case, path, label))
            for base in bases:
                store.add_target(
                    Target(case.id, base + "/", (urlsplit(base).hostname or "",), 1, 100)
                )
            store.close()
            subprocess.run([*radar, "bank-sync", "bench"], env=env, check=True, timeout=300)
            for role in ("matcher", "crawler") * workers:
                log = open(Path(tmp) / f"{role}-{len(procs)}.log", "wb")  # noqa: SIM115
                procs.append(subprocess.Popen([*radar, role], env=env, stdout=log, stderr=log))
            listener = threading.Thread(target=listen, daemon=True)
            listener.start()
            subprocess.run(
                [*radar, "seed", "bench", "--wait", "--timeout", "900"],
                env=env,
                check=True,
                timeout=960,
                stdout=subprocess.DEVNULL,
            )
            time.sleep(1.0)  # the last hit events: published right after the store accepted
            stop.set()
            listener.join(timeout=30)
    finally:
        stop.set()
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:  # SIGTERM finishes what it holds: enough
                proc.kill()
                proc.wait(timeout=30)
        drop()
    stored = {(_site_of(url, bases), urlsplit(url).path): at for url, at in received.items()}
    return _figures(
        f"distributed ({workers} crawlers + {workers} matchers, Kafka, ES, PostgreSQL)",
        served,
        stored,
        fixture,
    )


# -- the anchor ----------------------------------------------------------------------------------
def _hash_all(images: list[bytes]) -> int:
    from hashing import hash_bytes

    for data in images:
        hash_bytes(data)
    return len(images)


def hashing_limit(images: list[bytes], processes: int = 2) -> float:
    """images/s of ``hash_bytes`` alone, the images split over ``processes`` processes."""
    chunks = [images[i::processes] for i in range(processes)]
    with ProcessPoolExecutor(processes) as pool:
        list(pool.map(_hash_all, [c[:2] for c in chunks]))  # imports and warm-up, untimed
        started = time.monotonic()
        done = sum(pool.map(_hash_all, chunks))
    return done / (time.monotonic() - started)


def run(quick: bool, out: Path) -> list[Record]:
    fixture = build_fixture(quick)
    limit = hashing_limit(fixture.images)
    results = [embedded(fixture), distributed(fixture)]
    detail = {"hash_limit_images_per_s": limit, "modes": results, "sites": len(fixture.sites)}
    (out / "scale.json").write_text(json.dumps(detail, indent=1) + "\n")
    records = []
    for r in results:
        common = {
            "mode": r["mode"],
            "sites": len(fixture.sites),
            "images": r["images"],
            "planted": r["planted"],
            "found": r["found"],
            "false_hits": r["false_hits"],
            "seconds": round(r["seconds"], 2),
        }
        key = "embedded" if r["mode"].startswith("embedded") else "distributed"
        records.append(
            record(
                "scale", f"{key}/images_per_s", r["images"] / r["seconds"], limit, ANCHOR, **common
            )
        )
        for q in (0.5, 0.95):
            value = 1000 * percentile(r["latencies"], q)
            records.append(
                record(
                    "scale",
                    f"{key}/fetch_to_hit_p{round(q * 100)}_ms",
                    value,
                    None,
                    "none",
                    hits_timed=len(r["latencies"]),
                    **common,
                )
            )
    return records


if __name__ == "__main__":
    if sys.argv[1] == "embedded":
        _embedded_child(Path(sys.argv[2]), Path(sys.argv[3]))
