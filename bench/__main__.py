"""``python -m bench [--quick] [--only NAME ...] [--out DIR]``: run the benchmarks, write
``latest.json`` (the records), ``latest.md`` (the tables) and the PNG plots into DIR
(default ``bench/results``). ``--quick`` is the seconds-long smoke run ``make test`` uses;
its figures mean nothing, only their shape is checked. With ``--only``, the other
benchmarks' records already in DIR's ``latest.json`` are kept."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

from bench import end_to_end, hashing_speed, local, matching, quality, scale, video
from bench.plots import qps_plot, recall_plot
from bench.report import markdown

BENCHES = {
    "quality": quality.run,
    "matching": matching.run,
    "hashing": hashing_speed.run,
    "end_to_end": end_to_end.run,
    "video": video.run,
    "local": local.run,
    "scale": scale.run,
}
RESULTS = Path(__file__).resolve().parent / "results"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="seconds-long smoke run")
    parser.add_argument("--only", nargs="+", choices=sorted(BENCHES), help="run only these")
    parser.add_argument("--out", type=Path, default=RESULTS, help="output folder")
    parser.add_argument(
        "--report-only", action="store_true", help="redo tables and plots from DIR's JSON"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    args.out.mkdir(parents=True, exist_ok=True)
    from bench.common import Record

    records = []
    latest = args.out / "latest.json"
    if args.only and latest.exists():
        kept = [r for r in json.loads(latest.read_text()) if r["bench"] not in args.only]
        records += [Record(**r) for r in kept]
    if args.report_only:
        records = [Record(**r) for r in json.loads(latest.read_text())]
    for name in [] if args.report_only else args.only or list(BENCHES):
        started = time.monotonic()
        print(f"bench: {name} ...", file=sys.stderr, flush=True)
        records += BENCHES[name](args.quick, args.out)
        print(f"bench: {name} done in {time.monotonic() - started:.0f}s", file=sys.stderr)
    records.sort(key=lambda r: list(BENCHES).index(r.bench))
    (args.out / "latest.json").write_text(
        json.dumps([r.as_dict() for r in records], indent=1) + "\n"
    )
    plots = [p for p in (recall_plot(args.out), qps_plot(args.out)) if p is not None]
    (args.out / "latest.md").write_text(markdown(records, args.out, quick=args.quick))
    print(f"bench: {len(records)} records, {len(plots)} plots -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
