"""The settings base (ops/settings.py) as every role's settings object uses it: the
environment is read only by ``from_env``, under each field's RADAR_* name; errors name
the variable and never quote a secret."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bus.kafka import KafkaSettings
from crawler.service import CrawlerSettings
from matcher.service import MatcherSettings
from notices.send import SmtpSettings
from review.settings import ReviewSettings
from store.elastic import ElasticSettings

KEY = "k" * 40


def test_a_direct_construction_reads_no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RADAR_KAFKA_NAMESPACE", "from-env.")
    monkeypatch.setenv("RADAR_ES_PREFIX", "from-env")
    assert KafkaSettings().namespace == ""
    assert ElasticSettings(url="http://127.0.0.1:1").prefix == "radar"
    assert KafkaSettings.from_env().namespace == "from-env."  # os.environ by default


def test_from_env_reads_the_mapping_and_keywords_take_precedence() -> None:
    env = {
        "RADAR_KAFKA_NAMESPACE": "n.",
        "RADAR_ES_PREFIX": "p",
        "RADAR_MATCHER_BATCH": "50",
        "RADAR_ALLOWED_NETWORKS": " 10.0.0.0/8, ,127.0.0.1/32",
        "RADAR_LOG_LEVEL": "debug",
        "RADAR_REVIEW_SECRET": KEY,
        "RADAR_REVIEW_ALLOWED_NETWORKS": "10.0.0.0/8",
        "RADAR_REVIEW_SECURE_COOKIES": "1",
    }
    matcher = MatcherSettings.from_env(env, max_backoff_seconds=0)
    assert (matcher.kafka.namespace, matcher.elastic.prefix) == ("n.", "p")
    assert (matcher.batch_size, matcher.max_backoff_seconds) == (50, 0)
    crawler = CrawlerSettings.from_env(env)
    assert crawler.allowed_networks == ("10.0.0.0/8", "127.0.0.1/32")
    assert (crawler.log_level, crawler.kafka.namespace) == ("DEBUG", "n.")
    review = ReviewSettings.from_env("r.db", env, allowed_networks=("127.0.0.1/32",))
    assert (review.db, review.secret_key, review.secure_cookies) == ("r.db", KEY, True)
    assert review.allowed_networks == ("127.0.0.1/32",)
    # a field is read under its RADAR_* name only, never its own
    assert KafkaSettings.from_env({"namespace": "x."}).namespace == ""
    # an empty optional variable is unset
    assert (
        SmtpSettings.from_env({"RADAR_SMTP_USERNAME": "", "RADAR_SMTP_PASSWORD": ""}).username
        is None
    )


@pytest.mark.parametrize(
    "build, name",
    [
        (lambda: KafkaSettings.from_env({"RADAR_KAFKA_BOOTSTRAP": " "}), "RADAR_KAFKA_BOOTSTRAP"),
        (lambda: ElasticSettings.from_env({"RADAR_ES_REPLICAS": "two"}), "RADAR_ES_REPLICAS"),
        (lambda: ElasticSettings.from_env({"RADAR_ES_URL": "es:9200"}), "RADAR_ES_URL"),
        (lambda: SmtpSettings.from_env({"RADAR_SMTP_PORT": "smtp"}), "RADAR_SMTP_PORT"),
        (lambda: MatcherSettings.from_env({"RADAR_MATCHER_BATCH": "x"}), "RADAR_MATCHER_BATCH"),
        (
            lambda: CrawlerSettings.from_env({"RADAR_ALLOWED_NETWORKS": "10.0.0.0/33"}),
            "RADAR_ALLOWED_NETWORKS",
        ),
        (lambda: ReviewSettings.from_env("r.db", {}), "RADAR_REVIEW_SECRET"),
        (lambda: ReviewSettings(db="r.db", secret_key="changeme"), "RADAR_REVIEW_SECRET"),
    ],
)
def test_a_bad_value_is_an_error_naming_its_variable(build: object, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        build()  # type: ignore[operator]


def test_errors_and_repr_never_show_a_secret() -> None:
    with pytest.raises(ValidationError) as raised:
        KafkaSettings.from_env(
            {"RADAR_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "RADAR_KAFKA_SASL_PASSWORD": "hunter2"}
        )
    assert "RADAR_KAFKA_SASL_MECHANISM" in str(raised.value)
    assert "hunter2" not in str(raised.value)
    with pytest.raises(ValidationError) as raised:
        ReviewSettings(db="r.db", secret_key="too-short-a-secret")
    assert "too-short-a-secret" not in str(raised.value)
    settings = [
        KafkaSettings(sasl_password="hunter2"),
        ElasticSettings(username="u", password="hunter2", api_key="hunter2"),
        SmtpSettings(username="u", password="hunter2"),
        ReviewSettings(db="r.db", secret_key="hunter2" * 5),
    ]
    assert [s for s in settings if "hunter2" in repr(s)] == []


def test_settings_are_frozen_and_hashable() -> None:
    settings = KafkaSettings(namespace="t.")
    with pytest.raises(ValidationError, match="frozen"):
        settings.namespace = "u."  # type: ignore[misc]
    assert {settings: 1}[KafkaSettings(namespace="t.")] == 1
    with pytest.raises(ValidationError, match="extra"):
        KafkaSettings(bootstrap="127.0.0.1:9092")  # type: ignore[call-arg]
