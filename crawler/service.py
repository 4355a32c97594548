"""The crawler as a service: a member of the Kafka crawl frontier (``python -m crawler``).

Reads ``RADAR_KAFKA_*`` (see :class:`bus.kafka.KafkaSettings`), ``RADAR_CRAWLER_GROUP``,
``RADAR_ALLOWED_NETWORKS`` (comma-separated CIDRs the crawler may reach although they are
private: for tests only), ``RADAR_LOG_LEVEL``, ``RADAR_HEALTH_PORT`` (probes and metrics,
see :mod:`ops.health`), ``RADAR_DB`` (optional: the shared service store, a
``postgresql://`` URL in the deployment; with it crawls are incremental as in the
embedded mode: every crawler reads and writes the validators and hashes of the pages and
images it fetched there, and keeps there the evidence of each sighting that matches a
case's bank: :class:`pipelines.evidence.MatchedEvidence`; and it keeps each crawl round's
progress, ``round_pages``, for ``radar seed --wait``). Pages of ``render="browser"``
targets are rendered by Debian's Chromium when it is installed (it is in the image), as
in the embedded crawl. Runs until SIGTERM, then finishes what it holds and commits.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Annotated, Any, Self

from pydantic import BeforeValidator, Field, field_validator
from pydantic_settings import NoDecode

from bus.kafka import KafkaBus, KafkaSettings
from crawler.addresses import parse_networks
from crawler.browser import BrowserMissing, chromium_path
from crawler.frontier import FrontierSpider
from crawler.metrics import CrawlerMetrics
from crawler.settings import crawl_settings
from ops.health import HealthServer
from ops.settings import RadarSettings, comma_list

log = logging.getLogger(__name__)


class CrawlerSettings(RadarSettings):
    """A crawler's settings; ``from_env`` reads the names in the module's docstring."""

    kafka: KafkaSettings
    group_id: str = Field(default="radar-crawlers", validation_alias="RADAR_CRAWLER_GROUP")
    allowed_networks: Annotated[tuple[str, ...], NoDecode, BeforeValidator(comma_list)] = Field(
        default=(), validation_alias="RADAR_ALLOWED_NETWORKS"
    )
    log_level: str = Field(default="INFO", validation_alias="RADAR_LOG_LEVEL")
    # the service store for incremental crawl state; "" for none
    db: str = Field(default="", validation_alias="RADAR_DB", repr=False)  # may hold a password

    @field_validator("allowed_networks")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        parse_networks(value)  # validates
        return value

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        return value.upper()

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ, **values: Any) -> Self:
        """The settings in ``env``, Kafka's too; ``values`` take precedence."""
        return super().from_env(env, **{"kafka": KafkaSettings.from_env(env), **values})


def main() -> None:
    from scrapy.crawler import CrawlerProcess

    settings = CrawlerSettings.from_env()
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for handler in logging.root.handlers:
        handler.setLevel(settings.log_level)  # Scrapy lowers its own loggers to DEBUG
    bus = KafkaBus(settings.kafka)
    try:
        chromium_path()
        browser = True
    except BrowserMissing as exc:
        log.warning("no Chromium (%s): render=browser pages are fetched as served", exc)
        browser = False
    state = evidence = None
    if settings.db:  # used on the reactor's thread only, as in the embedded crawl
        from crawler.storage import CrawlStore
        from pipelines.evidence import MatchedEvidence

        state = CrawlStore(settings.db)
        evidence = MatchedEvidence(state)
    scrapy_settings = crawl_settings(
        bus,
        settings.allowed_networks,
        log_level=settings.log_level,
        browser=browser,
        state=state,
        evidence=evidence,
    )
    process = CrawlerProcess({**scrapy_settings, "LOG_INSTALL_ROOT_HANDLER": False})
    crawler = process.create_crawler(FrontierSpider)
    metrics = CrawlerMetrics()
    metrics.connect(crawler)
    process.crawl(
        crawler, kafka=settings.kafka, group_id=settings.group_id, state=state, lag=metrics.lag
    )
    health = HealthServer(
        "crawler",
        ready=lambda: getattr(crawler.spider, "consumer", None) is not None,
        registry=metrics.registry,
    ).start()
    from twisted.internet import task  # the reactor CrawlerProcess installed

    task.LoopingCall(health.beat).start(5.0)  # beats only while the reactor turns
    process.start()
    health.stop()
    bus.close()
    if state is not None:
        state.close()
