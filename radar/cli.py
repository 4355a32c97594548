"""``radar``: the command line of Reupload Radar.

Every command opens the service store (``--db``, env ``RADAR_DB``: a SQLite file, the
embedded default, or a ``postgresql://`` URL), does one thing and
exits 0; bad input gives one line ``radar: error: ...`` on stderr, exit 1 (2 for usage
errors), and leaves stored data unchanged.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
from pathlib import Path
from typing import Any

from crawler.storage import CrawlStore
from hashing import ImageError, MatchRule, hash_file
from hashing.video import VideoError
from matcher import Bank
from store import Case, StoreError, Target
from store.hashlists import FORMATS
from store.models import check_case_id

log = logging.getLogger("radar")
DEFAULT_DB = Path.home() / ".local" / "share" / "reupload-radar" / "radar.db"
_DURATION = re.compile(r"^(\d+)\s*([smhdw]?)$")
DEFAULT_RULE = MatchRule()
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class CliError(Exception):
    """A user error: printed as one line, exit 1."""


def parse_duration(text: str) -> int:
    """``90``, ``30m``, ``12h``, ``1d``, ``2w`` -> seconds."""
    match = _DURATION.match(text.strip().lower())
    if not match:
        raise argparse.ArgumentTypeError(f"bad duration {text!r} (e.g. 30m, 12h, 1d)")
    return int(match[1]) * _UNITS[match[2]]


def _store(args: argparse.Namespace) -> CrawlStore:
    return CrawlStore(args.db)


def _print_json(obj: Any) -> None:
    print(json.dumps(obj, sort_keys=True))


# -- case ------------------------------------------------------------------------------------
def cmd_case_create(args: argparse.Namespace) -> None:
    rule = MatchRule(args.pdq_threshold, args.phash_threshold, args.min_quality)
    case = Case(
        check_case_id(args.case),
        args.title or args.case,
        rule,
        dihedral=not args.no_dihedral,
        priority=args.priority,
    )
    _store(args).create_case(case)
    print(f"created case {case.id}")


def cmd_case_list(args: argparse.Namespace) -> None:
    store = _store(args)
    cases = store.list_cases()
    if not cases:
        print("no cases yet: radar case create CASE")
        return
    counts = store.hit_counts("case_id")
    print(f"{'case':24} {'labels':>6} {'hashes':>6} {'targets':>7} {'hits':>5}  title")
    for case in cases:
        refs = store.references(case.id)
        print(
            f"{case.id:24} {len({r.label for r in refs}):6} {len(refs):6} "
            f"{len(store.targets(case.id)):7} {counts.get(case.id, 0):5}  {case.title}"
        )


def cmd_case_show(args: argparse.Namespace) -> None:
    store = _store(args)
    case = store.get_case(args.case)
    refs = store.references(case.id)
    rule = case.rule
    print(f"case {case.id}: {case.title}")
    print(f"  created {case.created_at}, priority {case.priority}")
    print(
        f"  match rule: PDQ distance <= {rule.pdq_threshold}, pHash distance <= "
        f"{rule.phash_threshold}, PDQ quality >= {rule.min_pdq_quality}; dihedral "
        f"variants {'on' if case.dihedral else 'off'}"
    )
    labels: dict[str, list[Any]] = {}
    for ref in refs:
        labels.setdefault(ref.label, []).append(ref)
    print(f"  references: {len(labels)} ({len(refs)} hashes)")
    for label, rows in labels.items():
        pdq = next((r for r in rows if r.algorithm == "pdq" and r.variant == "original"), None)
        shown = f"pdq {pdq.hash} q{pdq.quality}" if pdq else f"{rows[0].algorithm} {rows[0].hash}"
        print(f"    {label:24} {shown}  ({len(rows)} hashes, from {rows[0].source})")
    targets = store.targets(case.id)
    print(f"  targets: {len(targets)}")
    for t in targets:
        robots = "obeys robots.txt" if t.obey_robots else "IGNORES robots.txt (override)"
        print(
            f"    #{t.id} {t.url}  domains {','.join(t.allowed_domains)}  depth {t.max_depth}"
            f"  pages {t.max_pages}  every {t.interval_seconds}s  {robots}"
            f"  last crawled {t.last_crawled_at or 'never'}"
        )
    print(f"  hits: {len(store.hits(case.id))}")


def cmd_case_add_references(args: argparse.Namespace) -> None:
    from radar.references import hash_reference, image_files

    store = _store(args)
    case = store.get_case(args.case)
    files = image_files(args.paths)
    if args.label and len(files) != 1:
        raise CliError("--label names one reference: give exactly one file with it")
    rows = []
    low_quality = []
    for path in files:
        label = args.label or path.stem
        try:
            refs = hash_reference(case, path, label)
        except (ImageError, VideoError) as exc:
            raise CliError(f"{path}: {exc.kind}: {exc}") from None
        if not case.rule.passes_quality(refs[0].quality):
            low_quality.append(f"{label} (quality {refs[0].quality})")
        rows += refs
    added = store.add_references(case.id, rows)
    print(
        f"added {added} hashes for {len(files)} reference pictures to case {case.id} "
        f"(hashes only: no picture was stored)"
    )
    if low_quality:
        print(
            "warning: below the PDQ quality gate, will not be matched: " + ", ".join(low_quality),
            file=sys.stderr,
        )


def cmd_case_import_hashes(args: argparse.Namespace) -> None:
    from store.hashlists import parse_hash_list

    store = _store(args)
    case = store.get_case(args.case)
    try:
        text = Path(args.file).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise CliError(f"{args.file}: not UTF-8 text") from None
    rows = parse_hash_list(case.id, text, args.format)
    added = store.add_references(case.id, rows)
    print(f"imported {added} new hashes ({len(rows) - added} already known) into case {case.id}")


def cmd_case_add_target(args: argparse.Namespace) -> None:
    from urllib.parse import urlsplit

    store = _store(args)
    host = (urlsplit(args.url).hostname or "").lower()
    domains = tuple(d.lower() for d in (args.allow_domain or [host.removeprefix("www.")]))
    target = store.add_target(
        Target(
            case_id=args.case,
            url=args.url,
            allowed_domains=domains,
            max_depth=args.max_depth,
            max_pages=args.max_pages,
            interval_seconds=args.every,
            obey_robots=not args.ignore_robots,
            pass_gates=args.pass_gates,
        )
    )
    gates = "passes age gates" if target.pass_gates else "stops at age gates"
    print(
        f"added target #{target.id} to case {args.case}: {target.url} "
        f"(domains {', '.join(domains)}; {gates})"
    )


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
            _print_json({"file": name, "error": result})
        else:
            _print_json({"file": name, **result.as_dict()})
    return 1 if failed else 0


def cmd_check(args: argparse.Namespace) -> int:
    store = _store(args)
    case = store.get_case(args.case)
    bank = Bank([case], store.references(case.id), version=store.bank_version())
    failed = 0
    for name, result in _hash_files(args.files):
        if isinstance(result, str):
            failed += 1
            _print_json({"file": name, "error": result, "hits": []})
            continue
        matches = bank.match_image(result)  # exactly what the crawler sends
        _print_json(
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

    store = _store(args)
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
        hit_store = _store(args)
        if args.case:
            hit_store.get_case(args.case)
    hits = hit_store.hits(args.case, args.status, limit=args.limit)
    if args.json:
        for hit in hits:
            _print_json(hit.to_dict())
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


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="radar",
        description="Reupload Radar: finds re-uploads of known images by perceptual hash.",
    )
    p.add_argument(
        "--db",
        default=os.environ.get("RADAR_DB", str(DEFAULT_DB)),
        help="the service store: a SQLite file or a postgresql:// URL "
        "(default: $RADAR_DB or %(default)s)",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log what each stage does")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    case = sub.add_parser("case", help="takedown cases: reference banks and targets")
    cs = case.add_subparsers(dest="case_command", required=True, metavar="ACTION")
    c = cs.add_parser("create", help="create a case")
    c.add_argument("case", help="case id: a short slug such as hotline-2026-0042")
    c.add_argument("--title", default="")
    c.add_argument("--pdq-threshold", type=int, default=DEFAULT_RULE.pdq_threshold)
    c.add_argument("--phash-threshold", type=int, default=DEFAULT_RULE.phash_threshold)
    c.add_argument("--min-quality", type=int, default=DEFAULT_RULE.min_pdq_quality)
    c.add_argument(
        "--no-dihedral",
        action="store_true",
        help="do not add mirrored/rotated variants of each reference",
    )
    c.add_argument("--priority", type=int, default=0)
    c.set_defaults(func=cmd_case_create)
    cs.add_parser("list", help="list cases").set_defaults(func=cmd_case_list)
    c = cs.add_parser("show", help="show a case: rule, references, targets")
    c.add_argument("case")
    c.set_defaults(func=cmd_case_show)
    from radar import export_cli

    export_cli.add_case_commands(cs)
    c = cs.add_parser("add-references", help="hash pictures locally, store their hashes")
    c.add_argument("case")
    c.add_argument("paths", nargs="+", metavar="DIR_OR_FILE")
    c.add_argument("--label", help="label for a single file (default: its file name)")
    c.set_defaults(func=cmd_case_add_references)
    c = cs.add_parser(
        "import-hashes",
        help="import a PDQ/pHash hash list (CSV, JSON or python-threatexchange's 'pdq <hex>')",
    )
    c.add_argument("case")
    c.add_argument("file")
    c.add_argument("--format", choices=FORMATS, default="auto")
    c.set_defaults(func=cmd_case_import_hashes)
    c = cs.add_parser("add-target", help="add a website to crawl for this case")
    c.add_argument("case")
    c.add_argument("url", help="seed URL, http(s)")
    c.add_argument(
        "--allow-domain",
        action="append",
        help="domain whose pages may be followed (repeatable; default: the URL's)",
    )
    c.add_argument("--max-depth", type=int, default=3)
    c.add_argument("--max-pages", type=int, default=200)
    c.add_argument(
        "--every",
        type=parse_duration,
        default=86_400,
        help="re-crawl interval, e.g. 6h, 1d (default 1d)",
    )
    c.add_argument(
        "--ignore-robots",
        action="store_true",
        help="do not obey robots.txt for this target (recorded on the target)",
    )
    from radar.crawl_cli import add_gate_option

    add_gate_option(c)
    c.set_defaults(func=cmd_case_add_target)

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
    c.add_argument(
        "--allow-network",
        action="append",
        metavar="CIDR",
        help="let the crawler reach this private/loopback network (tests, demo)",
    )
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
    from radar.distributed import add_commands

    add_commands(sub)
    from radar import review_cli

    review_cli.add_commands(sub)
    from radar import crawl_cli

    crawl_cli.add_commands(sub)
    return p


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    level = logging.INFO if args.verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in logging.root.handlers:
        handler.setLevel(level)  # libraries that lower their own loggers' level stay quiet
    try:
        code = args.func(args)
    except (CliError, StoreError, ValueError, ImageError) as exc:
        print(f"radar: error: {exc}", file=sys.stderr)
        code = 1
    except OSError as exc:
        print(
            f"radar: error: {exc.filename or ''}: {exc.strerror or exc}".replace(": : ", ": "),
            file=sys.stderr,
        )
        code = 1
    except KeyboardInterrupt:
        code = 130
    sys.exit(code or 0)
