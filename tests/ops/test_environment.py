"""The registry of RADAR_* names (ops/environment.py) against everything that uses one:
the code, the tests, the manifests, the compose file, the image, the README and the docs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ops.environment import ENVIRONMENT, FAMILIES, SCRAPY_SETTINGS, TEST_ENVIRONMENT, declared

REPO = Path(__file__).resolve().parents[2]
TOKEN = re.compile(r"RADAR_[A-Z0-9_]+")
PACKAGES = (
    "bench",
    "radar",
    "review",
    "notices",
    "crawler",
    "pipelines",
    "matcher",
    "store",
    "bus",
    "ops",
    "wire",
    "hashing",
    "devservers",
    "deploy",
)


def files(*patterns: str) -> list[Path]:
    found = {p for pattern in patterns for p in REPO.glob(pattern) if p.is_file()}
    return sorted(p for p in found if ".venv" not in p.parts)


def tokens(paths: list[Path]) -> dict[str, set[str]]:
    """Each RADAR_* token, with the files it occurs in."""
    out: dict[str, set[str]] = {}
    for path in paths:
        for token in TOKEN.findall(path.read_text(errors="replace")):
            out.setdefault(token, set()).add(str(path.relative_to(REPO)))
    return out


SOURCE = files(*(f"{p}/**/*.py" for p in PACKAGES))
REGISTRY = REPO / "ops" / "environment.py"
CODE = [p for p in SOURCE if p != REGISTRY]
TESTS = files("tests/**/*.py")
MANIFESTS = files("k8s/**/*.yaml", "deploy/**/*.yaml")
DOCS = files(
    "README.md",
    "ARCHITECTURE.md",
    "docs/**/*.md",
    "k8s/**/*.md",
    "Makefile",
    ".ci/run",
    "deploy/Dockerfile",
    "deploy/*.conf",
    "bench/**/*.md",
)


def undeclared(found: dict[str, set[str]]) -> dict[str, set[str]]:
    """Tokens neither declared nor a family prefix (``RADAR_KAFKA_*``)."""
    return {t: where for t, where in found.items() if declared(t) is None and t not in FAMILIES}


@pytest.mark.parametrize(
    "what, paths",
    [("code", CODE), ("tests", TESTS), ("manifests", MANIFESTS), ("docs", DOCS)],
)
def test_every_name_used_is_declared(what: str, paths: list[Path]) -> None:
    assert paths, f"no {what} found: the globs are wrong"
    assert undeclared(tokens(paths)) == {}


def test_manifests_set_environment_only_and_configmaps_no_secret() -> None:
    """A manifest can only set environment (a Scrapy setting there is read by nobody),
    and a secret comes from a Secret, never a ConfigMap's plain data."""
    used = tokens(MANIFESTS)
    assert {t for t in used if t in SCRAPY_SETTINGS or t in TEST_ENVIRONMENT} == set()
    leaks = []
    for path in MANIFESTS:
        for document in path.read_text().split("\n---"):
            if re.search(r"^kind:\s*ConfigMap\s*$", document, re.M):
                for key in re.findall(r"^\s+(RADAR_[A-Z0-9_]+):", document, re.M):
                    if ENVIRONMENT[key].secret:
                        leaks.append(f"{path.relative_to(REPO)}: {key}")
    assert leaks == []
    # the manifests do use the registry: the check above is not vacuous
    assert {"RADAR_KAFKA_BOOTSTRAP", "RADAR_ES_URL", "RADAR_REVIEW_SECRET"} <= set(used)


def test_every_declared_name_is_read_somewhere() -> None:
    """No dead entry: each environment name or Scrapy setting occurs in the code (the
    compose file's own variable in the compose file), each test name in the tests."""
    in_code = set(tokens(CODE)) | set(tokens(files("deploy/compose.yaml")))
    assert sorted(set(ENVIRONMENT) - in_code) == []
    assert sorted(set(SCRAPY_SETTINGS) - set(tokens(CODE))) == []
    assert sorted(set(TEST_ENVIRONMENT) - set(tokens(TESTS))) == []
    assert not set(ENVIRONMENT) & set(SCRAPY_SETTINGS)


def test_the_registry_states_the_defaults_the_settings_objects_use() -> None:
    from bus.kafka import KafkaSettings
    from crawler.service import CrawlerSettings
    from matcher.service import MatcherSettings
    from notices.send import SmtpSettings
    from store.elastic import ElasticSettings

    kafka, es, smtp = (
        KafkaSettings.from_env({}),
        ElasticSettings.from_env({}),
        SmtpSettings.from_env({}),
    )
    crawler, matcher = CrawlerSettings.from_env({}), MatcherSettings.from_env({})
    actual = {
        "RADAR_KAFKA_BOOTSTRAP": kafka.bootstrap_servers,
        "RADAR_KAFKA_SECURITY_PROTOCOL": kafka.security_protocol,
        "RADAR_KAFKA_CLIENT_ID": kafka.client_id,
        "RADAR_KAFKA_NAMESPACE": kafka.namespace,
        "RADAR_ES_URL": es.url,
        "RADAR_ES_PREFIX": es.prefix,
        "RADAR_ES_REPLICAS": str(es.replicas),
        "RADAR_SMTP_HOST": smtp.host,
        "RADAR_SMTP_PORT": str(smtp.port),
        "RADAR_SMTP_SECURITY": smtp.security,
        "RADAR_SMTP_SENDER": smtp.sender,
        "RADAR_CRAWLER_GROUP": crawler.group_id,
        "RADAR_LOG_LEVEL": crawler.log_level,
        "RADAR_MATCHER_GROUP": matcher.group_id,
        "RADAR_MATCHER_BATCH": str(matcher.batch_size),
    }
    assert {name: ENVIRONMENT[name].default for name in actual} == actual


def test_radar_settings_lists_every_environment_variable(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from radar.cli import main

    with pytest.raises(SystemExit) as done:
        main(["settings"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    names = [line.split()[0] for line in out.splitlines() if line.startswith("RADAR_")]
    assert names == list(ENVIRONMENT)
    assert "RADAR_REVIEW_SECRET (secret)  review" in out
