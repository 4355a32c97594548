"""``radar``: the command line of Reupload Radar, a package of command groups.

Every command opens the service store (``--db``, env ``RADAR_DB``: a SQLite file, the
embedded default, or a ``postgresql://`` URL), does one thing and
exits 0; bad input gives one line ``radar: error: ...`` on stderr, exit 1 (2 for usage
errors), and leaves stored data unchanged. Each group registers its commands
(``add_commands``): :mod:`radar.cli.cases`, :mod:`radar.cli.local`,
:mod:`radar.cli.watching`, :mod:`radar.cli.distributed`, :mod:`radar.cli.review`
(:mod:`radar.cli.exports` under ``case``); what they share is :mod:`radar.cli.common`.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from hashing import ImageError
from radar.cli import cases, distributed, local, review, watching
from radar.cli.common import DEFAULT_DB, CliError, parse_duration
from store import StoreError

GROUPS = (cases, local, distributed, review, watching)


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

    for group in GROUPS:
        group.add_commands(sub)
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


__all__ = ["CliError", "build_parser", "main", "parse_duration"]
