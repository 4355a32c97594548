"""End to end, embedded mode: the demo site crawled, hashed, matched and stored in one
process, timed from the moment the site served an image to the moment its hit was stored.

The crawl runs in a child process (Scrapy's reactor starts once per process): it builds
the demo site (:mod:`radar.demo.site`), hashes the six reference photos into a fresh
SQLite case with the production variants, crawls with :func:`radar.crawl.run_crawls`
and records, per planted image, when the server finished sending it and when the hit
store accepted its hit. Throughput is images fetched per second of crawl; it includes
Scrapy's politeness (AutoThrottle, at most 4 requests at once per domain), so it is the
crawl's pace on one site, not the hasher's. No anchor: this figure is the first of its
kind here (the hashing and matching anchors are in their own benchmarks).

The distributed mode's figures, side by side with the embedded mode's on a fixture of
2,080 images over 8 sites, are :mod:`bench.scale`'s.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.common import Record, percentile, record


def _timed_server(site: Any, served: dict[str, float]) -> Any:
    """A demo server that notes when it first served each image: where latency starts."""
    from radar.demo.site import DemoServer

    class TimedServer(DemoServer):
        def _serve(self, handler: Any, with_body: bool, form: str = "") -> None:
            super()._serve(handler, with_body, form)
            path = urlsplit(handler.path).path
            if path.startswith("/media/"):
                served.setdefault(path, time.monotonic())

    return TimedServer(site)


def _child(out: Path, quick: bool) -> None:
    from crawler.storage import CrawlStore
    from radar.crawl import run_crawls
    from radar.demo.site import build_site, find_photos
    from radar.references import hash_reference
    from store import Case, Target

    site = build_site(find_photos(), n_references=2 if quick else 6)
    served: dict[str, float] = {}
    stored: dict[str, float] = {}

    with tempfile.TemporaryDirectory() as tmp:
        store = CrawlStore(Path(tmp) / "radar.db")
        case = store.create_case(Case("bench", "end-to-end benchmark"))
        for label, path in sorted(site.references.items()):
            store.add_references(case.id, hash_reference(case, path, label))
        upsert = store.upsert_hits

        def timed_upsert(hits: list[Any]) -> Any:
            result = upsert(hits)
            now = time.monotonic()
            for hit in hits:
                stored.setdefault(urlsplit(hit.image_url).path, now)
            return result

        store.upsert_hits = timed_upsert  # type: ignore[method-assign,assignment]
        with _timed_server(site, served) as server:
            target = store.add_target(
                Target(case.id, server.base_url + "/", ("127.0.0.1",), max_depth=4, max_pages=100)
            )
            run = run_crawls(store, [target], allowed_networks=("127.0.0.1/32",), progress=None)
        planted = {p.path: p.reference_label for p in site.planted}
        hits = store.hits(case.id)
        found = {
            urlsplit(h.image_url).path
            for h in hits
            if planted.get(urlsplit(h.image_url).path) == h.reference_label
        }
        false_hits = sum(
            1 for h in hits if planted.get(urlsplit(h.image_url).path) != h.reference_label
        )
        latencies = sorted(stored[p] - served[p] for p in stored if p in served)
        counts = run.reports[0].counts
        store.close()
    out.write_text(
        json.dumps(
            {
                "images": counts.get("images", 0),
                "hashed": counts.get("hashed", 0),
                "pages": counts.get("pages", 0),
                "seconds": run.seconds,
                "planted": len(planted),
                "found": len(found),
                "false_hits": false_hits,
                "latencies": latencies,
            }
        )
    )


def run(quick: bool, out: Path) -> list[Record]:
    with tempfile.TemporaryDirectory() as tmp:
        result_path = Path(tmp) / "e2e.json"
        args = [sys.executable, "-m", "bench.end_to_end", str(result_path)]
        repo = Path(__file__).resolve().parents[1]
        subprocess.run(args + (["--quick"] if quick else []), check=True, timeout=600, cwd=repo)
        data = json.loads(result_path.read_text())
    (out / "end_to_end.json").write_text(json.dumps(data, indent=1) + "\n")
    latencies = data["latencies"]
    common = {
        "mode": "embedded (in-process bus, SQLite)",
        "site": "radar.demo.site on 127.0.0.1",
        "pages": data["pages"],
        "images": data["images"],
        "planted": data["planted"],
        "found": data["found"],
        "false_hits": data["false_hits"],
        "crawl_seconds": round(data["seconds"], 2),
    }
    return [
        record(
            "end_to_end", "images_per_s", data["images"] / data["seconds"], None, "none", **common
        ),
        record(
            "end_to_end",
            "fetch_to_hit_latency_p50_ms",
            1000 * percentile(latencies, 0.5),
            None,
            "none",
            hits_timed=len(latencies),
            **common,
        ),
        record(
            "end_to_end",
            "fetch_to_hit_latency_p95_ms",
            1000 * percentile(latencies, 0.95),
            None,
            "none",
            hits_timed=len(latencies),
            **common,
        ),
    ]


if __name__ == "__main__":
    paths = [a for a in sys.argv[1:] if not a.startswith("--")]
    _child(Path(paths[0]), "--quick" in sys.argv[1:])
