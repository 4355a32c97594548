"""``make demo``: the whole flow on embedded defaults, on a local demo website.

Builds the demo site from benign photos, serves it on 127.0.0.1, creates a case from
some photos, crawls the site, and compares what was found with what was planted. Also
hashes every planted copy the naive way (plain PDQ, no variants) so the report says
honestly which copies plain PDQ would have missed.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from crawler.storage import CrawlStore
from hashing import MatchRule, hash_bytes, naive_hashes
from matcher import Bank
from radar.crawl import run_crawls
from radar.demo.gated import age_gated
from radar.demo.places import channel, js_gallery
from radar.demo.site import DemoServer, DemoSite, build_site, find_photos
from radar.demo.videos import video_place
from radar.references import hash_reference
from radar.report import print_crawl_summary, print_hits
from store import Case, Target

CASE_ID = "demo"


def expectations(site: DemoSite, bank: Bank) -> dict[str, dict[str, Any]]:
    """Per planted path: would our bank match it, and how far is it in plain PDQ?"""
    plain = {label: naive_hashes(path.read_bytes()) for label, path in site.references.items()}
    rule = MatchRule()
    out = {}
    for planted in site.planted:
        body = site.files[planted.path][1]
        ours = hash_bytes(body)
        matches = bank.match_image(ours)
        naive = naive_hashes(body)
        distance = naive.pdq - plain[planted.reference_label].pdq
        out[planted.path] = {
            "matchable": any(m.label == planted.reference_label for m in matches),
            "plain_pdq_distance": distance,
            "plain_pdq_matches": rule.matches("pdq", distance),
        }
    return out


def run_demo(report_path: Path, workdir: Path, images: str | None = None) -> int:
    """Run the demo; write ``report_path``; return the exit code (0: all as expected)."""
    photos = find_photos(Path(images) if images else None)
    site = build_site(photos)
    if workdir.exists():
        shutil.rmtree(workdir)
    store = CrawlStore(workdir / "radar.db")
    case = store.create_case(Case(CASE_ID, "Demo case: benign stand-in photos"))
    for label, path in sorted(site.references.items()):
        store.add_references(case.id, hash_reference(case, path, label))
    bank = Bank([case], store.references(case.id))
    expected = expectations(site, bank)
    print(
        f"demo: {len(site.references)} reference photos hashed into case '{case.id}' "
        f"({len(store.references(case.id))} hashes, no pictures stored); "
        f"{len(site.planted)} modified re-uploads planted among "
        f"{len(site.unrelated)} unrelated photos"
    )

    refs, others = sorted(site.references.values()), photos[len(site.references) :]
    places = {
        "channel": channel(refs[:3], others[:10]),
        # Behind a Spanish age gate (a form posted with "Soy mayor de edad"): found only
        # because the website target passes gates (on by default for websites).
        "age_gated": age_gated(refs[::2], others[:4], style="post", lang="es"),
        # Re-uploads as video (vPDQ): a slideshow of three references, its mirrored
        # re-encode, and a slideshow of unrelated photos.
        "videos": video_place(refs[1:4], others[4:7]),
    }
    browser_note = _browser_wanted()
    if browser_note is None:
        places["js_gallery"] = js_gallery(refs[3:], others[10:])
    started = time.monotonic()
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(DemoServer(site))
        base_url = server.base_url
        target = store.add_target(
            Target(CASE_ID, server.base_url + "/", ("127.0.0.1",), max_depth=4, max_pages=100)
        )
        targets, bases = [target], {}
        for name, place in places.items():
            extra = stack.enter_context(DemoServer(place))
            bases[name] = extra.base_url
            url, kind, render, depth = {
                "channel": (extra.base_url + "/s/snapshare", "telegram", "http", 0),
                "js_gallery": (extra.base_url + "/js-gallery", "website", "browser", 0),
                "age_gated": (extra.base_url + "/vip/", "website", "http", 1),
                "videos": (extra.base_url + "/videos/", "website", "http", 0),
            }[name]
            targets.append(
                store.add_target(
                    Target(CASE_ID, url, ("127.0.0.1",), depth, 10, kind=kind, render=render)
                )
            )
        print(f"demo: crawling {', '.join(t.url for t in targets)} ...")
        run = run_crawls(store, targets, allowed_networks=("127.0.0.1/32",))
    seconds = time.monotonic() - started
    print_crawl_summary(run, targets)

    all_hits = store.hits(CASE_ID)
    hits = [h for h in all_hits if h.image_url.startswith(base_url + "/")]
    print("\nhits (pending review):")
    print_hits(hits)
    by_path: dict[str, list[str]] = {}
    for hit in hits:
        by_path.setdefault(urlsplit(hit.image_url).path, []).append(hit.reference_label)
    planted_paths = {p.path: p for p in site.planted}
    false_hits = [
        h
        for h in hits
        if urlsplit(h.image_url).path not in planted_paths
        or planted_paths[urlsplit(h.image_url).path].reference_label != h.reference_label
    ]
    rows = []
    for p in site.planted:
        exp = expected[p.path]
        rows.append(
            {
                "path": p.path,
                "reference": p.reference_label,
                "transform": p.transform,
                "embedded_as": p.how,
                "found": p.reference_label in by_path.get(p.path, []),
                **exp,
            }
        )
    found = sum(r["found"] for r in rows)
    missed_matchable = [r for r in rows if r["matchable"] and not r["found"]]
    counts = run.reports[0].counts
    report = {
        "planted": len(rows),
        "found": found,
        "false_hits": len(false_hits),
        "pages": counts.get("pages", 0),
        "images": counts.get("images", 0),
        "seconds": round(seconds, 2),
        "unrelated_photos": len(site.unrelated),
        "not_matchable_by_our_hashes": [r["path"] for r in rows if not r["matchable"]],
        "missed_by_plain_pdq": [r["path"] for r in rows if not r["plain_pdq_matches"]],
        "by_transform": _by_transform(rows),
        "planted_copies": rows,
        "other_places": _other_places(places, bases, all_hits, browser_note),
    }
    for name, crawled in zip(places, run.reports[1:], strict=True):
        report["other_places"][name]["gates_passed"] = crawled.counts.get("gates_passed", 0)
    report_path.write_text(json.dumps(report, indent=2) + "\n")

    print("\nby transform        found  plain PDQ would find  (plain PDQ distance, median)")
    for name, t in report["by_transform"].items():
        found_of = f"{t['found']:>3}/{t['planted']:<3}"
        plain_of = f"{t['plain_pdq']:>3}/{t['planted']:<3}"
        print(f"  {name:16} {found_of}     {plain_of}            {t['plain_pdq_median_distance']}")
    print(
        f"\nplanted {len(rows)}, found {found}, false hits {len(false_hits)}, "
        f"pages {report['pages']}, images {report['images']}, {seconds:.1f}s "
        f"-> {report_path}"
    )
    unmatchable = Counter(r["transform"] for r in rows if not r["matchable"])
    if unmatchable:
        print(
            "not matchable by the configured hashes, so not found (honest misses): "
            + ", ".join(f"{name} {n}" for name, n in sorted(unmatchable.items()))
        )
    problems = []
    for name, place in report["other_places"].items():
        if "skipped" in place:
            print(f"{name}: skipped ({place['skipped']})")
            continue
        gates = f", gates passed {place['gates_passed']}" if "gate" in place else ""
        print(
            f"{name}: planted {place['planted']}, found {place['found']}, "
            f"false hits {place['false_hits']}{gates}"
        )
        if place["found"] != place["planted"] or place["false_hits"]:
            problems.append(f"{name}: found {place['found']} of {place['planted']}")
    if missed_matchable:
        problems.append(f"{len(missed_matchable)} matchable copies were not found by the crawl")
    if false_hits:
        problems.append(f"{len(false_hits)} false hits")
    for problem in problems:
        print(f"demo: FAILED: {problem}", file=sys.stderr)
    return 1 if problems else 0


def _browser_wanted() -> str | None:
    """None if the demo should crawl the JavaScript gallery, else why not.
    ``RADAR_DEMO_BROWSER``: ``auto`` (default: when Chromium is installed), ``1``, ``0``."""
    from crawler.browser import BrowserMissing, chromium_path

    wanted = os.environ.get("RADAR_DEMO_BROWSER", "auto").lower()
    if wanted in ("0", "no", "false"):
        return "RADAR_DEMO_BROWSER=0"
    try:
        chromium_path()
    except BrowserMissing as exc:
        if wanted in ("1", "yes", "true"):
            raise
        return str(exc)
    return None


def _other_places(
    places: dict[str, DemoSite], bases: dict[str, str], hits: list[Any], note: str | None
) -> dict[str, Any]:
    """Per extra place: planted copies, which were found, and hits that are not planted."""
    out: dict[str, Any] = {}
    for name, place in places.items():
        base = bases[name]
        mine = [h for h in hits if h.image_url.startswith(base + "/")]
        if name == "channel":
            found_paths = {h.image_url for h in mine}
            # Channel hits are keyed by post: post 2 + 3 i holds reference i's copy.
            expected = {f"{base}/snapshare/{2 + 3 * i}" for i in range(len(place.planted))}
            count, found = len(expected), len(expected & found_paths)
            false = len(found_paths - expected)
        else:  # each planted copy found under the reference it shows (a video: each photo)
            found_pairs = {(urlsplit(h.image_url).path, h.reference_label) for h in mine}
            planted = {(p.path, p.reference_label) for p in place.planted}
            count, found = len(planted), len(planted & found_pairs)
            false = len(found_pairs - planted)
        out[name] = {"planted": count, "found": found, "false_hits": false}
        if place.gate is not None:
            out[name]["gate"] = place.gate.prefix
    if note is not None:
        out["js_gallery"] = {"skipped": note}
    return out


def _by_transform(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        t = out.setdefault(
            r["transform"], {"planted": 0, "found": 0, "plain_pdq": 0, "distances": []}
        )
        t["planted"] += 1
        t["found"] += r["found"]
        t["plain_pdq"] += r["plain_pdq_matches"]
        t["distances"].append(r["plain_pdq_distance"])
    for t in out.values():
        distances = sorted(t.pop("distances"))
        t["plain_pdq_median_distance"] = distances[len(distances) // 2]
    return out


def serve_demo_site(port: int, images: str | None = None) -> None:
    """Serve the demo site on 127.0.0.1:``port`` until interrupted."""
    site = build_site(find_photos(Path(images) if images else None))
    with DemoServer(site, port=port) as server:
        print(f"demo site on {server.base_url}/ (Ctrl-C to stop)")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
