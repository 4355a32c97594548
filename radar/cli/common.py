"""What every command group shares: the store, the one-line user error, durations,
JSON lines and the options several groups take."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

from crawler.storage import CrawlStore

DEFAULT_DB = Path.home() / ".local" / "share" / "reupload-radar" / "radar.db"
_DURATION = re.compile(r"^(\d+)\s*([smhdw]?)$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class CliError(Exception):
    """A user error: printed as one line, exit 1."""


def parse_duration(text: str) -> int:
    """``90``, ``30m``, ``12h``, ``1d``, ``2w`` -> seconds."""
    match = _DURATION.match(text.strip().lower())
    if not match:
        raise argparse.ArgumentTypeError(f"bad duration {text!r} (e.g. 30m, 12h, 1d)")
    return int(match[1]) * _UNITS[match[2]]


def open_store(args: argparse.Namespace) -> CrawlStore:
    """The service store of ``--db`` (``RADAR_DB``): a SQLite file or a PostgreSQL URL."""
    return CrawlStore(args.db)


def print_json(obj: Any) -> None:
    print(json.dumps(obj, sort_keys=True))


def add_allow_network(parser: argparse.ArgumentParser) -> None:
    """``--allow-network CIDR``: the private or loopback networks a crawl may reach."""
    parser.add_argument(
        "--allow-network",
        action="append",
        metavar="CIDR",
        help="let the crawler reach this private/loopback network (tests, demo)",
    )


def add_gate_option(parser: argparse.ArgumentParser) -> None:
    """``--pass-gates`` / ``--no-pass-gates`` (default: the kind's, on for websites)."""
    parser.add_argument(
        "--pass-gates",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="pass age gates and cookie walls (recorded on the target; default: on for "
        "websites, off for other kinds)",
    )
