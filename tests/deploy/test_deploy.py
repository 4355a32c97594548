"""``make deploy-test``: the image built with podman, k8s/overlays/local played with
``podman kube play`` against the local Kafka, Elasticsearch and PostgreSQL, and driven
end to end as its users would (issue 11): a case with a Telegram-shaped channel, a
JavaScript gallery and a feed; the scheduler seeds; two crawlers and two matchers find
every planted copy while one of each is SIGKILLed mid-round (nothing lost, nothing
counted twice); two analysts confirm through the review Service; a lawyer drafts a
notice and renders its PDF; every role's /metrics answers and the figures moved.
Fails, never skips, when podman or a server cannot start."""

from __future__ import annotations

import io
import re
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from devservers import servers as local_servers
from radar.demo.places import channel, js_gallery
from radar.demo.run import _other_places
from radar.demo.site import DemoServer, DemoSite, Planted, find_photos
from store.elastic import ElasticHitStore, ElasticSettings
from tests.conftest import _pg_admin
from tests.deploy.conftest import PLAY
from tests.integration.stack import wait_until

PASSWORD = "deploy-test-passphrase-1"


def feed(references: list[Path], unrelated: list[Path]) -> DemoSite:
    """An RSS feed whose items carry JPEG re-encodes of the references as enclosures,
    and one unrelated photo."""
    files: dict[str, tuple[str, bytes]] = {}
    planted, items = [], []
    for i, photo in enumerate([*references, *unrelated]):
        out = io.BytesIO()
        picture = Image.open(photo).convert("RGB")
        picture.thumbnail((640, 640))
        picture.save(out, "JPEG", quality=70)
        path = f"/media/item{i}.jpg"
        files[path] = ("image/jpeg", out.getvalue())
        items.append(
            f"<item><title>post {i}</title><link>/post/{i}</link>"
            f'<enclosure url="{path}" type="image/jpeg" length="{len(out.getvalue())}"/></item>'
        )
        if i < len(references):
            planted.append(Planted(path, photo.stem, "jpeg70", "/feed.xml", "enclosure"))
    rss = f'<?xml version="1.0"?><rss version="2.0"><channel><title>f</title>{"".join(items)}'
    files["/feed.xml"] = ("application/rss+xml", (rss + "</channel></rss>").encode())
    return DemoSite(files, planted, [f"/media/item{len(references)}.jpg"], {})


@pytest.fixture(scope="module")
def servers() -> local_servers.Servers:
    try:
        return local_servers.up()
    except local_servers.ServersError as exc:
        pytest.fail(f"local servers did not start: {exc}", pytrace=False)


@pytest.fixture(scope="module")
def database(servers: local_servers.Servers) -> Iterator[str]:
    """An empty database: the migrations Job of the overlay creates the schema."""
    name = f"radar_deploy_{uuid.uuid4().hex[:10]}"
    with _pg_admin() as admin:
        admin.execute(f"CREATE DATABASE {name}")
    yield local_servers.postgres_url(database=name)
    with _pg_admin() as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def signed_in(base: str, username: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=base, timeout=60)
    answer = client.post("/login", data={"username": username, "password": PASSWORD})
    assert answer.status_code == 303, answer.text[-2000:]
    found = re.search(r'name="csrf" value="([^"]+)"', client.get("/prefs").text)
    assert found, "no CSRF token on /prefs"
    return client, found[1]


def metrics(port: int) -> dict[str, float]:
    """Every sample of a role's /metrics, by its name and labels."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


def test_the_local_overlay_runs_the_whole_mission(
    shared_images: Path, servers: local_servers.Servers, database: str, tmp_path: Path
) -> None:
    photos = find_photos(shared_images)
    refs, others = photos[:6], photos[6:]
    places = {
        "channel": channel(refs[:3], others[:10]),
        "js_gallery": js_gallery(refs[3:], others[10:]),
        "feed": feed(refs[::2], others[20:21]),
    }
    run = uuid.uuid4().hex[:8]
    config = {
        "RADAR_KAFKA_BOOTSTRAP": servers.kafka_bootstrap,
        "RADAR_ES_URL": servers.elasticsearch_url,
        "RADAR_KAFKA_NAMESPACE": f"deploy-{run}.",
        "RADAR_ES_PREFIX": f"deploy-{run}",
        "RADAR_CRAWLER_GROUP": f"crawlers-{run}",
        "RADAR_MATCHER_GROUP": f"matchers-{run}",
        # the fixture sites are on loopback: only a test opens it to the crawlers
        "RADAR_ALLOWED_NETWORKS": "127.0.0.1/32",
    }
    cluster = PLAY.LocalCluster(
        config=config, secrets={"radar-db/url": database}, workdir=tmp_path / "play"
    )
    with (
        cluster,
        DemoServer(places["channel"]) as chan,
        DemoServer(places["js_gallery"]) as gallery,
        DemoServer(places["feed"]) as rss,
    ):
        assert len(cluster.replicas_of("radar-crawler")) == 2
        assert len(cluster.replicas_of("radar-matcher")) == 2
        assert len(cluster.replicas_of("radar-review")) == 2
        [review, *_] = cluster.replicas_of("radar-review")

        def radar(*args: str, stdin: str | None = None) -> str:
            done = cluster.exec(review, "radar", *args, input=stdin)
            assert done.returncode == 0, f"radar {' '.join(args)}: {done.stderr[-3000:]}"
            return done.stdout

        # An operator's setup, as `kubectl exec` into the review pod: the case, its
        # references (copied in: only their hashes are stored), its three targets.
        subprocess.run(
            ["podman", "exec", review.container(), "mkdir", "-p", "/tmp/refs"],
            env=PLAY.image.env(),
            check=True,
        )
        for photo in refs:
            subprocess.run(
                ["podman", "cp", str(photo), f"{review.container()}:/tmp/refs/{photo.name}"],
                env=PLAY.image.env(),
                check=True,
            )
        radar("case", "create", "deploy")
        radar("case", "add-references", "deploy", *(f"/tmp/refs/{p.name}" for p in refs))
        radar("bank-sync", "deploy")
        bases = {"channel": chan.base_url, "js_gallery": gallery.base_url, "feed": rss.base_url}
        for place, path, *options in (
            ("channel", "/s/snapshare", "--kind", "telegram", "--max-depth", "0"),
            ("js_gallery", "/js-gallery", "--render", "browser", "--max-depth", "0"),
            ("feed", "/feed.xml", "--kind", "feed", "--max-depth", "1"),
        ):
            radar("target", "add", "deploy", bases[place] + path, *options)
        for username, role in (("ana", "analyst"), ("ben", "analyst"), ("lea", "legal")):
            radar(
                "users", "add", username, "--role", role, "--password-stdin", stdin=PASSWORD + "\n"
            )

        hits_store = ElasticHitStore(ElasticSettings.from_env(config))

        def hits() -> list[Any]:
            hits_store.refresh()
            return hits_store.hits(limit=10_000)

        def tally() -> dict[str, Any]:
            return _other_places(places, bases, hits(), None)

        def all_found() -> bool:
            return all(p["found"] == p["planted"] for p in tally().values())

        # The scheduler seeds the frontier by itself. At the first hit, kill one matcher
        # and one crawler (podman restarts them, as the kubelet would).
        logs = lambda: "\n".join(  # noqa: E731
            f"--- {r.pod}\n{cluster.logs(r.container())}" for r in cluster.replicas
        )
        hits_store.ensure_index()  # the matchers may not have written one yet
        wait_until(hits, 300, lambda: f"a hit\n{logs()}")

        # Every long-running role serves its metrics. A killed replica starts again from
        # zero, so the crawlers' and matchers' figures are read before the kill; the busiest
        # replica of each is the one killed (it holds work in flight).
        def sample(replica: Any, metric: str) -> float:
            return sum(
                value
                for name, value in metrics(replica.ports["health"]).items()
                if name.split("{")[0] == metric
            )

        def total(deployment: str, metric: str) -> float:
            return sum(sample(r, metric) for r in cluster.replicas_of(deployment))

        def moved(deployment: str, *names: str) -> bool:
            return all(total(deployment, name) > 0 for name in names)

        crawler_metrics = ("radar_crawler_images_total", "radar_crawler_fetch_seconds_count")
        matcher_metrics = (
            "radar_matcher_records_total",
            "radar_matcher_fetch_to_hit_seconds_count",
        )
        wait_until(lambda: moved("radar-crawler", *crawler_metrics), 60, "crawler metrics")
        wait_until(lambda: moved("radar-matcher", *matcher_metrics), 60, "matcher metrics")
        for deployment, metric in (
            ("radar-matcher", "radar_matcher_records_total"),
            ("radar-crawler", "radar_crawler_images_total"),
        ):
            busiest = max(cluster.replicas_of(deployment), key=lambda r: sample(r, metric))
            cluster.kill(busiest)
        wait_until(all_found, 400, lambda: f"every planted copy: {tally()}\n{logs()}")
        found = tally()
        assert all(p["false_hits"] == 0 for p in found.values()), found
        assert {h.seen_count for h in hits()} == {1}, "a sighting counted twice"
        assert len({h.id for h in hits()}) == len(hits())
        assert sum(chan.requests[p] for p in chan.requests if p.startswith("/admin")) == 0

        # Review through the Service (it spreads connections over both replicas).
        service = f"http://127.0.0.1:{cluster.services['radar-review']}"
        ana, ana_csrf = signed_in(service, "ana")
        ben, ben_csrf = signed_in(service, "ben")
        for hit in hits():
            for client, token in ((ana, ana_csrf), (ben, ben_csrf)):
                answer = client.post(
                    f"/review/hits/{hit.id}/decide", data={"csrf": token, "decision": "confirmed"}
                )
                assert answer.status_code == 303, answer.text[-2000:]
        confirmed = [h for h in hits() if h.status == "confirmed"]
        assert len(confirmed) == len(hits()), [h.status for h in hits()]

        # A lawyer drafts the notice for the feed's host and renders it.
        lea, lea_csrf = signed_in(service, "lea")
        host = "127.0.0.1"
        ids = [h.id for h in confirmed if h.image_url.startswith(bases["feed"])]
        form = {
            "csrf": lea_csrf,
            "host": host,
            "regime": "dsa",
            "recipient": "abuse@hosting.example",
            "hit": ids,
        }
        drafted = lea.post("/notices", data=form)
        assert drafted.status_code == 303, drafted.text[-2000:]
        notice = drafted.headers["location"]
        page = lea.get(notice)
        assert page.status_code == 200 and "by two trained analysts" in page.text, page.text[-3000:]
        pdf = lea.get(notice + "/pdf")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF"), pdf.text[:300]

        # The roles nobody killed: their figures cover the whole run.
        assert total("radar-scheduler", "radar_scheduler_targets_seeded_total") >= 3
        decided = total("radar-review", "radar_review_decisions_total")
        assert decided == 2 * len(confirmed), decided

    left = subprocess.run(
        ["podman", "ps", "-a", "--format", "{{.Names}}"],
        env=PLAY.image.env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert not [n for n in left if n.startswith("radar-")], f"left running: {left}"
