"""Watching places over time: ``radar target ...`` (the one ``target add``), the schedule,
the long-running scheduler, re-checks and evidence."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from datetime import UTC, datetime
from typing import Any

from crawler.storage import CrawlStore
from radar.cli.common import add_allow_network, add_gate_option, open_store, parse_duration
from radar.report import printable
from store import StoreError, Target
from store.models import RENDER_MODES, TARGET_KINDS


def _describe(t: Target) -> str:
    from radar.schedule import next_due, stamp

    due = next_due(t)
    when = "paused" if due is None else "now" if due.year == 1 else stamp(due)
    return (
        f"#{t.id} {t.case_id:18} {t.kind:8} {t.render:7} {'gates' if t.pass_gates else 'no-gates'} "
        f"every {t.interval_seconds}s  "
        f"next {when}  last {t.last_crawled_at or 'never'}  {t.url}"
    )


def cmd_target_add(args: argparse.Namespace) -> None:
    from urllib.parse import urlsplit

    from crawler.channel import preview_url

    store = open_store(args)
    url = preview_url(args.url) if args.kind == "telegram" else args.url
    host = (urlsplit(url).hostname or "").lower()
    domains = tuple(d.lower() for d in (args.allow_domain or [host.removeprefix("www.")]))
    target = store.add_target(
        Target(
            case_id=args.case,
            url=url,
            allowed_domains=domains,
            max_depth=args.max_depth,
            max_pages=args.max_pages,
            interval_seconds=args.every,
            obey_robots=not args.ignore_robots,
            kind=args.kind,
            render=args.render,
            pass_gates=args.pass_gates,
        )
    )
    gates = "passes age gates" if target.pass_gates else "stops at age gates"
    print(
        f"added target #{target.id} to case {target.case_id}: {target.url} ({target.kind}, "
        f"{target.render}; domains {', '.join(domains)}; {gates}; every "
        f"{target.interval_seconds}s)"
    )


def add_target_parser(actions: Any, name: str, help: str) -> None:
    """The one ``target add`` (``radar target add``, and ``radar case add-target`` for
    scripts written before it): the same arguments, the same command."""
    c = actions.add_parser(name, help=help)
    c.add_argument("case")
    c.add_argument("url", help="seed URL; for telegram https://t.me/s/NAME or https://t.me/NAME")
    c.add_argument("--kind", choices=TARGET_KINDS, default="website")
    c.add_argument("--render", choices=RENDER_MODES, default="http", help="browser: run JavaScript")
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
    add_gate_option(c)
    c.set_defaults(func=cmd_target_add)


def cmd_target_list(args: argparse.Namespace) -> None:
    store = open_store(args)
    targets = store.targets(args.case) if args.case else store.all_targets()
    if not targets:
        print("no targets")
    for target in targets:
        print(_describe(target))


def cmd_target_enable(args: argparse.Namespace) -> None:
    target = open_store(args).set_target_enabled(args.target, args.enable)
    print(f"{'resumed' if args.enable else 'paused'} {_describe(target)}")


def cmd_schedule_list(args: argparse.Namespace) -> None:
    from radar.schedule import due_targets

    store = open_store(args)
    targets = store.all_targets()
    due = {t.id for t in due_targets(targets, datetime.now(UTC))}
    for target in targets:
        print(("DUE " if target.id in due else "    ") + _describe(target))
    print(f"{len(due)} of {len(targets)} targets due now")


def _mode(args: argparse.Namespace) -> str:
    """``--mode``, by default distributed when RADAR_KAFKA_BOOTSTRAP is set."""
    return str(
        args.mode or ("distributed" if os.environ.get("RADAR_KAFKA_BOOTSTRAP") else "embedded")
    )


def _mode_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--mode",
        choices=("embedded", "distributed"),
        help="crawl due targets here, or seed them on the Kafka crawl frontier for the "
        "crawlers (default: distributed when RADAR_KAFKA_BOOTSTRAP is set)",
    )


def cmd_schedule_run(args: argparse.Namespace) -> int:
    from radar.report import crawl_exit_status
    from radar.schedule import run_due

    store = open_store(args)
    if _mode(args) == "distributed":
        from bus.kafka import KafkaBus, KafkaSettings
        from radar.distributed import seed_due

        bus = KafkaBus(KafkaSettings.from_env())
        try:
            seeded = seed_due(store, bus, datetime.now(UTC), max_targets=args.max_targets)
        finally:
            bus.close()
        claimed = seeded.claimed or []
        print(f"seeded {len(claimed)} of {seeded.due} due targets on the crawl frontier")
        return 0
    done = run_due(
        store,
        tuple(args.allow_network or ()),
        max_targets=args.max_targets,
        progress=None if args.quiet else sys.stderr,
        log_level="INFO" if args.verbose else "WARNING",
    )
    if done.run is None:
        print(f"nothing to crawl: {done.due} targets due, none free to claim")
        return 0
    return crawl_exit_status(done.run, done.claimed or [])


def cmd_scheduler(args: argparse.Namespace) -> None:
    from radar.schedule import Scheduler

    kafka = None
    if _mode(args) == "distributed":
        from bus.kafka import KafkaSettings

        kafka = KafkaSettings.from_env()
    scheduler = Scheduler(args.db, args.allow_network or (), poll_seconds=args.poll, kafka=kafka)
    signal.signal(signal.SIGTERM, scheduler.stop)
    signal.signal(signal.SIGINT, scheduler.stop)
    what = "seeding the crawl frontier" if kafka else "crawling here"
    print(f"scheduler: watching {args.db}, {what} (every {args.poll:.0f}s at most)", flush=True)
    scheduler.run()
    print(f"scheduler: stopped after {scheduler.rounds} rounds")


def cmd_recheck(args: argparse.Namespace) -> int:
    from radar.recheck import recheck_in_process

    hits = None
    if args.elasticsearch:  # the distributed mode: sightings of its hits in Elasticsearch
        from store.elastic import ElasticHitStore, ElasticSettings

        hits = ElasticHitStore(ElasticSettings.from_env())
    results = recheck_in_process(
        open_store(args), args.urls, args.case, tuple(args.allow_network or ()), hits=hits
    )
    for r in results:
        if args.json:
            print(json.dumps(r.to_dict(), sort_keys=True))
        else:
            print(f"{r.status:12} {r.url}  ({r.detail}; checked {r.checked_at})")
    return 0


def _evidence_rows(store: CrawlStore, key: str, hits: Any) -> list[Any]:
    """The sightings of a hit (its id, looked up in ``hits``) or of an image URL."""
    if key.startswith(("http://", "https://")):
        return store.evidence(image_url=key)
    try:
        hit, _version = hits.get_hit(key)
    except StoreError:
        raise StoreError(f"no hit {key!r} (give a hit id or an image URL)") from None
    return store.evidence(image_url=hit.image_url, case_id=hit.case_id)


def cmd_evidence(args: argparse.Namespace) -> None:
    store = open_store(args)
    hits: Any = store
    if args.elasticsearch:  # the distributed mode: hits in Elasticsearch, evidence here
        from store.elastic import ElasticHitStore, ElasticSettings

        hits = ElasticHitStore(ElasticSettings.from_env())
    rows = _evidence_rows(store, args.hit, hits)
    if args.html:
        if not rows or not rows[0].page_sha256:
            raise StoreError("no page snapshot kept for this hit")
        snapshot = store.page_snapshot(rows[0].page_sha256)
        if snapshot is None:
            raise StoreError("the page was unchanged (HTTP 304) and its snapshot not kept")
        sys.stdout.write(snapshot.html)
        return
    for e in rows:
        if args.json:
            print(json.dumps(e.to_dict(), sort_keys=True))
            continue
        # Hosts choose their URLs, headers and titles: escape them for the terminal
        print(f"sighting {e.fetched_at}  HTTP {e.http_status}  sha256 {e.content_sha256}")
        print(f"  image      {printable(e.image_url)}")
        if e.fetched_url != e.image_url:
            print(f"  fetched    {printable(e.fetched_url)}")
        for hop in e.redirects:
            print(f"  redirected {printable(hop)}")
        print(f"  final URL  {printable(e.final_url)}")
        print(
            f"  page       {printable(e.page_url)}  (HTTP {e.page_status}, title {e.page_title!r})"
        )
        rendered = ", rendered by a browser" if e.rendered else ""
        print(f"  page HTML  sha256 {e.page_sha256 or '(not kept)'}{rendered}")
        for name, value in sorted(e.headers.items()):
            print(f"  header     {printable(name)}: {printable(value)}")
    if not rows:
        print("no evidence kept for this hit")


def add_commands(sub: Any) -> None:
    target = sub.add_parser("target", help="places to watch: websites, channels, feeds, sitemaps")
    ts = target.add_subparsers(dest="target_command", required=True, metavar="ACTION")
    add_target_parser(ts, "add", "add a target of any kind to a case")
    c = ts.add_parser("list", help="list targets and when each is next due")
    c.add_argument("--case")
    c.set_defaults(func=cmd_target_list)
    for name, enable in (("pause", False), ("resume", True)):
        c = ts.add_parser(name, help=f"{name} a target's schedule")
        c.add_argument("target", type=int)
        c.set_defaults(func=cmd_target_enable, enable=enable)

    schedule = sub.add_parser("schedule", help="crawl what is due")
    ss = schedule.add_subparsers(dest="schedule_command", required=True, metavar="ACTION")
    ss.add_parser("list", help="every target and whether it is due").set_defaults(
        func=cmd_schedule_list
    )
    c = ss.add_parser("run", help="crawl every due target once, now")
    c.add_argument("--max-targets", type=int, default=50)
    c.add_argument("-q", "--quiet", action="store_true", help="no progress line")
    _mode_option(c)
    add_allow_network(c)
    c.set_defaults(func=cmd_schedule_run)
    c = sub.add_parser("scheduler", help="run due crawls forever (stops on SIGTERM)")
    c.add_argument("--poll", type=float, default=60.0, help="longest sleep between checks (s)")
    _mode_option(c)
    add_allow_network(c)
    c.set_defaults(func=cmd_scheduler)

    c = sub.add_parser("recheck", help="is the picture at these URLs still there?")
    c.add_argument("urls", nargs="+", metavar="URL", help="an image or page URL of a hit")
    c.add_argument("--case", help="the case (default: the case of the URL's hits)")
    c.add_argument("--json", action="store_true", help="one JSON object per URL")
    c.add_argument(
        "--elasticsearch",
        action="store_true",
        help="the hits of the distributed mode (RADAR_ES_URL): find the URL's case there "
        "and record the sighting there",
    )
    add_allow_network(c)
    c.set_defaults(func=cmd_recheck)
    c = sub.add_parser("evidence", help="what was where, and when: a hit's sightings")
    c.add_argument("hit", help="a hit id or an image URL")
    c.add_argument("--json", action="store_true")
    c.add_argument("--html", action="store_true", help="print the latest page snapshot")
    c.add_argument(
        "--elasticsearch",
        action="store_true",
        help="look the hit id up in the distributed mode's hits (RADAR_ES_URL)",
    )
    c.set_defaults(func=cmd_evidence)
