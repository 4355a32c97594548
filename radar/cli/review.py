"""Commands of the review web app: ``radar review`` serves it, ``radar users ...``
manages its accounts, ``radar notices recheck`` runs one round of re-checks and
follow-ups (for cron, when the app's own scheduler is off). Registered by
:mod:`radar.cli`."""

from __future__ import annotations

import argparse
import getpass
import os
import secrets
import sys
from pathlib import Path
from typing import Any


def _services(args: argparse.Namespace, **overrides: Any) -> Any:
    from review.services import Services
    from review.settings import ReviewSettings

    settings = ReviewSettings.from_env(args.db, **overrides)
    hit_store = None
    if getattr(args, "elasticsearch", False):
        from store.elastic import ElasticHitStore, ElasticSettings

        elastic = ElasticSettings.from_env()
        hit_store = lambda: ElasticHitStore(elastic)  # noqa: E731
    return settings, Services(settings, hit_store)


def cmd_review(args: argparse.Namespace) -> None:
    import uvicorn

    from review.app import create_app

    overrides: dict[str, Any] = {"scheduler_minutes": args.recheck_minutes}
    if args.allow_network:
        overrides["allowed_networks"] = tuple(args.allow_network)
    stack: list[Any] = []
    if args.demo:
        from radar.review_demo import make_users, prepare_demo, start_outbox

        workdir = Path(args.workdir)
        print(f"review demo: crawling the demo site into {workdir} ...", file=sys.stderr)
        server, args.db = prepare_demo(workdir, args.images)
        controller, _ = start_outbox(workdir / "outbox")
        stack += [server.stop, controller.stop]
        os.environ.setdefault("RADAR_SMTP_HOST", "127.0.0.1")
        os.environ["RADAR_SMTP_PORT"] = str(controller.port)
        overrides.update(secret_key=secrets.token_urlsafe(48), allowed_networks=("127.0.0.1/32",))
        users = make_users(
            args.db,
            {
                "analyst": ("analyst",),
                "analyst2": ("analyst",),
                "legal": ("legal",),
                "admin": ("admin",),
            },
        )
        print("review demo: sign in as (user / password):")
        for name, password in users.items():
            print(f"  {name:9} {password}")
        print(f"review demo: sent notices land in {workdir / 'outbox'}")
    settings, services = _services(args, **overrides)
    app = create_app(settings, services)
    print(f"review app on http://{args.host}:{args.port}/ (Ctrl-C to stop)")
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    finally:
        for stop in stack:
            stop()


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("password (12+ characters): ")
    if getpass.getpass("again: ") != first:
        raise ValueError("the passwords differ")
    return first


def cmd_users_add(args: argparse.Namespace) -> None:
    from review.auth import hash_password
    from review.storage import SqlReviewStore, User
    from wire import utc_now

    store = SqlReviewStore(args.db)
    user = store.add_user(
        User(
            args.username,
            args.name or args.username,
            args.email or "",
            frozenset(args.role),
            hash_password(_read_password(args)),
            created_at=utc_now(),
        )
    )
    print(f"added user {user.username} ({', '.join(sorted(user.roles))})")


def cmd_users_list(args: argparse.Namespace) -> None:
    from review.storage import SqlReviewStore

    users = SqlReviewStore(args.db).list_users()
    if not users:
        print("no users yet: radar users add NAME --role admin")
    for u in users:
        state = "active" if u.active else "disabled"
        print(f"{u.username:20} {','.join(sorted(u.roles)):22} {state:8} {u.email}")


def cmd_users_set(args: argparse.Namespace) -> None:
    from review.auth import hash_password
    from review.storage import SqlReviewStore

    store = SqlReviewStore(args.db)
    changes: dict[str, Any] = {}
    if args.role:
        changes["roles"] = frozenset(args.role)
    if args.disable or args.enable:
        changes["active"] = bool(args.enable)
    if args.password:
        changes["password_hash"] = hash_password(_read_password(args))
    if not changes:
        raise ValueError("nothing to change: give --role, --disable, --enable or --password")
    user = store.update_user(args.username, **changes)
    if not user.active or args.password:
        store.delete_sessions_of(user.id)
    print(f"changed user {user.username}")


def cmd_notices_recheck(args: argparse.Namespace) -> None:
    from notices.tracking import Policy
    from review.queue import settings as review_settings

    _, services = _services(args, secret_key=secrets.token_urlsafe(48))
    if args.through_crawler:
        from radar.recheck import CrawlRechecker

        services.rechecker = CrawlRechecker(
            args.db, args.allow_network or (), elasticsearch=args.elasticsearch
        )
    elif args.allow_network:
        from notices.fetch import Fetcher
        from notices.recheck import HttpRechecker

        services.rechecker = HttpRechecker(Fetcher.with_networks(args.allow_network))
    policy = Policy.from_settings(review_settings(services))
    if args.all:
        summary = services.desk.recheck(services.rechecker, "cli")
    else:
        found = services.notice_round(policy)
        if found is None:
            raise ValueError("another process (a review replica) is running the notice round now")
        summary = found
    for url, detail in summary.failures:
        print(f"error {url}: {detail}")
    print(
        f"re-checked {summary.checked} URLs: {summary.removed} newly gone, "
        f"{summary.reappeared} back online, {summary.errors} without answer; "
        f"{len(summary.reminders)} reminders, {len(summary.escalations)} escalations"
    )


def add_commands(sub: Any) -> None:
    c = sub.add_parser("review", help="serve the review and notices web app")
    c.add_argument("--host", default="127.0.0.1")
    c.add_argument("--port", type=int, default=8080)
    c.add_argument("--demo", action="store_true", help="crawl the demo site and serve it")
    c.add_argument("--workdir", default="review-demo", help="where --demo keeps its store")
    c.add_argument("--images", help="folder of benign photos for --demo")
    c.add_argument("--elasticsearch", action="store_true", help="hits from RADAR_ES_URL")
    c.add_argument(
        "--allow-network",
        action="append",
        metavar="CIDR",
        help="let the image proxy and re-checks reach this private network (tests)",
    )
    c.add_argument(
        "--recheck-minutes",
        type=float,
        default=15.0,
        help="run due re-checks every N minutes (0: off)",
    )
    c.set_defaults(func=cmd_review)

    users = sub.add_parser("users", help="accounts of the review web app")
    us = users.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    c = us.add_parser("add", help="add a user (password from the terminal or stdin)")
    c.add_argument("username")
    c.add_argument("--role", action="append", required=True, choices=("analyst", "legal", "admin"))
    c.add_argument("--name", default="")
    c.add_argument("--email", default="")
    c.add_argument("--password-stdin", action="store_true")
    c.set_defaults(func=cmd_users_add)
    us.add_parser("list", help="list users").set_defaults(func=cmd_users_list)
    c = us.add_parser("set", help="change roles, disable/enable, or set a new password")
    c.add_argument("username")
    c.add_argument("--role", action="append", choices=("analyst", "legal", "admin"))
    c.add_argument("--disable", action="store_true")
    c.add_argument("--enable", action="store_true")
    c.add_argument("--password", action="store_true")
    c.add_argument("--password-stdin", action="store_true")
    c.set_defaults(func=cmd_users_set)

    notices = sub.add_parser("notices", help="removal notices")
    ns = notices.add_subparsers(dest="notices_command", required=True, metavar="ACTION")
    c = ns.add_parser("recheck", help="re-check noticed URLs; remind and escalate when due")
    c.add_argument("--all", action="store_true", help="re-check every tracked URL now")
    c.add_argument("--elasticsearch", action="store_true")
    c.add_argument("--allow-network", action="append", metavar="CIDR")
    c.add_argument(
        "--through-crawler",
        action="store_true",
        help="fetch, hash and match each URL against its case as `radar recheck` does (a "
        "re-encoded copy is still there) instead of comparing its bytes",
    )
    c.set_defaults(func=cmd_notices_recheck)
