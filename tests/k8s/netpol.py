"""A small evaluator of Kubernetes NetworkPolicies (networking.k8s.io/v1), for tests.

Semantics of the API reference: a pod is isolated for a direction when some policy of its
namespace selects it and lists that direction in ``policyTypes`` (by default Ingress, plus
Egress when the policy has egress rules); an isolated pod's connection is allowed when
any selecting policy has a rule whose peers and ports both match; policies add up.

Where the API leaves the outcome to the network plugin, the evaluator takes the more
permissive reading, so a "denied" here is denied on every plugin: an ``ipBlock`` also
matches pod addresses (as Calico does), and a destination reached by address may be any
pod with that address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Endpoint:
    """A pod (with labels and a namespace) or a bare address outside the cluster's pods."""

    ip: str
    namespace: str | None = None  # None: not a pod (an external or a service address)
    labels: Mapping[str, str] = field(default_factory=dict)
    namespace_labels: Mapping[str, str] = field(default_factory=dict)
    ports: Mapping[str, int] = field(default_factory=dict)  # named container ports

    @property
    def is_pod(self) -> bool:
        return self.namespace is not None

    def ns_labels(self) -> dict[str, str]:
        assert self.namespace is not None
        return {"kubernetes.io/metadata.name": self.namespace, **self.namespace_labels}


def pod(ip: str, namespace: str, labels: Mapping[str, str], **kwargs: Any) -> Endpoint:
    return Endpoint(ip, namespace, dict(labels), **kwargs)


def address(ip: str) -> Endpoint:
    return Endpoint(ip)


def selector_matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """A LabelSelector; None (absent) is handled by the caller, {} matches everything."""
    selector = selector or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator = expression["key"], expression["operator"]
        values = expression.get("values") or []
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and key in labels and labels[key] in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
        if operator not in ("In", "NotIn", "Exists", "DoesNotExist"):
            raise ValueError(f"unknown selector operator {operator!r}")
    return True


def _in_block(ip: str, block: Mapping[str, Any]) -> bool:
    address_ = ipaddress.ip_address(ip)
    network = ipaddress.ip_network(block["cidr"])
    if address_.version != network.version or address_ not in network:
        return False
    return not any(
        address_ in ipaddress.ip_network(cidr)
        for cidr in block.get("except") or []
        if ipaddress.ip_network(cidr).version == address_.version
    )


def peer_matches(peer: Mapping[str, Any], policy_namespace: str, other: Endpoint) -> bool:
    if "ipBlock" in peer:
        return _in_block(other.ip, peer["ipBlock"])
    if not other.is_pod:
        return False  # pod and namespace selectors select pods only
    if "namespaceSelector" in peer:
        if not selector_matches(peer["namespaceSelector"], other.ns_labels()):
            return False
    elif other.namespace != policy_namespace:
        return False  # a podSelector alone means the policy's own namespace
    if "podSelector" in peer:
        return selector_matches(peer["podSelector"], other.labels)
    return True


def port_matches(
    rule_ports: Iterable[Mapping[str, Any]] | None, port: int, protocol: str, target: Endpoint
) -> bool:
    rule_ports = list(rule_ports or [])
    if not rule_ports:
        return True
    for entry in rule_ports:
        if entry.get("protocol", "TCP") != protocol:
            continue
        wanted = entry.get("port")
        if wanted is None:
            return True
        if isinstance(wanted, str):
            if target.ports.get(wanted) == port:
                return True
            continue
        if wanted <= port <= entry.get("endPort", wanted):
            return True
    return False


def _policy_types(policy: Mapping[str, Any]) -> list[str]:
    spec = policy["spec"]
    if "policyTypes" in spec:
        return list(spec["policyTypes"])
    return ["Ingress", *(["Egress"] if "egress" in spec else [])]


def _selecting(policies: Iterable[Mapping[str, Any]], pod_: Endpoint, direction: str) -> list:
    return [
        p
        for p in policies
        if p["metadata"].get("namespace") == pod_.namespace
        and direction in _policy_types(p)
        and selector_matches(p["spec"].get("podSelector"), pod_.labels)
    ]


def _rules_allow(
    policies: Iterable[Mapping[str, Any]],
    subject: Endpoint,
    peer: Endpoint,
    direction: str,
    port: int,
    protocol: str,
    target: Endpoint,
) -> bool:
    """The one evaluation behind both directions: ``subject`` is the pod the policies
    select, ``peer`` the other end; ``target`` is the end whose named ports count."""
    selecting = _selecting(policies, subject, direction)
    if not selecting:
        return True
    rules_key, peers_key = ("egress", "to") if direction == "Egress" else ("ingress", "from")
    return any(
        port_matches(rule.get("ports"), port, protocol, target)
        and (
            not rule.get(peers_key)
            or any(
                peer_matches(other, p["metadata"]["namespace"], peer) for other in rule[peers_key]
            )
        )
        for p in selecting
        for rule in p["spec"].get(rules_key) or []
    )


def egress_allowed(
    policies: Iterable[Mapping[str, Any]],
    source: Endpoint,
    target: Endpoint,
    port: int,
    protocol: str = "TCP",
) -> bool:
    """May ``source`` (a pod) open a connection to ``target`` on ``port``?"""
    assert source.is_pod, "egress is evaluated for pods"
    return _rules_allow(policies, source, target, "Egress", port, protocol, target)


def ingress_allowed(
    policies: Iterable[Mapping[str, Any]],
    source: Endpoint,
    target: Endpoint,
    port: int,
    protocol: str = "TCP",
) -> bool:
    """May ``target`` (a pod) accept a connection from ``source`` on ``port``?"""
    assert target.is_pod, "ingress is evaluated for pods"
    return _rules_allow(policies, target, source, "Ingress", port, protocol, target)


def connection_allowed(
    policies: Iterable[Mapping[str, Any]],
    source: Endpoint,
    target: Endpoint,
    port: int,
    protocol: str = "TCP",
) -> bool:
    """Both ends agree: the source's egress and, for a pod, the target's ingress."""
    policies = list(policies)
    if source.is_pod and not egress_allowed(policies, source, target, port, protocol):
        return False
    return not target.is_pod or ingress_allowed(policies, source, target, port, protocol)
