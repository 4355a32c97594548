"""devservers.servers against the real servers: Kafka round trip, compacted topic, Elasticsearch
index and search, Elasticsearch stopped and restarted while Kafka keeps running, and a
second `up()` that reuses the running processes."""

from __future__ import annotations

import subprocess
import time
import uuid

from elasticsearch import Elasticsearch
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic

from devservers import servers as local_servers


def _es_health(url: str) -> str | None:
    """The cluster health status, or None when Elasticsearch does not answer."""
    client = Elasticsearch(url, request_timeout=5, max_retries=0)
    try:
        return str(client.cluster.health()["status"])
    except Exception:
        return None
    finally:
        client.close()


def _kafka_round_trip(bootstrap: str, admin: KafkaAdminClient) -> str:
    """Produce 10 messages on a fresh topic, consume them in a group and commit; the topic."""
    topic, group = f"it-{uuid.uuid4().hex[:8]}", f"it-group-{uuid.uuid4().hex[:8]}"
    admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    for i in range(10):
        producer.send(topic, key=f"k{i}".encode(), value=f"v{i}".encode())
    producer.flush(timeout=30)
    producer.close()

    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=30_000,
    )
    values = []
    for message in consumer:
        values.append(message.value.decode())
        if len(values) == 10:
            break
    consumer.commit()
    committed = sum(consumer.committed(TopicPartition(topic, p)) or 0 for p in range(3))
    consumer.close()
    assert sorted(values) == sorted(f"v{i}" for i in range(10))
    assert committed == 10
    offsets = admin.list_consumer_group_offsets(group)
    assert sum(meta.offset for meta in offsets.values()) == 10
    return topic


def _config_entries(resource: object) -> dict[str, str]:
    """name -> value of one DescribeConfigs resource: kafka-python answers with plain tuples
    in some releases and with named structs in others (a fresh clone once got the other)."""
    entries = getattr(resource, "config_entries", None)
    if entries is None:
        entries = resource[4]  # type: ignore[index]
    named = [(e.config_names, e.config_value) if hasattr(e, "config_names") else e for e in entries]
    return {name: value for name, value, *_ in named}


def test_servers_round_trip_fault_and_reuse(servers: local_servers.Servers) -> None:
    assert servers.kafka_bootstrap.startswith("127.0.0.1:")
    assert servers.elasticsearch_url.startswith("http://127.0.0.1:")
    admin = KafkaAdminClient(bootstrap_servers=servers.kafka_bootstrap)
    try:
        topic = _kafka_round_trip(servers.kafka_bootstrap, admin)

        compacted = f"it-compacted-{uuid.uuid4().hex[:8]}"
        admin.create_topics(
            [NewTopic(compacted, 1, 1, topic_configs={"cleanup.policy": "compact"})]
        )
        described = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, compacted)])
        entries = _config_entries(described[0].resources[0])
        assert entries["cleanup.policy"] == "compact"

        es = Elasticsearch(servers.elasticsearch_url, request_timeout=30)
        index = f"it-{uuid.uuid4().hex[:8]}"
        es.index(index=index, id="1", document={"site": "a.example", "pdq": "ab" * 32})
        es.indices.refresh(index=index)
        found = es.search(index=index, query={"term": {"site.keyword": "a.example"}})
        assert found["hits"]["total"]["value"] == 1
        assert found["hits"]["hits"][0]["_source"]["pdq"] == "ab" * 32
        es.close()

        kafka_pid = local_servers.status()["kafka"]["pid"]
        local_servers.stop_elasticsearch()
        assert _es_health(servers.elasticsearch_url) is None
        assert local_servers.status()["elasticsearch"]["pid"] is None
        assert admin.list_topics()  # Kafka keeps answering while Elasticsearch is down
        assert local_servers.status()["kafka"]["pid"] == kafka_pid

        assert local_servers.start_elasticsearch() == servers.elasticsearch_url
        assert _es_health(servers.elasticsearch_url) in ("yellow", "green")
        es = Elasticsearch(servers.elasticsearch_url, request_timeout=30)
        es.cluster.health(index=index, wait_for_status="yellow", timeout="30s")
        assert es.get(index=index, id="1")["_source"]["site"] == "a.example"
        es.indices.delete(index=index)  # the servers' data outlives the session: tidy up
        es.close()
        admin.delete_topics([topic, compacted])
    finally:
        admin.close()

    before = local_servers.status()
    started = time.monotonic()
    again = local_servers.up()
    warm = time.monotonic() - started
    after = local_servers.status()
    assert again == servers
    for name in ("kafka", "elasticsearch"):
        assert after[name]["pid"] == before[name]["pid"] is not None
    assert warm < 30, f"a warm up() took {warm:.1f} s"


def test_stale_pid_file_is_cleaned_up(servers: local_servers.Servers) -> None:
    """A pid file naming a dead process, or a live one that is not Kafka, is stale."""
    pid_file = local_servers.servers_home() / "run" / "kafka.pid"
    real = pid_file.read_text()
    exited = subprocess.Popen(["true"])
    exited.wait()
    try:
        for stale in (exited.pid, 1):  # 1 is init: alive, but not our Kafka
            pid_file.write_text(f"{stale}\n")
            assert local_servers.status()["kafka"]["pid"] is None
            assert not pid_file.exists()
    finally:
        pid_file.write_text(real)
    assert local_servers.status()["kafka"]["pid"] == int(real)
