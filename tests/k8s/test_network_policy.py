"""The built NetworkPolicies, evaluated (tests/k8s/netpol.py): the crawler reaches the
public internet, DNS, Kafka and the service store only; the review app is reachable only
from the ingress controller; Elasticsearch only from matchers and the review app;
PostgreSQL only from the roles that keep state; everything else in the namespace is
denied by default.

Cluster-internal addresses are those of common clusters: kubeadm/flannel pods
10.244.0.0/16 and services 10.96.0.0/12, GKE pods 10.4.0.0/14, Calico 192.168.0.0/16,
EKS services 172.20.0.0/16, CGNAT 100.64.0.0/10, IPv6 ULA, plus the cloud metadata and
link-local addresses. A cluster with public pod or service ranges must add them to the
radar-internet policy (base/network.yaml says how)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.k8s import netpol
from tests.k8s.conftest import Build, build, kustomizations
from tests.k8s.netpol import Endpoint, address, connection_allowed, egress_allowed, pod

PUBLIC = [
    ("93.184.215.14", 443),
    ("93.184.215.14", 80),
    ("151.101.1.140", 8443),  # sites on other ports are crawled too
    ("2606:4700::6810:85e5", 443),
]
INTERNAL = [
    ("10.96.0.1", 443),  # kubernetes API service
    ("10.96.0.10", 53),  # cluster DNS service address (DNS goes to the kube-dns pods)
    ("10.100.12.7", 80),
    ("172.20.0.1", 443),
    ("10.244.1.17", 8080),  # pod CIDRs
    ("10.4.2.9", 9200),
    ("192.168.12.4", 80),
    ("100.64.3.3", 80),
    ("172.17.0.1", 2375),  # a node's docker bridge
    ("127.0.0.1", 9102),
    ("0.0.0.0", 80),
    ("169.254.169.254", 80),  # cloud metadata (AWS, GCP, Azure, OpenStack)
    ("169.254.170.2", 80),  # ECS task metadata
    ("169.254.20.10", 53),  # NodeLocal DNSCache
    ("fd00:ec2::254", 80),  # AWS metadata over IPv6
    ("fd12:3456:789a::10", 8080),  # ULA pod range
    ("fe80::1", 80),
    ("::1", 9102),
    ("::ffff:10.0.0.1", 80),  # IPv4-mapped
    ("64:ff9b::a00:1", 80),  # NAT64 of 10.0.0.1
    ("2002:a00:1::1", 80),  # 6to4 of 10.0.0.1
    ("224.0.0.251", 5353),
]


def template_labels(b: Build, component: str) -> dict[str, str]:
    """The pod labels of a role's Deployment, CronJob or Job."""
    for obj in b.of_kind("Deployment", "Job", "CronJob"):
        spec = obj["spec"]
        if obj["kind"] == "CronJob":
            spec = spec["jobTemplate"]["spec"]
        labels: dict[str, str] = spec["template"]["metadata"]["labels"]
        if labels.get("app.kubernetes.io/component") == component:
            return labels
    raise AssertionError(f"{b.name}: no workload of component {component}")


def role(b: Build, component: str, ip: str) -> Endpoint:
    return pod(ip, b.namespace(), template_labels(b, component))


def kafka_broker(b: Build) -> tuple[Endpoint, int]:
    if b.flavour == "prod":
        labels = {
            "strimzi.io/cluster": "radar",
            "strimzi.io/kind": "Kafka",
            "strimzi.io/name": "radar-kafka",
            "strimzi.io/pool-name": "broker",
            "strimzi.io/broker-role": "true",
        }
        return pod("10.244.7.3", b.namespace(), labels), 9093
    return pod("10.244.9.3", "dev-data", {"app.kubernetes.io/name": "kafka"}), 9092


def elasticsearch(b: Build) -> tuple[Endpoint, int]:
    if b.flavour == "prod":
        labels = {
            "elasticsearch.k8s.elastic.co/cluster-name": "radar",
            "common.k8s.elastic.co/type": "elasticsearch",
        }
        return pod("10.244.5.6", b.namespace(), labels), 9200
    return pod("10.244.9.4", "dev-data", {"app.kubernetes.io/name": "elasticsearch"}), 9200


def postgres(b: Build) -> tuple[Endpoint, int]:
    if b.flavour == "prod":  # a CloudNativePG instance of the Cluster radar-db
        labels = {"cnpg.io/cluster": "radar-db", "cnpg.io/instanceRole": "primary"}
        return pod("10.244.5.9", b.namespace(), labels), 5432
    return pod("10.244.9.5", "dev-data", {"app.kubernetes.io/name": "postgresql"}), 5432


KUBE_DNS = pod("10.244.0.2", "kube-system", {"k8s-app": "kube-dns"})
INGRESS_CONTROLLER = pod("10.244.0.9", "ingress-nginx", {"app.kubernetes.io/name": "ingress-nginx"})


def policies(b: Build) -> list[dict[str, Any]]:
    found = b.of_kind("NetworkPolicy")
    assert found, f"{b.name}: no NetworkPolicy"
    return found


@pytest.fixture(params=kustomizations())
def b(request: pytest.FixtureRequest) -> Build:
    return build(request.param)


def test_every_pod_is_denied_by_default(b: Build) -> None:
    stray = pod("10.244.3.3", b.namespace(), {"app": "anything"})
    assert not egress_allowed(policies(b), stray, address(*PUBLIC[0][:1]), 443)
    assert not connection_allowed(policies(b), INGRESS_CONTROLLER, stray, 8080)
    assert egress_allowed(policies(b), stray, KUBE_DNS, 53, "UDP")  # DNS only


@pytest.mark.parametrize(("ip", "port"), PUBLIC)
def test_crawler_reaches_the_public_internet(b: Build, ip: str, port: int) -> None:
    assert egress_allowed(policies(b), role(b, "crawler", "10.244.1.5"), address(ip), port)


def test_crawler_reaches_kafka_and_dns(b: Build) -> None:
    crawler = role(b, "crawler", "10.244.1.5")
    broker, port = kafka_broker(b)
    assert egress_allowed(policies(b), crawler, broker, port)
    assert egress_allowed(policies(b), crawler, KUBE_DNS, 53, "UDP")
    assert egress_allowed(policies(b), crawler, KUBE_DNS, 53, "TCP")


@pytest.mark.parametrize(("ip", "port"), INTERNAL)
def test_crawler_cannot_reach_cluster_internal_addresses(b: Build, ip: str, port: int) -> None:
    crawler = role(b, "crawler", "10.244.1.5")
    assert not egress_allowed(policies(b), crawler, address(ip), port)
    assert not egress_allowed(policies(b), crawler, address(ip), port, "UDP")


def test_crawler_cannot_reach_other_pods(b: Build) -> None:
    crawler = role(b, "crawler", "10.244.1.5")
    es, es_port = elasticsearch(b)
    broker, _ = kafka_broker(b)
    denied = [
        (es, es_port),
        (es, 9300),
        (role(b, "review", "10.244.2.8"), 8080),
        (role(b, "matcher", "10.244.2.9"), 9102),
        (role(b, "crawler", "10.244.2.10"), 9102),
        (broker, 9999),  # Kafka, but not its client listener
        (KUBE_DNS, 9153),  # the DNS pod, but not DNS
        (pod("10.244.4.4", "default", {"app": "internal-api"}), 80),
        (pod("10.244.4.5", "kube-system", {"component": "kube-apiserver"}), 6443),
    ]
    if b.flavour == "prod":
        controller = pod(
            "10.244.7.9",
            b.namespace(),
            {"strimzi.io/cluster": "radar", "strimzi.io/pool-name": "controller"},
        )
        denied.append((controller, 9090))
    for target, port_ in denied:
        assert not egress_allowed(policies(b), crawler, target, port_), (target, port_)


def test_crawler_sends_no_udp_beyond_cluster_dns(b: Build) -> None:
    crawler = role(b, "crawler", "10.244.1.5")
    assert not egress_allowed(policies(b), crawler, address("8.8.8.8"), 53, "UDP")
    assert not egress_allowed(policies(b), crawler, address("93.184.215.14"), 443, "UDP")


def test_review_app_is_reachable_only_through_the_ingress_controller(b: Build) -> None:
    review = role(b, "review", "10.244.2.8")
    assert connection_allowed(policies(b), INGRESS_CONTROLLER, review, 8080)
    assert not connection_allowed(policies(b), INGRESS_CONTROLLER, review, 9102)
    others = [
        role(b, "crawler", "10.244.1.5"),
        role(b, "matcher", "10.244.2.9"),
        pod("10.244.4.4", "default", {"app.kubernetes.io/name": "ingress-nginx"}),
        pod("10.244.4.6", "ingress-nginx", {"app.kubernetes.io/name": "something-else"}),
    ]
    for source in others:
        assert not connection_allowed(policies(b), source, review, 8080), source
    assert not netpol.ingress_allowed(policies(b), address("93.184.215.14"), review, 8080)


def test_elasticsearch_only_from_matchers_and_the_review_app(b: Build) -> None:
    es, port = elasticsearch(b)
    for component in ("matcher", "review"):
        assert connection_allowed(policies(b), role(b, component, "10.244.2.9"), es, port)
    for component in ("crawler", "scheduler"):
        assert not connection_allowed(policies(b), role(b, component, "10.244.2.9"), es, port)
    if b.flavour == "prod":  # the in-namespace cluster also refuses everyone else
        stranger = pod("10.244.4.4", "default", {"app.kubernetes.io/component": "matcher"})
        assert not netpol.ingress_allowed(policies(b), stranger, es, port)


def test_matcher_and_scheduler_have_no_internet(b: Build) -> None:
    for component in ("matcher", "scheduler"):
        source = role(b, component, "10.244.2.9")
        assert not egress_allowed(policies(b), source, address("93.184.215.14"), 443)
        broker, port = kafka_broker(b)
        assert egress_allowed(policies(b), source, broker, port)


def test_the_service_store_only_from_the_roles_that_keep_state(b: Build) -> None:
    db, port = postgres(b)
    for component in ("crawler", "review", "scheduler", "migrate"):
        assert connection_allowed(policies(b), role(b, component, "10.244.2.9"), db, port)
        assert not connection_allowed(policies(b), role(b, component, "10.244.2.9"), db, 5433)
    assert not connection_allowed(policies(b), role(b, "matcher", "10.244.2.9"), db, port)
    if b.flavour == "prod":  # the in-namespace database also refuses everyone else
        stranger = pod("10.244.4.4", "default", {"radar/postgres-client": "true"})
        assert not netpol.ingress_allowed(policies(b), stranger, db, port)
        operator = pod("10.244.0.7", "cnpg-system", {"app.kubernetes.io/name": "cloudnative-pg"})
        assert netpol.ingress_allowed(policies(b), operator, db, 8000)
        assert not egress_allowed(policies(b), db, address("93.184.215.14"), 80)
