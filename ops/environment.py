"""The registry of every ``RADAR_*`` name: the environment each role reads at its entry
point, and the Scrapy settings the crawl passes to its components.

Nothing here reads the environment: each role's settings object does that
(``KafkaSettings.from_env``, ``CrawlerSettings.from_env``, ``MatcherSettings.from_env``,
``ElasticSettings.from_env``, ``ReviewSettings.from_env``, ``SmtpSettings.from_env``, ...).
This is the list they are checked against: ``tests/ops/test_environment.py`` fails when
the code, a manifest in ``k8s/`` or ``deploy/``, the README or the docs use a ``RADAR_*``
name not declared here, when a manifest's ConfigMap carries a secret, or when a name
declared here is read nowhere. ``radar settings`` prints it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Setting:
    """One name: who reads it, its default ("" when it has none), what it means.
    ``secret`` names come from a Secret (never a ConfigMap) and are never logged.
    ``required``: the roles whose pods must be given it in a cluster (its default is a
    single machine's: a pod without it would run, but against nothing or the wrong
    thing); ``tests/k8s`` checks every rendered overlay sets it, non-empty."""

    name: str
    roles: tuple[str, ...]
    default: str
    help: str
    secret: bool = False
    required: tuple[str, ...] = ()


def _table(*settings: Setting) -> dict[str, Setting]:
    return {s.name: s for s in settings}


_ALL = ("crawler", "matcher", "review", "scheduler", "cli")
_KAFKA = ("crawler", "matcher", "scheduler", "cli")
_ES = ("matcher", "review", "cli")

#: Environment variables, read at a role's entry point.
ENVIRONMENT: dict[str, Setting] = _table(
    Setting(
        "RADAR_DB",
        _ALL,
        "~/.local/share/reupload-radar/radar.db",
        "the service store: a SQLite path, or a postgresql:// URL shared by every replica",
        secret=True,
        required=("crawler", "review", "scheduler"),
    ),
    Setting("RADAR_LOG_LEVEL", _ALL, "INFO", "log level of the long-running roles"),
    Setting("RADAR_HEALTH_HOST", _ALL, "0.0.0.0", "address of the probe and metrics server"),
    Setting(
        "RADAR_HEALTH_PORT",
        _ALL,
        "",
        "port of /livez, /readyz and /metrics (unset: off)",
        required=("crawler", "matcher", "scheduler"),
    ),
    # Kafka (bus/kafka.py)
    Setting(
        "RADAR_KAFKA_BOOTSTRAP",
        _KAFKA,
        "127.0.0.1:19092",
        "Kafka bootstrap servers; set, `radar scheduler` seeds the frontier",
        required=("crawler", "matcher", "scheduler"),
    ),
    Setting(
        "RADAR_KAFKA_SECURITY_PROTOCOL",
        _KAFKA,
        "PLAINTEXT",
        "PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL",
    ),
    Setting("RADAR_KAFKA_SASL_MECHANISM", _KAFKA, "", "e.g. SCRAM-SHA-512"),
    Setting("RADAR_KAFKA_SASL_USERNAME", _KAFKA, "", "SASL user", secret=True),
    Setting("RADAR_KAFKA_SASL_PASSWORD", _KAFKA, "", "SASL password", secret=True),
    Setting("RADAR_KAFKA_SSL_CAFILE", _KAFKA, "", "CA bundle of the brokers' certificates"),
    Setting("RADAR_KAFKA_CLIENT_ID", _KAFKA, "reupload-radar", "Kafka client id"),
    Setting(
        "RADAR_KAFKA_NAMESPACE",
        _KAFKA,
        "",
        "prefix of every topic name (several deployments on one cluster)",
    ),
    # Elasticsearch (store/elastic.py)
    Setting(
        "RADAR_ES_URL",
        _ES,
        "http://127.0.0.1:19200",
        "Elasticsearch, where hits are",
        required=("matcher", "review"),
    ),
    Setting("RADAR_ES_USERNAME", _ES, "", "Elasticsearch user", secret=True),
    Setting("RADAR_ES_PASSWORD", _ES, "", "Elasticsearch password", secret=True),
    Setting("RADAR_ES_API_KEY", _ES, "", "Elasticsearch API key", secret=True),
    Setting("RADAR_ES_CA_CERTS", _ES, "", "CA bundle of the cluster's certificate"),
    Setting("RADAR_ES_PREFIX", _ES, "radar", "prefix of the hit index and its alias"),
    Setting(
        "RADAR_ES_REPLICAS",
        _ES,
        "0",
        "replicas of the hit index (1 on a 3-node cluster): each overlay says",
        required=("matcher",),
    ),
    Setting(
        "RADAR_ES_ROLLOVER_MAX_SIZE",
        _ES,
        "",
        "the matchers roll the hit index over at this primary shard size (e.g. 30gb; unset: "
        "not by size)",
    ),
    Setting(
        "RADAR_ES_ROLLOVER_MAX_AGE",
        _ES,
        "",
        "... or at this age of the write index (e.g. 90d; unset: not by age)",
    ),
    Setting(
        "RADAR_ES_ROLLOVER_MAX_DOCS",
        _ES,
        "0",
        "... or at this many hits in it (0: not by count)",
    ),
    # the crawler (crawler/service.py)
    Setting("RADAR_CRAWLER_GROUP", ("crawler",), "radar-crawlers", "the crawlers' consumer group"),
    Setting(
        "RADAR_ALLOWED_NETWORKS",
        ("crawler", "cli"),
        "",
        "comma-separated CIDRs the crawler may reach although private (tests only)",
    ),
    Setting(
        "RADAR_CHROMIUM",
        ("crawler", "cli"),
        "/usr/bin/chromium",
        "the Chromium that renders browser targets",
    ),
    # the matcher (matcher/service.py) and `radar seed --wait`
    Setting(
        "RADAR_MATCHER_GROUP",
        ("matcher", "cli"),
        "radar-matchers",
        "the matchers' consumer group (`radar seed --wait` reads its offsets)",
    ),
    Setting("RADAR_MATCHER_BATCH", ("matcher",), "200", "hash records per poll and bulk write"),
    Setting(
        "RADAR_MATCHER_MAX_BACKOFF",
        ("matcher",),
        "30",
        "longest wait (s) before retrying a refused write",
    ),
    # the review app (review/settings.py) and notices by e-mail (notices/send.py)
    Setting(
        "RADAR_REVIEW_SECRET",
        ("review",),
        "",
        "the session and CSRF key (required; defaults are refused)",
        secret=True,
        required=("review",),
    ),
    Setting(
        "RADAR_REVIEW_SECURE_COOKIES",
        ("review",),
        "0",
        "1 behind TLS: cookies are sent over HTTPS only",
        required=("review",),
    ),
    Setting(
        "RADAR_REVIEW_ALLOWED_NETWORKS",
        ("review",),
        "",
        "CIDRs the candidate proxy may reach although private (tests only)",
    ),
    Setting(
        "RADAR_PROVIDER_DIRECTORY",
        ("review",),
        "",
        "a JSON file of hosting providers' abuse contacts",
    ),
    Setting(
        "RADAR_SMTP_HOST",
        ("review", "cli"),
        "127.0.0.1",
        "SMTP relay for notices",
        required=("review",),
    ),
    Setting("RADAR_SMTP_PORT", ("review", "cli"), "25", "its port"),
    Setting("RADAR_SMTP_SECURITY", ("review", "cli"), "none", "none, starttls or tls"),
    Setting("RADAR_SMTP_USERNAME", ("review", "cli"), "", "SMTP user", secret=True),
    Setting("RADAR_SMTP_PASSWORD", ("review", "cli"), "", "SMTP password", secret=True),
    Setting(
        "RADAR_SMTP_SENDER",
        ("review", "cli"),
        "notices@reupload-radar.local",
        "the From: of notices",
    ),
    # local servers (devservers/servers.py), the demo, the tools, the image build
    Setting(
        "RADAR_SERVERS_HOME",
        ("cli",),
        "/var/cache/reupload-radar (root)",
        "where `radar up` keeps Kafka, Elasticsearch and PostgreSQL",
    ),
    Setting("RADAR_KAFKA_PORT", ("cli",), "19092", "`radar up`: Kafka's port"),
    Setting("RADAR_KAFKA_CONTROLLER_PORT", ("cli",), "19093", "`radar up`: the KRaft controller"),
    Setting("RADAR_ES_PORT", ("cli",), "19200", "`radar up`: Elasticsearch's HTTP port"),
    Setting("RADAR_ES_TRANSPORT_PORT", ("cli",), "19300", "`radar up`: its transport port"),
    Setting("RADAR_PG_PORT", ("cli",), "15432", "`radar up`: PostgreSQL's port"),
    Setting(
        "RADAR_SHARED_IMAGES",
        ("cli",),
        "../shared/images",
        "the benign test photographs of the demo, the tests and the benchmarks",
    ),
    Setting(
        "RADAR_DEMO_BROWSER", ("cli",), "auto", "`radar demo`: render the gallery (auto, 0, 1)"
    ),
    Setting(
        "RADAR_TOOLS_HOME",
        ("cli",),
        "/var/cache/reupload-radar/tools (root)",
        "where deploy/tools.py keeps the pinned check tools",
    ),
    Setting(
        "RADAR_DEBIAN_MIRROR",
        ("cli",),
        "http://deb.debian.org/debian",
        "deploy/image.py: the mirror debootstrap builds the base image from",
    ),
    Setting(
        "RADAR_DB_PASSWORD",
        ("cli",),
        "",
        "deploy/compose.yaml: the PostgreSQL password it builds RADAR_DB from",
        secret=True,
    ),
)

#: Scrapy settings of the crawl (crawler/settings.py builds them; never environment).
SCRAPY_SETTINGS: dict[str, Setting] = _table(
    Setting("RADAR_BUS", ("crawler",), "", "the Kafka bus hash records are published on"),
    Setting("RADAR_STATE_STORE", ("crawler",), "", "the incremental crawl state"),
    Setting("RADAR_EVIDENCE_SINK", ("crawler",), "", "where the evidence of sightings goes"),
    Setting("RADAR_MAX_IMAGE_BYTES", ("crawler",), str(32 << 20), "image download cap"),
    Setting("RADAR_MAX_IMAGE_PIXELS", ("crawler",), "", "decoded image pixel cap"),
    Setting("RADAR_MAX_PAGE_BYTES", ("crawler",), "", "page download cap"),
    Setting("RADAR_MAX_VIDEO_BYTES", ("crawler",), str(64 << 20), "video download cap"),
    Setting("RADAR_MAX_VIDEO_SECONDS", ("crawler",), "", "video duration cap"),
    Setting("RADAR_HASH_CACHE_SIZE", ("crawler",), "100000", "content digests remembered"),
    Setting("RADAR_SIGHTINGS_REMEMBERED", ("crawler",), "100000", "sightings remembered"),
    Setting("RADAR_RETRY_BASE_DELAY", ("crawler",), "1.0", "first retry back-off (s)"),
    Setting("RADAR_RETRY_MAX_DELAY", ("crawler",), "30.0", "longest retry back-off (s)"),
    Setting("RADAR_DNS_CACHE_SECONDS", ("crawler",), "60", "resolver cache lifetime (s)"),
    Setting("RADAR_DNS_STUB", ("crawler",), "", "host -> address map (tests only)"),
    Setting("RADAR_BROWSER_MAX_PAGES", ("crawler",), "", "browser pages open at once"),
    Setting("RADAR_BROWSER_MAX_CONTEXTS", ("crawler",), "4", "browser contexts open at once"),
    Setting("RADAR_BROWSER_PROXY_PORT", ("crawler",), "", "the browser's guarding proxy"),
)

#: Environment variables only the test suite reads.
TEST_ENVIRONMENT: dict[str, Setting] = _table(
    Setting("RADAR_DEPLOY_TEST", ("tests",), "", "1: collect tests/deploy (make deploy-test)"),
    Setting("RADAR_UPDATE_GOLDEN", ("tests",), "", "1: rewrite golden files"),
    Setting("RADAR_REGENERATE_GOLDEN", ("tests",), "", "1: rewrite golden hash values"),
    Setting("RADAR_SCREENSHOTS", ("tests",), "", "a folder for the browser tests' screenshots"),
)

#: Prefixes documentation may name as a family (``RADAR_KAFKA_*``).
FAMILIES = ("RADAR_KAFKA_", "RADAR_ES_", "RADAR_SMTP_", "RADAR_DNS", "RADAR_MAX_")


def required(role: str) -> list[str]:
    """The environment names a ``role``'s pods must be given in a cluster."""
    return [s.name for s in ENVIRONMENT.values() if role in s.required]


def declared(name: str) -> Setting | None:
    """The declaration of ``name`` in any table, or None."""
    for table in (ENVIRONMENT, SCRAPY_SETTINGS, TEST_ENVIRONMENT):
        if name in table:
            return table[name]
    return None
