"""The bus on Apache Kafka: settings, a confirming producer, consumers and topic setup.

Producer: ``acks=all`` with idempotence, so a record counts as sent only once every
in-sync replica has it; at most ``max_in_flight`` records wait for acknowledgement at a
time, and ``send`` blocks (up to ``block_seconds``) beyond that: a slow Kafka slows the
crawl instead of growing memory without bound.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterable
from concurrent.futures import Future
from typing import Any, Self

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError
from pydantic import Field, field_validator, model_validator

from ops.settings import RadarSettings, empty_is_none

log = logging.getLogger(__name__)

DEFAULT_BOOTSTRAP = "127.0.0.1:19092"
DEFAULT_CLIENT_ID = "reupload-radar"
_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")


class BusFull(TimeoutError):
    """Kafka did not acknowledge fast enough and the in-flight bound was reached."""


class KafkaSettings(RadarSettings):
    """How to reach Kafka. ``from_env`` reads ``RADAR_KAFKA_*``; secrets never get a default
    and are left out of ``repr``."""

    bootstrap_servers: str = Field(
        default=DEFAULT_BOOTSTRAP, validation_alias="RADAR_KAFKA_BOOTSTRAP"
    )
    security_protocol: str = Field(
        default="PLAINTEXT", validation_alias="RADAR_KAFKA_SECURITY_PROTOCOL"
    )
    sasl_mechanism: str | None = Field(default=None, validation_alias="RADAR_KAFKA_SASL_MECHANISM")
    sasl_username: str | None = Field(default=None, validation_alias="RADAR_KAFKA_SASL_USERNAME")
    sasl_password: str | None = Field(
        default=None, validation_alias="RADAR_KAFKA_SASL_PASSWORD", repr=False
    )
    ssl_cafile: str | None = Field(default=None, validation_alias="RADAR_KAFKA_SSL_CAFILE")
    client_id: str = Field(default=DEFAULT_CLIENT_ID, validation_alias="RADAR_KAFKA_CLIENT_ID")
    # Prefixed to every topic name, so several deployments (or test runs) can share one
    # cluster: "staging." gives staging.images.hashed.v1.
    namespace: str = Field(default="", validation_alias="RADAR_KAFKA_NAMESPACE")

    _optional = field_validator(
        "sasl_mechanism", "sasl_username", "sasl_password", "ssl_cafile", mode="before"
    )(empty_is_none)

    @field_validator("bootstrap_servers")
    @classmethod
    def _servers(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("Kafka bootstrap servers (RADAR_KAFKA_BOOTSTRAP) are empty")
        return value

    @field_validator("security_protocol")
    @classmethod
    def _protocol(cls, value: str) -> str:
        if value.upper() not in _PROTOCOLS:
            raise ValueError(
                f"unknown Kafka security protocol {value!r} (RADAR_KAFKA_SECURITY_PROTOCOL)"
            )
        return value.upper()

    @model_validator(mode="after")
    def _sasl(self) -> Self:
        if self.security_protocol.startswith("SASL") and not (
            self.sasl_mechanism and self.sasl_username and self.sasl_password
        ):
            raise ValueError("SASL needs RADAR_KAFKA_SASL_MECHANISM, _USERNAME and _PASSWORD")
        return self

    def topic(self, name: str) -> str:
        """The real name of a topic of :mod:`wire.topics` in this deployment."""
        return self.namespace + name

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments shared by kafka-python's producer, consumer and admin client."""
        kwargs: dict[str, Any] = {
            "bootstrap_servers": [s.strip() for s in self.bootstrap_servers.split(",")],
            "security_protocol": self.security_protocol,
            "client_id": self.client_id,
        }
        if self.sasl_mechanism:
            kwargs.update(
                sasl_mechanism=self.sasl_mechanism,
                sasl_plain_username=self.sasl_username,
                sasl_plain_password=self.sasl_password,
            )
        if self.ssl_cafile:
            kwargs["ssl_cafile"] = self.ssl_cafile
        return kwargs


class KafkaBus:
    """A :class:`bus.Bus` that produces to Kafka. Thread-safe."""

    def __init__(
        self, settings: KafkaSettings, max_in_flight: int = 10_000, block_seconds: float = 60.0
    ) -> None:
        self.settings = settings
        self._producer = KafkaProducer(
            **settings.client_kwargs(),
            acks="all",
            enable_idempotence=True,
            linger_ms=5,
            delivery_timeout_ms=120_000,
            max_block_ms=int(block_seconds * 1000),
            key_serializer=str.encode,
        )
        self._slots = threading.BoundedSemaphore(max_in_flight)
        self._block_seconds = block_seconds

    def __deepcopy__(self, memo: dict[int, object]) -> object:
        # Scrapy deep-copies its settings, where the bus travels: a bus is a shared
        # connection, so every copy is the bus itself.
        return self

    def send(self, topic: str, key: str, value: bytes) -> Future[None]:
        if not self._slots.acquire(timeout=self._block_seconds):
            raise BusFull(f"Kafka has not acknowledged for {self._block_seconds}s")
        done: Future[None] = Future()

        def ok(_metadata: Any) -> None:
            self._slots.release()
            done.set_result(None)

        def failed(exc: BaseException) -> None:
            self._slots.release()
            done.set_exception(exc)

        try:
            self._producer.send(self.settings.topic(topic), key=key, value=value).add_callback(
                ok
            ).add_errback(failed)
        except Exception:
            self._slots.release()
            raise
        return done

    def publish(self, topic: str, key: str, value: bytes) -> None:
        self.send(topic, key, value).result(timeout=self._block_seconds * 2)

    def flush(self) -> None:
        self._producer.flush()

    def close(self) -> None:
        self._producer.close()


def consumer(
    settings: KafkaSettings, group_id: str | None, topics: Iterable[str] = (), **overrides: Any
) -> KafkaConsumer:
    """A consumer that never auto-commits: callers commit after their sink accepted."""
    config: dict[str, Any] = {
        **settings.client_kwargs(),
        "group_id": group_id,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "max_poll_records": 200,
        "max_poll_interval_ms": 600_000,
    }
    config.update(overrides)
    return KafkaConsumer(*(settings.topic(t) for t in topics), **config)


def ensure_topics(
    settings: KafkaSettings,
    topics: Iterable[str],
    partitions: int = 6,
    compacted: Iterable[str] = (),
    replication: int = 1,
) -> list[str]:
    """Create the topics that do not exist yet; return the names created. Compacted topics
    keep the latest value per key forever (the bank)."""
    compacted = set(compacted)
    admin = KafkaAdminClient(**settings.client_kwargs())
    try:
        existing = set(admin.list_topics())
        new = [
            NewTopic(
                settings.topic(name),
                num_partitions=partitions,
                replication_factor=replication,
                topic_configs={"cleanup.policy": "compact"} if name in compacted else {},
            )
            for name in topics
            if settings.topic(name) not in existing
        ]
        if new:
            with contextlib.suppress(TopicAlreadyExistsError):  # another process was first
                admin.create_topics(new)
        return [t.name for t in new]
    finally:
        admin.close()
