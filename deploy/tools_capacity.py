"""Measure the per-unit costs that docs/scaling.md turns into replica and partition counts.

    .venv/bin/python deploy/tools_capacity.py crawl [--targets 4] [--runs 3]
    .venv/bin/python deploy/tools_capacity.py hash [--rounds 3]
    .venv/bin/python deploy/tools_capacity.py match [--records 20000]

``crawl``: serves the demo site (``radar demo-site``, a separate process, so its CPU is not
counted) on 127.0.0.1 and crawls it with ``radar.crawl.run_crawls``: ``--targets`` crawls
at once in one process, like one crawler replica working on several sites; each run in a
fresh process (Scrapy runs one reactor per process). Prints wall time, the crawl's CPU
seconds (user + system of the crawling process, from just before the crawl to its end),
pages and images, and the costs per page and per image. The embedded crawl matches in
the same process; ``match`` measures that part separately.

``hash``: CPU per image of ``hashing.hash_bytes`` alone (decode, downscale, PDQ, pHash)
on the demo site's images, so the crawl's cost splits into pages and images.

``match``: ``matcher.MatchWorker.process`` (parse a ``HashRecord`` + match against every
case's bank, the matcher's pure per-record work) over synthetic records against banks of
several sizes; prints microseconds per record. Kafka polling, the Elasticsearch write of
the (rare) hits and the offset commit are not in it: docs/scaling.md states what it
assumes for those.

Output is one JSON object per line. Everything stays on 127.0.0.1; no image is written.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(port: int, seconds: float = 120.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"demo site did not listen on 127.0.0.1:{port}")


def crawl_once(port: int, targets: int) -> dict[str, Any]:
    """One measured crawl of ``targets`` concurrent crawls of the demo site (this process)."""
    from crawler.storage import CrawlStore
    from radar.crawl import run_crawls
    from store import Case, Target

    with tempfile.TemporaryDirectory() as tmp:
        store = CrawlStore(Path(tmp) / "radar.db")
        case = store.create_case(Case("capacity", "capacity measurement"))
        rows = [
            store.add_target(
                Target(
                    case.id,
                    f"http://127.0.0.1:{port}/?crawl={i}",
                    ("127.0.0.1",),
                    max_depth=6,
                    max_pages=1000,
                )
            )
            for i in range(targets)
        ]
        cpu, wall = _cpu(), time.monotonic()
        run = run_crawls(store, rows, allowed_networks=("127.0.0.1/32",), progress=None)
        cpu, wall = _cpu() - cpu, time.monotonic() - wall
    pages = sum(r.counts.get("pages", 0) for r in run.reports)
    images = sum(r.counts.get("images", 0) for r in run.reports)
    hashed = sum(r.counts.get("hashed", 0) for r in run.reports)
    return {
        "what": "crawl",
        "targets": targets,
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "pages": pages,
        "images": images,
        "hashed": hashed,
        "pages_per_s_wall": round(pages / wall, 2),
        "images_per_s_wall": round(images / wall, 2),
        "cpu_ms_per_image_incl_pages": round(1000 * cpu / max(images, 1), 2),
        "cpu_ms_per_page_incl_images": round(1000 * cpu / max(pages, 1), 2),
    }


def crawl(targets: int, runs: int) -> None:
    port = _free_port()
    site = subprocess.Popen(
        [str(Path(sys.executable).parent / "radar"), "demo-site", "--port", str(port)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
    )
    try:
        _wait_for(port)
        once = [sys.executable, __file__, "crawl-once", "--port", str(port)]
        for _ in range(runs):
            child = subprocess.run(
                [*once, "--targets", str(targets)],
                cwd=REPO,
                check=True,
                capture_output=True,
                text=True,
            )
            print(child.stdout.strip().splitlines()[-1], flush=True)
    finally:
        site.terminate()
        site.wait(timeout=30)


def hash_images(rounds: int) -> None:
    """CPU per image of ``hashing.hash_bytes`` alone, on the demo site's images."""
    from hashing import hash_bytes
    from radar.demo.site import build_site, find_photos

    site = build_site(find_photos())
    images = [body for kind, body in site.files.values() if kind.startswith("image/")]
    hash_bytes(images[0])  # warm up
    best = float("inf")
    for _ in range(rounds):
        cpu = _cpu()
        for body in images:
            hash_bytes(body)
        best = min(best, _cpu() - cpu)
    sizes = sorted(len(body) for body in images)
    print(
        json.dumps(
            {
                "what": "hash",
                "images": len(images),
                "median_bytes": sizes[len(sizes) // 2],
                "cpu_ms_per_image": round(1000 * best / len(images), 2),
            }
        ),
        flush=True,
    )


def _random_hex(rng: random.Random, bits: int) -> str:
    return f"{rng.getrandbits(bits):0{bits // 4}x}"


def match(records: int, bank_sizes: list[int]) -> None:
    from crawler.storage import CrawlStore
    from matcher import MatchWorker
    from matcher.index import FaissIndex
    from matcher.mih import default_index
    from store import Case
    from store.models import Reference
    from wire import HashRecord, utc_now

    rng = random.Random(7)
    payloads = [
        HashRecord(
            image_url=f"https://site{i % 97}.example/img/{i}.jpg",
            page_url=f"https://site{i % 97}.example/page/{i // 10}",
            site=f"site{i % 97}.example",
            case_id="capacity",
            target_id=1,
            fetched_at=utc_now(),
            http_status=200,
            content_sha256=_random_hex(rng, 256),
            width=800,
            height=600,
            pdq=_random_hex(rng, 256),
            pdq_quality=90,
            phash=_random_hex(rng, 64),
        ).to_json()
        for i in range(records)
    ]
    messages = [(f"site{i % 97}.example", value) for i, value in enumerate(payloads)]
    indexes = {"default_index": default_index, "FaissIndex": FaissIndex}
    for size, (index, factory) in ((s, i) for s in bank_sizes for i in indexes.items()):
        with tempfile.TemporaryDirectory() as tmp:
            store = CrawlStore(Path(tmp) / "radar.db")
            case = store.create_case(Case("capacity", "capacity measurement"))
            refs = []
            for i in range(size // 2):  # a PDQ and a pHash row per reference hash
                refs.append(Reference(case.id, f"r{i}", "pdq", _random_hex(rng, 256), 90))
                refs.append(Reference(case.id, f"r{i}", "phash", _random_hex(rng, 64), None))
            store.add_references(case.id, refs)
            worker = MatchWorker(store, store, factory, bank_check_seconds=3600)
            worker.bank  # noqa: B018 - build the index before the clock starts
            worker.process(messages[:200])  # warm up
            best = float("inf")
            for _ in range(3):
                started = time.perf_counter()
                for at in range(0, records, 200):  # the matcher's default batch
                    worker.process(messages[at : at + 200])
                best = min(best, time.perf_counter() - started)
            print(
                json.dumps(
                    {
                        "what": "match",
                        "bank_hashes": size,
                        "records": records,
                        "seconds": round(best, 4),
                        "us_per_record": round(1e6 * best / records, 2),
                        "records_per_s_one_core": round(records / best),
                        "index": index,
                        "omp_threads": os.environ.get("OMP_NUM_THREADS", "default"),
                    }
                ),
                flush=True,
            )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("crawl")
    c.add_argument("--targets", type=int, default=4)
    c.add_argument("--runs", type=int, default=3)
    c = sub.add_parser("crawl-once")
    c.add_argument("--port", type=int, required=True)
    c.add_argument("--targets", type=int, default=4)
    c = sub.add_parser("hash")
    c.add_argument("--rounds", type=int, default=3)
    c = sub.add_parser("match")
    c.add_argument("--records", type=int, default=20_000)
    c.add_argument("--bank", type=int, action="append", help="bank sizes (hash rows)")
    args = parser.parse_args(argv)
    if args.command == "crawl":
        crawl(args.targets, args.runs)
    elif args.command == "crawl-once":
        print(json.dumps(crawl_once(args.port, args.targets)), flush=True)
    elif args.command == "hash":
        hash_images(args.rounds)
    else:
        match(args.records, args.bank or [1_600, 16_000, 160_000])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
