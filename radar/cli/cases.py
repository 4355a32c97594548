"""``radar case ...``: takedown cases, their reference banks (hashes only) and targets."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from hashing import ImageError, MatchRule
from hashing.video import VideoError
from radar.cli.common import CliError, open_store
from radar.cli.exports import add_case_commands
from radar.cli.watching import add_target_parser
from store import Case
from store.hashlists import FORMATS
from store.models import check_case_id

DEFAULT_RULE = MatchRule()


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
    open_store(args).create_case(case)
    print(f"created case {case.id}")


def cmd_case_list(args: argparse.Namespace) -> None:
    store = open_store(args)
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
    store = open_store(args)
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

    store = open_store(args)
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

    store = open_store(args)
    case = store.get_case(args.case)
    try:
        text = Path(args.file).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise CliError(f"{args.file}: not UTF-8 text") from None
    rows = parse_hash_list(case.id, text, args.format)
    added = store.add_references(case.id, rows)
    print(f"imported {added} new hashes ({len(rows) - added} already known) into case {case.id}")


def add_commands(sub: Any) -> None:
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
    add_case_commands(cs)
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
    add_target_parser(
        cs, "add-target", "add a target to this case: the same command as `radar target add`"
    )
