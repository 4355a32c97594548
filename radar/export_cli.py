"""``radar case export``: a case's hashes as a file to share, under opaque reference
ids, never labels (:mod:`store.hashlists`)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from store import SqlStore
from store.hashlists import (
    EXPORT_FORMATS,
    case_export,
    export_rows,
    write_csv,
    write_te,
)


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
