"""Commands of the distributed mode: local servers, topics, the bank topic, seeding the
crawl frontier (:mod:`radar.distributed`), and the crawler and matcher roles."""

from __future__ import annotations

import argparse
import logging
import os
from typing import Any

from crawler.storage import CrawlStore
from radar.distributed import publish_bank, seed_frontier

log = logging.getLogger(__name__)


def cmd_up(args: argparse.Namespace) -> None:
    import shlex

    from devservers import servers
    from store.db import display, upgrade

    with_postgres = not (args.kafka_only or args.elasticsearch_only or args.no_postgres)
    found = servers.up(
        kafka=not args.elasticsearch_only,
        elasticsearch=not args.kafka_only,
        postgres=with_postgres,
    )
    exports = [
        f"RADAR_KAFKA_BOOTSTRAP={found.kafka_bootstrap}",
        f"RADAR_ES_URL={found.elasticsearch_url}",
    ]
    pg = ""
    if with_postgres and found.postgres_url:
        upgrade(found.postgres_url)  # the service store's schema, as the migrations job does
        exports.append(f"RADAR_DB={shlex.quote(found.postgres_url)}")
        pg = f"  postgresql {display(found.postgres_url)}"
    if not args.print_env:
        print(f"kafka {found.kafka_bootstrap}  elasticsearch {found.elasticsearch_url}{pg}")
    print("export " + " ".join(exports))


def cmd_down(args: argparse.Namespace) -> None:
    from devservers import servers

    servers.down()
    print("local servers stopped")


def cmd_status(args: argparse.Namespace) -> None:
    import json

    from devservers import servers

    print(json.dumps(servers.status(), indent=2, sort_keys=True, default=str))


def cmd_topics(args: argparse.Namespace) -> None:
    from bus.kafka import KafkaSettings, ensure_topics
    from wire import ALL_TOPICS, COMPACTED_TOPICS

    created = ensure_topics(KafkaSettings.from_env(), ALL_TOPICS, args.partitions, COMPACTED_TOPICS)
    print(f"topics created: {', '.join(created) or 'none (all exist)'}")


def cmd_bank_sync(args: argparse.Namespace) -> None:
    from bus.kafka import KafkaBus, KafkaSettings

    store = CrawlStore(args.db)
    case_ids = args.cases or [c.id for c in store.list_cases()]
    bus = KafkaBus(KafkaSettings.from_env())
    try:
        n = publish_bank(store, case_ids, bus)
    finally:
        bus.close()
    print(f"published {n} bank entries for {len(case_ids)} cases to every matcher")


def cmd_seed(args: argparse.Namespace) -> int:
    from bus.kafka import KafkaBus, KafkaSettings

    kafka = KafkaSettings.from_env()
    store = CrawlStore(args.db)
    bus = KafkaBus(kafka)
    try:
        rounds = seed_frontier(store, args.case, bus, args.target or [])
    finally:
        bus.close()
    if not rounds:
        raise ValueError(f"case {args.case} has no targets to crawl (radar case add-target)")
    print(f"queued {len(rounds)} targets of case {args.case} on the crawl frontier")
    if not args.wait:
        return 0
    from radar.rounds import print_round_report, wait_for_rounds
    from store.elastic import ElasticHitStore, ElasticSettings

    matchers = os.environ.get("RADAR_MATCHER_GROUP", "radar-matchers")
    outcome = wait_for_rounds(store, kafka, matchers, rounds, timeout=args.timeout)
    hits = ElasticHitStore(ElasticSettings.from_env())
    hits.refresh()
    return print_round_report(outcome, store, hits.hits(args.case, limit=10_000))


def cmd_crawler(args: argparse.Namespace) -> None:
    from crawler.service import main

    main()


def cmd_matcher(args: argparse.Namespace) -> None:
    from matcher.service import main

    main()


def add_commands(sub: Any) -> None:
    c = sub.add_parser(
        "up",
        help="download if needed and start local Kafka, Elasticsearch and PostgreSQL "
        "(its schema migrated)",
    )
    c.add_argument("--kafka-only", action="store_true")
    c.add_argument("--elasticsearch-only", action="store_true")
    c.add_argument("--no-postgres", action="store_true", help="leave PostgreSQL alone")
    c.add_argument(
        "--print-env",
        action="store_true",
        help='print only the export line: eval "$(radar up --print-env)"',
    )
    c.set_defaults(func=cmd_up)
    sub.add_parser("down", help="stop the local servers").set_defaults(func=cmd_down)
    sub.add_parser("status", help="state of the local servers").set_defaults(func=cmd_status)
    c = sub.add_parser("topics", help="create the Kafka topics (idempotent)")
    c.add_argument(
        "--partitions",
        type=int,
        default=6,
        help="partitions per topic: the most replicas of a role that can share work",
    )
    c.set_defaults(func=cmd_topics)
    c = sub.add_parser("bank-sync", help="publish cases and reference hashes to every matcher")
    c.add_argument("cases", nargs="*", metavar="CASE", help="default: every case")
    c.set_defaults(func=cmd_bank_sync)
    c = sub.add_parser("seed", help="queue a case's targets on the distributed crawl frontier")
    c.add_argument("case")
    c.add_argument("--target", type=int, action="append", help="only this target id")
    c.add_argument(
        "--wait",
        action="store_true",
        help="block until every page of the round is crawled and every image record it "
        "published is matched and stored, then print the round's report per target "
        "(needs crawlers with RADAR_DB)",
    )
    c.add_argument(
        "--timeout",
        type=float,
        default=3600.0,
        help="with --wait: give up after this many seconds (exit status 1; default 3600)",
    )
    c.set_defaults(func=cmd_seed)
    sub.add_parser("crawler", help="run a frontier crawler (Kafka)").set_defaults(func=cmd_crawler)
    sub.add_parser("matcher", help="run a matcher (Kafka -> Elasticsearch)").set_defaults(
        func=cmd_matcher
    )
