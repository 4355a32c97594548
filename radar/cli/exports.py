"""``radar case export``, ``export-hits`` and ``export-notices``: a case's hashes, hits
and notices as files to share, under opaque reference ids, never labels
(:mod:`store.hashlists`, :mod:`notices.exports`)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from notices.exports import (
    hit_dicts,
    notice_dicts,
    write_hits_csv,
    write_json,
    write_notices_csv,
)
from notices.storage import SqlNoticeStore
from store import SqlStore
from store.hashlists import (
    EXPORT_FORMATS,
    case_export,
    export_rows,
    reference_ids,
    write_csv,
    write_te,
)
from store.hitquery import HitQuery


@contextmanager
def _output(path: str | None) -> Iterator[TextIO]:
    """The file at ``path`` (written, closed after), or standard output."""
    if not path:
        yield sys.stdout
        return
    with open(path, "w", newline="", encoding="utf-8") as out:
        yield out


def cmd_case_export(args: argparse.Namespace) -> None:
    store = SqlStore(args.db)
    case = store.get_case(args.case)
    rows = export_rows(store.references(case.id), variants=args.variants)
    with _output(args.output) as out:
        if args.format == "json":
            document = case_export(case, rows, store.targets(case.id))
            json.dump(document, out, indent=2, sort_keys=True)
            out.write("\n")
        elif args.format == "te":
            written = write_te(rows, out)
            left_out = {r.reference for r in rows} - {
                r.reference for r in rows if r.algorithm == "pdq"
            }
            if left_out:
                print(
                    f"note: {len(left_out)} references without a PDQ hash left out "
                    f"(python-threatexchange has no pHash); {written} lines written",
                    file=sys.stderr,
                )
        else:
            write_csv(rows, out)


def cmd_case_export_hits(args: argparse.Namespace) -> None:
    store = SqlStore(args.db)
    case = store.get_case(args.case)
    ids = reference_ids(store.references(case.id))
    if args.elasticsearch:  # the distributed mode's hits; the case and its ids stay here
        from store.elastic import ElasticHitStore, ElasticSettings

        hits = list(ElasticHitStore(ElasticSettings.from_env()).case_hits(case.id))
    else:
        count = store.count_hits(HitQuery(case_ids=(case.id,), limit=0))
        hits = store.hits(case.id, limit=max(count, 1))
    rows = hit_dicts(hits, ids)
    with _output(args.output) as out:
        if args.format == "json":
            write_json(case.id, "hits", rows, out)
        else:
            write_hits_csv(rows, out)


def cmd_case_export_notices(args: argparse.Namespace) -> None:
    store = SqlStore(args.db)
    case = store.get_case(args.case)
    ids = reference_ids(store.references(case.id))
    rows = notice_dicts(SqlNoticeStore(args.db).notices(), case.id, ids)
    with _output(args.output) as out:
        if args.format == "json":
            write_json(case.id, "notices", rows, out)
        else:
            write_notices_csv(rows, out)


def add_case_commands(cs: Any) -> None:
    """The export actions of ``radar case``."""
    c = cs.add_parser(
        "export",
        help="export a case's hashes to share with other hotlines: opaque reference ids "
        "(ref-N), never labels",
    )
    c.add_argument("case")
    c.add_argument(
        "--format",
        choices=EXPORT_FORMATS,
        default="json",
        help="te: python-threatexchange's signal file ('pdq <hex>' lines, PDQ only)",
    )
    c.add_argument(
        "--variants",
        action="store_true",
        help="every variant hash (default: one hash per reference, its original's PDQ)",
    )
    c.add_argument("-o", "--output", help="file to write (default: standard output)")
    c.set_defaults(func=cmd_case_export)
    for name, func, what in (
        ("export-hits", cmd_case_export_hits, "hits: URLs, match evidence, review status"),
        ("export-notices", cmd_case_export_notices, "notices: host, regime, status, URLs"),
    ):
        c = cs.add_parser(name, help=f"export a case's {what} (no labels, no images)")
        c.add_argument("case")
        c.add_argument("--format", choices=("csv", "json"), default="json")
        c.add_argument("-o", "--output", help="file to write (default: standard output)")
        if name == "export-hits":
            c.add_argument(
                "--elasticsearch",
                action="store_true",
                help="the hits of the distributed mode (RADAR_ES_URL)",
            )
        c.set_defaults(func=func)
