"""Commands of one machine: hashing and checking local files, an embedded crawl and its
hits, the demo, the settings registry and the store's schema (``radar db``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from hashing import ImageError, hash_file
from matcher import Bank
from radar.cli.common import CliError, add_allow_network, open_store, print_json


# -- hashing and checking ------------------------------------------------------------------
def _hash_files(paths: list[str]) -> list[tuple[str, Any]]:
    """Hash each file; a file that fails gives its error instead (the others still run)."""
    results: list[tuple[str, Any]] = []
    for name in paths:
        try:
            results.append((name, hash_file(name)))
        except ImageError as exc:
            results.append((name, f"{exc.kind}: {exc}"))
        except OSError as exc:
            results.append((name, f"unreadable: {exc.strerror or exc}"))
    return results


def cmd_hash(args: argparse.Namespace) -> int:
    failed = 0
    for name, result in _hash_files(args.files):
        if isinstance(result, str):
            failed += 1
            print_json({"file": name, "error": result})
        else:
            print_json({"file": name, **result.as_dict()})
    return 1 if failed else 0


def cmd_check(args: argparse.Namespace) -> int:
    store = open_store(args)
    case = store.get_case(args.case)
    bank = Bank([case], store.references(case.id), version=store.bank_version())
    failed = 0
    for name, result in _hash_files(args.files):
        if isinstance(result, str):
            failed += 1
            print_json({"file": name, "error": result, "hits": []})
            continue
        matches = bank.match_image(result)  # exactly what the crawler sends
        print_json(
            {
                "file": name,
                "pdq_quality": result.pdq_quality,
                "hits": [
                    {
                        "reference": m.label,
                        "algorithm": m.algorithm,
                        "distance": m.distance,
                        "variant": m.variant,
                    }
                    for m in matches
                ],
            }
        )
    return 1 if failed else 0


# -- crawling and hits ----------------------------------------------------------------------
def cmd_crawl(args: argparse.Namespace) -> int:
    from radar.crawl import run_crawls
    from radar.report import crawl_exit_status

    store = open_store(args)
    store.get_case(args.case)
    targets = store.targets(args.case)
    if args.target:
        targets = [t for t in targets if t.id in args.target]
    if not targets:
        raise CliError(f"case {args.case} has no targets to crawl (radar case add-target)")
    run = run_crawls(
        store,
        targets,
        tuple(args.allow_network or ()),
        progress=None if args.quiet else sys.stderr,
        log_level="INFO" if args.verbose else "WARNING",
    )
    return crawl_exit_status(run, targets)


def cmd_hits(args: argparse.Namespace) -> None:
    from radar.report import print_hits

    hit_store: Any
    if args.elasticsearch:
        from store.elastic import ElasticHitStore, ElasticSettings

        hit_store = ElasticHitStore(ElasticSettings.from_env())
    else:
        hit_store = open_store(args)
        if args.case:
            hit_store.get_case(args.case)
    hits = hit_store.hits(args.case, args.status, limit=args.limit)
    if args.json:
        for hit in hits:
            print_json(hit.to_dict())
    else:
        print_hits(hits)


def cmd_demo(args: argparse.Namespace) -> int:
    from radar.demo.run import run_demo

    return run_demo(Path(args.report), Path(args.workdir), args.images)


def cmd_demo_site(args: argparse.Namespace) -> None:
    from radar.demo.run import serve_demo_site

    serve_demo_site(args.port, args.images)


# -- db ---------------------------------------------------------------------------------------
def cmd_db_upgrade(args: argparse.Namespace) -> None:
    from store.db import display, upgrade

    before, after = upgrade(args.db)
    what = "already at" if before == after else f"upgraded from {before or 'empty'} to"
    print(f"{display(args.db)}: {what} schema revision {after}")


def cmd_db_current(args: argparse.Namespace) -> None:
    from store.db import current_revision, display, head_revision

    current, head = current_revision(args.db), head_revision()
    state = "up to date" if current == head else "behind: run 'radar db upgrade'"
    print(f"{display(args.db)}: schema revision {current or 'none'} ({state}; head {head})")
    if current != head:
        raise SystemExit(1)


# -- parser ---------------------------------------------------------------------------------
def cmd_settings(args: argparse.Namespace) -> None:
    from ops.environment import ENVIRONMENT, SCRAPY_SETTINGS

    table = SCRAPY_SETTINGS if args.scrapy else ENVIRONMENT
    for s in table.values():
        secret = " (secret)" if s.secret else ""
        default = f" [default: {s.default}]" if s.default else ""
        needed = f" [required in a cluster by: {','.join(s.required)}]" if s.required else ""
        print(f"{s.name}{secret}  {','.join(s.roles)}{default}{needed}\n    {s.help}")


def add_commands(sub: Any) -> None:
    db = sub.add_parser("db", help="the service store's schema (Alembic migrations)")
    ds = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    ds.add_parser(
        "upgrade", help="create or migrate the schema to this release (the migrations job)"
    ).set_defaults(func=cmd_db_upgrade)
    ds.add_parser("current", help="show the schema revision; exit 1 if behind").set_defaults(
        func=cmd_db_current
    )

    c = sub.add_parser("hash", help="print the hashes of local image files (JSON lines)")
    c.add_argument("files", nargs="+", metavar="FILE")
    c.set_defaults(func=cmd_hash)
    c = sub.add_parser("check", help="match local files against a case's bank (JSON lines)")
    c.add_argument("case")
    c.add_argument("files", nargs="+", metavar="FILE")
    c.set_defaults(func=cmd_check)
    c = sub.add_parser("crawl", help="crawl a case's targets now and match what is found")
    c.add_argument("case")
    c.add_argument("--target", type=int, action="append", help="only this target id")
    add_allow_network(c)
    c.add_argument("-q", "--quiet", action="store_true", help="no progress line")
    c.set_defaults(func=cmd_crawl)
    c = sub.add_parser("hits", help="list hits")
    c.add_argument("--case")
    c.add_argument("--status", choices=("pending", "confirmed", "rejected"))
    c.add_argument("--limit", type=int, default=1000)
    c.add_argument("--json", action="store_true", help="one JSON object per hit")
    c.add_argument(
        "--elasticsearch",
        action="store_true",
        help="read the hits of the distributed mode (RADAR_ES_URL)",
    )
    c.set_defaults(func=cmd_hits)
    c = sub.add_parser("demo", help="crawl a local demo site end to end (make demo)")
    c.add_argument("--report", default="demo-report.json")
    c.add_argument("--workdir", default="demo-output", help="where the demo keeps its store")
    c.add_argument("--images", help="folder of benign photos (default: ../shared/images)")
    c.set_defaults(func=cmd_demo)
    c = sub.add_parser("demo-site", help="serve the demo site on 127.0.0.1 to browse it")
    c.add_argument("--port", type=int, default=8765)
    c.add_argument("--images", help="folder of benign photos (default: ../shared/images)")
    c.set_defaults(func=cmd_demo_site)
    c = sub.add_parser("settings", help="every RADAR_* environment variable: roles, default, use")
    c.add_argument("--scrapy", action="store_true", help="the crawl's Scrapy settings instead")
    c.set_defaults(func=cmd_settings)
